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
    let tracker_json =
        serde_json::to_string(&config.tracker).map_err(|e| EngineError::Config(e.to_string()))?;
    match config.engine {
        EngineKind::Native => Ok(Arc::new(native::NativeFactory::new(&tracker_json)?)),
        EngineKind::Wasm => Ok(Arc::new(wasm::WasmFactory::load(
            &config.component_path(),
            tracker_json,
            wasm::WasmLimits::from(&config.limits),
        )?)),
    }
}
