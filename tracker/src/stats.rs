//! Counters and gauges for the host to export (Prometheus, `/health`).
//!
//! The host merges the stats of its shards with `+=` ([`AddAssign`]): the impls destructure every
//! field, so a counter added or renamed here fails to compile until the merge knows it.

use std::ops::AddAssign;

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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStats {
    pub connections: u64,
    pub swarm_count: u64,
    pub peers: u64,
    pub seeders: u64,
    pub leechers: u64,
    pub pending_offers: u64,
    pub links: u64,
    pub counters: Counters,
    /// Trackers in degraded mode ([`crate::Tracker::set_degraded`]): 0 or 1 for one tracker,
    /// summed over the shards of a host.
    #[serde(default)]
    pub degraded: u64,
    /// Sorted by info_hash.
    pub swarms: Vec<SwarmStats>,
}

impl AddAssign for Counters {
    fn add_assign(&mut self, other: Self) {
        let Counters {
            messages,
            announces,
            answers,
            scrapes,
            offers_relayed,
            answers_relayed,
            rejects,
            offers_expired,
            offers_evicted,
            peers_expired,
        } = other;
        self.messages += messages;
        self.announces += announces;
        self.answers += answers;
        self.scrapes += scrapes;
        self.offers_relayed += offers_relayed;
        self.answers_relayed += answers_relayed;
        self.rejects += rejects;
        self.offers_expired += offers_expired;
        self.offers_evicted += offers_evicted;
        self.peers_expired += peers_expired;
    }
}

impl AddAssign for SwarmCounters {
    fn add_assign(&mut self, other: Self) {
        let SwarmCounters {
            announces,
            offers_relayed,
            answers_relayed,
            rejects,
            completed,
        } = other;
        self.announces += announces;
        self.offers_relayed += offers_relayed;
        self.answers_relayed += answers_relayed;
        self.rejects += rejects;
        self.completed += completed;
    }
}

/// Merges another shard's stats in: numbers summed, swarms appended (each swarm lives on one
/// shard). Call [`TrackerStats::sort_swarms`] when done.
impl AddAssign for TrackerStats {
    fn add_assign(&mut self, other: Self) {
        let TrackerStats {
            connections,
            swarm_count,
            peers,
            seeders,
            leechers,
            pending_offers,
            links,
            counters,
            degraded,
            swarms,
        } = other;
        self.connections += connections;
        self.swarm_count += swarm_count;
        self.peers += peers;
        self.seeders += seeders;
        self.leechers += leechers;
        self.pending_offers += pending_offers;
        self.links += links;
        self.counters += counters;
        self.degraded += degraded;
        self.swarms.extend(swarms);
    }
}

impl TrackerStats {
    /// What in these figures contradicts itself, if anything (for tests and fuzzing): peers =
    /// seeders + leechers = the sum over swarms, one entry per swarm, no empty swarm listed.
    pub fn inconsistency(&self) -> Option<String> {
        let listed: u64 = self.swarms.iter().map(|w| w.peers).sum();
        if self.peers != listed {
            return Some(format!("{} peers, {listed} over the swarms", self.peers));
        }
        if self.peers != self.seeders + self.leechers {
            return Some(format!(
                "{} peers, {} seeders + {} leechers",
                self.peers, self.seeders, self.leechers
            ));
        }
        if self.swarm_count != self.swarms.len() as u64 {
            return Some(format!(
                "swarm_count {}, {} listed",
                self.swarm_count,
                self.swarms.len()
            ));
        }
        if let Some(w) = self.swarms.iter().find(|w| w.peers == 0) {
            return Some(format!("empty swarm {} kept", w.info_hash));
        }
        None
    }

    /// Orders `swarms` by info_hash (the order a single tracker reports them in).
    pub fn sort_swarms(&mut self) {
        self.swarms.sort_by(|a, b| a.info_hash.cmp(&b.info_hash));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swarm(hex: char, peers: u64) -> SwarmStats {
        SwarmStats {
            info_hash: hex.to_string().repeat(40),
            peers,
            seeders: 0,
            leechers: peers,
            counters: SwarmCounters {
                announces: peers,
                ..SwarmCounters::default()
            },
        }
    }

    #[test]
    fn inconsistent_figures_are_named() {
        let mut st = TrackerStats {
            swarm_count: 1,
            peers: 2,
            leechers: 2,
            swarms: vec![swarm('a', 2)],
            ..TrackerStats::default()
        };
        assert_eq!(st.inconsistency(), None);
        st.seeders = 1;
        assert!(st.inconsistency().unwrap().contains("seeders"));
        st.seeders = 0;
        st.swarms.push(swarm('b', 0));
        assert!(st.inconsistency().unwrap().contains("swarm_count"));
        st.swarm_count = 2;
        assert!(st.inconsistency().unwrap().contains("empty swarm"));
        st.peers = 3;
        assert!(st.inconsistency().unwrap().contains("over the swarms"));
    }

    #[test]
    fn shard_stats_add_up_and_swarms_sort_by_info_hash() {
        let mut total = TrackerStats {
            connections: 2,
            peers: 3,
            counters: Counters {
                announces: 4,
                rejects: 1,
                ..Counters::default()
            },
            swarms: vec![swarm('b', 3)],
            ..TrackerStats::default()
        };
        total += TrackerStats {
            connections: 5,
            peers: 1,
            counters: Counters {
                announces: 6,
                peers_expired: 2,
                ..Counters::default()
            },
            swarms: vec![swarm('a', 1)],
            ..TrackerStats::default()
        };
        total.sort_swarms();
        assert_eq!((total.connections, total.peers), (7, 4));
        assert_eq!(total.counters.announces, 10);
        assert_eq!(total.counters.rejects, 1);
        assert_eq!(total.counters.peers_expired, 2);
        let order: Vec<_> = total.swarms.iter().map(|s| s.peers).collect();
        assert_eq!(order, [1, 3]);
        let mut c = SwarmCounters::default();
        c += SwarmCounters {
            completed: 2,
            ..SwarmCounters::default()
        };
        assert_eq!(c.completed, 2);
    }
}
