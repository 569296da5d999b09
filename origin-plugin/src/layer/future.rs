use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::upstream::{BoxError, UpstreamBody};

pub(crate) type ManifestFuture = Pin<Box<dyn Future<Output = Response<UpstreamBody>> + Send>>;

pin_project! {
    /// Response future of [`ManifestRewrite`](super::ManifestRewrite).
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<F> {
        /// Not a manifest: the inner service's own future.
        Passthrough { #[pin] future: F },
        /// A manifest, handled by the engine (which never fails; see `MeshEngine::serve`).
        Manifest { future: ManifestFuture },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Passthrough { future } => future
                .poll(cx)
                .map_ok(|r| r.map(|body| ResponseBody::Inner { body })),
            ResponseFutureProj::Manifest { future } => future
                .as_mut()
                .poll(cx)
                .map(|r| Ok(r.map(|body| ResponseBody::Rewritten { body }))),
        }
    }
}

pin_project! {
    /// Body of [`ManifestRewrite`](super::ManifestRewrite) responses: the inner body untouched
    /// (segments, streamed), or the engine's (rewritten or original manifests).
    #[project = ResponseBodyProj]
    pub enum ResponseBody<B> {
        Inner { #[pin] body: B },
        Rewritten { #[pin] body: UpstreamBody },
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            ResponseBodyProj::Inner { body } => body
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into))),
            ResponseBodyProj::Rewritten { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Inner { body } => body.is_end_stream(),
            ResponseBody::Rewritten { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Inner { body } => body.size_hint(),
            ResponseBody::Rewritten { body } => body.size_hint(),
        }
    }
}
