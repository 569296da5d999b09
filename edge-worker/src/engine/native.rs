//! The tracker core compiled into the host: the baseline the wasm engine is measured against,
//! and a fallback where wasm is not wanted.

use std::panic::{AssertUnwindSafe, catch_unwind};

use meshcdn_tracker::{Outbound, Tracker, TrackerConfig, TrackerStats};

use super::{EngineFactory, Event, ShardEngine};
use crate::error::EngineError;

pub struct NativeFactory {
    config: TrackerConfig,
}

impl NativeFactory {
    /// `tracker_json`: a `TrackerConfig` as JSON (`{}` = defaults).
    pub fn new(tracker_json: &str) -> Result<Self, EngineError> {
        let config: TrackerConfig =
            serde_json::from_str(tracker_json).map_err(|e| EngineError::Config(e.to_string()))?;
        Ok(Self { config })
    }
}

impl EngineFactory for NativeFactory {
    fn create(&self, seed: u64) -> Result<Box<dyn ShardEngine>, EngineError> {
        Ok(Box::new(NativeShard {
            tracker: Tracker::new(self.config.clone(), seed),
        }))
    }

    fn restore(&self, state: &[u8]) -> Result<Box<dyn ShardEngine>, EngineError> {
        let tracker =
            Tracker::import_state(state).map_err(|e| EngineError::State(e.to_string()))?;
        Ok(Box::new(NativeShard { tracker }))
    }

    fn describe(&self) -> String {
        format!("native meshcdn-tracker {}", env!("CARGO_PKG_VERSION"))
    }
}

pub struct NativeShard {
    tracker: Tracker,
}

fn drain(tracker: &mut Tracker) -> Vec<Outbound> {
    std::iter::from_fn(|| tracker.poll_outbound()).collect()
}

/// A panic in the native tracker is treated like a wasm trap: the shard is replaced.
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, EngineError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        EngineError::Trap(msg)
    })
}

impl ShardEngine for NativeShard {
    fn handle(&mut self, now_ms: u64, events: Vec<Event>) -> Result<Vec<Outbound>, EngineError> {
        let tracker = &mut self.tracker;
        guarded(|| {
            for event in events {
                match event {
                    Event::Opened {
                        conn,
                        facts,
                        admission,
                    } => tracker.connection_opened(conn, facts, admission),
                    Event::Message { conn, text } => tracker.handle_message(conn, &text, now_ms),
                    Event::Closed(conn) => tracker.connection_closed(conn, now_ms),
                }
            }
            drain(tracker)
        })
    }

    fn expire(&mut self, now_ms: u64) -> Result<Vec<Outbound>, EngineError> {
        let tracker = &mut self.tracker;
        guarded(|| {
            tracker.expire(now_ms);
            drain(tracker)
        })
    }

    fn stats(&mut self) -> Result<TrackerStats, EngineError> {
        Ok(self.tracker.stats())
    }

    fn export_state(&mut self) -> Result<Vec<u8>, EngineError> {
        let tracker = &self.tracker;
        guarded(|| tracker.export_state())
    }
}
