//! The JWKS fetch under hostile or careless key servers, each a real HTTP server on loopback
//! started by the test: plain http only with the opt-in, a size limit, redirects only within the
//! URL's origin, and an unknown `kid` re-reading the key set at most once per interval.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use common::*;
use meshcdn_edge::EngineKind::Native;
use meshcdn_edge::{EdgeConfig, EdgeError, JwksError};
use meshcdn_tracker::token::SigningKey;

/// A key server on loopback: `/jwks.json` (with a length), `/chunked.json` (without),
/// `/moved` (redirect to `/jwks.json`), `/away` (redirect to `away`); counts requests.
struct KeyServer {
    base: String,
    served: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(document: String, away: Option<String>) -> Self {
        let served = Arc::new(Mutex::new(document));
        let hits = Arc::new(AtomicUsize::new(0));
        let doc = {
            let (served, hits) = (served.clone(), hits.clone());
            move || {
                hits.fetch_add(1, Relaxed);
                served.lock().unwrap().clone()
            }
        };
        let chunked = doc.clone();
        let away = away.unwrap_or_default();
        let app = axum::Router::new()
            .route("/jwks.json", get(move || std::future::ready(doc())))
            .route(
                "/chunked.json",
                get(move || {
                    let text = chunked();
                    async move {
                        let chunks = text
                            .into_bytes()
                            .chunks(512)
                            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                            .collect::<Vec<_>>();
                        axum::body::Body::from_stream(futures_util::stream::iter(chunks))
                    }
                }),
            )
            .route(
                "/moved",
                get(|| async { Redirect::temporary("/jwks.json") }),
            )
            .route(
                "/away",
                get(move || {
                    let away = away.clone();
                    async move { Redirect::temporary(&away).into_response() }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, served, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Relaxed)
    }
}

fn keyed(location: String) -> EdgeConfig {
    let mut c = config(Native);
    c.auth.open = false;
    c.auth.jwks = Some(location);
    c.auth.allow_insecure_jwks = true;
    c
}

async fn refused(c: EdgeConfig) -> EdgeError {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    meshcdn_edge::serve(c, listener)
        .await
        .err()
        .expect("start-up refused")
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out += &format!(": {s}");
        source = s.source();
    }
    out
}

#[tokio::test]
async fn plain_http_needs_the_opt_in() {
    let key = SigningKey::from_seed("k", &[1; 32]).unwrap();
    let server = KeyServer::start(jwks(&[&key]), None).await;
    let mut c = keyed(format!("{}/jwks.json", server.base));
    c.auth.allow_insecure_jwks = false;
    let err = refused(c.clone()).await;
    assert!(
        matches!(&err, EdgeError::Config(_)) && err.to_string().contains("allow_insecure_jwks"),
        "{err}"
    );
    assert_eq!(server.hits(), 0, "nothing fetched over plain http");
    c.auth.allow_insecure_jwks = true;
    start(c).await.shutdown().await;
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn an_oversize_key_set_is_refused_with_or_without_a_length() {
    let key = SigningKey::from_seed("k", &[2; 32]).unwrap();
    let doc = jwks(&[&key]);
    // Valid JSON, padded past the limit.
    let padded = format!("{}{}", " ".repeat(4096), doc);
    let server = KeyServer::start(padded, None).await;
    for path in ["/jwks.json", "/chunked.json"] {
        let mut c = keyed(format!("{}{path}", server.base));
        c.auth.jwks_max_bytes = 2048;
        let err = refused(c).await;
        assert!(
            matches!(
                &err,
                EdgeError::Jwks(JwksError::TooLarge { limit: 2048, .. })
            ),
            "{path}: {err}"
        );
    }
    // The same document within the limit loads.
    *server.served.lock().unwrap() = doc.clone();
    for path in ["/jwks.json", "/chunked.json"] {
        let mut c = keyed(format!("{}{path}", server.base));
        c.auth.jwks_max_bytes = 2048;
        start(c).await.shutdown().await;
    }
    // A file is bounded the same way.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, format!("{}{}", " ".repeat(4096), doc)).unwrap();
    let mut c = keyed(file.display().to_string());
    c.auth.jwks_max_bytes = 2048;
    let err = refused(c).await;
    assert!(
        matches!(&err, EdgeError::Jwks(JwksError::TooLarge { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_origin() {
    let key = SigningKey::from_seed("k", &[3; 32]).unwrap();
    let elsewhere = KeyServer::start(jwks(&[&key]), None).await;
    let server =
        KeyServer::start(jwks(&[&key]), Some(format!("{}/jwks.json", elsewhere.base))).await;
    start(keyed(format!("{}/moved", server.base)))
        .await
        .shutdown()
        .await;
    assert_eq!(server.hits(), 1, "same-origin redirect followed");
    let err = refused(keyed(format!("{}/away", server.base))).await;
    assert!(
        matches!(&err, EdgeError::Jwks(JwksError::Fetch { .. })),
        "{err}"
    );
    assert!(chain(&err).contains("another host"), "{}", chain(&err));
    assert_eq!(elsewhere.hits(), 0, "the other host was never asked");
}

/// A key rotated in after the last refresh is picked up by the first token that uses it, with
/// one fetch, long before the periodic refresh.
#[tokio::test]
async fn an_unknown_kid_refetches_once_and_the_rotated_key_is_accepted() {
    let old = SigningKey::from_seed("old", &[4; 32]).unwrap();
    let new = SigningKey::from_seed("new", &[5; 32]).unwrap();
    let server = KeyServer::start(jwks(&[&old]), None).await;
    let mut c = keyed(format!("{}/jwks.json", server.base));
    c.auth.jwks_refresh_secs = 3600;
    c.auth.jwks_refetch_secs = 3600;
    let edge = start(c).await;
    let url = edge.announce_url();
    assert_eq!(server.hits(), 1);
    let mut a = Client::connect(&format!("{url}?token={}", token(&old, "c", 600))).await;
    assert_eq!(server.hits(), 1, "a known kid fetches nothing");
    *server.served.lock().unwrap() = jwks(&[&new, &old]);
    let mut b = Client::connect(&format!("{url}?token={}", token(&new, "c", 600))).await;
    assert_eq!(server.hits(), 2, "one fetch for the unknown kid");
    for (c, n) in [(&mut a, 1), (&mut b, 2)] {
        c.send(announce(&id_n(70, 1), &id_n(71, n), &[])).await;
        c.recv_until(is_announce_reply).await;
    }
    edge.shutdown().await;
}

/// Tokens with made-up `kid`s, many at once: one fetch, then none until the interval has passed,
/// even for a kid the key server has meanwhile added.
#[tokio::test]
async fn a_burst_of_unknown_kids_costs_one_fetch_per_interval() {
    let known = SigningKey::from_seed("known", &[6; 32]).unwrap();
    let server = KeyServer::start(jwks(&[&known]), None).await;
    let mut c = keyed(format!("{}/jwks.json", server.base));
    c.auth.jwks_refresh_secs = 3600;
    c.auth.jwks_refetch_secs = 3600;
    let edge = start(c).await;
    let url = edge.announce_url();
    let strangers: Vec<SigningKey> = (0..20u8)
        .map(|i| SigningKey::from_seed(format!("made-up-{i}"), &[100 + i; 32]).unwrap())
        .collect();
    let attempts = strangers.iter().map(|k| {
        let url = format!("{url}?token={}", token(k, "c", 600));
        async move { tokio_tungstenite::connect_async(url).await }
    });
    for result in futures_util::future::join_all(attempts).await {
        let result = result.map(|_| ());
        assert!(
            matches!(result, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401),
            "{result:?}"
        );
    }
    assert_eq!(server.hits(), 2, "start-up and one re-read for the burst");
    *server.served.lock().unwrap() = jwks(&[&known, &strangers[0]]);
    let late =
        tokio_tungstenite::connect_async(format!("{url}?token={}", token(&strangers[0], "c", 600)))
            .await;
    assert!(
        matches!(late, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401),
        "within the interval the key set is not re-read: {late:?}"
    );
    assert_eq!(server.hits(), 2);
    Client::connect(&format!("{url}?token={}", token(&known, "c", 600))).await;
    edge.shutdown().await;
}
