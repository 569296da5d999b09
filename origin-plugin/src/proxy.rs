//! Reverse proxy mode: `meshcdn origin --upstream URL`. Manifests go through the engine; every
//! other request is forwarded with reqwest and its body streamed back untouched (Range, ETag,
//! Cache-Control and the rest of the headers pass through both ways).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, header};
use http_body_util::BodyExt as _;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::services::ServeDir;
use url::Url;

use crate::OriginError;
use crate::config::{CorsConfig, OriginConfig, UpstreamTimeouts};
use crate::engine::MeshEngine;
use crate::rewrite::MeshLayer;
use crate::tokens::{spawn_key_reload, token_routes};
use crate::upstream::{BoxError, Upstream, UpstreamBody, UpstreamError, UpstreamFuture, full_body};

/// Hop-by-hop headers (RFC 9110 §7.6.1) and Host: never forwarded.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "proxy-connection"
    )
}

/// The upstream origin, reached over HTTP with reqwest.
#[derive(Clone)]
pub struct ReqwestUpstream {
    client: reqwest::Client,
    /// Never reuses a connection: for the one retry after a pooled connection failed.
    fresh: reqwest::Client,
    base: Url,
    /// `base` without a trailing slash: origin-form URIs are appended to it.
    prefix: String,
    response_timeout: Duration,
}

impl std::fmt::Debug for ReqwestUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqwestUpstream")
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl ReqwestUpstream {
    pub fn new(base: &str, timeouts: &UpstreamTimeouts) -> Result<Self, OriginError> {
        let base = Url::parse(base)
            .map_err(|e| OriginError::Upstream(format!("upstream URL {base:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err(OriginError::Upstream(format!(
                "upstream URL {base} must be http(s) without a query"
            )));
        }
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_millis(timeouts.connect_ms))
                .read_timeout(Duration::from_millis(timeouts.read_idle_ms))
                // Segments stream through untouched: no transparent decompression (explicit, in
                // case another crate turns reqwest's decoders on by feature unification), no
                // redirects.
                .no_gzip()
                .no_brotli()
                .no_deflate()
                .no_zstd()
                .redirect(reqwest::redirect::Policy::none())
                // Small frames (HLS requests, 304s) should not wait for Nagle.
                .tcp_nodelay(true)
        };
        let client = builder()
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| OriginError::Upstream(format!("HTTP client: {e}")))?;
        let fresh = builder()
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| OriginError::Upstream(format!("HTTP client: {e}")))?;
        let prefix = base.as_str().trim_end_matches('/').to_string();
        Ok(Self {
            client,
            fresh,
            base,
            prefix,
            response_timeout: Duration::from_millis(timeouts.response_ms),
        })
    }

    /// Sends one request upstream. Upstream 5xx answers become [`UpstreamError::ServerError`]
    /// (502 to the client), so every upstream failure is mapped here, in one place.
    pub async fn send(
        &self,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Option<reqwest::Body>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("{}{}", self.prefix, path);
        let request = |client: &reqwest::Client, method: Method| {
            let mut builder = client.request(method, url.as_str());
            for (name, value) in headers {
                if !is_hop_by_hop(name) {
                    builder = builder.header(name, value);
                }
            }
            builder
        };
        // A body-less GET/HEAD is idempotent, so it may be sent again.
        let retryable = body.is_none() && (method == Method::GET || method == Method::HEAD);
        let mut first = request(&self.client, method.clone());
        if let Some(body) = body {
            first = first.body(body);
        }
        let exchange = async {
            match first.send().await {
                // An upstream closes an idle keep-alive connection just as we reuse it (Node's
                // 5 s keepAliveTimeout, nginx's keepalive_timeout): the request is lost before any
                // response. On a live stream that hits the one segment not hashed yet, the
                // newest, which then went out without its hash. Retry once on a new connection.
                Err(e) if retryable && !e.is_timeout() && !e.is_connect() => {
                    tracing::debug!(%path, error = %error_chain(&e), "upstream connection failed before the response; retrying on a new connection");
                    request(&self.fresh, method).send().await
                }
                other => other,
            }
        };
        let response = match tokio::time::timeout(self.response_timeout, exchange).await {
            Err(_) => {
                return Err(UpstreamError::Timeout(format!(
                    "no response headers within {:?}",
                    self.response_timeout
                )));
            }
            Ok(Err(e)) if e.is_timeout() => return Err(UpstreamError::Timeout(error_chain(&e))),
            Ok(Err(e)) => return Err(UpstreamError::Unavailable(error_chain(&e))),
            Ok(Ok(r)) => r,
        };
        if response.status().is_server_error() {
            return Err(UpstreamError::ServerError(response.status()));
        }
        let mut response: Response<reqwest::Body> = response.into();
        let hop: Vec<HeaderName> = response
            .headers()
            .keys()
            .filter(|n| is_hop_by_hop(n))
            .cloned()
            .collect();
        for name in hop {
            response.headers_mut().remove(name);
        }
        Ok(response.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed_unsync()))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

impl Upstream for ReqwestUpstream {
    fn fetch(&self, request: Request<()>) -> UpstreamFuture {
        let this = self.clone();
        Box::pin(async move {
            let (parts, ()) = request.into_parts();
            this.send(parts.method, &parts.uri, &parts.headers, None)
                .await
        })
    }

    fn local_path(&self, url: &Url) -> Option<String> {
        if url.origin() != self.base.origin() {
            return None;
        }
        let base_path = self.base.path().trim_end_matches('/');
        let rest = url.path().strip_prefix(base_path)?;
        if !rest.starts_with('/') {
            return None;
        }
        Some(match url.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        })
    }
}

#[derive(Clone)]
struct ProxyState {
    engine: MeshEngine,
    upstream: Arc<ReqwestUpstream>,
}

async fn proxy(
    State(state): State<ProxyState>,
    request: axum::extract::Request,
) -> Response<UpstreamBody> {
    let (parts, body) = request.into_parts();
    if let Some(kind) = state
        .engine
        .classify(&parts.method, &parts.uri, &parts.headers)
    {
        return state
            .engine
            .serve(state.upstream.clone(), parts, kind)
            .await;
    }
    let body = if parts.method == Method::GET || parts.method == Method::HEAD {
        None
    } else {
        Some(reqwest::Body::wrap_stream(body.into_data_stream()))
    };
    match state
        .upstream
        .send(parts.method.clone(), &parts.uri, &parts.headers, body)
        .await
    {
        Ok(response) => response,
        Err(e) => {
            state.engine.note_upstream_error();
            tracing::warn!(path = %parts.uri.path(), error = %e, "upstream request failed");
            let mut r = Response::new(full_body(format!("{e}\n")));
            *r.status_mut() = e.status();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
    }
}

/// The proxy as a router (a fallback that handles every path).
pub fn proxy_router(engine: MeshEngine, upstream: Arc<ReqwestUpstream>) -> Router {
    Router::new()
        .fallback(proxy)
        .with_state(ProxyState { engine, upstream })
}

/// CORS for the browser client: reads of manifests and segments (with `Range`) from any allowed
/// origin, and the headers a player needs exposed.
pub fn cors_layer(config: &CorsConfig) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS, Method::POST])
        .allow_headers([
            header::RANGE,
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
        ])
        .expose_headers([
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::ETAG,
            header::DATE,
        ])
        .max_age(Duration::from_secs(600));
    if config.allow_origins.is_empty() {
        layer.allow_origin(Any)
    } else {
        let origins: Vec<HeaderValue> = config
            .allow_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

/// `GET /v1/stats`: the engine's counters as JSON (merge it where the dashboard can reach it).
pub fn stats_routes(engine: MeshEngine) -> Router {
    Router::new()
        .route(
            "/v1/stats",
            get(|State(engine): State<MeshEngine>| async move { axum::Json(engine.stats()) }),
        )
        .with_state(engine)
}

fn with_token_routes(router: Router, engine: &MeshEngine) -> Router {
    match engine.shared_issuer() {
        Some(issuer) => token_routes(issuer.clone()).merge(router),
        None => router,
    }
}

/// Prometheus text exposition format, version 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Body of `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    pub ok: bool,
    /// An upstream origin is configured (proxy mode).
    pub upstream_configured: bool,
    /// Signing keys are loaded (tokens in manifests, `POST /v1/tokens`); false in open mode.
    pub keys_loaded: bool,
    /// Key id that signs now.
    pub signing_kid: Option<String>,
    /// Swarm placement picks the trackers (`placement_file`).
    pub placement: bool,
}

/// `GET /health` (liveness/readiness: the process serves and its config is loaded) and
/// `GET /metrics` (the [`crate::StatsSnapshot`] counters for Prometheus). Answered by the proxy
/// itself: these two paths are not forwarded to the upstream.
pub fn ops_routes(engine: MeshEngine) -> Router {
    async fn health(State(engine): State<MeshEngine>) -> Response<UpstreamBody> {
        let issuer = engine.issuer();
        let health = Health {
            ok: true,
            upstream_configured: engine.config().upstream.is_some(),
            keys_loaded: issuer.is_some(),
            signing_kid: issuer.map(|i| i.current_kid().to_string()),
            placement: engine.config().placement_file.is_some(),
        };
        let mut r = Response::new(full_body(serde_json::to_vec(&health).unwrap_or_default()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
    async fn metrics(State(engine): State<MeshEngine>) -> Response<UpstreamBody> {
        let mut r = Response::new(full_body(engine.stats().to_prometheus()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(engine)
}

/// The whole reverse proxy for `config`: manifests rewritten, everything else forwarded, token
/// routes when `keys_dir` is set (keys re-read every `tokens.reload_secs`), `/health`,
/// `/metrics`, CORS. Returns the engine too (for its stats). Call inside a Tokio runtime.
pub fn build_proxy(config: &OriginConfig) -> Result<(Router, MeshEngine), OriginError> {
    let engine = MeshEngine::from_config(config)?;
    let base = config.upstream.as_deref().ok_or(OriginError::NoUpstream)?;
    let upstream = Arc::new(ReqwestUpstream::new(base, &config.upstream_timeouts)?);
    if let (Some(issuer), Some(dir)) = (engine.shared_issuer(), &config.keys_dir) {
        spawn_key_reload(issuer, dir.clone(), config.tokens.clone());
    }
    let router = with_token_routes(proxy_router(engine.clone(), upstream), &engine)
        .merge(ops_routes(engine.clone()));
    Ok((router.layer(cors_layer(&config.cors)), engine))
}

/// A local directory of HLS/DASH files served with the Layer (the in-process origin of
/// `meshcdn demo`): `ServeDir` + [`MeshLayer`], token routes when the engine has an issuer, CORS.
pub fn local_dir_router(dir: impl AsRef<Path>, engine: MeshEngine) -> Router {
    let cors = cors_layer(&engine.config().cors);
    let files = Router::new()
        .fallback_service(ServeDir::new(dir.as_ref()))
        .layer(MeshLayer::new(engine.clone()));
    with_token_routes(files, &engine).layer(cors)
}

/// Body of `GET /health/ready` (200 when `ready`, else 503); `GET /health/live` answers 200
/// while the process serves. Served by [`serve_with_shutdown`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub draining: bool,
    pub upstream_configured: bool,
    /// Signing keys are loaded, or none are configured (open mode).
    pub keys_loaded: bool,
    /// Why not ready (empty when ready).
    pub reasons: Vec<String>,
}

impl Readiness {
    /// The verdict: an upstream to proxy, the configured keys loaded, not draining.
    pub fn judge(draining: bool, upstream_configured: bool, keys_wanted: bool, keys_loaded: bool) -> Self {
        let keys_loaded = keys_loaded || !keys_wanted;
        let mut reasons = Vec::new();
        if draining {
            reasons.push("draining (shutting down)".to_owned());
        }
        if !upstream_configured {
            reasons.push("no upstream configured".to_owned());
        }
        if !keys_loaded {
            reasons.push("signing keys not loaded".to_owned());
        }
        Self {
            ready: reasons.is_empty(),
            draining,
            upstream_configured,
            keys_loaded,
            reasons,
        }
    }
}

/// `GET /health/live` and `GET /health/ready` (Kubernetes probes) around the proxy's engine and
/// its draining flag.
pub fn probe_routes(engine: MeshEngine, draining: Arc<std::sync::atomic::AtomicBool>) -> Router {
    async fn live() -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({ "status": "live" }))
    }
    async fn ready(
        State((engine, draining)): State<(MeshEngine, Arc<std::sync::atomic::AtomicBool>)>,
    ) -> (http::StatusCode, axum::Json<Readiness>) {
        let readiness = Readiness::judge(
            draining.load(std::sync::atomic::Ordering::Relaxed),
            engine.config().upstream.is_some(),
            engine.config().keys_dir.is_some(),
            engine.issuer().is_some(),
        );
        let status = if readiness.ready {
            http::StatusCode::OK
        } else {
            http::StatusCode::SERVICE_UNAVAILABLE
        };
        (status, axum::Json(readiness))
    }
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state((engine, draining))
}

/// Runs the reverse proxy on `config.listen` until Ctrl-C.
pub async fn serve(config: &OriginConfig) -> Result<(), OriginError> {
    let listener = bind(config).await?;
    serve_with_shutdown(config, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Binds `config.listen`.
pub async fn bind(config: &OriginConfig) -> Result<tokio::net::TcpListener, OriginError> {
    tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| OriginError::Io(format!("cannot listen on {}: {e}", config.listen)))
}

/// Runs the reverse proxy on `listener` until `shutdown` resolves, then drains: readiness turns
/// 503, the listener closes, requests in flight finish (at most `shutdown_grace_secs`), and it
/// returns.
pub async fn serve_with_shutdown(
    config: &OriginConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), OriginError> {
    let (router, engine) = build_proxy(config)?;
    // Analytics routes answer before the proxy's fallback; CORS as for the rest.
    let analytics = crate::analytics::open(&engine).await?;
    let router = match &analytics {
        Some(a) => a.routes().layer(cors_layer(&config.cors)).merge(router),
        None => router,
    };
    let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let router = probe_routes(engine, draining.clone()).merge(router);
    let addr = listener
        .local_addr()
        .map_err(|e| OriginError::Io(e.to_string()))?;
    tracing::info!(%addr, upstream = ?config.upstream, "meshcdn origin proxy listening");
    // Manifests and the tail of each segment are small writes: never hold them back for Nagle.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let (fired, signalled) = tokio::sync::oneshot::channel::<()>();
    // Peer addresses for the analytics' per-IP beacon limit.
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        draining.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = fired.send(());
    })
    .into_future();
    tokio::pin!(server);
    let result = tokio::select! {
        result = &mut server => result.map_err(|e| OriginError::Io(e.to_string())),
        _ = signalled => {
            let grace = Duration::from_secs(config.shutdown_grace_secs);
            tracing::info!(grace_secs = grace.as_secs(), "draining: finishing requests in flight");
            match tokio::time::timeout(grace, server).await {
                Ok(result) => result.map_err(|e| OriginError::Io(e.to_string())),
                Err(_) => {
                    tracing::warn!("grace period over; closing the requests still in flight");
                    Ok(())
                }
            }
        }
    };
    if let Some(a) = analytics
        && let Err(e) = a.shutdown().await
    {
        tracing::warn!(error = %e, "analytics: last beacons not written");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_urls_map_to_upstream_paths_only_on_the_upstream() {
        let up = ReqwestUpstream::new(
            "http://127.0.0.1:9000/origin/",
            &UpstreamTimeouts::default(),
        )
        .unwrap();
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            up.local_path(&url("http://127.0.0.1:9000/origin/a/b.ts?x=1"))
                .as_deref(),
            Some("/a/b.ts?x=1")
        );
        assert_eq!(
            up.local_path(&url("http://127.0.0.1:9001/origin/a/b.ts")),
            None
        );
        assert_eq!(
            up.local_path(&url("https://127.0.0.1:9000/origin/a/b.ts")),
            None
        );
        assert_eq!(
            up.local_path(&url("http://127.0.0.1:9000/originx/b.ts")),
            None
        );
        assert_eq!(up.local_path(&url("http://cdn.example/origin/b.ts")), None);
    }

    #[test]
    fn ready_with_an_upstream_and_the_configured_keys_until_draining() {
        assert!(Readiness::judge(false, true, true, true).ready);
        assert!(Readiness::judge(false, true, false, false).ready, "open mode needs no keys");
        let draining = Readiness::judge(true, true, true, true);
        assert!(!draining.ready && draining.draining);
        assert_eq!(draining.reasons, ["draining (shutting down)"]);
        let no_keys = Readiness::judge(false, true, true, false);
        assert!(!no_keys.ready && !no_keys.keys_loaded);
        assert_eq!(Readiness::judge(false, false, false, false).reasons, ["no upstream configured"]);
    }

    #[test]
    fn bad_upstream_urls_are_clear_errors() {
        for bad in ["not a url", "ftp://127.0.0.1/", "http://127.0.0.1/?q=1"] {
            let err = ReqwestUpstream::new(bad, &UpstreamTimeouts::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("upstream"), "{bad}: {err}");
        }
    }
}
