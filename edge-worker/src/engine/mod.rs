//! Shard engines: the tracker core run as a wasm component ([`wasm`]) or natively ([`native`]),
//! behind one trait so the host (and its tests) treat both alike.

pub mod native;
pub mod wasm;

use std::sync::Arc;

pub use meshcdn_tracker::{Admission, ConnId, NetworkFacts, Outbound, TrackerStats};

use crate::config::{EdgeConfig, EngineKind};
use crate::error::EngineError;

/// One input to a shard (mirrors `event` in `wit/tracker.wit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Opened {
        conn: ConnId,
        facts: NetworkFacts,
        admission: Admission,
    },
    Message {
        conn: ConnId,
        text: String,
    },
    Closed(ConnId),
}

/// One running tracker instance. Errors with [`EngineError::is_fatal`] leave it unusable.
pub trait ShardEngine: Send {
    /// Applies `events` in order and returns every message to send.
    fn handle(&mut self, now_ms: u64, events: Vec<Event>) -> Result<Vec<Outbound>, EngineError>;
    fn expire(&mut self, now_ms: u64) -> Result<Vec<Outbound>, EngineError>;
    /// The tracker's counters and gauges (the guest sends them as `TrackerStats` JSON).
    fn stats(&mut self) -> Result<TrackerStats, EngineError>;
    /// The whole tracker state, for a hot upgrade.
    fn export_state(&mut self) -> Result<Vec<u8>, EngineError>;
}

/// Makes shard instances of one engine version (a compiled component, or the native tracker).
pub trait EngineFactory: Send + Sync {
    /// A fresh, empty tracker.
    fn create(&self, seed: u64) -> Result<Box<dyn ShardEngine>, EngineError>;
    /// A tracker that takes over `state` from [`ShardEngine::export_state`].
    fn restore(&self, state: &[u8]) -> Result<Box<dyn ShardEngine>, EngineError>;
    /// For logs, `/health` and metrics: e.g. `wasm tracker-shard 0.1.0`.
    fn describe(&self) -> String;
}

/// The factory `config` asks for (compiles the component for the wasm engine).
pub fn factory(config: &EdgeConfig) -> Result<Arc<dyn EngineFactory>, EngineError> {
    let tracker_json = shard_tracker_json(&config.tracker, config.shard_count())?;
    match config.engine {
        EngineKind::Native => Ok(Arc::new(native::NativeFactory::new(&tracker_json)?)),
        EngineKind::Wasm => Ok(Arc::new(wasm::WasmFactory::load(
            &config.component_path(),
            with_heap_high_water(&tracker_json, config.shard_heap_high_water_bytes())?,
            wasm::WasmLimits::from(&config.limits),
        )?)),
    }
}

/// The component's config: the tracker's, plus the live heap above which it degrades
/// (`heap_high_water_bytes`, a key of the component, not of the tracker; see
/// `edge-worker/guest`).
pub fn with_heap_high_water(tracker_json: &str, bytes: usize) -> Result<String, EngineError> {
    let mut value: serde_json::Value =
        serde_json::from_str(tracker_json).map_err(|e| EngineError::Config(e.to_string()))?;
    let table = value
        .as_object_mut()
        .ok_or_else(|| EngineError::Config("tracker must be a table".into()))?;
    table.insert("heap_high_water_bytes".into(), bytes.into());
    serde_json::to_string(&value).map_err(|e| EngineError::Config(e.to_string()))
}

/// The tracker config every shard gets: `tracker` as configured, except that
/// `max_pending_offers` (pending offers, and live links, kept at most) is the host's bound,
/// split evenly between the shards, so the host's memory for them does not grow with the shard
/// count. Only that key is touched, so components of other versions read the rest as before.
pub fn shard_tracker_json(
    tracker: &serde_json::Value,
    shards: usize,
) -> Result<String, EngineError> {
    let mut tracker = tracker.clone();
    let table = tracker
        .as_object_mut()
        .ok_or_else(|| EngineError::Config("tracker must be a table".into()))?;
    let host = match table.get("max_pending_offers") {
        None => meshcdn_tracker::TrackerConfig::default().max_pending_offers,
        Some(v) => v.as_u64().ok_or_else(|| {
            EngineError::Config("tracker.max_pending_offers must be a positive integer".into())
        })? as usize,
    };
    table.insert(
        "max_pending_offers".into(),
        host.div_ceil(shards.max(1)).max(1).into(),
    );
    serde_json::to_string(&tracker).map_err(|e| EngineError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_offer_bound_is_the_hosts_split_between_shards() {
        let per = |tracker: serde_json::Value, shards| -> serde_json::Value {
            serde_json::from_str(&shard_tracker_json(&tracker, shards).unwrap()).unwrap()
        };
        let default = meshcdn_tracker::TrackerConfig::default().max_pending_offers;
        assert_eq!(
            per(serde_json::json!({}), 2)["max_pending_offers"],
            default.div_ceil(2)
        );
        let set = per(
            serde_json::json!({"max_pending_offers": 1001, "max_offers": 5}),
            4,
        );
        assert_eq!(set["max_pending_offers"], 251);
        assert_eq!(set["max_offers"], 5, "other keys untouched");
        assert_eq!(
            per(serde_json::json!({"max_pending_offers": 1}), 8)["max_pending_offers"],
            1
        );
        assert!(shard_tracker_json(&serde_json::json!({"max_pending_offers": "x"}), 2).is_err());
        assert!(shard_tracker_json(&serde_json::json!(3), 2).is_err());
    }
}
