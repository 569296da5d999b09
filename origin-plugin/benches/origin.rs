//! Origin plugin benchmark, side by side in one run (bounded in count and time):
//! - segment throughput: proxy vs direct upstream (target ≥ 0.9x direct);
//! - manifest latency: proxy (rewritten, cached) vs direct;
//! - rewrite time of a 1,000-segment media playlist (target p99 ≤ 1 ms).
//!
//! Run: `cargo bench -p meshcdn-origin --bench origin` (figures go to docs/benchmarks/origin.md).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use meshcdn_origin::config::OriginConfig;
use meshcdn_origin::hls;
use tower_http::services::ServeDir;

const SEGMENT_BYTES: usize = 8 << 20;
/// Throughput rounds; in each, every path moves the same bytes with the same concurrency.
const SEGMENT_ROUNDS: usize = 24;
/// Downloads per path per round, and how many run at once (same for every path).
const DOWNLOADS_PER_ROUND: usize = 4;
const CONCURRENCY: [usize; 2] = [1, 4];
const WARMUP_DOWNLOADS: usize = 4;
const MANIFEST_REQUESTS: usize = 1_000;
const REWRITE_ROUNDS: usize = 5_000;
/// Hard bound on each measured loop.
const LOOP_DEADLINE: Duration = Duration::from_secs(60);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Same server set-up for all three paths (TCP_NODELAY like `proxy::serve`).
async fn serve(router: Router) -> SocketAddr {
    use axum::serve::ListenerExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (Linux; None elsewhere).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    // USER_HZ is 100 on every Linux configuration that matters here.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// `DOWNLOADS_PER_ROUND` downloads of the big segment from `base`, `concurrency` at a time.
/// Returns (wall time, process CPU time: client, upstream and proxy together).
async fn download_batch(client: &reqwest::Client, base: SocketAddr, concurrency: usize) -> (Duration, Option<Duration>) {
    use futures_util::StreamExt as _;
    let url = format!("http://{base}/big.m4s");
    let cpu0 = cpu_time();
    let t = Instant::now();
    let sizes: Vec<usize> = futures_util::stream::iter(0..DOWNLOADS_PER_ROUND)
        .map(|_| download(client, &url))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = t.elapsed();
    assert!(sizes.iter().all(|&n| n == SEGMENT_BYTES));
    (wall, cpu_time().zip(cpu0).map(|(a, b)| a.saturating_sub(b)))
}

fn playlist(segments: usize) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n");
    for i in 0..segments {
        s.push_str(&format!("#EXTINF:2.000000,\nseg_{i:05}.m4s\n"));
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

async fn download(client: &reqwest::Client, url: &str) -> usize {
    let mut response = client.get(url).send().await.expect("request");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let mut n = 0;
    while let Some(chunk) = response.chunk().await.expect("body") {
        n += chunk.len();
    }
    n
}

fn bench_rewrite() {
    let text = playlist(1_000);
    let hashes: Vec<Option<[u8; 32]>> = (0..1_000).map(|i| Some([i as u8; 32])).collect();
    let mut rewrite = Vec::with_capacity(REWRITE_ROUNDS);
    let mut parse_and_rewrite = Vec::with_capacity(REWRITE_ROUNDS);
    let segments = hls::parse_media(&text, 20_000).expect("parse");
    let start = Instant::now();
    for _ in 0..REWRITE_ROUNDS {
        if start.elapsed() > LOOP_DEADLINE {
            break;
        }
        let t = Instant::now();
        let out = hls::rewrite_media(&text, &segments, &hashes).expect("rewrite");
        rewrite.push(t.elapsed());
        std::hint::black_box(out);
        let t = Instant::now();
        let segs = hls::parse_media(&text, 20_000).expect("parse");
        let out = hls::rewrite_media(&text, &segs, &hashes).expect("rewrite");
        parse_and_rewrite.push(t.elapsed());
        std::hint::black_box(out);
    }
    rewrite.sort();
    parse_and_rewrite.sort();
    println!("## rewrite of a 1,000-segment media playlist ({} bytes), {} rounds", text.len(), rewrite.len());
    println!("| step | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|");
    for (name, v) in [("rewrite_media (per request)", &rewrite), ("parse_media + rewrite_media (per upstream fetch)", &parse_and_rewrite)] {
        println!("| {name} | {:.1} | {:.1} | {:.1} |", us(percentile(v, 0.5)), us(percentile(v, 0.99)), us(*v.last().unwrap_or(&Duration::ZERO)));
    }
    println!();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    bench_rewrite();

    let dir = tempfile::tempdir().expect("tempdir");
    let seg: Vec<u8> = (0..SEGMENT_BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.path().join("big.m4s"), &seg).expect("write segment");
    std::fs::write(dir.path().join("master.m3u8"), "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nv/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=400000\nw/index.m3u8\n").expect("write master");
    std::fs::create_dir_all(dir.path().join("v")).expect("mkdir");
    std::fs::write(dir.path().join("v/index.m3u8"), playlist(1_000)).expect("write playlist");
    for i in 0..1_000 {
        std::fs::write(dir.path().join(format!("v/seg_{i:05}.m4s")), format!("segment {i}")).expect("write seg");
    }
    let upstream = serve(Router::new().fallback_service(ServeDir::new(dir.path()))).await;
    let mut config = OriginConfig {
        upstream: Some(format!("http://{upstream}")),
        trackers: vec!["ws://127.0.0.1:8000/announce".into()],
        ..OriginConfig::default()
    };
    config.manifests.default_ttl_ms = 60_000;
    config.manifests.max_ttl_ms = 60_000;
    let (router, engine) = meshcdn_origin::proxy::build_proxy(&config).expect("proxy");
    let proxy = serve(router).await;
    // The Layer mode over the same files: ServeDir + MeshLayer (segments pass through in-process).
    let layered = serve(meshcdn_origin::proxy::local_dir_router(dir.path(), meshcdn_origin::MeshEngine::new(config.clone()))).await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(4).build().expect("client");

    // Warm up every path (connections, page cache, manifest + hash caches, allocator).
    for base in [upstream, proxy, layered] {
        for _ in 0..WARMUP_DOWNLOADS {
            download(&client, &format!("http://{base}/big.m4s")).await;
        }
        download(&client, &format!("http://{base}/master.m3u8")).await;
        download(&client, &format!("http://{base}/v/index.m3u8")).await;
    }

    // Segment throughput. In each round every path downloads the same bytes with the same
    // number of concurrent streams, back to back in a rotating order; the ratio to direct is
    // taken per round (so a load burst from another process hits both sides of one ratio
    // less often than it would across the run) and reported as median with min and max.
    let paths = [("direct upstream", upstream), ("through proxy", proxy), ("ServeDir + MeshLayer (Layer mode)", layered)];
    for concurrency in CONCURRENCY {
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
        // Summed over the run: /proc CPU times tick every 10 ms, too coarse for one batch.
        let mut cpu: Vec<Option<Duration>> = vec![Some(Duration::ZERO); paths.len()];
        let mut rounds = 0;
        let start = Instant::now();
        while rounds < SEGMENT_ROUNDS && start.elapsed() < LOOP_DEADLINE {
            let mut round = vec![0.0; paths.len()];
            for k in 0..paths.len() {
                let i = (rounds + k) % paths.len();
                let (wall, used) = download_batch(&client, paths[i].1, concurrency).await;
                round[i] = (SEGMENT_BYTES * DOWNLOADS_PER_ROUND) as f64 / wall.as_secs_f64() / 1e6;
                cpu[i] = cpu[i].zip(used).map(|(a, b)| a + b);
            }
            for i in 0..paths.len() {
                rates[i].push(round[i]);
                ratios[i].push(round[i] / round[0]);
            }
            rounds += 1;
        }
        let gb = (rounds * SEGMENT_BYTES * DOWNLOADS_PER_ROUND) as f64 / 1e9;
        let quantile = |v: &[f64], q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
        println!(
            "## segment throughput: {rounds} rounds x {DOWNLOADS_PER_ROUND} x {} MiB per path, {concurrency} stream(s) at once, loopback",
            SEGMENT_BYTES >> 20
        );
        println!("| path | MB/s (median) | ratio to direct per round: median | p25–p75 | min–max | process CPU s per GB |");
        println!("|---|---|---|---|---|---|");
        for (i, (name, _)) in paths.iter().enumerate() {
            rates[i].sort_by(f64::total_cmp);
            ratios[i].sort_by(f64::total_cmp);
            let r = &ratios[i];
            let cpu = cpu[i].map(|c| format!("{:.2}", c.as_secs_f64() / gb)).unwrap_or_else(|| "n/a".into());
            println!(
                "| {name} | {:.0} | {:.2} | {:.2}–{:.2} | {:.2}–{:.2} | {cpu} |",
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

    // Manifest latency (proxy: from the manifest cache, rewritten per request).
    println!("## manifest latency: {MANIFEST_REQUESTS} sequential GETs each, keep-alive");
    println!("| manifest | path | p50 µs | p99 µs |");
    println!("|---|---|---|---|");
    for (name, path) in [("master", "/master.m3u8"), ("media, 1,000 segments", "/v/index.m3u8")] {
        let mut results = Vec::new();
        for (label, base) in [("direct", upstream), ("proxy", proxy), ("layer", layered)] {
            let mut samples = Vec::with_capacity(MANIFEST_REQUESTS);
            let start = Instant::now();
            while samples.len() < MANIFEST_REQUESTS && start.elapsed() < LOOP_DEADLINE {
                let t = Instant::now();
                download(&client, &format!("http://{base}{path}")).await;
                samples.push(t.elapsed());
            }
            samples.sort();
            results.push((label, percentile(&samples, 0.5), percentile(&samples, 0.99)));
        }
        for (label, p50, p99) in results {
            println!("| {name} | {label} | {:.0} | {:.0} |", us(p50), us(p99));
        }
    }
    println!();
    println!("engine stats: {:?}", engine.stats());
}
