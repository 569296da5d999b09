//! Start-up: everything that can fail on a bad configuration happens in [`serve`], before the
//! host accepts a connection; [`EdgeHandle`] is what the caller keeps.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use meshcdn_tracker::TrackerStats;
use tokio::net::TcpListener;

use super::{AppState, accept, admin, router};
use crate::auth::{Gate, KeySource};
use crate::config::EdgeConfig;
use crate::engine;
use crate::error::{EdgeError, EngineError};
use crate::idle::IdleSweeper;
use crate::metrics::Metrics;
use crate::netfacts::FactSource;
use crate::shard::ShardPool;
use crate::tls::TlsListener;

/// A running edge host (see [`serve`]). Dropping it does not stop the host; call [`EdgeHandle::shutdown`].
pub struct EdgeHandle {
    local_addr: SocketAddr,
    state: Arc<AppState>,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    key_refresh: Option<tokio::task::JoinHandle<()>>,
    sweeper: tokio::task::JoinHandle<()>,
}

impl EdgeHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://` or `wss://` URL of the tracker endpoint.
    pub fn announce_url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}/announce", self.local_addr)
    }

    /// The tracker stats of all shards, merged (for dashboards).
    pub async fn stats(&self) -> Result<TrackerStats, EngineError> {
        self.state.pool.stats().await
    }

    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Hot upgrade to the component at `component` (default: the configured one).
    pub async fn reload(&self, component: Option<PathBuf>) -> Result<String, EdgeError> {
        admin::reload(&self.state, component).await
    }

    /// Stops accepting, closes connections, stops the shards.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(t) = &self.key_refresh {
            t.abort();
        }
        self.sweeper.abort();
        let _ = self.server.await;
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.pool.shutdown()).await;
    }
}

/// Starts an edge host on `listener` (ws, or wss when `config.tls` is set) and returns once it
/// accepts connections. Loads the component (wasm engine), key set and geo database first, so
/// configuration errors are returned here.
pub async fn serve(config: EdgeConfig, listener: TcpListener) -> Result<EdgeHandle, EdgeError> {
    config.validate()?;
    let metrics = Arc::new(Metrics::default());
    let factory = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || engine::factory(&config))
            .await
            .map_err(|e| EdgeError::Reload(e.to_string()))??
    };
    let shards = config.shard_count();
    let expire = Duration::from_millis(config.expire_interval_ms);
    let pool = {
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || {
            let pool = ShardPool::start(shards, factory, metrics, expire);
            // Compiling and instantiating left freed memory behind (see `heap`).
            crate::heap::release_free_pages();
            pool
        })
        .await
        .map_err(|e| EdgeError::Reload(e.to_string()))??
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
        config,
        pool,
        metrics,
        gate,
        facts,
        next_conn: AtomicU64::new(1),
        idle,
    });
    let app = router(state.clone());
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let header_timeout = Duration::from_millis(state.config.limits.header_timeout_ms);
    let server = match tls {
        None => accept::spawn_server(listener, app, header_timeout, shutdown),
        Some(tls) => accept::spawn_server(
            TlsListener::new(listener, tls)?,
            app,
            header_timeout,
            shutdown,
        ),
    };
    Ok(EdgeHandle {
        local_addr,
        state,
        stop,
        server,
        key_refresh,
        sweeper,
    })
}
