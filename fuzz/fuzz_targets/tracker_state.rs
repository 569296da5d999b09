//! The tracker state machine, driven by a sequence of operations decoded from the input:
//! connections opening (open or token-gated, with network facts) and closing, announces with
//! offers and events, answers to relayed offers (and forged ones), scrapes, raw frames, time
//! passing, and a hot-upgrade round trip (export, import).
//!
//! Invariants checked after every operation:
//! - every reply is JSON and goes to an open connection (a connection the tracker does not know
//!   only gets its own refusal); an offer never goes back to its sender, and a token-gated
//!   connection only ever hears of its own content's swarms;
//! - the counts agree: peers = seeders + leechers = the sum over swarms, no empty swarm is kept,
//!   connections = the open ones, pending offers within the configured table size;
//! - peer ids are unique within a swarm, and each swarm lists as many peers as it counts;
//! - export then import gives the same stats, and the import exports the same state again;
//! - at the end, closing every connection leaves no peer and no swarm, and expiring far in the
//!   future leaves no pending offer and no link.
#![no_main]

use std::collections::{HashMap, HashSet};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshcdn_tracker::token::{CONTENT_PREFIX_LEN, SwarmClaims, content_prefix, swarm_id};
use meshcdn_tracker::{Admission, InfoHash, NetworkFacts, OfferId, PeerId, Tracker, TrackerConfig};
use serde_json::{Value, json};

const T0: u64 = 1_800_000_000_000;
const CONNS: u8 = 8;
const PEERS: u8 = 10;
const MAX_PENDING: usize = 16;
const MAX_SWARMS: usize = 3;

#[derive(Debug, Arbitrary)]
enum Op {
    Open {
        conn: u8,
        facts: u8,
        token: bool,
    },
    Close {
        conn: u8,
    },
    Announce {
        conn: u8,
        peer: u8,
        swarm: u8,
        offers: u8,
        event: u8,
        upload: Option<bool>,
        peers: Option<u16>,
        failed: Vec<u8>,
    },
    /// Answers the last offer relayed to `conn`, as peer `peer`.
    Answer {
        conn: u8,
        peer: u8,
    },
    Forged {
        conn: u8,
        peer: u8,
        to: u8,
        swarm: u8,
        offer: u8,
    },
    Scrape {
        conn: u8,
        swarms: Vec<u8>,
        all: bool,
    },
    Raw {
        conn: u8,
        text: String,
    },
    Advance {
        ms: u32,
    },
    Roundtrip,
}

fn swarm(n: u8) -> InfoHash {
    // Swarms 0..=2 belong to content "a" (the content of every token), 3 and 4 to "b".
    let content = if n % 5 < 3 { "a" } else { "b" };
    swarm_id(content, &format!("r{}", n % 5))
}

fn pid(n: u8) -> PeerId {
    let mut b = [0x80u8; 20];
    b[0] = n % PEERS;
    PeerId(b)
}

fn oid(peer: u8, i: u32) -> OfferId {
    let mut b = [0xFEu8; 20];
    b[0] = peer;
    b[1..5].copy_from_slice(&i.to_be_bytes());
    OfferId(b)
}

fn facts(n: u8) -> NetworkFacts {
    let pick =
        |v: &[&str], i: u8| Some(v[usize::from(i) % v.len()].to_owned()).filter(|s| !s.is_empty());
    NetworkFacts {
        asn: (!n.is_multiple_of(4)).then_some(64_500 + u32::from(n % 3)),
        country: pick(&["FR", "US", "", "de"], n),
        region: pick(&["IDF", "", "CA"], n / 4),
        continent: pick(&["EU", "NA", ""], n / 12),
    }
}

fn token() -> Admission {
    let claims = SwarmClaims {
        iss: "meshcdn".into(),
        aud: "meshcdn-tracker".into(),
        exp: T0 / 1000 + 600,
        nbf: None,
        iat: T0 / 1000,
        cid: "a".into(),
        sub: None,
    };
    Admission::Token(claims.grant())
}

struct Sim {
    t: Tracker,
    now: u64,
    /// Open connections: conn -> token-gated.
    open: HashMap<u64, bool>,
    /// The last offer relayed to each connection.
    last_offer: HashMap<u64, Value>,
    seq: u32,
}

impl Sim {
    fn drain(&mut self, sender: Option<u64>) -> Vec<(u64, Value)> {
        let mut out = Vec::new();
        while let Some(o) = self.t.poll_outbound() {
            let v: Value = serde_json::from_str(&o.text).expect("the tracker emits JSON");
            let to = o.conn;
            assert!(
                self.open.contains_key(&to)
                    || (Some(to) == sender && v.get("failure reason").is_some()),
                "frame to a closed connection {to}: {v}"
            );
            if v.get("offer").is_some() {
                assert_ne!(Some(to), sender, "an offer went back to its sender");
                if self.open[&to] {
                    let ih = v["info_hash"].as_str().expect("info_hash");
                    let ih = InfoHash::from_binary_str(ih).expect("binary string");
                    assert!(
                        ih.0[..CONTENT_PREFIX_LEN] == content_prefix("a"),
                        "token connection {to} heard of another content's swarm"
                    );
                }
                self.last_offer.insert(to, v.clone());
            }
            out.push((to, v));
        }
        out
    }

    fn send(&mut self, conn: u64, text: &str) -> Vec<(u64, Value)> {
        self.t.handle_message(conn, text, self.now);
        let out = self.drain(Some(conn));
        if !self.open.contains_key(&conn) {
            assert!(out.iter().any(|(_, v)| v.get("failure reason").is_some()));
        }
        out
    }

    fn check(&self) {
        let st = self.t.stats();
        if let Some(e) = st.inconsistency() {
            panic!("tracker stats: {e}");
        }
        assert!(
            st.pending_offers as usize <= MAX_PENDING,
            "{} pending",
            st.pending_offers
        );
        assert_eq!(st.connections as usize, self.open.len());
        for w in &st.swarms {
            let ih = InfoHash::from_hex(&w.info_hash).expect("hex info_hash");
            let peers = self.t.swarm_peers(&ih);
            let unique: HashSet<_> = peers.iter().collect();
            assert_eq!(unique.len(), peers.len(), "a peer id twice in one swarm");
            assert_eq!(peers.len() as u64, w.peers);
        }
    }
}

fuzz_target!(|input: (u64, Vec<Op>)| {
    let (seed, ops) = input;
    let config = TrackerConfig {
        max_peers_per_viewer: 3,
        max_pending_offers: MAX_PENDING,
        max_swarms_per_conn: MAX_SWARMS,
        max_offers: 4,
        ..TrackerConfig::default()
    };
    let mut s = Sim {
        t: Tracker::new(config, seed),
        now: T0,
        open: HashMap::new(),
        last_offer: HashMap::new(),
        seq: 0,
    };
    for op in ops.into_iter().take(200) {
        s.seq += 1;
        match op {
            Op::Open {
                conn,
                facts: f,
                token: tok,
            } => {
                let conn = u64::from(conn % CONNS);
                s.t.connection_opened(conn, facts(f), if tok { token() } else { Admission::Open });
                s.open.insert(conn, tok);
                s.drain(None);
            }
            Op::Close { conn } => {
                let conn = u64::from(conn % CONNS);
                s.t.connection_closed(conn, s.now);
                s.open.remove(&conn);
                s.last_offer.remove(&conn);
                s.drain(None);
            }
            Op::Announce {
                conn,
                peer,
                swarm: sw,
                offers,
                event,
                upload,
                peers,
                failed,
            } => {
                let conn = u64::from(conn % CONNS);
                let offers: Vec<Value> = (0..u32::from(offers % 6))
                    .map(|i| json!({"offer": {"type": "offer", "sdp": "v=0 offer"}, "offer_id": oid(peer, s.seq * 8 + i).to_binary_string()}))
                    .collect();
                let event = ["started", "stopped", "completed", "update", "", "paused"]
                    [usize::from(event % 6)];
                let mut v = json!({
                    "action": "announce",
                    "info_hash": swarm(sw).to_binary_string(),
                    "peer_id": pid(peer).to_binary_string(),
                    "numwant": offers.len(),
                    "uploaded": 0, "downloaded": 0,
                    "left": if event == "completed" { json!(0) } else { Value::Null },
                    "event": event,
                    "offers": offers,
                });
                let failed: Vec<String> = failed
                    .iter()
                    .take(4)
                    .map(|&p| pid(p).to_binary_string())
                    .collect();
                v["meshcdn"] = json!({"upload": upload, "peers": peers, "failed": failed});
                s.send(conn, &v.to_string());
            }
            Op::Answer { conn, peer } => {
                let conn = u64::from(conn % CONNS);
                let text = match s.last_offer.get(&conn) {
                    Some(o) => json!({
                        "action": "announce",
                        "info_hash": o["info_hash"],
                        "peer_id": pid(peer).to_binary_string(),
                        "to_peer_id": o["peer_id"],
                        "offer_id": o["offer_id"],
                        "answer": {"type": "answer", "sdp": "v=0 answer"},
                    })
                    .to_string(),
                    None => r#"{"action":"announce"}"#.to_owned(),
                };
                s.send(conn, &text);
            }
            Op::Forged {
                conn,
                peer,
                to,
                swarm: sw,
                offer,
            } => {
                let text = json!({
                    "action": "announce",
                    "info_hash": swarm(sw).to_binary_string(),
                    "peer_id": pid(peer).to_binary_string(),
                    "to_peer_id": pid(to).to_binary_string(),
                    "offer_id": oid(to, u32::from(offer)).to_binary_string(),
                    "answer": {"type": "answer", "sdp": "v=0 answer"},
                });
                s.send(u64::from(conn % CONNS), &text.to_string());
            }
            Op::Scrape { conn, swarms, all } => {
                let v = if all {
                    json!({"action": "scrape"})
                } else {
                    let list: Vec<String> = swarms
                        .iter()
                        .take(8)
                        .map(|&n| swarm(n).to_binary_string())
                        .collect();
                    json!({"action": "scrape", "info_hash": list})
                };
                let out = s.send(u64::from(conn % CONNS), &v.to_string());
                assert_eq!(out.len(), 1, "one reply to a scrape: {out:?}");
            }
            Op::Raw { conn, text } => {
                s.send(u64::from(conn % CONNS), &text);
            }
            Op::Advance { ms } => {
                s.now += u64::from(ms % 400_000);
                s.t.expire(s.now);
                s.drain(None);
            }
            Op::Roundtrip => {
                let bytes = s.t.export_state();
                let before = s.t.stats();
                s.t = Tracker::import_state(&bytes).expect("its own export imports");
                assert_eq!(before, s.t.stats(), "stats changed across export/import");
                let again = Tracker::import_state(&s.t.export_state()).expect("imports again");
                assert_eq!(before, again.stats());
                s.drain(None);
            }
        }
        s.check();
    }
    // Everyone leaves: nothing stays behind.
    for conn in 0..u64::from(CONNS) {
        s.t.connection_closed(conn, s.now);
    }
    s.open.clear();
    s.drain(None);
    let st = s.t.stats();
    assert_eq!(
        (st.peers, st.swarm_count, st.connections),
        (0, 0, 0),
        "{st:?}"
    );
    s.t.expire(s.now + 3_600_000);
    let st = s.t.stats();
    assert_eq!((st.pending_offers, st.links), (0, 0), "{st:?}");
});
