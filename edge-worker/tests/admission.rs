//! New connections are admitted while the host is saturated (regression: admission used to
//! wait behind busy connection tasks, and new connections came in seconds apart or not at all).
//!
//! No speed is asserted: under a bounded load that keeps the host's workers busy, every one of
//! a batch of new wss connections must finish its TLS handshake, its upgrade and one announce
//! within the generous [`WAIT`], and the load must still be running while they do.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use meshcdn_edge::EngineKind::Native;
use tokio_tungstenite::tungstenite::Message;

/// Connections that flood the host.
const LOAD_CONNECTIONS: usize = 48;
/// Announces each of them sends at most (the load also stops when the test ends, or after
/// [`LOAD_LIMIT`]).
const LOAD_ANNOUNCES: usize = 200_000;
const LOAD_LIMIT: Duration = Duration::from_secs(90);
/// Connections opened while the load runs.
const NEW_CONNECTIONS: usize = 32;

type Wss =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Tls {
    client: Arc<rustls::ClientConfig>,
    _dir: tempfile::TempDir,
    config: meshcdn_edge::config::TlsConfig,
}

fn tls() -> Tls {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Tls {
        client: Arc::new(client),
        _dir: dir,
        config: meshcdn_edge::config::TlsConfig {
            cert: cert_path,
            key: key_path,
        },
    }
}

async fn connect(url: &str, client: &Arc<rustls::ClientConfig>) -> Wss {
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(client.clone())),
    )
    .await
    .expect("wss connection");
    ws
}

/// One flooding peer: announces with offers as fast as the socket takes them, and reads (and
/// drops) whatever comes back, until `stop`, its count or [`LOAD_LIMIT`].
async fn flood(ws: Wss, n: usize, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let (mut tx, mut rx) = ws.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    let started = Instant::now();
    let offers: Vec<String> = (0..5).map(|k| id_n(0xB0 + k, n as u32)).collect();
    let offers: Vec<&str> = offers.iter().map(String::as_str).collect();
    for i in 0..LOAD_ANNOUNCES {
        if stop.load(Relaxed) || started.elapsed() > LOAD_LIMIT {
            break;
        }
        let swarm = id_n(0xA0, (i % 4) as u32);
        let text = announce(&swarm, &id_n(0xA1, n as u32), &offers);
        if tx.send(Message::text(text)).await.is_err() {
            break;
        }
        sent.fetch_add(1, Relaxed);
    }
    let _ = tx.close().await;
    reader.abort();
}

#[test]
fn new_connections_are_admitted_while_the_host_is_saturated() {
    let tls = tls();
    // The host on a runtime like production's (two workers); the flood and the newcomers on
    // runtimes of their own, so that their client sides are not what is starved.
    let host = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let flooders = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let newcomers = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut config = config(Native);
    config.tls = Some(tls.config.clone());
    config.limits.messages_per_sec = 1_000_000;
    config.limits.message_burst = 1_000_000;
    // Every connection of the flood comes from 127.0.0.1.
    config.limits.max_connections_per_ip = 100_000;
    config.tracker = serde_json::json!({ "max_peers_per_viewer": 65535 });
    let edge = host.block_on(start(config));
    let url = format!("wss://localhost:{}/announce", edge.local_addr().port());

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = (0..LOAD_CONNECTIONS)
        .map(|n| {
            let (url, client) = (url.clone(), tls.client.clone());
            let (stop, sent) = (stop.clone(), sent.clone());
            flooders.spawn(async move { flood(connect(&url, &client).await, n, stop, sent).await })
        })
        .collect();
    // Saturated: every flooding peer is in, and the host has taken a good many messages.
    host.block_on(eventually(|| async {
        let m = edge.metrics();
        (m.connections.load(Relaxed) == LOAD_CONNECTIONS as u64
            && m.messages_in.load(Relaxed) >= 20_000)
            .then_some(())
    }));
    let before = edge.metrics().messages_in.load(Relaxed);

    let admitted = newcomers.block_on(async {
        let attempts = (0..NEW_CONNECTIONS).map(|n| {
            let (url, client) = (url.clone(), tls.client.clone());
            async move {
                tokio::time::timeout(WAIT, async {
                    let mut ws = connect(&url, &client).await;
                    let text = announce(&id_n(0xC0, n as u32), &id_n(0xC1, n as u32), &[]);
                    ws.send(Message::text(text)).await.unwrap();
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Text(t))) if t.contains("interval") => return ws,
                            Some(Ok(_)) => continue,
                            other => panic!("newcomer {n}: no announce reply: {other:?}"),
                        }
                    }
                })
                .await
            }
        });
        futures_util::future::join_all(attempts).await
    });
    let during = edge.metrics().messages_in.load(Relaxed) - before;
    stop.store(true, Relaxed);
    let late = admitted.iter().filter(|r| r.is_err()).count();
    assert_eq!(
        late, 0,
        "{late} of {NEW_CONNECTIONS} new connections were not admitted within {WAIT:?} under load"
    );
    // The flood was saturating before the newcomers came (checked above); it must not have been
    // paused to let them in. How many messages fit in the window depends on how fast they were
    // admitted, so only "it kept running" is asserted (a count threshold failed when admission
    // was quick).
    assert!(
        during > 0,
        "the load must still run while the newcomers connect ({during} messages meanwhile)"
    );
    assert!(sent.load(Relaxed) > 0);
    drop(admitted);
    for task in load {
        let _ = flooders.block_on(task);
    }
    host.block_on(edge.shutdown());
}
