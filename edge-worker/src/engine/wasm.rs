//! The tracker-shard component under wasmtime.
//!
//! Shaped like wasmtime's `examples/component`: `bindgen!` in one [`bindings`] module, one
//! store-data struct ([`ShardState`]), a `*Pre` so each (re-)instantiation only allocates.
//!
//! Isolation: the guest gets WASI with **nothing granted** (`WasiCtxBuilder::new()`: no preopened
//! directories, no network, no environment, no arguments, stdio closed); its linear memory is
//! capped by [`StoreLimits`]; every call has an epoch deadline (a ticker thread bumps the
//! engine's epoch every [`EPOCH_TICK`]), so a guest that loops is interrupted and replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use meshcdn_tracker::{Outbound, TrackerStats};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::{EngineFactory, Event, ShardEngine};
use crate::config::LimitsConfig;
use crate::error::EngineError;

/// Code generated from `wit/tracker.wit`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tracker-shard",
    });
}

use bindings::meshcdn::tracker::types as wit;

/// How often the epoch advances; deadlines are rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The one engine of this process: compiled components can be shared between shards and
/// reloads only within one engine, and one ticker thread serves all of them.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        // For profiling with `perf record`: the guest's compiled functions by name in
        // /tmp/perf-<pid>.map (docs/benchmarks/aquatic.md, "Where the time goes").
        if std::env::var_os("MESHCDN_WASM_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).expect("wasmtime engine config is static and valid");
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch ticker thread");
        engine
    })
}

/// Per-instance limits.
#[derive(Debug, Clone, Copy)]
pub struct WasmLimits {
    pub call_deadline: Duration,
    pub memory_bytes: usize,
}

impl From<&LimitsConfig> for WasmLimits {
    fn from(l: &LimitsConfig) -> Self {
        Self {
            call_deadline: Duration::from_millis(l.call_deadline_ms),
            memory_bytes: l.shard_memory_bytes,
        }
    }
}

impl WasmLimits {
    fn deadline_ticks(&self) -> u64 {
        (self
            .call_deadline
            .as_nanos()
            .div_ceil(EPOCH_TICK.as_nanos()) as u64)
            .max(1)
    }
}

/// The data of one shard's `Store`.
pub struct ShardState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for ShardState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit::Host for ShardState {}

/// Compiled components, by path and file identity, so reloading or restarting does not
/// recompile an unchanged file (cranelift takes seconds on a large guest).
fn compile(path: &Path) -> Result<Component, EngineError> {
    type Key = (PathBuf, u64, Option<SystemTime>);
    static CACHE: OnceLock<Mutex<HashMap<Key, Component>>> = OnceLock::new();
    let meta = std::fs::metadata(path)
        .map_err(|e| EngineError::Load(format!("{}: {e}", path.display())))?;
    let key = (path.to_owned(), meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let bytes =
        std::fs::read(path).map_err(|e| EngineError::Load(format!("{}: {e}", path.display())))?;
    let component = Component::new(engine(), &bytes)
        .map_err(|e| EngineError::Load(format!("{}: {e:#}", path.display())))?;
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() > 16 {
        cache.clear();
    }
    cache.insert(key, component.clone());
    Ok(component)
}

/// Makes instances of one compiled tracker-shard component.
pub struct WasmFactory {
    pre: bindings::TrackerShardPre<ShardState>,
    limits: WasmLimits,
    tracker_json: String,
    version: String,
}

impl WasmFactory {
    /// Compiles (or reuses) the component at `path`, links it and checks it with one throwaway
    /// instance, so an incompatible or broken component is refused here and not on first use.
    pub fn load(
        path: &Path,
        tracker_json: String,
        limits: WasmLimits,
    ) -> Result<Self, EngineError> {
        let component = compile(path)?;
        Self::from_component(&component, tracker_json, limits)
    }

    pub fn from_component(
        component: &Component,
        tracker_json: String,
        limits: WasmLimits,
    ) -> Result<Self, EngineError> {
        let mut linker: Linker<ShardState> = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| EngineError::Load(format!("{e:#}")))?;
        wit::add_to_linker::<ShardState, HasSelf<ShardState>>(&mut linker, |s| s)
            .map_err(|e| EngineError::Load(format!("{e:#}")))?;
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(|e| EngineError::Incompatible(format!("{e:#}")))?;
        let pre = bindings::TrackerShardPre::new(instance_pre)
            .map_err(|e| EngineError::Incompatible(format!("{e:#}")))?;
        let mut factory = Self {
            pre,
            limits,
            tracker_json,
            version: String::new(),
        };
        let mut probe = factory.instantiate()?;
        factory.version = probe.call(|b, s| b.meshcdn_tracker_shard().call_version(s))?;
        probe
            .call(|b, s| {
                b.meshcdn_tracker_shard()
                    .call_init(s, &factory.tracker_json, 0)
            })?
            .map_err(shard_error)?;
        Ok(factory)
    }

    fn instantiate(&self) -> Result<WasmShard, EngineError> {
        // Deny by default: no preopens, no network, no env, no args, no stdio.
        let wasi = WasiCtxBuilder::new().build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .instances(4)
            .build();
        let mut store = Store::new(
            engine(),
            ShardState {
                wasi,
                table: ResourceTable::new(),
                limits,
            },
        );
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.limits.deadline_ticks());
        let bindings = self.pre.instantiate(&mut store).map_err(classify)?;
        Ok(WasmShard {
            store,
            bindings,
            deadline_ticks: self.limits.deadline_ticks(),
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }
}

fn shard_error(e: wit::ShardError) -> EngineError {
    match e {
        wit::ShardError::Config(m) => EngineError::Config(m),
        wit::ShardError::State(m) => EngineError::State(m),
    }
}

/// Sorts a wasmtime error into a deadline, a trap (instance unusable), or a load failure.
fn classify(e: wasmtime::Error) -> EngineError {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => EngineError::Deadline,
        Some(_) => EngineError::Trap(format!("{e:#}")),
        // A host error during a call (e.g. a resource limit) also leaves the instance unusable.
        None => EngineError::Trap(format!("{e:#}")),
    }
}

impl EngineFactory for WasmFactory {
    fn create(&self, seed: u64) -> Result<Box<dyn ShardEngine>, EngineError> {
        let mut shard = self.instantiate()?;
        let json = self.tracker_json.clone();
        shard
            .call(|b, s| b.meshcdn_tracker_shard().call_init(s, &json, seed))?
            .map_err(shard_error)?;
        Ok(Box::new(shard))
    }

    fn restore(&self, state: &[u8]) -> Result<Box<dyn ShardEngine>, EngineError> {
        let mut shard = self.instantiate()?;
        // `init` first: it sets what the component keeps beside the tracker (the heap
        // high-water mark); the imported state then replaces the empty tracker it made.
        let json = self.tracker_json.clone();
        shard
            .call(|b, s| b.meshcdn_tracker_shard().call_init(s, &json, 0))?
            .map_err(shard_error)?;
        shard
            .call(|b, s| b.meshcdn_tracker_shard().call_import_state(s, state))?
            .map_err(shard_error)?;
        Ok(Box::new(shard))
    }

    fn describe(&self) -> String {
        format!("wasm tracker-shard {}", self.version)
    }
}

pub struct WasmShard {
    store: Store<ShardState>,
    bindings: bindings::TrackerShard,
    deadline_ticks: u64,
}

impl WasmShard {
    fn call<R>(
        &mut self,
        f: impl FnOnce(&bindings::TrackerShard, &mut Store<ShardState>) -> wasmtime::Result<R>,
    ) -> Result<R, EngineError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        f(&self.bindings, &mut self.store).map_err(classify)
    }
}

fn to_wit(event: Event) -> wit::Event {
    match event {
        Event::Opened {
            conn,
            facts,
            admission,
        } => wit::Event::Opened(wit::Opened {
            conn,
            facts: wit::NetworkFacts {
                asn: facts.asn,
                country: facts.country,
                region: facts.region,
                continent: facts.continent,
            },
            admission: match admission {
                meshcdn_tracker::Admission::Open => wit::Admission::Open,
                meshcdn_tracker::Admission::Token(g) => wit::Admission::Token(wit::SwarmGrant {
                    content_prefix: g.content_prefix.to_vec(),
                    not_before_ms: g.not_before_ms,
                    expires_at_ms: g.expires_at_ms,
                }),
            },
        }),
        Event::Message { conn, text } => wit::Event::Message(wit::Message { conn, text }),
        Event::Closed(conn) => wit::Event::Closed(conn),
    }
}

fn from_wit(out: Vec<wit::Outbound>) -> Vec<Outbound> {
    out.into_iter()
        .map(|o| Outbound {
            conn: o.conn,
            text: o.text,
        })
        .collect()
}

impl ShardEngine for WasmShard {
    fn handle(&mut self, now_ms: u64, events: Vec<Event>) -> Result<Vec<Outbound>, EngineError> {
        let events: Vec<wit::Event> = events.into_iter().map(to_wit).collect();
        self.call(|b, s| b.meshcdn_tracker_shard().call_handle(s, now_ms, &events))
            .map(from_wit)
    }

    fn expire(&mut self, now_ms: u64) -> Result<Vec<Outbound>, EngineError> {
        self.call(|b, s| b.meshcdn_tracker_shard().call_expire(s, now_ms))
            .map(from_wit)
    }

    fn stats(&mut self) -> Result<TrackerStats, EngineError> {
        // `stats` returns the guest tracker's `TrackerStats` as JSON (wit/tracker.wit); read back
        // with the same type, so host and guest agree on every field by construction.
        let json = self.call(|b, s| b.meshcdn_tracker_shard().call_stats(s))?;
        serde_json::from_str(&json)
            .map_err(|e| EngineError::Trap(format!("guest stats are not TrackerStats JSON: {e}")))
    }

    fn export_state(&mut self) -> Result<Vec<u8>, EngineError> {
        self.call(|b, s| b.meshcdn_tracker_shard().call_export_state(s))
    }
}
