//! Tokens at the upgrade (401 before it), JWKS from a file and over http with rotation, and wss.

mod common;

use std::sync::Arc;

use common::*;
use meshcdn_edge::EngineKind::{Native, Wasm};
use meshcdn_edge::metrics::Reject;
use meshcdn_tracker::token::{SigningKey, swarm_id};

fn status_of(result: Result<impl Sized, tokio_tungstenite::tungstenite::Error>) -> Option<u16> {
    match result {
        Ok(_) => Some(101),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Some(r.status().as_u16()),
        Err(_) => None,
    }
}

async fn tokens_are_checked_at_the_upgrade_and_scope_on_announce(engine: meshcdn_edge::EngineKind) {
    let key = SigningKey::from_seed("k1", &[7; 32]).unwrap();
    let stranger = SigningKey::from_seed("k1", &[8; 32]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&[&key])).unwrap();
    let mut c = config(engine);
    c.auth.open = false;
    c.auth.jwks = Some(path.display().to_string());
    let edge = start(c).await;
    let url = edge.announce_url();
    for (bad, why) in [
        (url.clone(), "no token"),
        (format!("{url}?token="), "empty token"),
        (format!("{url}?token=garbage"), "malformed"),
        (
            format!("{url}?token={}", token(&stranger, "movie", 600)),
            "wrong key",
        ),
        (
            format!("{url}?token={}", token(&key, "movie", -3600)),
            "expired",
        ),
    ] {
        assert_eq!(
            status_of(tokio_tungstenite::connect_async(bad.as_str()).await),
            Some(401),
            "{why}"
        );
    }
    assert_eq!(edge.metrics().rejects(Reject::Unauthorized), 5);
    let mut a = Client::connect(&format!("{url}?token={}", token(&key, "movie", 600))).await;
    let own = id(swarm_id("movie", "720p").0);
    a.send(announce(&own, &id_n(40, 1), &[])).await;
    assert!(a.recv().await.get("interval").is_some());
    let foreign = id(swarm_id("other-movie", "720p").0);
    a.send(announce(&foreign, &id_n(40, 1), &[])).await;
    let refusal = a.recv().await;
    assert!(
        refusal["failure reason"]
            .as_str()
            .unwrap()
            .contains("token"),
        "{refusal}"
    );
    edge.shutdown().await;
}

#[tokio::test]
async fn tokens_native() {
    tokens_are_checked_at_the_upgrade_and_scope_on_announce(Native).await;
}

#[tokio::test]
async fn tokens_wasm() {
    tokens_are_checked_at_the_upgrade_and_scope_on_announce(Wasm).await;
}

#[tokio::test]
async fn jwks_over_http_is_refreshed_so_rotated_keys_work() {
    let old = SigningKey::from_seed("old", &[1; 32]).unwrap();
    let new = SigningKey::from_seed("new", &[2; 32]).unwrap();
    let served = Arc::new(std::sync::Mutex::new(jwks(&[&old])));
    let app = {
        let served = served.clone();
        axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let served = served.clone();
                async move { served.lock().unwrap().clone() }
            }),
        )
    };
    let jwks_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!(
        "http://{}/.well-known/jwks.json",
        jwks_listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(jwks_listener, app).await.unwrap() });
    let mut c = config(Native);
    c.auth.open = false;
    c.auth.jwks = Some(jwks_url);
    c.auth.allow_insecure_jwks = true;
    c.auth.jwks_refresh_secs = 1;
    let edge = start(c).await;
    let url = edge.announce_url();
    let with = |k: &SigningKey| format!("{url}?token={}", token(k, "c", 600));
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(with(&old).as_str()).await),
        Some(101)
    );
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(with(&new).as_str()).await),
        Some(401)
    );
    *served.lock().unwrap() = jwks(&[&new, &old]);
    eventually(|| async {
        (status_of(tokio_tungstenite::connect_async(with(&new).as_str()).await) == Some(101))
            .then_some(())
    })
    .await;
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(with(&old).as_str()).await),
        Some(101)
    );
    edge.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_key_set_fails_start_up_with_a_typed_error() {
    let mut c = config(Native);
    c.auth.open = false;
    c.auth.jwks = Some("/nonexistent/jwks.json".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = meshcdn_edge::serve(c, listener)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(
            &err,
            meshcdn_edge::EdgeError::Jwks(meshcdn_edge::JwksError::Read { location, .. })
                if location == "/nonexistent/jwks.json"
        ),
        "{err:?}"
    );
    // The cause is kept as a source, not flattened into a string.
    let io = std::error::Error::source(&err)
        .and_then(std::error::Error::source)
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .expect("the I/O error is the source of the source");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

#[tokio::test]
async fn wss_serves_the_tracker_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut c = config(Wasm);
    c.tls = Some(meshcdn_edge::config::TlsConfig {
        cert: cert_path,
        key: key_path,
    });
    let edge = start(c).await;
    assert!(edge.announce_url().starts_with("wss://"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let url = format!("wss://localhost:{}/announce", edge.local_addr().port());
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(client))),
    )
    .await
    .unwrap();
    let mut a = Client { ws };
    a.send(announce(&id_n(41, 1), &id_n(41, 2), &[])).await;
    assert!(a.recv().await.get("interval").is_some());
    // The TLS stream itself, not hyper's wrapper around it.
    assert_eq!(
        edge.metrics()
            .upgrades_wrapped
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // A plain-text client gets no WebSocket from a TLS port.
    let plain = format!("ws://127.0.0.1:{}/announce", edge.local_addr().port());
    assert!(
        tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(plain.as_str()))
            .await
            .unwrap()
            .is_err()
    );
    edge.shutdown().await;
}

#[tokio::test]
async fn bad_tls_files_fail_start_up_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a pem").unwrap();
    let mut c = config(Native);
    c.tls = Some(meshcdn_edge::config::TlsConfig {
        cert: junk.clone(),
        key: junk,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = meshcdn_edge::serve(c, listener)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(
            &err,
            meshcdn_edge::EdgeError::Tls(meshcdn_edge::TlsError::NoCertificate { path }) if path.ends_with("junk.pem")
        ),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
}
