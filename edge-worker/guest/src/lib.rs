//! The tracker-shard component: `meshcdn-tracker` exported through the WIT world
//! `meshcdn:tracker/tracker-shard` (see `wit/tracker.wit`).
//!
//! One instance owns one tracker. The host batches events in and gets every outbound message
//! back from the same call, so a busy shard crosses the host/guest boundary once per batch.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use meshcdn_tracker::token::SwarmGrant;
use meshcdn_tracker::{Admission, NetworkFacts, Tracker, TrackerConfig};

wit_bindgen::generate!({
    world: "tracker-shard",
    path: "../../wit",
});

use exports::meshcdn::tracker::shard::Guest;
use meshcdn::tracker::types::{self as wit, ShardError};

thread_local! {
    // The component model runs an instance on one thread; the host never re-enters a call.
    static TRACKER: RefCell<Option<Tracker>> = const { RefCell::new(None) };
    /// Live heap bytes above which the tracker is degraded (0: never); from `init`'s config.
    static HIGH_WATER: Cell<usize> = const { Cell::new(0) };
}

/// The config key the host adds for this component (not a tracker setting): live heap bytes
/// above which the tracker refuses new swarms and peers (the host derives it from
/// `limits.shard_memory_bytes` and `limits.shard_memory_high_water_percent`).
const HIGH_WATER_KEY: &str = "heap_high_water_bytes";

/// Bytes allocated and not freed: the guest's live heap.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The largest single allocation so far: a table that grows next asks for about twice that
/// while still holding its old storage, so that much headroom must stay below the cap.
static LARGEST: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes (the host caps linear memory; this lets the
/// tracker degrade before an allocation fails and traps the whole shard).
struct Counting;

// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
            LARGEST.fetch_max(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
            LARGEST.fetch_max(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
            LARGEST.fetch_max(new_size, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Degrades when the live heap plus the headroom for the next growth of the largest table (twice
/// the largest allocation) passes the high-water mark, and recovers below 90% of it (so it does
/// not flap). The live heap alone is not enough: a table of a third of the cap that doubles
/// needs its old and new storage at once, and that allocation would trap the shard.
fn update_degraded(tracker: &mut Tracker) {
    let high = HIGH_WATER.with(Cell::get);
    if high == 0 {
        return;
    }
    let live = LIVE.load(Relaxed).saturating_add(LARGEST.load(Relaxed).saturating_mul(2));
    if live > high {
        tracker.set_degraded(true);
    } else if live < high / 10 * 9 {
        tracker.set_degraded(false);
    }
}

struct Shard;

fn with_tracker<R>(f: impl FnOnce(&mut Tracker) -> R) -> R {
    TRACKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        // A host that forgot `init` gets a default tracker rather than a trap.
        let tracker = slot.get_or_insert_with(|| Tracker::new(TrackerConfig::default(), 0));
        f(tracker)
    })
}

fn facts(f: wit::NetworkFacts) -> NetworkFacts {
    NetworkFacts { asn: f.asn, country: f.country, region: f.region, continent: f.continent }
}

fn admission(a: wit::Admission) -> Option<Admission> {
    match a {
        wit::Admission::Open => Some(Admission::Open),
        wit::Admission::Token(g) => {
            // A malformed prefix admits nothing: the connection stays without a grant.
            let content_prefix = g.content_prefix.try_into().ok()?;
            Some(Admission::Token(SwarmGrant {
                content_prefix,
                not_before_ms: g.not_before_ms,
                expires_at_ms: g.expires_at_ms,
            }))
        }
    }
}

fn drain(tracker: &mut Tracker) -> Vec<wit::Outbound> {
    let mut out = Vec::new();
    while let Some(o) = tracker.poll_outbound() {
        out.push(wit::Outbound { conn: o.conn, text: o.text });
    }
    out
}

#[cfg(feature = "fault-injection")]
fn inject_fault(text: &str) {
    if text.contains(r#""meshcdn_fault":"trap""#) {
        core::arch::wasm32::unreachable();
    }
    if text.contains(r#""meshcdn_fault":"alloc""#) {
        // 128 MiB, touched: fails against the host's memory cap, succeeds without one.
        let block = vec![1u8; 128 << 20];
        core::hint::black_box(&block);
    }
    if text.contains(r#""meshcdn_fault":"spin""#) {
        let mut n: u64 = 0;
        loop {
            n = core::hint::black_box(n.wrapping_add(1));
        }
    }
}

impl Guest for Shard {
    fn init(config: String, seed: u64) -> Result<(), ShardError> {
        let mut config: serde_json::Value =
            serde_json::from_str(&config).map_err(|e| ShardError::Config(e.to_string()))?;
        let high_water = match config.as_object_mut().and_then(|t| t.remove(HIGH_WATER_KEY)) {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(|| {
                ShardError::Config(format!("{HIGH_WATER_KEY} must be a non-negative integer"))
            })? as usize,
        };
        HIGH_WATER.with(|h| h.set(high_water));
        let config: TrackerConfig =
            serde_json::from_value(config).map_err(|e| ShardError::Config(e.to_string()))?;
        TRACKER.with(|cell| *cell.borrow_mut() = Some(Tracker::new(config, seed)));
        Ok(())
    }

    fn handle(now_ms: u64, events: Vec<wit::Event>) -> Vec<wit::Outbound> {
        with_tracker(|tracker| {
            for event in events {
                match event {
                    wit::Event::Opened(o) => match admission(o.admission) {
                        Some(a) => tracker.connection_opened(o.conn, facts(o.facts), a),
                        None => tracker.connection_opened(
                            o.conn,
                            facts(o.facts),
                            // An unusable grant must not widen access: admit no swarm.
                            Admission::Token(SwarmGrant {
                                content_prefix: [0xff; meshcdn_tracker::token::CONTENT_PREFIX_LEN],
                                not_before_ms: u64::MAX,
                                expires_at_ms: 0,
                            }),
                        ),
                    },
                    wit::Event::Message(m) => {
                        #[cfg(feature = "fault-injection")]
                        inject_fault(&m.text);
                        update_degraded(tracker);
                        tracker.handle_message(m.conn, &m.text, now_ms);
                    }
                    wit::Event::Closed(conn) => tracker.connection_closed(conn, now_ms),
                }
            }
            drain(tracker)
        })
    }

    fn expire(now_ms: u64) -> Vec<wit::Outbound> {
        with_tracker(|tracker| {
            tracker.expire(now_ms);
            update_degraded(tracker);
            drain(tracker)
        })
    }

    fn stats() -> String {
        with_tracker(|tracker| serde_json::to_string(&tracker.stats()).unwrap_or_else(|_| "{}".into()))
    }

    fn export_state() -> Vec<u8> {
        with_tracker(|tracker| tracker.export_state())
    }

    fn import_state(state: Vec<u8>) -> Result<(), ShardError> {
        // The fault build stands in for a broken new version: it traps when taking over a state.
        #[cfg(feature = "fault-injection")]
        {
            let _ = state;
            core::arch::wasm32::unreachable()
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            let tracker = Tracker::import_state(&state).map_err(|e| ShardError::State(e.to_string()))?;
            TRACKER.with(|cell| *cell.borrow_mut() = Some(tracker));
            Ok(())
        }
    }

    fn version() -> String {
        let fault = if cfg!(feature = "fault-injection") { "+fault-injection" } else { "" };
        format!("{}{fault}", env!("CARGO_PKG_VERSION"))
    }
}

export!(Shard);
