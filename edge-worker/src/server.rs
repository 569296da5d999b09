//! The HTTP side: `/announce` (WebSocket tracker), `/health`, `/metrics`, `/stats` and
//! `POST /admin/reload`. One task per connection (`connection`): it reads frames, routes each to
//! the shard owning its swarm, and writes what shards queue in its [`Outbox`]. Idle connections
//! are found by one shared [`IdleSweeper`], not by a timer per connection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use meshcdn_tracker::{Admission, ConnId, InfoHash, NetworkFacts, Route, TrackerStats};
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::accept::{self, Acceptor};
use crate::auth::{Gate, KeySource};
use crate::config::EdgeConfig;
use crate::engine;
use crate::error::{EdgeError, EngineError};
use crate::idle::{IdleKey, IdleSweeper};
use crate::lifecycle::{DrainReport, Lifecycle, Readiness};
use crate::metrics::{Metrics, Reject};
use crate::netfacts::FactSource;
use crate::outbox::{CloseOrder, Outbox, Pushed};
use crate::shard::{ShardPool, now_ms};
use crate::tls::TlsListener;
use crate::ws::frame::{self, Decoder, Flow, FrameError, Message as WsMessage};
use crate::ws::{self, ReadError, ReadOutcome, WsStream, WsUpgrade};

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
    /// The runtime that runs connection tasks (admission runs on its own, see [`accept`]).
    workers: tokio::runtime::Handle,
}

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

    /// Hot upgrade to the component at `component` (default: the configured one).
    pub async fn reload(&self, component: Option<PathBuf>) -> Result<String, EdgeError> {
        reload(&self.state, component).await
    }

    /// Graceful shutdown (see [`crate::lifecycle`]): readiness turns 503 and new tracker
    /// connections are refused, every connected peer is told to reconnect elsewhere (close 1001),
    /// then the host waits until they are gone, at most `grace`, and stops.
    pub async fn drain(self, grace: std::time::Duration) -> DrainReport {
        let started = tokio::time::Instant::now();
        let closed = self.begin_drain();
        let remaining = crate::lifecycle::wait_for_zero(&self.state.metrics.connections, grace).await;
        let report = DrainReport {
            closed,
            remaining,
            waited_ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(closed, remaining, waited_ms = report.waited_ms, "edge host drained");
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

/// The peer address, for plain and TLS listeners alike.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

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
    let backlog = config.limits.max_shard_backlog;
    let pool = {
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || {
            let pool = ShardPool::start(shards, factory, metrics, expire, backlog);
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
        lifecycle: Lifecycle::default(),
        workers: tokio::runtime::Handle::current(),
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
    let server = {
        let _admission = acceptor.handle().enter();
        let listener = accept::rebind_listener(listener)?;
        match tls {
            None => acceptor
                .handle()
                .spawn(run_server(listener, app, header_timeout, shutdown)),
            Some(tls) => acceptor.handle().spawn(run_server(
                TlsListener::new(listener, tls)?,
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

/// Serves `app` on `listener` (plain or TLS) until `shutdown` resolves.
///
/// hyper's HTTP/1 server directly (axum's "serve with hyper" pattern) rather than `axum::serve`:
/// the tracker is HTTP/1.1 WebSocket only, and with the connection type in our hands an upgrade
/// hands back the bare socket (`ws::WsStream`), where `axum::serve` would wrap it in a private
/// type that keeps hyper's boxed `Upgraded` alive for the connection's whole life.
async fn run_server<L>(
    mut listener: L,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let service = app.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
                req
            },
        );
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = http
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(conn);
            let finished = tokio::select! {
                result = conn.as_mut() => Some(result),
                _ = stopped.wait_for(|s| *s) => None,
            };
            let result = match finished {
                Some(result) => result,
                None => {
                    // Finish the request in flight, then close (upgraded sockets are not ours).
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    let _ = stop.send(true);
}

/// The routes of an edge host around `state`.
fn router(state: Arc<AppState>) -> Router {
    let tracker = state.config.tracker_paths.iter().fold(Router::new(), |r, path| {
        r.route(path, get(announce))
    });
    tracker
        .route("/health", get(health))
        .route("/health/live", get(health_live))
        .route("/health/ready", get(health_ready))
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
    ws: WsUpgrade,
) -> Response {
    if app.lifecycle.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "edge host draining; use another tracker\n",
        )
            .into_response();
    }
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
    let conn = app.next_conn.fetch_add(1, Relaxed);
    let limits = &app.config.limits;
    let outbox = Arc::new(Outbox::with_overflow(
        limits.max_queued_messages,
        limits.queue_overflow,
    ));
    let idle_key = app.idle.register(outbox.clone());
    // A drain that began since the check above did not see this connection: close it here.
    if app.lifecycle.is_draining() {
        outbox.close(CloseOrder::Draining);
    }
    // Boxed: the connection task keeps what it captures for the connection's whole life.
    let ctx = Box::new(ConnCtx {
        conn,
        outbox,
        facts,
        admission,
        touched: ShardSet::default(),
        rate: RateLimit::new(app.config.limits.message_burst as f32, app.idle.now_ms()),
        pending_pong: None,
        decoder: Decoder::new(app.config.limits.max_message_bytes),
        idle_key,
        slot,
    });
    ws.on_upgrade(&app.workers.clone(), move |stream, early| {
        let mut ctx = ctx;
        ctx.decoder.hold(&early);
        connection(app, stream, ctx)
    })
}

/// Token bucket of one connection (its rate and burst are the host's, from the config). Eight
/// bytes: it sits in every connection's context.
struct RateLimit {
    tokens: f32,
    /// Last refill, in the idle sweeper's milliseconds (wrapping; connections live far shorter
    /// than the 49 days a `u32` of milliseconds spans).
    last_ms: u32,
}

impl RateLimit {
    fn new(burst: f32, now_ms: u64) -> Self {
        Self {
            tokens: burst,
            last_ms: now_ms as u32,
        }
    }

    fn allow(&mut self, now_ms: u64, per_sec: f32, burst: f32) -> bool {
        let now_ms = now_ms as u32;
        let elapsed_ms = now_ms.wrapping_sub(self.last_ms);
        self.tokens = (self.tokens + elapsed_ms as f32 / 1000.0 * per_sec).min(burst);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A set of shard indices below [`crate::config::MAX_SHARDS`] (two words, 8-byte aligned: a
/// `u128` would be 16-byte aligned and pad the connection context by 8 bytes).
#[derive(Debug, Default, Clone, Copy)]
struct ShardSet([u64; 2]);

impl ShardSet {
    /// Adds `shard`; returns whether it was not in the set yet.
    fn insert(&mut self, shard: usize) -> bool {
        let (word, bit) = (shard / 64, 1u64 << (shard % 64));
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }

    fn contains(&self, shard: usize) -> bool {
        self.0[shard / 64] & (1u64 << (shard % 64)) != 0
    }
}

/// What one connection has told the shards so far.
struct ConnCtx {
    conn: ConnId,
    outbox: Arc<Outbox>,
    facts: NetworkFacts,
    admission: Admission,
    /// Shards that saw this connection's `opened` (bit per shard).
    touched: ShardSet,
    rate: RateLimit,
    /// Payload of a ping to answer (only the latest ping needs an answer).
    pending_pong: Option<Box<[u8]>>,
    decoder: Decoder,
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
        if self.touched.insert(shard) {
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
                self.reply(app, failure(e));
            }
        }
    }
}

impl ConnCtx {
    /// Queues a reply of the host itself (not of a shard) to this peer.
    fn reply(&self, app: &AppState, text: String) {
        match self.outbox.push(text) {
            Pushed::Overflow => app.metrics.reject(Reject::SlowReader),
            Pushed::Dropped => app.metrics.reject(Reject::QueueFull),
            Pushed::Queued | Pushed::Closed => {}
        }
    }

    /// Reads and decodes what the socket has (see [`ws::poll_read_messages`]).
    fn poll_read(
        &mut self,
        cx: &mut std::task::Context<'_>,
        app: &AppState,
        stream: &mut WsStream,
    ) -> std::task::Poll<Result<ReadOutcome, ReadError>> {
        self.decode_with(app, |decoder, on_message| {
            ws::poll_read_messages(cx, stream, decoder, on_message)
        })
    }

    /// Decodes the bytes held back by the decoder: those that came with the upgrade request.
    fn decode_held(&mut self, app: &AppState) -> Result<ReadOutcome, ReadError> {
        let decoded = self.decode_with(app, |decoder, on_message| {
            decoder.decode(&mut [], on_message)
        });
        Ok(ReadOutcome::Decoded(decoded?))
    }

    /// Runs `decode` with the decoder taken out of `self`, so that the message handler it is
    /// given can borrow `self`.
    fn decode_with<R>(
        &mut self,
        app: &AppState,
        decode: impl FnOnce(&mut Decoder, &mut dyn FnMut(WsMessage<'_>) -> Flow) -> R,
    ) -> R {
        let mut decoder = std::mem::replace(&mut self.decoder, Decoder::new(0));
        let result = decode(&mut decoder, &mut |m| self.on_message(app, m));
        self.decoder = decoder;
        result
    }

    /// Handles one message from the peer (called while decoding, on the worker's read buffer).
    fn on_message(&mut self, app: &AppState, message: WsMessage<'_>) -> Flow {
        match message {
            WsMessage::Text(text) => {
                self.outbox.touch(app.idle.now_ms());
                app.metrics.messages_in.fetch_add(1, Relaxed);
                let limits = &app.config.limits;
                let (per_sec, burst) =
                    (limits.messages_per_sec as f32, limits.message_burst as f32);
                if !self.rate.allow(app.idle.now_ms(), per_sec, burst) {
                    app.metrics.reject(Reject::RateLimited);
                    self.reply(app, failure("rate limit exceeded; slow down"));
                    return Flow::Continue;
                }
                self.route(app, text.to_owned());
            }
            WsMessage::Binary(_) => {
                app.metrics.reject(Reject::Malformed);
                self.reply(
                    app,
                    failure("binary frames are not part of the protocol; send JSON text"),
                );
            }
            WsMessage::Ping(payload) => {
                self.outbox.touch(app.idle.now_ms());
                self.pending_pong = Some(payload.into());
            }
            WsMessage::Pong => self.outbox.touch(app.idle.now_ms()),
            WsMessage::Close(_) => return Flow::Stop,
        }
        Flow::Continue
    }
}

/// Writes `bytes` (whole frames), or fails if the peer has not taken them within `timeout`
/// (`limits.send_timeout_ms`: a peer that stopped reading).
async fn send(stream: &mut WsStream, bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Sends everything queued in `outbox` in one write (one syscall per wake-up, not per message);
/// returns the close order if one came with it.
async fn flush_outbox(
    stream: &mut WsStream,
    outbox: &Outbox,
    app: &AppState,
) -> std::io::Result<Option<CloseOrder>> {
    let (queue, close) = outbox.take();
    if !queue.is_empty() {
        let mut out = Vec::with_capacity(queue.iter().map(|t| t.len() + 10).sum());
        for text in &queue {
            frame::encode_text(&mut out, text);
        }
        send(stream, &out, app.send_timeout()).await?;
        app.metrics
            .messages_out
            .fetch_add(queue.len() as u64, Relaxed);
    }
    Ok(close)
}

async fn send_pong(stream: &mut WsStream, payload: &[u8], app: &AppState) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 2);
    frame::encode_pong(&mut out, payload);
    send(stream, &out, app.send_timeout()).await
}

impl AppState {
    fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.config.limits.send_timeout_ms)
    }
}

/// What woke the connection task.
enum Event {
    Outbox,
    Read(Result<ReadOutcome, ReadError>),
}

/// How a connection ends: silently (the peer is gone), or with a close frame.
enum End {
    Gone,
    Close(u16, &'static str),
}

/// The verdict on one read: go on, or how to end.
fn after_read(app: &AppState, conn: ConnId, read: Result<ReadOutcome, ReadError>) -> Option<End> {
    match read {
        Ok(ReadOutcome::Decoded(Flow::Continue)) => None,
        // The peer closed: answer its close frame.
        Ok(ReadOutcome::Decoded(Flow::Stop)) => Some(End::Close(1000, "")),
        Ok(ReadOutcome::Eof) | Err(ReadError::Io(_)) => Some(End::Gone),
        Err(ReadError::Frame(e)) => {
            app.metrics.reject(match e {
                FrameError::TooLarge { .. } => Reject::TooLarge,
                _ => Reject::Malformed,
            });
            tracing::debug!(conn, error = %e, "closing connection");
            Some(End::Close(e.close_code(), e.close_reason()))
        }
    }
}

/// One connection's life: reads (into the worker's buffer, see [`crate::ws`]), routes messages
/// to shards, writes what shards queue in its outbox. Its state is kept small (writes run boxed,
/// the rest is in the boxed [`ConnCtx`]): it sits in the task of every idle peer.
async fn connection(app: Arc<AppState>, mut stream: WsStream, mut ctx: Box<ConnCtx>) {
    app.metrics.connections_total.fetch_add(1, Relaxed);
    if stream.is_wrapped() {
        app.metrics.upgrades_wrapped.fetch_add(1, Relaxed);
    }
    let outbox = ctx.outbox.clone();
    // Frames the client sent right behind its upgrade request (hyper had read them already).
    let early = ctx.decode_held(&app);
    let end = 'conn: {
        if let Some(payload) = ctx.pending_pong.take()
            && Box::pin(send_pong(&mut stream, &payload, &app))
                .await
                .is_err()
        {
            break 'conn End::Gone;
        }
        if let Some(end) = after_read(&app, ctx.conn, early) {
            break 'conn end;
        }
        // Alternates which side is looked at first, so neither a busy outbox nor a busy
        // reader starves the other.
        let mut outbox_first = false;
        loop {
            outbox_first = !outbox_first;
            let event = std::future::poll_fn(|cx| {
                if outbox_first && outbox.poll_ready(cx).is_ready() {
                    return Poll::Ready(Event::Outbox);
                }
                // Read only while the shards have room (back-pressure, see `poll_room`).
                if app.pool.poll_room(cx).is_ready()
                    && let Poll::Ready(read) = ctx.poll_read(cx, &app, &mut stream)
                {
                    return Poll::Ready(Event::Read(read));
                }
                match outbox.poll_ready(cx) {
                    Poll::Ready(()) => Poll::Ready(Event::Outbox),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            match event {
                Event::Outbox => match Box::pin(flush_outbox(&mut stream, &outbox, &app)).await {
                    Ok(None) => {}
                    Ok(Some(order)) => break End::Close(order.code(), order.reason()),
                    Err(_) => break End::Gone,
                },
                Event::Read(read) => {
                    if let Some(payload) = ctx.pending_pong.take()
                        && Box::pin(send_pong(&mut stream, &payload, &app))
                            .await
                            .is_err()
                    {
                        break End::Gone;
                    }
                    if let Some(end) = after_read(&app, ctx.conn, read) {
                        break end;
                    }
                }
            }
        }
    };
    // A closed socket means `stopped` in every swarm of this connection.
    for shard in 0..app.pool.len() {
        if ctx.touched.contains(shard) {
            app.pool.close(shard, ctx.conn);
        }
    }
    if let End::Close(code, reason) = end {
        let mut out = Vec::new();
        frame::encode_close(&mut out, code, reason);
        let closing = async {
            stream.write_all(&out).await?;
            stream.shutdown().await
        };
        // Boxed: this rare path should not add a timer to every connection's state.
        let _ = Box::pin(tokio::time::timeout(Duration::from_secs(2), closing)).await;
    }
}

async fn health(State(app): State<Arc<AppState>>) -> Response {
    let draining = app.lifecycle.is_draining();
    let body = serde_json::json!({
        "status": if draining { "draining" } else { "ok" },
        "engine": app.pool.describe(),
        "shards": app.pool.len(),
        "connections": app.metrics.connections.load(Relaxed),
        "ready": !draining,
        "draining": draining,
    });
    axum::Json(body).into_response()
}

/// Liveness: the process serves HTTP (see [`crate::lifecycle`]).
async fn health_live() -> Response {
    axum::Json(serde_json::json!({ "status": "live" })).into_response()
}

/// Readiness: every shard answers, keys are loaded, not draining (see [`crate::lifecycle`]).
async fn health_ready(State(app): State<Arc<AppState>>) -> Response {
    let shards = tokio::time::timeout(Duration::from_secs(2), app.pool.shard_stats()).await;
    let shards_answering = shards.is_ok_and(|all| all.iter().all(Result::is_ok));
    let readiness = Readiness::judge(
        app.lifecycle.is_draining(),
        shards_answering,
        app.gate.keys_loaded(),
    );
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(readiness)).into_response()
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
    let mut text = app
        .metrics
        .render(&tracker, app.pool.len(), &app.pool.describe());
    let _ = std::fmt::Write::write_fmt(
        &mut text,
        format_args!(
            "# HELP meshcdn_edge_shard_backlog Messages waiting for the shards.\n# TYPE meshcdn_edge_shard_backlog gauge\nmeshcdn_edge_shard_backlog {}\n",
            app.pool.backlog()
        ),
    );
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
        let _ = tokio::task::spawn_blocking(crate::heap::release_free_pages).await;
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
    fn shard_sets_hold_every_index_up_to_the_maximum() {
        let mut set = ShardSet::default();
        for shard in [0, 1, 63, 64, 65, crate::config::MAX_SHARDS - 1] {
            assert!(!set.contains(shard));
            assert!(set.insert(shard));
            assert!(!set.insert(shard), "already there");
            assert!(set.contains(shard));
        }
        assert!(!set.contains(2) && !set.contains(100));
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_refills_at_the_rate_across_the_clock_wrap() {
        let start = u64::from(u32::MAX) - 500;
        let mut rate = RateLimit::new(3.0, start);
        assert!((0..3).all(|_| rate.allow(start, 5.0, 3.0)));
        assert!(!rate.allow(start, 5.0, 3.0), "burst spent");
        assert!(
            !rate.allow(start + 100, 5.0, 3.0),
            "half a token after 100 ms"
        );
        assert!(
            rate.allow(start + 200, 5.0, 3.0),
            "one token after 200 ms at 5/s"
        );
        // Past the u32 wrap of the millisecond clock, and capped at the burst.
        let later = start + 10_000;
        assert!((0..3).all(|_| rate.allow(later, 5.0, 3.0)));
        assert!(!rate.allow(later, 5.0, 3.0));
    }

    /// The connection future lives in every idle peer's task: keep it small. Tokio's task cell is
    /// 128-byte aligned and adds about 100 bytes, so up to ~270 bytes the cell stays at 384 bytes
    /// (docs/benchmarks/edge.md); more would cost every idle peer another 128.
    #[test]
    fn connection_state_stays_small() {
        let size = future_size(connection);
        eprintln!(
            "connection future: {size} bytes; WsStream {} bytes; ConnCtx {} bytes (boxed)",
            std::mem::size_of::<WsStream>(),
            std::mem::size_of::<ConnCtx>()
        );
        assert!(size <= 256, "{size}");
        // Boxed, 248 bytes is a 256-byte allocation; every 16 more costs each idle peer 16.
        assert!(std::mem::size_of::<ConnCtx>() <= 248);
    }
}
