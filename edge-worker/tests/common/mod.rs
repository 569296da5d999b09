//! Helpers of the edge host's integration tests: a host on a loopback port, WebSocket clients,
//! protocol messages, and the built components.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use meshcdn_edge::{EdgeConfig, EdgeHandle, EngineKind};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// Generous bound for anything a test waits on.
pub const WAIT: Duration = Duration::from_secs(15);

/// The tracker-shard component built by `scripts/build-guest.sh`.
pub fn component() -> PathBuf {
    let path = meshcdn_edge::config::default_component_path();
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-guest.sh first",
        path.display()
    );
    path
}

/// `edge-worker/interop/`, with its npm tooling installed and the browser client bundled
/// (`prepare.sh`, idempotent and safe to run from parallel tests).
pub fn prepared_interop_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
    let out = std::process::Command::new(dir.join("prepare.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "interop/prepare.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// The fault-injection build (`scripts/build-guest.sh --fault`).
pub fn fault_component() -> PathBuf {
    let path = std::env::var_os("MESHCDN_FAULT_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| component().with_file_name("tracker-shard-fault.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-guest.sh first",
        path.display()
    );
    path
}

pub fn config(engine: EngineKind) -> EdgeConfig {
    let mut c = EdgeConfig {
        engine,
        shards: 2,
        component: (engine == EngineKind::Wasm).then(component),
        ..Default::default()
    };
    c.auth.open = true;
    c
}

pub async fn start(config: EdgeConfig) -> EdgeHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    meshcdn_edge::serve(config, listener)
        .await
        .expect("edge host starts")
}

/// A 20-byte id as a WebTorrent binary string (one char per byte).
pub fn id(bytes: [u8; 20]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

pub fn id_n(tag: u8, n: u32) -> String {
    let mut b = [tag; 20];
    b[16..].copy_from_slice(&n.to_be_bytes());
    id(b)
}

pub fn info_hash_bytes(s: &str) -> [u8; 20] {
    let v: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
    v.try_into().unwrap()
}

pub fn announce(info_hash: &str, peer_id: &str, offers: &[&str]) -> String {
    let offers: Vec<Value> = offers
        .iter()
        .map(|oid| json!({ "offer_id": oid, "offer": { "type": "offer", "sdp": format!("sdp-of-{}", oid.len()) } }))
        .collect();
    json!({ "action": "announce", "info_hash": info_hash, "peer_id": peer_id, "numwant": offers.len(),
            "uploaded": 0, "downloaded": 0, "left": 100, "event": "started", "offers": offers })
    .to_string()
}

pub fn answer(info_hash: &str, peer_id: &str, to_peer_id: &str, offer_id: &str) -> String {
    json!({ "action": "announce", "info_hash": info_hash, "peer_id": peer_id, "to_peer_id": to_peer_id,
            "offer_id": offer_id, "answer": { "type": "answer", "sdp": "answer-sdp" } })
    .to_string()
}

pub struct Client {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        Client { ws }
    }

    pub async fn send(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    /// The next text frame as JSON; panics on close or timeout.
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The first frame matching `pred`, skipping others.
    pub async fn recv_until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let end = tokio::time::Instant::now() + WAIT;
        loop {
            let v = tokio::time::timeout_at(end, self.recv())
                .await
                .expect("matching frame in time");
            if pred(&v) {
                return v;
            }
        }
    }

    /// Waits for the close frame, skipping text; returns it (None if the stream just ended).
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        let end = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(end, self.ws.next())
                .await
                .expect("close in time")
            {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// No frame arrives within `d` (for asserting that something is not relayed).
    pub async fn silent_for(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.ws.next()).await.is_err()
    }
}

pub fn is_announce_reply(v: &Value) -> bool {
    v.get("interval").is_some() || v.get("failure reason").is_some()
}

pub async fn http_get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Polls `f` until it returns Some, within [`WAIT`].
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    mut f: impl FnMut() -> F,
) -> T {
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A swarm token for content `cid` signed by `key`, expiring `exp_in` seconds from now.
pub fn token(key: &meshcdn_tracker::token::SigningKey, cid: &str, exp_in: i64) -> String {
    use meshcdn_tracker::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, SwarmClaims};
    key.sign(&SwarmClaims {
        iss: DEFAULT_ISSUER.into(),
        aud: DEFAULT_AUDIENCE.into(),
        exp: (unix_now() as i64 + exp_in) as u64,
        nbf: None,
        iat: unix_now(),
        cid: cid.into(),
        sub: None,
    })
    .unwrap()
}

/// The JWKS document with the public keys of `keys`.
pub fn jwks(keys: &[&meshcdn_tracker::token::SigningKey]) -> String {
    serde_json::to_string(&jsonwebtoken::jwk::JwkSet {
        keys: keys.iter().map(|k| k.public_jwk().clone()).collect(),
    })
    .unwrap()
}
