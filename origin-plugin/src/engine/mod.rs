//! The rewriting core shared by the Layer and the proxy: manifest cache (single-flight),
//! decoding, parsing, segment hashing, bootstrap and token injection, fail-open.
//!
//! Everything is addressed by origin-form URIs (`/path?query`) through an [`Upstream`], so the
//! same code serves the inner service of the Layer and the proxy's HTTP client.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | [`MeshEngine`] and its builder, request classification, the entry point [`MeshEngine::serve`] |
//! | `fetch.rs` | fetching manifests (single-flight cache, decoding, caps), parsing, segment hashing |
//! | `render.rs` | the rewritten response: bootstrap and token, headers, fail open |
//! | `hash_doc.rs` | the DASH hash document (`<mpd>.meshcdn-hashes.json`) |
//! | `error.rs` | [`EngineError`]: why a manifest was served unchanged |

mod error;
mod fetch;
mod hash_doc;
mod render;

use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, Method, Response, Uri, header};
use moka::future::Cache;

pub use self::error::EngineError;
use self::fetch::{Fetched, ManifestKey, TtlExpiry};
use crate::bootstrap::HASH_DOC_SUFFIX;
use crate::clock::now_secs;
use crate::config::OriginConfig;
use crate::hashes::HashCache;
use crate::stats::{Stats, StatsSnapshot, bump};
use crate::tokens::{SharedIssuer, TokenIssuer};
use crate::trackers::{PlacementTrackers, StaticTrackers, TrackerSelector};
use crate::upstream::{Upstream, UpstreamBody};

/// Which manifest handling a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestKind {
    /// `.m3u8` / `.m3u`: master or media playlist.
    Hls,
    /// `.mpd`.
    Dash,
    /// `<mpd path>.meshcdn-hashes.json`: served by the plugin itself.
    DashHashes,
}

/// Builds a [`MeshEngine`].
pub struct EngineBuilder {
    config: OriginConfig,
    trackers: Option<Box<dyn TrackerSelector>>,
    issuer: Option<SharedIssuer>,
}

impl EngineBuilder {
    /// Replaces the static tracker list of the config (e.g. with PoP placement).
    pub fn trackers(mut self, selector: impl TrackerSelector) -> Self {
        self.trackers = Some(Box::new(selector));
        self
    }

    /// Puts signed swarm tokens into the bootstraps (otherwise `token: null`, open mode). Takes an
    /// `Arc<TokenIssuer>`, a `TokenIssuer` or a [`SharedIssuer`] (keys swappable at run time).
    pub fn issuer(mut self, issuer: impl Into<SharedIssuer>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    pub fn build(self) -> MeshEngine {
        let stats = Arc::new(Stats::default());
        let manifests = Cache::builder()
            .max_capacity(self.config.manifests.cache_max_bytes)
            .weigher(fetch::weigh)
            .expire_after(TtlExpiry)
            .build();
        let hashes = HashCache::new(self.config.hashes.clone(), stats.clone());
        let trackers = self
            .trackers
            .unwrap_or_else(|| Box::new(StaticTrackers(self.config.trackers.clone())));
        MeshEngine {
            inner: Arc::new(Inner {
                trackers,
                ice: self
                    .config
                    .ice
                    .as_ref()
                    .map(crate::ice::IceServers::from_config),
                config: self.config,
                issuer: self.issuer,
                manifests,
                hashes,
                stats,
            }),
        }
    }
}

struct Inner {
    config: OriginConfig,
    trackers: Box<dyn TrackerSelector>,
    issuer: Option<SharedIssuer>,
    ice: Option<crate::ice::IceServers>,
    manifests: Cache<ManifestKey, Arc<Fetched>>,
    hashes: HashCache,
    stats: Arc<Stats>,
}

/// The shared rewriting core. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct MeshEngine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MeshEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshEngine")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

impl MeshEngine {
    /// An engine with the config's static tracker list and no token issuer (open mode).
    pub fn new(config: OriginConfig) -> Self {
        Self::builder(config).build()
    }

    pub fn builder(config: OriginConfig) -> EngineBuilder {
        EngineBuilder {
            config,
            trackers: None,
            issuer: None,
        }
    }

    /// The engine `config` describes: validated, signing keys from `keys_dir` (if set), tracker
    /// selection from `placement_file` (if set, else the static `trackers` list).
    pub fn from_config(config: &OriginConfig) -> Result<Self, crate::OriginError> {
        config.validate()?;
        let mut builder = Self::builder(config.clone());
        if let Some(dir) = &config.keys_dir {
            builder = builder.issuer(TokenIssuer::load(dir, &config.tokens, now_secs())?);
        }
        if let Some(path) = &config.placement_file {
            let placement = meshcdn_placement::Placement::load(path)?;
            tracing::info!(path = %path.display(), region_header = placement.region_header(), "swarm placement on");
            builder = builder.trackers(PlacementTrackers(placement));
        }
        Ok(builder.build())
    }

    pub fn config(&self) -> &OriginConfig {
        &self.inner.config
    }

    /// The token issuer in use now (keys may be swapped later: see [`Self::shared_issuer`]).
    pub fn issuer(&self) -> Option<Arc<TokenIssuer>> {
        self.inner.issuer.as_ref().map(SharedIssuer::current)
    }

    /// The swappable issuer handle (for `token_routes` and key reloading).
    pub fn shared_issuer(&self) -> Option<&SharedIssuer> {
        self.inner.issuer.as_ref()
    }

    /// Counters for the dashboard.
    pub fn stats(&self) -> StatsSnapshot {
        let mut s = self.inner.stats.snapshot();
        s.tokens_issued = self.issuer().map(|i| i.issued()).unwrap_or(0);
        s
    }

    pub(crate) fn note_upstream_error(&self) {
        bump(&self.inner.stats.upstream_errors);
    }

    /// Whether a request is for a manifest (by path suffix). Only GET/HEAD without `Range` are
    /// handled: ranged manifest requests pass through untouched.
    pub fn classify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Option<ManifestKind> {
        if !(method == Method::GET || method == Method::HEAD) || headers.contains_key(header::RANGE)
        {
            return None;
        }
        let path = uri.path();
        let lower = path.to_ascii_lowercase();
        if let Some(mpd) = lower.strip_suffix(HASH_DOC_SUFFIX) {
            // Hash documents exist for MPDs only; anything else is the upstream's business.
            mpd.ends_with(".mpd").then_some(ManifestKind::DashHashes)
        } else if lower.ends_with(".m3u8") || lower.ends_with(".m3u") {
            Some(ManifestKind::Hls)
        } else if lower.ends_with(".mpd") {
            Some(ManifestKind::Dash)
        } else {
            None
        }
    }

    /// Answers a manifest request. Never fails: upstream trouble becomes 502/504, anything that
    /// cannot be rewritten is served as the upstream sent it.
    pub async fn serve(
        &self,
        upstream: Arc<dyn Upstream>,
        parts: Parts,
        kind: ManifestKind,
    ) -> Response<UpstreamBody> {
        let mut response = match kind {
            ManifestKind::DashHashes => self.serve_hash_doc(&upstream, &parts).await,
            _ => self.serve_manifest(&upstream, &parts, kind).await,
        };
        if parts.method == Method::HEAD {
            *response.body_mut() = crate::upstream::empty_body();
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use http::HeaderMap;

    use super::*;
    use crate::engine::fetch::Parsed;

    #[tokio::test]
    async fn the_manifest_cache_is_bounded_by_bytes_not_entries() {
        let mut config = OriginConfig::default();
        config.manifests.max_bytes = 256 << 10;
        config.manifests.cache_max_bytes = 1 << 20;
        let engine = MeshEngine::new(config);
        let cache = &engine.inner.manifests;
        for i in 0..100 {
            let fetched = Fetched {
                headers: HeaderMap::new(),
                body: Bytes::from(vec![b'#'; 100 << 10]),
                parsed: Parsed::Master(Vec::new()),
                ttl: Duration::from_secs(60),
            };
            cache
                .insert(
                    (ManifestKind::Hls, format!("/m{i}.m3u8")),
                    Arc::new(fetched),
                )
                .await;
        }
        cache.run_pending_tasks().await;
        // 100 entries of 100 KiB would be 10 MiB; the cache keeps what fits in 1 MiB.
        assert!(
            cache.weighted_size() <= 1 << 20,
            "{}",
            cache.weighted_size()
        );
        assert!(
            cache.entry_count() * (100 << 10) <= 1 << 20,
            "{}",
            cache.entry_count()
        );
    }
}
