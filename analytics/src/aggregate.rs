//! Pure aggregation: beacons into time-bucketed sums (what the store adds to its tables), and
//! stored buckets into the dashboard's report. No I/O and no clock reads: time is passed in.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::beacon::Beacon;

/// Network facts of a viewer, from trusted request headers (unknown = 0 / empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Network {
    pub asn: i64,
    pub country: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Bucket start, Unix seconds.
    pub bucket: i64,
    pub content: String,
    pub rendition: String,
}

/// Sums of one stream bucket. `*_ms` viewer figures are viewer-milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StreamSums {
    pub beacons: i64,
    /// Viewing time covered by beacons (average concurrent viewers = viewer_ms / bucket length).
    pub viewer_ms: i64,
    pub http_bytes: i64,
    pub p2p_bytes: i64,
    pub up_bytes: i64,
    /// Σ peers × interval (average peers per viewer = peer_ms / viewer_ms).
    pub peer_ms: i64,
    pub stalls: i64,
    pub stall_ms: i64,
    pub startups: i64,
    pub startup_ms: i64,
    /// The part of the above of intervals without any peer (HTTP-only viewing).
    pub http_only_viewer_ms: i64,
    pub http_only_stalls: i64,
    pub http_only_stall_ms: i64,
}

impl StreamSums {
    pub fn add(&mut self, o: &StreamSums) {
        self.beacons += o.beacons;
        self.viewer_ms += o.viewer_ms;
        self.http_bytes += o.http_bytes;
        self.p2p_bytes += o.p2p_bytes;
        self.up_bytes += o.up_bytes;
        self.peer_ms += o.peer_ms;
        self.stalls += o.stalls;
        self.stall_ms += o.stall_ms;
        self.startups += o.startups;
        self.startup_ms += o.startup_ms;
        self.http_only_viewer_ms += o.http_only_viewer_ms;
        self.http_only_stalls += o.http_only_stalls;
        self.http_only_stall_ms += o.http_only_stall_ms;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetworkKey {
    pub bucket: i64,
    pub content: String,
    pub asn: i64,
    pub country: String,
    pub region: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NetworkSums {
    pub viewer_ms: i64,
    pub http_bytes: i64,
    pub p2p_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionKey {
    pub bucket: i64,
    pub content: String,
    /// ICE candidate type: host, srflx, prflx, relay.
    pub candidate: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionSums {
    pub ok: i64,
    pub failed: i64,
}

/// Sums not yet written to the store. Bounded by the caller ([`Pending::keys`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pending {
    pub streams: HashMap<StreamKey, StreamSums>,
    pub networks: HashMap<NetworkKey, NetworkSums>,
    pub connections: HashMap<ConnectionKey, ConnectionSums>,
}

/// Start of the bucket holding `now_secs`.
pub fn bucket_of(now_secs: u64, bucket_secs: u64) -> i64 {
    let b = bucket_secs.max(1);
    (now_secs - now_secs % b) as i64
}

impl Pending {
    /// Rows waiting to be written.
    pub fn keys(&self) -> usize {
        self.streams.len() + self.networks.len() + self.connections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys() == 0
    }

    /// Adds one (validated) beacon received at `now_secs`.
    pub fn add(&mut self, beacon: &Beacon, network: &Network, now_secs: u64, bucket_secs: u64) {
        let bucket = bucket_of(now_secs, bucket_secs);
        let interval = beacon.interval_ms as i64;
        let http_only = beacon.http_only();
        let s = self
            .streams
            .entry(StreamKey {
                bucket,
                content: beacon.content.clone(),
                rendition: beacon.rendition.clone(),
            })
            .or_default();
        s.add(&StreamSums {
            beacons: 1,
            viewer_ms: interval,
            http_bytes: beacon.http as i64,
            p2p_bytes: beacon.p2p as i64,
            up_bytes: beacon.up as i64,
            peer_ms: beacon.peers as i64 * interval,
            stalls: beacon.stalls as i64,
            stall_ms: beacon.stall_ms as i64,
            startups: beacon.startup_ms.is_some() as i64,
            startup_ms: beacon.startup_ms.unwrap_or(0) as i64,
            http_only_viewer_ms: if http_only { interval } else { 0 },
            http_only_stalls: if http_only { beacon.stalls as i64 } else { 0 },
            http_only_stall_ms: if http_only { beacon.stall_ms as i64 } else { 0 },
        });
        let n = self
            .networks
            .entry(NetworkKey {
                bucket,
                content: beacon.content.clone(),
                asn: network.asn,
                country: network.country.clone(),
                region: network.region.clone(),
            })
            .or_default();
        n.viewer_ms += interval;
        n.http_bytes += beacon.http as i64;
        n.p2p_bytes += beacon.p2p as i64;
        for (candidate, outcome) in beacon.conn.by_type() {
            if outcome.ok == 0 && outcome.fail == 0 {
                continue;
            }
            let c = self
                .connections
                .entry(ConnectionKey {
                    bucket,
                    content: beacon.content.clone(),
                    candidate: candidate.into(),
                })
                .or_default();
            c.ok += outcome.ok as i64;
            c.failed += outcome.fail as i64;
        }
    }
}

/// Stored buckets, as read back for a report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub streams: Vec<(StreamKey, StreamSums)>,
    pub networks: Vec<(NetworkKey, NetworkSums)>,
    pub connections: Vec<(ConnectionKey, ConnectionSums)>,
}

impl Rows {
    /// Adds `pending` (not written yet) so a report can include the newest beacons.
    pub fn merge(&mut self, pending: &Pending) {
        self.streams
            .extend(pending.streams.iter().map(|(k, v)| (k.clone(), *v)));
        self.networks
            .extend(pending.networks.iter().map(|(k, v)| (k.clone(), *v)));
        self.connections
            .extend(pending.connections.iter().map(|(k, v)| (k.clone(), *v)));
    }

    /// Keeps the rows of contents `allowed` admits.
    pub fn retain(&mut self, allowed: impl Fn(&str) -> bool) {
        self.streams.retain(|(k, _)| allowed(&k.content));
        self.networks.retain(|(k, _)| allowed(&k.content));
        self.connections.retain(|(k, _)| allowed(&k.content));
    }
}

fn ratio(num: i64, den: i64) -> f64 {
    if den <= 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

const MS_PER_HOUR: f64 = 3_600_000.0;

/// QoE of one group of viewing time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quality {
    pub viewer_hours: f64,
    pub stalls: i64,
    pub stalls_per_viewer_hour: f64,
    /// Share of viewing time spent stalled, 0..=1.
    pub stall_ratio: f64,
}

impl Quality {
    fn of(viewer_ms: i64, stalls: i64, stall_ms: i64) -> Self {
        let hours = viewer_ms as f64 / MS_PER_HOUR;
        Self {
            viewer_hours: hours,
            stalls,
            stalls_per_viewer_hour: if hours > 0.0 {
                stalls as f64 / hours
            } else {
                0.0
            },
            stall_ratio: ratio(stall_ms, viewer_ms),
        }
    }
}

/// Totals of one stream (content) over the report's window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamReport {
    pub content: String,
    pub http_bytes: i64,
    pub p2p_bytes: i64,
    pub uploaded_bytes: i64,
    /// Bytes the CDN did not carry (delivered by peers).
    pub bytes_saved: i64,
    /// p2p / (http + p2p), 0..=1.
    pub offload: f64,
    /// Average concurrent viewers in the newest bucket.
    pub current_viewers: f64,
    /// Average peers per viewer over the window.
    pub peers_per_viewer: f64,
    pub beacons: i64,
    pub startup_ms_avg: Option<f64>,
    /// All viewing, viewing with peers, HTTP-only viewing.
    pub quality: Quality,
    pub quality_p2p: Quality,
    pub quality_http_only: Quality,
    pub renditions: Vec<String>,
}

/// One point of the time series (per bucket and content).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Bucket start, Unix seconds.
    pub t: i64,
    pub content: String,
    /// Average concurrent viewers in the bucket.
    pub viewers: f64,
    pub http_bytes: i64,
    pub p2p_bytes: i64,
    pub offload: f64,
    pub peers_per_viewer: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkReport {
    pub asn: i64,
    pub country: String,
    pub region: String,
    pub http_bytes: i64,
    pub p2p_bytes: i64,
    pub p2p_share: f64,
    pub viewer_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionReport {
    pub candidate: String,
    pub ok: i64,
    pub failed: i64,
    /// ok / (ok + failed), 0..=1.
    pub success_rate: f64,
}

/// What the dashboard and `GET /v1/analytics` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub bucket_secs: u64,
    /// Window start and end, Unix seconds.
    pub from: i64,
    pub to: i64,
    pub streams: Vec<StreamReport>,
    pub series: Vec<SeriesPoint>,
    pub networks: Vec<NetworkReport>,
    pub connections: Vec<ConnectionReport>,
}

/// Builds the report of `rows` for the window `[from, now_secs]`.
pub fn report(rows: &Rows, from: i64, now_secs: u64, bucket_secs: u64) -> Report {
    let bucket_secs = bucket_secs.max(1);
    let now = now_secs as i64;
    let newest = bucket_of(now_secs, bucket_secs);
    // Length of a bucket's viewing window in ms: the current bucket has only run so far.
    let span_ms = |bucket: i64| -> i64 {
        if bucket >= newest {
            ((now - bucket).max(1) * 1000).min(bucket_secs as i64 * 1000)
        } else {
            bucket_secs as i64 * 1000
        }
    };
    let mut per_content: BTreeMap<&str, (StreamSums, Vec<&str>)> = BTreeMap::new();
    let mut per_point: BTreeMap<(i64, &str), StreamSums> = BTreeMap::new();
    for (k, v) in rows.streams.iter().filter(|(k, _)| k.bucket >= from) {
        let entry = per_content.entry(&k.content).or_default();
        entry.0.add(v);
        if !entry.1.contains(&k.rendition.as_str()) && !k.rendition.is_empty() {
            entry.1.push(&k.rendition);
        }
        per_point.entry((k.bucket, &k.content)).or_default().add(v);
    }
    let series: Vec<SeriesPoint> = per_point
        .iter()
        .map(|((t, content), s)| SeriesPoint {
            t: *t,
            content: content.to_string(),
            viewers: ratio(s.viewer_ms, span_ms(*t)),
            http_bytes: s.http_bytes,
            p2p_bytes: s.p2p_bytes,
            offload: ratio(s.p2p_bytes, s.http_bytes + s.p2p_bytes),
            peers_per_viewer: ratio(s.peer_ms, s.viewer_ms),
        })
        .collect();
    let streams = per_content
        .into_iter()
        .map(|(content, (s, mut renditions))| {
            renditions.sort_unstable();
            let current = series
                .iter()
                .filter(|p| p.content == content)
                .max_by_key(|p| p.t)
                .filter(|p| p.t >= newest - bucket_secs as i64)
                .map(|p| p.viewers)
                .unwrap_or(0.0);
            StreamReport {
                content: content.to_string(),
                http_bytes: s.http_bytes,
                p2p_bytes: s.p2p_bytes,
                uploaded_bytes: s.up_bytes,
                bytes_saved: s.p2p_bytes,
                offload: ratio(s.p2p_bytes, s.http_bytes + s.p2p_bytes),
                current_viewers: current,
                peers_per_viewer: ratio(s.peer_ms, s.viewer_ms),
                beacons: s.beacons,
                startup_ms_avg: (s.startups > 0).then(|| ratio(s.startup_ms, s.startups)),
                quality: Quality::of(s.viewer_ms, s.stalls, s.stall_ms),
                quality_p2p: Quality::of(
                    s.viewer_ms - s.http_only_viewer_ms,
                    s.stalls - s.http_only_stalls,
                    s.stall_ms - s.http_only_stall_ms,
                ),
                quality_http_only: Quality::of(
                    s.http_only_viewer_ms,
                    s.http_only_stalls,
                    s.http_only_stall_ms,
                ),
                renditions: renditions.into_iter().map(str::to_string).collect(),
            }
        })
        .collect();
    let mut nets: BTreeMap<(i64, &str, &str), NetworkSums> = BTreeMap::new();
    for (k, v) in rows.networks.iter().filter(|(k, _)| k.bucket >= from) {
        let e = nets.entry((k.asn, &k.country, &k.region)).or_default();
        e.viewer_ms += v.viewer_ms;
        e.http_bytes += v.http_bytes;
        e.p2p_bytes += v.p2p_bytes;
    }
    let mut networks: Vec<NetworkReport> = nets
        .into_iter()
        .map(|((asn, country, region), v)| NetworkReport {
            asn,
            country: country.into(),
            region: region.into(),
            http_bytes: v.http_bytes,
            p2p_bytes: v.p2p_bytes,
            p2p_share: ratio(v.p2p_bytes, v.http_bytes + v.p2p_bytes),
            viewer_hours: v.viewer_ms as f64 / MS_PER_HOUR,
        })
        .collect();
    networks.sort_by_key(|n| std::cmp::Reverse(n.http_bytes + n.p2p_bytes));
    let mut conns: BTreeMap<&str, ConnectionSums> = BTreeMap::new();
    for (k, v) in rows.connections.iter().filter(|(k, _)| k.bucket >= from) {
        let e = conns.entry(&k.candidate).or_default();
        e.ok += v.ok;
        e.failed += v.failed;
    }
    let connections = conns
        .into_iter()
        .map(|(candidate, v)| ConnectionReport {
            candidate: candidate.into(),
            ok: v.ok,
            failed: v.failed,
            success_rate: ratio(v.ok, v.ok + v.failed),
        })
        .collect();
    Report {
        bucket_secs,
        from,
        to: now,
        streams,
        series,
        networks,
        connections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(content: &str, http: u64, p2p: u64, peers: u32, stalls: u32) -> Beacon {
        let mut b = Beacon::parse(
            serde_json::json!({"v":1,"token":"t","content":content,"rendition":"r1","viewer":"v","seq":1,"interval_ms":10_000})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        b.http = http;
        b.p2p = p2p;
        b.peers = peers;
        b.stalls = stalls;
        b.stall_ms = stalls as u64 * 100;
        b
    }

    const T0: u64 = 1_800_000_000; // a multiple of 60

    #[test]
    fn beacons_add_up_per_bucket_and_the_report_derives_the_figures() {
        let mut p = Pending::default();
        let net = Network {
            asn: 64500,
            country: "DE".into(),
            region: "BE".into(),
        };
        // Two viewers for 10 s each in the first minute; one of them HTTP-only with a stall.
        p.add(&beacon("a", 1000, 3000, 2, 0), &net, T0 + 5, 60);
        let mut c = beacon("a", 4000, 0, 0, 1);
        c.conn.relay.ok = 1;
        c.conn.host.fail = 2;
        c.startup_ms = Some(700);
        p.add(&c, &Network::default(), T0 + 30, 60);
        // The next minute.
        p.add(&beacon("a", 0, 1000, 1, 0), &net, T0 + 61, 60);
        assert_eq!(p.streams.len(), 2);
        assert_eq!(p.networks.len(), 3);
        assert_eq!(p.connections.len(), 2);

        let mut rows = Rows::default();
        rows.merge(&p);
        let r = report(&rows, T0 as i64, T0 + 90, 60);
        assert_eq!(r.streams.len(), 1);
        let s = &r.streams[0];
        assert_eq!(
            (s.http_bytes, s.p2p_bytes, s.bytes_saved),
            (5000, 4000, 4000)
        );
        assert!((s.offload - 4000.0 / 9000.0).abs() < 1e-9);
        // 30 viewer-seconds, 30 peer-seconds (2×10 + 0×10 + 1×10).
        assert!((s.peers_per_viewer - 1.0).abs() < 1e-9);
        assert_eq!(s.startup_ms_avg, Some(700.0));
        assert_eq!(s.quality_http_only.stalls, 1);
        assert!((s.quality_http_only.viewer_hours - 10.0 / 3600.0).abs() < 1e-12);
        assert!((s.quality_http_only.stalls_per_viewer_hour - 360.0).abs() < 1e-6);
        assert_eq!(s.quality_p2p.stalls, 0);
        // Series: minute 0 = 20 viewer-s over 60 s; minute 1 has run 30 s with 10 viewer-s.
        assert_eq!(r.series.len(), 2);
        assert!((r.series[0].viewers - 20.0 / 60.0).abs() < 1e-9);
        assert!((r.series[1].viewers - 10.0 / 30.0).abs() < 1e-9);
        assert!((s.current_viewers - r.series[1].viewers).abs() < 1e-12);
        // Networks: the known one carried 4000 p2p of 5000.
        let de = r.networks.iter().find(|n| n.asn == 64500).unwrap();
        assert!((de.p2p_share - 0.8).abs() < 1e-9);
        let relay = r
            .connections
            .iter()
            .find(|c| c.candidate == "relay")
            .unwrap();
        assert_eq!((relay.ok, relay.failed, relay.success_rate), (1, 0, 1.0));
        let host = r
            .connections
            .iter()
            .find(|c| c.candidate == "host")
            .unwrap();
        assert_eq!(host.success_rate, 0.0);
    }

    #[test]
    fn the_window_and_access_filter_rows() {
        let mut p = Pending::default();
        p.add(&beacon("a", 1, 0, 0, 0), &Network::default(), T0, 60);
        p.add(&beacon("b", 2, 0, 0, 0), &Network::default(), T0 + 120, 60);
        let mut rows = Rows::default();
        rows.merge(&p);
        assert_eq!(report(&rows, T0 as i64 + 60, T0 + 130, 60).streams.len(), 1);
        rows.retain(|c| c == "a");
        let r = report(&rows, 0, T0 + 130, 60);
        assert_eq!(r.streams.len(), 1);
        assert_eq!(r.streams[0].content, "a");
        assert_eq!(
            r.streams[0].current_viewers, 0.0,
            "no beacon in the newest buckets"
        );
    }
}
