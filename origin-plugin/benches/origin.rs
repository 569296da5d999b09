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
const SEGMENT_ROUNDS: usize = 48;
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

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
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

    // Warm up both paths (connections, page cache, manifest + hash caches).
    for base in [upstream, proxy, layered] {
        download(&client, &format!("http://{base}/big.m4s")).await;
        download(&client, &format!("http://{base}/master.m3u8")).await;
        download(&client, &format!("http://{base}/v/index.m3u8")).await;
    }

    // Segment throughput. Each round downloads once per path, in a rotating order, and the
    // median per-download rate is reported: robust against load bursts from other processes.
    let paths = [("direct upstream", upstream), ("through proxy", proxy), ("ServeDir + MeshLayer (Layer mode)", layered)];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    let mut rounds = 0;
    let start = Instant::now();
    while rounds < SEGMENT_ROUNDS && start.elapsed() < LOOP_DEADLINE {
        for k in 0..paths.len() {
            let i = (rounds + k) % paths.len();
            let t = Instant::now();
            assert_eq!(download(&client, &format!("http://{}/big.m4s", paths[i].1)).await, SEGMENT_BYTES);
            samples[i].push(SEGMENT_BYTES as f64 / t.elapsed().as_secs_f64() / 1e6);
        }
        rounds += 1;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let medians: Vec<f64> = samples.iter_mut().map(median).collect();
    println!("## segment throughput: {rounds} rounds x {} MiB per path, sequential, loopback (median)", SEGMENT_BYTES >> 20);
    println!("| path | MB/s | ratio to direct |");
    println!("|---|---|---|");
    for (i, (name, _)) in paths.iter().enumerate() {
        println!("| {name} | {:.0} | {:.2} |", medians[i], medians[i] / medians[0]);
    }
    println!();

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
