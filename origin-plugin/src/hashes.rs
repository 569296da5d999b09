//! Segment SHA-256 hashes: fetched through the upstream, streamed through the hasher (never held
//! whole), cached in moka and computed once per segment (single-flight `try_get_with`).
//!
//! Two levels: `fresh` (URL + range → digest, for `hashes.ttl_secs`) answers without any
//! request; once an entry is stale, `known` (the last digest with its strong `ETag`) lets the
//! segment be revalidated with `If-None-Match` instead of hashed again. So a segment is hashed
//! once per (URL, byte range, ETag): same ETag → no rehash, new ETag (content changed under the
//! same URL) → new hash. Weak ETags do not promise identical bytes and are never trusted.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::config::HashConfig;
use crate::manifest::ByteRange;
use crate::stats::{Stats, bump};
use crate::upstream::{Upstream, UpstreamError};

/// A segment as the cache knows it: origin-form URI and optional byte range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SegmentKey {
    pub path: String,
    pub range: Option<ByteRange>,
}

/// The hash of one segment and the upstream `ETag` it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDigest {
    pub sha256: [u8; 32],
    pub etag: Option<String>,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("upstream answered {0} for the segment")]
    Status(StatusCode),
    #[error("reading the segment failed: {0}")]
    Body(String),
    #[error("segment is larger than the {0}-byte cap")]
    TooLarge(u64),
    #[error("range needs {expected} bytes but the upstream sent {got}")]
    ShortRange { expected: u64, got: u64 },
    #[error("hashing the segment took longer than {0:?}")]
    Timeout(Duration),
}

impl HashError {
    /// Whether the failure is kept in the negative cache: everything costly or broken, but not a
    /// client-error answer (cheap to ask again, and what a live segment listed a moment before
    /// it is published gets).
    fn worth_remembering(&self) -> bool {
        !matches!(self, HashError::Status(s) if s.is_client_error())
    }
}

/// The segment hash cache.
#[derive(Clone)]
pub struct HashCache {
    fresh: Cache<SegmentKey, SegmentDigest>,
    known: Cache<SegmentKey, SegmentDigest>,
    /// Negative cache: segments that failed recently, with why (`hashes.failure_ttl_ms`).
    failed: Cache<SegmentKey, Arc<HashError>>,
    config: HashConfig,
    stats: Arc<Stats>,
}

impl HashCache {
    pub fn new(config: HashConfig, stats: Arc<Stats>) -> Self {
        let fresh = Cache::builder()
            .max_capacity(config.cache_capacity)
            .time_to_live(Duration::from_secs(config.ttl_secs))
            .build();
        let known = Cache::builder().max_capacity(config.cache_capacity).build();
        let failed = Cache::builder()
            .max_capacity(config.cache_capacity)
            .time_to_live(Duration::from_millis(config.failure_ttl_ms.max(1)))
            .build();
        Self {
            fresh,
            known,
            failed,
            config,
            stats,
        }
    }

    /// The digest of one segment: from the cache, or fetched and hashed once even when many
    /// callers ask at the same time.
    pub async fn digest(
        &self,
        upstream: &Arc<dyn Upstream>,
        key: SegmentKey,
    ) -> Result<SegmentDigest, Arc<HashError>> {
        if let Some(error) = self.failed.get(&key).await {
            return Err(error);
        }
        let mut outcome = None;
        let timeout = Duration::from_millis(self.config.timeout_ms);
        let max = self.config.max_segment_bytes;
        let result = self
            .fresh
            .try_get_with(key.clone(), async {
                let previous = self.known.get(&key).await;
                let (digest, how) = match tokio::time::timeout(
                    timeout,
                    hash_segment(upstream.as_ref(), &key, max, previous),
                )
                .await
                {
                    Ok(r) => r?,
                    Err(_) => return Err(HashError::Timeout(timeout)),
                };
                outcome = Some(how);
                self.known.insert(key.clone(), digest.clone()).await;
                Ok(digest)
            })
            .await;
        match (&result, outcome) {
            (Ok(_), Some(Outcome::Hashed)) => bump(&self.stats.hashes_computed),
            (Ok(_), Some(Outcome::Revalidated)) => bump(&self.stats.hash_revalidations),
            (Ok(_), None) => bump(&self.stats.hash_cache_hits),
            (Err(e), _) => {
                if self.config.failure_ttl_ms > 0 && e.worth_remembering() {
                    self.failed.insert(key, e.clone()).await;
                }
            }
        }
        result
    }

    /// Digests of many segments, at most `concurrency` at a time, in input order, for one
    /// request: at most `max_fetches_per_request` of them fetched, all within
    /// `request_deadline_ms`. `None` keys (segments this upstream cannot fetch), failures and
    /// segments over the budget or past the deadline give `None` (the segment gets no hash).
    pub async fn digest_all(
        &self,
        upstream: &Arc<dyn Upstream>,
        keys: Vec<Option<SegmentKey>>,
    ) -> Vec<Option<[u8; 32]>> {
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.config.request_deadline_ms);
        let budget = std::sync::atomic::AtomicUsize::new(self.config.max_fetches_per_request);
        let budget = &budget;
        futures_util::stream::iter(keys)
            .map(|key| async move {
                let key = key?;
                if !self.fresh.contains_key(&key)
                    && budget
                        .fetch_update(
                            std::sync::atomic::Ordering::Relaxed,
                            std::sync::atomic::Ordering::Relaxed,
                            |left| left.checked_sub(1),
                        )
                        .is_err()
                {
                    tracing::debug!(segment = %key.path, "over this request's hashing budget; left for a later request");
                    return None;
                }
                let digest = tokio::time::timeout_at(deadline, self.digest(upstream, key.clone()));
                let Ok(result) = digest.await else {
                    tracing::warn!(segment = %key.path, "hashing deadline of the request passed; listed without a hash");
                    return None;
                };
                match result {
                    Ok(d) => Some(d.sha256),
                    Err(e) => {
                        bump(&self.stats.hash_failures);
                        tracing::warn!(segment = %key.path, error = %e, "segment not hashed; it is listed without a hash");
                        None
                    }
                }
            })
            .buffered(self.config.concurrency.max(1))
            .collect()
            .await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Hashed,
    /// The upstream confirmed the previous strong ETag: the previous hash holds.
    Revalidated,
}

fn strong(etag: &Option<String>) -> Option<&str> {
    etag.as_deref().filter(|e| !e.starts_with("W/"))
}

async fn hash_segment(
    upstream: &dyn Upstream,
    key: &SegmentKey,
    max_bytes: u64,
    previous: Option<SegmentDigest>,
) -> Result<(SegmentDigest, Outcome), HashError> {
    let mut request = Request::get(key.path.as_str());
    if let Some(r) = key.range {
        request = request.header(header::RANGE, r.header_value());
    }
    let previous = previous.filter(|p| strong(&p.etag).is_some());
    if let Some(etag) = previous.as_ref().and_then(|p| strong(&p.etag)) {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let request = request
        .body(())
        .map_err(|e| HashError::Body(e.to_string()))?;
    let response = upstream.fetch(request).await?;
    let status = response.status();
    let etag = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(prev) = previous {
        // 304, or a server that ignores If-None-Match but sends the same strong ETag: same bytes.
        if status == StatusCode::NOT_MODIFIED
            || (status.is_success() && strong(&etag) == strong(&prev.etag))
        {
            return Ok((prev, Outcome::Revalidated));
        }
    }
    // 206: the range itself; 200: the whole resource, from which the range is cut here.
    let (mut skip, mut take) = match (status, key.range) {
        (StatusCode::PARTIAL_CONTENT, Some(r)) => (0, Some(r.length)),
        (StatusCode::OK, Some(r)) => (r.offset, Some(r.length)),
        (StatusCode::OK, None) => (0, None),
        (other, _) => return Err(HashError::Status(other)),
    };
    if let (StatusCode::PARTIAL_CONTENT, Some(r)) = (status, key.range) {
        // A 206 for another range than asked would hash the wrong bytes.
        let first = response
            .headers()
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes "))
            .and_then(|v| v.split(['-', '/']).next())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if first != Some(r.offset) {
            return Err(HashError::Body(format!(
                "206 answer does not start at byte {}",
                r.offset
            )));
        }
    }
    let mut body = response.into_body();
    let mut hasher = Sha256::new();
    let mut hashed = 0u64;
    while take != Some(0) {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| HashError::Body(e.to_string()))?;
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        if skip > 0 {
            let n = skip.min(data.len() as u64);
            skip -= n;
            data = data.slice(n as usize..);
        }
        if let Some(left) = take.as_mut() {
            let n = (*left).min(data.len() as u64);
            data.truncate(n as usize);
            *left -= n;
        }
        hashed += data.len() as u64;
        if hashed > max_bytes {
            return Err(HashError::TooLarge(max_bytes));
        }
        hasher.update(&data);
    }
    if let Some(r) = key.range
        && hashed != r.length
    {
        return Err(HashError::ShortRange {
            expected: r.length,
            got: hashed,
        });
    }
    Ok((
        SegmentDigest {
            sha256: hasher.finalize().into(),
            etag,
            bytes: hashed,
        },
        Outcome::Hashed,
    ))
}
