//! The proxy as it runs in production: swarm placement from `placement_file` (with `Vary`),
//! `/health` and `/metrics` for Kubernetes probes and Prometheus, and signing keys rotated on a
//! running proxy. Real upstream and proxy on loopback.

mod common;

use std::time::{Duration, Instant};

use common::*;
use meshcdn_origin::bootstrap::{Bootstrap, HASH_DOC_SUFFIX};
use meshcdn_origin::manifest::{dash, hls};
use meshcdn_origin::proxy::Health;
use meshcdn_origin::tokens::{add_api_key, generate_key};
use meshcdn_tracker::token::Verifier;

const PLACEMENT: &str = r#"
region_header = "x-meshcdn-region"
default_pop = "fra"
pop_fallbacks = 1

[[pops]]
name = "fra"
regions = ["DE", "FR"]
fallback_pop = "iad"
nodes = [
  { name = "edge-0", tracker_url = "ws://127.0.0.1:7001/announce" },
  { name = "edge-1", tracker_url = "ws://127.0.0.1:7002/announce" },
]

[[pops]]
name = "iad"
regions = ["US"]
nodes = [{ name = "edge-0", tracker_url = "ws://127.0.0.1:7101/announce" }]
"#;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn get(url: &str, region: Option<&str>) -> reqwest::Response {
    let mut r = client().get(url);
    if let Some(region) = region {
        r = r.header("x-meshcdn-region", region);
    }
    r.send().await.unwrap()
}

fn vary_lists(headers: &reqwest::header::HeaderMap, name: &str) -> bool {
    headers
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(name))
}

#[tokio::test]
async fn placement_file_picks_trackers_by_region_and_bootstraps_vary_on_it() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("placement.toml");
    std::fs::write(&path, PLACEMENT).unwrap();
    let mut config = test_config(&upstream.url());
    config.placement_file = Some(path.clone());
    let (proxy, _engine) = start_proxy(&config).await;
    let placement = meshcdn_placement::Placement::load(&path).unwrap();

    let master = format!("http://{proxy}/hls-fmp4/master.m3u8");
    for region in [Some("DE"), Some("US"), None, Some("JP")] {
        let r = get(&master, region).await;
        assert_eq!(r.status(), 200);
        assert!(
            vary_lists(r.headers(), "x-meshcdn-region"),
            "{region:?}: {:?}",
            r.headers()
        );
        let body = r.text().await.unwrap();
        let bootstrap = Bootstrap::decode(&hls::bootstrap_in(&body).unwrap()).unwrap();
        assert_eq!(
            bootstrap.trackers,
            placement.trackers_for(region, "hls-fmp4"),
            "{region:?}"
        );
    }
    let us = Bootstrap::decode(
        &hls::bootstrap_in(&get(&master, Some("US")).await.text().await.unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        us.trackers[0], "ws://127.0.0.1:7101/announce",
        "US viewers go to iad"
    );
    let de = Bootstrap::decode(
        &hls::bootstrap_in(&get(&master, Some("DE")).await.text().await.unwrap()).unwrap(),
    )
    .unwrap();
    assert_ne!(de.trackers, us.trackers);

    // DASH: the MPD carries the bootstrap too, so it varies as well.
    let r = get(&format!("http://{proxy}/dash/manifest.mpd"), Some("US")).await;
    assert!(vary_lists(r.headers(), "x-meshcdn-region"));
    let mpd = r.text().await.unwrap();
    let value = dash::bootstrap_in(&mpd).unwrap();
    assert_eq!(
        Bootstrap::decode(&value).unwrap().trackers,
        placement.trackers_for(Some("US"), "dash")
    );

    // Media playlists, hash documents and segments hold no trackers: they do not vary.
    for path in [
        "hls-fmp4/360p/index.m3u8",
        &format!("dash/manifest.mpd{HASH_DOC_SUFFIX}"),
        "hls-fmp4/360p/init_0.mp4",
    ] {
        let r = get(&format!("http://{proxy}/{path}"), Some("US")).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(!vary_lists(r.headers(), "x-meshcdn-region"), "{path}");
    }
}

#[tokio::test]
async fn a_bad_placement_file_is_a_clear_startup_error() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&upstream.url());
    config.placement_file = Some(dir.path().join("missing.toml"));
    let err = meshcdn_origin::proxy::build_proxy(&config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.toml"), "{err}");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "default_pop = \"nowhere\"\n").unwrap();
    config.placement_file = Some(path);
    let err = meshcdn_origin::proxy::build_proxy(&config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.toml"), "{err}");
}

#[tokio::test]
async fn health_reports_upstream_and_keys_and_metrics_expose_the_counters() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    let kid = generate_key(keys.path(), now_secs()).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    let (proxy, engine) = start_proxy(&config).await;

    let r = get(&format!("http://{proxy}/health"), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let health: Health = r.json().await.unwrap();
    assert_eq!(
        health,
        Health {
            ok: true,
            upstream_configured: true,
            keys_loaded: true,
            signing_kid: Some(kid),
            placement: false
        }
    );
    assert_eq!(
        upstream.state.hits("/health"),
        0,
        "answered by the proxy, not forwarded"
    );

    // Open mode: healthy, no keys.
    let (open, _) = start_proxy(&test_config(&upstream.url())).await;
    let health: Health = get(&format!("http://{open}/health"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(health.ok && !health.keys_loaded && health.signing_kid.is_none());

    // Some traffic, then the counters as Prometheus reads them.
    for _ in 0..2 {
        assert_eq!(
            get(&format!("http://{proxy}/hls-ts/master.m3u8"), None)
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        get(&format!("http://{proxy}/hls-ts/360p/index.m3u8"), None)
            .await
            .status(),
        200
    );
    let r = get(&format!("http://{proxy}/metrics"), None).await;
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = r.text().await.unwrap();
    let value = |name: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        assert!(text.contains(&format!("# TYPE {name} counter\n")), "{name}");
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let stats = engine.stats();
    assert_eq!(
        value("meshcdn_origin_manifests_rewritten_total"),
        stats.manifests_rewritten
    );
    assert_eq!(value("meshcdn_origin_manifests_rewritten_total"), 3);
    assert_eq!(
        value("meshcdn_origin_hashes_computed_total"),
        stats.hashes_computed
    );
    assert!(
        value("meshcdn_origin_hashes_computed_total") >= 10,
        "the 360p segments were hashed"
    );
    assert_eq!(
        value("meshcdn_origin_tokens_issued_total"),
        stats.tokens_issued
    );
    assert_eq!(value("meshcdn_origin_hash_failures_total"), 0);
    assert_eq!(upstream.state.hits("/metrics"), 0);
}

/// Polls `url` until `cond` holds on its JSON body (or fails after 20 s).
async fn wait_json(
    url: &str,
    what: &str,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let v: serde_json::Value = get(url, None).await.json().await.unwrap();
        if cond(&v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn rotated_keys_take_effect_on_a_running_proxy() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    let old_kid = generate_key(keys.path(), now_secs()).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    config.tokens.reload_secs = 1;
    let (proxy, engine) = start_proxy(&config).await;
    let jwks_url = format!("http://{proxy}/.well-known/jwks.json");
    let kids = |v: &serde_json::Value| -> Vec<String> {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        kids(&get(&jwks_url, None).await.json().await.unwrap()),
        std::slice::from_ref(&old_kid)
    );
    let master = format!("http://{proxy}/hls-ts/master.m3u8");
    let token_of = |body: &str| {
        Bootstrap::decode(&hls::bootstrap_in(body).unwrap())
            .unwrap()
            .token
            .unwrap()
    };
    let old_token = token_of(&get(&master, None).await.text().await.unwrap());

    // `meshcdn keys generate` on the running origin's directory, plus a new publisher API key.
    let new_kid = generate_key(keys.path(), now_secs()).unwrap();
    let api_key = add_api_key(keys.path(), "late", vec![]).unwrap();
    let jwks = wait_json(&jwks_url, "the new key in the JWKS", |v| {
        kids(v).contains(&new_kid)
    })
    .await;
    assert_eq!(
        kids(&jwks),
        [new_kid.clone(), old_kid.clone()],
        "new key signs, old one still published"
    );
    assert_eq!(engine.issuer().unwrap().current_kid(), new_kid);

    // Manifest tokens are signed with the new key; tokens of the old key still verify.
    let verifier = Verifier::from_jwks_json(&jwks.to_string()).unwrap();
    let now_ms = now_secs() * 1000;
    assert!(verifier.verify(&old_token, now_ms).is_ok());
    let body = get(&master, None).await.text().await.unwrap();
    let new_token = token_of(&body);
    assert_ne!(new_token, old_token);
    assert!(verifier.verify(&new_token, now_ms).is_ok());
    let header: serde_json::Value = {
        use base64::Engine as _;
        let head = new_token.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(head)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["kid"], new_kid.as_str());

    // The API key added after start is accepted, and /health reports the new key.
    let r = client()
        .post(format!("http://{proxy}/v1/tokens"))
        .bearer_auth(&api_key)
        .json(&serde_json::json!({ "content": "vod/x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let issued: serde_json::Value = r.json().await.unwrap();
    assert_eq!(issued["kid"], new_kid.as_str());
    let health: Health = get(&format!("http://{proxy}/health"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(health.signing_kid.as_deref(), Some(new_kid.as_str()));
    assert!(
        engine.stats().tokens_issued >= 3,
        "the count survives the swap"
    );
}
