//! Kubernetes-facing behaviour of the real binaries: `meshcdn edge` and `meshcdn origin` answer
//! `/health/live` and `/health/ready`, and on `SIGTERM` drain and exit 0 within their grace
//! period (the edge telling its peers to reconnect elsewhere with close 1001). The same, in
//! containers: tests/container_e2e.rs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// Bound on every single wait.
const STEP: Duration = Duration::from_secs(30);

/// Starts `meshcdn ARGS` and waits for the stderr line containing `marker`; returns the child and
/// the rest of that line after `marker`. Later stderr lines go to the returned channel.
async fn spawn(
    args: &[&str],
    marker: &'static str,
) -> (Child, String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshcdn"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn meshcdn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let found = timeout(STEP, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split(marker).nth(1) {
                return rest.trim().to_owned();
            }
        }
        panic!("meshcdn {args:?} exited before printing {marker:?}");
    })
    .await
    .expect("meshcdn started in time");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    (child, found, rx)
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn get(url: &str) -> (u16, serde_json::Value) {
    let r = timeout(STEP, reqwest::get(url)).await.unwrap().unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Collects stderr lines until one contains `needle`.
async fn line_with(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, needle: &str) -> String {
    timeout(STEP, async {
        while let Some(line) = rx.recv().await {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("stderr ended without {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} on stderr in time"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_is_ready_then_drains_on_sigterm_telling_peers_to_reconnect() {
    let (mut edge, url, mut stderr) = spawn(
        &[
            "edge",
            "--open",
            "--engine",
            "native",
            "--shards",
            "2",
            "--listen",
            "127.0.0.1:0",
        ],
        "tracker at ",
    )
    .await;
    let http = url.replace("ws://", "http://").replace("/announce", "");
    let (status, ready) = get(&format!("{http}/health/ready")).await;
    assert_eq!((status, &ready["ready"]), (200, &true.into()), "{ready}");
    let (status, _) = get(&format!("{http}/health/live")).await;
    assert_eq!(status, 200);

    // Two peers in a swarm.
    let mut peers = Vec::new();
    for n in 0..2u8 {
        let (mut ws, _) = timeout(STEP, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .unwrap()
            .unwrap();
        let announce = serde_json::json!({
            "action": "announce", "info_hash": "drain-test-swarm-01!", "peer_id": format!("-MC0001-drain-peer-{n}"),
            "event": "started", "numwant": 0, "uploaded": 0, "downloaded": 0, "left": 1, "offers": [],
        });
        ws.send(Message::text(announce.to_string())).await.unwrap();
        let reply = timeout(STEP, ws.next()).await.unwrap().unwrap().unwrap();
        assert!(reply.to_text().unwrap().contains("interval"), "{reply:?}");
        peers.push(ws);
    }

    let started = Instant::now();
    sigterm(&edge);
    for ws in &mut peers {
        let close = timeout(STEP, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame,
                    Some(Ok(_)) => continue,
                    other => panic!("expected a close frame, got {other:?}"),
                }
            }
        })
        .await
        .expect("close frame in time")
        .expect("close with a code");
        assert_eq!(u16::from(close.code), 1001, "going away");
        assert!(close.reason.contains("another tracker"), "{}", close.reason);
    }
    let status = timeout(Duration::from_secs(25), edge.wait())
        .await
        .expect("exits within the grace period (20 s) plus a margin")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let drained = line_with(&mut stderr, "meshcdn edge: drained").await;
    assert!(
        drained.contains("2 peers told to reconnect elsewhere, 0 still connected"),
        "{drained}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "peers left at once: no need to wait out the grace period ({:?})",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(
            url.trim_start_matches("ws://")
                .trim_end_matches("/announce")
        )
        .await
        .is_err(),
        "nothing listens any more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_is_ready_with_its_keys_then_exits_on_sigterm() {
    let keys = std::env::temp_dir().join(format!("meshcdn-lifecycle-keys-{}", std::process::id()));
    let generated = Command::new(env!("CARGO_BIN_EXE_meshcdn"))
        .args(["keys", "generate", "--out"])
        .arg(&keys)
        .output()
        .await
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let (mut origin, addr, mut stderr) = spawn(
        &[
            "origin",
            "--upstream",
            "http://127.0.0.1:9",
            "--listen",
            "127.0.0.1:0",
            "--keys",
            keys.to_str().unwrap(),
        ],
        "meshcdn origin: listening on http://",
    )
    .await;
    let (status, ready) = get(&format!("http://{addr}/health/ready")).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(
        (&ready["keys_loaded"], &ready["upstream_configured"]),
        (&true.into(), &true.into())
    );
    let (status, _) = get(&format!("http://{addr}/health/live")).await;
    assert_eq!(status, 200);
    // The old /health keeps its shape.
    let (status, health) = get(&format!("http://{addr}/health")).await;
    assert_eq!((status, &health["ok"]), (200, &true.into()));

    sigterm(&origin);
    let status = timeout(Duration::from_secs(25), origin.wait())
        .await
        .expect("exits within the grace period (20 s) plus a margin")
        .unwrap();
    assert!(status.success(), "{status:?}");
    line_with(&mut stderr, "meshcdn origin: stopped").await;
    let _ = std::fs::remove_dir_all(&keys);
}
