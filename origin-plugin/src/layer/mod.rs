//! `ManifestRewrite`: tower middleware that rewrites the HLS/DASH manifests its inner service
//! returns and lets everything else (segments above all) through untouched and streaming.
//! Laid out like tower-http's middleware: the service here, [`ManifestRewriteLayer`] in
//! `rewrite_layer.rs`, [`ResponseFuture`] and [`ResponseBody`] in `future.rs`. No error of its
//! own: its `Error` is the inner service's, and why a manifest was served unchanged is an
//! [`EngineError`](crate::engine::EngineError), logged and counted, never sent to clients.
//!
//! Manifests are recognised by path (`.m3u8`, `.m3u`, `.mpd`, and the DASH hash document
//! `<mpd>.meshcdn-hashes.json`, which the middleware answers itself). Only GET/HEAD requests
//! without `Range` are touched, so `Content-Range` responses are never rewritten. Manifests and
//! segments (for hashing) are fetched through a clone of the inner service (or a configured
//! [`Upstream`]). A rewritten response drops the upstream `ETag` and gets a fresh
//! `Content-Length`; anything that cannot be rewritten is served as the inner service sent it.
//!
//! ```no_run
//! use axum::Router;
//! use meshcdn_origin::{MeshEngine, MeshLayer, config::OriginConfig};
//! use tower_http::services::ServeDir;
//!
//! # async fn demo() -> std::io::Result<()> {
//! let mut config = OriginConfig::default();
//! config.trackers = vec!["ws://127.0.0.1:8000/announce".into()];
//! let engine = MeshEngine::new(config);
//! // Any axum/tower app: here a directory of HLS/DASH files.
//! let app = Router::new().fallback_service(ServeDir::new("media")).layer(MeshLayer::new(engine));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

mod future;
mod rewrite_layer;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::Service;

pub use self::future::{ResponseBody, ResponseFuture};
pub use self::rewrite_layer::{ManifestRewriteLayer, MeshLayer};
use crate::engine::MeshEngine;
use crate::upstream::{BoxError, ServiceUpstream, Upstream};

/// The middleware service. Build it with [`MeshLayer`] or [`ManifestRewrite::new`].
#[derive(Clone)]
pub struct ManifestRewrite<S> {
    inner: S,
    engine: MeshEngine,
    upstream: Option<Arc<dyn Upstream>>,
}

impl<S> ManifestRewrite<S> {
    pub fn new(inner: S, engine: MeshEngine) -> Self {
        Self {
            inner,
            engine,
            upstream: None,
        }
    }

    pub fn layer(engine: MeshEngine) -> ManifestRewriteLayer {
        ManifestRewriteLayer::new(engine)
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    pub fn engine(&self) -> &MeshEngine {
        &self.engine
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ManifestRewrite<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(kind) = self
            .engine
            .classify(request.method(), request.uri(), request.headers())
        else {
            return ResponseFuture::Passthrough {
                future: self.inner.call(request),
            };
        };
        let upstream = match &self.upstream {
            Some(u) => u.clone(),
            None => Arc::new(ServiceUpstream::<S, ReqBody>::new(self.inner.clone())),
        };
        let engine = self.engine.clone();
        let (parts, _body) = request.into_parts();
        ResponseFuture::Manifest {
            future: Box::pin(async move { engine.serve(upstream, parts, kind).await }),
        }
    }
}
