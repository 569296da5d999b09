//! Every limit of the host, each with its own test; and faults: a guest that traps, loops or
//! runs out of memory loses only its own shard.

mod common;

use std::time::Duration;

use common::*;
use meshcdn_edge::EngineKind::{Native, Wasm};
use meshcdn_edge::metrics::Reject;
use meshcdn_tracker::InfoHash;
use meshcdn_tracker::protocol::outgoing::restart_notice;
use std::sync::atomic::Ordering::Relaxed;

#[tokio::test]
async fn connections_beyond_the_limit_get_503_before_the_upgrade() {
    let mut c = config(Native);
    c.limits.max_connections = 2;
    let edge = start(c).await;
    let url = edge.announce_url();
    let a = Client::connect(&url).await;
    let _b = Client::connect(&url).await;
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(edge.metrics().rejects(Reject::ConnectionLimit), 1);
    // A slot frees when a connection closes.
    drop(a);
    eventually(|| async { tokio_tungstenite::connect_async(url.as_str()).await.ok() }).await;
    edge.shutdown().await;
}

#[tokio::test]
async fn a_message_over_64_kib_closes_the_connection_with_1009() {
    let edge = start(config(Native)).await;
    let mut a = Client::connect(&edge.announce_url()).await;
    // Exactly at the limit is fine (answered with a failure reason: it is not a valid announce).
    let frame = |pad: usize| format!(r#"{{"action":"announce","pad":"{}"}}"#, "x".repeat(pad));
    let at_limit = frame(65536 - frame(0).len());
    assert_eq!(at_limit.len(), 65536);
    a.send(at_limit).await;
    assert!(a.recv().await.get("failure reason").is_some());
    a.send("y".repeat(65537)).await;
    let frame = a.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1009);
    assert_eq!(edge.metrics().rejects(Reject::TooLarge), 1);
    edge.shutdown().await;
}

#[tokio::test]
async fn messages_over_the_rate_are_refused_then_allowed_again() {
    let mut c = config(Native);
    c.limits.messages_per_sec = 5;
    c.limits.message_burst = 3;
    let edge = start(c).await;
    let mut a = Client::connect(&edge.announce_url()).await;
    let (ih, pid) = (id_n(20, 1), id_n(20, 2));
    for _ in 0..4 {
        a.send(announce(&ih, &pid, &[])).await;
    }
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(a.recv().await);
    }
    let limited = replies
        .iter()
        .filter(|v| {
            v["failure reason"]
                .as_str()
                .is_some_and(|r| r.contains("rate limit"))
        })
        .count();
    assert_eq!(limited, 1, "{replies:?}");
    assert_eq!(edge.metrics().rejects(Reject::RateLimited), 1);
    // Tokens refill at 5/s: an announce is answered again within a bounded number of tries.
    let end = tokio::time::Instant::now() + WAIT;
    let v = loop {
        assert!(tokio::time::Instant::now() < end, "rate limit never lifted");
        a.send(announce(&ih, &pid, &[])).await;
        let v = a.recv().await;
        if v.get("interval").is_some() {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(v["info_hash"], ih.as_str());
    edge.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let mut c = config(Native);
    c.limits.idle_timeout_secs = 1;
    let edge = start(c).await;
    let mut a = Client::connect(&edge.announce_url()).await;
    let started = std::time::Instant::now();
    let frame = a.closed().await.expect("a close frame");
    assert_eq!(frame.reason.as_str(), "idle timeout");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(edge.metrics().rejects(Reject::Idle), 1);
    eventually(|| async { (edge.metrics().connections.load(Relaxed) == 0).then_some(()) }).await;
    edge.shutdown().await;
}

/// Two peers on different shards; the one on `faulty` gets the fault.
async fn fault_scenario(
    fault: &str,
    tweak: impl FnOnce(&mut meshcdn_edge::EdgeConfig),
) -> (bool, meshcdn_edge::EdgeHandle) {
    let mut c = config(Wasm);
    c.component = Some(fault_component());
    c.shards = 2;
    c.limits.call_deadline_ms = 200;
    tweak(&mut c);
    let edge = start(c).await;
    let url = edge.announce_url();
    let faulty = id_n(30, 0);
    let healthy = (1..1000)
        .map(|n| id_n(30, n))
        .find(|ih| {
            edge.shard_of(&InfoHash(info_hash_bytes(ih)))
                != edge.shard_of(&InfoHash(info_hash_bytes(&faulty)))
        })
        .unwrap();
    let mut victim = Client::connect(&url).await;
    let mut bystander = Client::connect(&url).await;
    victim.send(announce(&faulty, &id_n(31, 1), &[])).await;
    victim.recv_until(is_announce_reply).await;
    bystander.send(announce(&healthy, &id_n(31, 2), &[])).await;
    bystander.recv_until(is_announce_reply).await;
    let mut trigger = Client::connect(&url).await;
    let msg = serde_json::json!({"action": "announce", "info_hash": faulty, "peer_id": id_n(31, 3), "meshcdn_fault": fault});
    trigger.send(msg.to_string()).await;
    let first = trigger.recv().await;
    let restarted = first == serde_json::from_str::<serde_json::Value>(&restart_notice()).unwrap()
        || first["failure reason"]
            .as_str()
            .is_some_and(|r| r.contains("restarted"));
    if restarted {
        // The shard's peers are told and disconnected (they reconnect and re-announce) ...
        assert_eq!(
            victim.recv().await,
            serde_json::from_str::<serde_json::Value>(&restart_notice()).unwrap()
        );
        assert_eq!(
            u16::from(victim.closed().await.expect("close frame").code),
            1012
        );
        // ... and can announce again on the fresh instance.
        let mut again = Client::connect(&url).await;
        again.send(announce(&faulty, &id_n(31, 1), &[])).await;
        assert_eq!(again.recv_until(is_announce_reply).await["incomplete"], 1);
        // The other shard kept its state and its peer.
        bystander.send(announce(&healthy, &id_n(31, 2), &[])).await;
        let v = bystander.recv_until(is_announce_reply).await;
        assert_eq!(v["incomplete"], 1);
    }
    (restarted, edge)
}

#[tokio::test]
async fn a_trapping_guest_loses_only_its_shard() {
    let (restarted, edge) = fault_scenario("trap", |_| {}).await;
    assert!(restarted);
    assert_eq!(edge.metrics().shard_restarts.load(Relaxed), 1);
    edge.shutdown().await;
}

#[tokio::test]
async fn a_guest_past_its_epoch_deadline_is_interrupted_and_replaced() {
    let started = std::time::Instant::now();
    let (restarted, edge) = fault_scenario("spin", |c| c.limits.call_deadline_ms = 100).await;
    assert!(restarted);
    assert!(started.elapsed() < WAIT);
    assert_eq!(edge.metrics().shard_restarts.load(Relaxed), 1);
    edge.shutdown().await;
}

#[tokio::test]
async fn the_memory_cap_stops_a_guest_that_grows_too_much() {
    let (restarted, edge) =
        fault_scenario("alloc", |c| c.limits.shard_memory_bytes = 64 << 20).await;
    assert!(
        restarted,
        "a 128 MiB allocation must fail under a 64 MiB cap"
    );
    assert_eq!(edge.metrics().shard_restarts.load(Relaxed), 1);
    edge.shutdown().await;
    // Under a larger cap the same allocation succeeds: the cap, not the guest, made the difference.
    let (restarted, edge) = fault_scenario("alloc", |c| {
        c.limits.shard_memory_bytes = 512 << 20;
        c.limits.call_deadline_ms = 10_000;
    })
    .await;
    assert!(!restarted);
    assert_eq!(edge.metrics().shard_restarts.load(Relaxed), 0);
    edge.shutdown().await;
}
