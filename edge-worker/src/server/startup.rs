//! Start-up: everything that can fail on a bad configuration happens in [`serve`], before the
//! host accepts a connection; [`EdgeHandle`] is what the caller keeps.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use meshcdn_tracker::TrackerStats;
use tokio::net::TcpListener;

use super::snapshot::StatsCache;
use super::{AppState, admin, http, router};
use crate::accept::{self, Acceptor};
use crate::auth::{Gate, KeySource};
use crate::config::EdgeConfig;
use crate::engine;
use crate::error::{EdgeError, EngineError};
use crate::idle::IdleSweeper;
use crate::lifecycle::{DrainReport, Lifecycle};
use crate::metrics::Metrics;
use crate::netfacts::FactSource;
use crate::outbox::CloseOrder;
use crate::shard::ShardPool;
use crate::tls::TlsListener;

/// A running edge host (see [`serve`]). Dropping it does not stop the host; call [`EdgeHandle::shutdown`].
pub struct EdgeHandle {
    local_addr: SocketAddr,
    state: Arc<AppState>,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    acceptor: Acceptor,
    key_refresh: Option<tokio::task::JoinHandle<()>>,
    sweeper: tokio::task::JoinHandle<()>,
}

impl EdgeHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://` or `wss://` URL of the tracker endpoint (the first of `tracker_paths`).
    pub fn announce_url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        let path = &self.state.config.tracker_paths[0];
        format!("{scheme}://{}{path}", self.local_addr)
    }

    /// The tracker stats of all shards, merged (for dashboards).
    pub async fn stats(&self) -> Result<TrackerStats, EngineError> {
        self.state.pool.stats().await
    }

    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// The shard that owns `info_hash`'s swarm (keyed per host: see [`ShardPool::shard_of`]).
    pub fn shard_of(&self, info_hash: &meshcdn_tracker::InfoHash) -> usize {
        self.state.pool.shard_of(info_hash)
    }

    /// Hot upgrade to the component at `component` (default: the configured one).
    pub async fn reload(&self, component: Option<PathBuf>) -> Result<String, EdgeError> {
        admin::reload(&self.state, component).await
    }

    /// Graceful shutdown (see [`crate::lifecycle`]): readiness turns 503 and new tracker
    /// connections are refused, every connected peer is told to reconnect elsewhere (close 1001),
    /// then the host waits until they are gone, at most `grace`, and stops.
    pub async fn drain(self, grace: std::time::Duration) -> DrainReport {
        let started = tokio::time::Instant::now();
        let closed = self.begin_drain();
        let remaining =
            crate::lifecycle::wait_for_zero(&self.state.metrics.connections, grace).await;
        let report = DrainReport {
            closed,
            remaining,
            waited_ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(
            closed,
            remaining,
            waited_ms = report.waited_ms,
            "edge host drained"
        );
        self.shutdown().await;
        report
    }

    /// The first half of [`Self::drain`]: from now on readiness is 503 and new tracker
    /// connections are refused; every connected peer is told to reconnect elsewhere. Returns how
    /// many were told. The host keeps serving HTTP until [`Self::drain`] or [`Self::shutdown`].
    pub fn begin_drain(&self) -> usize {
        self.state.lifecycle.begin_drain();
        self.state.idle.close_all(CloseOrder::Draining)
    }

    /// Stops accepting, closes connections, stops the shards.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(t) = &self.key_refresh {
            t.abort();
        }
        self.sweeper.abort();
        let _ = self.server.await;
        let acceptor = self.acceptor;
        let _ = tokio::task::spawn_blocking(move || acceptor.stop()).await;
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.pool.shutdown()).await;
    }
}

/// Starts an edge host on `listener` (ws, or wss when `config.tls` is set) and returns once it
/// accepts connections. Loads the component (wasm engine), key set and geo database first, so
/// configuration errors are returned here.
pub async fn serve(config: EdgeConfig, listener: TcpListener) -> Result<EdgeHandle, EdgeError> {
    config.validate()?;
    let tracker_config: meshcdn_tracker::TrackerConfig =
        serde_json::from_value(config.tracker.clone())
            .map_err(|e| EngineError::Config(format!("tracker: {e}")))?;
    let metrics = Arc::new(Metrics::default());
    metrics
        .queued
        .set_limit(config.limits.max_total_queued_bytes);
    let factory = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || engine::factory(&config)).await??
    };
    let shards = config.shard_count();
    let expire = Duration::from_millis(config.expire_interval_ms);
    let backlog = config.limits.max_shard_backlog;
    let pool = {
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || {
            let pool = ShardPool::start(shards, factory, metrics, expire, backlog);
            // Compiling and instantiating left freed memory behind (see `heap`).
            crate::heap::release_free_pages();
            pool
        })
        .await??
    };
    let (gate, key_refresh) = if config.auth.open {
        (Gate::Open, None)
    } else {
        let keys = KeySource::load(&config.auth).await?;
        let task = keys.spawn_refresh(Duration::from_secs(config.auth.jwks_refresh_secs.max(1)));
        (Gate::Tokens(keys), Some(task))
    };
    let facts = FactSource::new(&config.network)?;
    let tls = match &config.tls {
        Some(t) => Some(crate::tls::server_config(&t.cert, &t.key)?),
        None => None,
    };
    let local_addr = listener.local_addr()?;
    tracing::info!(%local_addr, engine = %pool.describe(), shards, tls = tls.is_some(), open = config.auth.open, "edge host listening");
    let idle = Arc::new(IdleSweeper::new(Duration::from_secs(
        config.limits.idle_timeout_secs,
    )));
    let sweeper = idle.clone().spawn(metrics.clone());
    let state = Arc::new(AppState {
        stats: StatsCache::new(Duration::from_millis(config.ops.stats_refresh_ms)),
        config,
        pool,
        metrics,
        gate,
        facts,
        next_conn: AtomicU64::new(1),
        idle,
        lifecycle: Lifecycle::default(),
        workers: tokio::runtime::Handle::current(),
        ip_slots: Default::default(),
        tracker_limits: (&tracker_config).into(),
    });
    let app = router(state.clone());
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let header_timeout = Duration::from_millis(state.config.limits.header_timeout_ms);
    // Accepting, handshakes and upgrades run on the admission thread (see `accept`): the
    // listener moves to its runtime, and so do the tasks started below.
    let acceptor = Acceptor::start()?;
    let slots = http::HttpSlots::new(state.metrics.clone(), state.config.http.max_connections);
    let server = {
        let _admission = acceptor.handle().enter();
        let listener = accept::rebind_listener(listener)?;
        match tls {
            None => acceptor.handle().spawn(http::run_server(
                http::PlainIncoming { listener, slots },
                app,
                header_timeout,
                shutdown,
            )),
            Some(tls) => acceptor.handle().spawn(http::run_server(
                TlsListener::new(listener, tls, move || slots.take())?,
                app,
                header_timeout,
                shutdown,
            )),
        }
    };
    Ok(EdgeHandle {
        local_addr,
        state,
        stop,
        server,
        acceptor,
        key_refresh,
        sweeper,
    })
}
