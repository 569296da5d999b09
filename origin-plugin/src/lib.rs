//! meshcdn origin plugin: puts peer-to-peer bootstrap data (tracker URLs, swarm ids, a signed
//! swarm token) and segment SHA-256 hashes into HLS and DASH manifests, byte-preservingly, and
//! issues swarm tokens. Two ways to use it, one rewriting core ([`MeshEngine`]):
//!
//! - as a tower Layer in any axum/tower app: [`MeshLayer`] (see [`layer`]);
//! - as a reverse proxy in front of an existing origin: [`proxy::build_proxy`] /
//!   `meshcdn origin --upstream URL`.
//!
//! Formats are in `docs/CONTRACTS.md`; the guide is `docs/origin.md`.

pub mod analytics;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod engine;
pub mod hashes;
pub mod ice;
pub mod layer;
pub mod listener;
/// The HLS and DASH rewriters (the `meshcdn-manifest` crate, pure and I/O-free).
pub use meshcdn_manifest as manifest;
pub mod proxy;
pub mod stats;
pub mod tokens;
pub mod trackers;
pub mod upstream;

pub use engine::{EngineBuilder, ManifestKind, MeshEngine};
pub use layer::{ManifestRewrite, ManifestRewriteLayer, MeshLayer};
pub use stats::StatsSnapshot;
pub use trackers::{PlacementTrackers, StaticTrackers, TrackerSelector};

/// Errors of setting the plugin up (serving never fails: see [`MeshEngine::serve`]).
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Keys(#[from] tokens::KeyError),
    #[error(transparent)]
    Placement(#[from] meshcdn_placement::LoadError),
    #[error("no upstream: set `upstream` in the config or pass --upstream URL")]
    NoUpstream,
    #[error("upstream URL {0} must be http(s) without a query")]
    UpstreamUrl(String),
    /// The upstream URL does not parse, or the HTTP client for it cannot be built.
    #[error("upstream {what}: {source}")]
    Upstream {
        what: String,
        #[source]
        source: upstream::BoxError,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("analytics: {0}")]
    Analytics(String),
}
