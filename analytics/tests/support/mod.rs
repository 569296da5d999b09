//! Shared set-up of the integration tests: a [`Gate`] over real Ed25519 swarm tokens (signed and
//! verified by the tracker crate, as the origin plugin does) and request helpers.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use meshcdn_analytics::{Access, Admitted, Analytics, AnalyticsConfig, Gate};
use meshcdn_tracker::token::{SigningKey, SwarmClaims, Verifier};
use tower::ServiceExt as _;

pub const API_KEY: &str = "mcdn_test_publisher_key";
pub const SCOPED_KEY: &str = "mcdn_test_scoped_key";
pub const ADMIN: &str = "admin-secret-0123456789";

pub struct TestGate {
    pub key: SigningKey,
    verifier: Verifier,
}

impl TestGate {
    pub fn new() -> Self {
        let key = SigningKey::from_seed("k1", &[7; 32]).unwrap();
        let jwks = serde_json::json!({ "keys": [key.public_jwk()] });
        let verifier = Verifier::from_jwks_json(&jwks.to_string()).unwrap();
        Self { key, verifier }
    }

    pub fn token(&self, content: &str, exp_from_now_secs: i64) -> String {
        let now = now_secs() as i64;
        self.key
            .sign(&SwarmClaims {
                iss: "meshcdn".into(),
                aud: "meshcdn-tracker".into(),
                exp: (now + exp_from_now_secs) as u64,
                nbf: None,
                iat: now as u64,
                cid: content.into(),
                sub: None,
            })
            .unwrap()
    }
}

impl Gate for TestGate {
    fn admit(&self, token: &str, now_ms: u64) -> Result<Admitted, String> {
        let claims = self
            .verifier
            .verify(token, now_ms)
            .map_err(|e| e.to_string())?;
        Ok(Admitted {
            content: claims.cid,
            viewer: claims.sub,
        })
    }

    fn login(&self, api_key: &str) -> Option<Access> {
        match api_key {
            API_KEY => Some(Access::All),
            SCOPED_KEY => Some(Access::Prefixes(vec!["vod/".into()])),
            _ => None,
        }
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub async fn analytics(
    database_url: &str,
    tweak: impl FnOnce(&mut AnalyticsConfig),
) -> (Analytics, Arc<TestGate>) {
    let gate = Arc::new(TestGate::new());
    let mut config = AnalyticsConfig {
        database_url: Some(database_url.into()),
        admin_secret: Some(ADMIN.into()),
        ..AnalyticsConfig::default()
    };
    tweak(&mut config);
    let a = Analytics::open(config, gate.clone()).await.unwrap();
    (a, gate)
}

pub fn beacon(token: &str, content: &str, viewer: &str, http: u64, p2p: u64) -> serde_json::Value {
    serde_json::json!({
        "v": 1, "token": token, "content": content, "rendition": "720p/index.m3u8",
        "viewer": viewer, "seq": 1, "interval_ms": 10_000, "http": http, "p2p": p2p,
        "up": 100, "peers": if p2p > 0 { 2 } else { 0 },
        "conn": {"host": {"ok": 1, "fail": 0}, "relay": {"ok": 0, "fail": 1}},
        "stalls": 0, "stall_ms": 0, "player": "test"
    })
}

/// Sends a request to the routes; returns status and body.
pub async fn send(a: &Analytics, request: Request<Body>) -> (StatusCode, String) {
    let response = a.routes().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub fn post(body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/beacons")
        .header("content-type", "text/plain")
        .body(body.into())
        .unwrap()
}

pub fn get(path: &str, bearer: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(b) = bearer {
        r = r.header("authorization", format!("Bearer {b}"));
    }
    r.body(Body::empty()).unwrap()
}

/// The report as JSON, logged in with `key`.
pub async fn report(a: &Analytics, key: &str) -> serde_json::Value {
    let (status, body) = send(a, get("/v1/analytics?window_secs=3600", Some(key))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}
