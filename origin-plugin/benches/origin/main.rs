//! Origin plugin benchmark, side by side in one run (bounded in count and time):
//! - rewrite time of a 1,000-segment media playlist (target p99 ≤ 1 ms);
//! - segment throughput on loopback: proxy and Layer mode vs direct upstream (target ≥ 0.9x
//!   direct), all in this process;
//! - manifest latency: proxy and Layer (rewritten, cached) vs direct;
//! - segment throughput between network namespaces (`netns`): viewer, proxy host and upstream
//!   each a process in its own namespace, joined by veth links, unshaped and at 1 Gbit/s.
//!
//! Run: `cargo bench -p meshcdn-origin --bench origin` (figures go to docs/benchmarks/origin.md).

mod common;
mod netns;

use std::time::{Duration, Instant};

use axum::Router;
use meshcdn_origin::config::OriginConfig;
use meshcdn_origin::manifest::hls;
use tower_http::services::ServeDir;

use common::{
    CONCURRENCY, CpuProbe, LOOP_DEADLINE, SEGMENT_BYTES, download, percentile, serve_loopback,
    throughput_table, us, warm_up,
};

/// Loopback throughput rounds; in each, every path moves the same bytes with the same concurrency.
const SEGMENT_ROUNDS: usize = 24;
const MANIFEST_REQUESTS: usize = 1_000;
const REWRITE_ROUNDS: usize = 5_000;

fn playlist(segments: usize) -> String {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n",
    );
    for i in 0..segments {
        s.push_str(&format!("#EXTINF:2.000000,\nseg_{i:05}.m4s\n"));
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
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
    println!(
        "## rewrite of a 1,000-segment media playlist ({} bytes), {} rounds",
        text.len(),
        rewrite.len()
    );
    println!("| step | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|");
    for (name, v) in [
        ("rewrite_media (per request)", &rewrite),
        (
            "parse_media + rewrite_media (per upstream fetch)",
            &parse_and_rewrite,
        ),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            us(percentile(v, 0.5)),
            us(percentile(v, 0.99)),
            us(*v.last().unwrap_or(&Duration::ZERO))
        );
    }
    println!();
}

/// The segment, a master playlist and a 1,000-segment media playlist, as an upstream serves them.
fn write_fixture(dir: &std::path::Path) {
    let seg: Vec<u8> = (0..SEGMENT_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("big.m4s"), &seg).expect("write segment");
    std::fs::write(dir.join("master.m3u8"), "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nv/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=400000\nw/index.m3u8\n").expect("write master");
    std::fs::create_dir_all(dir.join("v")).expect("mkdir");
    std::fs::write(dir.join("v/index.m3u8"), playlist(1_000)).expect("write playlist");
    for i in 0..1_000 {
        std::fs::write(
            dir.join(format!("v/seg_{i:05}.m4s")),
            format!("segment {i}"),
        )
        .expect("write seg");
    }
}

/// The proxy configuration used in every scenario (manifests cached for the whole run).
fn proxy_config(upstream: &str) -> OriginConfig {
    let mut config = OriginConfig {
        upstream: Some(upstream.to_string()),
        trackers: vec!["ws://127.0.0.1:8000/announce".into()],
        ..OriginConfig::default()
    };
    config.manifests.default_ttl_ms = 60_000;
    config.manifests.max_ttl_ms = 60_000;
    config
}

/// The upstream of every scenario: the files as `ServeDir` serves them.
fn upstream_router(dir: &std::path::Path) -> Router {
    Router::new().fallback_service(ServeDir::new(dir))
}

fn main() -> anyhow::Result<()> {
    // A process started by the netns scenario plays one role (origin, proxy host or viewer).
    if let Some(role) = netns::Role::from_args(std::env::args().skip(1))? {
        return role.run();
    }
    bench_rewrite();
    let dir = tempfile::tempdir()?;
    write_fixture(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench_loopback(dir.path()));
    runtime.block_on(netns::bench(dir.path()))
}

/// Client, upstream, proxy and Layer mode in this process (2 tokio worker threads), on loopback.
async fn bench_loopback(dir: &std::path::Path) {
    let upstream = serve_loopback(upstream_router(dir)).await;
    let config = proxy_config(&format!("http://{upstream}"));
    let (router, engine) = meshcdn_origin::proxy::build_proxy(&config).expect("proxy");
    let proxy = serve_loopback(router).await;
    // The Layer mode over the same files: ServeDir + MeshLayer (segments pass through in-process).
    let layered = serve_loopback(meshcdn_origin::proxy::local_dir_router(
        dir,
        meshcdn_origin::MeshEngine::new(config.clone()),
    ))
    .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .expect("client");

    // Warm up every path (connections, page cache, manifest + hash caches, allocator).
    let paths = [
        ("direct upstream", upstream),
        ("through proxy", proxy),
        ("ServeDir + MeshLayer (Layer mode)", layered),
    ];
    warm_up(&client, &paths).await;
    for (_, base) in paths {
        download(&client, &format!("http://{base}/master.m3u8")).await;
        download(&client, &format!("http://{base}/v/index.m3u8")).await;
    }

    // Client, upstream and proxy share this process: its CPU time is what each path costs.
    let probe = CpuProbe::new(vec![("process".into(), None)]);
    for concurrency in CONCURRENCY {
        throughput_table(
            &client,
            "loopback, one process",
            &paths,
            concurrency,
            SEGMENT_ROUNDS,
            &probe,
        )
        .await;
    }

    // Manifest latency (proxy: from the manifest cache, rewritten per request).
    println!("## manifest latency: {MANIFEST_REQUESTS} sequential GETs each, keep-alive");
    println!("| manifest | path | p50 µs | p99 µs |");
    println!("|---|---|---|---|");
    for (name, path) in [
        ("master", "/master.m3u8"),
        ("media, 1,000 segments", "/v/index.m3u8"),
    ] {
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
