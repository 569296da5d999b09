//! Per-host and per-connection limits: connection slots (`limits.max_connections`) and the
//! message rate limit (`limits.messages_per_sec`, `limits.message_burst`).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::AppState;

/// Holds one of `max_connections` slots; released on drop, also when an upgrade never happens.
pub(super) struct ConnSlot(pub(super) Arc<AppState>);

impl ConnSlot {
    pub(super) fn take(app: &Arc<AppState>) -> Option<Self> {
        let max = app.config.limits.max_connections as u64;
        let taken = app
            .metrics
            .connections
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1));
        taken.is_ok().then(|| Self(app.clone()))
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.metrics.connections.fetch_sub(1, Relaxed);
    }
}

/// Token bucket of one connection (its rate and burst are the host's, from the config). Eight
/// bytes: it sits in every connection's context.
pub(super) struct RateLimit {
    tokens: f32,
    /// Last refill, in the idle sweeper's milliseconds (wrapping; connections live far shorter
    /// than the 49 days a `u32` of milliseconds spans).
    last_ms: u32,
}

impl RateLimit {
    pub(super) fn new(burst: f32, now_ms: u64) -> Self {
        Self {
            tokens: burst,
            last_ms: now_ms as u32,
        }
    }

    pub(super) fn allow(&mut self, now_ms: u64, per_sec: f32, burst: f32) -> bool {
        let now_ms = now_ms as u32;
        let elapsed_ms = now_ms.wrapping_sub(self.last_ms);
        self.tokens = (self.tokens + elapsed_ms as f32 / 1000.0 * per_sec).min(burst);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_allows_a_burst_then_refills_at_the_rate_across_the_clock_wrap() {
        let start = u64::from(u32::MAX) - 500;
        let mut rate = RateLimit::new(3.0, start);
        assert!((0..3).all(|_| rate.allow(start, 5.0, 3.0)));
        assert!(!rate.allow(start, 5.0, 3.0), "burst spent");
        assert!(
            !rate.allow(start + 100, 5.0, 3.0),
            "half a token after 100 ms"
        );
        assert!(
            rate.allow(start + 200, 5.0, 3.0),
            "one token after 200 ms at 5/s"
        );
        // Past the u32 wrap of the millisecond clock, and capped at the burst.
        let later = start + 10_000;
        assert!((0..3).all(|_| rate.allow(later, 5.0, 3.0)));
        assert!(!rate.allow(later, 5.0, 3.0));
    }
}
