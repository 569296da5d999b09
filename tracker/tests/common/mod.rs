//! Shared harness: a tracker on simulated time with helpers that speak the wire protocol.
#![allow(dead_code)]

use meshcdn_tracker::{
    Admission, ConnId, InfoHash, NetworkFacts, OfferId, PeerId, Tracker, TrackerConfig,
};
use serde_json::{Value, json};

pub const T0: u64 = 1_800_000_000_000;

pub fn ih(n: u8) -> InfoHash {
    InfoHash([n; 20])
}

pub fn pid(n: u32) -> PeerId {
    let mut b = [0x80u8; 20];
    b[..4].copy_from_slice(&n.to_be_bytes());
    PeerId(b)
}

pub fn oid(sender: u32, i: u32) -> OfferId {
    let mut b = [0xFEu8; 20];
    b[..4].copy_from_slice(&sender.to_be_bytes());
    b[4..8].copy_from_slice(&i.to_be_bytes());
    OfferId(b)
}

pub fn facts(asn: u32, country: &str, region: &str, continent: &str) -> NetworkFacts {
    let s = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    NetworkFacts {
        asn: (asn != 0).then_some(asn),
        country: s(country),
        region: s(region),
        continent: s(continent),
    }
}

pub fn announce(info_hash: InfoHash, peer: PeerId, offers: &[OfferId]) -> String {
    let offers: Vec<Value> = offers
        .iter()
        .map(|o| json!({"offer": {"type": "offer", "sdp": format!("v=0 offer {}", o.to_hex())}, "offer_id": o.to_binary_string()}))
        .collect();
    json!({
        "action": "announce",
        "info_hash": info_hash.to_binary_string(),
        "peer_id": peer.to_binary_string(),
        "numwant": offers.len(),
        "uploaded": 0, "downloaded": 0, "left": null,
        "offers": offers,
    })
    .to_string()
}

pub fn announce_event(info_hash: InfoHash, peer: PeerId, event: &str) -> String {
    json!({"action": "announce", "info_hash": info_hash.to_binary_string(), "peer_id": peer.to_binary_string(), "event": event}).to_string()
}

pub fn answer(info_hash: InfoHash, peer: PeerId, to: PeerId, offer: OfferId) -> String {
    json!({
        "action": "announce",
        "info_hash": info_hash.to_binary_string(),
        "peer_id": peer.to_binary_string(),
        "to_peer_id": to.to_binary_string(),
        "offer_id": offer.to_binary_string(),
        "answer": {"type": "answer", "sdp": "v=0 answer"},
    })
    .to_string()
}

pub struct Sim {
    pub t: Tracker,
    pub now: u64,
}

impl Sim {
    pub fn new(config: TrackerConfig, seed: u64) -> Self {
        Self {
            t: Tracker::new(config, seed),
            now: T0,
        }
    }

    pub fn open(&mut self, conn: ConnId, f: NetworkFacts) {
        self.t.connection_opened(conn, f, Admission::Open);
    }

    /// Sends a frame and returns every outbound frame it caused, parsed.
    pub fn send(&mut self, conn: ConnId, text: &str) -> Vec<(ConnId, Value)> {
        self.t.handle_message(conn, text, self.now);
        self.drain()
    }

    pub fn drain(&mut self) -> Vec<(ConnId, Value)> {
        let mut out = Vec::new();
        while let Some(o) = self.t.poll_outbound() {
            out.push((
                o.conn,
                serde_json::from_str(&o.text).expect("tracker emits JSON"),
            ));
        }
        out
    }

    /// Opens `conn` and announces peer `pid(conn)` in `swarm` (no offers).
    pub fn join(&mut self, conn: ConnId, f: NetworkFacts, swarm: InfoHash) {
        self.open(conn, f);
        let out = self.send(conn, &announce(swarm, pid(conn as u32), &[]));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].1.get("failure reason").is_none(), "{out:?}");
    }
}

pub fn failure(out: &[(ConnId, Value)]) -> Option<String> {
    out.iter().find_map(|(_, v)| {
        v.get("failure reason")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// Recipients of relayed offers in `out`.
pub fn offer_recipients(out: &[(ConnId, Value)]) -> Vec<ConnId> {
    out.iter()
        .filter(|(_, v)| v.get("offer").is_some())
        .map(|(c, _)| *c)
        .collect()
}
