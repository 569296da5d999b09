//! The reverse proxy against a real upstream on loopback serving the ffmpeg-made sample media.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use meshcdn_origin::bootstrap::{Bootstrap, HASH_DOC_SUFFIX};
use meshcdn_origin::config::TokenScope;
use meshcdn_origin::manifest::{dash, hls};
use meshcdn_origin::tokens::{add_api_key, generate_key};
use meshcdn_tracker::token::{Verifier, swarm_id};
use reqwest::StatusCode;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn get_text(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = client().get(url).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

#[tokio::test]
async fn master_playlist_gets_bootstrap_with_a_token_the_tracker_accepts() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_ms() / 1000).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    let (proxy, engine) = start_proxy(&config).await;

    for dir in ["hls-ts", "hls-fmp4"] {
        let (status, headers, body) = get_text(&format!("http://{proxy}/{dir}/master.m3u8")).await;
        assert_eq!(status, 200);
        assert!(
            headers.get("etag").is_none(),
            "upstream ETag must not describe rewritten bytes"
        );
        assert_eq!(
            headers["content-length"].to_str().unwrap(),
            body.len().to_string()
        );
        // Byte-preserving: removing the inserted line gives the original file.
        assert_eq!(
            hls::strip_insertions(&body).as_bytes(),
            media(&format!("{dir}/master.m3u8"))
        );
        let bootstrap = Bootstrap::decode(&hls::bootstrap_in(&body).unwrap()).unwrap();
        assert_eq!(bootstrap.v, 1);
        assert_eq!(bootstrap.content, dir);
        assert_eq!(bootstrap.trackers, config.trackers);
        assert_eq!(bootstrap.integrity, "sha256-tags");
        assert_eq!(bootstrap.swarms.len(), 2);
        for rendition in ["360p/index.m3u8", "240p/index.m3u8"] {
            assert_eq!(
                bootstrap.swarms[rendition],
                swarm_id(dir, rendition).to_hex()
            );
        }
        let jwks = client()
            .get(format!("http://{proxy}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let claims = Verifier::from_jwks_json(&jwks)
            .unwrap()
            .verify(bootstrap.token.as_deref().unwrap(), now_ms())
            .unwrap();
        assert_eq!(claims.cid, dir);
        for id in bootstrap.swarms.values() {
            let info_hash = meshcdn_tracker::InfoHash::from_hex(id).unwrap();
            assert_eq!(claims.grant().admits(&info_hash, now_ms()), Ok(()));
        }
        assert!(
            claims
                .grant()
                .admits(&swarm_id("other", "360p/index.m3u8"), now_ms())
                .is_err()
        );
    }
    assert!(engine.stats().manifests_rewritten >= 2);
    assert!(engine.stats().tokens_issued >= 2);
}

#[tokio::test]
async fn media_playlists_carry_the_sha256_of_every_segment() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;
    let mut total = 0;
    for playlist in [
        "hls-ts/360p/index.m3u8",
        "hls-ts/240p/index.m3u8",
        "hls-fmp4/360p/index.m3u8",
        "hls-byterange/index.m3u8",
    ] {
        let (status, _, body) = get_text(&format!("http://{proxy}/{playlist}")).await;
        assert_eq!(status, 200);
        let original = String::from_utf8(media(playlist)).unwrap();
        assert_eq!(hls::strip_insertions(&body), original, "{playlist}");
        let segments = hls::parse_media(&original, 1000).unwrap();
        let found = hls::hashes_in(&body);
        assert_eq!(
            found.len(),
            segments.len(),
            "{playlist}: every segment has a hash"
        );
        let dir = playlist.rsplit_once('/').unwrap().0;
        for (seg, (uri, hash)) in segments.iter().zip(&found) {
            assert_eq!(&seg.uri, uri);
            let file = media(&format!("{dir}/{uri}"));
            let bytes = match seg.range {
                Some(r) => &file[r.offset as usize..(r.offset + r.length) as usize],
                None => &file[..],
            };
            assert_eq!(hash, &sha256_hex(bytes), "{playlist} {uri} {:?}", seg.range);
        }
        total += segments.len() as u64;
    }
    // Each segment hashed once: asking again is answered from the caches.
    let stats = engine.stats();
    assert_eq!(stats.hashes_computed, total);
    let again = get_text(&format!("http://{proxy}/hls-ts/360p/index.m3u8"))
        .await
        .2;
    assert_eq!(hls::hashes_in(&again).len(), 10);
    assert_eq!(engine.stats().hashes_computed, total);
}

#[tokio::test]
async fn segments_stream_through_with_range_etag_cache_control_and_cors() {
    let upstream = start_upstream().await;
    let (proxy, _) = start_proxy(&test_config(&upstream.url())).await;
    let file = media("hls-fmp4/360p/seg_003.m4s");
    let direct = client()
        .get(format!("{}/hls-fmp4/360p/seg_003.m4s", upstream.url()))
        .send()
        .await
        .unwrap();
    let direct_etag = direct.headers()["etag"].clone();
    let last_modified = direct.headers()["last-modified"].clone();

    let full = client()
        .get(format!("http://{proxy}/hls-fmp4/360p/seg_003.m4s"))
        .header("origin", "http://player.test")
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["etag"], direct_etag);
    assert_eq!(full.headers()["last-modified"], last_modified);
    assert_eq!(full.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(full.headers()["access-control-allow-origin"], "*");
    assert_eq!(full.bytes().await.unwrap(), file);

    let ranged = client()
        .get(format!("http://{proxy}/hls-fmp4/360p/seg_003.m4s"))
        .header("range", "bytes=100-1099")
        .header("origin", "http://player.test")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(
        ranged.headers()["content-range"],
        format!("bytes 100-1099/{}", file.len())
    );
    let exposed = ranged.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("content-range") && exposed.contains("etag"),
        "{exposed}"
    );
    assert_eq!(ranged.bytes().await.unwrap(), &file[100..1100]);

    let not_modified = client()
        .get(format!("http://{proxy}/hls-fmp4/360p/seg_003.m4s"))
        .header("if-modified-since", last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    // A ranged manifest request is not rewritten (Content-Range responses are never touched).
    let ranged_manifest = client()
        .get(format!("http://{proxy}/hls-ts/master.m3u8"))
        .header("range", "bytes=0-6")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged_manifest.status(), 206);
    assert_eq!(ranged_manifest.text().await.unwrap(), "#EXTM3U");

    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{proxy}/hls-ts/360p/seg_000.ts"),
        )
        .header("origin", "http://player.test")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "range")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("range")
    );
}

#[tokio::test]
async fn dash_mpd_gets_a_descriptor_and_a_hash_document() {
    let upstream = start_upstream().await;
    let (proxy, _) = start_proxy(&test_config(&upstream.url())).await;
    let (status, _, body) = get_text(&format!("http://{proxy}/dash/manifest.mpd")).await;
    assert_eq!(status, 200);
    assert_eq!(
        dash::strip_insertions(&body).as_bytes(),
        media("dash/manifest.mpd")
    );
    let bootstrap = Bootstrap::decode(&dash::bootstrap_in(&body).unwrap()).unwrap();
    assert_eq!(bootstrap.content, "dash");
    assert_eq!(bootstrap.integrity, "sha256-document");
    assert_eq!(
        bootstrap.hashes.as_deref(),
        Some("manifest.mpd.meshcdn-hashes.json")
    );
    assert_eq!(bootstrap.swarms.keys().collect::<Vec<_>>(), ["0", "1"]);
    assert_eq!(bootstrap.swarms["0"], swarm_id("dash", "0").to_hex());
    assert!(bootstrap.token.is_none(), "no keys configured: open mode");

    let doc = client()
        .get(format!("http://{proxy}/dash/manifest.mpd{HASH_DOC_SUFFIX}"))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    let doc: std::collections::BTreeMap<String, String> = doc.json().await.unwrap();
    assert_eq!(doc.len(), 20);
    for (key, hash) in &doc {
        assert!(key.starts_with("chunk-"), "{key}");
        assert_eq!(hash, &sha256_hex(&media(&format!("dash/{key}"))), "{key}");
    }
    let missing = client()
        .get(format!("http://{proxy}/nope/manifest.mpd{HASH_DOC_SUFFIX}"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn live_playlists_change_between_requests_and_every_listed_segment_has_a_hash() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;
    let mut seen_sequences = Vec::new();
    for round in 0..4u64 {
        let (status, _, body) = get_text(&format!("http://{proxy}/live/index.m3u8")).await;
        assert_eq!(status, 200);
        assert_eq!(
            hls::strip_insertions(&body),
            live_playlist(round),
            "upstream sends no-cache: fetched every time"
        );
        let hashes = hls::hashes_in(&body);
        assert_eq!(hashes.len(), 4);
        for (i, (uri, hash)) in hashes.iter().enumerate() {
            assert_eq!(uri, &format!("seg{}.ts", round + i as u64));
            assert_eq!(hash, &sha256_hex(&live_segment(round + i as u64)));
        }
        seen_sequences.push(round);
    }
    // 4 rounds of a 4-segment window moving by one: 7 distinct segments, each hashed once.
    assert_eq!(engine.stats().hashes_computed, 7);
    assert_eq!(engine.stats().hash_cache_hits, 9);
    for i in 0..7 {
        assert_eq!(
            upstream.state.hits(&format!("/live/seg{i}.ts")),
            1,
            "seg{i} fetched once"
        );
    }
}

#[tokio::test]
async fn concurrent_cold_requests_make_one_upstream_request() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;
    let url = format!("http://{proxy}/gated/master.m3u8");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get_text(&url).await })
        })
        .collect();
    // The first request is held at the upstream until every client request is in flight.
    wait_until("first upstream request", Duration::from_secs(10), || {
        upstream.state.hits("/gated/master.m3u8") == 1
    })
    .await;
    wait_until("all requests in the proxy", Duration::from_secs(10), || {
        let s = engine.stats();
        s.manifest_fetches == 1
    })
    .await;
    upstream.state.released.store(true, Ordering::SeqCst);
    upstream.state.release.notify_waiters();
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, _, body) = t.await.unwrap();
        assert_eq!(status, 200);
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "shared tokens: identical manifests"
    );
    assert_eq!(upstream.state.hits("/gated/master.m3u8"), 1);
    assert_eq!(engine.stats().manifest_fetches, 1);
}

#[tokio::test]
async fn upstream_timeouts_are_504_and_failures_are_502() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;
    for (path, want) in [
        ("/slow/index.m3u8", 504),
        ("/slow/seg.ts", 504),
        ("/slow/manifest.mpd", 504),
        ("/broken/index.m3u8", 502),
        ("/broken/seg.ts", 502),
        ("/broken/manifest.mpd.meshcdn-hashes.json", 502),
    ] {
        let start = Instant::now();
        let r = client()
            .get(format!("http://{proxy}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("upstream"),
            "{path}: clear body, got {body:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{path} must not hang"
        );
    }
    assert!(engine.stats().upstream_errors >= 6);
    // An upstream that is not listening at all.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (dead_proxy, _) = start_proxy(&test_config(&dead)).await;
    for path in ["/a/master.m3u8", "/a/seg.ts"] {
        let r = client()
            .get(format!("http://{dead_proxy}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502, "{path}");
    }
    // 404s are the upstream's answer, passed through.
    let r = client()
        .get(format!("http://{proxy}/hls-ts/missing.m3u8"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn malformed_compressed_and_oversized_manifests() {
    let upstream = start_upstream().await;
    let (proxy, engine) = start_proxy(&test_config(&upstream.url())).await;

    let (status, _, body) = get_text(&format!("http://{proxy}/bad/index.m3u8")).await;
    assert_eq!(status, 200);
    assert_eq!(body, BAD_PLAYLIST, "fail open: the original, unchanged");
    assert_eq!(engine.stats().fail_open, 1);

    let (status, _, body) = get_text(&format!("http://{proxy}/big/index.m3u8")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        big_playlist(2_000),
        "over the 32 KiB cap: streamed through unchanged"
    );
    assert_eq!(engine.stats().fail_open, 2);

    let r = client()
        .get(format!("http://{proxy}/gz/master.m3u8"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("content-encoding").is_none(),
        "served decoded"
    );
    let body = r.text().await.unwrap();
    assert!(hls::bootstrap_in(&body).is_some());
    assert_eq!(
        hls::strip_insertions(&body).as_bytes(),
        media("hls-ts/master.m3u8")
    );
}

#[tokio::test]
async fn token_api_authenticates_publishers_and_issues_verifiable_tokens() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_ms() / 1000).unwrap();
    let api_key = add_api_key(keys.path(), "dashboard", vec!["vod/".into()]).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    let (proxy, _) = start_proxy(&config).await;
    let url = format!("http://{proxy}/v1/tokens");
    let body = serde_json::json!({ "content": "vod/movie", "ttl_secs": 600 });

    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert!(r.text().await.unwrap().contains("Authorization"));
    let r = client()
        .post(&url)
        .bearer_auth("mcdn_wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("unknown API key"));
    let r = client()
        .post(&url)
        .bearer_auth(&api_key)
        .json(&serde_json::json!({ "content": "live/x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .post(&url)
        .bearer_auth(&api_key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .post(&url)
        .bearer_auth(&api_key)
        .json(&serde_json::json!({ "content": "vod/a", "ttl_secs": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let r = client()
        .post(&url)
        .bearer_auth(&api_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let issued: serde_json::Value = r.json().await.unwrap();
    let jwks = client()
        .get(format!("http://{proxy}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let claims = Verifier::from_jwks_json(&jwks)
        .unwrap()
        .verify(issued["token"].as_str().unwrap(), now_ms())
        .unwrap();
    assert_eq!(claims.cid, "vod/movie");
    assert_eq!(claims.exp, issued["expires_at"].as_u64().unwrap());
}

#[tokio::test]
async fn per_viewer_tokens_make_master_playlists_private() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_ms() / 1000).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    config.tokens.scope = TokenScope::PerViewer;
    let (proxy, _) = start_proxy(&config).await;
    let r = client()
        .get(format!("http://{proxy}/hls-ts/master.m3u8"))
        .header("x-meshcdn-viewer", "viewer-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let body = r.text().await.unwrap();
    let token = Bootstrap::decode(&hls::bootstrap_in(&body).unwrap())
        .unwrap()
        .token
        .unwrap();
    let jwks = client()
        .get(format!("http://{proxy}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let claims = Verifier::from_jwks_json(&jwks)
        .unwrap()
        .verify(&token, now_ms())
        .unwrap();
    assert_eq!(claims.sub.as_deref(), Some("viewer-7"));
}

#[tokio::test]
async fn stale_hashes_are_revalidated_by_etag_and_rehashed_when_it_changes() {
    let upstream = start_upstream().await;
    let mut config = test_config(&upstream.url());
    config.hashes.ttl_secs = 0; // revalidate on every manifest fetch
    let (proxy, engine) = start_proxy(&config).await;
    let url = format!("http://{proxy}/mutable/index.m3u8");

    let first = hls::hashes_in(&get_text(&url).await.2);
    assert_eq!(
        first,
        [("seg.ts".to_string(), sha256_hex(&mutable_segment(0)))]
    );
    assert_eq!(engine.stats().hashes_computed, 1);

    let second = hls::hashes_in(&get_text(&url).await.2);
    assert_eq!(second, first, "same ETag: same hash");
    assert_eq!(engine.stats().hashes_computed, 1, "not rehashed");
    assert_eq!(engine.stats().hash_revalidations, 1);
    assert_eq!(
        upstream.state.not_modified.load(Ordering::SeqCst),
        1,
        "revalidated with If-None-Match"
    );

    upstream.state.mutable_version.store(1, Ordering::SeqCst);
    let third = hls::hashes_in(&get_text(&url).await.2);
    assert_eq!(
        third,
        [("seg.ts".to_string(), sha256_hex(&mutable_segment(1)))],
        "new ETag: new hash"
    );
    assert_eq!(engine.stats().hashes_computed, 2);
}
