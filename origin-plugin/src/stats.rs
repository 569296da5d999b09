//! Counters for the publisher dashboard: cheap atomics, read as a serialisable snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Live counters of one engine (shared by the Layer, the proxy and the token routes).
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) manifests_rewritten: AtomicU64,
    pub(crate) fail_open: AtomicU64,
    pub(crate) manifest_cache_hits: AtomicU64,
    pub(crate) manifest_fetches: AtomicU64,
    pub(crate) hashes_computed: AtomicU64,
    pub(crate) hash_cache_hits: AtomicU64,
    pub(crate) hash_revalidations: AtomicU64,
    pub(crate) hash_failures: AtomicU64,
    pub(crate) upstream_errors: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Manifests served with meshcdn data inserted.
    pub manifests_rewritten: u64,
    /// Manifests served unchanged because they could not be parsed, rewritten or were too large.
    pub fail_open: u64,
    /// Manifest requests answered from the manifest cache.
    pub manifest_cache_hits: u64,
    /// Manifest requests that went to the upstream (single-flight: one per cache miss).
    pub manifest_fetches: u64,
    /// Segments hashed (each (URL, byte range) once while cached).
    pub hashes_computed: u64,
    /// Segment hash look-ups answered from the hash cache.
    pub hash_cache_hits: u64,
    /// Stale segment hashes confirmed by the upstream's unchanged strong ETag (not rehashed).
    pub hash_revalidations: u64,
    /// Segments that could not be hashed (served without a hash; clients fetch them over HTTP).
    pub hash_failures: u64,
    /// Upstream transport errors, timeouts and 5xx answers.
    pub upstream_errors: u64,
    /// Tokens issued (HTTP API and manifests); filled in by [`crate::MeshEngine::stats`].
    pub tokens_issued: u64,
}

impl StatsSnapshot {
    /// The counters in the Prometheus text exposition format (0.0.4), as
    /// `meshcdn_origin_<name>_total` counters with `# HELP` and `# TYPE` lines.
    pub fn to_prometheus(&self) -> String {
        let counters: [(&str, &str, u64); 10] = [
            (
                "manifests_rewritten",
                "Manifests served with meshcdn data inserted.",
                self.manifests_rewritten,
            ),
            (
                "fail_open",
                "Manifests served unchanged (unparsable, too large, ...).",
                self.fail_open,
            ),
            (
                "manifest_cache_hits",
                "Manifest requests answered from the manifest cache.",
                self.manifest_cache_hits,
            ),
            (
                "manifest_fetches",
                "Manifest requests sent to the upstream.",
                self.manifest_fetches,
            ),
            (
                "hashes_computed",
                "Segments fetched and hashed.",
                self.hashes_computed,
            ),
            (
                "hash_cache_hits",
                "Segment hash look-ups answered from the cache.",
                self.hash_cache_hits,
            ),
            (
                "hash_revalidations",
                "Stale segment hashes confirmed by an unchanged strong ETag.",
                self.hash_revalidations,
            ),
            (
                "hash_failures",
                "Segments listed without a hash because they could not be hashed.",
                self.hash_failures,
            ),
            (
                "upstream_errors",
                "Upstream transport errors, timeouts and 5xx answers.",
                self.upstream_errors,
            ),
            (
                "tokens_issued",
                "Swarm tokens signed (manifests and POST /v1/tokens).",
                self.tokens_issued,
            ),
        ];
        let mut out = String::with_capacity(2048);
        for (name, help, value) in counters {
            use std::fmt::Write as _;
            let _ = writeln!(out, "# HELP meshcdn_origin_{name}_total {help}");
            let _ = writeln!(out, "# TYPE meshcdn_origin_{name}_total counter");
            let _ = writeln!(out, "meshcdn_origin_{name}_total {value}");
        }
        out
    }
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            manifests_rewritten: get(&self.manifests_rewritten),
            fail_open: get(&self.fail_open),
            manifest_cache_hits: get(&self.manifest_cache_hits),
            manifest_fetches: get(&self.manifest_fetches),
            hashes_computed: get(&self.hashes_computed),
            hash_cache_hits: get(&self.hash_cache_hits),
            hash_revalidations: get(&self.hash_revalidations),
            hash_failures: get(&self.hash_failures),
            upstream_errors: get(&self.upstream_errors),
            tokens_issued: 0,
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_help_type_and_value_for_every_counter() {
        let s = StatsSnapshot {
            manifests_rewritten: 3,
            hash_failures: 1,
            tokens_issued: 7,
            ..Default::default()
        };
        let text = s.to_prometheus();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples.len(), 10);
        assert!(
            samples.contains(&"meshcdn_origin_manifests_rewritten_total 3"),
            "{text}"
        );
        assert!(samples.contains(&"meshcdn_origin_hash_failures_total 1"));
        assert!(samples.contains(&"meshcdn_origin_tokens_issued_total 7"));
        for sample in samples {
            let name = sample.split(' ').next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} counter\n")), "{name}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
        assert!(text.ends_with('\n'));
    }
}
