//! The HTTP side: the WebSocket tracker (at `tracker_paths`: `/` and `/announce`), `/health`,
//! `/health/live`, `/health/ready`, `/metrics`, `/stats` and `POST /admin/reload`. One task per connection ([`connection`]): it reads frames, routes each to
//! the shard owning its swarm, and writes what shards queue in its [`Outbox`]. Idle connections
//! are found by one shared [`IdleSweeper`], not by a timer per connection.
//!
//! | file | job |
//! |---|---|
//! | `startup.rs` | [`serve`]: loads engine, keys, geo data, TLS; the [`EdgeHandle`] (drain, shutdown) |
//! | `http.rs` | the HTTP/1 server loop (hyper per connection, graceful stop), run on the admission thread ([`crate::accept`]) |
//! | `announce.rs` | the tracker upgrade: drain check, token, connection slot, per-connection context |
//! | `session.rs` | per-connection state ([`session::ConnCtx`]): decoding, routing to shards |
//! | `connection.rs` | one task per WebSocket: read/write loop, close |
//! | `limits.rs` | connection slots and the per-connection rate limit |
//! | `ops.rs` | `/health`, `/health/live`, `/health/ready`, `/metrics`, `/stats` |
//! | `snapshot.rs` | the shards' stats, taken at most every `ops.stats_refresh_ms` for `ops.rs` |
//! | `admin.rs` | `POST /admin/reload` and hot upgrades; the admin token (also for `/stats`) |
//!
//! [`Outbox`]: crate::outbox::Outbox

mod admin;
mod announce;
mod connection;
mod http;
mod limits;
mod ops;
mod session;
mod snapshot;
mod startup;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::auth::Gate;
use crate::config::EdgeConfig;
use crate::idle::IdleSweeper;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use crate::netfacts::FactSource;
use crate::shard::ShardPool;

pub use startup::{EdgeHandle, serve};

/// Shared by every request and connection of one host.
struct AppState {
    config: EdgeConfig,
    pool: ShardPool,
    metrics: Arc<Metrics>,
    gate: Gate,
    facts: FactSource,
    next_conn: AtomicU64,
    idle: Arc<IdleSweeper>,
    lifecycle: Lifecycle,
    /// The runtime that runs connection tasks (admission runs on its own, see [`crate::accept`]).
    workers: tokio::runtime::Handle,
    /// What `/metrics`, `/stats` and `/health/ready` read of the shards.
    stats: snapshot::StatsCache,
    /// Open connections per viewer address (`limits.max_connections_per_ip`).
    ip_slots: limits::IpSlots,
    /// Swarm and scrape bounds the host applies across its shards.
    tracker_limits: session::HostTrackerLimits,
}

/// The peer address, for plain and TLS listeners alike.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The routes of an edge host around `state`.
fn router(state: Arc<AppState>) -> Router {
    let tracker = state
        .config
        .tracker_paths
        .iter()
        .fold(Router::new(), |r, path| {
            r.route(path, get(announce::announce))
        });
    tracker
        .route("/health", get(ops::health))
        .route("/health/live", get(ops::health_live))
        .route("/health/ready", get(ops::health_ready))
        .route("/metrics", get(ops::metrics))
        .route("/stats", get(ops::stats))
        .route("/admin/reload", post(admin::admin_reload))
        .with_state(state)
}

impl AppState {
    fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.config.limits.send_timeout_ms)
    }
}
