//! Resource bounds of the tracker core (issue 13): scrapes answer only swarms that exist and
//! are capped, swarms per content are capped per connection and per tracker, and a degraded
//! tracker refuses new swarms and peers while its existing peers keep working.

mod common;

use common::*;
use meshcdn_tracker::token::CONTENT_PREFIX_LEN;
use meshcdn_tracker::{InfoHash, NetworkFacts, Tracker, TrackerConfig};
use serde_json::json;

/// Rendition `r` of content `c`: the content part is shared, as in `token::swarm_id`.
fn rendition(c: u8, r: u8) -> InfoHash {
    let mut b = [c; 20];
    b[CONTENT_PREFIX_LEN..].fill(r);
    InfoHash(b)
}

fn scrape(hashes: &[InfoHash]) -> String {
    let list: Vec<String> = hashes.iter().map(InfoHash::to_binary_string).collect();
    json!({"action": "scrape", "info_hash": list}).to_string()
}

#[test]
fn a_scrape_lists_only_swarms_that_exist_and_its_size_is_capped() {
    let mut s = Sim::new(
        TrackerConfig {
            max_scrape: 50,
            ..Default::default()
        },
        1,
    );
    s.join(1, NetworkFacts::default(), ih(1));
    s.join(2, NetworkFacts::default(), ih(2));
    // 50 ids of which two exist: two entries, not 50.
    let mut hashes: Vec<InfoHash> = (100..148).map(ih).collect();
    hashes.extend([ih(1), ih(2)]);
    let out = s.send(1, &scrape(&hashes));
    assert_eq!(out.len(), 1);
    let files = out[0].1["files"].as_object().unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[&ih(2).to_binary_string()]["incomplete"], 1);
    // Only unknown ids: an empty answer, no larger than the request's swarms.
    let out = s.send(1, &scrape(&[ih(200)]));
    assert_eq!(out[0].1, json!({"action": "scrape", "files": {}}));
    // One more than the cap is refused.
    hashes.push(ih(3));
    let out = s.send(1, &scrape(&hashes));
    assert_eq!(
        failure(&out).as_deref(),
        Some("too many info_hashes in scrape")
    );
    assert_eq!(out[0].1["action"], "scrape");
}

#[test]
fn scrape_all_is_refused_and_lists_no_swarm() {
    let mut s = Sim::new(TrackerConfig::default(), 1);
    s.join(1, NetworkFacts::default(), ih(1));
    for text in [
        r#"{"action":"scrape"}"#,
        r#"{"action":"scrape","info_hash":[]}"#,
    ] {
        let out = s.send(1, text);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1["action"], "scrape");
        assert!(out[0].1.get("files").is_none(), "{out:?}");
        assert!(
            failure(&out).is_some_and(|r| r.contains("scrape needs info_hash")),
            "{out:?}"
        );
    }
}

#[test]
fn one_connection_gets_at_most_the_configured_renditions_of_one_content() {
    let mut s = Sim::new(
        TrackerConfig {
            max_swarms_per_content_per_conn: 3,
            ..Default::default()
        },
        1,
    );
    s.open(1, NetworkFacts::default());
    for r in 0..3 {
        let out = s.send(1, &announce(rendition(7, r), pid(1), &[]));
        assert!(failure(&out).is_none(), "{out:?}");
    }
    let out = s.send(1, &announce(rendition(7, 3), pid(1), &[]));
    assert_eq!(
        failure(&out).as_deref(),
        Some("too many swarms of this content on this connection")
    );
    assert_eq!(out[0].1["info_hash"], rendition(7, 3).to_binary_string());
    // Another content is fine, and leaving a rendition makes room for another.
    assert!(failure(&s.send(1, &announce(rendition(8, 0), pid(1), &[]))).is_none());
    s.send(1, &announce_event(rendition(7, 0), pid(1), "stopped"));
    assert!(failure(&s.send(1, &announce(rendition(7, 3), pid(1), &[]))).is_none());
}

#[test]
fn a_content_gets_at_most_the_configured_swarms_per_tracker_and_they_free_up() {
    let config = TrackerConfig {
        max_swarms_per_content: 3,
        ..Default::default()
    };
    let mut s = Sim::new(config, 1);
    for conn in 1..=3u64 {
        s.join(conn, NetworkFacts::default(), rendition(5, conn as u8));
    }
    s.open(4, NetworkFacts::default());
    let out = s.send(4, &announce(rendition(5, 4), pid(4), &[]));
    assert_eq!(
        failure(&out).as_deref(),
        Some("too many swarms of this content")
    );
    // Joining a swarm of that content that exists is fine, and so is another content.
    assert!(failure(&s.send(4, &announce(rendition(5, 1), pid(4), &[]))).is_none());
    assert!(failure(&s.send(4, &announce(rendition(6, 1), pid(4), &[]))).is_none());
    // A closed connection empties its swarm: room for one new swarm of the content.
    s.t.connection_closed(2, s.now);
    s.open(5, NetworkFacts::default());
    assert!(failure(&s.send(5, &announce(rendition(5, 9), pid(5), &[]))).is_none());
    let out = s.send(5, &announce(rendition(5, 10), pid(5), &[]));
    assert!(failure(&out).is_some(), "full again");
    // The count survives a hot upgrade (export, import).
    let mut restored = Sim {
        t: Tracker::import_state(&s.t.export_state()).unwrap(),
        now: s.now,
    };
    restored.open(6, NetworkFacts::default());
    let out = restored.send(6, &announce(rendition(5, 11), pid(6), &[]));
    assert_eq!(
        failure(&out).as_deref(),
        Some("too many swarms of this content")
    );
    // Expiry frees them too.
    restored.now += TrackerConfig::default().peer_timeout_ms + 1;
    restored.t.expire(restored.now);
    assert!(failure(&restored.send(6, &announce(rendition(5, 11), pid(6), &[]))).is_none());
}

#[test]
fn a_degraded_tracker_refuses_new_swarms_and_peers_and_keeps_serving_its_peers() {
    let mut s = Sim::new(TrackerConfig::default(), 1);
    s.join(1, NetworkFacts::default(), ih(1));
    s.join(2, NetworkFacts::default(), ih(1));
    s.t.set_degraded(true);
    assert_eq!(s.t.stats().degraded, 1);
    s.open(3, NetworkFacts::default());
    for swarm in [ih(1), ih(2)] {
        let out = s.send(3, &announce(swarm, pid(3), &[]));
        assert!(
            failure(&out).is_some_and(|r| r.contains("near its memory limit")),
            "{out:?}"
        );
    }
    assert_eq!(s.t.stats().swarm_count, 1);
    // Existing peers announce, offer and answer as before.
    let out = s.send(1, &announce(ih(1), pid(1), &[oid(1, 0)]));
    assert!(failure(&out).is_none(), "{out:?}");
    assert_eq!(offer_recipients(&out), vec![2]);
    let out = s.send(2, &answer(ih(1), pid(2), pid(1), oid(1, 0)));
    assert!(
        out.iter()
            .any(|(c, v)| *c == 1 && v.get("answer").is_some())
    );
    s.t.set_degraded(false);
    assert_eq!(s.t.stats().degraded, 0);
    assert!(failure(&s.send(3, &announce(ih(2), pid(3), &[]))).is_none());
}

#[test]
fn the_pending_offer_table_stays_within_its_bound_the_oldest_offers_going_first() {
    let mut s = Sim::new(
        TrackerConfig {
            max_pending_offers: 4,
            offer_dedupe: false,
            ..Default::default()
        },
        1,
    );
    for conn in 2..=9 {
        s.join(conn, NetworkFacts::default(), ih(1));
    }
    s.open(1, NetworkFacts::default());
    let first: Vec<_> = (0..4).map(|i| oid(1, i)).collect();
    let out = s.send(1, &announce(ih(1), pid(1), &first));
    let first_to = offer_recipients(&out);
    assert_eq!(first_to.len(), 4, "{out:?}");
    // Four more offers: the table holds four, so the four first ones are evicted.
    let second: Vec<_> = (4..8).map(|i| oid(1, i)).collect();
    let out = s.send(1, &announce(ih(1), pid(1), &second));
    let second_to = offer_recipients(&out);
    assert_eq!(second_to.len(), 4, "{out:?}");
    let st = s.t.stats();
    assert_eq!(st.pending_offers, 4);
    assert_eq!(st.counters.offers_evicted, 4);
    assert_eq!(st.inconsistency(), None);
    // An answer to an evicted offer goes nowhere; one to a live offer reaches the offerer.
    let answerer = first_to[0];
    let stale = s.send(
        answerer,
        &answer(ih(1), pid(answerer as u32), pid(1), first[0]),
    );
    assert!(failure(&stale).is_some(), "{stale:?}");
    let (live_to, live_offer) = out
        .iter()
        .find(|(_, v)| v.get("offer").is_some())
        .map(|(c, v)| (*c, v["offer_id"].as_str().unwrap().to_owned()))
        .unwrap();
    assert!(second_to.contains(&live_to));
    let live_offer = meshcdn_tracker::OfferId::from_binary_str(&live_offer).unwrap();
    let relayed = s.send(
        live_to,
        &answer(ih(1), pid(live_to as u32), pid(1), live_offer),
    );
    assert!(
        relayed
            .iter()
            .any(|(c, v)| *c == 1 && v.get("answer").is_some()),
        "{relayed:?}"
    );
    // More offers than the table holds at all: at most four are relayed and kept.
    let many: Vec<_> = (8..14).map(|i| oid(1, i)).collect();
    let out = s.send(1, &announce(ih(1), pid(1), &many));
    assert!(offer_recipients(&out).len() <= 4, "{out:?}");
    assert!(s.t.stats().pending_offers <= 4);
}
