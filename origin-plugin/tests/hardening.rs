//! Issue 13 (origin): each resource bound, cache and proxy correctness fix, against a real
//! upstream on loopback. Every test here failed before its fix.

mod common;

use std::time::Duration;

use common::*;
use meshcdn_origin::bootstrap::HASH_DOC_SUFFIX;
use meshcdn_origin::manifest::hls;
use meshcdn_origin::tokens::{add_api_key, generate_key};

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_hash_document_request_for_a_playlist_does_not_poison_the_playlist() {
    let upstream = start_upstream().await;
    let (proxy, _) = start_proxy(&test_config(&upstream.url())).await;
    // Asks for the HLS master playlist as if it were an MPD (its "hash document").
    let r = client()
        .get(format!(
            "http://{proxy}/hls-ts/master.m3u8{HASH_DOC_SUFFIX}"
        ))
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success(), "{}", r.status());
    // Everyone else still gets the rewritten playlist (P2P on), not the upstream's bytes.
    let body = client()
        .get(format!("http://{proxy}/hls-ts/master.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(hls::bootstrap_in(&body).is_some(), "{body}");
}

#[tokio::test]
async fn a_shared_token_manifest_is_cacheable_no_longer_than_its_token_lives() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_secs()).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    let (proxy, _) = start_proxy(&config).await;
    let r = client()
        .get(format!("http://{proxy}/vod-day/master.m3u8"))
        .send()
        .await
        .unwrap();
    let cc = r.headers()["cache-control"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    let bootstrap =
        meshcdn_origin::bootstrap::Bootstrap::decode(&hls::bootstrap_in(&body).unwrap()).unwrap();
    let token = bootstrap.token.expect("a token");
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let left = claims["exp"].as_u64().unwrap() - now_secs();
    let max_age: u64 = cc
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap_or_else(|| panic!("no max-age in {cc:?}"))
        .parse()
        .unwrap();
    assert!(
        max_age <= left + 1,
        "{cc:?} outlives the token ({left} s left)"
    );
    assert!(cc.contains("public"), "other directives kept: {cc:?}");
}

#[tokio::test]
async fn api_key_scopes_match_whole_path_segments() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_secs()).unwrap();
    let api_key = add_api_key(keys.path(), "ch1", vec!["live/channel1".into()]).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    let (proxy, _) = start_proxy(&config).await;
    let ask = |content: &'static str| {
        let (url, key) = (format!("http://{proxy}/v1/tokens"), api_key.clone());
        async move {
            client()
                .post(url)
                .bearer_auth(key)
                .json(&serde_json::json!({ "content": content }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(ask("live/channel1").await, 200);
    assert_eq!(ask("live/channel1/hd").await, 200);
    assert_eq!(ask("live/channel10").await, 403);
    assert_eq!(ask("live/channel").await, 403);
}

#[tokio::test]
async fn the_token_api_checks_the_key_before_reading_the_body_and_bounds_the_body_time() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_secs()).unwrap();
    let api_key = add_api_key(keys.path(), "any", Vec::new()).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    config.tokens.request_body_timeout_ms = 300;
    let (proxy, _) = start_proxy(&config).await;
    // A body announced but never sent, without a key: refused at once, not waited for.
    let head = "POST /v1/tokens HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    let answer = raw_exchange(proxy, head.as_bytes(), Duration::from_secs(5))
        .await
        .expect("answered before the body");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // With a key, a body that stalls is cut off after the time limit.
    let head = format!(
        "POST /v1/tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {api_key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"content\""
    );
    let answer = raw_exchange(proxy, head.as_bytes(), Duration::from_secs(5))
        .await
        .expect("answered within the body time limit");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Over the size cap: 413.
    let big = format!(
        "{{\"content\":\"{}\"}}",
        "a".repeat(meshcdn_origin::tokens::MAX_TOKEN_REQUEST_BYTES)
    );
    let r = client()
        .post(format!("http://{proxy}/v1/tokens"))
        .bearer_auth(&api_key)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn paths_that_resolve_outside_the_upstream_base_are_refused() {
    let upstream = start_upstream().await;
    let config = test_config(&format!("{}/public/", upstream.url()));
    let (proxy, _) = start_proxy(&config).await;
    let get = |path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n");
        async move {
            raw_exchange(proxy, request.as_bytes(), Duration::from_secs(10))
                .await
                .expect("an answer")
        }
    };
    let ok = get("/ok.txt").await;
    assert!(
        ok.starts_with("HTTP/1.1 200") && ok.ends_with("public ok"),
        "{ok}"
    );
    for escape in [
        "/%2e%2e/admin/x",
        "/%2E%2e/admin/x",
        "/../admin/x",
        "/.%2e/admin/x",
        "/a/../../admin/x",
        "/%2e%2e/admin/x.m3u8",
        "/%2e%2e/admin/x.mpd.meshcdn-hashes.json",
        "/..\\admin/x",
    ] {
        let answer = get(escape).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{escape}: {answer}");
        assert!(
            answer.contains("outside the upstream"),
            "{escape}: {answer}"
        );
    }
    assert_eq!(upstream.state.hits("/admin/x"), 0);
    assert_eq!(upstream.state.hits("/admin/x.m3u8"), 0);
}

#[tokio::test]
async fn client_address_headers_are_replaced_or_appended_and_connection_listed_headers_dropped() {
    let upstream = start_upstream().await;
    let headers_seen = |mode: meshcdn_origin::config::ForwardedMode| {
        let mut config = test_config(&format!("{}/public/", upstream.url()));
        config.forwarded = mode;
        async move {
            let (proxy, _) = start_proxy(&config).await;
            let request = "GET /echo-headers HTTP/1.1\r\nHost: p\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nConnection: close, x-secret\r\nX-Secret: 1\r\nX-Kept: 1\r\n\r\n";
            let answer = raw_exchange(proxy, request.as_bytes(), Duration::from_secs(10))
                .await
                .unwrap();
            let body = answer.split_once("\r\n\r\n").unwrap().1;
            serde_json::from_str::<std::collections::BTreeMap<String, Vec<String>>>(body)
                .unwrap_or_else(|e| panic!("{e}: {answer}"))
        }
    };
    use meshcdn_origin::config::ForwardedMode;
    let seen = headers_seen(ForwardedMode::Replace).await;
    assert_eq!(seen["x-forwarded-for"], ["127.0.0.1"], "{seen:?}");
    assert_eq!(seen["forwarded"], ["for=127.0.0.1"]);
    assert_eq!(seen["x-real-ip"], ["127.0.0.1"]);
    assert!(!seen.contains_key("x-secret"), "{seen:?}");
    assert_eq!(seen["x-kept"], ["1"]);
    let seen = headers_seen(ForwardedMode::Append).await;
    assert_eq!(seen["x-forwarded-for"], ["6.6.6.6, 127.0.0.1"], "{seen:?}");
    assert_eq!(seen["forwarded"], ["for=6.6.6.6, for=127.0.0.1"]);
    assert_eq!(seen["x-real-ip"], ["127.0.0.1"]);
    assert!(!seen.contains_key("x-secret"));
}

/// The proxy as `meshcdn origin` runs it (its own listener), on a loopback port.
async fn start_listener(config: &meshcdn_origin::config::OriginConfig) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = config.clone();
    tokio::spawn(async move {
        meshcdn_origin::proxy::serve_with_shutdown(&config, listener, std::future::pending())
            .await
            .unwrap()
    });
    addr
}

#[tokio::test]
async fn the_listener_closes_slow_headers_idle_keep_alive_and_stalled_connections() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let upstream = start_upstream().await;
    let mut config = test_config(&upstream.url());
    config.listener.header_read_timeout_ms = 300;
    config.listener.idle_timeout_ms = 600;
    let proxy = start_listener(&config).await;
    // Closed within `bound`: the server ended the connection (EOF or reset), maybe after an
    // error response.
    async fn closed(tcp: &mut tokio::net::TcpStream, bound: Duration) -> bool {
        let mut buf = [0u8; 4096];
        tokio::time::timeout(bound, async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await
        .is_ok()
    }
    // Slowloris: a head that never ends.
    let mut tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(b"GET /hls-ts/master.m3u8 HTTP/1.1\r\nHost: p\r\n")
        .await
        .unwrap();
    assert!(
        closed(&mut tcp, Duration::from_secs(5)).await,
        "slow head kept open"
    );
    // Idle keep-alive after a full exchange.
    let mut tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: p\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed(&mut tcp, Duration::from_secs(5)).await,
        "idle keep-alive kept open"
    );
    // A request body that stops arriving.
    let mut tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(b"POST /upload HTTP/1.1\r\nHost: p\r\nContent-Length: 1000000\r\n\r\nabc")
        .await
        .unwrap();
    assert!(
        closed(&mut tcp, Duration::from_secs(5)).await,
        "stalled body kept open"
    );
    // Meanwhile a normal client is served.
    let r = client()
        .get(format!("http://{proxy}/hls-ts/master.m3u8"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_failed_segment_is_remembered_for_a_while_not_fetched_on_every_request() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;
    for _ in 0..3 {
        let body = client()
            .get(format!("http://{proxy}/broken-list/index.m3u8"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(hls::hashes_in(&body).is_empty(), "{body}");
    }
    assert_eq!(upstream.state.hits("/broken/a.ts"), 1);
    assert_eq!(engine.stats().hash_failures, 3);
}

#[tokio::test]
async fn hashing_for_one_request_has_a_deadline() {
    let upstream = start_upstream().await;
    let mut config = test_config(&upstream.url());
    // Each segment may take long (and `/slow/a.ts` never answers), but the request does not.
    config.upstream_timeouts.response_ms = 60_000;
    config.upstream_timeouts.read_idle_ms = 60_000;
    config.hashes.timeout_ms = 60_000;
    config.hashes.request_deadline_ms = 500;
    let (proxy, _) = start_proxy(&config).await;
    let started = std::time::Instant::now();
    let body = client()
        .get(format!("http://{proxy}/slow-list/index.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let hashes = hls::hashes_in(&body);
    assert_eq!(hashes.len(), 1, "the fast segment keeps its hash: {body}");
    assert_eq!(hashes[0].0, "/hls-ts/360p/seg_000.ts");
}

#[tokio::test]
async fn one_request_starts_a_bounded_number_of_segment_fetches() {
    let upstream = start_upstream().await;
    let mut config = test_config(&upstream.url());
    config.manifests.max_bytes = 1 << 20;
    config.hashes.max_fetches_per_request = 10;
    let (proxy, _) = start_proxy(&config).await;
    let fetched = || {
        upstream
            .state
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path.starts_with("/big/segment"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let r = client()
        .get(format!("http://{proxy}/big/index.m3u8"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fetched(), 10, "one request of a 2,000-segment playlist");
}

#[tokio::test]
async fn random_query_strings_do_not_bypass_the_manifest_cache() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;
    for i in 0..5 {
        let body = client()
            .get(format!("http://{proxy}/hls-ts/master.m3u8?bust={i}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(hls::bootstrap_in(&body).is_some());
    }
    assert_eq!(upstream.state.hits("/hls-ts/master.m3u8"), 1);
    assert_eq!(engine.stats().manifest_cache_hits, 4);
}
