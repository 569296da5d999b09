//! Hot upgrade (`POST /admin/reload`): connections stay, swarms stay; a broken or trapping new
//! version is refused and the running one keeps serving.

mod common;

use std::sync::atomic::Ordering::Relaxed;

use common::*;
use meshcdn_edge::EngineKind::Wasm;

const ADMIN: &str = "s3cret-admin";

async fn post_reload(
    base: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/admin/reload"))
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[tokio::test]
async fn upgrade_keeps_connections_and_swarms_and_refuses_bad_versions() {
    let mut c = config(Wasm);
    c.admin_token = Some(ADMIN.into());
    c.shards = 2;
    let edge = start(c).await;
    let base = format!("http://{}", edge.local_addr());
    let url = edge.announce_url();
    let ih = id_n(50, 1);
    let (pa, pb) = (id_n(51, 1), id_n(51, 2));
    let mut a = Client::connect(&url).await;
    let mut b = Client::connect(&url).await;
    a.send(announce(&ih, &pa, &[])).await;
    a.recv_until(is_announce_reply).await;
    b.send(announce(&ih, &pb, &[])).await;
    assert_eq!(b.recv_until(is_announce_reply).await["incomplete"], 2);

    assert_eq!(post_reload(&base, None, serde_json::json!({})).await.0, 401);
    assert_eq!(
        post_reload(&base, Some("wrong"), serde_json::json!({}))
            .await
            .0,
        401
    );

    // Upgrade to the same build (a new instance per shard takes over each exported state).
    let (status, body) = post_reload(
        &base,
        Some(ADMIN),
        serde_json::json!({ "component": component() }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(edge.metrics().reloads.load(Relaxed), 1);
    assert_eq!(
        edge.metrics().connections.load(Relaxed),
        2,
        "no connection was dropped"
    );

    // The swarm survived: an offer from A still reaches B (the peer_id bindings too).
    let oid = id_n(52, 1);
    a.send(announce(&ih, &pa, &[&oid])).await;
    let offer = b.recv_until(|v| v.get("offer").is_some()).await;
    assert_eq!(offer["offer_id"], oid.as_str());
    b.send(answer(&ih, &pb, &pa, &oid)).await;
    assert_eq!(
        a.recv_until(|v| v.get("answer").is_some()).await["offer_id"],
        oid.as_str()
    );
    let mut impostor = Client::connect(&url).await;
    impostor.send(announce(&ih, &pa, &[])).await;
    assert!(
        impostor.recv().await.get("failure reason").is_some(),
        "peer_id binding survived the upgrade"
    );

    // Not a component at all: refused, old version stays.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm garbage").unwrap();
    let (status, body) =
        post_reload(&base, Some(ADMIN), serde_json::json!({ "component": junk })).await;
    assert_eq!(status, 409, "{body}");
    // A valid component that does not implement the world (the empty component): refused.
    let empty = dir.path().join("empty.wasm");
    std::fs::write(&empty, [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]).unwrap();
    let (status, body) = post_reload(
        &base,
        Some(ADMIN),
        serde_json::json!({ "component": empty }),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("incompatible"),
        "{body}"
    );
    // A version that traps when taking over the state: refused, old version stays.
    let (status, body) = post_reload(
        &base,
        Some(ADMIN),
        serde_json::json!({ "component": fault_component() }),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("trap"), "{body}");
    assert_eq!(edge.metrics().reloads_failed.load(Relaxed), 3);
    assert_eq!(
        edge.metrics().shard_restarts.load(Relaxed),
        0,
        "the running shards were not disturbed"
    );
    let (_, health) = http_get(&format!("{base}/health")).await;
    assert!(!health.contains("fault-injection"), "{health}");

    a.send(announce(&ih, &pa, &[])).await;
    let reply = a.recv_until(is_announce_reply).await;
    assert_eq!(
        reply["incomplete"], 2,
        "both peers still in the swarm: {reply}"
    );
    let stats = edge.stats().await.unwrap();
    assert_eq!(stats.peers, 2);
    edge.shutdown().await;
}

#[tokio::test]
async fn admin_api_is_off_without_a_token_and_bad_requests_are_refused() {
    let edge = start(config(Wasm)).await;
    let base = format!("http://{}", edge.local_addr());
    assert_eq!(
        post_reload(&base, Some("x"), serde_json::json!({})).await.0,
        404
    );
    edge.shutdown().await;
    let mut c = config(Wasm);
    c.admin_token = Some(ADMIN.into());
    let edge = start(c).await;
    let base = format!("http://{}", edge.local_addr());
    assert_eq!(
        post_reload(&base, Some(ADMIN), serde_json::json!({ "bogus": 1 }))
            .await
            .0,
        400
    );
    let (status, _) = post_reload(
        &base,
        Some(ADMIN),
        serde_json::json!({ "component": "/nonexistent.wasm" }),
    )
    .await;
    assert_eq!(status, 409);
    edge.shutdown().await;
}
