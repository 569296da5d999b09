//! Readiness probes and the drain (graceful shutdown) of an edge host, in process: ready only
//! while serving with shards and keys; a drain makes it not ready, refuses new tracker
//! connections, tells connected peers to reconnect elsewhere (close 1001) and ends when they are
//! gone. (`SIGTERM` on the real binary: tests/lifecycle_e2e.rs at the workspace root.)

mod common;

use std::time::Duration;

use common::*;
use meshcdn_edge::EngineKind::{Native, Wasm};

fn base(edge: &meshcdn_edge::EdgeHandle) -> String {
    format!("http://{}", edge.local_addr())
}

#[tokio::test]
async fn ready_and_live_while_serving_with_instantiated_shards() {
    for engine in [Wasm, Native] {
        let edge = start(config(engine)).await;
        let (status, body) = http_get(&format!("{}/health/ready", base(&edge))).await;
        assert_eq!(status, 200, "{engine:?}: {body}");
        let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(ready["ready"], true);
        assert_eq!(ready["shards_answering"], true);
        assert_eq!(ready["keys_loaded"], true, "an open host needs no keys");
        assert_eq!(ready["reasons"], serde_json::json!([]));
        let (status, _) = http_get(&format!("{}/health/live", base(&edge))).await;
        assert_eq!(status, 200);
        // /health stays as it was (200, status ok) and says the same.
        let (status, body) = http_get(&format!("{}/health", base(&edge))).await;
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (status, &health["status"], &health["ready"]),
            (200, &"ok".into(), &true.into())
        );
        edge.shutdown().await;
    }
}

#[tokio::test]
async fn a_drain_turns_not_ready_refuses_new_peers_and_closes_the_connected_with_1001() {
    let edge = start(config(Native)).await;
    let url = edge.announce_url();
    let ih = id_n(0xD1, 1);
    let mut peers = Vec::new();
    for n in 0..3 {
        let mut c = Client::connect(&url).await;
        c.send(announce(&ih, &id_n(0xE1, n), &[])).await;
        c.recv_until(is_announce_reply).await;
        peers.push(c);
    }

    assert_eq!(edge.begin_drain(), 3, "every connected peer is told");
    for c in &mut peers {
        let close = c
            .closed()
            .await
            .expect("a close frame, not a dropped socket");
        assert_eq!(u16::from(close.code), 1001, "going away");
        assert!(close.reason.contains("another tracker"), "{}", close.reason);
    }
    let (status, body) = http_get(&format!("{}/health/ready", base(&edge))).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    let (status, body) = http_get(&format!("{}/health", base(&edge))).await;
    assert_eq!(status, 200, "/health stays 200 for old probes");
    assert!(body.contains("\"draining\":true"), "{body}");
    let (status, _) = http_get(&format!("{}/health/live", base(&edge))).await;
    assert_eq!(status, 200, "still alive while draining");
    // A new tracker connection is refused before the upgrade.
    let refused = tokio_tungstenite::connect_async(url.as_str()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503)
        }
        other => panic!("expected a 503 refusal, got {other:?}"),
    }

    let report = edge.drain(Duration::from_secs(10)).await;
    assert_eq!(
        (report.closed, report.remaining),
        (0, 0),
        "{report:?}: all had left already"
    );
    assert!(report.waited_ms < 10_000, "{report:?}");
}

#[tokio::test]
async fn a_drain_with_nobody_connected_ends_at_once_and_stops_listening() {
    let edge = start(config(Native)).await;
    let addr = edge.local_addr();
    let report = edge.drain(Duration::from_secs(10)).await;
    assert_eq!((report.closed, report.remaining), (0, 0));
    assert!(report.waited_ms < 1_000, "{report:?}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed after the drain"
    );
}
