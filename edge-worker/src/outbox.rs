//! Per-connection outbound queue, filled by shard threads and drained by the connection's task.
//!
//! Deliberately small (no preallocated channel blocks): an idle connection costs a few dozen
//! bytes here, which matters at tens of thousands of peers per host.
//!
//! Bounded twice: per connection by messages and bytes (`limits.max_queued_messages`,
//! `limits.max_queued_bytes`), and host-wide by bytes ([`QueueBudget`],
//! `limits.max_total_queued_bytes`). A message's bytes count from when it is queued until it is
//! written to the socket, so a reader stuck in a write holds its budget.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

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
    /// The host's outbound memory budget is spent and this reader is behind: reconnect later.
    HostBudget,
    /// The connection task has ended (nothing is sent any more).
    Gone,
}

impl CloseOrder {
    pub fn code(self) -> u16 {
        match self {
            CloseOrder::Idle => 1000,
            CloseOrder::Overflow => 1008,
            CloseOrder::ShardRestarted => 1012,
            CloseOrder::Draining => 1001,
            CloseOrder::HostBudget => 1013,
            CloseOrder::Gone => 1001,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseOrder::Idle => "idle timeout",
            CloseOrder::Overflow => "outbound queue overflow",
            CloseOrder::ShardRestarted => "tracker shard restarted",
            CloseOrder::Draining => "edge host draining; use another tracker",
            CloseOrder::HostBudget => "edge host over its outbound memory budget; try again later",
            CloseOrder::Gone => "",
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

/// Bytes queued to all connections of a host and not written yet, against
/// `limits.max_total_queued_bytes` (shared by every [`Outbox`] push; also the gauges
/// `meshcdn_edge_queued_bytes` and `meshcdn_edge_queued_bytes_peak`).
#[derive(Debug)]
pub struct QueueBudget {
    held: AtomicUsize,
    peak: AtomicUsize,
    limit: AtomicUsize,
}

impl Default for QueueBudget {
    fn default() -> Self {
        Self {
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            limit: AtomicUsize::new(usize::MAX),
        }
    }
}

impl QueueBudget {
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes, Relaxed);
    }

    /// Takes `n` bytes of the budget, or none if that would pass the limit.
    fn reserve(&self, n: usize) -> bool {
        let limit = self.limit.load(Relaxed);
        let taken = self.held.fetch_update(Relaxed, Relaxed, |held| {
            held.checked_add(n).filter(|&total| total <= limit)
        });
        match taken {
            Ok(before) => {
                self.peak.fetch_max(before + n, Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    fn release(&self, n: usize) {
        if n > 0 {
            self.held.fetch_sub(n, Relaxed);
        }
    }

    /// Bytes queued and not written yet, host-wide.
    pub fn held(&self) -> usize {
        self.held.load(Relaxed)
    }

    /// The most [`Self::held`] has been since the host started.
    pub fn peak(&self) -> usize {
        self.peak.load(Relaxed)
    }
}

/// The per-connection bounds of an [`Outbox`].
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    /// Messages queued, at most (`limits.max_queued_messages`).
    pub messages: usize,
    /// Bytes queued or being written, at most (`limits.max_queued_bytes`); an empty queue always
    /// takes one message, so one message larger than this still goes out.
    pub bytes: usize,
    pub overflow: Overflow,
}

impl OutboxLimits {
    /// At most `messages` messages, no byte bound, closing on overflow.
    pub fn messages(messages: usize) -> Self {
        Self {
            messages,
            bytes: usize::MAX,
            overflow: Overflow::Close,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    queue: Vec<String>,
    /// Bytes of `queue` plus those taken and not reported written yet.
    bytes: u32,
    close: Option<CloseOrder>,
    /// Here rather than beside `cap`: it fits the padding (the outbox stays at 80 bytes).
    overflow: Overflow,
}

impl Inner {
    /// Drops what is queued (not what is being written); returns its bytes.
    fn clear_queue(&mut self) -> usize {
        let freed: usize = self.queue.iter().map(String::len).sum();
        self.queue = Vec::new();
        self.bytes -= freed as u32;
        freed
    }
}

#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    /// The connection task, woken when there is something to send (lighter than a `Notify`:
    /// nothing of it lives in the task while it waits).
    waker: AtomicWaker,
    cap: u32,
    max_bytes: u32,
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
    /// The host's budget is spent and this connection is behind: it is being closed (1013).
    OverBudget,
    /// The host's budget is spent: this message was dropped.
    BudgetDropped,
    /// Already closing: dropped.
    Closed,
}

impl Outbox {
    /// An outbox within `limits` (counts beyond `u32::MAX` are treated as `u32::MAX`).
    pub fn new(limits: OutboxLimits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                overflow: limits.overflow,
                ..Inner::default()
            }),
            waker: AtomicWaker::new(),
            cap: u32::try_from(limits.messages).unwrap_or(u32::MAX),
            // Below u32::MAX so that one more message of a frame's size still fits the count.
            max_bytes: u32::try_from(limits.bytes)
                .unwrap_or(u32::MAX)
                .min(u32::MAX / 2),
            last_active_ms: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `text`, within this connection's bounds and the host's `budget`.
    pub fn push(&self, text: String, budget: &QueueBudget) -> Pushed {
        let len = text.len();
        let mut inner = self.lock();
        if inner.close.is_some() {
            return Pushed::Closed;
        }
        // An empty queue always takes one message (a reply larger than the byte bound still
        // goes out); behind that, the bounds apply.
        let behind = !inner.queue.is_empty();
        let full = inner.queue.len() >= self.cap as usize
            || (behind && inner.bytes as usize + len > self.max_bytes as usize);
        if full {
            if inner.overflow == Overflow::Drop {
                return Pushed::Dropped;
            }
            return self.close_behind(inner, budget, CloseOrder::Overflow, Pushed::Overflow);
        }
        if len > u32::MAX as usize / 2 || !budget.reserve(len) {
            if behind && inner.overflow == Overflow::Close {
                return self.close_behind(
                    inner,
                    budget,
                    CloseOrder::HostBudget,
                    Pushed::OverBudget,
                );
            }
            return Pushed::BudgetDropped;
        }
        inner.queue.push(text);
        inner.bytes += len as u32;
        drop(inner);
        self.waker.wake();
        Pushed::Queued
    }

    /// Drops the queue (its bytes back to `budget`) and orders `order`.
    fn close_behind(
        &self,
        mut inner: std::sync::MutexGuard<'_, Inner>,
        budget: &QueueBudget,
        order: CloseOrder,
        pushed: Pushed,
    ) -> Pushed {
        budget.release(inner.clear_queue());
        inner.close = Some(order);
        drop(inner);
        self.waker.wake();
        pushed
    }

    /// `n` bytes of what [`Self::take`] gave were written to the socket: their budget is free.
    pub fn written(&self, n: usize, budget: &QueueBudget) {
        let mut inner = self.lock();
        let n = n.min(inner.bytes as usize);
        inner.bytes -= n as u32;
        drop(inner);
        budget.release(n);
    }

    /// The connection task has ended: frees every byte still held and refuses later messages.
    pub fn finish(&self, budget: &QueueBudget) {
        let mut inner = self.lock();
        let queued = inner.clear_queue();
        let held = queued + std::mem::take(&mut inner.bytes) as usize;
        inner.close.get_or_insert(CloseOrder::Gone);
        drop(inner);
        budget.release(held);
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

    /// Everything queued, and the close order if any. Its bytes stay counted until
    /// [`Self::written`] (or [`Self::finish`]).
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

    fn limits(messages: usize, bytes: usize, overflow: Overflow) -> OutboxLimits {
        OutboxLimits {
            messages,
            bytes,
            overflow,
        }
    }

    #[test]
    fn overflow_orders_a_close_and_drops_later_messages() {
        let budget = QueueBudget::default();
        let ob = Outbox::new(OutboxLimits::messages(2));
        assert_eq!(ob.push("a".into(), &budget), Pushed::Queued);
        assert_eq!(ob.push("b".into(), &budget), Pushed::Queued);
        assert_eq!(budget.held(), 2);
        assert_eq!(ob.push("c".into(), &budget), Pushed::Overflow);
        assert_eq!(ob.push("d".into(), &budget), Pushed::Closed);
        assert_eq!(budget.held(), 0, "the dropped queue gave its bytes back");
        let (queue, close) = ob.take();
        assert!(queue.is_empty());
        assert_eq!(close, Some(CloseOrder::Overflow));
        assert_eq!(CloseOrder::Overflow.code(), 1008);
    }

    #[test]
    fn a_dropping_outbox_keeps_what_it_holds_and_stays_open() {
        let budget = QueueBudget::default();
        let ob = Outbox::new(limits(2, usize::MAX, Overflow::Drop));
        assert_eq!(ob.push("a".into(), &budget), Pushed::Queued);
        assert_eq!(ob.push("b".into(), &budget), Pushed::Queued);
        assert_eq!(ob.push("c".into(), &budget), Pushed::Dropped);
        let (queue, close) = ob.take();
        assert_eq!(queue, ["a", "b"]);
        assert_eq!(close, None);
        assert_eq!(
            ob.push("d".into(), &budget),
            Pushed::Queued,
            "room again once taken"
        );
    }

    #[test]
    fn bytes_count_until_written_and_an_empty_queue_takes_one_message_of_any_size() {
        let budget = QueueBudget::default();
        let ob = Outbox::new(limits(100, 10, Overflow::Close));
        assert_eq!(
            ob.push("x".repeat(25), &budget),
            Pushed::Queued,
            "first one always"
        );
        let (queue, _) = ob.take();
        assert_eq!(budget.held(), 25, "taken is not written");
        // The queue is empty again: one more goes in, the next passes the byte bound.
        assert_eq!(ob.push("abcd".into(), &budget), Pushed::Queued);
        assert_eq!(ob.push("efgh".into(), &budget), Pushed::Overflow);
        assert_eq!(
            budget.held(),
            25,
            "the queued 4 bytes were dropped with the queue"
        );
        ob.written(queue[0].len(), &budget);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.peak(), 29);
    }

    #[test]
    fn the_host_budget_closes_connections_that_are_behind_and_drops_for_the_others() {
        let budget = QueueBudget::default();
        budget.set_limit(10);
        let behind = Outbox::new(limits(100, 1000, Overflow::Close));
        let fresh = Outbox::new(limits(100, 1000, Overflow::Close));
        assert_eq!(behind.push("123456".into(), &budget), Pushed::Queued);
        assert_eq!(fresh.push("1234".into(), &budget), Pushed::Queued);
        let _ = fresh.take();
        fresh.written(4, &budget);
        // 6 of 10 held: 6 more do not fit.
        assert_eq!(fresh.push("abcdef".into(), &budget), Pushed::BudgetDropped);
        assert_eq!(behind.push("abcdef".into(), &budget), Pushed::OverBudget);
        assert_eq!(budget.held(), 0);
        assert_eq!(behind.take().1, Some(CloseOrder::HostBudget));
        assert_eq!(CloseOrder::HostBudget.code(), 1013);
        assert_eq!(
            fresh.push("abcdef".into(), &budget),
            Pushed::Queued,
            "room again"
        );
    }

    #[test]
    fn a_finished_outbox_gives_back_everything_and_takes_nothing() {
        let budget = QueueBudget::default();
        let ob = Outbox::new(limits(100, 1000, Overflow::Close));
        ob.push("taken".into(), &budget);
        let _ = ob.take();
        ob.push("queued".into(), &budget);
        assert_eq!(budget.held(), 11);
        ob.finish(&budget);
        assert_eq!(budget.held(), 0);
        assert_eq!(ob.push("late".into(), &budget), Pushed::Closed);
        assert_eq!(budget.held(), 0);
    }
}
