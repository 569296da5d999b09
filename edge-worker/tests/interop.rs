//! Interop with a client nobody here wrote: the `bittorrent-tracker` npm client, bundled with
//! esbuild, runs in headless Chromium (two browser contexts = two viewers) inside a network
//! namespace, against this host under each engine. Needs root (network namespaces), Chromium
//! and Node; `edge-worker/interop/prepare.sh` installs the npm side.

mod common;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use meshcdn_edge::EngineKind::{self, Native, Wasm};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn netns_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/netns.sh")
}

/// A namespace made by scripts/netns.sh, deleted on drop.
struct Netns(String);

impl Netns {
    fn create(tag: &str) -> Netns {
        let name = format!("mcdn-edge-{}-{tag}", std::process::id());
        let out = std::process::Command::new(netns_script())
            .args(["create", &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "netns create (needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Netns(name)
    }

    /// A listening socket inside the namespace: a thread enters it just to create the socket,
    /// which stays in the namespace it was made in.
    fn listener(&self) -> std::net::TcpListener {
        let path = format!("/var/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            // SAFETY: setns on this short-lived thread only; the fd is valid for the call.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            let listener = std::net::TcpListener::bind("10.213.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            listener
        })
        .join()
        .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new(netns_script())
            .args(["delete", &self.0])
            .status();
    }
}

async fn two_browsers_connect_through_the_tracker(engine: EngineKind) {
    prepared_interop_dir();
    let ns = Netns::create(match engine {
        Wasm => "wasm",
        Native => "native",
    });
    let listener = tokio::net::TcpListener::from_std(ns.listener()).unwrap();
    let edge = meshcdn_edge::serve(config(engine), listener).await.unwrap();
    let url = edge.announce_url();
    let info_hash = "5eed".repeat(10);
    let run = tokio::process::Command::new("ip")
        .args(["netns", "exec", &ns.0, "node"])
        .arg(interop_dir().join("run-swarm.mjs"))
        .args([&url, &info_hash])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("browsers finish in time")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run-swarm failed:\n{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (a, b) = (&report["A"], &report["B"]);
    // B's offer reached A (A answers: not the initiator) and A's answer came back to B with the
    // offer_id of one of B's pending offers (the client drops answers it cannot match).
    assert_eq!(a["peers"][0]["initiator"], false, "{report}");
    assert_eq!(a["peers"][0]["id"], "b2".repeat(20));
    assert_eq!(b["peers"][0]["initiator"], true);
    assert_eq!(b["peers"][0]["id"], "a1".repeat(20));
    // The data channel opened and carried a message each way.
    assert_eq!(a["received"], "hello from B");
    assert_eq!(b["received"], "hello from A");
    // Scrape returns the counts (two leechers).
    for v in [a, b] {
        assert_eq!(
            v["scrape"]["complete"].as_u64().unwrap() + v["scrape"]["incomplete"].as_u64().unwrap(),
            2,
            "{report}"
        );
        assert!(v["errors"].as_array().unwrap().is_empty(), "{report}");
    }
    let stats = edge.stats().await.unwrap();
    assert!(
        stats.counters.offers_relayed >= 1 && stats.counters.answers_relayed >= 1,
        "{stats:?}"
    );
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bittorrent_tracker_client_in_chromium_wasm() {
    two_browsers_connect_through_the_tracker(Wasm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bittorrent_tracker_client_in_chromium_native() {
    two_browsers_connect_through_the_tracker(Native).await;
}
