//! Fetch and cache: manifests from the upstream through a single-flight cache (TTL from the
//! upstream's `Cache-Control`), decoded and size-capped, parsed, and every listed segment hashed
//! before a media playlist is served.

use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use url::Url;

use super::{EngineError, ManifestKind, MeshEngine};
use crate::config::ManifestConfig;
use crate::hashes::SegmentKey;
use crate::manifest::ByteRange;
use crate::manifest::dash::{self, MpdInfo};
use crate::manifest::hls::{self, MediaSegment, PlaylistKind};
use crate::stats::bump;
use crate::upstream::{Upstream, UpstreamBody, UpstreamError};

/// Host of the base URL that relative manifest URIs are resolved against; never contacted.
pub(super) const LOCAL_HOST: &str = "meshcdn.invalid";

/// What the cache keeps of one upstream manifest.
pub(super) struct Fetched {
    /// Upstream headers without Content-Encoding/Content-Length (the body here is decoded).
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) parsed: Parsed,
    pub(super) ttl: Duration,
}

pub(super) enum Parsed {
    Master(Vec<String>),
    /// `unhashed`: segments this upstream serves that could not be hashed (fetch failed).
    Media {
        segments: Vec<MediaSegment>,
        hashes: Vec<Option<[u8; 32]>>,
        unhashed: usize,
    },
    Mpd(MpdInfo),
    FailOpen(EngineError),
}

#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
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

/// Manifest cache key: the handling as well as the path, so that one way of reading a file (say,
/// an HLS playlist asked for as an MPD) can never become the cached answer for the other.
pub(super) type ManifestKey = (ManifestKind, String);

pub(super) struct TtlExpiry;

impl moka::Expiry<ManifestKey, Arc<Fetched>> for TtlExpiry {
    fn expire_after_create(
        &self,
        _key: &ManifestKey,
        value: &Arc<Fetched>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub(super) fn origin_form(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The origin-form URI a manifest is fetched and cached under: its path and only the query
/// parameters `manifests.cache_key_query` names, so a random query string neither misses the
/// cache at will nor reaches the upstream.
pub(super) fn manifest_uri(uri: &http::Uri, keep: &[String]) -> String {
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !name.is_empty() && keep.iter().any(|k| k == name)
        })
        .collect();
    if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    }
}

/// Approximate memory of one cached manifest, for the byte-bounded cache: the body, twice over
/// for what is parsed out of it (segment URIs, ids), the headers and the key.
pub(super) fn weigh(key: &ManifestKey, value: &Arc<Fetched>) -> u32 {
    let headers: usize = value
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 32)
        .sum();
    let bytes = key.1.len() + value.body.len() * 2 + headers + 256;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

pub(super) fn local_url(path: &str) -> Option<Url> {
    Url::parse(&format!("http://{LOCAL_HOST}{path}")).ok()
}

/// Decodes a Content-Encoding (gzip, deflate, br) with a size cap.
pub(super) fn decode(headers: &HeaderMap, raw: &Bytes, max: usize) -> Result<Bytes, EngineError> {
    fn read_limited(
        encoding: &str,
        reader: impl std::io::Read,
        max: usize,
    ) -> Result<Bytes, EngineError> {
        let mut out = Vec::new();
        reader
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|source| EngineError::Decode {
                encoding: encoding.to_string(),
                source,
            })?;
        if out.len() > max {
            return Err(EngineError::TooLarge(max));
        }
        Ok(out.into())
    }
    let encoding = match headers.get(header::CONTENT_ENCODING) {
        None => return Ok(raw.clone()),
        Some(v) => v.to_str().unwrap_or("?").trim().to_ascii_lowercase(),
    };
    match encoding.as_str() {
        "" | "identity" => Ok(raw.clone()),
        "gzip" | "x-gzip" => read_limited("gzip", flate2::read::GzDecoder::new(&raw[..]), max),
        "deflate" => read_limited("deflate", flate2::read::ZlibDecoder::new(&raw[..]), max),
        "br" => read_limited(
            "br",
            brotli_decompressor::Decompressor::new(&raw[..], 4096),
            max,
        ),
        other => Err(EngineError::UnsupportedEncoding(other.to_string())),
    }
}

/// Cache time from the upstream's Cache-Control, bounded by the config.
pub(super) fn ttl_from(headers: &HeaderMap, config: &ManifestConfig) -> Duration {
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

pub(super) async fn read_capped(body: UpstreamBody, max: usize) -> Result<Bytes, FetchError> {
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
    pub(super) async fn manifest(
        &self,
        upstream: &Arc<dyn Upstream>,
        path: &str,
        kind: ManifestKind,
    ) -> Result<Arc<Fetched>, Arc<FetchError>> {
        let mut fetched_now = false;
        let result = self
            .inner
            .manifests
            .try_get_with((kind, path.to_string()), async {
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

    pub(super) async fn fetch_manifest(
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
            Err(_) => Parsed::FailOpen(EngineError::NotUtf8),
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

    pub(super) async fn parse(
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
                    return Parsed::FailOpen(EngineError::BadPath);
                };
                match dash::parse_mpd(text, &url, max_segments) {
                    Ok(info) => Parsed::Mpd(info),
                    Err(e) => Parsed::FailOpen(e.into()),
                }
            }
        }
    }

    pub(super) fn segment_key(
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
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

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
    fn manifest_uris_keep_only_the_configured_query_parameters() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        let keep = vec!["v".to_string(), "sig".to_string()];
        assert_eq!(
            manifest_uri(&uri("/a/master.m3u8?x=1&v=2&y&sig=s"), &keep),
            "/a/master.m3u8?v=2&sig=s"
        );
        assert_eq!(
            manifest_uri(&uri("/a/master.m3u8?cachebust=123"), &keep),
            "/a/master.m3u8"
        );
        assert_eq!(
            manifest_uri(&uri("/a/master.m3u8?v=1"), &[]),
            "/a/master.m3u8"
        );
        assert_eq!(
            manifest_uri(&uri("/a/master.m3u8"), &keep),
            "/a/master.m3u8"
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
        assert!(matches!(decode(&h, &gz, 3), Err(EngineError::TooLarge(3))));
        assert!(matches!(
            decode(&h, &Bytes::from_static(b"not gzip"), 100),
            Err(EngineError::Decode { .. })
        ));
        // A brotli stream with one uncompressed meta-block holding "hello".
        let br = Bytes::from_static(b"\x0b\x02\x80hello\x03");
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        assert_eq!(decode(&h, &br, 100).unwrap(), "hello");
        assert!(matches!(
            decode(&h, &Bytes::from_static(b"\xff\xff\xff"), 100),
            Err(EngineError::Decode { .. })
        ));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        assert!(matches!(
            decode(&h, &gz, 100),
            Err(EngineError::UnsupportedEncoding(_))
        ));
    }
}
