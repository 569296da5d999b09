//! The operations side under hostile use, over real HTTP on loopback: `/stats` and `/metrics`
//! from a snapshot (a flood costs the shards one stats round per period), `/stats` behind the
//! admin token, `POST /admin/reload` checking the token before the body and bounding the body,
//! and HTTP connections (not only WebSockets) counted against the connection limits.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use common::*;
use meshcdn_edge::EngineKind::Native;
use meshcdn_edge::metrics::Reject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "ops-admin-secret";

async fn get_with(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Everything the server sends until it closes the connection (within [`WAIT`]).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection in time")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

/// The status of the first response on `stream` (within [`WAIT`]).
async fn read_status(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while !head.ends_with(b"\r\n") {
            if stream.read(&mut byte).await.unwrap() == 0 {
                break;
            }
            head.push(byte[0]);
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("a response in time");
    let line = String::from_utf8_lossy(&head);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line:?}"))
}

async fn raw(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
}

/// Before: every `/metrics`, `/stats` and `/health/ready` request asked every shard for its stats
/// (work proportional to all swarms, per request). Now hundreds of requests, many at once, cost
/// one stats round within a refresh period.
#[tokio::test]
async fn a_flood_of_stats_requests_costs_one_shard_round_per_refresh_period() {
    let mut c = config(Native);
    c.admin_token = Some(ADMIN.into());
    c.ops.stats_refresh_ms = 600_000;
    let edge = start(c).await;
    let base = format!("http://{}", edge.local_addr());
    let mut a = Client::connect(&edge.announce_url()).await;
    a.send(announce(&id_n(60, 1), &id_n(60, 2), &[])).await;
    a.recv_until(is_announce_reply).await;
    let client = reqwest::Client::new();
    for _ in 0..4 {
        let wave = (0..50).map(|i| {
            let path = ["/metrics", "/stats", "/health/ready"][i % 3];
            client
                .get(format!("{base}{path}"))
                .bearer_auth(ADMIN)
                .send()
        });
        for r in futures_util::future::join_all(wave).await {
            assert_eq!(r.unwrap().status(), 200);
        }
    }
    let m = edge.metrics();
    assert_eq!(
        m.stats_rounds.load(Relaxed),
        1,
        "one snapshot for 200 requests"
    );
    assert_eq!(m.shard_stats_calls.load(Relaxed), 2, "one call per shard");
    let (_, text) = http_get(&format!("{base}/metrics")).await;
    assert_eq!(metric(&text, "meshcdn_edge_peers"), 1);
    assert_eq!(metric(&text, "meshcdn_edge_stats_rounds_total"), 1);
    edge.shutdown().await;
}

/// The snapshot is refreshed: a change shows within a period, and rounds stay bounded by the
/// elapsed time over the period however many requests come.
#[tokio::test]
async fn the_snapshot_follows_the_shards_at_most_once_per_period() {
    let mut c = config(Native);
    c.ops.stats_refresh_ms = 200;
    let edge = start(c).await;
    let base = format!("http://{}", edge.local_addr());
    let started = Instant::now();
    let (_, text) = http_get(&format!("{base}/metrics")).await;
    assert_eq!(metric(&text, "meshcdn_edge_peers"), 0);
    let mut a = Client::connect(&edge.announce_url()).await;
    a.send(announce(&id_n(61, 1), &id_n(61, 2), &[])).await;
    a.recv_until(is_announce_reply).await;
    let mut requests = 1;
    eventually(|| {
        requests += 1;
        let url = format!("{base}/metrics");
        async move { (metric(&http_get(&url).await.1, "meshcdn_edge_peers") == 1).then_some(()) }
    })
    .await;
    let client = reqwest::Client::new();
    for _ in 0..300 {
        let r = client.get(format!("{base}/health/ready")).send().await;
        assert_eq!(r.unwrap().status(), 200);
    }
    requests += 300;
    let rounds = edge.metrics().stats_rounds.load(Relaxed);
    let bound = started.elapsed().as_millis() as u64 / 200 + 2;
    assert!(
        rounds <= bound,
        "{rounds} rounds for {requests} requests in {:?} (at most {bound})",
        started.elapsed()
    );
    edge.shutdown().await;
}

/// `/stats` lists every swarm id: admin token only (404 without one configured). `/metrics` stays
/// open for Prometheus unless `ops.metrics_require_token`.
#[tokio::test]
async fn stats_need_the_admin_token_and_metrics_only_when_configured() {
    let edge = start(config(Native)).await;
    let base = format!("http://{}", edge.local_addr());
    assert_eq!(get_with(&format!("{base}/stats"), None).await.0, 404);
    assert_eq!(get_with(&format!("{base}/stats"), Some("x")).await.0, 404);
    assert_eq!(get_with(&format!("{base}/metrics"), None).await.0, 200);
    edge.shutdown().await;

    let mut c = config(Native);
    c.admin_token = Some(ADMIN.into());
    c.ops.metrics_require_token = true;
    let edge = start(c).await;
    let base = format!("http://{}", edge.local_addr());
    let mut a = Client::connect(&edge.announce_url()).await;
    a.send(announce(&id_n(62, 1), &id_n(62, 2), &[])).await;
    a.recv_until(is_announce_reply).await;
    for path in ["/stats", "/metrics"] {
        assert_eq!(get_with(&format!("{base}{path}"), None).await.0, 401);
        assert_eq!(
            get_with(&format!("{base}{path}"), Some("wrong")).await.0,
            401
        );
    }
    let (status, body) = get_with(&format!("{base}/stats"), Some(ADMIN)).await;
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["peers"], 1);
    assert_eq!(stats["swarms"].as_array().unwrap().len(), 1);
    let (status, text) = get_with(&format!("{base}/metrics"), Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert_eq!(metric(&text, "meshcdn_edge_peers"), 1);
    // Probes stay open.
    assert_eq!(http_get(&format!("{base}/health/ready")).await.0, 200);
    edge.shutdown().await;
}

fn reload_request(token: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "POST /admin/reload HTTP/1.1\r\nhost: edge\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\n{extra_headers}\r\n"
    )
    .into_bytes()
}

fn nothing_reloaded(edge: &meshcdn_edge::EdgeHandle) {
    assert_eq!(edge.metrics().reloads.load(Relaxed), 0);
    assert_eq!(edge.metrics().reloads_failed.load(Relaxed), 0);
}

/// Before: the body was read (up to axum's 2 MB default, with no time limit) before the token was
/// looked at, so anyone could make the host wait on and buffer bodies. Now: 401 before a byte of
/// the body is read, 413 past `ops.admin_max_body_bytes`, 408 past `ops.admin_body_timeout_ms`.
#[tokio::test]
async fn admin_reload_checks_the_token_first_and_bounds_the_body() {
    let mut c = config(Native);
    c.admin_token = Some(ADMIN.into());
    c.ops.admin_max_body_bytes = 256;
    c.ops.admin_body_timeout_ms = 300;
    let edge = start(c).await;
    let addr = edge.local_addr();

    // A wrong token with a large body announced and never sent: refused at once.
    let mut s = raw(
        addr,
        &reload_request("wrong", "content-length: 1000000\r\n"),
    )
    .await;
    assert_eq!(read_status(&mut s).await, 401);
    let mut s = raw(
        addr,
        b"POST /admin/reload HTTP/1.1\r\nhost: edge\r\ncontent-length: 1000000\r\n\r\n",
    )
    .await;
    assert_eq!(read_status(&mut s).await, 401);

    // Too large: declared, or arriving in chunks with no length.
    let mut s = raw(addr, &reload_request(ADMIN, "content-length: 257\r\n")).await;
    assert_eq!(read_status(&mut s).await, 413);
    let mut chunked = reload_request(ADMIN, "transfer-encoding: chunked\r\n");
    for _ in 0..3 {
        chunked.extend_from_slice(b"64\r\n");
        chunked.extend_from_slice(&[b' '; 100]);
        chunked.extend_from_slice(b"\r\n");
    }
    let mut s = raw(addr, &chunked).await;
    assert_eq!(read_status(&mut s).await, 413);

    // Too slow: 10 of 50 bytes, then nothing.
    let started = Instant::now();
    let mut s = raw(addr, &reload_request(ADMIN, "content-length: 50\r\n")).await;
    s.write_all(b"{\"componen").await.unwrap();
    assert_eq!(read_status(&mut s).await, 408);
    assert!(started.elapsed() >= Duration::from_millis(300));
    nothing_reloaded(&edge);

    // Within the bounds the request is read and judged (here: refused as bad JSON).
    let mut body = reload_request(ADMIN, "content-length: 5\r\n");
    body.extend_from_slice(b"nope!");
    let mut s = raw(addr, &body).await;
    assert_eq!(read_status(&mut s).await, 400);
    nothing_reloaded(&edge);
    edge.shutdown().await;
}

/// Before: only WebSockets were counted, so any number of idle HTTP connections could be held
/// open. Now each holds a slot from accept until it closes or is upgraded: at most
/// `http.max_connections` of them; WebSocket peers leave that budget once upgraded and are
/// admitted up to `limits.max_connections` as before.
#[tokio::test]
async fn idle_http_connections_are_counted_against_the_limit() {
    let mut c = config(Native);
    c.http.max_connections = 4;
    c.limits.max_connections = 5;
    c.limits.header_timeout_ms = 60_000;
    let edge = start(c).await;
    let addr = edge.local_addr();
    let m = edge.metrics();
    let http_open = || m.http_connections.load(Relaxed);
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    eventually(|| async { (http_open() == 4).then_some(()) }).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let refused = read_to_close(&mut extra).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    assert_eq!(m.rejects(Reject::HttpConnectionLimit), 1);
    assert_eq!(http_open(), 4, "the idle ones are still held");

    // With two idle ones left, five WebSocket peers connect one after another: each holds an
    // HTTP slot only until its upgrade.
    idle.truncate(2);
    eventually(|| async { (http_open() == 2).then_some(()) }).await;
    let mut peers = Vec::new();
    for i in 0..5 {
        let mut p = Client::connect(&edge.announce_url()).await;
        p.send(announce(&id_n(63, 1), &id_n(64, i), &[])).await;
        p.recv_until(is_announce_reply).await;
        peers.push(p);
    }
    eventually(|| async { (http_open() == 2).then_some(()) }).await;
    assert_eq!(m.connections.load(Relaxed), 5);
    // The WebSocket limit still answers 503 at the upgrade.
    match tokio_tungstenite::connect_async(edge.announce_url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(m.rejects(Reject::ConnectionLimit), 1);
    assert_eq!(m.rejects(Reject::HttpConnectionLimit), 1);
    // The admitted peers are served as before.
    peers[0]
        .send(announce(&id_n(63, 1), &id_n(64, 0), &[]))
        .await;
    peers[0].recv_until(is_announce_reply).await;
    drop(idle);
    eventually(|| async { (http_open() == 0).then_some(()) }).await;
    edge.shutdown().await;
}

/// A connection that sends nothing, and a keep-alive connection idle after its request, are
/// closed after `limits.header_timeout_ms` and give their slot back.
#[tokio::test]
async fn silent_and_idle_keep_alive_connections_are_closed() {
    let mut c = config(Native);
    c.limits.header_timeout_ms = 300;
    let edge = start(c).await;
    let addr = edge.local_addr();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut keep = raw(addr, b"GET /health/live HTTP/1.1\r\nhost: edge\r\n\r\n").await;
    let started = Instant::now();
    assert_eq!(read_status(&mut keep).await, 200);
    read_to_close(&mut silent).await;
    read_to_close(&mut keep).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    eventually(|| async { (edge.metrics().http_connections.load(Relaxed) == 0).then_some(()) })
        .await;
    edge.shutdown().await;
}
