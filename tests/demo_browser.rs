//! `meshcdn demo` in real headless Chromium: two viewer tabs share segments over WebRTC, the
//! overlay shows it, and the analytics dashboard (fed by the clients' beacons) shows the bytes the
//! demo's media server counted, within 5% (tests/browser/demo.mjs). Everything runs inside a network
//! namespace made for this test (scripts/netns.sh), so nothing leaves the machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Deletes the namespace and stops the demo, also when the test fails.
struct Namespace {
    name: String,
    demo: Option<Child>,
}

impl Namespace {
    fn create(name: String) -> Self {
        let status = Command::new(repo().join("scripts/netns.sh"))
            .args(["create", &name])
            .stdout(Stdio::null())
            .status();
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "cannot create network namespace {name}: browser tests need root and iproute2"
        );
        Self { name, demo: None }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(repo().join("scripts/netns.sh"));
        cmd.args(["exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some(mut demo) = self.demo.take() {
            let _ = demo.kill();
            let _ = demo.wait();
        }
        let _ = Command::new(repo().join("scripts/netns.sh"))
            .args(["delete", &self.name])
            .status();
    }
}

#[test]
fn demo_tabs_share_segments_and_pages_render() {
    let mut ns = Namespace::create(format!("mcdn-demo-{}", std::process::id()));
    let demo = ns
        .command(Path::new(env!("CARGO_BIN_EXE_meshcdn")))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:8080",
            "--edge-listen",
            "127.0.0.1:8081",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start meshcdn demo");
    ns.demo = Some(demo);

    let artifacts = repo().join("test-artifacts");
    let output = ns
        .command(Path::new("node"))
        .arg(repo().join("tests/browser/demo.mjs"))
        .env("DEMO_URL", "http://127.0.0.1:8080/")
        .env("ARTIFACTS_DIR", &artifacts)
        .output()
        .expect("run node tests/browser/demo.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "browser test of the demo failed:\n{stdout}"
    );
    for shot in ["demo-player.png", "demo-dashboard.png"] {
        let len = std::fs::metadata(artifacts.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "{shot} missing or tiny ({len} bytes)");
    }
}
