//! Deployment-like scenario: viewer, proxy host and upstream are three processes (this binary
//! re-run with `--netns-role`), each in its own network namespace:
//!
//! ```text
//! viewer 10.77.1.2 ──veth── 10.77.1.1 proxy host 10.77.2.1 ──veth── 10.77.2.2 upstream
//! ```
//!
//! The proxy host also routes, so "direct" crosses the same two links as "through proxy": the
//! only difference is the proxy hop itself (L7 instead of kernel forwarding). Measured once on
//! unshaped veth and once with every link shaped to 1 Gbit/s (tbf; plus netem delay where the
//! kernel has it). Needs root (`ip netns`); otherwise it prints that it was skipped and why.
//! Namespaces and processes are removed by [`Lab`]'s `Drop`, also on error or panic.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};

use crate::common::{CONCURRENCY, CpuProbe, serve_until, throughput_table, warm_up};

const UPSTREAM_ADDR: &str = "10.77.2.2:8080";
const PROXY_ADDR: &str = "10.77.1.1:8081";
/// Throughput rounds per scenario and concurrency (each also bounded by `LOOP_DEADLINE`).
const ROUNDS: usize = 12;
/// How long a server process may take to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on one viewer run (warm-up and both concurrencies).
const VIEWER_TIMEOUT: Duration = Duration::from_secs(300);
/// A server process exits at the latest after this, even if its parent never closes stdin.
const SERVER_MAX_LIFETIME: Duration = Duration::from_secs(900);
/// Link model of the shaped run: rate per direction on every veth end and one-way delay.
const LINK_RATE: &str = "1gbit";
const LINK_DELAY: &str = "250us";
const NS_PREFIX: &str = "mcdnb-";

/// One process of the scenario, from this binary's arguments.
pub enum Role {
    Upstream {
        dir: PathBuf,
        listen: SocketAddr,
    },
    Proxy {
        upstream: String,
        listen: SocketAddr,
    },
    Viewer {
        title: String,
        direct: SocketAddr,
        proxy: SocketAddr,
        proxy_pid: u32,
        upstream_pid: u32,
    },
}

impl Role {
    /// `None` unless the arguments hold `--netns-role` (the benchmark itself is run with `--bench`).
    pub fn from_args(args: impl Iterator<Item = String>) -> anyhow::Result<Option<Self>> {
        let args: Vec<String> = args.collect();
        let value = |key: &str| -> anyhow::Result<&str> {
            let i = args
                .iter()
                .position(|a| a == key)
                .with_context(|| format!("missing {key}"))?;
            args.get(i + 1)
                .map(String::as_str)
                .with_context(|| format!("{key} needs a value"))
        };
        if !args.iter().any(|a| a == "--netns-role") {
            return Ok(None);
        }
        let role = match value("--netns-role")? {
            "upstream" => Role::Upstream {
                dir: value("--dir")?.into(),
                listen: value("--listen")?.parse()?,
            },
            "proxy" => Role::Proxy {
                upstream: value("--upstream")?.to_string(),
                listen: value("--listen")?.parse()?,
            },
            "viewer" => Role::Viewer {
                title: value("--title")?.to_string(),
                direct: value("--direct")?.parse()?,
                proxy: value("--proxy")?.parse()?,
                proxy_pid: value("--proxy-pid")?.parse()?,
                upstream_pid: value("--upstream-pid")?.parse()?,
            },
            other => bail!("unknown --netns-role {other}"),
        };
        Ok(Some(role))
    }

    /// Runs the role on its own runtime, sized like the `meshcdn origin` CLI (one worker per core).
    pub fn run(self) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            match self {
                Role::Upstream { dir, listen } => {
                    serve_role(listen, crate::upstream_router(&dir)).await
                }
                Role::Proxy { upstream, listen } => {
                    let (router, _engine) =
                        meshcdn_origin::proxy::build_proxy(&crate::proxy_config(&upstream))?;
                    serve_role(listen, router).await
                }
                Role::Viewer {
                    title,
                    direct,
                    proxy,
                    proxy_pid,
                    upstream_pid,
                } => {
                    view(&title, direct, proxy, proxy_pid, upstream_pid).await;
                    Ok(())
                }
            }
        })
    }
}

/// Listens, tells the parent (one `ready` line on stdout), serves until the parent goes away.
async fn serve_role(listen: SocketAddr, router: axum::Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listen on {listen}"))?;
    println!("ready");
    serve_until(listener, router, parent_gone()).await;
    Ok(())
}

/// The parent holds our stdin open: end of file means it finished or died.
async fn parent_gone() {
    let wait_for_eof = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 64];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(SERVER_MAX_LIFETIME, wait_for_eof).await;
}

/// The viewer: direct and proxied downloads side by side, with the CPU time of each process.
async fn view(
    title: &str,
    direct: SocketAddr,
    proxy: SocketAddr,
    proxy_pid: u32,
    upstream_pid: u32,
) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .expect("client");
    let paths = [
        ("direct upstream (routed by the proxy host)", direct),
        ("through proxy", proxy),
    ];
    warm_up(&client, &paths).await;
    let probe = CpuProbe::new(vec![
        ("viewer".into(), None),
        ("proxy host".into(), Some(proxy_pid)),
        ("upstream".into(), Some(upstream_pid)),
    ]);
    for concurrency in CONCURRENCY {
        throughput_table(&client, title, &paths, concurrency, ROUNDS, &probe).await;
    }
}

/// The namespaces, links and server processes of one run. Dropping it kills the processes and
/// deletes the namespaces (which removes their veth links), also when unwinding from a panic.
struct Lab {
    /// Namespaces created so far (deleted in reverse order).
    namespaces: Vec<String>,
    /// Server processes (killed on drop).
    servers: Vec<tokio::process::Child>,
    viewer_ns: String,
    proxy_ns: String,
    upstream_ns: String,
    /// Interface name prefix, unique per benchmark process.
    ifx: String,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.start_kill();
        }
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = run("ip", &["netns", "del", ns]) {
                tracing::warn!(%ns, error = %e, "cannot delete network namespace");
                eprintln!("warning: cannot delete network namespace {ns}: {e:#}");
            }
        }
    }
}

impl Lab {
    /// Creates the namespaces; `Err` here means the scenario cannot run on this machine.
    fn create() -> anyhow::Result<Self> {
        delete_stale_namespaces();
        let id = std::process::id();
        let mut lab = Lab {
            namespaces: Vec::new(),
            servers: Vec::new(),
            viewer_ns: format!("{NS_PREFIX}{id}-viewer"),
            proxy_ns: format!("{NS_PREFIX}{id}-proxy"),
            upstream_ns: format!("{NS_PREFIX}{id}-upstream"),
            ifx: format!("mb{id}"),
        };
        for ns in [
            lab.viewer_ns.clone(),
            lab.proxy_ns.clone(),
            lab.upstream_ns.clone(),
        ] {
            run("ip", &["netns", "add", &ns])?;
            lab.namespaces.push(ns);
        }
        Ok(lab)
    }

    /// The four veth ends: (namespace, interface, address/prefix).
    fn link_ends(&self) -> [(&str, String, &'static str); 4] {
        [
            (&self.viewer_ns, format!("{}v0", self.ifx), "10.77.1.2/24"),
            (&self.proxy_ns, format!("{}p0", self.ifx), "10.77.1.1/24"),
            (&self.proxy_ns, format!("{}p1", self.ifx), "10.77.2.1/24"),
            (&self.upstream_ns, format!("{}u0", self.ifx), "10.77.2.2/24"),
        ]
    }

    /// viewer ⇄ proxy host ⇄ upstream, the proxy host routing between its two links.
    fn connect(&self) -> anyhow::Result<()> {
        let [v0, p0, p1, u0] = self.link_ends();
        for (a, b) in [(&v0, &p0), (&p1, &u0)] {
            run(
                "ip",
                &[
                    "link", "add", &a.1, "netns", a.0, "type", "veth", "peer", "name", &b.1,
                    "netns", b.0,
                ],
            )?;
        }
        for (ns, dev, addr) in [&v0, &p0, &p1, &u0] {
            run("ip", &["-n", ns, "addr", "add", addr, "dev", dev])?;
            run("ip", &["-n", ns, "link", "set", dev, "up"])?;
        }
        for ns in &self.namespaces {
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        run(
            "ip",
            &[
                "-n",
                &self.viewer_ns,
                "route",
                "add",
                "default",
                "via",
                "10.77.1.1",
            ],
        )?;
        run(
            "ip",
            &[
                "-n",
                &self.upstream_ns,
                "route",
                "add",
                "default",
                "via",
                "10.77.2.1",
            ],
        )?;
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.proxy_ns,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
        )
    }

    /// Every veth end sends at `LINK_RATE` at most, and after `LINK_DELAY` if netem exists.
    /// Returns a description of the link model actually applied.
    fn shape(&self) -> anyhow::Result<String> {
        let mut delay = Ok(());
        for (ns, dev, _) in self.link_ends() {
            // burst: at least one 64 KiB GSO packet of veth; latency bounds the queue.
            run(
                "tc",
                &[
                    "-n", ns, "qdisc", "replace", "dev", &dev, "root", "handle", "1:", "tbf",
                    "rate", LINK_RATE, "burst", "256kb", "latency", "5ms",
                ],
            )?;
            if delay.is_ok() {
                delay = run(
                    "tc",
                    &[
                        "-n", ns, "qdisc", "add", "dev", &dev, "parent", "1:1", "handle", "10:",
                        "netem", "delay", LINK_DELAY,
                    ],
                );
            }
        }
        Ok(match delay {
            Ok(()) => format!(
                "{LINK_RATE}/s per link and direction (tbf), {LINK_DELAY} one-way delay per link (netem)"
            ),
            Err(e) => format!(
                "{LINK_RATE}/s per link and direction (tbf), no added delay (netem unavailable: {e:#})"
            ),
        })
    }

    /// Starts one server process in `ns` and waits (bounded) until it listens.
    async fn start_server(&mut self, ns: &str, role_args: &[&str]) -> anyhow::Result<u32> {
        let mut child = netns_command(ns, role_args)?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().context("server exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        self.servers.push(child);
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        match tokio::time::timeout(READY_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(line))) if line == "ready" => Ok(pid),
            Ok(other) => bail!("{role_args:?} in {ns} did not start: {other:?}"),
            Err(_) => bail!("{role_args:?} in {ns} not listening after {READY_TIMEOUT:?}"),
        }
    }

    /// Runs the viewer in its namespace (it prints its tables) and waits for it, bounded.
    async fn run_viewer(
        &self,
        title: &str,
        proxy_pid: u32,
        upstream_pid: u32,
    ) -> anyhow::Result<()> {
        let (proxy_pid, upstream_pid) = (proxy_pid.to_string(), upstream_pid.to_string());
        let args = [
            "--title",
            title,
            "--direct",
            UPSTREAM_ADDR,
            "--proxy",
            PROXY_ADDR,
            "--proxy-pid",
            &proxy_pid,
            "--upstream-pid",
            &upstream_pid,
        ];
        let mut viewer = netns_command(
            &self.viewer_ns,
            &[&["--netns-role", "viewer"], &args[..]].concat(),
        )?
        .kill_on_drop(true)
        .spawn()?;
        let status = tokio::time::timeout(VIEWER_TIMEOUT, viewer.wait())
            .await
            .map_err(|_| anyhow::anyhow!("viewer still running after {VIEWER_TIMEOUT:?}"))??;
        if !status.success() {
            bail!("viewer failed: {status}");
        }
        Ok(())
    }
}

/// This benchmark binary, re-run inside `ns` (`ip netns exec` keeps the pid, so the pid is the role's).
fn netns_command(ns: &str, role_args: &[&str]) -> anyhow::Result<tokio::process::Command> {
    let exe = std::env::current_exe()?;
    let mut command = tokio::process::Command::new("ip");
    command.args(["netns", "exec", ns]).arg(exe).args(role_args);
    Ok(command)
}

/// Runs a setup command; `Err` carries its stderr.
fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Namespaces left by a run that was killed before its `Drop` (their pid is gone).
fn delete_stale_namespaces() {
    let Ok(out) = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
    else {
        return;
    };
    for name in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
    {
        let Some(pid) = name
            .strip_prefix(NS_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("ip", &["netns", "del", name]);
        }
    }
}

/// The scenario: skipped (with the reason) where namespaces cannot be created.
pub async fn bench(dir: &Path) -> anyhow::Result<()> {
    let mut lab = match Lab::create() {
        Ok(lab) => lab,
        Err(e) => {
            println!(
                "## segment throughput between network namespaces: skipped ({e:#}; needs root and iproute2)\n"
            );
            return Ok(());
        }
    };
    lab.connect()?;
    let upstream_ns = lab.upstream_ns.clone();
    let proxy_ns = lab.proxy_ns.clone();
    let dir = dir
        .to_str()
        .context("temporary directory path is not UTF-8")?;
    let upstream_pid = lab
        .start_server(
            &upstream_ns,
            &[
                "--netns-role",
                "upstream",
                "--dir",
                dir,
                "--listen",
                UPSTREAM_ADDR,
            ],
        )
        .await?;
    let upstream_url = format!("http://{UPSTREAM_ADDR}");
    let proxy_pid = lab
        .start_server(
            &proxy_ns,
            &[
                "--netns-role",
                "proxy",
                "--upstream",
                &upstream_url,
                "--listen",
                PROXY_ADDR,
            ],
        )
        .await?;

    println!(
        "## network namespaces: viewer ⇄ proxy host ⇄ upstream, one process each (default tokio runtime), veth links\n"
    );
    lab.run_viewer("namespaces, veth unshaped", proxy_pid, upstream_pid)
        .await?;
    let link = lab.shape()?;
    println!("link model: {link}\n");
    lab.run_viewer(
        &format!("namespaces, links shaped to {LINK_RATE}/s"),
        proxy_pid,
        upstream_pid,
    )
    .await
}
