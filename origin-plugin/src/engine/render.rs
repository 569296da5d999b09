//! Rendering a manifest response: the bootstrap (trackers, swarm ids, token) and hashes put in,
//! headers fixed for the new bytes (`ETag` dropped, `Content-Length`, `Vary`, per-viewer
//! `Cache-Control`); the upstream's bytes unchanged when anything goes wrong (fail open).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use meshcdn_tracker::token::swarm_id;

use super::fetch::{FetchError, Fetched, Parsed, manifest_uri};
use super::{EngineError, ManifestKind, MeshEngine};
use crate::bootstrap::{Bootstrap, HASH_DOC_SUFFIX, INTEGRITY_DASH, INTEGRITY_HLS, hex};
use crate::clock::now_secs;
use crate::config::TokenScope;
use crate::manifest::{dash, hls};
use crate::stats::bump;
use crate::upstream::{Upstream, UpstreamBody, full_body};

pub(super) fn plain(status: StatusCode, message: String) -> Response<UpstreamBody> {
    let mut r = Response::new(full_body(message));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub(super) fn respond(
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
) -> Response<UpstreamBody> {
    let len = body.len();
    let mut r = Response::new(full_body(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers.clone();
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

/// Adds `name` to the `Vary` header (kept with the upstream's own entries, e.g. `Accept-Encoding`).
pub(super) fn add_vary(headers: &mut HeaderMap, name: &str) {
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

impl MeshEngine {
    pub(super) async fn serve_manifest(
        &self,
        upstream: &Arc<dyn Upstream>,
        parts: &Parts,
        kind: ManifestKind,
    ) -> Response<UpstreamBody> {
        let path = &manifest_uri(&parts.uri, &self.inner.config.manifests.cache_key_query);
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

    pub(super) fn render(&self, parts: &Parts, fetched: &Fetched) -> Response<UpstreamBody> {
        let path = parts.uri.path();
        let text = std::str::from_utf8(&fetched.body).unwrap_or_default();
        // Bootstraps (master playlists, MPDs) carry the trackers, which may depend on a header.
        let has_bootstrap = matches!(fetched.parsed, Parsed::Master(_) | Parsed::Mpd(_));
        // (body, per viewer, longest cache lifetime of the bootstrap's credentials)
        let result: Result<(String, bool, Option<u64>), EngineError> = match &fetched.parsed {
            Parsed::FailOpen(reason) => return self.serve_unchanged(path, reason, fetched),
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
            Err(reason) => self.serve_unchanged(path, &reason, fetched),
        }
    }

    /// The upstream's manifest as it came (fail open), the reason logged and counted.
    fn serve_unchanged(
        &self,
        path: &str,
        reason: &EngineError,
        fetched: &Fetched,
    ) -> Response<UpstreamBody> {
        bump(&self.inner.stats.fail_open);
        tracing::debug!(%path, %reason, "manifest served unchanged (fail open)");
        respond(StatusCode::OK, &fetched.headers, fetched.body.clone())
    }

    /// The encoded bootstrap for a manifest, whether it is per viewer (not cacheable), and how long
    /// caches may keep it at most: no longer than its token (a CDN must not hand out expired
    /// tokens from a day-long VOD `max-age`) or its TURN credentials live.
    pub(super) fn bootstrap(
        &self,
        parts: &Parts,
        path: &str,
        renditions: &[String],
        integrity: &str,
        hashes: Option<String>,
    ) -> Result<(String, bool, Option<u64>), EngineError> {
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
        let token_life = token.as_ref().map(|t| t.expires_at.saturating_sub(now));
        let (ice, ice_life) = crate::ice::bootstrap_ice(
            self.inner.ice.as_ref(),
            &self.inner.config.tokens,
            &content,
            token.as_ref(),
            now,
        );
        let cache_cap = match (token_life, ice_life) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
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
}

pub(super) fn random_viewer_id() -> String {
    let mut id = [0u8; 16];
    match getrandom::fill(&mut id) {
        Ok(()) => format!("anon-{}", hex(&id)),
        Err(_) => "anonymous".into(),
    }
}
