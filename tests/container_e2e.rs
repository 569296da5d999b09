//! The container image, built with the real Docker engine (scripts/image.sh) and run for real: an
//! origin and edges for two PoPs as containers, viewers in Chromium, a killed edge, a rolling hot
//! upgrade and a SIGTERM drain (client/test/container/multipop.ts drives the scenario).
//!
//! Networking: a holder container started with `--network none` owns a private network namespace;
//! scripts/netns.sh attaches it under a name and gives it the veth pair and default route WebRTC in
//! headless Chromium needs. The meshcdn containers join it (`--network container:<holder>`) and
//! listen on its loopback; the upstream, Chromium and the script run inside it too. Nothing uses
//! Docker's bridge or the machine's own addresses.
//!
//! Needs root and a Docker engine: scripts/setup.sh installs Debian's docker.io and
//! scripts/image.sh starts dockerd when it is not running. Without them this test fails (it never
//! passes by skipping).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Docker client scripts/docker.sh picks: Debian's (built-in BuildKit) when installed.
fn docker_bin() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/docker");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("docker")
    }
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new(docker_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"))
}

/// The holder container, its named network namespace and the scenario's containers: all removed
/// on drop, also when the test fails.
struct Holder {
    name: String,
    prefix: String,
    dir: PathBuf,
}

impl Holder {
    fn start(prefix: &str, image: &str) -> Self {
        let holder = Self {
            name: format!("{prefix}-net"),
            prefix: prefix.to_owned(),
            dir: std::env::temp_dir().join(prefix),
        };
        // `sleep` from the image (coreutils): the namespace lives as long as this container.
        let run = docker(&[
            "run",
            "-d",
            "--name",
            &holder.name,
            "--network",
            "none",
            "--entrypoint",
            "sleep",
            image,
            "infinity",
        ]);
        assert!(
            run.status.success(),
            "cannot start the holder container: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let pid = docker(&["inspect", "-f", "{{.State.Pid}}", &holder.name]);
        let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
        let attach = Command::new(repo().join("scripts/netns.sh"))
            .args(["attach", &holder.name, &pid])
            .stdout(Stdio::null())
            .status();
        assert!(
            attach.map(|s| s.success()).unwrap_or(false),
            "cannot attach the holder's network namespace (pid {pid}): needs root and iproute2"
        );
        holder
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let listed = docker(&["ps", "-aq", "--filter", &format!("name=^{}-", self.prefix)]);
        for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
            let _ = docker(&["rm", "-f", id]);
        }
        let _ = Command::new(repo().join("scripts/netns.sh"))
            .args(["delete", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn containers_serve_two_pops_fail_over_upgrade_and_drain() {
    // Idempotent: a cached rebuild when scripts/test.sh built the image already.
    let image = "meshcdn:dev";
    let built = Command::new(repo().join("scripts/image.sh"))
        .env("MESHCDN_IMAGE_QUIET", "1")
        .status();
    assert!(
        built.map(|s| s.success()).unwrap_or(false),
        "scripts/image.sh failed: this test needs the Docker engine (Debian's docker.io, installed \
         by scripts/setup.sh; dockerd started as root) and the base images (debootstrap)"
    );
    let holder = Holder::start(&format!("mcdn-docker-{}", std::process::id()), image);
    // The component the edges hot-upgrade to: the one scripts/setup.sh built on the host (another
    // build of the same guest), when there is one.
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    let next = std::env::var_os("MESHCDN_COMPONENT")
        .map(PathBuf::from)
        .or_else(|| target.map(|t| t.join("tracker-shard.wasm")))
        .filter(|p| p.exists());
    let mut node = Command::new(repo().join("scripts/netns.sh"));
    node.args(["exec", &holder.name])
        .arg(Path::new("node"))
        .args(["--import", "tsx", "test/container/multipop.ts"])
        .current_dir(repo().join("client"))
        .env("MESHCDN_CT_IMAGE", image)
        .env("MESHCDN_CT_HOLDER", &holder.name)
        .env("MESHCDN_CT_PREFIX", &holder.prefix)
        .env("MESHCDN_CT_DIR", &holder.dir)
        .env("DOCKER", docker_bin());
    if let Some(next) = &next {
        node.env("MESHCDN_CT_NEXT_COMPONENT", next);
    }
    let output = node.output().expect("run node test/container/multipop.ts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "container end-to-end scenario failed:\n{stdout}"
    );
    assert!(stdout.contains("container e2e: passed"), "{stdout}");
}
