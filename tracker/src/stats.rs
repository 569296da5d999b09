//! Counters and gauges for the host to export (Prometheus, `/health`).

use serde::{Deserialize, Serialize};

pub use crate::swarm::SwarmCounters;

/// Tracker-wide monotonic counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Inbound frames handled (valid or not).
    pub messages: u64,
    pub announces: u64,
    pub answers: u64,
    pub scrapes: u64,
    pub offers_relayed: u64,
    pub answers_relayed: u64,
    /// Requests refused with a `failure reason` (bad input, token, peer_id binding, unmatched answer).
    pub rejects: u64,
    pub offers_expired: u64,
    /// Pending offers dropped because the table was full.
    pub offers_evicted: u64,
    pub peers_expired: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmStats {
    /// 40 hex chars.
    pub info_hash: String,
    pub peers: u64,
    pub seeders: u64,
    pub leechers: u64,
    #[serde(flatten)]
    pub counters: SwarmCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStats {
    pub connections: u64,
    pub swarm_count: u64,
    pub peers: u64,
    pub seeders: u64,
    pub leechers: u64,
    pub pending_offers: u64,
    pub links: u64,
    pub counters: Counters,
    /// Sorted by info_hash.
    pub swarms: Vec<SwarmStats>,
}
