//! The HTTP side: `/announce` (WebSocket tracker), `/health`, `/metrics`, `/stats` and
//! `POST /admin/reload`. One task per connection (`connection`): it reads frames, routes each to
//! the shard owning its swarm, and writes what shards queue in its [`Outbox`]. Idle connections
//! are found by one shared [`IdleSweeper`], not by a timer per connection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use meshcdn_tracker::{Admission, ConnId, InfoHash, NetworkFacts, Route, TrackerStats};
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::auth::{Gate, KeySource};
use crate::config::EdgeConfig;
use crate::engine;
use crate::error::{EdgeError, EngineError};
use crate::idle::{IdleKey, IdleSweeper};
use crate::metrics::{Metrics, Reject};
use crate::netfacts::FactSource;
use crate::outbox::Outbox;
use crate::shard::{ShardPool, now_ms};
use crate::tls::TlsListener;

/// Shared by every request and connection of one host.
pub struct AppState {
    config: EdgeConfig,
    pool: ShardPool,
    metrics: Arc<Metrics>,
    gate: Gate,
    facts: FactSource,
    next_conn: AtomicU64,
    idle: Arc<IdleSweeper>,
}

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
        reload(&self.state, component).await
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

/// The peer address, for plain and TLS listeners alike.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<axum::serve::IncomingStream<'_, TcpListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<axum::serve::IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
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
        tokio::task::spawn_blocking(move || ShardPool::start(shards, factory, metrics, expire))
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
    let server = match tls {
        None => spawn_server(listener, app, shutdown),
        Some(tls) => spawn_server(TlsListener::new(listener, tls)?, app, shutdown),
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

/// Serves `app` on `listener` (plain or TLS) until `shutdown` resolves.
fn spawn_server<L>(
    listener: L,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
    for<'a> PeerAddr: Connected<axum::serve::IncomingStream<'a, L>>,
{
    let service = app.into_make_service_with_connect_info::<PeerAddr>();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "edge server stopped");
        }
    })
}

/// The routes of an edge host around `state` (for embedding in another axum app).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/announce", get(announce))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/stats", get(stats))
        .route("/admin/reload", post(admin_reload))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct AnnounceQuery {
    token: Option<String>,
}

/// Holds one of `max_connections` slots; released on drop, also when an upgrade never happens.
struct ConnSlot(Arc<AppState>);

impl ConnSlot {
    fn take(app: &Arc<AppState>) -> Option<Self> {
        let max = app.config.limits.max_connections as u64;
        let taken = app
            .metrics
            .connections
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1));
        taken.is_ok().then(|| Self(app.clone()))
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.metrics.connections.fetch_sub(1, Relaxed);
    }
}

fn failure(reason: impl std::fmt::Display) -> String {
    serde_json::json!({ "failure reason": reason.to_string() }).to_string()
}

async fn announce(
    State(app): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    Query(query): Query<AnnounceQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let admission = match app.gate.admit(query.token.as_deref(), now_ms()) {
        Ok(a) => a,
        Err(e) => {
            app.metrics.reject(Reject::Unauthorized);
            return (StatusCode::UNAUTHORIZED, format!("token refused: {e}\n")).into_response();
        }
    };
    let Some(slot) = ConnSlot::take(&app) else {
        app.metrics.reject(Reject::ConnectionLimit);
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections\n").into_response();
    };
    let facts = app.facts.facts(&headers, peer.ip());
    let max = app.config.limits.max_message_bytes;
    let conn = app.next_conn.fetch_add(1, Relaxed);
    let outbox = Arc::new(Outbox::new(app.config.limits.max_queued_messages));
    let idle_key = app.idle.register(outbox.clone());
    // Boxed: the upgrade task stores what it captures for the connection's whole life.
    let ctx = Box::new(ConnCtx {
        conn,
        outbox,
        facts,
        admission,
        touched: 0,
        idle_key,
        slot,
    });
    ws.max_message_size(max)
        .max_frame_size(max)
        // Small buffers: an idle peer should cost little memory (they grow when needed).
        .read_buffer_size(app.config.limits.read_buffer_bytes)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(app, Box::new(socket), ctx))
}

/// Token bucket of one connection.
struct RateLimit {
    tokens: f32,
    last: Instant,
}

impl RateLimit {
    fn allow(&mut self, per_sec: f32, burst: f32) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f32() * per_sec).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What one connection has told the shards so far.
struct ConnCtx {
    conn: ConnId,
    outbox: Arc<Outbox>,
    facts: NetworkFacts,
    admission: Admission,
    /// Shards that saw this connection's `opened` (bit per shard).
    touched: u128,
    /// The connection's entry in the idle sweeper, given back on drop.
    idle_key: IdleKey,
    /// Frees the connection slot on drop (also when the upgrade never happens).
    slot: ConnSlot,
}

impl Drop for ConnCtx {
    fn drop(&mut self) {
        self.slot.0.idle.deregister(self.idle_key);
    }
}

impl ConnCtx {
    fn send_to_shard(&mut self, app: &AppState, shard: usize, text: String) {
        let bit = 1u128 << shard;
        if self.touched & bit == 0 {
            self.touched |= bit;
            app.pool.open(
                shard,
                self.conn,
                self.outbox.clone(),
                self.facts.clone(),
                self.admission,
            );
        }
        app.pool.message(shard, self.conn, text);
    }

    fn route(&mut self, app: &AppState, text: String) {
        match meshcdn_tracker::route(&text) {
            Ok(Route::Swarm(info_hash)) => {
                let shard = app.pool.shard_of(&info_hash);
                self.send_to_shard(app, shard, text);
            }
            Ok(Route::Scrape(hashes)) if hashes.is_empty() => {
                for shard in 0..app.pool.len() {
                    self.send_to_shard(app, shard, text.clone());
                }
            }
            Ok(Route::Scrape(hashes)) => {
                let mut by_shard: Vec<(usize, Vec<InfoHash>)> = Vec::new();
                for ih in hashes {
                    let shard = app.pool.shard_of(&ih);
                    match by_shard.iter_mut().find(|(s, _)| *s == shard) {
                        Some((_, list)) => list.push(ih),
                        None => by_shard.push((shard, vec![ih])),
                    }
                }
                if let [(shard, _)] = by_shard.as_slice() {
                    self.send_to_shard(app, *shard, text);
                    return;
                }
                // Each shard answers for its own swarms; the reference client merges the
                // `files` of several scrape responses.
                for (shard, list) in by_shard {
                    let ids: Vec<String> = list.iter().map(|ih| ih.to_binary_string()).collect();
                    let sub =
                        serde_json::json!({ "action": "scrape", "info_hash": ids }).to_string();
                    self.send_to_shard(app, shard, sub);
                }
            }
            Err(e) => {
                let reject = match e {
                    meshcdn_tracker::ProtocolError::TooLarge { .. } => Reject::TooLarge,
                    _ => Reject::Malformed,
                };
                app.metrics.reject(reject);
                self.outbox.push(failure(e));
            }
        }
    }
}

fn is_too_large(e: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    matches!(
        e.into_inner().downcast_ref::<WsError>(),
        Some(WsError::Capacity(_))
    )
}

/// One connection's life. Its state is boxed (socket, context) so the task itself stays small:
/// it is the bulk of what an idle peer costs.
async fn connection(app: Arc<AppState>, mut socket: Box<WebSocket>, mut ctx: Box<ConnCtx>) {
    let limits = &app.config.limits;
    let conn = ctx.conn;
    app.metrics.connections_total.fetch_add(1, Relaxed);
    let (per_sec, burst) = (limits.messages_per_sec as f32, limits.message_burst as f32);
    let mut rate = RateLimit {
        tokens: burst,
        last: Instant::now(),
    };
    let close: Option<(u16, &'static str)> = 'conn: loop {
        tokio::select! {
            _ = ctx.outbox.wait() => {
                let (queue, close) = ctx.outbox.take();
                for text in queue {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break 'conn None;
                    }
                    app.metrics.messages_out.fetch_add(1, Relaxed);
                }
                if let Some(order) = close {
                    break Some((order.code, order.reason));
                }
            }
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(text))) => {
                    ctx.outbox.touch(app.idle.now_ms());
                    app.metrics.messages_in.fetch_add(1, Relaxed);
                    if !rate.allow(per_sec, burst) {
                        app.metrics.reject(Reject::RateLimited);
                        ctx.outbox.push(failure("rate limit exceeded; slow down"));
                        continue;
                    }
                    ctx.route(&app, text.as_str().to_owned());
                }
                Some(Ok(Message::Binary(_))) => {
                    app.metrics.reject(Reject::Malformed);
                    ctx.outbox.push(failure("binary frames are not part of the protocol; send JSON text"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    ctx.outbox.touch(app.idle.now_ms());
                }
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Err(e)) => {
                    if is_too_large(e) {
                        app.metrics.reject(Reject::TooLarge);
                        break Some((1009, "message too large"));
                    }
                    break None;
                }
            },
        }
    };
    // A closed socket means `stopped` in every swarm of this connection.
    for shard in 0..app.pool.len() {
        if ctx.touched & (1u128 << shard) != 0 {
            app.pool.close(shard, conn);
        }
    }
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // Boxed: this rare path should not add a timer to every connection's state.
        let _ = Box::pin(tokio::time::timeout(
            Duration::from_secs(2),
            socket.send(Message::Close(Some(frame))),
        ))
        .await;
    }
}

async fn health(State(app): State<Arc<AppState>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "engine": app.pool.describe(),
        "shards": app.pool.len(),
        "connections": app.metrics.connections.load(Relaxed),
    });
    axum::Json(body).into_response()
}

async fn merged_stats_json(app: &AppState) -> serde_json::Value {
    match app.pool.stats().await {
        Ok(s) => serde_json::to_value(s).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "shard stats unavailable");
            serde_json::Value::Null
        }
    }
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let tracker = merged_stats_json(&app).await;
    let text = app
        .metrics
        .render(&tracker, app.pool.len(), &app.pool.describe());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn stats(State(app): State<Arc<AppState>>) -> Response {
    match app.pool.stats().await {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "shard stats unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "stats unavailable\n").into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReloadRequest {
    /// Path of the new component; the configured one (re-read) when absent.
    component: Option<PathBuf>,
}

async fn admin_reload(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(expected) = &app.config.admin_token else {
        return (
            StatusCode::NOT_FOUND,
            "admin API disabled (no admin_token)\n",
        )
            .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, "admin token required\n").into_response();
    }
    let request: ReloadRequest = if body.is_empty() {
        ReloadRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("bad reload request: {e}\n"),
                )
                    .into_response();
            }
        }
    };
    match reload(&app, request.component).await {
        Ok(engine) => axum::Json(serde_json::json!({ "status": "reloaded", "engine": engine }))
            .into_response(),
        Err(e) => (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({ "status": "refused", "error": e.to_string() })),
        )
            .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn reload(app: &Arc<AppState>, component: Option<PathBuf>) -> Result<String, EdgeError> {
    let mut config = app.config.clone();
    if component.is_some() {
        config.component = component;
    }
    let result = async {
        let factory = tokio::task::spawn_blocking(move || engine::factory(&config))
            .await
            .map_err(|e| EdgeError::Reload(e.to_string()))?
            .map_err(|e| EdgeError::Reload(e.to_string()))?;
        let describe = factory.describe();
        app.pool
            .reload(factory)
            .await
            .map_err(|e| EdgeError::Reload(e.to_string()))?;
        Ok(describe)
    }
    .await;
    match &result {
        Ok(v) => {
            app.metrics.reloads.fetch_add(1, Relaxed);
            tracing::info!(engine = %v, "hot upgrade applied");
        }
        Err(e) => {
            app.metrics.reloads_failed.fetch_add(1, Relaxed);
            tracing::warn!(error = %e, "hot upgrade refused; the running version stays");
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, C, F: std::future::Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn connection_state_stays_small() {
        let size = future_size(connection);
        eprintln!(
            "connection future: {size} bytes; WebSocket {} bytes",
            std::mem::size_of::<WebSocket>()
        );
        assert!(size < 1024, "{size}");
    }
}
