//! Throughput of the tracker core: announces carrying 10 offers into a swarm of 10,000 peers.
//!
//! `cargo bench -p meshcdn-tracker --bench tracker`
//!
//! Steady state: time advances 10 ms per announce and offers time out after 10 s, so about
//! 10,000 offers are pending at any moment (one per peer on average) and `expire` runs every
//! 1,000 announces (its cost is included). Nobody hits the per-viewer cap, so every announce
//! relays all 10 offers.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use meshcdn_tracker::{Admission, InfoHash, NetworkFacts, OfferId, PeerId, Tracker, TrackerConfig};
use serde_json::json;

const PEERS: u64 = 10_000;
const OFFERS: usize = 10;
const T0: u64 = 1_800_000_000_000;

fn pid(n: u64) -> PeerId {
    let mut b = [0xA0u8; 20];
    b[..8].copy_from_slice(&n.to_be_bytes());
    PeerId(b)
}

/// A realistic non-trickle SDP offer (~600 bytes: the reference client waits for ICE gathering).
fn sdp(n: u64) -> String {
    format!(
        "v=0\r\no=- {n} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=candidate:1 1 udp 2113937151 10.0.0.{} 54321 typ host generation 0 network-cost 999\r\n\
         a=candidate:2 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0\r\n\
         a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\na=ice-options:trickle\r\n\
         a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n\
         a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
        n % 250
    )
}

fn announce_text(info_hash: InfoHash, peer: u64, seq: u64) -> String {
    let offers: Vec<_> = (0..OFFERS as u64)
        .map(|i| {
            let mut id = [0x5Au8; 20];
            id[..8].copy_from_slice(&seq.to_be_bytes());
            id[8..16].copy_from_slice(&i.to_be_bytes());
            json!({"offer": {"type": "offer", "sdp": sdp(peer)}, "offer_id": OfferId(id).to_binary_string()})
        })
        .collect();
    json!({
        "action": "announce", "info_hash": info_hash.to_binary_string(), "peer_id": pid(peer).to_binary_string(),
        "numwant": OFFERS, "uploaded": 0, "downloaded": 0, "left": null, "offers": offers,
    })
    .to_string()
}

fn facts(n: u64) -> NetworkFacts {
    let asns = [
        3215u32, 12322, 5410, 15557, 7922, 701, 3320, 2856, 6830, 1136,
    ];
    let places = [
        ("FR", "IDF", "EU"),
        ("FR", "ARA", "EU"),
        ("DE", "BE", "EU"),
        ("US", "CA", "NA"),
        ("US", "NY", "NA"),
    ];
    let (c, r, k) = places[n as usize % places.len()];
    NetworkFacts {
        asn: Some(asns[n as usize % asns.len()]),
        country: Some(c.into()),
        region: Some(r.into()),
        continent: Some(k.into()),
    }
}

fn swarm_of(peers: u64) -> (Tracker, InfoHash) {
    let config = TrackerConfig {
        offer_timeout_ms: 10_000,
        peer_timeout_ms: u64::MAX / 4,
        ..Default::default()
    };
    let mut t = Tracker::new(config, 1);
    let ih = InfoHash([7; 20]);
    for p in 0..peers {
        t.connection_opened(p, facts(p), Admission::Open);
        let text = json!({"action": "announce", "info_hash": ih.to_binary_string(), "peer_id": pid(p).to_binary_string()}).to_string();
        t.handle_message(p, &text, T0);
        while t.poll_outbound().is_some() {}
    }
    (t, ih)
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), if available. On a shared,
/// loaded machine wall-clock figures include time the thread waited for a core; this does not.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// On-CPU nanoseconds per call of `f`, over `n` calls.
fn cpu_per_op(n: u32, mut f: impl FnMut(u32)) -> Option<f64> {
    let start = cpu_ns()?;
    for i in 0..n {
        f(i);
    }
    Some((cpu_ns()? - start) as f64 / f64::from(n))
}

/// The pre-`RawValue` way of parsing an announce (SDP unescaped into owned strings), kept as a
/// baseline for the verbatim forwarding the tracker does now.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct OwnedSdpAnnounce {
    info_hash: String,
    peer_id: String,
    offers: Vec<OwnedOffer>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct OwnedOffer {
    offer_id: String,
    offer: OwnedSdp,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct OwnedSdp {
    #[serde(rename = "type")]
    kind: String,
    sdp: String,
}

fn bench(c: &mut Criterion) {
    let (mut t, ih) = swarm_of(PEERS);
    // Pre-built frames (parsing is measured, building JSON is not): 1,000 distinct senders.
    let frames: Vec<String> = (0..1000)
        .map(|i| announce_text(ih, i * 7 % PEERS, i))
        .collect();
    let frame_bytes = frames[0].len();
    let mut group = c.benchmark_group("tracker");
    group
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(2));

    group.throughput(Throughput::Elements(1));
    let mut now = T0;
    let mut i = 0usize;
    group.bench_function(
        format!("announce_{OFFERS}_offers_into_{PEERS}_peers ({frame_bytes} B frames)"),
        |b| {
            b.iter(|| {
                let k = i % frames.len();
                let sender = (k as u64) * 7 % PEERS;
                now += 10;
                t.handle_message(sender, black_box(&frames[k]), now);
                let mut relayed = 0;
                while let Some(o) = t.poll_outbound() {
                    relayed += 1;
                    black_box(o);
                }
                debug_assert_eq!(relayed, OFFERS + 1);
                i += 1;
                if i.is_multiple_of(1000) {
                    t.expire(now);
                }
            })
        },
    );
    let stats = t.stats();
    println!(
        "after run: {} peers, {} pending offers, {} offers relayed, {} rejects",
        stats.peers, stats.pending_offers, stats.counters.offers_relayed, stats.counters.rejects
    );
    assert_eq!(stats.counters.rejects, 0);

    let update = json!({"action": "announce", "info_hash": ih.to_binary_string(), "peer_id": pid(42).to_binary_string(), "left": null}).to_string();
    group.bench_function(format!("announce_no_offers_into_{PEERS}_peers"), |b| {
        b.iter(|| {
            t.handle_message(42, black_box(&update), now);
            black_box(t.poll_outbound());
        })
    });

    group.bench_function("parse_announce_10_offers", |b| {
        b.iter(|| {
            black_box(meshcdn_tracker::protocol::parse(
                black_box(&frames[0]),
                65_536,
            ))
            .is_ok()
        })
    });

    group.bench_function("parse_announce_10_offers_owned_sdp_baseline", |b| {
        b.iter(|| {
            black_box(serde_json::from_str::<OwnedSdpAnnounce>(black_box(
                &frames[0],
            )))
            .is_ok()
        })
    });

    // On-CPU time per operation, independent of how busy the machine's other cores are.
    let n = 20_000;
    let announce_cpu = cpu_per_op(n, |k| {
        let k = k as usize % frames.len();
        now += 10;
        t.handle_message((k as u64) * 7 % PEERS, &frames[k], now);
        while let Some(o) = t.poll_outbound() {
            black_box(o);
        }
        if k == 0 {
            t.expire(now);
        }
    });
    let parse_cpu = cpu_per_op(n, |k| {
        black_box(
            meshcdn_tracker::protocol::parse(&frames[k as usize % frames.len()], 65_536).is_ok(),
        );
    });
    let owned_cpu = cpu_per_op(n, |k| {
        black_box(
            serde_json::from_str::<OwnedSdpAnnounce>(&frames[k as usize % frames.len()]).is_ok(),
        );
    });
    if let (Some(a), Some(p), Some(o)) = (announce_cpu, parse_cpu, owned_cpu) {
        println!(
            "on-CPU per op ({n} ops each): announce with {OFFERS} offers {:.1} us ({:.0} announces/s per core, {:.0} offers relayed/s); \
             parse {:.1} us; owned-SDP parse baseline {:.1} us",
            a / 1000.0,
            1e9 / a,
            1e9 / a * OFFERS as f64,
            p / 1000.0,
            o / 1000.0
        );
    }

    group.throughput(Throughput::Elements(PEERS));
    group.sample_size(10);
    group.bench_function(format!("export_import_{PEERS}_peers"), |b| {
        b.iter_batched(
            || t.export_state(),
            |bytes| Tracker::import_state(&bytes).map(|t| t.stats().peers),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
