//! The tracker state machine through its public API, on simulated time.

mod common;

use common::*;
use meshcdn_tracker::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, SigningKey, SwarmClaims, swarm_id};
use meshcdn_tracker::{Admission, NetworkFacts, PeerId, StateError, Tracker, TrackerConfig};
use serde_json::{Value, json};

fn sim() -> Sim {
    Sim::new(TrackerConfig::default(), 7)
}

#[test]
fn announce_gets_a_reference_shaped_response() {
    let mut s = sim();
    s.open(1, NetworkFacts::default());
    let out = s.send(1, &announce(ih(1), pid(1), &[]));
    assert_eq!(out.len(), 1);
    let (conn, v) = &out[0];
    assert_eq!(*conn, 1);
    assert_eq!(v["action"], "announce");
    assert_eq!(v["info_hash"], ih(1).to_binary_string());
    assert_eq!(v["complete"], 0);
    assert_eq!(v["incomplete"], 1);
    assert_eq!(v["interval"], 120);
    // A seeder (left = 0) counts as complete.
    s.open(2, NetworkFacts::default());
    let seed = json!({"action":"announce","info_hash":ih(1).to_binary_string(),"peer_id":pid(2).to_binary_string(),"left":0}).to_string();
    let out = s.send(2, &seed);
    assert_eq!(
        (
            out[0].1["complete"].as_u64(),
            out[0].1["incomplete"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn a_joining_peer_learns_the_network_facts_the_host_saw_once() {
    let mut s = sim();
    s.open(1, facts(64500, "be", "vlg", "eu"));
    let out = s.send(1, &announce(ih(1), pid(1), &[]));
    assert_eq!(
        out[0].1["meshcdn"]["net"],
        json!({"asn": 64500, "country": "BE", "region": "VLG", "continent": "EU"})
    );
    // Re-announces in the same swarm do not repeat them; joining another swarm does.
    let out = s.send(1, &announce(ih(1), pid(1), &[]));
    assert!(out[0].1.get("meshcdn").is_none(), "{:?}", out[0].1);
    let out = s.send(1, &announce(ih(2), pid(1), &[]));
    assert_eq!(out[0].1["meshcdn"]["net"]["asn"], 64500);
    // Nothing known, nothing sent (the reply stays the reference shape).
    s.open(2, NetworkFacts::default());
    let out = s.send(2, &announce(ih(1), pid(2), &[]));
    assert!(out[0].1.get("meshcdn").is_none(), "{:?}", out[0].1);
    // Only the facts that are known.
    s.open(
        3,
        NetworkFacts {
            country: Some("de".into()),
            ..NetworkFacts::default()
        },
    );
    let out = s.send(3, &announce(ih(1), pid(3), &[]));
    assert_eq!(out[0].1["meshcdn"]["net"], json!({"country": "DE"}));
}

#[test]
fn offer_is_relayed_and_answer_goes_back_to_the_offerer() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    let out = s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    assert_eq!(out.len(), 2, "{out:?}");
    let (to, offer) = out.iter().find(|(_, v)| v.get("offer").is_some()).unwrap();
    assert_eq!(*to, 1);
    assert_eq!(offer["peer_id"], pid(2).to_binary_string());
    assert_eq!(offer["offer_id"], oid(2, 0).to_binary_string());
    assert_eq!(offer["info_hash"], ih(1).to_binary_string());
    assert_eq!(offer["offer"]["type"], "offer");
    assert!(offer["offer"]["sdp"].as_str().unwrap().starts_with("v=0"));

    let out = s.send(1, &answer(ih(1), pid(1), pid(2), oid(2, 0)));
    assert_eq!(out.len(), 1, "answers get no announce response: {out:?}");
    let (to, v) = &out[0];
    assert_eq!(*to, 2);
    assert_eq!(v["answer"]["type"], "answer");
    assert_eq!(v["peer_id"], pid(1).to_binary_string());
    assert_eq!(v["offer_id"], oid(2, 0).to_binary_string());

    // The same answer again has no pending offer any more.
    let out = s.send(1, &answer(ih(1), pid(1), pid(2), oid(2, 0)));
    assert_eq!(
        failure(&out).as_deref(),
        Some("no matching offer for this answer")
    );
    let st = s.t.stats();
    assert_eq!(
        (
            st.counters.offers_relayed,
            st.counters.answers_relayed,
            st.counters.rejects
        ),
        (1, 1, 1)
    );
    assert_eq!(st.swarms[0].counters.offers_relayed, 1);
    assert_eq!(st.swarms[0].counters.answers_relayed, 1);
}

#[test]
fn offers_are_never_sent_back_to_the_sender_and_capped_per_announce() {
    let mut s = sim();
    s.open(1, NetworkFacts::default());
    let out = s.send(1, &announce(ih(1), pid(1), &[oid(1, 0), oid(1, 1)]));
    assert!(
        offer_recipients(&out).is_empty(),
        "alone in the swarm: {out:?}"
    );
    for c in 2..=30 {
        s.join(c, NetworkFacts::default(), ih(1));
    }
    let offers: Vec<_> = (0..15).map(|i| oid(1, 100 + i)).collect();
    let out = s.send(1, &announce(ih(1), pid(1), &offers));
    let mut to = offer_recipients(&out);
    assert_eq!(to.len(), 10, "max_offers = 10");
    assert!(!to.contains(&1));
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 10, "each offer to a different peer");
    // numwant lower than the offers given limits the relay too.
    s.open(99, NetworkFacts::default());
    let mut msg: Value = serde_json::from_str(&announce(
        ih(1),
        pid(99),
        &[oid(99, 0), oid(99, 1), oid(99, 2)],
    ))
    .unwrap();
    msg["numwant"] = json!(2);
    assert_eq!(offer_recipients(&s.send(99, &msg.to_string())).len(), 2);
}

#[test]
fn answers_must_match_a_relayed_offer_from_the_named_peer() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.join(3, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    let out = s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    let to = offer_recipients(&out)[0];
    let other = if to == 1 { 3 } else { 1 };
    // The peer that did not get the offer cannot answer it.
    let out = s.send(other, &answer(ih(1), pid(other as u32), pid(2), oid(2, 0)));
    assert!(failure(&out).is_some());
    // Wrong to_peer_id.
    let out = s.send(
        to,
        &answer(ih(1), pid(to as u32), pid(other as u32), oid(2, 0)),
    );
    assert!(failure(&out).is_some());
    // Wrong offer_id.
    let out = s.send(to, &answer(ih(1), pid(to as u32), pid(2), oid(2, 9)));
    assert!(failure(&out).is_some());
    // Speaking for another connection's peer.
    let out = s.send(other, &answer(ih(1), pid(to as u32), pid(2), oid(2, 0)));
    assert_eq!(
        failure(&out).as_deref(),
        Some("peer_id is in use by another connection")
    );
    // The right one still works.
    let out = s.send(to, &answer(ih(1), pid(to as u32), pid(2), oid(2, 0)));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 2);
    assert!(out[0].1.get("answer").is_some());
}

#[test]
fn answer_after_the_offerer_left_is_refused() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    s.t.connection_closed(2, s.now);
    let out = s.send(1, &answer(ih(1), pid(1), pid(2), oid(2, 0)));
    assert!(failure(&out).is_some());
    assert!(out.iter().all(|(c, _)| *c == 1));
}

#[test]
fn peer_id_is_bound_to_its_first_connection() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    let out = s.send(2, &announce(ih(1), pid(1), &[]));
    assert_eq!(
        failure(&out).as_deref(),
        Some("peer_id is in use by another connection")
    );
    assert_eq!(
        out[0].1["info_hash"],
        ih(1).to_binary_string(),
        "error echoes info_hash for the client"
    );
    // Nor may it stop the other connection's peer.
    let out = s.send(2, &announce_event(ih(1), pid(1), "stopped"));
    assert!(failure(&out).is_some());
    assert_eq!(s.t.swarm_peers(&ih(1)), vec![pid(1)]);
    // One connection, one peer_id per swarm.
    let out = s.send(1, &announce(ih(1), pid(77), &[]));
    assert!(failure(&out).is_some());
}

#[test]
fn stopped_and_close_remove_the_peer_from_all_its_swarms() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.send(1, &announce(ih(2), pid(1), &[]));
    s.send(1, &announce(ih(3), pid(1), &[]));
    assert_eq!(s.t.stats().peers, 3);
    let out = s.send(1, &announce_event(ih(2), pid(1), "stopped"));
    assert_eq!(out[0].1["incomplete"], 0);
    assert_eq!(s.t.stats().peers, 2);
    s.t.connection_closed(1, s.now);
    let st = s.t.stats();
    assert_eq!((st.peers, st.swarm_count, st.connections), (0, 0, 0));
    // A closed connection is unknown: its frames are refused, not silently admitted.
    let out = s.send(1, &announce(ih(1), pid(1), &[]));
    assert_eq!(failure(&out).as_deref(), Some("connection is not open"));
}

#[test]
fn silent_peers_expire_and_unanswered_offers_time_out() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    assert_eq!(s.t.stats().pending_offers, 1);
    s.now += 120_000;
    s.t.expire(s.now);
    assert_eq!(s.t.stats().pending_offers, 0);
    let out = s.send(1, &answer(ih(1), pid(1), pid(2), oid(2, 0)));
    assert!(failure(&out).is_some(), "expired offer cannot be answered");
    // Peer 1 answered (refreshing last_seen) at +120 s; peer 2 last announced at T0.
    s.now = T0 + 180_000;
    s.t.expire(s.now);
    assert_eq!(s.t.swarm_peers(&ih(1)), vec![pid(1)]);
    s.now = T0 + 300_000;
    s.t.expire(s.now);
    assert_eq!(s.t.stats().peers, 0);
    assert_eq!(s.t.stats().counters.peers_expired, 2);
    // The connection is still open: it can announce again.
    let out = s.send(2, &announce(ih(1), pid(2), &[]));
    assert!(failure(&out).is_none());
}

#[test]
fn upload_disabled_peers_get_no_offers() {
    let mut s = sim();
    s.open(1, NetworkFacts::default());
    let msg = json!({"action":"announce","info_hash":ih(1).to_binary_string(),"peer_id":pid(1).to_binary_string(),"meshcdn":{"upload":false,"future":1}}).to_string();
    assert!(failure(&s.send(1, &msg)).is_none());
    s.open(2, NetworkFacts::default());
    let out = s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    assert!(offer_recipients(&out).is_empty());
}

#[test]
fn scrape_one_and_many() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.join(2, NetworkFacts::default(), ih(2));
    let one = json!({"action":"scrape","info_hash":ih(1).to_binary_string()}).to_string();
    let out = s.send(1, &one);
    let files = out[0].1["files"].as_object().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[&ih(1).to_binary_string()]["incomplete"], 1);
    let many =
        json!({"action":"scrape","info_hash":[ih(1).to_binary_string(), ih(9).to_binary_string()]})
            .to_string();
    let out = s.send(1, &many);
    let files = out[0].1["files"].as_object().unwrap();
    assert_eq!(files.len(), 1, "no entry for a swarm that does not exist");
    assert_eq!(files[&ih(1).to_binary_string()]["incomplete"], 1);
    // Scrape-all is refused (see tests/bounds.rs).
    let out = s.send(1, r#"{"action":"scrape"}"#);
    assert_eq!(out[0].1["action"], "scrape");
    assert!(failure(&out).is_some());
}

fn token_for(cid: &str, exp_in_secs: u64) -> Admission {
    let key = SigningKey::from_seed("k1", &[3; 32]).unwrap();
    let now = T0 / 1000;
    let claims = SwarmClaims {
        iss: DEFAULT_ISSUER.into(),
        aud: DEFAULT_AUDIENCE.into(),
        exp: now + exp_in_secs,
        nbf: None,
        iat: now,
        cid: cid.into(),
        sub: None,
    };
    let token = key.sign(&claims).unwrap();
    let jwks = json!({"keys": [key.public_jwk()]}).to_string();
    let verified = meshcdn_tracker::token::Verifier::from_jwks_json(&jwks)
        .unwrap()
        .verify(&token, T0)
        .unwrap();
    Admission::Token(verified.grant())
}

#[test]
fn a_token_for_content_a_admits_all_renditions_of_a_and_nothing_of_b() {
    let mut s = sim();
    s.t.connection_opened(1, NetworkFacts::default(), token_for("movie-a", 600));
    let a720 = swarm_id("movie-a", "720p");
    let a360 = swarm_id("movie-a", "360p");
    let b720 = swarm_id("movie-b", "720p");
    assert!(failure(&s.send(1, &announce(a720, pid(1), &[]))).is_none());
    assert!(failure(&s.send(1, &announce(a360, pid(1), &[]))).is_none());
    let out = s.send(1, &announce(b720, pid(1), &[]));
    assert_eq!(
        failure(&out).as_deref(),
        Some("token refused: token does not admit this swarm")
    );
    assert_eq!(s.t.swarm_peers(&b720), Vec::<PeerId>::new());
    // Scrape is limited to admitted swarms too.
    let out = s.send(
        1,
        &json!({"action":"scrape","info_hash":b720.to_binary_string()}).to_string(),
    );
    assert!(failure(&out).is_some());
    // Checked on every announce: once expired (past the leeway), even A is refused.
    s.now = T0 + 700_000;
    let out = s.send(1, &announce(a720, pid(1), &[]));
    assert_eq!(
        failure(&out).as_deref(),
        Some("token refused: token has expired")
    );
    // Open connections may use any swarm.
    s.open(2, NetworkFacts::default());
    assert!(failure(&s.send(2, &announce(b720, pid(2), &[]))).is_none());
}

#[test]
fn answers_are_token_checked_too() {
    let mut s = sim();
    s.t.connection_opened(1, NetworkFacts::default(), token_for("movie-a", 600));
    let a = swarm_id("movie-a", "720p");
    s.send(1, &announce(a, pid(1), &[]));
    s.open(2, NetworkFacts::default());
    s.send(2, &announce(a, pid(2), &[oid(2, 0)]));
    s.now = T0 + 700_000;
    let out = s.send(1, &answer(a, pid(1), pid(2), oid(2, 0)));
    assert!(failure(&out).unwrap().contains("expired"));
}

#[test]
fn bad_frames_get_failure_replies_and_count_as_rejects() {
    let mut s = sim();
    s.open(1, NetworkFacts::default());
    let cases = [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"action":"dance"}"#,
        r#"{"action":"announce"}"#,
        r#"{"action":"announce","info_hash":"short","peer_id":"short"}"#,
        r#"{"action":"scrape","info_hash":7}"#,
    ];
    for (i, text) in cases.iter().enumerate() {
        let out = s.send(1, text);
        assert_eq!(out.len(), 1, "{text}");
        assert!(failure(&out).is_some(), "{text}: {out:?}");
        assert_eq!(s.t.stats().counters.rejects, i as u64 + 1);
    }
    let big = format!(r#"{{"action":"scrape","pad":"{}"}}"#, "x".repeat(70_000));
    assert!(
        failure(&s.send(1, &big))
            .unwrap()
            .contains("over the 65536-byte limit")
    );
}

#[test]
fn export_import_carries_peers_offers_and_counters() {
    let mut s = sim();
    s.join(1, facts(100, "FR", "IDF", "EU"), ih(1));
    s.t.connection_opened(3, NetworkFacts::default(), token_for("movie-a", 600));
    s.open(2, facts(100, "FR", "IDF", "EU"));
    s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    let before = s.t.stats();
    let bytes = s.t.export_state();
    let mut t2 = Tracker::import_state(&bytes).unwrap();
    let after = t2.stats();
    assert_eq!(before, after);
    // The imported tracker still matches the pending offer's answer.
    t2.handle_message(1, &answer(ih(1), pid(1), pid(2), oid(2, 0)), T0 + 1);
    let o = t2.poll_outbound().unwrap();
    assert_eq!(o.conn, 2);
    assert!(o.text.contains("\"answer\""));
    // The token admission survived too.
    t2.handle_message(3, &announce(ih(1), pid(3), &[]), T0 + 1);
    assert!(t2.poll_outbound().unwrap().text.contains("does not admit"));
    // Re-export is stable.
    let again = Tracker::import_state(&t2.export_state()).unwrap();
    assert_eq!(again.stats().peers, 2);
}

#[test]
fn import_refuses_unknown_versions_and_garbage() {
    let t = Tracker::new(TrackerConfig::default(), 1);
    let mut v: Value = serde_json::from_slice(&t.export_state()).unwrap();
    v["version"] = json!(99);
    assert_eq!(
        Tracker::import_state(v.to_string().as_bytes()).unwrap_err(),
        StateError::UnsupportedVersion(99)
    );
    assert!(matches!(
        Tracker::import_state(b"nope"),
        Err(StateError::Decode(_))
    ));
    assert!(matches!(
        Tracker::import_state(br#"{"format":"other","version":1}"#),
        Err(StateError::Decode(_))
    ));
    let mut v: Value = serde_json::from_slice(&t.export_state()).unwrap();
    v["swarms"] = json!([{"info_hash": "00".repeat(20), "counters": {"announces":0,"offers_relayed":0,"answers_relayed":0,"rejects":0,"completed":0},
        "peers": [{"key": 1, "conn": 5, "peer_id": "11".repeat(20), "last_seen_ms": 0, "seeder": false, "upload": true}]}]);
    assert!(matches!(
        Tracker::import_state(v.to_string().as_bytes()),
        Err(StateError::Inconsistent(_))
    ));
}

#[test]
fn route_finds_the_swarm_without_state() {
    use meshcdn_tracker::{Route, route};
    assert_eq!(
        route(&announce(ih(4), pid(1), &[])).unwrap(),
        Route::Swarm(ih(4))
    );
    assert_eq!(
        route(&answer(ih(5), pid(1), pid(2), oid(1, 1))).unwrap(),
        Route::Swarm(ih(5))
    );
    assert_eq!(
        route(r#"{"action":"scrape"}"#).unwrap(),
        Route::Scrape(vec![])
    );
    assert!(route("{}").is_err());
    assert!(route(r#"{"action":"announce","info_hash":"x"}"#).is_err());
}

#[test]
fn session_descriptions_are_forwarded_verbatim() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    let offer = r#"{"type":"offer","sdp":"v=0\r\na=x:\u00e9\"q\"\r\n","extra":[1,2]}"#;
    let text = format!(
        r#"{{"action":"announce","info_hash":{},"peer_id":{},"offers":[{{"offer":{offer},"offer_id":{}}}]}}"#,
        serde_json::to_string(&ih(1)).unwrap(),
        serde_json::to_string(&pid(2)).unwrap(),
        serde_json::to_string(&oid(2, 0)).unwrap()
    );
    s.t.handle_message(2, &text, s.now);
    let frames: Vec<_> = std::iter::from_fn(|| s.t.poll_outbound()).collect();
    let relayed = frames
        .iter()
        .find(|o| o.conn == 1)
        .expect("offer relayed to peer 1");
    assert!(
        relayed.text.contains(&format!(r#""offer":{offer}"#)),
        "{}",
        relayed.text
    );
}

/// An announce of `peer` carrying `offers` and `meshcdn.failed`.
fn announce_failed(
    info_hash: meshcdn_tracker::InfoHash,
    peer: PeerId,
    offers: &[meshcdn_tracker::OfferId],
    failed: Value,
) -> String {
    let mut v: Value = serde_json::from_str(&announce(info_hash, peer, offers)).unwrap();
    v["meshcdn"] = json!({ "failed": failed });
    v.to_string()
}

#[test]
fn a_reported_failed_connection_frees_the_pair_at_once() {
    let mut s = sim();
    s.join(1, NetworkFacts::default(), ih(1));
    s.open(2, NetworkFacts::default());
    let out = s.send(2, &announce(ih(1), pid(2), &[oid(2, 0)]));
    assert_eq!(offer_recipients(&out), vec![1]);
    s.send(1, &answer(ih(1), pid(1), pid(2), oid(2, 0)));
    // Linked now: a second offer from 2 finds nobody (1 is its only other peer).
    let out = s.send(2, &announce(ih(1), pid(2), &[oid(2, 1)]));
    assert!(offer_recipients(&out).is_empty(), "{out:?}");
    // 2 reports that its connection with 1 failed: the next offer reaches 1 again, long before link_timeout_ms.
    let out = s.send(
        2,
        &announce_failed(
            ih(1),
            pid(2),
            &[oid(2, 2)],
            json!([pid(1).to_binary_string()]),
        ),
    );
    assert_eq!(offer_recipients(&out), vec![1], "{out:?}");
    // Unknown peers in the report are ignored; a malformed id or too long a list fails the frame.
    let out = s.send(
        2,
        &announce_failed(ih(1), pid(2), &[], json!([pid(9).to_binary_string()])),
    );
    assert!(failure(&out).is_none(), "{out:?}");
    let out = s.send(2, &announce_failed(ih(1), pid(2), &[], json!(["short"])));
    assert!(
        failure(&out).is_some_and(|f| f.contains("meshcdn.failed")),
        "{out:?}"
    );
    let many: Vec<String> = (0..33).map(|i| pid(100 + i).to_binary_string()).collect();
    let out = s.send(2, &announce_failed(ih(1), pid(2), &[], json!(many)));
    assert!(
        failure(&out).is_some_and(|f| f.contains("at most 32")),
        "{out:?}"
    );
}
