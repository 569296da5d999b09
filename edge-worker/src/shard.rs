//! Shards: actors on their own OS threads, each owning one engine instance (for wasm: one
//! `Store` and instance). Swarms map to shards by info_hash; a shard drains its queue into one
//! batched call, then hands each outbound message to its connection's [`Outbox`].

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use meshcdn_tracker::protocol::outgoing::restart_notice;
use meshcdn_tracker::{Admission, ConnId, InfoHash, NetworkFacts, TrackerStats};
use tokio::sync::oneshot;

use crate::engine::{EngineFactory, Event, ShardEngine};
use crate::error::EngineError;
use crate::metrics::Metrics;
use crate::outbox::{CloseOrder, Outbox};

/// Events taken into one call, at most (bounds call time and the outbound burst).
const MAX_BATCH: usize = 512;
/// How long a shard waits for the other shards to prepare a hot upgrade.
const RELOAD_DECISION_TIMEOUT: Duration = Duration::from_secs(30);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

enum Cmd {
    Open {
        conn: ConnId,
        outbox: Arc<Outbox>,
        facts: NetworkFacts,
        admission: Admission,
    },
    Message {
        conn: ConnId,
        text: String,
    },
    Close {
        conn: ConnId,
    },
    Stats(oneshot::Sender<Result<TrackerStats, EngineError>>),
    Reload {
        factory: Arc<dyn EngineFactory>,
        prepared: Sender<Result<(), EngineError>>,
        decision: Receiver<bool>,
    },
    Shutdown,
}

/// Messages sent to one shard and not taken yet, and the connections waiting for it to drop
/// under the limit (see [`ShardPool::poll_room`]).
#[derive(Debug, Default)]
pub struct Backlog {
    queued: AtomicUsize,
    waiters: Mutex<Vec<Waker>>,
}

impl Backlog {
    fn waiters(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        // A list of wakers cannot be left inconsistent by a panic.
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The shard took `n` messages: wake the waiting connections once there is room.
    fn taken(&self, n: usize, limit: usize) {
        if n == 0 {
            return;
        }
        let left = self.queued.fetch_sub(n, Release) - n;
        if left < limit {
            let woken = std::mem::take(&mut *self.waiters());
            for w in woken {
                w.wake();
            }
        }
    }
}

struct Shard {
    index: usize,
    rx: Receiver<Cmd>,
    backlog: Arc<Backlog>,
    backlog_limit: usize,
    factory: Arc<dyn EngineFactory>,
    engine: Option<Box<dyn ShardEngine>>,
    conns: HashMap<ConnId, Arc<Outbox>>,
    metrics: Arc<Metrics>,
    expire_interval: Duration,
}

/// A tracker seed nobody can guess: it keys the tracker's hash maps of client-chosen ids.
/// std's `RandomState` takes its keys from the OS's randomness (a fresh one per call).
fn seed(index: usize) -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(index)
}

impl Shard {
    fn run(mut self) {
        let mut next_expire = Instant::now() + self.expire_interval;
        loop {
            let first = match self.rx.recv_deadline(next_expire) {
                Ok(cmd) => cmd,
                Err(RecvTimeoutError::Timeout) => {
                    self.expire();
                    next_expire = Instant::now() + self.expire_interval;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut events = Vec::new();
            let mut controls = Vec::new();
            let mut closed = Vec::new();
            let mut messages = 0;
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Cmd::Open {
                        conn,
                        outbox,
                        facts,
                        admission,
                    } => {
                        self.conns.insert(conn, outbox);
                        events.push(Event::Opened {
                            conn,
                            facts,
                            admission,
                        });
                    }
                    Cmd::Message { conn, text } => {
                        messages += 1;
                        events.push(Event::Message { conn, text });
                    }
                    Cmd::Close { conn } => {
                        closed.push(conn);
                        events.push(Event::Closed(conn));
                    }
                    control => controls.push(control),
                }
                if events.len() < MAX_BATCH && controls.is_empty() {
                    next = self.rx.try_recv().ok();
                }
            }
            self.backlog.taken(messages, self.backlog_limit);
            if !events.is_empty() {
                self.call(|engine, now| engine.handle(now, events));
            }
            for conn in closed {
                self.conns.remove(&conn);
            }
            for control in controls {
                match control {
                    Cmd::Stats(reply) => {
                        self.metrics.shard_stats_calls.fetch_add(1, Relaxed);
                        let stats = match self.engine() {
                            Ok(engine) => engine.stats(),
                            Err(e) => Err(e),
                        };
                        if let Err(e) = &stats
                            && e.is_fatal()
                        {
                            self.restart(e);
                        }
                        let _ = reply.send(stats);
                    }
                    Cmd::Reload {
                        factory,
                        prepared,
                        decision,
                    } => self.reload(factory, prepared, decision),
                    Cmd::Shutdown => return,
                    _ => unreachable!("events are not controls"),
                }
            }
            if Instant::now() >= next_expire {
                self.expire();
                next_expire = Instant::now() + self.expire_interval;
            }
        }
    }

    fn engine(&mut self) -> Result<&mut Box<dyn ShardEngine>, EngineError> {
        if self.engine.is_none() {
            self.engine = Some(self.factory.create(seed(self.index))?);
        }
        Ok(self.engine.as_mut().expect("just set"))
    }

    fn expire(&mut self) {
        self.call(|engine, now| engine.expire(now));
    }

    /// One timed call into the engine; dispatches its output or replaces a failed instance.
    fn call(
        &mut self,
        f: impl FnOnce(&mut dyn ShardEngine, u64) -> Result<Vec<meshcdn_tracker::Outbound>, EngineError>,
    ) {
        let engine = match self.engine() {
            Ok(engine) => engine,
            Err(e) => {
                tracing::error!(shard = self.index, error = %e, "shard engine unavailable");
                return;
            }
        };
        let started = Instant::now();
        let result = f(engine.as_mut(), now_ms());
        self.metrics.observe_call(started.elapsed());
        match result {
            Ok(out) => self.dispatch(out),
            Err(e) => self.restart(&e),
        }
    }

    fn dispatch(&self, out: Vec<meshcdn_tracker::Outbound>) {
        for o in out {
            if let Some(outbox) = self.conns.get(&o.conn) {
                self.metrics
                    .pushed(outbox.push(o.text, &self.metrics.queued));
            }
        }
    }

    /// The instance is lost: tell its peers (they reconnect and re-announce) and start afresh.
    fn restart(&mut self, error: &EngineError) {
        self.metrics.shard_restarts.fetch_add(1, Relaxed);
        tracing::error!(shard = self.index, %error, peers = self.conns.len(), "shard failed; re-instantiating");
        // The reference client treats an unexpected reply as a socket error, reconnects and
        // announces again.
        let notice = restart_notice();
        for (_, outbox) in self.conns.drain() {
            outbox.push(notice.clone(), &self.metrics.queued);
            let _ = outbox.close(CloseOrder::ShardRestarted);
        }
        self.engine = None;
        if let Err(e) = self.engine() {
            tracing::error!(shard = self.index, error = %e, "shard could not be re-instantiated; will retry");
        }
    }

    /// Hot upgrade: export, let the new version import, wait for every shard to agree, swap.
    fn reload(
        &mut self,
        factory: Arc<dyn EngineFactory>,
        prepared: Sender<Result<(), EngineError>>,
        decision: Receiver<bool>,
    ) {
        let exported = match self.engine() {
            Ok(engine) => engine.export_state(),
            Err(e) => Err(e),
        };
        let candidate = exported.clone().and_then(|state| factory.restore(&state));
        let ok = candidate.as_ref().map(|_| ()).map_err(Clone::clone);
        let _ = prepared.send(ok);
        if let Err(e) = &exported
            && e.is_fatal()
        {
            self.restart(e);
        }
        let Ok(candidate) = candidate else { return };
        if decision.recv_timeout(RELOAD_DECISION_TIMEOUT) == Ok(true) {
            tracing::info!(shard = self.index, version = %factory.describe(), "shard upgraded");
            self.engine = Some(candidate);
            self.factory = factory;
        }
    }
}

/// The shard (of `shards`) that owns `info_hash`'s swarm, under the host's hash `key`.
fn shard_index(info_hash: &InfoHash, shards: usize, key: &RandomState) -> usize {
    // SipHash keyed at random per process: info_hashes are chosen by clients, and with a known
    // key they could pick ids that all land on one shard (only the content part is pinned by a
    // token). The mapping lives as long as the pool; a restarted host starts with empty shards.
    let mut h = key.build_hasher();
    info_hash.0.hash(&mut h);
    (h.finish() % shards.max(1) as u64) as usize
}

/// The shards of one host.
pub struct ShardPool {
    senders: Vec<Sender<Cmd>>,
    backlogs: Vec<Arc<Backlog>>,
    backlog_limit: usize,
    /// The key of [`shard_index`], drawn at start.
    hash_key: RandomState,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    current: std::sync::RwLock<Arc<dyn EngineFactory>>,
    reload_lock: tokio::sync::Mutex<()>,
}

impl ShardPool {
    /// Starts `count` shards, each with a fresh instance from `factory`; connections pause
    /// reading while a shard has `backlog_limit` messages waiting (see [`Self::poll_room`]).
    pub fn start(
        count: usize,
        factory: Arc<dyn EngineFactory>,
        metrics: Arc<Metrics>,
        expire_interval: Duration,
        backlog_limit: usize,
    ) -> Result<Self, EngineError> {
        let mut senders = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        let mut backlogs = Vec::with_capacity(count);
        let backlog_limit = backlog_limit.max(1);
        for index in 0..count {
            let engine = factory.create(seed(index))?;
            let (tx, rx) = crossbeam_channel::unbounded();
            let backlog = Arc::new(Backlog::default());
            backlogs.push(backlog.clone());
            let shard = Shard {
                index,
                rx,
                backlog,
                backlog_limit,
                factory: factory.clone(),
                engine: Some(engine),
                conns: HashMap::new(),
                metrics: metrics.clone(),
                expire_interval,
            };
            let thread = std::thread::Builder::new()
                .name(format!("shard-{index}"))
                .spawn(move || shard.run())
                .map_err(|e| EngineError::Load(format!("cannot spawn shard thread: {e}")))?;
            senders.push(tx);
            threads.push(thread);
        }
        Ok(Self {
            senders,
            backlogs,
            backlog_limit,
            hash_key: RandomState::new(),
            threads: std::sync::Mutex::new(threads),
            current: std::sync::RwLock::new(factory),
            reload_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn len(&self) -> usize {
        self.senders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    /// The shard that owns `info_hash`'s swarm.
    pub fn shard_of(&self, info_hash: &InfoHash) -> usize {
        shard_index(info_hash, self.senders.len(), &self.hash_key)
    }

    pub fn describe(&self) -> String {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .describe()
    }

    fn send(&self, shard: usize, cmd: Cmd) {
        // A shard thread only stops at shutdown; then there is nobody left to tell.
        let _ = self.senders[shard].send(cmd);
    }

    pub fn open(
        &self,
        shard: usize,
        conn: ConnId,
        outbox: Arc<Outbox>,
        facts: NetworkFacts,
        admission: Admission,
    ) {
        self.send(
            shard,
            Cmd::Open {
                conn,
                outbox,
                facts,
                admission,
            },
        );
    }

    pub fn message(&self, shard: usize, conn: ConnId, text: String) {
        self.backlogs[shard].queued.fetch_add(1, Relaxed);
        self.send(shard, Cmd::Message { conn, text });
    }

    /// Ready while every shard has room for more messages; otherwise registers the task to be
    /// woken when the full ones have taken some. A connection reads its socket only when this
    /// is ready, so a shard that falls behind slows its senders down (through TCP) instead of
    /// queueing without bound.
    pub fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        for backlog in &self.backlogs {
            if backlog.queued.load(Acquire) >= self.backlog_limit {
                let mut waiters = backlog.waiters();
                // Checked again under the lock: the shard may have made room in between.
                if backlog.queued.load(Acquire) >= self.backlog_limit {
                    waiters.push(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(())
    }

    /// Messages waiting for the shards, summed (for `/metrics`).
    pub fn backlog(&self) -> usize {
        self.backlogs.iter().map(|b| b.queued.load(Relaxed)).sum()
    }

    pub fn close(&self, shard: usize, conn: ConnId) {
        self.send(shard, Cmd::Close { conn });
    }

    /// Each shard's tracker stats, in shard order.
    pub async fn shard_stats(&self) -> Vec<Result<TrackerStats, EngineError>> {
        let mut waiting = Vec::with_capacity(self.senders.len());
        for shard in 0..self.senders.len() {
            let (tx, rx) = oneshot::channel();
            self.send(shard, Cmd::Stats(tx));
            waiting.push(rx);
        }
        let mut out = Vec::with_capacity(waiting.len());
        for rx in waiting {
            out.push(rx.await.unwrap_or(Err(EngineError::Stopped)));
        }
        out
    }

    /// All shards' stats merged into one (swarms concatenated, numbers summed).
    pub async fn stats(&self) -> Result<TrackerStats, EngineError> {
        let mut merged: Option<TrackerStats> = None;
        for stats in self.shard_stats().await {
            let stats = stats?;
            match &mut merged {
                None => merged = Some(stats),
                Some(m) => *m += stats,
            }
        }
        let mut merged = merged.ok_or(EngineError::NoShards)?;
        merged.sort_swarms();
        Ok(merged)
    }

    /// Hot upgrade of every shard to `factory`, all or nothing: each shard exports its state and
    /// the new version imports it; only when every shard succeeded do they switch.
    pub async fn reload(&self, factory: Arc<dyn EngineFactory>) -> Result<(), EngineError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let (prepared_tx, prepared_rx) = crossbeam_channel::unbounded();
        let mut decisions = Vec::with_capacity(self.senders.len());
        for shard in 0..self.senders.len() {
            let (tx, rx) = crossbeam_channel::bounded(1);
            decisions.push(tx);
            self.send(
                shard,
                Cmd::Reload {
                    factory: factory.clone(),
                    prepared: prepared_tx.clone(),
                    decision: rx,
                },
            );
        }
        drop(prepared_tx);
        let count = self.senders.len();
        let results = tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|_| {
                    prepared_rx
                        .recv_timeout(RELOAD_DECISION_TIMEOUT)
                        .unwrap_or_else(|_| {
                            Err(EngineError::State("a shard did not prepare in time".into()))
                        })
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| EngineError::State(e.to_string()))?;
        let verdict = results
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), Err);
        for tx in decisions {
            let _ = tx.send(verdict.is_ok());
        }
        if verdict.is_ok() {
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = factory;
        }
        verdict
    }

    /// Stops every shard thread (after it finished its current batch).
    pub fn shutdown(&self) {
        for shard in 0..self.senders.len() {
            self.send(shard, Cmd::Shutdown);
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::native::NativeFactory;

    fn pool(count: usize) -> ShardPool {
        let factory = Arc::new(NativeFactory::new("{}").unwrap());
        let metrics = Arc::new(Metrics::default());
        ShardPool::start(count, factory, metrics, Duration::from_secs(60), 16).unwrap()
    }

    #[tokio::test]
    async fn a_pool_without_shards_says_so() {
        assert!(matches!(pool(0).stats().await, Err(EngineError::NoShards)));
    }

    #[tokio::test]
    async fn a_stopped_shard_answers_stopped() {
        let pool = pool(2);
        assert!(pool.stats().await.is_ok());
        pool.shutdown();
        let answers = pool.shard_stats().await;
        assert_eq!(answers.len(), 2);
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Err(EngineError::Stopped)))
        );
        assert!(matches!(pool.stats().await, Err(EngineError::Stopped)));
    }
}
