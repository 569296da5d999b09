//! Property test of the whole state machine: arbitrary sequences of valid, invalid and hostile
//! inputs never panic, every refusal is a `failure reason` reply, and the invariants hold.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use meshcdn_tracker::token::swarm_id;
use meshcdn_tracker::{Admission, NetworkFacts, OfferId, PeerId, Tracker, TrackerConfig};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Op {
    Open(u8, u8),
    Close(u8),
    Announce {
        conn: u8,
        peer: u8,
        swarm: u8,
        offers: u8,
        event: u8,
    },
    AnswerLast {
        conn: u8,
    },
    AnswerForged {
        conn: u8,
        peer: u8,
        to: u8,
        swarm: u8,
    },
    Scrape {
        conn: u8,
        swarm: Option<u8>,
    },
    Garbage {
        conn: u8,
        bytes: Vec<u8>,
    },
    Json {
        conn: u8,
        text: String,
    },
    Advance(u32),
    Roundtrip,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..8, 0u8..4).prop_map(|(c, n)| Op::Open(c, n)),
        1 => (0u8..8).prop_map(Op::Close),
        4 => (0u8..8, 0u8..10, 0u8..3, 0u8..12, 0u8..6).prop_map(|(conn, peer, swarm, offers, event)| Op::Announce { conn, peer, swarm, offers, event }),
        2 => (0u8..8).prop_map(|conn| Op::AnswerLast { conn }),
        1 => (0u8..8, 0u8..10, 0u8..10, 0u8..3).prop_map(|(conn, peer, to, swarm)| Op::AnswerForged { conn, peer, to, swarm }),
        1 => (0u8..8, prop::option::of(0u8..3)).prop_map(|(conn, swarm)| Op::Scrape { conn, swarm }),
        1 => (0u8..8, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(conn, bytes)| Op::Garbage { conn, bytes }),
        1 => (0u8..8, prop_oneof![
            Just("{}".to_string()), Just("[]".to_string()), Just("null".to_string()),
            Just(r#"{"action":"announce","info_hash":null}"#.to_string()),
            Just(r#"{"action":"scrape","info_hash":[[]]}"#.to_string()),
            Just(r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","offers":{}}"#.to_string()),
            Just(r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","answer":{"type":"answer","sdp":"x"}}"#.to_string()),
        ]).prop_map(|(conn, text)| Op::Json { conn, text }),
        1 => (0u32..200_000).prop_map(Op::Advance),
        1 => Just(Op::Roundtrip),
    ]
}

fn swarm(n: u8) -> meshcdn_tracker::InfoHash {
    // Swarm 0 and 1 belong to content "a", swarm 2 to "b": token conns may use only "a".
    match n {
        0 => swarm_id("a", "hi"),
        1 => swarm_id("a", "lo"),
        _ => swarm_id("b", "hi"),
    }
}

fn token_admission() -> Admission {
    let grant = meshcdn_tracker::token::SwarmClaims {
        iss: "meshcdn".into(),
        aud: "meshcdn-tracker".into(),
        exp: T0 / 1000 + 300,
        nbf: None,
        iat: T0 / 1000,
        cid: "a".into(),
        sub: None,
    }
    .grant();
    Admission::Token(grant)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arbitrary_traffic_keeps_the_invariants(ops in prop::collection::vec(op(), 1..80), seed: u64) {
        let cfg = TrackerConfig { max_peers_per_viewer: 3, max_pending_offers: 16, ..Default::default() };
        let mut s = Sim::new(cfg, seed);
        let mut open: HashMap<u64, bool> = HashMap::new(); // conn -> token-gated
        let mut last_offer: HashMap<u64, serde_json::Value> = HashMap::new();
        let mut messages = 0u64;
        for op in ops {
            let mut sent_by: Option<u64> = None;
            let out = match op {
                Op::Open(c, n) => {
                    let facts = facts(100 + u32::from(n % 2), if n < 2 { "FR" } else { "US" }, "R", "EU");
                    let adm = if c % 3 == 0 { token_admission() } else { Admission::Open };
                    s.t.connection_opened(u64::from(c), facts, adm);
                    open.insert(u64::from(c), c % 3 == 0);
                    s.drain()
                }
                Op::Close(c) => {
                    s.t.connection_closed(u64::from(c), s.now);
                    open.remove(&u64::from(c));
                    s.drain()
                }
                Op::Announce { conn, peer, swarm: sw, offers, event } => {
                    let offers: Vec<_> = (0..offers).map(|i| oid(u32::from(peer), messages as u32 * 16 + u32::from(i))).collect();
                    let mut v: serde_json::Value = serde_json::from_str(&announce(swarm(sw), pid(u32::from(peer)), &offers)).unwrap();
                    v["event"] = json!(["started", "stopped", "completed", "update", "", "paused"][event as usize]);
                    if event == 2 { v["left"] = json!(0); }
                    sent_by = Some(u64::from(conn));
                    s.send(u64::from(conn), &v.to_string())
                }
                Op::AnswerLast { conn } => {
                    let conn = u64::from(conn);
                    sent_by = Some(conn);
                    match last_offer.get(&conn) {
                        Some(v) => {
                            let ih = meshcdn_tracker::InfoHash::from_binary_str(v["info_hash"].as_str().unwrap()).unwrap();
                            let from = PeerId::from_binary_str(v["peer_id"].as_str().unwrap()).unwrap();
                            let offer = OfferId::from_binary_str(v["offer_id"].as_str().unwrap()).unwrap();
                            // The answering peer id is unknown here; try every test peer id (most are refused).
                            let mut all = Vec::new();
                            for p in 0..10 {
                                all.extend(s.send(conn, &answer(ih, pid(p), from, offer)));
                                messages += 1;
                            }
                            all
                        }
                        None => s.send(conn, r#"{"action":"announce"}"#),
                    }
                }
                Op::AnswerForged { conn, peer, to, swarm: sw } => {
                    sent_by = Some(u64::from(conn));
                    s.send(u64::from(conn), &answer(swarm(sw), pid(u32::from(peer)), pid(u32::from(to)), oid(u32::from(to), 0)))
                }
                Op::Scrape { conn, swarm: sw } => {
                    sent_by = Some(u64::from(conn));
                    let v = match sw {
                        Some(n) => json!({"action": "scrape", "info_hash": swarm(n).to_binary_string()}),
                        None => json!({"action": "scrape"}),
                    };
                    s.send(u64::from(conn), &v.to_string())
                }
                Op::Garbage { conn, bytes } => {
                    sent_by = Some(u64::from(conn));
                    s.send(u64::from(conn), &String::from_utf8_lossy(&bytes))
                }
                Op::Json { conn, text } => {
                    sent_by = Some(u64::from(conn));
                    s.send(u64::from(conn), &text)
                }
                Op::Advance(ms) => {
                    s.now += u64::from(ms);
                    s.t.expire(s.now);
                    s.drain()
                }
                Op::Roundtrip => {
                    let bytes = s.t.export_state();
                    let before = s.t.stats();
                    s.t = Tracker::import_state(&bytes).expect("own export imports");
                    prop_assert_eq!(before, s.t.stats());
                    s.drain()
                }
            };
            messages += 1;
            for (to, v) in &out {
                // Only open connections are written to (a connection the tracker does not know
                // only gets its own refusal); offers never go back to their sender.
                prop_assert!(
                    open.contains_key(to) || (Some(*to) == sent_by && v.get("failure reason").is_some()),
                    "frame to closed conn {}: {}", to, v
                );
                if v.get("offer").is_some() {
                    prop_assert_ne!(Some(*to), sent_by);
                    let ih = v["info_hash"].as_str().unwrap();
                    if open[to] {
                        // Token-gated connections only ever hear about their content's swarms.
                        prop_assert!(ih != swarm(2).to_binary_string());
                    }
                    last_offer.insert(*to, v.clone());
                }
            }
            if let Some(c) = sent_by {
                // Exactly the sender gets a reply unless it sent an answer (answers get none).
                if !open.contains_key(&c) {
                    prop_assert!(failure(&out).is_some());
                }
            }
            let st = s.t.stats();
            prop_assert_eq!(st.inconsistency(), None);
            prop_assert!(st.pending_offers <= 16);
            let conns_with_peers: HashSet<_> = open.keys().collect();
            prop_assert!(st.connections as usize == conns_with_peers.len());
        }
    }
}

#[test]
fn peers_of_a_token_connection_never_appear_in_other_contents_swarms() {
    let mut s = Sim::new(TrackerConfig::default(), 1);
    s.t.connection_opened(3, NetworkFacts::default(), token_admission());
    for sw in 0..3 {
        s.send(3, &announce(swarm(sw), pid(3), &[]));
    }
    assert_eq!(s.t.swarm_peers(&swarm(0)), vec![pid(3)]);
    assert_eq!(s.t.swarm_peers(&swarm(1)), vec![pid(3)]);
    assert!(s.t.swarm_peers(&swarm(2)).is_empty());
}
