//! One idle sweeper for the whole host instead of a timer per connection.
//!
//! A per-connection `tokio::time::Sleep` sits inline in every connection's task (and is
//! re-registered with the timer wheel on every frame). Here each connection only stores its
//! last-activity time in its [`Outbox`] (one atomic) and holds a slot in a slab; one task scans
//! the slab every `timeout / 8` (50 ms to 1 s) and orders the close of connections that have
//! been silent for `timeout`. The connection's own task then sends the close frame, as for any
//! other close order. A connection is closed between `timeout` and `timeout + period` after its
//! last frame.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::metrics::{Metrics, Reject};
use crate::outbox::{CloseOrder, Outbox};

#[derive(Default)]
struct Slab {
    entries: Vec<Option<Arc<Outbox>>>,
    free: Vec<u32>,
}

/// Key of a registered connection; give it back with [`IdleSweeper::deregister`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleKey(u32);

pub struct IdleSweeper {
    slab: Mutex<Slab>,
    epoch: Instant,
    timeout_ms: u64,
}

impl IdleSweeper {
    pub fn new(timeout: Duration) -> Self {
        Self {
            slab: Mutex::default(),
            epoch: Instant::now(),
            timeout_ms: timeout.as_millis().max(1) as u64,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slab> {
        // Every update leaves the slab consistent, so a poisoned lock is still usable.
        self.slab.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Milliseconds since the sweeper started: the clock of [`Outbox::touch`].
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// How often [`Self::sweep`] should run.
    pub fn period(&self) -> Duration {
        Duration::from_millis((self.timeout_ms / 8).clamp(50, 1000))
    }

    /// Starts watching `outbox`; its idle time counts from now.
    pub fn register(&self, outbox: Arc<Outbox>) -> IdleKey {
        outbox.touch(self.now_ms());
        let mut slab = self.lock();
        match slab.free.pop() {
            Some(i) => {
                slab.entries[i as usize] = Some(outbox);
                IdleKey(i)
            }
            None => {
                slab.entries.push(Some(outbox));
                IdleKey((slab.entries.len() - 1) as u32)
            }
        }
    }

    pub fn deregister(&self, key: IdleKey) {
        let mut slab = self.lock();
        if let Some(slot) = slab.entries.get_mut(key.0 as usize)
            && slot.take().is_some()
        {
            slab.free.push(key.0);
        }
    }

    /// Number of registered connections.
    pub fn len(&self) -> usize {
        let slab = self.lock();
        slab.entries.len() - slab.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Orders the close of every connection silent for the timeout at `now_ms`; returns how
    /// many were newly closed (a connection already closing is not counted again).
    pub fn sweep(&self, now_ms: u64, metrics: &Metrics) -> usize {
        let slab = self.lock();
        let mut closed = 0;
        for outbox in slab.entries.iter().flatten() {
            if now_ms.saturating_sub(outbox.last_active_ms()) >= self.timeout_ms
                && outbox.close(CloseOrder::Idle)
            {
                metrics.reject(Reject::Idle);
                closed += 1;
            }
        }
        closed
    }

    /// Orders every registered connection closed with `order` (a drain); returns how many were
    /// newly closed.
    pub fn close_all(&self, order: CloseOrder) -> usize {
        let slab = self.lock();
        slab.entries
            .iter()
            .flatten()
            .filter(|outbox| outbox.close(order))
            .count()
    }

    /// Runs [`Self::sweep`] every [`Self::period`] until the task is aborted.
    pub fn spawn(self: Arc<Self>, metrics: Arc<Metrics>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.period());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let closed = self.sweep(self.now_ms(), &metrics);
                if closed > 0 {
                    tracing::debug!(closed, "idle connections closed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_only_connections_silent_for_the_timeout_and_counts_each_once() {
        let sweeper = IdleSweeper::new(Duration::from_millis(1000));
        let metrics = Metrics::default();
        let quiet = Arc::new(Outbox::new(crate::outbox::OutboxLimits::messages(8)));
        let busy = Arc::new(Outbox::new(crate::outbox::OutboxLimits::messages(8)));
        sweeper.register(quiet.clone());
        sweeper.register(busy.clone());
        let t0 = quiet.last_active_ms();
        busy.touch(t0 + 600);
        assert_eq!(sweeper.sweep(t0 + 999, &metrics), 0);
        assert_eq!(sweeper.sweep(t0 + 1000, &metrics), 1);
        assert_eq!(quiet.take().1, Some(CloseOrder::Idle));
        assert_eq!(busy.take().1, None);
        // Already closing: not counted again.
        assert_eq!(sweeper.sweep(t0 + 1500, &metrics), 0);
        assert_eq!(sweeper.sweep(t0 + 1600, &metrics), 1);
        assert_eq!(metrics.rejects(Reject::Idle), 2);
    }

    #[test]
    fn close_all_orders_every_connection_closed_once() {
        let sweeper = IdleSweeper::new(Duration::from_secs(60));
        let outboxes: Vec<_> = (0..3)
            .map(|_| Arc::new(Outbox::new(crate::outbox::OutboxLimits::messages(4))))
            .collect();
        for o in &outboxes {
            sweeper.register(o.clone());
        }
        outboxes[1].close(CloseOrder::Overflow);
        assert_eq!(
            sweeper.close_all(CloseOrder::Draining),
            2,
            "one was closing already"
        );
        assert_eq!(outboxes[0].take().1, Some(CloseOrder::Draining));
        assert_eq!(
            outboxes[1].take().1,
            Some(CloseOrder::Overflow),
            "first order wins"
        );
        assert_eq!(sweeper.close_all(CloseOrder::Draining), 0);
        assert_eq!(CloseOrder::Draining.code(), 1001);
    }

    #[test]
    fn slots_are_reused_after_deregistering() {
        let sweeper = IdleSweeper::new(Duration::from_secs(1));
        let a = sweeper.register(Arc::new(Outbox::new(
            crate::outbox::OutboxLimits::messages(1),
        )));
        let b = sweeper.register(Arc::new(Outbox::new(
            crate::outbox::OutboxLimits::messages(1),
        )));
        sweeper.deregister(a);
        sweeper.deregister(a); // twice is harmless
        assert_eq!(sweeper.len(), 1);
        let c = sweeper.register(Arc::new(Outbox::new(
            crate::outbox::OutboxLimits::messages(1),
        )));
        assert_eq!(c, a);
        sweeper.deregister(b);
        sweeper.deregister(c);
        assert!(sweeper.is_empty());
        assert_eq!(sweeper.sweep(u64::MAX, &Metrics::default()), 0);
    }

    #[test]
    fn period_is_an_eighth_of_the_timeout_within_bounds() {
        assert_eq!(
            IdleSweeper::new(Duration::from_secs(1)).period(),
            Duration::from_millis(125)
        );
        assert_eq!(
            IdleSweeper::new(Duration::from_secs(300)).period(),
            Duration::from_secs(1)
        );
        assert_eq!(
            IdleSweeper::new(Duration::from_millis(80)).period(),
            Duration::from_millis(50)
        );
    }
}
