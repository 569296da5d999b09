//! Per-connection outbound queue, filled by shard threads and drained by the connection's task.
//!
//! Deliberately small (no preallocated channel blocks): an idle connection costs a few dozen
//! bytes here, which matters at tens of thousands of peers per host.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// A close the connection task must perform after sending what is queued (one byte: it sits in
/// every connection's outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOrder {
    /// Silent for the idle timeout.
    Idle,
    /// The outbound queue overflowed: a reader that stopped reading.
    Overflow,
    /// A shard holding one of its swarms was re-instantiated.
    ShardRestarted,
    /// The host is draining (shutting down): connect to another tracker.
    Draining,
}

impl CloseOrder {
    pub fn code(self) -> u16 {
        match self {
            CloseOrder::Idle => 1000,
            CloseOrder::Overflow => 1008,
            CloseOrder::ShardRestarted => 1012,
            CloseOrder::Draining => 1001,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseOrder::Idle => "idle timeout",
            CloseOrder::Overflow => "outbound queue overflow",
            CloseOrder::ShardRestarted => "tracker shard restarted",
            CloseOrder::Draining => "edge host draining; use another tracker",
        }
    }
}

/// What a full outbox does with one more message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    /// Closes the connection (1008): a reader that stopped reading is cut off.
    #[default]
    Close,
    /// Drops the message and keeps the connection (as aquatic_ws does): offers and replies to
    /// a reader that cannot keep up are lost, and it stays bounded.
    Drop,
}

#[derive(Debug, Default)]
struct Inner {
    queue: Vec<String>,
    close: Option<CloseOrder>,
}

#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    /// The connection task, woken when there is something to send (lighter than a `Notify`:
    /// nothing of it lives in the task while it waits).
    waker: AtomicWaker,
    cap: u32,
    overflow: Overflow,
    /// When the peer last sent a frame, in the [`crate::idle::IdleSweeper`]'s milliseconds.
    /// Kept here because the outbox is already shared with the sweeper's slab.
    last_active_ms: AtomicU64,
}

/// Result of [`Outbox::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The queue was full: the connection is being closed.
    Overflow,
    /// The queue was full: this message was dropped ([`Overflow::Drop`]).
    Dropped,
    /// Already closing: dropped.
    Closed,
}

impl Outbox {
    /// An outbox holding at most `cap` messages (beyond `u32::MAX` is treated as `u32::MAX`)
    /// that closes the connection when one more comes.
    pub fn new(cap: usize) -> Self {
        Self::with_overflow(cap, Overflow::Close)
    }

    /// An outbox holding at most `cap` messages that does `overflow` when one more comes.
    pub fn with_overflow(cap: usize, overflow: Overflow) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            waker: AtomicWaker::new(),
            cap: u32::try_from(cap).unwrap_or(u32::MAX),
            overflow,
            last_active_ms: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, text: String) -> Pushed {
        let mut inner = self.lock();
        if inner.close.is_some() {
            return Pushed::Closed;
        }
        if inner.queue.len() >= self.cap as usize {
            if self.overflow == Overflow::Drop {
                return Pushed::Dropped;
            }
            inner.queue.clear();
            inner.close = Some(CloseOrder::Overflow);
            drop(inner);
            self.waker.wake();
            return Pushed::Overflow;
        }
        inner.queue.push(text);
        drop(inner);
        self.waker.wake();
        Pushed::Queued
    }

    /// Sends what is queued, then closes (the first close order wins). Returns whether this order
    /// was the first.
    pub fn close(&self, order: CloseOrder) -> bool {
        let mut inner = self.lock();
        let first = inner.close.is_none();
        inner.close.get_or_insert(order);
        drop(inner);
        self.waker.wake();
        first
    }

    /// Records activity of the peer at `now_ms` (see [`crate::idle::IdleSweeper::now_ms`]).
    pub fn touch(&self, now_ms: u64) {
        self.last_active_ms.store(now_ms, Relaxed);
    }

    pub fn last_active_ms(&self) -> u64 {
        self.last_active_ms.load(Relaxed)
    }

    /// Everything queued, and the close order if any.
    pub fn take(&self) -> (Vec<String>, Option<CloseOrder>) {
        let mut inner = self.lock();
        let queue = std::mem::take(&mut inner.queue);
        (queue, inner.close)
    }

    /// Ready when something is queued or a close was ordered; otherwise wakes the task that
    /// polled it when that happens.
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.waker.register(cx.waker());
        let inner = self.lock();
        if inner.queue.is_empty() && inner.close.is_none() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection has one: keep it within a 112-byte allocation (with the `Arc` counts).
    #[test]
    fn an_outbox_stays_small() {
        assert!(
            std::mem::size_of::<Outbox>() <= 80,
            "{}",
            std::mem::size_of::<Outbox>()
        );
    }

    #[test]
    fn overflow_orders_a_close_and_drops_later_messages() {
        let ob = Outbox::new(2);
        assert_eq!(ob.push("a".into()), Pushed::Queued);
        assert_eq!(ob.push("b".into()), Pushed::Queued);
        assert_eq!(ob.push("c".into()), Pushed::Overflow);
        assert_eq!(ob.push("d".into()), Pushed::Closed);
        let (queue, close) = ob.take();
        assert!(queue.is_empty());
        assert_eq!(close, Some(CloseOrder::Overflow));
        assert_eq!(CloseOrder::Overflow.code(), 1008);
    }

    #[test]
    fn a_dropping_outbox_keeps_what_it_holds_and_stays_open() {
        let ob = Outbox::with_overflow(2, Overflow::Drop);
        assert_eq!(ob.push("a".into()), Pushed::Queued);
        assert_eq!(ob.push("b".into()), Pushed::Queued);
        assert_eq!(ob.push("c".into()), Pushed::Dropped);
        let (queue, close) = ob.take();
        assert_eq!(queue, ["a", "b"]);
        assert_eq!(close, None);
        assert_eq!(ob.push("d".into()), Pushed::Queued, "room again once taken");
    }
}
