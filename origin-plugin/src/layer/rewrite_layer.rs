use std::sync::Arc;

use tower::Layer;

use super::ManifestRewrite;
use crate::engine::MeshEngine;
use crate::upstream::Upstream;

/// Adds meshcdn manifest rewriting to a service (see [`ManifestRewrite`]).
#[derive(Clone)]
pub struct ManifestRewriteLayer {
    engine: MeshEngine,
    upstream: Option<Arc<dyn Upstream>>,
}

/// The name the docs use: `router.layer(MeshLayer::new(engine))`.
pub type MeshLayer = ManifestRewriteLayer;

impl ManifestRewriteLayer {
    pub fn new(engine: MeshEngine) -> Self {
        Self {
            engine,
            upstream: None,
        }
    }

    /// Fetch manifests and segments (for hashing) from `upstream` instead of the inner service,
    /// e.g. when segments live on another server than the app.
    pub fn with_upstream(mut self, upstream: Arc<dyn Upstream>) -> Self {
        self.upstream = Some(upstream);
        self
    }
}

impl<S> Layer<S> for ManifestRewriteLayer {
    type Service = ManifestRewrite<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ManifestRewrite {
            inner,
            engine: self.engine.clone(),
            upstream: self.upstream.clone(),
        }
    }
}
