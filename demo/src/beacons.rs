//! Viewers' analytics beacons (the player posts its client stats every few seconds), aggregated
//! for the dashboard. A viewer that stops sending is forgotten after `ttl`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Most viewers tracked at once: beacons are unauthenticated, so the map is bounded.
pub const MAX_VIEWERS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    pub peer_id: String,
    pub stream: String,
    pub http_bytes: u64,
    pub p2p_bytes: u64,
    /// The client's connection outcomes (`stats().connections`); absent from older players.
    #[serde(default)]
    pub connections: Connections,
}

/// Peer connection outcomes: attempts that opened or failed, and the opened ones by candidate
/// pair type (host: same network; srflx/prflx: through NATs; relay: over TURN).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connections {
    pub opened: u64,
    pub failed: u64,
    pub host: u64,
    pub srflx: u64,
    pub prflx: u64,
    pub relay: u64,
}

impl Connections {
    fn add(self, o: Connections) -> Connections {
        Connections {
            opened: self.opened + o.opened,
            failed: self.failed + o.failed,
            host: self.host + o.host,
            srflx: self.srflx + o.srflx,
            prflx: self.prflx + o.prflx,
            relay: self.relay + o.relay,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Viewers heard from within the ttl.
    pub count: u64,
    pub http_bytes: u64,
    pub p2p_bytes: u64,
    pub connections: Connections,
}

pub struct Beacons {
    ttl: Duration,
    last: Mutex<HashMap<String, (Beacon, Instant)>>,
    history: Mutex<std::collections::VecDeque<Sample>>,
}

/// Points kept for the dashboard's chart (10 minutes at one sample per 2 s).
pub const HISTORY_POINTS: usize = 300;

/// One point of the dashboard's chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Milliseconds since the demo started.
    pub at_ms: u64,
    pub viewers: u64,
    /// Share of the viewers' segment bytes that came from peers, 0..=1.
    pub offload: f64,
}

impl Beacons {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            last: Mutex::new(HashMap::new()),
            history: Mutex::new(Default::default()),
        }
    }

    pub fn record(&self, beacon: Beacon, now: Instant) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
        if last.len() >= MAX_VIEWERS && !last.contains_key(&beacon.peer_id) {
            return;
        }
        last.insert(beacon.peer_id.clone(), (beacon, now));
    }

    pub fn totals(&self, now: Instant) -> Totals {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.values()
            .filter(|(_, at)| now.duration_since(*at) < self.ttl)
            .fold(Totals::default(), |t, (b, _)| Totals {
                count: t.count + 1,
                http_bytes: t.http_bytes + b.http_bytes,
                p2p_bytes: t.p2p_bytes + b.p2p_bytes,
                connections: t.connections.add(b.connections),
            })
    }
}

impl Beacons {
    /// Adds a chart point from the current totals; the oldest goes beyond [`HISTORY_POINTS`].
    pub fn sample(&self, at_ms: u64, now: Instant) {
        let t = self.totals(now);
        let bytes = t.http_bytes + t.p2p_bytes;
        let offload = if bytes == 0 {
            0.0
        } else {
            t.p2p_bytes as f64 / bytes as f64
        };
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.len() == HISTORY_POINTS {
            history.pop_front();
        }
        history.push_back(Sample {
            at_ms,
            viewers: t.count,
            offload,
        });
    }

    pub fn history(&self) -> Vec<Sample> {
        self.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(id: &str, http: u64, p2p: u64) -> Beacon {
        Beacon {
            peer_id: id.into(),
            stream: "live".into(),
            http_bytes: http,
            p2p_bytes: p2p,
            connections: Connections::default(),
        }
    }

    #[test]
    fn latest_beacon_per_viewer_counts_and_stale_viewers_drop_out() {
        let beacons = Beacons::new(Duration::from_secs(10));
        let t0 = Instant::now();
        beacons.record(beacon("a", 100, 0), t0);
        beacons.record(beacon("a", 150, 10), t0 + Duration::from_secs(1));
        beacons.record(beacon("b", 20, 300), t0 + Duration::from_secs(2));
        assert_eq!(
            beacons.totals(t0 + Duration::from_secs(3)),
            Totals {
                count: 2,
                http_bytes: 170,
                p2p_bytes: 310,
                connections: Connections::default()
            }
        );
        assert_eq!(
            beacons.totals(t0 + Duration::from_secs(11)),
            Totals {
                count: 1,
                http_bytes: 20,
                p2p_bytes: 300,
                connections: Connections::default()
            }
        );
        assert_eq!(
            beacons.totals(t0 + Duration::from_secs(60)),
            Totals::default()
        );
    }

    #[test]
    fn history_is_bounded_and_reports_the_offload_share() {
        let beacons = Beacons::new(Duration::from_secs(10));
        let t0 = Instant::now();
        beacons.sample(0, t0);
        beacons.record(beacon("a", 100, 300), t0);
        beacons.sample(2_000, t0);
        assert_eq!(
            beacons.history()[0],
            Sample {
                at_ms: 0,
                viewers: 0,
                offload: 0.0
            }
        );
        assert_eq!(
            beacons.history()[1],
            Sample {
                at_ms: 2_000,
                viewers: 1,
                offload: 0.75
            }
        );
        for i in 0..HISTORY_POINTS as u64 {
            beacons.sample(4_000 + i, t0);
        }
        let history = beacons.history();
        assert_eq!(history.len(), HISTORY_POINTS);
        assert_eq!(history[0].at_ms, 4_000);
    }

    #[test]
    fn connection_outcomes_add_up_across_viewers() {
        let beacons = Beacons::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let b: Beacon = serde_json::from_str(
            r#"{"peer_id":"a","stream":"s","http_bytes":1,"p2p_bytes":2,"connections":{"opened":3,"failed":1,"host":1,"srflx":1,"relay":1}}"#,
        )
        .unwrap();
        beacons.record(b.clone(), t0);
        beacons.record(
            Beacon {
                peer_id: "b".into(),
                ..b
            },
            t0,
        );
        let c = beacons.totals(t0).connections;
        assert_eq!(
            (c.opened, c.failed, c.host, c.srflx, c.prflx, c.relay),
            (6, 2, 2, 2, 0, 2)
        );
        assert!(
            serde_json::from_str::<Beacon>(
                r#"{"peer_id":"a","stream":"s","http_bytes":1,"p2p_bytes":2,"connections":{"tcp":1}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(
            serde_json::from_str::<Beacon>(
                r#"{"peer_id":"a","stream":"s","http_bytes":1,"p2p_bytes":2,"x":1}"#
            )
            .is_err()
        );
    }
}
