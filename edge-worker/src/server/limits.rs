//! Per-host and per-connection limits: connection slots (`limits.max_connections`, and
//! `limits.max_connections_per_ip` per viewer address) and the message rate limit
//! (`limits.messages_per_sec`, `limits.message_burst`).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use super::AppState;
use crate::metrics::Reject;

/// Open WebSocket connections per viewer address. An IPv6 viewer counts by its /64 (one
/// subscriber's prefix: it holds more addresses than any limit), IPv4 by its address. Keys are
/// keyed hashes, so the table costs the same for either.
#[derive(Debug, Default)]
pub(super) struct IpSlots {
    key: RandomState,
    open: Mutex<HashMap<u64, u32>>,
}

impl IpSlots {
    pub(super) fn key_of(&self, ip: IpAddr) -> u64 {
        match ip.to_canonical() {
            IpAddr::V4(v4) => self.key.hash_one((4u8, u64::from(v4.to_bits()))),
            IpAddr::V6(v6) => self.key.hash_one((6u8, (v6.to_bits() >> 64) as u64)),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, u32>> {
        // Counts cannot be left inconsistent by a panic between two statements.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, key: u64, max: u32) -> bool {
        let mut open = self.open();
        let n = open.entry(key).or_insert(0);
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn give_back(&self, key: u64) {
        let mut open = self.open();
        if let Some(n) = open.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&key);
            }
        }
    }

    /// Addresses with a connection open.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open().len()
    }
}

/// Holds one of `max_connections` slots and one of its address's `max_connections_per_ip`;
/// released on drop, also when an upgrade never happens.
pub(super) struct ConnSlot {
    pub(super) app: Arc<AppState>,
    ip_key: u64,
}

impl ConnSlot {
    pub(super) fn take(app: &Arc<AppState>, ip: IpAddr) -> Result<Self, Reject> {
        let ip_key = app.ip_slots.key_of(ip);
        let per_ip = u32::try_from(app.config.limits.max_connections_per_ip).unwrap_or(u32::MAX);
        if !app.ip_slots.take(ip_key, per_ip) {
            return Err(Reject::IpLimit);
        }
        let max = app.config.limits.max_connections as u64;
        let taken = app
            .metrics
            .connections
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1));
        if taken.is_err() {
            app.ip_slots.give_back(ip_key);
            return Err(Reject::ConnectionLimit);
        }
        Ok(Self {
            app: app.clone(),
            ip_key,
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.app.metrics.connections.fetch_sub(1, Relaxed);
        self.app.ip_slots.give_back(self.ip_key);
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
    fn ip_slots_count_ipv4_by_address_and_ipv6_by_its_64() {
        let slots = IpSlots::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = slots.key_of(ip("192.0.2.1"));
        assert_eq!(
            a,
            slots.key_of(ip("::ffff:192.0.2.1")),
            "mapped IPv4 is IPv4"
        );
        assert_ne!(a, slots.key_of(ip("192.0.2.2")));
        let v6 = slots.key_of(ip("2001:db8:1:2::1"));
        assert_eq!(v6, slots.key_of(ip("2001:db8:1:2:ffff::9")), "same /64");
        assert_ne!(v6, slots.key_of(ip("2001:db8:1:3::1")));
        assert!(slots.take(a, 2) && slots.take(a, 2));
        assert!(!slots.take(a, 2), "third of two");
        assert!(slots.take(v6, 2), "another address has its own");
        slots.give_back(a);
        assert!(slots.take(a, 2), "given back");
        for _ in 0..2 {
            slots.give_back(a);
        }
        slots.give_back(v6);
        assert_eq!(slots.addresses(), 0, "no entry stays behind");
    }

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
