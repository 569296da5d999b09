//! Host metrics, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use meshcdn_tracker::TrackerStats;

/// Upper bounds of the call latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05,
    0.25,
];

/// Why the host refused a connection or a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Missing or invalid token at the upgrade (HTTP 401).
    Unauthorized,
    /// `max_connections` reached (HTTP 503).
    ConnectionLimit,
    /// Over the per-connection message rate.
    RateLimited,
    /// Over `max_message_bytes` (connection closed with 1009).
    TooLarge,
    /// Not routable: bad JSON, unknown action, bad info_hash, binary frame.
    Malformed,
    /// Closed after `idle_timeout_secs` without a message.
    Idle,
    /// Closed because its outbound queue overflowed.
    SlowReader,
    /// A message dropped because the connection's queue was full (`queue_overflow = "drop"`).
    QueueFull,
    /// An HTTP connection closed at accept: `http.max_connections` reached.
    HttpConnectionLimit,
    /// A message dropped, or a connection that was behind closed (1013), because the host's
    /// outbound budget (`limits.max_total_queued_bytes`) was spent.
    HostQueueBudget,
    /// `limits.max_connections_per_ip` reached (HTTP 429).
    IpLimit,
    /// An announce to one more swarm than a connection may be in (across all shards).
    SwarmLimit,
    /// A scrape of every swarm, or of more info_hashes than `tracker.max_scrape`.
    ScrapeLimit,
}

impl Reject {
    const ALL: [Reject; 13] = [
        Reject::Unauthorized,
        Reject::ConnectionLimit,
        Reject::RateLimited,
        Reject::TooLarge,
        Reject::Malformed,
        Reject::Idle,
        Reject::SlowReader,
        Reject::QueueFull,
        Reject::HttpConnectionLimit,
        Reject::HostQueueBudget,
        Reject::IpLimit,
        Reject::SwarmLimit,
        Reject::ScrapeLimit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Reject::Unauthorized => "unauthorized",
            Reject::ConnectionLimit => "connection_limit",
            Reject::RateLimited => "rate_limited",
            Reject::TooLarge => "too_large",
            Reject::Malformed => "malformed",
            Reject::Idle => "idle",
            Reject::SlowReader => "slow_reader",
            Reject::QueueFull => "queue_full",
            Reject::HttpConnectionLimit => "http_connection_limit",
            Reject::HostQueueBudget => "host_queue_budget",
            Reject::IpLimit => "ip_limit",
            Reject::SwarmLimit => "swarm_limit",
            Reject::ScrapeLimit => "scrape_limit",
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicU64,
    /// HTTP connections not (yet) upgraded to WebSocket, TLS handshakes included.
    pub http_connections: AtomicU64,
    pub connections_total: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub shard_restarts: AtomicU64,
    pub reloads: AtomicU64,
    pub reloads_failed: AtomicU64,
    /// Upgrades served through hyper's `Upgraded` wrapper instead of the bare socket.
    pub upgrades_wrapped: AtomicU64,
    /// Stats rounds over all shards (`/metrics`, `/stats`, `/health/ready` snapshots).
    pub stats_rounds: AtomicU64,
    /// Stats calls answered by a shard (one per shard per round).
    pub shard_stats_calls: AtomicU64,
    /// Bytes queued to connections and not written yet, against `limits.max_total_queued_bytes`.
    pub queued: crate::outbox::QueueBudget,
    rejects: [AtomicU64; Reject::ALL.len()],
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
}

impl Metrics {
    pub fn reject(&self, why: Reject) {
        self.rejects[why as usize].fetch_add(1, Relaxed);
    }

    /// Counts what a refused [`Outbox::push`](crate::outbox::Outbox::push) refused.
    pub fn pushed(&self, pushed: crate::outbox::Pushed) {
        use crate::outbox::Pushed;
        match pushed {
            Pushed::Queued | Pushed::Closed => {}
            Pushed::Overflow => self.reject(Reject::SlowReader),
            Pushed::Dropped => self.reject(Reject::QueueFull),
            Pushed::OverBudget | Pushed::BudgetDropped => self.reject(Reject::HostQueueBudget),
        }
    }

    pub fn rejects(&self, why: Reject) -> u64 {
        self.rejects[why as usize].load(Relaxed)
    }

    pub fn observe_call(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            self.latency_buckets[i].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ns
            .fetch_add(took.as_nanos() as u64, Relaxed);
    }

    /// Prometheus text exposition. `tracker` is the merged tracker stats of all shards.
    pub fn render(&self, tracker: &TrackerStats, shards: usize, engine: &str) -> String {
        let mut out = String::with_capacity(4096);
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let counters = &tracker.counters;
        metric(
            "meshcdn_edge_connections",
            "gauge",
            "Open WebSocket connections.",
            self.connections.load(Relaxed),
        );
        metric(
            "meshcdn_edge_http_connections",
            "gauge",
            "Open HTTP connections that are not WebSockets (requests, keep-alive, handshakes).",
            self.http_connections.load(Relaxed),
        );
        metric(
            "meshcdn_edge_connections_total",
            "counter",
            "WebSocket connections accepted.",
            self.connections_total.load(Relaxed),
        );
        metric(
            "meshcdn_edge_messages_in_total",
            "counter",
            "Text frames received.",
            self.messages_in.load(Relaxed),
        );
        metric(
            "meshcdn_edge_messages_out_total",
            "counter",
            "Text frames sent.",
            self.messages_out.load(Relaxed),
        );
        metric(
            "meshcdn_edge_announces_total",
            "counter",
            "Announces handled by the tracker.",
            counters.announces,
        );
        metric(
            "meshcdn_edge_offers_total",
            "counter",
            "Offers relayed to peers.",
            counters.offers_relayed,
        );
        metric(
            "meshcdn_edge_answers_total",
            "counter",
            "Answers relayed to offerers.",
            counters.answers_relayed,
        );
        metric(
            "meshcdn_edge_scrapes_total",
            "counter",
            "Scrapes handled by the tracker.",
            counters.scrapes,
        );
        metric(
            "meshcdn_edge_tracker_rejects_total",
            "counter",
            "Requests the tracker refused with a failure reason.",
            counters.rejects,
        );
        metric(
            "meshcdn_edge_peers",
            "gauge",
            "Peers in all swarms.",
            tracker.peers,
        );
        metric(
            "meshcdn_edge_swarms",
            "gauge",
            "Swarms.",
            tracker.swarm_count,
        );
        metric("meshcdn_edge_shards", "gauge", "Shards.", shards as u64);
        metric(
            "meshcdn_edge_shard_degraded",
            "gauge",
            "Shards near their memory limit (limits.shard_memory_high_water_percent), refusing new swarms and peers.",
            tracker.degraded,
        );
        metric(
            "meshcdn_edge_queued_bytes",
            "gauge",
            "Bytes queued to connections and not written yet (limits.max_total_queued_bytes bounds it).",
            self.queued.held() as u64,
        );
        metric(
            "meshcdn_edge_queued_bytes_peak",
            "gauge",
            "The most bytes queued to connections at once since the host started.",
            self.queued.peak() as u64,
        );
        metric(
            "meshcdn_edge_shard_restarts_total",
            "counter",
            "Shards re-instantiated after a trap or a missed deadline.",
            self.shard_restarts.load(Relaxed),
        );
        metric(
            "meshcdn_edge_upgrades_wrapped_total",
            "counter",
            "WebSocket connections served through hyper's upgrade wrapper rather than the bare socket (more memory per peer; expected 0).",
            self.upgrades_wrapped.load(Relaxed),
        );
        metric(
            "meshcdn_edge_stats_rounds_total",
            "counter",
            "Stats snapshots taken of all shards (at most one per ops.stats_refresh_ms).",
            self.stats_rounds.load(Relaxed),
        );
        metric(
            "meshcdn_edge_shard_stats_calls_total",
            "counter",
            "Stats calls answered by the shards.",
            self.shard_stats_calls.load(Relaxed),
        );
        if let Some(rss) = resident_memory_bytes() {
            metric(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory of the host process, in bytes.",
                rss,
            );
        }
        metric(
            "meshcdn_edge_reloads_total",
            "counter",
            "Hot upgrades applied.",
            self.reloads.load(Relaxed),
        );
        metric(
            "meshcdn_edge_reloads_failed_total",
            "counter",
            "Hot upgrades refused.",
            self.reloads_failed.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP meshcdn_edge_rejects_total Connections or messages refused by the host.\n# TYPE meshcdn_edge_rejects_total counter"
        );
        for why in Reject::ALL {
            let _ = writeln!(
                out,
                "meshcdn_edge_rejects_total{{reason=\"{}\"}} {}",
                why.label(),
                self.rejects(why)
            );
        }
        let _ = writeln!(
            out,
            "# HELP meshcdn_edge_engine_info The shard engine.\n# TYPE meshcdn_edge_engine_info gauge\nmeshcdn_edge_engine_info{{engine=\"{}\"}} 1",
            engine.replace('"', "'")
        );
        let _ = writeln!(
            out,
            "# HELP meshcdn_edge_shard_call_seconds Latency of one batched call into a shard.\n# TYPE meshcdn_edge_shard_call_seconds histogram"
        );
        let mut cumulative = 0;
        for (bound, n) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(
                out,
                "meshcdn_edge_shard_call_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            out,
            "meshcdn_edge_shard_call_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "meshcdn_edge_shard_call_seconds_sum {}",
            self.latency_sum_ns.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "meshcdn_edge_shard_call_seconds_count {count}");
        out
    }
}

/// Resident set size of this process (Linux `/proc/self/statm`).
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counters_render() {
        let m = Metrics::default();
        m.observe_call(Duration::from_micros(30));
        m.observe_call(Duration::from_secs(1));
        m.reject(Reject::RateLimited);
        let mut tracker = TrackerStats::default();
        tracker.counters.announces = 5;
        tracker.peers = 3;
        let text = m.render(&tracker, 2, "native");
        assert!(
            text.contains("meshcdn_edge_shard_call_seconds_bucket{le=\"0.00005\"} 1"),
            "{text}"
        );
        assert!(text.contains("meshcdn_edge_shard_call_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("meshcdn_edge_announces_total 5"));
        assert!(text.contains("meshcdn_edge_peers 3"));
        assert!(text.contains("meshcdn_edge_rejects_total{reason=\"rate_limited\"} 1"));
        assert!(text.contains("process_resident_memory_bytes "));
    }
}
