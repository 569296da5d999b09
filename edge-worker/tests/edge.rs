//! The edge host end to end over real WebSockets on loopback, under both engines.

mod common;

use std::time::Duration;

use common::*;
use meshcdn_edge::EdgeHandle;
use meshcdn_edge::EngineKind::{self, Native, Wasm};
use meshcdn_tracker::InfoHash;

/// Two ids that land on different shards of `edge` (its shard hash is keyed per host).
fn swarms_on_distinct_shards(edge: &EdgeHandle) -> (String, String) {
    let first = id_n(0xA1, 0);
    let s0 = edge.shard_of(&InfoHash(info_hash_bytes(&first)));
    for n in 1..1000 {
        let other = id_n(0xA1, n);
        if edge.shard_of(&InfoHash(info_hash_bytes(&other))) != s0 {
            return (first, other);
        }
    }
    unreachable!("1000 ids all on one shard")
}

async fn offer_reaches_the_other_peer_and_the_answer_comes_back(engine: EngineKind) {
    let edge = start(config(engine)).await;
    let url = edge.announce_url();
    let ih = id_n(1, 1);
    let (pa, pb) = (id_n(2, 1), id_n(2, 2));
    let mut a = Client::connect(&url).await;
    let mut b = Client::connect(&url).await;
    b.send(announce(&ih, &pb, &[])).await;
    let reply = b.recv_until(is_announce_reply).await;
    assert_eq!(reply["info_hash"], ih.as_str());
    let offer_id = id_n(3, 7);
    a.send(announce(&ih, &pa, &[&offer_id])).await;
    let offer = b.recv_until(|v| v.get("offer").is_some()).await;
    assert_eq!(offer["offer_id"], offer_id.as_str());
    assert_eq!(offer["peer_id"], pa.as_str());
    b.send(answer(&ih, &pb, &pa, &offer_id)).await;
    let ans = a.recv_until(|v| v.get("answer").is_some()).await;
    assert_eq!(ans["offer_id"], offer_id.as_str());
    assert_eq!(ans["peer_id"], pb.as_str());
    assert_eq!(ans["answer"]["sdp"], "answer-sdp");
    let stats = edge.stats().await.unwrap();
    assert_eq!(stats.counters.offers_relayed, 1);
    assert_eq!(stats.counters.answers_relayed, 1);
    edge.shutdown().await;
}

#[tokio::test]
async fn relay_native() {
    offer_reaches_the_other_peer_and_the_answer_comes_back(Native).await;
}

#[tokio::test]
async fn relay_wasm() {
    offer_reaches_the_other_peer_and_the_answer_comes_back(Wasm).await;
}

async fn one_connection_in_swarms_on_two_shards(engine: EngineKind) {
    let mut c = config(engine);
    c.shards = 4;
    let edge = start(c).await;
    let url = edge.announce_url();
    let (s1, s2) = swarms_on_distinct_shards(&edge);
    let (multi, p1, p2) = (id_n(5, 0), id_n(5, 1), id_n(5, 2));
    let mut m = Client::connect(&url).await;
    m.send(announce(&s1, &multi, &[])).await;
    m.recv_until(is_announce_reply).await;
    m.send(announce(&s2, &multi, &[])).await;
    m.recv_until(is_announce_reply).await;
    let mut others = Vec::new();
    for (swarm, peer, oid) in [(&s1, &p1, id_n(6, 1)), (&s2, &p2, id_n(6, 2))] {
        let mut other = Client::connect(&url).await;
        other.send(announce(swarm, peer, &[&oid])).await;
        let offer = m.recv_until(|v| v.get("offer").is_some()).await;
        assert_eq!(offer["info_hash"], swarm.as_str());
        m.send(answer(swarm, &multi, peer, &oid)).await;
        let ans = other.recv_until(|v| v.get("answer").is_some()).await;
        assert_eq!(ans["offer_id"], oid.as_str());
        others.push(other);
    }
    // Scrape across both shards: each swarm's counts, whichever shard answers.
    m.send(serde_json::json!({"action": "scrape", "info_hash": [s1, s2]}).to_string())
        .await;
    let mut seen = std::collections::HashMap::new();
    while seen.len() < 2 {
        let v = m.recv_until(|v| v["action"] == "scrape").await;
        for (k, f) in v["files"].as_object().unwrap() {
            seen.insert(k.clone(), f["incomplete"].as_u64().unwrap());
        }
    }
    assert_eq!(seen[&s1], 2);
    assert_eq!(seen[&s2], 2);
    edge.shutdown().await;
}

#[tokio::test]
async fn multi_shard_native() {
    one_connection_in_swarms_on_two_shards(Native).await;
}

#[tokio::test]
async fn multi_shard_wasm() {
    one_connection_in_swarms_on_two_shards(Wasm).await;
}

async fn ids_with_every_byte_value_round_trip(engine: EngineKind) {
    let edge = start(config(engine)).await;
    let url = edge.announce_url();
    // 13 swarms x 20 bytes cover 0..=255; peer and offer ids too.
    for chunk in 0..13u32 {
        let bytes = |salt: u32| -> [u8; 20] {
            std::array::from_fn(|i| ((chunk * 20 + i as u32 + salt) % 256) as u8)
        };
        let (ih, pa, pb, oid) = (id(bytes(0)), id(bytes(1)), id(bytes(2)), id(bytes(3)));
        let mut a = Client::connect(&url).await;
        let mut b = Client::connect(&url).await;
        b.send(announce(&ih, &pb, &[])).await;
        assert_eq!(
            b.recv_until(is_announce_reply).await["info_hash"],
            ih.as_str()
        );
        a.send(announce(&ih, &pa, &[&oid])).await;
        let offer = b.recv_until(|v| v.get("offer").is_some()).await;
        assert_eq!(
            (offer["peer_id"].as_str(), offer["offer_id"].as_str()),
            (Some(pa.as_str()), Some(oid.as_str()))
        );
        b.send(answer(&ih, &pb, &pa, &oid)).await;
        let ans = a.recv_until(|v| v.get("answer").is_some()).await;
        assert_eq!(ans["peer_id"], pb.as_str());
    }
    edge.shutdown().await;
}

#[tokio::test]
async fn byte_exact_ids_native() {
    ids_with_every_byte_value_round_trip(Native).await;
}

#[tokio::test]
async fn byte_exact_ids_wasm() {
    ids_with_every_byte_value_round_trip(Wasm).await;
}

async fn answers_to_unrelayed_offers_and_impostors_are_refused(engine: EngineKind) {
    let edge = start(config(engine)).await;
    let url = edge.announce_url();
    let ih = id_n(9, 9);
    let (pa, pb) = (id_n(10, 1), id_n(10, 2));
    let mut a = Client::connect(&url).await;
    let mut b = Client::connect(&url).await;
    let mut c = Client::connect(&url).await;
    a.send(announce(&ih, &pa, &[])).await;
    a.recv_until(is_announce_reply).await;
    b.send(announce(&ih, &pb, &[])).await;
    b.recv_until(is_announce_reply).await;
    // An answer to an offer the tracker never relayed is not delivered.
    b.send(answer(&ih, &pb, &pa, &id_n(11, 1))).await;
    let refusal = b.recv_until(|v| v.get("failure reason").is_some()).await;
    assert!(
        refusal["failure reason"]
            .as_str()
            .unwrap()
            .contains("offer"),
        "{refusal}"
    );
    assert!(
        a.silent_for(Duration::from_millis(300)).await,
        "unrelayed answer must not reach the offerer"
    );
    // C claims A's peer_id: refused, and A's binding is intact.
    c.send(announce(&ih, &pa, &[])).await;
    let refusal = c.recv_until(|v| v.get("failure reason").is_some()).await;
    assert!(
        refusal["failure reason"]
            .as_str()
            .unwrap()
            .contains("peer_id"),
        "{refusal}"
    );
    c.send(answer(&ih, &pa, &pb, &id_n(11, 2))).await;
    c.recv_until(|v| v.get("failure reason").is_some()).await;
    assert!(b.silent_for(Duration::from_millis(300)).await);
    edge.shutdown().await;
}

#[tokio::test]
async fn refusals_native() {
    answers_to_unrelayed_offers_and_impostors_are_refused(Native).await;
}

#[tokio::test]
async fn refusals_wasm() {
    answers_to_unrelayed_offers_and_impostors_are_refused(Wasm).await;
}

async fn malformed_messages_get_a_failure_reason_and_the_connection_stays(engine: EngineKind) {
    let edge = start(config(engine)).await;
    let mut a = Client::connect(&edge.announce_url()).await;
    for bad in [
        "not json".to_string(),
        "{}".to_string(),
        r#"{"action":"dance"}"#.to_string(),
        r#"{"action":"announce","info_hash":"short","peer_id":"x"}"#.to_string(),
        // U+0100 is not a byte.
        format!(
            r#"{{"action":"announce","info_hash":"{}\u0100","peer_id":"{}"}}"#,
            "a".repeat(19),
            "b".repeat(20)
        ),
        r#"[1,2,3]"#.to_string(),
    ] {
        a.send(bad.clone()).await;
        let v = a.recv().await;
        assert!(v.get("failure reason").is_some(), "{bad} -> {v}");
    }
    use futures_util::SinkExt;
    a.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        1, 2, 3,
    ]))
    .await
    .unwrap();
    assert!(
        a.recv().await["failure reason"]
            .as_str()
            .unwrap()
            .contains("binary")
    );
    // Still usable.
    a.send(announce(&id_n(12, 1), &id_n(12, 2), &[])).await;
    assert!(
        a.recv_until(is_announce_reply)
            .await
            .get("interval")
            .is_some()
    );
    assert!(
        edge.metrics()
            .rejects(meshcdn_edge::metrics::Reject::Malformed)
            >= 5
    );
    edge.shutdown().await;
}

#[tokio::test]
async fn malformed_native() {
    malformed_messages_get_a_failure_reason_and_the_connection_stays(Native).await;
}

#[tokio::test]
async fn malformed_wasm() {
    malformed_messages_get_a_failure_reason_and_the_connection_stays(Wasm).await;
}

#[tokio::test]
async fn health_metrics_and_stats_endpoints() {
    let edge = start(config(Wasm)).await;
    let base = format!("http://{}", edge.local_addr());
    let mut a = Client::connect(&edge.announce_url()).await;
    a.send(announce(&id_n(13, 1), &id_n(13, 2), &[])).await;
    a.recv_until(is_announce_reply).await;
    let (status, body) = http_get(&format!("{base}/health")).await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(
        health["engine"]
            .as_str()
            .unwrap()
            .starts_with("wasm tracker-shard")
    );
    assert_eq!(health["connections"], 1);
    let (status, text) = http_get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    for needle in [
        "meshcdn_edge_connections 1",
        "meshcdn_edge_announces_total 1",
        "meshcdn_edge_offers_total 0",
        "meshcdn_edge_answers_total 0",
        "meshcdn_edge_shard_restarts_total 0",
        "meshcdn_edge_rejects_total{reason=\"rate_limited\"} 0",
        "meshcdn_edge_shard_call_seconds_count",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    // `/stats` lists swarm ids: admin API only (off without an admin_token).
    let (status, _) = http_get(&format!("{base}/stats")).await;
    assert_eq!(status, 404);
    assert_eq!(edge.stats().await.unwrap().peers, 1);
    edge.shutdown().await;
}

/// The tracker answers at `/` as well as `/announce` by default (aquatic's load tester and many
/// public trackers use the bare host); peers on either path share the swarms.
#[tokio::test]
async fn the_tracker_is_served_at_the_root_and_at_announce() {
    let edge = start(config(Native)).await;
    let addr = edge.local_addr();
    assert_eq!(edge.announce_url(), format!("ws://{addr}/announce"));
    let ih = id_n(21, 1);
    let (pa, pb) = (id_n(22, 1), id_n(22, 2));
    let mut root = Client::connect(&format!("ws://{addr}/")).await;
    let mut bare = Client::connect(&format!("ws://{addr}")).await;
    let mut named = Client::connect(&edge.announce_url()).await;
    root.send(announce(&ih, &pb, &[])).await;
    assert_eq!(
        root.recv_until(is_announce_reply).await["info_hash"],
        ih.as_str()
    );
    let offer_id = id_n(23, 1);
    named.send(announce(&ih, &pa, &[&offer_id])).await;
    let offer = root.recv_until(|v| v.get("offer").is_some()).await;
    assert_eq!(offer["peer_id"], pa.as_str());
    bare.send(announce(&id_n(21, 2), &id_n(22, 3), &[])).await;
    bare.recv_until(is_announce_reply).await;
    // Plain HTTP at `/` is told to upgrade, like at `/announce`.
    let (status, _) = http_get(&format!("http://{addr}/")).await;
    assert_eq!(status, 426);
    edge.shutdown().await;
}

#[tokio::test]
async fn tracker_paths_choose_where_the_tracker_answers() {
    let mut config = config(Native);
    config.tracker_paths = vec!["/tracker/v1".into()];
    let edge = start(config).await;
    let addr = edge.local_addr();
    assert_eq!(edge.announce_url(), format!("ws://{addr}/tracker/v1"));
    let mut a = Client::connect(&edge.announce_url()).await;
    a.send(announce(&id_n(24, 1), &id_n(24, 2), &[])).await;
    a.recv_until(is_announce_reply).await;
    for other in ["/", "/announce"] {
        let Err(err) = tokio_tungstenite::connect_async(format!("ws://{addr}{other}")).await else {
            panic!("{other}: no tracker there, yet the upgrade succeeded");
        };
        assert!(
            matches!(&err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 404),
            "{other}: {err:?}"
        );
    }
    let (status, _) = http_get(&format!("http://{addr}/health")).await;
    assert_eq!(status, 200);
    edge.shutdown().await;
}

#[tokio::test]
async fn invalid_tracker_paths_are_refused_at_start() {
    for paths in [
        vec![],
        vec!["/metrics".to_string()],
        vec!["announce".to_string()],
    ] {
        let mut config = config(Native);
        config.tracker_paths = paths.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = meshcdn_edge::serve(config, listener)
            .await
            .err()
            .unwrap_or_else(|| panic!("{paths:?} must be refused"));
        assert!(err.to_string().contains("tracker_paths"), "{err}");
    }
}
