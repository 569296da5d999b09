//! Tracker configuration. Every field has a default; unknown fields are refused so a typo in a
//! config file is an error, not a silently ignored setting. Values above the hard caps are
//! clamped by [`TrackerConfig::validated`] (a config must not be able to disable the bounds).

use serde::{Deserialize, Serialize};

/// Hard caps that no configuration can exceed.
pub mod caps {
    /// Offers relayed per announce.
    pub const MAX_OFFERS: usize = 32;
    /// Message size, in bytes.
    pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
    /// Pending offers, tracker-wide.
    pub const MAX_PENDING_OFFERS: usize = 4_000_000;
    /// Swarms one connection may be in.
    pub const MAX_SWARMS_PER_CONN: usize = 1024;
    /// Info hashes in one scrape request.
    pub const MAX_SCRAPE: usize = 10_000;
    /// Swarms of one content (the first `CONTENT_PREFIX_LEN` bytes of the info_hash) in one
    /// tracker.
    pub const MAX_SWARMS_PER_CONTENT: usize = 4096;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// Offers relayed per announce, at most (aquatic_ws and bittorrent-tracker use 10).
    pub max_offers: usize,
    /// Peers a viewer is connected to (or has pending offers from) before it gets no more offers.
    pub max_peers_per_viewer: u16,
    /// A peer that has not announced for this long is dropped, in milliseconds.
    pub peer_timeout_ms: u64,
    /// A relayed offer that was not answered within this is forgotten (its answer is refused), in ms.
    pub offer_timeout_ms: u64,
    /// How long an answered offer counts as a live link in the load of both peers, in ms
    /// (the tracker cannot see WebRTC connections close; clients that report `meshcdn.peers`
    /// override this estimate).
    pub link_timeout_ms: u64,
    /// `interval` sent in announce responses, in seconds.
    pub announce_interval_secs: u32,
    /// Larger inbound frames are refused, in bytes.
    pub max_message_bytes: usize,
    /// Pending offers kept, tracker-wide; the oldest are dropped beyond it. Each costs about
    /// 320 bytes (docs/benchmarks/tracker.md), so the default bounds the table near 85 MB; the
    /// links table has the same bound. The edge host treats it as the host's bound and splits
    /// it between its shards.
    pub max_pending_offers: usize,
    /// Swarms one connection may announce to.
    pub max_swarms_per_conn: usize,
    /// Info hashes in one scrape request, at most (a longer list is refused). Only swarms that
    /// exist are answered; a scrape without `info_hash` (scrape-all) is refused.
    pub max_scrape: usize,
    /// Swarms of one content (info_hashes sharing the content part, see
    /// [`crate::token::CONTENT_PREFIX_LEN`]) this tracker holds, at most: a token pins only the
    /// content part, so without it one public token would open unlimited swarm ids. An announce
    /// that would open one more is refused.
    pub max_swarms_per_content: usize,
    /// Swarms of one content one connection may be in (renditions of what it watches).
    pub max_swarms_per_content_per_conn: usize,
    /// Never relay an offer between two peers that already have an offer pending or a live link
    /// between them (`true`, the default: a second offer would only open a duplicate
    /// connection). `false` relays like aquatic_ws and bittorrent-tracker do, to any eligible
    /// peer: for benchmarks that compare the same work.
    pub offer_dedupe: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            max_offers: 10,
            max_peers_per_viewer: 20,
            peer_timeout_ms: 180_000,
            offer_timeout_ms: 120_000,
            link_timeout_ms: 300_000,
            announce_interval_secs: 120,
            max_message_bytes: crate::protocol::DEFAULT_MAX_MESSAGE_BYTES,
            max_pending_offers: 262_144,
            max_swarms_per_conn: 64,
            max_scrape: 1000,
            max_swarms_per_content: 64,
            max_swarms_per_content_per_conn: 16,
            offer_dedupe: true,
        }
    }
}

impl TrackerConfig {
    /// The config with every value clamped to its hard cap.
    pub fn validated(mut self) -> Self {
        self.max_offers = self.max_offers.min(caps::MAX_OFFERS);
        self.max_message_bytes = self.max_message_bytes.min(caps::MAX_MESSAGE_BYTES);
        self.max_pending_offers = self.max_pending_offers.clamp(1, caps::MAX_PENDING_OFFERS);
        self.max_swarms_per_conn = self.max_swarms_per_conn.clamp(1, caps::MAX_SWARMS_PER_CONN);
        self.max_scrape = self.max_scrape.clamp(1, caps::MAX_SCRAPE);
        self.max_swarms_per_content = self
            .max_swarms_per_content
            .clamp(1, caps::MAX_SWARMS_PER_CONTENT);
        self.max_swarms_per_content_per_conn = self
            .max_swarms_per_content_per_conn
            .clamp(1, self.max_swarms_per_conn);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults_fill_missing_fields() {
        let cfg = TrackerConfig {
            max_offers: 5,
            peer_timeout_ms: 1234,
            ..Default::default()
        };
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<TrackerConfig>(&json).unwrap(), cfg);
        let partial: TrackerConfig = serde_json::from_str(r#"{"max_offers": 3}"#).unwrap();
        assert_eq!(
            partial,
            TrackerConfig {
                max_offers: 3,
                ..Default::default()
            }
        );
        assert_eq!(TrackerConfig::default().max_offers, 10);
        assert_eq!(TrackerConfig::default().max_message_bytes, 65_536);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<TrackerConfig>(r#"{"max_ofers": 3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn hard_caps_clamp() {
        let cfg = TrackerConfig {
            max_offers: 10_000,
            max_message_bytes: usize::MAX,
            max_pending_offers: 0,
            ..Default::default()
        }
        .validated();
        assert_eq!(cfg.max_offers, caps::MAX_OFFERS);
        assert_eq!(cfg.max_message_bytes, caps::MAX_MESSAGE_BYTES);
        assert_eq!(cfg.max_pending_offers, 1);
    }
}
