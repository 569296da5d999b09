//! The newest segment of a live playlist must carry its hash. On a live stream every playlist
//! refresh lists exactly one segment that is not hashed yet (the newest), so any transient
//! failure of that one upstream fetch shows up as "the newest segment has no
//! `#EXT-X-MESHCDN-SHA256`". Two such failures, each with a live sliding-window upstream:
//!
//! - the upstream closes an idle keep-alive connection just as the proxy reuses it (Node's
//!   `http` server does this after 5 s, which a 2 s-segment live stream hits regularly);
//! - the playlist lists a segment a moment before the origin can serve it.
//!
//! The upstream here is a small raw HTTP/1.1 server so the connection behaviour is exact.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use meshcdn_origin::manifest::hls;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

type Handler = dyn Fn(&str) -> (u16, &'static str, Vec<u8>) + Send + Sync;

/// Counters of the raw upstream.
#[derive(Default)]
struct Counts {
    /// Requests answered.
    answered: AtomicU64,
    /// Requests that arrived on a kept-alive connection and were dropped unanswered.
    dropped: AtomicU64,
}

/// HTTP/1.1 on loopback: each connection answers its first request (keep-alive, no
/// `Connection: close`) and then, like a server whose idle timer fired just as the next request
/// came in, closes the connection on the next request without answering it.
async fn racy_upstream(handler: Arc<Handler>) -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (handler, counts) = (handler.clone(), c.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                let mut served = 0;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if served == 1 {
                        counts.dropped.fetch_add(1, Ordering::SeqCst);
                        return; // closes both halves: the request is lost
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
                    let (status, cache_control, body) = handler(&path);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nCache-Control: {cache_control}\r\nKeep-Alive: timeout=5\r\n\r\n",
                        body.len()
                    );
                    if write.write_all(head.as_bytes()).await.is_err()
                        || write.write_all(&body).await.is_err()
                    {
                        return;
                    }
                    counts.answered.fetch_add(1, Ordering::SeqCst);
                    served += 1;
                }
            });
        }
    });
    (format!("http://{addr}"), counts)
}

/// A live sliding window (4 segments) moving on by one segment per playlist request.
fn live(
    position: Arc<AtomicU64>,
    cache_control: &'static str,
) -> impl Fn(&str) -> (u16, &'static str, Vec<u8>) {
    move |path: &str| {
        if path == "/live/index.m3u8" {
            let first = position.fetch_add(1, Ordering::SeqCst);
            return (200, cache_control, live_playlist(first).into_bytes());
        }
        match path
            .strip_prefix("/live/seg")
            .and_then(|s| s.strip_suffix(".ts"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(i) => (200, "max-age=3600", live_segment(i)),
            None => (404, "no-cache", b"not found".to_vec()),
        }
    }
}

/// Every segment of a rewritten live playlist carries the right hash.
fn assert_all_hashed(body: &str, round: usize) {
    let segments = hls::parse_media(&hls::strip_insertions(body), 100).unwrap();
    let hashes = hls::hashes_in(body);
    assert_eq!(
        hashes.len(),
        segments.len(),
        "round {round}: a listed segment has no hash:\n{body}"
    );
    for (uri, hash) in hashes {
        let i: u64 = uri
            .trim_start_matches("seg")
            .trim_end_matches(".ts")
            .parse()
            .unwrap();
        assert_eq!(hash, sha256_hex(&live_segment(i)), "round {round}: {uri}");
    }
}

#[tokio::test]
async fn newest_live_segment_keeps_its_hash_when_the_upstream_drops_kept_alive_connections() {
    let position = Arc::new(AtomicU64::new(0));
    let (url, counts) = racy_upstream(Arc::new(live(position, "no-cache"))).await;
    let (proxy, engine) = start_proxy(&test_config(&url)).await;

    for round in 0..40 {
        let r = client()
            .get(format!("http://{proxy}/live/index.m3u8"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "round {round}");
        assert_all_hashed(&r.text().await.unwrap(), round);
    }
    // Segments requested by players go through the same client and survive the same race.
    for i in [3u64, 20, 41] {
        let r = client()
            .get(format!("http://{proxy}/live/seg{i}.ts"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "seg{i}");
        assert_eq!(r.bytes().await.unwrap(), live_segment(i));
    }
    assert!(
        counts.dropped.load(Ordering::SeqCst) >= 40,
        "the race was exercised: {} dropped",
        counts.dropped.load(Ordering::SeqCst)
    );
    let stats = engine.stats();
    assert_eq!(stats.hash_failures, 0);
    assert_eq!(stats.upstream_errors, 0);
    assert_eq!(
        stats.hashes_computed, 43,
        "each segment of the moving window hashed once"
    );
}

#[tokio::test]
async fn a_segment_listed_before_the_origin_serves_it_is_hashed_on_the_next_refresh() {
    // The upstream lists seg{n} one request before it can serve it: every newest segment 404s
    // on its first fetch. The playlist says max-age=10, but a playlist with a gap is not cached.
    let position = Arc::new(AtomicU64::new(0));
    let published = Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<String>::new(),
    ));
    let inner = live(position, "max-age=10");
    let handler = move |path: &str| {
        if path.starts_with("/live/seg") && published.lock().unwrap().insert(path.to_string()) {
            return (404, "no-cache", b"not yet".to_vec());
        }
        inner(path)
    };
    let (url, _counts) = racy_upstream(Arc::new(handler)).await;
    let (proxy, engine) = start_proxy(&test_config(&url)).await;

    let first = client()
        .get(format!("http://{proxy}/live/index.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Its fetches really failed: listed without hashes (clients fetch those over HTTP).
    assert!(hls::hashes_in(&first).is_empty(), "{first}");
    assert_eq!(engine.stats().hash_failures, 4);
    for round in 1..10 {
        let body = client()
            .get(format!("http://{proxy}/live/index.m3u8"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let segments = hls::parse_media(&hls::strip_insertions(&body), 100).unwrap();
        let hashes = hls::hashes_in(&body);
        // Only the segment first listed in this very refresh may lack a hash.
        assert!(
            hashes.len() + 1 >= segments.len(),
            "round {round}: stale gaps were served from cache:\n{body}"
        );
        for (uri, hash) in hashes {
            let i: u64 = uri
                .trim_start_matches("seg")
                .trim_end_matches(".ts")
                .parse()
                .unwrap();
            assert_eq!(hash, sha256_hex(&live_segment(i)));
        }
    }
}
