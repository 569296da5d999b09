//! `meshcdn demo`: everything on one machine, in one process.
//!
//! - the sample stream (`media/hls-ts`, two renditions) as VOD under `/streams/vod/` and as a
//!   simulated live stream (a sliding window looping over the same segments) under
//!   `/streams/live/`, and the DASH sample (`media/dash`, two representations, SegmentTimeline)
//!   as VOD under `/streams/dash-vod/` and live under `/streams/dash-live/` ([`dash_live`]), all
//!   behind the origin plugin's [`MeshLayer`] (bootstrap, swarm tokens, segment hashes, the DASH
//!   hash documents);
//! - the publisher token API (`POST /v1/tokens`, `/.well-known/jwks.json`) with keys made for
//!   this run;
//! - an edge host (wasm tracker shards by default) that verifies those tokens;
//! - viewer analytics as in production ([`meshcdn_analytics`] mounted by the origin plugin:
//!   `POST /v1/beacons`, the dashboard at `/analytics`, `GET /v1/analytics`), stored in SQLite
//!   in this run's temporary directory;
//! - the client bundles, hls.js, Shaka Player, dash.js and the player page (`/`, with a choice
//!   of stream and player).
//!
//! `/api/demo-info` reports the segment bytes the media server sent to viewers (per content), so
//! tests can hold the dashboard's figures against them.

pub mod dash_live;
pub mod live;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http_body_util::BodyExt as _;
use meshcdn_analytics::{Analytics, AnalyticsConfig};
use meshcdn_edge::{EdgeConfig, EdgeHandle, EngineKind};
use meshcdn_origin::config::{ContentRule, OriginConfig};
use meshcdn_origin::tokens::TokenIssuer;
use meshcdn_origin::{MeshEngine, MeshLayer, StaticTrackers};
use tower::Layer as _;
use tower_http::services::ServeDir;

use crate::dash_live::DashLoop;
use crate::live::LoopSource;

/// Content ids of the two sample streams (the `cid` their swarm tokens carry).
pub const LIVE_CONTENT: &str = "demo/live";
pub const VOD_CONTENT: &str = "demo/vod";
/// Content ids of the DASH sample streams.
pub const DASH_LIVE_CONTENT: &str = "demo/dash-live";
pub const DASH_VOD_CONTENT: &str = "demo/dash-vod";
/// Segments in the live DASH window.
const DASH_LIVE_WINDOW: u64 = 8;

/// Where the demo finds its files and where it listens.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Pages, streams and token API.
    pub listen: SocketAddr,
    /// The edge tracker (port 0 = any free port).
    pub edge_listen: SocketAddr,
    pub engine: EngineKind,
    /// Tracker-shard component (wasm engine); `None` = the edge host's default path.
    pub component: Option<PathBuf>,
    /// Directory with the sample stream: `master.m3u8` and one folder per rendition.
    pub media_dir: PathBuf,
    /// The client's build output (`meshcdn.iife.js`).
    pub client_dist: PathBuf,
    /// hls.js's browser build.
    pub hls_js: PathBuf,
    /// Directory with the DASH sample (`manifest.mpd`, init and media segments).
    pub dash_media_dir: PathBuf,
    /// Shaka Player's and dash.js's browser builds (the player page offers them).
    pub shaka_js: PathBuf,
    pub dash_js: PathBuf,
    /// Segments in each live playlist.
    pub live_window: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            edge_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            engine: EngineKind::Wasm,
            component: None,
            media_dir: repo.join("media/hls-ts"),
            client_dist: repo.join("client/dist"),
            hls_js: repo.join("client/node_modules/hls.js/dist/hls.min.js"),
            dash_media_dir: repo.join("media/dash"),
            shaka_js: repo.join("client/node_modules/shaka-player/dist/shaka-player.compiled.js"),
            dash_js: repo.join("client/node_modules/dashjs/dist/modern/umd/dash.all.min.js"),
            live_window: 6,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("missing {what} at {path}: {hint}")]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sample stream: {0}")]
    Media(String),
    #[error("keys: {0}")]
    Keys(String),
    #[error("edge host: {0}")]
    Edge(#[from] meshcdn_edge::EdgeError),
    #[error("analytics: {0}")]
    Analytics(String),
}

/// A running demo. Dropping it does not stop it; call [`DemoHandle::shutdown`].
pub struct DemoHandle {
    pub page_url: String,
    pub dashboard_url: String,
    pub edge: Arc<EdgeHandle>,
    pub publisher_api_key: String,
    pub analytics: Analytics,
    local_addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    _keys: tempfile::TempDir,
}

impl DemoHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub async fn shutdown(self) {
        self.server.abort();
        let _ = self.server.await;
        let _ = self.analytics.shutdown().await;
        // The page server held the only other reference to the edge host.
        if let Ok(edge) = Arc::try_unwrap(self.edge) {
            edge.shutdown().await;
        }
    }

    /// Waits until the page server stops (it runs until the process ends).
    pub async fn wait(self) {
        let _ = self.server.await;
    }
}

struct DemoState {
    started: Instant,
    renditions: Vec<(String, LoopSource)>,
    media_dir: PathBuf,
    client_dist: PathBuf,
    hls_js: PathBuf,
    shaka_js: PathBuf,
    dash_js: PathBuf,
    dash_media_dir: PathBuf,
    dash_loop: DashLoop,
    /// Unix ms the live DASH stream became available from (a full window before the start).
    dash_ast_ms: u64,
    live_window: usize,
    publisher_api_key: String,
    /// Segment bytes sent to viewers, live and VOD (the origin plugin's own hashing reads excluded).
    served_live: AtomicU64,
    served_vod: AtomicU64,
}

fn require(what: &'static str, path: PathBuf, hint: &'static str) -> Result<PathBuf, DemoError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(DemoError::Missing { what, path, hint })
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Starts the demo and returns once both servers accept connections.
pub async fn start(config: DemoConfig) -> Result<DemoHandle, DemoError> {
    let media_dir = require(
        "sample stream",
        config.media_dir.clone(),
        "run scripts/make-media.sh",
    )?;
    require(
        "client bundle",
        config.client_dist.join("meshcdn.iife.js"),
        "run scripts/setup.sh",
    )?;
    let client_dist = config.client_dist.clone();
    let hls_js = require(
        "hls.js",
        config.hls_js.clone(),
        "run scripts/setup.sh (npm install in client/)",
    )?;
    let master = std::fs::read_to_string(media_dir.join("master.m3u8"))
        .map_err(|e| DemoError::Media(e.to_string()))?;
    let dash_media_dir = require(
        "DASH sample stream",
        config.dash_media_dir.clone(),
        "run scripts/make-media.sh",
    )?;
    let shaka_js = require(
        "Shaka Player",
        config.shaka_js.clone(),
        "run scripts/setup.sh (npm install in client/)",
    )?;
    let dash_js = require(
        "dash.js",
        config.dash_js.clone(),
        "run scripts/setup.sh (npm install in client/)",
    )?;
    let dash_vod = std::fs::read_to_string(dash_media_dir.join("manifest.mpd"))
        .map_err(|e| DemoError::Media(format!("manifest.mpd: {e}")))?;
    let dash_loop =
        DashLoop::parse(&dash_vod).map_err(|e| DemoError::Media(format!("manifest.mpd: {e}")))?;
    let mut renditions = Vec::new();
    for uri in master
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let vod = std::fs::read_to_string(media_dir.join(uri))
            .map_err(|e| DemoError::Media(format!("{uri}: {e}")))?;
        let source =
            LoopSource::parse(&vod).map_err(|e| DemoError::Media(format!("{uri}: {e}")))?;
        let dir = uri
            .rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default();
        renditions.push((dir, source));
    }

    // Keys for this run: a signing key, its JWKS for the edge, and a publisher API key.
    let keys = tempfile::tempdir().map_err(|e| DemoError::Keys(e.to_string()))?;
    let now = unix_secs();
    meshcdn_origin::tokens::generate_key(keys.path(), now)
        .map_err(|e| DemoError::Keys(e.to_string()))?;
    let publisher_api_key = meshcdn_origin::tokens::add_api_key(keys.path(), "demo", Vec::new())
        .map_err(|e| DemoError::Keys(e.to_string()))?;
    let mut origin_config = OriginConfig {
        keys_dir: Some(keys.path().to_path_buf()),
        content: vec![
            ContentRule {
                prefix: "/streams/live/".into(),
                id: LIVE_CONTENT.into(),
            },
            ContentRule {
                prefix: "/streams/vod/".into(),
                id: VOD_CONTENT.into(),
            },
            ContentRule {
                prefix: "/streams/dash-live/".into(),
                id: DASH_LIVE_CONTENT.into(),
            },
            ContentRule {
                prefix: "/streams/dash-vod/".into(),
                id: DASH_VOD_CONTENT.into(),
            },
        ],
        // The demo's viewers share one machine or LAN: no STUN/TURN (host candidates suffice).
        ice: Some(meshcdn_origin::ice::IceConfig::default()),
        ..OriginConfig::default()
    };
    // Live playlists change every segment: never cache them longer than a second.
    origin_config.manifests.max_ttl_ms = 1_000;
    // Production analytics, with short intervals so the dashboard moves while one watches.
    origin_config.analytics = AnalyticsConfig {
        database_url: Some(format!(
            "sqlite://{}",
            keys.path().join("analytics.db").display()
        )),
        beacon_interval_secs: 2,
        bucket_secs: 10,
        flush_ms: 1_000,
        ..AnalyticsConfig::default()
    };
    let issuer = Arc::new(
        TokenIssuer::load(keys.path(), &origin_config.tokens, now)
            .map_err(|e| DemoError::Keys(e.to_string()))?,
    );
    let jwks_path = keys.path().join("jwks.json");
    std::fs::write(&jwks_path, issuer.jwks().to_string())
        .map_err(|e| DemoError::Keys(e.to_string()))?;

    let edge_listener = tokio::net::TcpListener::bind(config.edge_listen)
        .await
        .map_err(|source| DemoError::Listen {
            addr: config.edge_listen,
            source,
        })?;
    let mut edge_config = EdgeConfig {
        engine: config.engine,
        component: config.component.clone(),
        ..EdgeConfig::default()
    };
    edge_config.auth.jwks = Some(jwks_path.display().to_string());
    let edge = meshcdn_edge::serve(edge_config, edge_listener).await?;
    let tracker_url = edge.announce_url();

    origin_config.trackers = vec![tracker_url.clone()];
    let origin = MeshEngine::builder(origin_config)
        .trackers(StaticTrackers(vec![tracker_url]))
        .issuer(issuer.clone())
        .build();
    let analytics = meshcdn_origin::analytics::open(&origin)
        .await
        .map_err(|e| DemoError::Analytics(e.to_string()))?
        .ok_or_else(|| DemoError::Analytics("analytics is off".into()))?;

    let edge = Arc::new(edge);
    let state = Arc::new(DemoState {
        started: Instant::now(),
        renditions,
        media_dir: media_dir.clone(),
        client_dist,
        hls_js,
        shaka_js,
        dash_js,
        dash_media_dir: dash_media_dir.clone(),
        dash_ast_ms: unix_ms().saturating_sub(DASH_LIVE_WINDOW * 2_000),
        dash_loop,
        live_window: config.live_window,
        publisher_api_key: publisher_api_key.clone(),
        served_live: AtomicU64::new(0),
        served_vod: AtomicU64::new(0),
    });

    let streams = Router::new()
        .nest_service("/streams/vod", ServeDir::new(&media_dir))
        .nest_service("/streams/dash-vod", ServeDir::new(&dash_media_dir))
        .route("/streams/dash-live/manifest.mpd", get(dash_live_mpd))
        .route("/streams/dash-live/{file}", get(dash_live_file))
        .route("/streams/live/master.m3u8", get(live_master))
        .route("/streams/live/{rendition}/index.m3u8", get(live_media))
        .route("/streams/live/{rendition}/{segment}", get(live_segment))
        .with_state(state.clone());
    // Around the whole router, not `Router::layer` (which wraps each route after routing): the
    // layer fetches segments for hashing through its inner service, so that must route.
    let streams = MeshLayer::new(origin.clone()).layer(streams);
    // Counted outside the layer: what viewers received, not the layer's hashing reads.
    let streams =
        Router::new()
            .fallback_service(streams)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                count_segment_bytes,
            ));
    let app = Router::new()
        .route("/", get(|| async { pages::html(pages::PLAYER) }))
        .route("/dashboard", get(|| async { Redirect::to("/analytics") }))
        .route("/assets/{file}", get(asset))
        .route("/api/demo-info", get(api_demo_info))
        .with_state(state)
        .merge(meshcdn_origin::tokens::token_routes(issuer))
        .merge(analytics.routes())
        .fallback_service(streams);

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| DemoError::Listen {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| DemoError::Listen {
        addr: config.listen,
        source,
    })?;
    let server = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo server stopped");
        }
    });
    let page_url = format!("http://{local_addr}/");
    tracing::info!(%page_url, edge = %edge.announce_url(), "demo running");
    Ok(DemoHandle {
        // The key in the fragment logs the dashboard in (fragments never reach the server).
        dashboard_url: format!("{page_url}analytics#key={publisher_api_key}"),
        page_url,
        edge,
        publisher_api_key,
        analytics,
        local_addr,
        server,
        _keys: keys,
    })
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn dash_live_mpd(State(state): State<Arc<DemoState>>) -> Response {
    let elapsed = unix_ms().saturating_sub(state.dash_ast_ms);
    (
        [
            (header::CONTENT_TYPE, "application/dash+xml"),
            (header::CACHE_CONTROL, "max-age=1"),
        ],
        state
            .dash_loop
            .mpd(state.dash_ast_ms, elapsed, DASH_LIVE_WINDOW),
    )
        .into_response()
}

/// `init-<rep>.mp4` as is; `seg-<rep>-<n>.m4s` = the loop's file with its decode time moved.
async fn dash_live_file(State(state): State<Arc<DemoState>>, Path(file): Path<String>) -> Response {
    let mp4 = |body: Vec<u8>| {
        (
            [
                (header::CONTENT_TYPE, "video/mp4"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            body,
        )
            .into_response()
    };
    let rep_ok =
        |r: &str| !r.is_empty() && r.len() <= 16 && r.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some(rep) = file
        .strip_prefix("init-")
        .and_then(|f| f.strip_suffix(".mp4"))
        && rep_ok(rep)
    {
        return match tokio::fs::read(state.dash_media_dir.join(&file)).await {
            Ok(body) => mp4(body),
            Err(_) => not_found(),
        };
    }
    let Some((rep, number)) = file
        .strip_prefix("seg-")
        .and_then(|f| f.strip_suffix(".m4s"))
        .and_then(|f| f.rsplit_once('-'))
    else {
        return not_found();
    };
    let Ok(number) = number.parse::<u64>() else {
        return not_found();
    };
    let elapsed = unix_ms().saturating_sub(state.dash_ast_ms);
    if !rep_ok(rep) || !state.dash_loop.available(number, elapsed) {
        return not_found();
    }
    let (n, time) = state.dash_loop.file_for(number);
    let name = format!("chunk-{rep}-{n:05}.m4s");
    match tokio::fs::read(state.dash_media_dir.join(name)).await {
        Ok(body) => mp4(dash_live::with_decode_time(&body, time)),
        Err(_) => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn live_master(State(state): State<Arc<DemoState>>) -> Response {
    match tokio::fs::read(state.media_dir.join("master.m3u8")).await {
        Ok(body) => (
            [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
            body,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

async fn live_media(
    State(state): State<Arc<DemoState>>,
    Path(rendition): Path<String>,
) -> Response {
    let Some((_, source)) = state.renditions.iter().find(|(dir, _)| *dir == rendition) else {
        return not_found();
    };
    let elapsed = state.started.elapsed().as_millis() as u64;
    (
        [
            (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
            (header::CACHE_CONTROL, "max-age=1"),
        ],
        source.window(elapsed, state.live_window),
    )
        .into_response()
}

async fn live_segment(
    State(state): State<Arc<DemoState>>,
    Path((rendition, segment)): Path<(String, String)>,
) -> Response {
    // Only files of a known rendition: no path traversal.
    let known = state.renditions.iter().any(|(dir, _)| *dir == rendition);
    if !known || segment.contains('/') || segment.contains("..") || !segment.ends_with(".ts") {
        return not_found();
    }
    match tokio::fs::read(state.media_dir.join(&rendition).join(&segment)).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "video/mp2t"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            body,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

async fn asset(State(state): State<Arc<DemoState>>, Path(file): Path<String>) -> Response {
    let js = "text/javascript; charset=utf-8";
    let from_disk = |path: PathBuf| async move {
        match tokio::fs::read(&path).await {
            Ok(body) => ([(header::CONTENT_TYPE, js)], body).into_response(),
            Err(_) => not_found(),
        }
    };
    match file.as_str() {
        "player.js" => ([(header::CONTENT_TYPE, js)], pages::PLAYER_JS).into_response(),
        "demo.css" => (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
            pages::CSS,
        )
            .into_response(),
        "hls.min.js" => from_disk(state.hls_js.clone()).await,
        "shaka-player.js" => from_disk(state.shaka_js.clone()).await,
        "dash.js" => from_disk(state.dash_js.clone()).await,
        "meshcdn.iife.js" => from_disk(state.client_dist.join("meshcdn.iife.js")).await,
        "meshcdn-shaka.iife.js" => from_disk(state.client_dist.join("meshcdn-shaka.iife.js")).await,
        "meshcdn-dashjs.iife.js" => {
            from_disk(state.client_dist.join("meshcdn-dashjs.iife.js")).await
        }
        _ => not_found(),
    }
}

/// Adds the body bytes of `.ts` segment responses, as they are sent, to the content's counter.
async fn count_segment_bytes(
    State(state): State<Arc<DemoState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if !path.ends_with(".ts") || !response.status().is_success() {
        return response;
    }
    let live = path.starts_with("/streams/live/");
    let state = state.clone();
    response.map(|body| {
        axum::body::Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                let counter = if live {
                    &state.served_live
                } else {
                    &state.served_vod
                };
                counter.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            frame
        }))
    })
}

async fn api_demo_info(State(state): State<Arc<DemoState>>) -> Response {
    axum::Json(serde_json::json!({
        "publisher_api_key": state.publisher_api_key,
        "contents": [LIVE_CONTENT, VOD_CONTENT, DASH_LIVE_CONTENT, DASH_VOD_CONTENT],
        "segment_bytes_served": {
            LIVE_CONTENT: state.served_live.load(Ordering::Relaxed),
            VOD_CONTENT: state.served_vod.load(Ordering::Relaxed),
        },
    }))
    .into_response()
}
