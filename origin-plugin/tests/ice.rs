//! STUN/TURN servers from the `[ice]` config travel in the bootstrap, with TURN REST credentials
//! minted per swarm token (the reverse proxy against a real upstream on loopback).

mod common;

use common::*;
use meshcdn_origin::bootstrap::Bootstrap;
use meshcdn_origin::config::OriginConfig;
use meshcdn_origin::config::TokenScope;
use meshcdn_origin::ice::{IceConfig, IceServer, TurnConfig, turn_rest_credential, turn_user_id};
use meshcdn_origin::manifest::{dash, hls};
use meshcdn_origin::tokens::generate_key;
use meshcdn_tracker::token::Verifier;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ice_config() -> IceConfig {
    IceConfig {
        stun: vec!["stun:turn.example.com:3478".into()],
        turn: vec![TurnConfig {
            urls: vec![
                "turn:turn.example.com:3478?transport=udp".into(),
                "turn:turn.example.com:3478?transport=tcp".into(),
            ],
            secret: Some("coturn-static-auth-secret".into()),
            secret_file: None,
        }],
    }
}

/// The `ice` field of the bootstrap that a proxy with `config` puts in the sample master playlist.
async fn bootstrap_ice(config: &OriginConfig) -> Option<Vec<IceServer>> {
    let (proxy, _engine) = start_proxy(config).await;
    let body = client()
        .get(format!("http://{proxy}/hls-ts/master.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Bootstrap::decode(&hls::bootstrap_in(&body).unwrap())
        .unwrap()
        .ice
}

fn max_age(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let cc = headers.get("cache-control")?.to_str().ok()?;
    cc.split(',')
        .find_map(|d| d.trim().strip_prefix("max-age=")?.parse().ok())
}

#[tokio::test]
async fn bootstraps_carry_stun_and_turn_credentials_that_expire_with_the_token() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_secs()).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    config.ice = Some(ice_config());
    let (proxy, _engine) = start_proxy(&config).await;
    let jwks = client()
        .get(format!("http://{proxy}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let verifier = Verifier::from_jwks_json(&jwks).unwrap();

    for (path, is_dash) in [("hls-ts/master.m3u8", false), ("dash/manifest.mpd", true)] {
        let before = now_secs();
        let r = client()
            .get(format!("http://{proxy}/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        let value = if is_dash {
            dash::bootstrap_in(&body)
        } else {
            hls::bootstrap_in(&body)
        }
        .unwrap();
        let b = Bootstrap::decode(&value).unwrap();
        let token = b.token.as_deref().expect("a token");
        let exp = verifier.verify(token, before * 1000).unwrap().exp;
        let ice = b.ice.expect("the bootstrap carries ICE servers");
        assert_eq!(ice.len(), 2, "{ice:?}");
        assert_eq!(ice[0].urls, ["stun:turn.example.com:3478"]);
        assert_eq!(
            (ice[0].username.as_ref(), ice[0].credential.as_ref()),
            (None, None)
        );
        assert_eq!(ice[1].urls, config.ice.as_ref().unwrap().turn[0].urls);
        let user = ice[1].username.as_deref().unwrap();
        assert_eq!(
            user,
            format!("{exp}:{}", turn_user_id(&b.content, Some(token)))
        );
        assert_eq!(
            ice[1].credential.as_deref().unwrap(),
            turn_rest_credential(
                "coturn-static-auth-secret",
                exp,
                &turn_user_id(&b.content, Some(token))
            )
            .1
        );
        // Shared scope: caches may keep the manifest only while the credentials have life left.
        let age = max_age(&headers).expect("a capped max-age");
        let ttl = config.tokens.ttl_secs;
        assert!(
            age + ttl / 2 <= exp - before,
            "max-age {age} outlives the credentials (exp {exp})"
        );
    }
}

#[tokio::test]
async fn per_viewer_tokens_get_their_own_credentials_and_no_ice_section_sends_none() {
    let upstream = start_upstream().await;
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), now_secs()).unwrap();
    let mut config = test_config(&upstream.url());
    config.keys_dir = Some(keys.path().into());
    config.tokens.scope = TokenScope::PerViewer;
    config.ice = Some(ice_config());
    let (proxy, _engine) = start_proxy(&config).await;
    let fetch = |viewer: &'static str| {
        let url = format!("http://{proxy}/hls-ts/master.m3u8");
        async move {
            let r = client()
                .get(url)
                .header("x-meshcdn-viewer", viewer)
                .send()
                .await
                .unwrap();
            let cc = r.headers()["cache-control"].to_str().unwrap().to_string();
            let b =
                Bootstrap::decode(&hls::bootstrap_in(&r.text().await.unwrap()).unwrap()).unwrap();
            (cc, b.ice.unwrap()[1].username.clone().unwrap())
        }
    };
    let (cc_a, user_a) = fetch("viewer-a").await;
    let (_, user_b) = fetch("viewer-b").await;
    assert_eq!(cc_a, "private, no-store");
    assert_ne!(user_a, user_b, "one credential per viewer token");

    // Without an [ice] section: no `ice` field (the client's default applies).
    assert_eq!(bootstrap_ice(&test_config(&upstream.url())).await, None);
    // An empty [ice] section: an empty list (no STUN/TURN at all).
    let mut empty = test_config(&upstream.url());
    empty.ice = Some(IceConfig::default());
    assert_eq!(bootstrap_ice(&empty).await, Some(vec![]));
}

#[test]
fn the_ice_section_parses_from_the_origin_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("turn-secret");
    std::fs::write(&secret, "from-a-file\n").unwrap();
    let path = dir.path().join("origin.toml");
    std::fs::write(
        &path,
        format!(
            "[ice]\nstun = [\"stun:turn.example.com:3478\"]\n[[ice.turn]]\nurls = [\"turns:turn.example.com:5349?transport=tcp\"]\nsecret_file = {:?}\n",
            secret.display().to_string()
        ),
    )
    .unwrap();
    let c = meshcdn_origin::config::OriginConfig::load(&path).unwrap();
    assert_eq!(
        c.ice.as_ref().unwrap().turn[0].read_secret().unwrap(),
        "from-a-file"
    );
    std::fs::write(&path, "[ice]\nturn = [{ urls = [\"turn:t:3478\"] }]\n").unwrap();
    let err = meshcdn_origin::config::OriginConfig::load(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("secret"), "{err}");
}
