//! meshcdn viewer analytics, run by the origin plugin (`meshcdn origin`, `meshcdn demo`):
//!
//! - **beacon ingestion** (`POST /v1/beacons`): compact JSON beacons from the browser client,
//!   authenticated by the viewer's swarm token (checked by the origin's own key set through a
//!   [`Gate`]), bounded in size, rate-limited per viewer and per IP address;
//! - **storage** ([`store`]): time-bucketed sums in SQLite (embedded) or PostgreSQL, one schema,
//!   retention; raw beacons are never stored;
//! - **the publisher dashboard** (`GET /analytics`, charts by uPlot served from the binary) and its
//!   **API**: `GET /v1/analytics` (JSON) and `GET /v1/analytics/metrics` (Prometheus gauges),
//!   behind a login (a publisher API key or the admin secret).
//!
//! Formats and settings: `docs/analytics.md`.

pub mod aggregate;
pub mod beacon;
pub mod config;
mod dashboard;
mod metrics;
mod routes;
pub mod store;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use aggregate::{Network, Report};
pub use beacon::{Beacon, BeaconError};
pub use config::AnalyticsConfig;
pub use store::{Store, StoreError};

use crate::aggregate::Pending;

/// What a verified swarm token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The token's content id (`cid`).
    pub content: String,
    /// The viewer id of a per-viewer token (`sub`).
    pub viewer: Option<String>,
}

/// Which contents a dashboard login may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    All,
    /// Content ids starting with one of these prefixes.
    Prefixes(Vec<String>),
}

impl Access {
    pub fn admits(&self, content: &str) -> bool {
        match self {
            Access::All => true,
            Access::Prefixes(p) => p.iter().any(|p| content.starts_with(p.as_str())),
        }
    }
}

/// The origin's credentials, as analytics needs them: swarm tokens (beacons) and publisher API
/// keys (dashboard). Implemented by the origin plugin over its key store, so tokens are checked
/// by exactly the keys that signed them.
pub trait Gate: Send + Sync + 'static {
    /// Verifies a swarm token at `now_ms` (Unix ms). The error is shown to the client.
    fn admit(&self, token: &str, now_ms: u64) -> Result<Admitted, String>;
    /// Checks a publisher API key; `None` when it is not one.
    fn login(&self, api_key: &str) -> Option<Access>;
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("analytics is off: set analytics.database_url")]
    Disabled,
    #[error("invalid analytics configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counters of the ingestion (exposed on `/v1/analytics/metrics`).
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    too_large: AtomicU64,
    malformed: AtomicU64,
    unauthorized: AtomicU64,
    wrong_content: AtomicU64,
    rate_limited: AtomicU64,
    overloaded: AtomicU64,
    write_errors: AtomicU64,
}

struct Inner {
    config: AnalyticsConfig,
    store: Store,
    gate: Arc<dyn Gate>,
    pending: Mutex<Pending>,
    /// Serialises flushes, so a failed write is put back before the next one starts.
    flushing: tokio::sync::Mutex<()>,
    viewers: DefaultKeyedRateLimiter<String>,
    ips: DefaultKeyedRateLimiter<IpAddr>,
    counters: Counters,
}

/// Analytics of one origin: cheap to clone (one shared state).
#[derive(Clone)]
pub struct Analytics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics")
            .field("bucket_secs", &self.inner.config.bucket_secs)
            .finish()
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Analytics {
    /// Opens the database of `config` (creating its tables) and checks the config.
    pub async fn open(
        config: AnalyticsConfig,
        gate: Arc<dyn Gate>,
    ) -> Result<Self, AnalyticsError> {
        config.validate().map_err(AnalyticsError::Config)?;
        let url = config
            .database_url
            .clone()
            .ok_or(AnalyticsError::Disabled)?;
        let store = Store::open(&url).await?;
        tracing::info!(database = %store::redact(&url), "analytics database open");
        Ok(Self {
            inner: Arc::new(Inner {
                viewers: RateLimiter::keyed(quota(config.viewer_per_minute, config.viewer_burst)),
                ips: RateLimiter::keyed(quota(config.ip_per_minute, config.ip_burst)),
                config,
                store,
                gate,
                pending: Mutex::new(Pending::default()),
                flushing: tokio::sync::Mutex::new(()),
                counters: Counters::default(),
            }),
        })
    }

    pub fn config(&self) -> &AnalyticsConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// `POST /v1/beacons`, the dashboard and its API, to merge into the origin's router.
    pub fn routes(&self) -> axum::Router {
        routes::router(self.clone())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A poisoned lock still holds complete sums (every update is one `add`).
        self.inner.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the beacons received since the last flush. On a database error the sums stay
    /// pending (retried next time): nothing is lost while the database is away.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let _one = self.inner.flushing.lock().await;
        let batch = std::mem::take(&mut *self.pending());
        if batch.is_empty() {
            return Ok(());
        }
        match self.inner.store.write(&batch).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.inner
                    .counters
                    .write_errors
                    .fetch_add(1, Ordering::Relaxed);
                self.pending().absorb(batch);
                Err(e)
            }
        }
    }

    /// Deletes buckets past the retention. Returns the rows deleted.
    pub async fn purge(&self, now_secs: u64) -> Result<u64, StoreError> {
        let keep = self.inner.config.retention_days.saturating_mul(86_400);
        self.inner
            .store
            .purge(now_secs.saturating_sub(keep) as i64)
            .await
    }

    /// The report of the last `window_secs` for `access`, including beacons not written yet.
    pub async fn report(&self, window_secs: u64, access: &Access) -> Result<Report, StoreError> {
        let now = now_ms() / 1000;
        let bucket = self.inner.config.bucket_secs;
        let from = aggregate::bucket_of(now.saturating_sub(window_secs), bucket);
        // Under the flush lock: a batch is either in the store or still pending, never neither.
        let mut rows = {
            let _one = self.inner.flushing.lock().await;
            let mut rows = self.inner.store.read(from).await?;
            rows.merge(&self.pending());
            rows
        };
        rows.retain(|c| access.admits(c));
        Ok(aggregate::report(&rows, from, now, bucket))
    }

    /// Writes pending beacons every `flush_ms`, purges old buckets hourly and forgets idle rate
    /// limiter keys, for as long as this analytics is alive. Call inside a Tokio runtime.
    pub fn spawn_background(&self) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let period = Duration::from_millis(self.inner.config.flush_ms);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_purge = 0u64;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let this = Analytics { inner };
                if let Err(e) = this.flush().await {
                    tracing::warn!(error = %e, "analytics: beacons not written yet; retrying");
                }
                let now = now_ms() / 1000;
                if now >= last_purge + 3_600 {
                    last_purge = now;
                    match this.purge(now).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(rows = n, "analytics: buckets past retention deleted")
                        }
                        Err(e) => tracing::warn!(error = %e, "analytics: retention purge failed"),
                    }
                }
                this.inner.viewers.retain_recent();
                this.inner.ips.retain_recent();
                this.inner.viewers.shrink_to_fit();
                this.inner.ips.shrink_to_fit();
            }
        })
    }

    /// Writes what is pending and closes the database.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        let result = self.flush().await;
        self.inner.store.close().await;
        result
    }
}

impl Pending {
    /// Adds every sum of `other` (a batch that could not be written).
    pub fn absorb(&mut self, other: Pending) {
        for (k, v) in other.streams {
            self.streams.entry(k).or_default().add(&v);
        }
        for (k, v) in other.networks {
            let e = self.networks.entry(k).or_default();
            e.viewer_ms += v.viewer_ms;
            e.http_bytes += v.http_bytes;
            e.p2p_bytes += v.p2p_bytes;
        }
        for (k, v) in other.connections {
            let e = self.connections.entry(k).or_default();
            e.ok += v.ok;
            e.failed += v.failed;
        }
    }
}
