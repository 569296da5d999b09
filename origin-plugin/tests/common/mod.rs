//! A real upstream origin on loopback for the integration tests: the committed sample media
//! (made by scripts/make-media.sh) plus handlers for live, slow, failing, compressed, malformed
//! and oversized manifests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use meshcdn_origin::MeshEngine;
use meshcdn_origin::config::OriginConfig;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tower_http::services::ServeDir;

pub fn media_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../media")
}

pub fn media(path: &str) -> Vec<u8> {
    std::fs::read(media_dir().join(path))
        .unwrap_or_else(|e| panic!("media/{path}: {e} (run scripts/make-media.sh)"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Waits until `cond` holds, polling; fails the test after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub const BAD_PLAYLIST: &str =
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:zzz\nseg.ts\n";

/// Live sliding window of 4 segments; each request moves it on by one segment.
pub fn live_playlist(first: u64) -> String {
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    if first.is_multiple_of(3) {
        s.push_str("#EXT-X-DISCONTINUITY\n");
    }
    for i in first..first + 4 {
        s.push_str(&format!("#EXTINF:2.000,\nseg{i}.ts\n"));
    }
    s
}

pub fn live_segment(i: u64) -> Vec<u8> {
    format!("live segment {i} ").repeat(500).into_bytes()
}

#[derive(Clone, Default)]
pub struct UpstreamState {
    pub hits: Arc<Mutex<HashMap<String, u64>>>,
    pub live_position: Arc<AtomicU64>,
    pub release: Arc<Notify>,
    pub released: Arc<std::sync::atomic::AtomicBool>,
    /// Version of `/mutable/seg.ts`, rewritten in place under the same URL.
    pub mutable_version: Arc<AtomicU64>,
    pub not_modified: Arc<AtomicU64>,
}

impl UpstreamState {
    pub fn hits(&self, path: &str) -> u64 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

pub struct TestUpstream {
    pub addr: SocketAddr,
    pub state: UpstreamState,
}

impl TestUpstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn count(State(state): State<UpstreamState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let mut response = next.run(request).await;
    // ServeDir sends Last-Modified but no ETag or Cache-Control; add both to media files so
    // tests can see them pass through.
    let media_file = path.ends_with(".ts") || path.ends_with(".m4s") || path.ends_with(".mp4");
    if response.status().is_success()
        && media_file
        && !response.headers().contains_key(header::ETAG)
    {
        let etag = format!(
            "\"{}\"",
            sha256_hex(path.as_bytes()).get(..16).unwrap_or_default()
        );
        response
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
    }
    response
}

async fn live_index(State(state): State<UpstreamState>) -> Response {
    let first = state.live_position.fetch_add(1, Ordering::SeqCst);
    (
        [
            (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        live_playlist(first),
    )
        .into_response()
}

async fn live_seg(Path(name): Path<String>) -> Response {
    match name
        .strip_prefix("seg")
        .and_then(|n| n.strip_suffix(".ts"))
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(i) => ([(header::CONTENT_TYPE, "video/mp2t")], live_segment(i)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn gated_master(State(state): State<UpstreamState>) -> Response {
    if !state.released.load(Ordering::SeqCst) {
        state.release.notified().await;
    }
    (
        [(header::CACHE_CONTROL, "max-age=60")],
        String::from_utf8(media("hls-ts/master.m3u8")).unwrap_or_default(),
    )
        .into_response()
}

async fn gzip_master() -> Response {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&media("hls-ts/master.m3u8")).unwrap();
    let mut r = gz.finish().unwrap().into_response();
    r.headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    r
}

pub fn mutable_segment(version: u64) -> Vec<u8> {
    format!("segment version {version} ")
        .repeat(300)
        .into_bytes()
}

async fn mutable_seg(
    State(state): State<UpstreamState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let version = state.mutable_version.load(Ordering::SeqCst);
    let etag = format!("\"v{version}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        state.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::ETAG, etag)], mutable_segment(version)).into_response()
}

pub const MUTABLE_PLAYLIST: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg.ts\n";

pub fn big_playlist(segments: usize) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n");
    for i in 0..segments {
        s.push_str(&format!(
            "#EXTINF:2.000,\nsegment-with-a-long-name-{i:06}.ts\n"
        ));
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

pub async fn start_upstream() -> TestUpstream {
    let state = UpstreamState::default();
    let app = Router::new()
        .route("/live/index.m3u8", get(live_index))
        .route("/live/{name}", get(live_seg))
        .route(
            "/slow/{name}",
            get(|| async { std::future::pending::<()>().await }),
        )
        .route(
            "/broken/{name}",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/gated/master.m3u8", get(gated_master))
        .route("/gz/master.m3u8", get(gzip_master))
        .route("/admin/x", get(|| async { "admin secret" }))
        .route(
            "/broken-list/index.m3u8",
            get(|| async { "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/broken/a.ts\n" }),
        )
        .route(
            "/slow-list/index.m3u8",
            get(|| async { "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/slow/a.ts\n#EXTINF:2,\n/hls-ts/360p/seg_000.ts\n" }),
        )
        .route("/public/ok.txt", get(|| async { "public ok" }))
        .route(
            "/public/echo-headers",
            get(|headers: axum::http::HeaderMap| async move {
                let map: std::collections::BTreeMap<String, Vec<String>> = headers
                    .keys()
                    .map(|k| {
                        let values = headers
                            .get_all(k)
                            .iter()
                            .map(|v| v.to_str().unwrap_or("?").to_string())
                            .collect();
                        (k.as_str().to_string(), values)
                    })
                    .collect();
                axum::Json(map)
            }),
        )
        .route(
            "/vod-day/master.m3u8",
            get(|| async {
                (
                    [(header::CACHE_CONTROL, "public, max-age=86400")],
                    media("hls-ts/master.m3u8"),
                )
            }),
        )
        .route("/bad/index.m3u8", get(|| async { BAD_PLAYLIST }))
        .route(
            "/mutable/index.m3u8",
            get(|| async { ([(header::CACHE_CONTROL, "no-cache")], MUTABLE_PLAYLIST) }),
        )
        .route("/mutable/seg.ts", get(mutable_seg))
        .route("/big/index.m3u8", get(|| async { big_playlist(2_000) }))
        .fallback_service(ServeDir::new(media_dir()))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestUpstream { addr, state }
}

/// Serves `router` on a loopback port.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    addr
}

pub fn test_config(upstream: &str) -> OriginConfig {
    let mut c = OriginConfig {
        upstream: Some(upstream.into()),
        trackers: vec![
            "ws://127.0.0.1:8000/announce".into(),
            "ws://127.0.0.2:8000/announce".into(),
        ],
        ..OriginConfig::default()
    };
    c.upstream_timeouts.response_ms = 400;
    c.upstream_timeouts.read_idle_ms = 400;
    c.manifests.max_bytes = 32 * 1024;
    c
}

pub async fn start_proxy(config: &OriginConfig) -> (SocketAddr, MeshEngine) {
    let (router, engine) = meshcdn_origin::proxy::build_proxy(config).unwrap();
    (serve(router).await, engine)
}

/// Sends `request` (raw bytes) on a new connection and returns what the server answers until it
/// closes or `within` passes (then `None`): for requests no HTTP client library would send.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], within: Duration) -> Option<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            // One response is enough: stop at the end of its body when it says how long it is.
            let text = String::from_utf8_lossy(&out);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                });
                if len.is_some_and(|len| body.len() >= len) {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}
