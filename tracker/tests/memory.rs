//! Bytes of tracker state per peer, measured with a counting allocator (target: <= 512 bytes,
//! SDP excluded: the tracker never stores SDP, it forwards it while handling the announce).
//! One test per binary: the allocator counts process-wide.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::*;
use meshcdn_tracker::{Admission, Tracker, TrackerConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes per peer with `peers` peers in one swarm, one connection each.
fn per_peer(peers: u64) -> f64 {
    let asns = [3215u32, 12322, 5410, 15557, 7922, 701, 3320, 2856];
    let countries = [
        ("FR", "IDF", "EU"),
        ("FR", "ARA", "EU"),
        ("DE", "BE", "EU"),
        ("US", "CA", "NA"),
        ("US", "NY", "NA"),
    ];
    let mut t = Tracker::new(TrackerConfig::default(), 1);
    // Built outside the measured window.
    let frames: Vec<String> = (0..peers)
        .map(|c| announce(ih(1), pid(c as u32), &[]))
        .collect();
    let facts_list: Vec<_> = (0..peers)
        .map(|c| {
            let (country, region, continent) = countries[c as usize % countries.len()];
            facts(asns[c as usize % asns.len()], country, region, continent)
        })
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    for (c, (frame, f)) in frames.iter().zip(facts_list).enumerate() {
        t.connection_opened(c as u64, f, Admission::Open);
        t.handle_message(c as u64, frame, T0);
        while t.poll_outbound().is_some() {}
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_peer = (after - before) as f64 / peers as f64;
    let estimate = t.state_bytes() as f64 / peers as f64;
    println!(
        "tracker state: {per_peer:.0} bytes/peer measured, {estimate:.0} bytes/peer by table estimate ({peers} peers, one connection each)"
    );
    assert_eq!(t.stats().peers, peers);
    per_peer
}

#[test]
fn state_per_peer_is_at_most_512_bytes() {
    // 10,000 peers (the benchmark's swarm), and just past a power of two, where the tables
    // have just doubled and carry the most slack.
    for peers in [10_000, 8_193, 16_385] {
        let bytes = per_peer(peers);
        assert!(
            bytes <= 512.0,
            "{bytes:.0} bytes per peer with {peers} peers"
        );
    }
    per_pending_offer();
}

/// Bytes per relayed offer awaiting its answer (the pending-offer table, its expiry queue and
/// the sender/recipient pair index), SDP excluded: it is forwarded, never stored.
fn per_pending_offer() {
    let peers = 2_000u64;
    let mut t = Tracker::new(TrackerConfig::default(), 2);
    for c in 0..peers {
        t.connection_opened(c, facts(1, "FR", "IDF", "EU"), Admission::Open);
        t.handle_message(c, &announce(ih(1), pid(c as u32), &[]), T0);
        while t.poll_outbound().is_some() {}
    }
    let frames: Vec<String> = (0..peers)
        .map(|c| {
            announce(
                ih(1),
                pid(c as u32),
                &(0..5).map(|i| oid(c as u32, i)).collect::<Vec<_>>(),
            )
        })
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    for (c, frame) in frames.iter().enumerate() {
        t.handle_message(c as u64, frame, T0);
        while t.poll_outbound().is_some() {}
    }
    let after = LIVE.load(Ordering::Relaxed);
    let pending = t.stats().pending_offers;
    assert_eq!(pending, peers * 5);
    let per_offer = (after - before) as f64 / pending as f64;
    println!("pending offers: {per_offer:.0} bytes each ({pending} pending)");
    assert!(per_offer <= 512.0, "{per_offer:.0} bytes per pending offer");
}
