//! The DASH hash document (`<mpd path>.meshcdn-hashes.json`): the SHA-256 of every media
//! segment the MPD lists, keyed as `dash::hash_key` writes them; the MPD itself is not changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use super::fetch::{FetchError, Parsed, local_url};
use super::render::{plain, respond};
use super::{ManifestKind, MeshEngine};
use crate::bootstrap::{HASH_DOC_SUFFIX, hex};
use crate::manifest::dash;
use crate::stats::bump;
use crate::upstream::{Upstream, UpstreamBody};

impl MeshEngine {
    pub(super) async fn serve_hash_doc(
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
