//! The rewriting core shared by the Layer and the proxy: manifest cache (single-flight),
//! decoding, parsing, segment hashing, bootstrap and token injection, fail-open.
//!
//! Everything is addressed by origin-form URIs (`/path?query`) through an [`Upstream`], so the
//! same code serves the inner service of the Layer and the proxy's HTTP client.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::BodyExt as _;
use meshcdn_tracker::token::swarm_id;
use moka::future::Cache;
use url::Url;

use crate::bootstrap::{Bootstrap, HASH_DOC_SUFFIX, INTEGRITY_DASH, INTEGRITY_HLS, hex};
use crate::config::{ManifestConfig, OriginConfig, TokenScope};
use crate::dash::{self, MpdInfo};
use crate::hashes::{HashCache, SegmentKey};
use crate::hls::{self, ByteRange, MediaSegment, PlaylistKind};
use crate::rewrite::RewriteError;
use crate::stats::{Stats, StatsSnapshot, bump};
use crate::tokens::{SharedIssuer, TokenIssuer, now_secs};
use crate::trackers::{PlacementTrackers, StaticTrackers, TrackerSelector};
use crate::upstream::{Upstream, UpstreamBody, UpstreamError, full_body};

/// Host of the base URL that relative manifest URIs are resolved against; never contacted.
const LOCAL_HOST: &str = "meshcdn.invalid";

/// Which manifest handling a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// `.m3u8` / `.m3u`: master or media playlist.
    Hls,
    /// `.mpd`.
    Dash,
    /// `<mpd path>.meshcdn-hashes.json`: served by the plugin itself.
    DashHashes,
}

/// What the cache keeps of one upstream manifest.
struct Fetched {
    /// Upstream headers without Content-Encoding/Content-Length (the body here is decoded).
    headers: HeaderMap,
    body: Bytes,
    parsed: Parsed,
    ttl: Duration,
}

enum Parsed {
    Master(Vec<String>),
    /// `unhashed`: segments this upstream serves that could not be hashed (fetch failed).
    Media {
        segments: Vec<MediaSegment>,
        hashes: Vec<Option<[u8; 32]>>,
        unhashed: usize,
    },
    Mpd(MpdInfo),
    FailOpen(RewriteError),
}

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Upstream(UpstreamError),
    #[error("upstream answered {status}")]
    NotOk {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    #[error("manifest is larger than {0} bytes")]
    TooLarge(usize),
}

struct TtlExpiry;

impl moka::Expiry<String, Arc<Fetched>> for TtlExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Fetched>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
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
            .max_capacity(self.config.manifests.cache_capacity)
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
    manifests: Cache<String, Arc<Fetched>>,
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

fn plain(status: StatusCode, message: String) -> Response<UpstreamBody> {
    let mut r = Response::new(full_body(message));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn respond(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Response<UpstreamBody> {
    let len = body.len();
    let mut r = Response::new(full_body(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers.clone();
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

/// Adds `name` to the `Vary` header (kept with the upstream's own entries, e.g. `Accept-Encoding`).
fn add_vary(headers: &mut HeaderMap, name: &str) {
    let listed = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case(name));
    if !listed && let Ok(value) = HeaderValue::from_str(name) {
        headers.append(header::VARY, value);
    }
}

fn origin_form(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn local_url(path: &str) -> Option<Url> {
    Url::parse(&format!("http://{LOCAL_HOST}{path}")).ok()
}

/// Decodes a Content-Encoding (gzip, deflate, br) with a size cap.
fn decode(headers: &HeaderMap, raw: &Bytes, max: usize) -> Result<Bytes, RewriteError> {
    fn read_limited(reader: impl std::io::Read, max: usize) -> Result<Bytes, RewriteError> {
        let mut out = Vec::new();
        reader
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| RewriteError::Encoding(format!("cannot decode the body: {e}")))?;
        if out.len() > max {
            return Err(RewriteError::TooLarge(max));
        }
        Ok(out.into())
    }
    let encoding = match headers.get(header::CONTENT_ENCODING) {
        None => return Ok(raw.clone()),
        Some(v) => v.to_str().unwrap_or("?").trim().to_ascii_lowercase(),
    };
    match encoding.as_str() {
        "" | "identity" => Ok(raw.clone()),
        "gzip" | "x-gzip" => read_limited(flate2::read::GzDecoder::new(&raw[..]), max),
        "deflate" => read_limited(flate2::read::ZlibDecoder::new(&raw[..]), max),
        "br" => read_limited(brotli_decompressor::Decompressor::new(&raw[..], 4096), max),
        other => Err(RewriteError::Encoding(format!(
            "unsupported Content-Encoding {other:?}"
        ))),
    }
}

/// Cache time from the upstream's Cache-Control, bounded by the config.
fn ttl_from(headers: &HeaderMap, config: &ManifestConfig) -> Duration {
    let max = Duration::from_millis(config.max_ttl_ms);
    let default = Duration::from_millis(config.default_ttl_ms).min(max);
    let Some(cc) = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    else {
        return default;
    };
    let (mut max_age, mut s_maxage) = (None, None);
    for directive in cc.split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if matches!(d.as_str(), "no-store" | "no-cache" | "private") {
            return Duration::ZERO;
        }
        if let Some(v) = d.strip_prefix("s-maxage=") {
            s_maxage = v.trim_matches('"').parse::<u64>().ok();
        } else if let Some(v) = d.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    s_maxage
        .or(max_age)
        .map(Duration::from_secs)
        .unwrap_or(default)
        .min(max)
}

async fn read_capped(body: UpstreamBody, max: usize) -> Result<Bytes, FetchError> {
    let mut body = body;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            FetchError::Upstream(UpstreamError::Unavailable(format!("reading the body: {e}")))
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
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
        if lower.ends_with(HASH_DOC_SUFFIX) {
            Some(ManifestKind::DashHashes)
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

    async fn manifest(
        &self,
        upstream: &Arc<dyn Upstream>,
        path: &str,
        kind: ManifestKind,
    ) -> Result<Arc<Fetched>, Arc<FetchError>> {
        let mut fetched_now = false;
        let result = self
            .inner
            .manifests
            .try_get_with(path.to_string(), async {
                fetched_now = true;
                self.fetch_manifest(upstream, path, kind)
                    .await
                    .map(Arc::new)
            })
            .await;
        if !fetched_now && result.is_ok() {
            bump(&self.inner.stats.manifest_cache_hits);
        }
        result
    }

    async fn fetch_manifest(
        &self,
        upstream: &Arc<dyn Upstream>,
        path: &str,
        kind: ManifestKind,
    ) -> Result<Fetched, FetchError> {
        bump(&self.inner.stats.manifest_fetches);
        let config = &self.inner.config;
        let request = Request::get(path)
            .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
            .body(())
            .map_err(|e| FetchError::Upstream(UpstreamError::Unavailable(e.to_string())))?;
        let deadline = Duration::from_millis(
            config.upstream_timeouts.response_ms + config.upstream_timeouts.read_idle_ms,
        );
        let max = config.manifests.max_bytes;
        let fetch = async {
            let response = upstream
                .fetch(request)
                .await
                .map_err(FetchError::Upstream)?;
            let (head, body) = response.into_parts();
            let raw = read_capped(body, max).await?;
            Ok::<_, FetchError>((head, raw))
        };
        let (head, raw) = tokio::time::timeout(deadline, fetch).await.map_err(|_| {
            FetchError::Upstream(UpstreamError::Timeout(format!(
                "manifest not received within {deadline:?}"
            )))
        })??;
        if head.status != StatusCode::OK {
            return Err(FetchError::NotOk {
                status: head.status,
                headers: head.headers,
                body: raw,
            });
        }
        let ttl = ttl_from(&head.headers, &config.manifests);
        let decoded = match decode(&head.headers, &raw, max) {
            Ok(d) => d,
            Err(reason) => {
                tracing::warn!(%path, %reason, "manifest will be served unchanged (fail open)");
                return Ok(Fetched {
                    headers: head.headers,
                    body: raw,
                    parsed: Parsed::FailOpen(reason),
                    ttl,
                });
            }
        };
        let mut headers = head.headers;
        for h in [
            header::CONTENT_ENCODING,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ] {
            headers.remove(h);
        }
        let parsed = match std::str::from_utf8(&decoded) {
            Ok(text) => self.parse(upstream, path, text, kind).await,
            Err(_) => Parsed::FailOpen(RewriteError::NotUtf8),
        };
        if let Parsed::FailOpen(reason) = &parsed {
            tracing::warn!(%path, %reason, "manifest will be served unchanged (fail open)");
        }
        // A playlist missing a hash is not kept: the next request tries those segments again
        // (e.g. a live edge segment listed a moment before the origin could serve it) instead
        // of serving the gap for a whole cache lifetime.
        let ttl = match &parsed {
            Parsed::Media { unhashed, .. } if *unhashed > 0 => {
                tracing::warn!(%path, unhashed, "media playlist served with segments missing their hash; not cached");
                Duration::ZERO
            }
            _ => ttl,
        };
        Ok(Fetched {
            headers,
            body: decoded,
            parsed,
            ttl,
        })
    }

    async fn parse(
        &self,
        upstream: &Arc<dyn Upstream>,
        path: &str,
        text: &str,
        kind: ManifestKind,
    ) -> Parsed {
        let max_segments = self.inner.config.manifests.max_segments;
        match kind {
            ManifestKind::Hls => match hls::kind(text) {
                Ok(PlaylistKind::Master) => match hls::parse_master(text) {
                    Ok(renditions) => Parsed::Master(renditions),
                    Err(e) => Parsed::FailOpen(e.into()),
                },
                Ok(PlaylistKind::Media) => match hls::parse_media(text, max_segments) {
                    Ok(segments) => {
                        // Hash every listed segment before the playlist is served (live too).
                        let base = local_url(path);
                        let keys: Vec<_> = segments
                            .iter()
                            .map(|s| {
                                base.as_ref()
                                    .and_then(|b| b.join(&s.uri).ok())
                                    .and_then(|u| self.segment_key(upstream, &u, s.range))
                            })
                            .collect();
                        let fetchable = keys.iter().filter(|k| k.is_some()).count();
                        let hashes = self.inner.hashes.digest_all(upstream, keys).await;
                        let unhashed = fetchable - hashes.iter().filter(|h| h.is_some()).count();
                        Parsed::Media {
                            segments,
                            hashes,
                            unhashed,
                        }
                    }
                    Err(e) => Parsed::FailOpen(e.into()),
                },
                Err(e) => Parsed::FailOpen(e.into()),
            },
            ManifestKind::Dash | ManifestKind::DashHashes => {
                let Some(url) = local_url(path) else {
                    return Parsed::FailOpen(RewriteError::BadPath);
                };
                match dash::parse_mpd(text, &url, max_segments) {
                    Ok(info) => Parsed::Mpd(info),
                    Err(e) => Parsed::FailOpen(e.into()),
                }
            }
        }
    }

    fn segment_key(
        &self,
        upstream: &Arc<dyn Upstream>,
        url: &Url,
        range: Option<ByteRange>,
    ) -> Option<SegmentKey> {
        let path = if url.scheme() == "http" && url.host_str() == Some(LOCAL_HOST) {
            origin_form(url)
        } else {
            upstream.local_path(url)?
        };
        Some(SegmentKey { path, range })
    }

    async fn serve_manifest(
        &self,
        upstream: &Arc<dyn Upstream>,
        parts: &Parts,
        kind: ManifestKind,
    ) -> Response<UpstreamBody> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        match self.manifest(upstream, path, kind).await {
            Ok(fetched) => self.render(parts, &fetched),
            Err(e) => match &*e {
                FetchError::Upstream(err) => {
                    bump(&self.inner.stats.upstream_errors);
                    tracing::warn!(%path, error = %err, "manifest request to the upstream failed");
                    plain(err.status(), format!("{err}\n"))
                }
                FetchError::NotOk {
                    status,
                    headers,
                    body,
                } => respond(*status, headers, body.clone()),
                FetchError::TooLarge(max) => {
                    // Fail open without buffering: fetch again and stream it through unchanged.
                    bump(&self.inner.stats.fail_open);
                    tracing::warn!(%path, max, "manifest over the size cap is served unchanged (fail open)");
                    let mut request = Request::new(());
                    *request.method_mut() = parts.method.clone();
                    *request.uri_mut() = parts.uri.clone();
                    *request.headers_mut() = parts.headers.clone();
                    match upstream.fetch(request).await {
                        Ok(r) => r,
                        Err(err) => plain(err.status(), format!("{err}\n")),
                    }
                }
            },
        }
    }

    fn render(&self, parts: &Parts, fetched: &Fetched) -> Response<UpstreamBody> {
        let path = parts.uri.path();
        let text = std::str::from_utf8(&fetched.body).unwrap_or_default();
        // Bootstraps (master playlists, MPDs) carry the trackers, which may depend on a header.
        let has_bootstrap = matches!(fetched.parsed, Parsed::Master(_) | Parsed::Mpd(_));
        // (body, per viewer, longest cache lifetime of the bootstrap's credentials)
        let result: Result<(String, bool, Option<u64>), RewriteError> = match &fetched.parsed {
            Parsed::FailOpen(reason) => Err(reason.clone()),
            Parsed::Master(renditions) => self
                .bootstrap(parts, path, renditions, INTEGRITY_HLS, None)
                .and_then(|(value, private, cap)| {
                    Ok((hls::rewrite_master(text, &value)?, private, cap))
                }),
            Parsed::Media {
                segments, hashes, ..
            } => hls::rewrite_media(text, segments, hashes)
                .map(|s| (s, false, None))
                .map_err(Into::into),
            Parsed::Mpd(info) => {
                let file = path.rsplit('/').next().unwrap_or_default();
                let doc = format!("{file}{HASH_DOC_SUFFIX}");
                self.bootstrap(
                    parts,
                    path,
                    &info.rendition_ids(),
                    INTEGRITY_DASH,
                    Some(doc),
                )
                .and_then(|(value, private, cap)| {
                    Ok((dash::rewrite_mpd(text, &value)?, private, cap))
                })
            }
        };
        match result {
            Ok((body, private, cache_cap)) => {
                bump(&self.inner.stats.manifests_rewritten);
                let mut headers = fetched.headers.clone();
                // The bytes changed: the upstream validator no longer describes them.
                headers.remove(header::ETAG);
                if private {
                    headers.insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-store"),
                    );
                }
                if let Some(secs) = cache_cap {
                    crate::bootstrap::cap_cache_lifetime(&mut headers, secs);
                }
                if has_bootstrap && let Some(name) = self.inner.trackers.vary() {
                    add_vary(&mut headers, name);
                }
                respond(StatusCode::OK, &headers, Bytes::from(body))
            }
            Err(reason) => {
                bump(&self.inner.stats.fail_open);
                tracing::debug!(%path, %reason, "manifest served unchanged (fail open)");
                respond(StatusCode::OK, &fetched.headers, fetched.body.clone())
            }
        }
    }

    /// The encoded bootstrap for a manifest, whether it is per viewer (not cacheable), and how long
    /// caches may keep it at most (when it carries TURN credentials).
    fn bootstrap(
        &self,
        parts: &Parts,
        path: &str,
        renditions: &[String],
        integrity: &str,
        hashes: Option<String>,
    ) -> Result<(String, bool, Option<u64>), RewriteError> {
        let content = self.inner.config.content_id_for(path);
        let trackers = self.inner.trackers.trackers_for(parts, &content);
        let now = now_secs();
        let (token, private) = match self.issuer() {
            None => (None, false),
            Some(issuer) => match issuer.config().scope {
                TokenScope::Shared => (Some(issuer.issue_shared(&content, now)?), false),
                TokenScope::PerViewer => {
                    let viewer = parts
                        .headers
                        .get(issuer.config().viewer_header.as_str())
                        .and_then(|v| v.to_str().ok())
                        .filter(|v| !v.is_empty() && v.len() <= 128)
                        .map(str::to_string)
                        .unwrap_or_else(random_viewer_id);
                    (
                        Some(issuer.issue(
                            &content,
                            issuer.config().ttl_secs,
                            Some(viewer),
                            now,
                        )?),
                        true,
                    )
                }
            },
        };
        let swarms: BTreeMap<String, String> = renditions
            .iter()
            .map(|r| (r.clone(), swarm_id(&content, r).to_hex()))
            .collect();
        let (ice, cache_cap) = crate::ice::bootstrap_ice(
            self.inner.ice.as_ref(),
            &self.inner.config.tokens,
            &content,
            token.as_ref(),
            now,
        );
        let bootstrap = Bootstrap {
            v: 1,
            content,
            trackers,
            token: token.map(|t| t.token),
            swarms,
            integrity: integrity.into(),
            hashes,
            ice,
            beacons: crate::bootstrap::BeaconTarget::of(&self.inner.config.analytics),
        };
        Ok((bootstrap.encode(), private, cache_cap.filter(|_| !private)))
    }

    async fn serve_hash_doc(
        &self,
        upstream: &Arc<dyn Upstream>,
        parts: &Parts,
    ) -> Response<UpstreamBody> {
        let path = parts.uri.path();
        let Some(mpd_path) = path.strip_suffix(HASH_DOC_SUFFIX) else {
            return plain(StatusCode::NOT_FOUND, "not a hash document path\n".into());
        };
        let fetched = match self.manifest(upstream, mpd_path, ManifestKind::Dash).await {
            Ok(f) => f,
            Err(e) => {
                let status = match &*e {
                    FetchError::Upstream(err) => {
                        bump(&self.inner.stats.upstream_errors);
                        err.status()
                    }
                    FetchError::NotOk { status, .. } if status.is_server_error() => {
                        StatusCode::BAD_GATEWAY
                    }
                    FetchError::NotOk { status, .. } => *status,
                    FetchError::TooLarge(_) => StatusCode::NOT_FOUND,
                };
                tracing::warn!(%mpd_path, error = %e, "no hash document: the MPD is unavailable");
                return plain(
                    status,
                    format!("no hash document: the MPD is unavailable ({e})\n"),
                );
            }
        };
        let Parsed::Mpd(info) = &fetched.parsed else {
            return plain(
                StatusCode::NOT_FOUND,
                "no hash document: the MPD could not be parsed\n".into(),
            );
        };
        let Some(mpd_url) = local_url(mpd_path) else {
            return plain(
                StatusCode::NOT_FOUND,
                "no hash document: bad MPD path\n".into(),
            );
        };
        let mut segments = Vec::new();
        let mut keys = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for seg in info.representations.iter().flat_map(|r| &r.segments) {
            let key = dash::hash_key(&mpd_url, seg);
            if seen.insert(key.clone()) {
                keys.push(self.segment_key(upstream, &seg.url, seg.range));
                segments.push(key);
            }
        }
        let hashes = self.inner.hashes.digest_all(upstream, keys).await;
        let doc: BTreeMap<String, String> = segments
            .into_iter()
            .zip(hashes)
            .filter_map(|(k, h)| h.map(|h| (k, hex(&h))))
            .collect();
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(cc) = fetched.headers.get(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, cc.clone());
        }
        respond(StatusCode::OK, &headers, Bytes::from(body))
    }
}

fn random_viewer_id() -> String {
    let mut id = [0u8; 16];
    match getrandom::fill(&mut id) {
        Ok(()) => format!("anon-{}", hex(&id)),
        Err(_) => "anonymous".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_follows_cache_control_within_bounds() {
        let config = ManifestConfig {
            default_ttl_ms: 1_000,
            max_ttl_ms: 10_000,
            ..ManifestConfig::default()
        };
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::CACHE_CONTROL, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(ttl_from(&HeaderMap::new(), &config), Duration::from_secs(1));
        assert_eq!(
            ttl_from(&h("public, max-age=4"), &config),
            Duration::from_secs(4)
        );
        assert_eq!(
            ttl_from(&h("max-age=4, s-maxage=2"), &config),
            Duration::from_secs(2)
        );
        assert_eq!(
            ttl_from(&h("max-age=3600"), &config),
            Duration::from_secs(10)
        );
        assert_eq!(ttl_from(&h("no-cache"), &config), Duration::ZERO);
        assert_eq!(
            ttl_from(&h("max-age=junk"), &config),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn bodies_are_decoded_with_a_cap() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"#EXTM3U\n").unwrap();
        let gz = Bytes::from(gz.finish().unwrap());
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(decode(&h, &gz, 100).unwrap(), "#EXTM3U\n");
        assert_eq!(decode(&h, &gz, 3), Err(RewriteError::TooLarge(3)));
        assert!(matches!(
            decode(&h, &Bytes::from_static(b"not gzip"), 100),
            Err(RewriteError::Encoding(_))
        ));
        // A brotli stream with one uncompressed meta-block holding "hello".
        let br = Bytes::from_static(b"\x0b\x02\x80hello\x03");
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        assert_eq!(decode(&h, &br, 100).unwrap(), "hello");
        assert!(matches!(
            decode(&h, &Bytes::from_static(b"\xff\xff\xff"), 100),
            Err(RewriteError::Encoding(_))
        ));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        assert!(matches!(
            decode(&h, &gz, 100),
            Err(RewriteError::Encoding(_))
        ));
    }
}
