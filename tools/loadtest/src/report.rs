//! The result of a run ([`LoadReport`]): one line for people, JSON for scripts.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub target: String,
    pub connections: usize,
    pub connected: usize,
    pub swarms: usize,
    pub duration_secs: f64,
    pub responses: u64,
    pub responses_per_sec: f64,
    pub announces: u64,
    pub offers_received: u64,
    pub answers_received: u64,
    pub failures: u64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub disconnects: u64,
}

impl LoadReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} of {} connections, {} swarms, {:.1}s: {:.0} responses/s ({} responses, {} announces, {} offers in, {} answers in, {} failures, {} disconnects), latency p50 {:.2} ms p99 {:.2} ms",
            self.target,
            self.connected,
            self.connections,
            self.swarms,
            self.duration_secs,
            self.responses_per_sec,
            self.responses,
            self.announces,
            self.offers_received,
            self.answers_received,
            self.failures,
            self.disconnects,
            self.latency_p50_ms,
            self.latency_p99_ms
        )
    }
}
