//! Measurement helpers shared by the loopback and the network-namespace scenarios.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use futures_util::StreamExt as _;

/// Size of the segment every throughput path downloads.
pub const SEGMENT_BYTES: usize = 8 << 20;
/// Downloads per path per round (the same for every path), `concurrency` of them at once.
pub const DOWNLOADS_PER_ROUND: usize = 4;
pub const CONCURRENCY: [usize; 2] = [1, 4];
pub const WARMUP_DOWNLOADS: usize = 4;
/// Hard bound on each measured loop.
pub const LOOP_DEADLINE: Duration = Duration::from_secs(60);

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Serves `router` on `listener` with TCP_NODELAY, as `proxy::serve` does, until `shutdown`.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use axum::serve::ListenerExt as _;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "bench server failed");
    }
}

/// Serves `router` on a fresh loopback port for the rest of the process.
pub async fn serve_loopback(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(serve_until(listener, router, std::future::pending()));
    addr
}

/// CPU time (user + system) of a process so far, from `/proc/<pid>/stat` (`None`: this
/// process). `None` where there is no such file (not Linux, process gone).
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_string(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    // USER_HZ is 100 on every Linux configuration that matters here.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The processes whose CPU time is charged to each path: one column each.
pub struct CpuProbe {
    /// (column name, pid; `None` for this process).
    columns: Vec<(String, Option<u32>)>,
}

impl CpuProbe {
    pub fn new(columns: Vec<(String, Option<u32>)>) -> Self {
        Self { columns }
    }

    fn sample(&self) -> Vec<Option<Duration>> {
        self.columns.iter().map(|(_, pid)| cpu_time(*pid)).collect()
    }
}

pub async fn download(client: &reqwest::Client, url: &str) -> usize {
    let mut response = client.get(url).send().await.expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let mut n = 0;
    while let Some(chunk) = response.chunk().await.expect("body") {
        n += chunk.len();
    }
    n
}

/// `DOWNLOADS_PER_ROUND` downloads of the big segment from `base`, `concurrency` at a time.
/// Returns the wall time and the CPU time used by each probed process meanwhile.
async fn download_batch(
    client: &reqwest::Client,
    base: SocketAddr,
    concurrency: usize,
    probe: &CpuProbe,
) -> (Duration, Vec<Option<Duration>>) {
    let url = format!("http://{base}/big.m4s");
    let cpu0 = probe.sample();
    let t = Instant::now();
    let sizes: Vec<usize> = futures_util::stream::iter(0..DOWNLOADS_PER_ROUND)
        .map(|_| download(client, &url))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = t.elapsed();
    assert!(sizes.iter().all(|&n| n == SEGMENT_BYTES));
    let used = probe
        .sample()
        .into_iter()
        .zip(cpu0)
        .map(|(a, b)| Some(a?.saturating_sub(b?)))
        .collect();
    (wall, used)
}

pub async fn warm_up(client: &reqwest::Client, paths: &[(&str, SocketAddr)]) {
    for (_, base) in paths {
        for _ in 0..WARMUP_DOWNLOADS {
            download(client, &format!("http://{base}/big.m4s")).await;
        }
    }
}

/// Segment throughput, side by side. In each round every path downloads the same bytes with
/// the same number of concurrent streams, back to back in a rotating order; the ratio to the
/// first path (direct) is taken per round, so a load burst from another process hits both sides
/// of one ratio less often than it would across the run, and reported as median, p25–p75 and
/// min–max. Prints one markdown table.
pub async fn throughput_table(
    client: &reqwest::Client,
    title: &str,
    paths: &[(&str, SocketAddr)],
    concurrency: usize,
    rounds_max: usize,
    probe: &CpuProbe,
) {
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    // Summed over the run: /proc CPU times tick every 10 ms, too coarse for one batch.
    let mut cpu: Vec<Vec<Option<Duration>>> =
        vec![vec![Some(Duration::ZERO); probe.columns.len()]; paths.len()];
    let mut rounds = 0;
    let start = Instant::now();
    while rounds < rounds_max && start.elapsed() < LOOP_DEADLINE {
        let mut round = vec![0.0; paths.len()];
        for k in 0..paths.len() {
            let i = (rounds + k) % paths.len();
            let (wall, used) = download_batch(client, paths[i].1, concurrency, probe).await;
            round[i] = (SEGMENT_BYTES * DOWNLOADS_PER_ROUND) as f64 / wall.as_secs_f64() / 1e6;
            for (sum, u) in cpu[i].iter_mut().zip(used) {
                *sum = sum.zip(u).map(|(a, b)| a + b);
            }
        }
        for i in 0..paths.len() {
            rates[i].push(round[i]);
            ratios[i].push(round[i] / round[0]);
        }
        rounds += 1;
    }
    let gb = (rounds * SEGMENT_BYTES * DOWNLOADS_PER_ROUND) as f64 / 1e9;
    let quantile = |v: &[f64], q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "## segment throughput, {title}: {rounds} rounds x {DOWNLOADS_PER_ROUND} x {} MiB per path, {concurrency} stream(s) at once",
        SEGMENT_BYTES >> 20
    );
    let cpu_names: String = probe
        .columns
        .iter()
        .map(|(name, _)| format!(" {name} CPU s per GB |"))
        .collect();
    println!(
        "| path | MB/s (median) | ratio to direct per round: median | p25–p75 | min–max |{cpu_names}"
    );
    println!(
        "|---|---|---|---|---|{}",
        "---|".repeat(probe.columns.len())
    );
    for (i, (name, _)) in paths.iter().enumerate() {
        rates[i].sort_by(f64::total_cmp);
        ratios[i].sort_by(f64::total_cmp);
        let r = &ratios[i];
        let cpu: String = cpu[i]
            .iter()
            .map(|c| {
                c.map(|c| format!(" {:.2} |", c.as_secs_f64() / gb))
                    .unwrap_or_else(|| " n/a |".into())
            })
            .collect();
        println!(
            "| {name} | {:.0} | {:.2} | {:.2}–{:.2} | {:.2}–{:.2} |{cpu}",
            quantile(&rates[i], 0.5),
            quantile(r, 0.5),
            quantile(r, 0.25),
            quantile(r, 0.75),
            quantile(r, 0.0),
            quantile(r, 1.0),
        );
    }
    println!();
}
