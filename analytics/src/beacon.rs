//! The beacon a viewer posts every few seconds (format in docs/analytics.md) and its checks.
//!
//! Counters are deltas since the viewer's previous beacon, so a lost beacon loses only its own
//! interval and nothing is counted twice. Every field is bounded; anything out of range refuses
//! the whole beacon with a message naming the field.

use serde::Deserialize;

/// Beacon format version.
pub const VERSION: u32 = 1;
/// Longest interval one beacon may cover, in ms.
pub const MAX_INTERVAL_MS: u64 = 300_000;
/// Most bytes one beacon may report per counter (1 TiB).
pub const MAX_BYTES: u64 = 1 << 40;
/// Most peers a viewer may report.
pub const MAX_PEERS: u32 = 1_000;
/// Most stalls or connection attempts per counter in one beacon.
pub const MAX_EVENTS: u32 = 10_000;
/// Longest startup time accepted, in ms.
pub const MAX_STARTUP_MS: u64 = 600_000;
/// Longest content id, rendition and player strings.
pub const MAX_NAME_LEN: usize = 256;
/// Longest viewer id.
pub const MAX_VIEWER_LEN: usize = 64;

/// Connection attempts to peers, by the type of the local ICE candidate of the pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outcome {
    /// Data channels that opened.
    pub ok: u32,
    /// Attempts that failed or timed out.
    pub fail: u32,
}

/// Connection outcomes by the type of the selected candidate pair (`relay` if either side
/// relays, else `srflx`, else `prflx`, else `host`), and `none`: attempts that failed before ICE
/// selected any pair (their type is unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connections {
    pub host: Outcome,
    pub srflx: Outcome,
    pub prflx: Outcome,
    pub relay: Outcome,
    pub none: Outcome,
}

impl Connections {
    /// `(candidate pair type or "none", outcome)` for each.
    pub fn by_type(&self) -> [(&'static str, Outcome); 5] {
        [
            ("host", self.host),
            ("srflx", self.srflx),
            ("prflx", self.prflx),
            ("relay", self.relay),
            ("none", self.none),
        ]
    }
}

/// One beacon, as posted (`POST /v1/beacons`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// Format version, [`VERSION`].
    pub v: u32,
    /// The swarm token of the stream (its `cid` must equal `content`).
    pub token: String,
    /// Content id (the bootstrap's `content`).
    pub content: String,
    /// Rendition the viewer plays (the bootstrap's `swarms` key); empty when unknown.
    #[serde(default)]
    pub rendition: String,
    /// Random id of this playback session (the client's peer id, hex).
    pub viewer: String,
    /// 0 for the first beacon of a session, then +1 each.
    pub seq: u64,
    /// Time covered by this beacon (since the previous one, or since the session started), ms.
    pub interval_ms: u64,
    /// Segment bytes received over HTTP in the interval.
    #[serde(default)]
    pub http: u64,
    /// Segment bytes received from peers in the interval.
    #[serde(default)]
    pub p2p: u64,
    /// Bytes uploaded to peers in the interval.
    #[serde(default)]
    pub up: u64,
    /// Peers connected at the time of the beacon.
    #[serde(default)]
    pub peers: u32,
    #[serde(default)]
    pub conn: Connections,
    /// Stalls (playback waiting for data after it had started) that began in the interval.
    #[serde(default)]
    pub stalls: u32,
    /// Time spent stalled in the interval, ms.
    #[serde(default)]
    pub stall_ms: u64,
    /// Time from the start of loading to the first frame playing, ms: sent once per session.
    #[serde(default)]
    pub startup_ms: Option<u64>,
    /// Player and version, e.g. `hls.js 1.5.20`.
    #[serde(default)]
    pub player: String,
    /// The network facts the edge saw of this viewer (its tracker's first announce reply carries
    /// them): used where the beacon request itself has no trusted CDN headers.
    #[serde(default)]
    pub net: Option<BeaconNetwork>,
}

/// Network facts as the edge reported them to the client (unknown facts absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconNetwork {
    pub asn: Option<u32>,
    pub country: Option<String>,
    pub region: Option<String>,
    /// Sent by the edge, not aggregated here.
    pub continent: Option<String>,
}

/// Longest network fact string (the edge's own limit).
const MAX_FACT_LEN: usize = 64;

/// Why a beacon was refused (all map to 400 except where noted by the routes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    #[error("beacon is not valid JSON of the beacon format: {0}")]
    Malformed(String),
    #[error("unsupported beacon version {0} (this server reads version {VERSION})")]
    Version(u32),
    #[error("field `{field}` is out of range: {reason}")]
    OutOfRange { field: &'static str, reason: String },
}

fn range(
    field: &'static str,
    ok: bool,
    reason: impl FnOnce() -> String,
) -> Result<(), BeaconError> {
    if ok {
        Ok(())
    } else {
        Err(BeaconError::OutOfRange {
            field,
            reason: reason(),
        })
    }
}

fn name(
    field: &'static str,
    value: &str,
    max: usize,
    may_be_empty: bool,
) -> Result<(), BeaconError> {
    range(
        field,
        (may_be_empty || !value.is_empty())
            && value.len() <= max
            && !value.chars().any(char::is_control),
        || {
            format!(
                "must be {}..={max} bytes without control characters",
                if may_be_empty { 0 } else { 1 }
            )
        },
    )
}

impl Beacon {
    /// Parses and checks a beacon body.
    pub fn parse(body: &[u8]) -> Result<Self, BeaconError> {
        let beacon: Beacon =
            serde_json::from_slice(body).map_err(|e| BeaconError::Malformed(e.to_string()))?;
        beacon.validate()?;
        Ok(beacon)
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), BeaconError> {
        if self.v != VERSION {
            return Err(BeaconError::Version(self.v));
        }
        name("content", &self.content, MAX_NAME_LEN, false)?;
        name("rendition", &self.rendition, MAX_NAME_LEN, true)?;
        name("player", &self.player, MAX_NAME_LEN, true)?;
        if let Some(net) = &self.net {
            for (field, v) in [
                ("net.country", &net.country),
                ("net.region", &net.region),
                ("net.continent", &net.continent),
            ] {
                if let Some(v) = v {
                    name(field, v, MAX_FACT_LEN, false)?;
                }
            }
        }
        range(
            "viewer",
            !self.viewer.is_empty()
                && self.viewer.len() <= MAX_VIEWER_LEN
                && self
                    .viewer
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            || format!("must be 1..={MAX_VIEWER_LEN} characters of [A-Za-z0-9_-]"),
        )?;
        range("interval_ms", self.interval_ms <= MAX_INTERVAL_MS, || {
            format!("at most {MAX_INTERVAL_MS}")
        })?;
        for (field, v) in [("http", self.http), ("p2p", self.p2p), ("up", self.up)] {
            range(field, v <= MAX_BYTES, || {
                format!("at most {MAX_BYTES} bytes")
            })?;
        }
        range("peers", self.peers <= MAX_PEERS, || {
            format!("at most {MAX_PEERS}")
        })?;
        range("stalls", self.stalls <= MAX_EVENTS, || {
            format!("at most {MAX_EVENTS}")
        })?;
        range("stall_ms", self.stall_ms <= self.interval_ms, || {
            "cannot exceed interval_ms".into()
        })?;
        if let Some(startup) = self.startup_ms {
            range("startup_ms", startup <= MAX_STARTUP_MS, || {
                format!("at most {MAX_STARTUP_MS}")
            })?;
        }
        for (_, o) in self.conn.by_type() {
            range("conn", o.ok <= MAX_EVENTS && o.fail <= MAX_EVENTS, || {
                format!("each count at most {MAX_EVENTS}")
            })?;
        }
        Ok(())
    }

    /// The viewer had no peer in this interval: it played over HTTP only.
    pub fn http_only(&self) -> bool {
        self.p2p == 0 && self.peers == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> serde_json::Value {
        serde_json::json!({
            "v": 1, "token": "t", "content": "live/a", "rendition": "720p/index.m3u8",
            "viewer": "0123abcd", "seq": 0, "interval_ms": 5000, "http": 1000, "p2p": 3000,
            "up": 500, "peers": 2, "conn": {"host": {"ok": 2}, "none": {"fail": 1}}, "stalls": 1,
            "stall_ms": 300, "startup_ms": 800, "player": "hls.js 1.5"
        })
    }

    fn parse(v: serde_json::Value) -> Result<Beacon, BeaconError> {
        Beacon::parse(v.to_string().as_bytes())
    }

    #[test]
    fn a_full_beacon_parses_and_optional_fields_default() {
        let b = parse(sample()).unwrap();
        assert_eq!(b.conn.host, Outcome { ok: 2, fail: 0 });
        assert_eq!(b.conn.none, Outcome { ok: 0, fail: 1 });
        assert_eq!(b.conn.relay, Outcome::default());
        assert!(!b.http_only());
        let b = parse(serde_json::json!({"v":1,"token":"t","content":"c","viewer":"v","seq":3,"interval_ms":1000})).unwrap();
        assert_eq!((b.http, b.p2p, b.peers, b.startup_ms), (0, 0, 0, None));
        assert!(b.http_only());
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: [(&str, serde_json::Value, &str); 9] = [
            ("v", serde_json::json!(2), "version 2"),
            ("content", serde_json::json!(""), "`content`"),
            ("viewer", serde_json::json!("a b"), "`viewer`"),
            (
                "interval_ms",
                serde_json::json!(MAX_INTERVAL_MS + 1),
                "`interval_ms`",
            ),
            ("p2p", serde_json::json!(MAX_BYTES + 1), "`p2p`"),
            ("peers", serde_json::json!(MAX_PEERS + 1), "`peers`"),
            ("stall_ms", serde_json::json!(6000), "`stall_ms`"),
            (
                "startup_ms",
                serde_json::json!(MAX_STARTUP_MS + 1),
                "`startup_ms`",
            ),
            ("rendition", serde_json::json!("x\u{0}"), "`rendition`"),
        ];
        for (field, value, expected) in cases {
            let mut b = sample();
            b[field] = value;
            let err = parse(b).unwrap_err().to_string();
            assert!(err.contains(expected), "{field}: {err}");
        }
    }

    #[test]
    fn unknown_fields_wrong_types_and_non_json_are_malformed() {
        let mut b = sample();
        b["extra"] = serde_json::json!(1);
        assert!(matches!(parse(b), Err(BeaconError::Malformed(m)) if m.contains("extra")));
        let mut b = sample();
        b["conn"] = serde_json::json!({"turn": {"ok": 1}});
        assert!(matches!(parse(b), Err(BeaconError::Malformed(_))));
        let mut b = sample();
        b["http"] = serde_json::json!(-1);
        assert!(matches!(parse(b), Err(BeaconError::Malformed(_))));
        assert!(matches!(
            Beacon::parse(b"not json"),
            Err(BeaconError::Malformed(_))
        ));
    }
}
