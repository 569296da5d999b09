//! A WebTorrent-protocol load generator (`meshcdn loadtest`): `connections` WebSocket peers
//! spread over `swarms` swarms; each announces with offers, answers every offer it receives and
//! announces again as soon as its previous announce was answered (closed loop). Bounded in
//! connections, time and latency samples.
//!
//! Counted as responses: every frame received (announce replies, relayed offers and answers).
//! Latency: from sending an announce to receiving the reply to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

/// Hard caps, whatever the caller asks for.
pub const MAX_CONNECTIONS: usize = 50_000;
pub const MAX_DURATION: Duration = Duration::from_secs(600);
const MAX_LATENCY_SAMPLES: usize = 5_000_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Handshakes in flight at once while connecting.
const CONNECT_CONCURRENCY: usize = 128;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `ws://host:port/announce` or `wss://…` (with `?token=` if the tracker needs one).
    pub target: String,
    /// PEM file of extra CA certificates to trust for `wss://` (e.g. a self-signed edge's);
    /// the Mozilla roots (webpki-roots) are always trusted.
    pub ca_file: Option<std::path::PathBuf>,
    pub connections: usize,
    pub swarms: usize,
    pub duration: Duration,
    /// Offers per announce.
    pub offers: usize,
    /// Only connect, announce once without offers, and stay idle for `duration` (memory runs).
    pub idle: bool,
    pub seed: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            target: "ws://127.0.0.1:8000/announce".into(),
            ca_file: None,
            connections: 100,
            swarms: 10,
            duration: Duration::from_secs(10),
            offers: 2,
            idle: false,
            seed: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid load test settings: {0}")]
    Settings(String),
    #[error("no connection could be opened to {target}: {error}")]
    Connect { target: String, error: String },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub target: String,
    pub connections: usize,
    pub connected: usize,
    pub swarms: usize,
    pub duration_secs: f64,
    pub responses: u64,
    pub responses_per_sec: f64,
    pub announces: u64,
    pub offers_received: u64,
    pub answers_received: u64,
    pub failures: u64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub disconnects: u64,
}

impl LoadReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} of {} connections, {} swarms, {:.1}s: {:.0} responses/s ({} responses, {} announces, {} offers in, {} answers in, {} failures, {} disconnects), latency p50 {:.2} ms p99 {:.2} ms",
            self.target,
            self.connected,
            self.connections,
            self.swarms,
            self.duration_secs,
            self.responses_per_sec,
            self.responses,
            self.announces,
            self.offers_received,
            self.answers_received,
            self.failures,
            self.disconnects,
            self.latency_p50_ms,
            self.latency_p99_ms
        )
    }
}

#[derive(Default)]
struct Counters {
    responses: AtomicU64,
    announces: AtomicU64,
    offers: AtomicU64,
    answers: AtomicU64,
    failures: AtomicU64,
    disconnects: AtomicU64,
}

/// What the generator reads of a frame (everything else is skipped).
#[derive(Deserialize)]
struct Incoming {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    interval: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    offer: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    answer: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    offer_id: Option<String>,
    #[serde(default)]
    peer_id: Option<String>,
    #[serde(default)]
    info_hash: Option<String>,
    #[serde(default, rename = "failure reason")]
    failure: Option<String>,
}

/// tungstenite's default read buffer is 128 KiB and it zeroes the free part before every read:
/// with a thousand sockets reading small frames that memset was a fifth of the generator's CPU,
/// taken from the server it shares the machine with. Tracker frames are a few KiB at most.
fn client_ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// TLS for `wss://` targets: the Mozilla roots plus the CAs in `ca_file`.
fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_tungstenite::Connector, LoadError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| LoadError::Settings(format!("CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(LoadError::Settings(format!(
                "CA file {}: no certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| LoadError::Settings(format!("CA file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoadError::Settings(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
}

/// A random 20-byte id as a WebTorrent binary string.
pub fn random_id(rng: &mut SmallRng) -> String {
    (0..20).map(|_| char::from(rng.random::<u8>())).collect()
}

const FAKE_SDP: &str = "v=0\r\no=- 4327261771880257373 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:someufrag\r\na=ice-pwd:somepasswordsomepassword\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n";

fn announce(info_hash: &str, peer_id: &str, offers: usize, rng: &mut SmallRng) -> String {
    let offers: Vec<serde_json::Value> = (0..offers)
        .map(|_| serde_json::json!({ "offer_id": random_id(rng), "offer": { "type": "offer", "sdp": FAKE_SDP } }))
        .collect();
    serde_json::json!({
        "action": "announce",
        "info_hash": info_hash,
        "peer_id": peer_id,
        "numwant": offers.len(),
        "uploaded": 0, "downloaded": 0, "left": 1000,
        "offers": offers,
    })
    .to_string()
}

fn answer(info_hash: &str, peer_id: &str, to_peer_id: &str, offer_id: &str) -> String {
    serde_json::json!({
        "action": "announce",
        "info_hash": info_hash,
        "peer_id": peer_id,
        "to_peer_id": to_peer_id,
        "offer_id": offer_id,
        "answer": { "type": "answer", "sdp": FAKE_SDP },
    })
    .to_string()
}

/// Runs the load and reports. Connections are opened first; the clock starts when all are up.
pub async fn run(config: LoadConfig) -> Result<LoadReport, LoadError> {
    if config.connections == 0 || config.connections > MAX_CONNECTIONS {
        return Err(LoadError::Settings(format!(
            "connections must be 1..={MAX_CONNECTIONS}"
        )));
    }
    if config.swarms == 0 || config.duration.is_zero() || config.duration > MAX_DURATION {
        return Err(LoadError::Settings(format!(
            "swarms must be > 0 and duration 1 s..={} s",
            MAX_DURATION.as_secs()
        )));
    }
    if config.offers > 10 {
        return Err(LoadError::Settings("offers must be at most 10".into()));
    }
    let connector = if config.target.starts_with("wss://") {
        Some(tls_connector(config.ca_file.as_deref())?)
    } else if config.target.starts_with("ws://") {
        None
    } else {
        return Err(LoadError::Settings(
            "target must be a ws:// or wss:// URL".into(),
        ));
    };
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let swarms: Vec<String> = (0..config.swarms).map(|_| random_id(&mut rng)).collect();

    // Connect phase.
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECT_CONCURRENCY));
    let mut connecting = tokio::task::JoinSet::new();
    for _ in 0..config.connections {
        let (target, gate, connector) = (config.target.clone(), gate.clone(), connector.clone());
        connecting.spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            let (ws, _) = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio_tungstenite::connect_async_tls_with_config(
                    target.as_str(),
                    Some(client_ws_config()),
                    false,
                    connector,
                ),
            )
            .await
            .ok()?
            .map_err(|e| tracing::debug!(error = %e, "connect failed"))
            .ok()?;
            Some(ws)
        });
    }
    let mut sockets = Vec::with_capacity(config.connections);
    while let Some(done) = connecting.join_next().await {
        if let Ok(Some(ws)) = done {
            sockets.push(ws);
        }
    }
    if sockets.is_empty() {
        let error = match tokio_tungstenite::connect_async_tls_with_config(
            config.target.as_str(),
            None,
            false,
            connector,
        )
        .await
        {
            Ok(_) => "connections failed under load".to_string(),
            Err(e) => e.to_string(),
        };
        return Err(LoadError::Connect {
            target: config.target.clone(),
            error,
        });
    }

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + config.duration;
    let per_conn_samples = (MAX_LATENCY_SAMPLES / sockets.len()).max(16);
    let connected = sockets.len();
    let mut peers = tokio::task::JoinSet::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        let info_hash = swarms[i % swarms.len()].clone();
        let (counters, stop) = (counters.clone(), stop.clone());
        let (offers, idle) = (config.offers, config.idle);
        let seed = config.seed.wrapping_add(i as u64 + 1);
        peers.spawn(async move {
            let mut rng = SmallRng::seed_from_u64(seed);
            let peer_id = random_id(&mut rng);
            let (mut tx, mut rx) = ws.split();
            let mut latencies: Vec<u32> = Vec::new();
            let mut sent_at = Some(Instant::now());
            let first = announce(
                &info_hash,
                &peer_id,
                if idle { 0 } else { offers },
                &mut rng,
            );
            if tx.send(Message::text(first)).await.is_err() {
                counters.disconnects.fetch_add(1, Relaxed);
                return latencies;
            }
            counters.announces.fetch_add(1, Relaxed);
            loop {
                let frame = tokio::select! {
                    f = rx.next() => f,
                    _ = tokio::time::sleep_until(deadline) => break,
                };
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if !stop.load(Relaxed) {
                            counters.disconnects.fetch_add(1, Relaxed);
                        }
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                counters.responses.fetch_add(1, Relaxed);
                let Ok(msg) = serde_json::from_str::<Incoming>(text.as_str()) else {
                    continue;
                };
                if msg.failure.is_some() {
                    counters.failures.fetch_add(1, Relaxed);
                }
                if msg.action.as_deref() != Some("announce") && msg.failure.is_none() {
                    continue;
                }
                if msg.offer.is_some() {
                    counters.offers.fetch_add(1, Relaxed);
                    if let (Some(from), Some(offer_id), Some(ih)) =
                        (&msg.peer_id, &msg.offer_id, &msg.info_hash)
                        && !idle
                        && tx
                            .send(Message::text(answer(ih, &peer_id, from, offer_id)))
                            .await
                            .is_err()
                    {
                        break;
                    }
                } else if msg.answer.is_some() {
                    counters.answers.fetch_add(1, Relaxed);
                } else if msg.interval.is_some() || msg.failure.is_some() {
                    // The reply to our announce: measure it, and announce again.
                    if let Some(at) = sent_at.take()
                        && latencies.len() < per_conn_samples
                    {
                        latencies.push(at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    }
                    if idle || tokio::time::Instant::now() >= deadline {
                        continue;
                    }
                    let next = announce(&info_hash, &peer_id, offers, &mut rng);
                    sent_at = Some(Instant::now());
                    if tx.send(Message::text(next)).await.is_err() {
                        break;
                    }
                    counters.announces.fetch_add(1, Relaxed);
                }
            }
            let _ = tx.close().await;
            latencies
        });
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut stopping = false;
    // Peers end at the deadline on their own; the grace bounds a peer stuck in a send.
    let hard_stop = tokio::time::sleep_until(deadline + Duration::from_secs(10));
    tokio::pin!(hard_stop);
    loop {
        tokio::select! {
            done = peers.join_next() => match done {
                Some(Ok(l)) => latencies.extend(l),
                Some(Err(_)) => {}
                None => break,
            },
            _ = &mut hard_stop, if !stopping => {
                stopping = true;
                peers.abort_all();
            }
            _ = tokio::time::sleep_until(deadline), if !stop.load(Relaxed) => stop.store(true, Relaxed),
        }
    }
    let elapsed = started
        .elapsed()
        .min(config.duration + Duration::from_secs(10))
        .as_secs_f64()
        .max(0.001);
    let measured = config.duration.as_secs_f64().min(elapsed);
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    let responses = counters.responses.load(Relaxed);
    Ok(LoadReport {
        target: config.target.clone(),
        connections: config.connections,
        connected,
        swarms: config.swarms,
        duration_secs: measured,
        responses,
        responses_per_sec: responses as f64 / measured,
        announces: counters.announces.load(Relaxed),
        offers_received: counters.offers.load(Relaxed),
        answers_received: counters.answers.load(Relaxed),
        failures: counters.failures.load(Relaxed),
        latency_p50_ms: pct(0.50),
        latency_p99_ms: pct(0.99),
        disconnects: counters.disconnects.load(Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_settings_are_refused_before_connecting() {
        for config in [
            LoadConfig {
                connections: 0,
                ..Default::default()
            },
            LoadConfig {
                connections: MAX_CONNECTIONS + 1,
                ..Default::default()
            },
            LoadConfig {
                swarms: 0,
                ..Default::default()
            },
            LoadConfig {
                duration: Duration::ZERO,
                ..Default::default()
            },
            LoadConfig {
                duration: MAX_DURATION * 2,
                ..Default::default()
            },
            LoadConfig {
                target: "http://x".into(),
                ..Default::default()
            },
            LoadConfig {
                target: "wss://x/announce".into(),
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(run(config).await, Err(LoadError::Settings(_))));
        }
    }

    #[tokio::test]
    async fn an_unreachable_target_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let config = LoadConfig {
            target: format!("ws://{addr}/announce"),
            connections: 2,
            ..Default::default()
        };
        assert!(matches!(run(config).await, Err(LoadError::Connect { .. })));
    }

    #[test]
    fn ids_are_twenty_chars_of_one_byte_each() {
        let mut rng = SmallRng::seed_from_u64(3);
        let id = random_id(&mut rng);
        assert_eq!(id.chars().count(), 20);
        assert!(id.chars().all(|c| (c as u32) < 256));
    }
}
