//! Resource bounds of the edge host under hostile use, over real WebSockets on loopback: bytes
//! queued to slow readers (per connection and host-wide), scrapes and swarms bounded across
//! shards, connections per address, and a wasm shard that degrades before its memory cap.

mod common;

use std::time::Duration;

use common::*;
use meshcdn_edge::EngineKind::{self, Native, Wasm};
use meshcdn_edge::metrics::Reject;
use meshcdn_edge::{EdgeConfig, EdgeHandle};
use meshcdn_tracker::InfoHash;
use serde_json::json;
use tokio_tungstenite::MaybeTlsStream;

/// No rate limit, so a test can push as much as it needs through a few connections.
fn unthrottled(engine: EngineKind) -> EdgeConfig {
    let mut c = config(engine);
    c.limits.messages_per_sec = 1_000_000;
    c.limits.message_burst = 1_000_000;
    c
}

/// A client whose socket takes almost nothing unless it reads (a 4 KiB receive buffer): once it
/// stops reading, what the host sends it piles up in the host's queue, not in the kernel.
async fn tiny_window_client(edge: &EdgeHandle) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(edge.local_addr()).await.unwrap();
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async(edge.announce_url(), MaybeTlsStream::Plain(stream)),
    )
    .await
    .unwrap()
    .unwrap();
    Client { ws }
}

/// An announce with `n` offers of `sdp_bytes` each (relayed verbatim to other peers).
fn announce_with_big_offers(ih: &str, peer: &str, round: u32, n: u32, sdp_bytes: usize) -> String {
    let offers: Vec<_> = (0..n)
        .map(|i| {
            json!({"offer_id": id_n(0xF0, round * 100 + i),
                   "offer": {"type": "offer", "sdp": "s".repeat(sdp_bytes)}})
        })
        .collect();
    json!({"action": "announce", "info_hash": ih, "peer_id": peer, "numwant": n,
           "left": 1, "offers": offers})
    .to_string()
}

/// Lets the tracker relay every offer to every viewer, however many links it already has.
fn relay_everything(c: &mut EdgeConfig) {
    c.tracker = json!({"max_peers_per_viewer": 65535, "offer_dedupe": false});
}

/// `viewers` that join `ih` and then stop reading, and a sender whose offers (about 40 KB per
/// announce) reach each of them until `done` says so or 2,000 announces went out.
async fn flood_slow_readers(
    edge: &EdgeHandle,
    ih: &str,
    viewers: u32,
    done: impl Fn(&EdgeHandle) -> bool,
) -> Vec<Client> {
    let mut slow = Vec::new();
    for v in 0..viewers {
        let mut c = tiny_window_client(edge).await;
        c.send(announce(ih, &id_n(0xE0, v), &[])).await;
        c.recv_until(is_announce_reply).await;
        slow.push(c);
    }
    let mut sender = Client::connect(&edge.announce_url()).await;
    let sender_id = id_n(0xE1, 0);
    for round in 0..2_000 {
        if done(edge) {
            break;
        }
        sender
            .send(announce_with_big_offers(
                ih,
                &sender_id,
                round,
                viewers.min(10),
                4000,
            ))
            .await;
        // Read the sender's own reply, so only the viewers fall behind.
        sender.recv_until(is_announce_reply).await;
    }
    assert!(done(edge), "the flood did not reach the bound");
    slow
}

async fn a_slow_reader_is_cut_off_at_its_byte_bound(engine: EngineKind) {
    let mut c = unthrottled(engine);
    relay_everything(&mut c);
    c.limits.max_queued_bytes = 64 << 10;
    let per_conn = c.limits.max_queued_bytes;
    let message = c.limits.max_message_bytes;
    let edge = start(c).await;
    let ih = id_n(0xE2, 1);
    let mut slow = flood_slow_readers(&edge, &ih, 1, |e| {
        e.metrics().rejects(Reject::SlowReader) > 0
    })
    .await;
    // Taken for writing plus queued behind it: each at most the bound and one message.
    let peak = edge.metrics().queued.peak();
    assert!(peak <= 2 * (per_conn + message), "peak {peak} bytes");
    assert!(
        peak >= per_conn / 2,
        "peak {peak}: the bound was never approached?"
    );
    // The reader, reading again, gets what was in flight and then the close.
    let close = slow[0].closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "outbound queue overflow");
    eventually(|| async { (edge.metrics().queued.held() == 0).then_some(()) }).await;
    edge.shutdown().await;
}

#[tokio::test]
async fn slow_reader_byte_bound_native() {
    a_slow_reader_is_cut_off_at_its_byte_bound(Native).await;
}

#[tokio::test]
async fn slow_reader_byte_bound_wasm() {
    a_slow_reader_is_cut_off_at_its_byte_bound(Wasm).await;
}

async fn many_slow_readers_stay_within_the_host_budget(engine: EngineKind) {
    let mut c = unthrottled(engine);
    relay_everything(&mut c);
    c.limits.max_queued_bytes = 256 << 10;
    c.limits.max_total_queued_bytes = 300 << 10;
    let total = c.limits.max_total_queued_bytes;
    let edge = start(c).await;
    let ih = id_n(0xE3, 1);
    let mut slow = flood_slow_readers(&edge, &ih, 4, |e| {
        e.metrics().rejects(Reject::HostQueueBudget) > 0
    })
    .await;
    let peak = edge.metrics().queued.peak();
    assert!(
        peak <= total,
        "peak {peak} bytes over the budget of {total}"
    );
    // At least one viewer was behind when the budget ran out: told to come back later.
    let mut codes = Vec::new();
    for c in &mut slow {
        codes.push(close_code_unless_silent(c).await);
    }
    assert!(codes.contains(&Some(1013)), "{codes:?}");
    assert_eq!(
        edge.metrics().rejects(Reject::SlowReader),
        0,
        "the per-connection bound was not what hit"
    );
    eventually(|| async { (edge.metrics().queued.held() == 0).then_some(()) }).await;
    edge.shutdown().await;
}

#[tokio::test]
async fn host_budget_native() {
    many_slow_readers_stay_within_the_host_budget(Native).await;
}

#[tokio::test]
async fn host_budget_wasm() {
    many_slow_readers_stay_within_the_host_budget(Wasm).await;
}

/// Reads until a close frame (its code) or until nothing came for a second (None: still open).
async fn close_code_unless_silent(c: &mut Client) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), c.ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!("{e}"),
            Ok(None) => panic!("ended without a close frame"),
        }
    }
}

fn failure(v: &serde_json::Value) -> Option<&str> {
    v["failure reason"].as_str()
}

fn scrape(hashes: &[String]) -> String {
    json!({"action": "scrape", "info_hash": hashes}).to_string()
}

/// Over four shards: scrape-all and too long a list are refused before any shard sees them;
/// duplicates count once; only swarms that exist are answered, at most one reply per shard.
#[tokio::test]
async fn scrapes_are_bounded_before_they_reach_the_shards() {
    let mut c = unthrottled(Native);
    c.shards = 4;
    c.tracker = json!({"max_scrape": 50});
    let edge = start(c).await;
    let url = edge.announce_url();
    let existing: Vec<String> = (0..3).map(|n| id_n(0xD0, n)).collect();
    let mut peer = Client::connect(&url).await;
    for (n, ih) in existing.iter().enumerate() {
        peer.send(announce(ih, &id_n(0xD1, n as u32), &[])).await;
        peer.recv_until(is_announce_reply).await;
    }
    let mut m = Client::connect(&url).await;
    for all in [
        json!({"action": "scrape"}),
        json!({"action": "scrape", "info_hash": []}),
    ] {
        m.send(all.to_string()).await;
        let v = m.recv().await;
        assert_eq!(v["action"], "scrape");
        assert!(
            failure(&v).is_some_and(|r| r.contains("scrape needs info_hash")),
            "{v}"
        );
        assert!(v.get("files").is_none());
    }
    // 50 distinct ids (3 of them existing), each listed twice: allowed, answered for 3.
    let mut list: Vec<String> = (100..147).map(|n| id_n(0xD0, n)).collect();
    list.extend(existing.iter().cloned());
    let doubled: Vec<String> = list.iter().chain(list.iter()).cloned().collect();
    m.send(scrape(&doubled)).await;
    let shards: std::collections::HashSet<_> = list
        .iter()
        .map(|ih| edge.shard_of(&InfoHash(info_hash_bytes(ih))))
        .collect();
    let mut files = serde_json::Map::new();
    for _ in 0..shards.len() {
        let v = m.recv_until(|v| v["action"] == "scrape").await;
        assert!(failure(&v).is_none(), "{v}");
        files.extend(v["files"].as_object().unwrap().clone());
    }
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        m.silent_for(Duration::from_millis(300)).await,
        "one reply per shard, no more"
    );
    // One distinct id more than `max_scrape`: refused.
    list.push(id_n(0xD0, 999));
    m.send(scrape(&list)).await;
    let v = m.recv().await;
    assert_eq!(failure(&v), Some("too many info_hashes in scrape"));
    assert_eq!(edge.metrics().rejects(Reject::ScrapeLimit), 3);
    let stats = edge.stats().await.unwrap();
    assert_eq!(
        stats.counters.scrapes,
        shards.len() as u64,
        "refused scrapes never reached a shard"
    );
    edge.shutdown().await;
}

/// An id of content `content` (its first 12 bytes) and rendition `r`.
fn rendition(content: u8, r: u8) -> String {
    let mut b = [content; 20];
    b[19] = r;
    id(b)
}

/// Swarms per connection count across shards: spreading them over shards gains nothing.
async fn swarms_per_connection_count_across_shards(engine: EngineKind) {
    let mut c = unthrottled(engine);
    c.shards = 4;
    c.tracker = json!({"max_swarms_per_conn": 4, "max_swarms_per_content_per_conn": 2});
    let edge = start(c).await;
    let mut m = Client::connect(&edge.announce_url()).await;
    let peer = id_n(0xC0, 1);
    let swarms: Vec<String> = (1..=4).map(|c| rendition(c, 0)).collect();
    let shards: std::collections::HashSet<_> = swarms
        .iter()
        .map(|s| edge.shard_of(&InfoHash(info_hash_bytes(s))))
        .collect();
    for s in &swarms {
        m.send(announce(s, &peer, &[])).await;
        let v = m.recv_until(is_announce_reply).await;
        assert!(failure(&v).is_none(), "{v}");
    }
    // A fifth swarm, on whichever shard: refused, and the refusal names the swarm.
    let fifth = rendition(5, 0);
    m.send(announce(&fifth, &peer, &[])).await;
    let v = m.recv_until(is_announce_reply).await;
    assert_eq!(failure(&v), Some("too many swarms on this connection"));
    assert_eq!(v["info_hash"], fifth.as_str());
    // Leaving one frees its place.
    let stopped = json!({"action": "announce", "info_hash": swarms[0], "peer_id": peer, "event": "stopped", "left": 0});
    m.send(stopped.to_string()).await;
    m.recv_until(is_announce_reply).await;
    m.send(announce(&fifth, &peer, &[])).await;
    let v = m.recv_until(is_announce_reply).await;
    assert!(failure(&v).is_none(), "{v}");
    // Renditions of one content: two per connection.
    let mut r = Client::connect(&edge.announce_url()).await;
    for n in 0..2 {
        r.send(announce(&rendition(7, n), &peer, &[])).await;
        let v = r.recv_until(is_announce_reply).await;
        assert!(failure(&v).is_none(), "{v}");
    }
    r.send(announce(&rendition(7, 2), &peer, &[])).await;
    let v = r.recv_until(is_announce_reply).await;
    assert_eq!(
        failure(&v),
        Some("too many swarms of this content on this connection"),
        "{v}"
    );
    assert_eq!(edge.metrics().rejects(Reject::SwarmLimit), 2);
    eprintln!("the four swarms were on {} shards", shards.len());
    edge.shutdown().await;
}

#[tokio::test]
async fn swarm_bounds_native() {
    swarms_per_connection_count_across_shards(Native).await;
}

#[tokio::test]
async fn swarm_bounds_wasm() {
    swarms_per_connection_count_across_shards(Wasm).await;
}

/// The keyed shard hash: two hosts map the same ids differently (a client cannot aim at one
/// shard), and one host spreads ids evenly.
#[tokio::test]
async fn the_shard_hash_is_keyed_per_host() {
    let mut c = config(Native);
    c.shards = 8;
    let (a, b) = (start(c.clone()).await, start(c).await);
    let ids: Vec<InfoHash> = (0..800)
        .map(|n| InfoHash(info_hash_bytes(&id_n(0xB0, n))))
        .collect();
    let on = |e: &EdgeHandle| ids.iter().map(|ih| e.shard_of(ih)).collect::<Vec<_>>();
    assert_ne!(on(&a), on(&b));
    let mut per_shard = [0u32; 8];
    for s in on(&a) {
        per_shard[s] += 1;
    }
    assert!(
        per_shard.iter().all(|&n| (50..=150).contains(&n)),
        "{per_shard:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

async fn upgrade_status(url: &str, headers: &[(&'static str, String)]) -> Result<Client, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(*k, v.parse().unwrap());
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .unwrap()
    {
        Ok((ws, _)) => Ok(Client { ws }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// Connections per viewer address: the socket's, or `network.client_ip_header`'s when set.
#[tokio::test]
async fn connections_per_address_are_capped() {
    let mut c = config(Native);
    c.limits.max_connections_per_ip = 3;
    c.network.client_ip_header = Some("x-viewer-ip".into());
    let edge = start(c).await;
    let url = edge.announce_url();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(upgrade_status(&url, &[]).await.expect("under the limit"));
    }
    assert_eq!(upgrade_status(&url, &[]).await.err(), Some(429));
    assert_eq!(edge.metrics().rejects(Reject::IpLimit), 1);
    // Behind a CDN, viewers are told apart by the header.
    let viewer = |ip: &str| [("x-viewer-ip", format!("{ip}, 10.0.0.1"))];
    let other = upgrade_status(&url, &viewer("198.51.100.7"))
        .await
        .expect("another viewer");
    assert_eq!(
        upgrade_status(&url, &viewer("2001:db8::1")).await.is_ok(),
        true
    );
    // A closed connection gives its place back.
    drop(held.pop());
    let back = eventually(|| async { upgrade_status(&url, &[]).await.ok() }).await;
    drop((back, other, held));
    edge.shutdown().await;
}

/// A wasm shard near its memory cap degrades: new swarms are refused with a clear reason, the
/// peers it has keep being served, the metric shows it, and nothing restarts.
#[tokio::test]
async fn a_wasm_shard_degrades_before_its_memory_cap() {
    let mut c = unthrottled(Wasm);
    c.shards = 1;
    c.limits.shard_memory_bytes = 32 << 20;
    c.limits.max_connections_per_ip = 1000;
    c.tracker = json!({"max_swarms_per_conn": 1024, "max_swarms_per_content_per_conn": 1024});
    let edge = start(c).await;
    let url = edge.announce_url();
    let first = id_n(0xA0, 0);
    let mut keeper = Client::connect(&url).await;
    keeper.send(announce(&first, &id_n(0xA1, 0), &[])).await;
    keeper.recv_until(is_announce_reply).await;
    // Swarms of distinct contents, 1,000 per connection, until the shard refuses one.
    let mut refusal = None;
    let mut conns = Vec::new();
    'fill: for conn in 0..200u32 {
        let mut c = Client::connect(&url).await;
        for n in 0..1000u32 {
            let mut ih = [0u8; 20];
            ih[..4].copy_from_slice(&conn.to_be_bytes());
            ih[4..8].copy_from_slice(&n.to_be_bytes());
            ih[8] = 0xA2;
            c.send(announce(&id(ih), &id_n(0xA3, conn), &[])).await;
        }
        for _ in 0..1000 {
            let v = c.recv_until(is_announce_reply).await;
            if let Some(r) = failure(&v) {
                refusal = Some(r.to_owned());
            }
        }
        if refusal.is_some() {
            break 'fill;
        }
        conns.push(c);
    }
    let refusal = refusal.expect("the shard degraded before 200,000 swarms");
    assert!(refusal.contains("near its memory limit"), "{refusal}");
    let stats = edge.stats().await.unwrap();
    eprintln!("degraded at {} swarms", stats.swarm_count);
    assert_eq!(stats.degraded, 1);
    assert_eq!(
        edge.metrics()
            .shard_restarts
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // Its peers are still served.
    keeper.send(announce(&first, &id_n(0xA1, 0), &[])).await;
    let v = keeper.recv_until(is_announce_reply).await;
    assert!(failure(&v).is_none(), "{v}");
    let metrics = format!("http://{}/metrics", edge.local_addr());
    eventually(|| async {
        let (_, text) = http_get(&metrics).await;
        text.contains("\nmeshcdn_edge_shard_degraded 1\n")
            .then_some(())
    })
    .await;
    drop(conns);
    edge.shutdown().await;
}
