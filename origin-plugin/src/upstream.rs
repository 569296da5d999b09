//! Where manifests and segments come from: the Layer's inner service or the proxy's HTTP client.
//!
//! Both are reached through [`Upstream`], so the rewriting core is the same for the two modes.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Mutex;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt as _;
use tower::{Service, ServiceExt as _};
use url::Url;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body of responses coming from an upstream (type-erased, streaming).
pub type UpstreamBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
pub type UpstreamFuture =
    Pin<Box<dyn Future<Output = Result<Response<UpstreamBody>, UpstreamError>> + Send>>;

/// Why the upstream gave no response. The one place that decides the status (pingora style):
/// timeouts are 504, everything else from the upstream side is 502.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream timed out: {0}")]
    Timeout(String),
    #[error("upstream failed: {0}")]
    Unavailable(String),
    #[error("upstream answered {0}")]
    ServerError(StatusCode),
    /// The request path resolves outside the upstream base URL (`..`, `%2e%2e`, ...): refused
    /// before anything is sent.
    #[error("path {0:?} is outside the upstream")]
    OutsideUpstream(String),
}

impl UpstreamError {
    pub fn status(&self) -> StatusCode {
        match self {
            UpstreamError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            UpstreamError::OutsideUpstream(_) => StatusCode::BAD_REQUEST,
            UpstreamError::Unavailable(_) | UpstreamError::ServerError(_) => {
                StatusCode::BAD_GATEWAY
            }
        }
    }
}

/// A source of manifests and segments, addressed by origin-form URIs (`/path?query`).
pub trait Upstream: Send + Sync + 'static {
    /// Sends a body-less request (GET or HEAD) and returns the streaming response.
    fn fetch(&self, request: Request<()>) -> UpstreamFuture;

    /// The origin-form URI of an absolute URL that this upstream serves, if any. Segments at
    /// other hosts are not fetched (and so get no hash).
    fn local_path(&self, _url: &Url) -> Option<String> {
        None
    }
}

/// An empty body of the upstream body type.
pub fn empty_body() -> UpstreamBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A full body of the upstream body type.
pub fn full_body(bytes: impl Into<Bytes>) -> UpstreamBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A tower service (the Layer's inner service) used as an upstream.
pub struct ServiceUpstream<S, ReqBody> {
    // A Mutex only so the wrapper is Sync for any Send service; it is held just to clone.
    inner: Mutex<S>,
    _body: PhantomData<fn() -> ReqBody>,
}

impl<S, ReqBody> ServiceUpstream<S, ReqBody> {
    pub fn new(inner: S) -> Self {
        Self {
            inner: Mutex::new(inner),
            _body: PhantomData,
        }
    }
}

impl<S, ReqBody, ResBody> Upstream for ServiceUpstream<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    fn fetch(&self, request: Request<()>) -> UpstreamFuture {
        let svc = self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Box::pin(async move {
            let request = request.map(|()| ReqBody::default());
            let response = svc
                .oneshot(request)
                .await
                .map_err(|e| UpstreamError::Unavailable(e.into().to_string()))?;
            Ok(response.map(|b| b.map_err(Into::into).boxed_unsync()))
        })
    }
}
