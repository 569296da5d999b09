//! The same store contract and ingestion against a real PostgreSQL server: a throw-away cluster
//! (Debian's `postgresql` package, installed by scripts/setup.sh) made with initdb in a temporary
//! directory, listening only on a unix socket there, stopped at the end. Fails, never skips, when
//! the server cannot be started.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use support::*;

#[path = "store_shared.rs"]
mod store_shared;

/// `bin/` of the newest installed PostgreSQL (Debian: /usr/lib/postgresql/<major>/bin).
fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (/usr/lib/postgresql missing): run scripts/setup.sh")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    versions
        .pop()
        .expect("no initdb under /usr/lib/postgresql/*/bin: run scripts/setup.sh")
}

/// A running throw-away cluster; stopped (and its directory removed) on drop.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_root: bool,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a PostgreSQL tool, as the `postgres` user when we are root (the server refuses root).
    fn run(bin: &Path, as_root: bool, tool: &str, args: &[&str]) -> std::process::Output {
        let program = bin.join(tool);
        let mut cmd = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }

    fn start() -> Self {
        let bin = pg_bin();
        let as_root = running_as_root();
        let dir = tempfile::tempdir().unwrap();
        if as_root {
            // The server runs as `postgres`: it must own the directory.
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "chown for postgres failed: {out:?}");
        }
        let cluster = Cluster { bin, dir, as_root };
        let data = cluster.data();
        let data = data.to_str().unwrap();
        let out = Self::run(
            &cluster.bin,
            as_root,
            "initdb",
            &["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        assert!(
            out.status.success(),
            "initdb failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let socket_dir = cluster.dir.path().to_str().unwrap().to_string();
        let options = format!("-c listen_addresses='' -k {socket_dir} -c fsync=off -p 5432");
        let log = cluster.dir.path().join("server.log");
        let out = Self::run(
            &cluster.bin,
            as_root,
            "pg_ctl",
            &[
                "-D",
                data,
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "PostgreSQL did not start: {}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        cluster
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/postgres?host={}&port=5432",
            self.dir.path().display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let out = Self::run(
            &self.bin,
            self.as_root,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        if !out.status.success() {
            eprintln!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn running_as_root() -> bool {
    // `id -u` rather than libc: no extra dependency for one number.
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[tokio::test]
async fn postgres_store_and_ingestion_work_like_sqlite() {
    let cluster = Cluster::start();
    let url = cluster.url();
    let store = meshcdn_analytics::Store::open(&url).await.unwrap();
    store_shared::store_contract(&store).await;
    store.close().await;

    // Ingestion through the routes into the same server, and two instances sharing it.
    let (a, gate) = analytics(&url, |_| {}).await;
    let (b, _) = analytics(&url, |_| {}).await;
    let t = gate.token("live/pg", 600);
    for instance in [&a, &b] {
        let (status, body) = send(
            instance,
            post(beacon(&t, "live/pg", "v1", 1_000, 3_000).to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        instance.flush().await.unwrap();
    }
    let r = report(&a, API_KEY).await;
    let s = r["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["content"] == "live/pg")
        .unwrap();
    assert_eq!(
        (s["http_bytes"].as_i64(), s["p2p_bytes"].as_i64()),
        (Some(2_000), Some(6_000)),
        "{r}"
    );
    assert_eq!(
        s["beacons"], 2,
        "both instances' beacons are in the shared buckets"
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    drop(cluster);
}
