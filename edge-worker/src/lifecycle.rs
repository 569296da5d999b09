//! Readiness and graceful shutdown of an edge host: what Kubernetes probes and `SIGTERM` rely on.
//!
//! * `GET /health/live`: 200 while the process serves HTTP (liveness: restart it when this fails).
//! * `GET /health/ready`: 200 only when every shard answers (instantiated and not stuck), the
//!   token keys are loaded (or the host is open) and the host is not draining; otherwise 503 with
//!   the reasons (readiness: send viewers here or not).
//! * `GET /health`: as before (200 with engine, shards, connections), plus `ready` and `draining`.
//! * Drain ([`crate::EdgeHandle::drain`]; `meshcdn edge` on `SIGTERM` or `SIGINT`): readiness
//!   turns 503 and new tracker connections are refused (503); every connected peer gets the close
//!   code 1001 "going away", after which the browser client connects to the next tracker of its
//!   list (the placement's fallback node); the host waits until they are gone, at most the grace
//!   period (`shutdown_grace_secs`), then stops.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

/// Whether the host is draining (set once, never cleared).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// SeqCst with [`Self::begin_drain`]: a connection registered before checking this is seen
    /// by the drain's sweep, or sees the flag (see `announce` in the server).
    pub fn is_draining(&self) -> bool {
        self.draining.load(SeqCst)
    }

    /// Starts the drain; returns whether this call started it.
    pub fn begin_drain(&self) -> bool {
        !self.draining.swap(true, SeqCst)
    }
}

/// Body of `GET /health/ready` (and its status: 200 when `ready`, else 503).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub draining: bool,
    /// Every shard answered a stats call within the probe's deadline.
    pub shards_answering: bool,
    /// Token verification keys are loaded (always true for an open host).
    pub keys_loaded: bool,
    /// Why not ready (empty when ready).
    pub reasons: Vec<&'static str>,
}

impl Readiness {
    /// The verdict from what the probe observed.
    pub fn judge(draining: bool, shards_answering: bool, keys_loaded: bool) -> Self {
        let mut reasons = Vec::new();
        if draining {
            reasons.push("draining: reconnect to another tracker");
        }
        if !shards_answering {
            reasons.push("a tracker shard did not answer");
        }
        if !keys_loaded {
            reasons.push("no token verification keys loaded");
        }
        Self {
            ready: reasons.is_empty(),
            draining,
            shards_answering,
            keys_loaded,
            reasons,
        }
    }
}

/// What a drain did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    /// Connections told to reconnect elsewhere (close 1001).
    pub closed: usize,
    /// Connections still open when the grace period ended (0 = all left in time).
    pub remaining: u64,
    /// How long the drain waited for connections to leave.
    pub waited_ms: u64,
}

/// Waits until `gauge` reads 0 or `grace` has passed; returns the last reading. Polls every
/// 10 ms (a drain happens once per process life).
pub async fn wait_for_zero(gauge: &AtomicU64, grace: Duration) -> u64 {
    let deadline = Instant::now() + grace;
    loop {
        let left = gauge.load(Relaxed);
        if left == 0 || Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Resolves on `SIGTERM` (what Kubernetes, systemd and `docker stop` send) or `SIGINT` (Ctrl-C),
/// with the signal's name.
pub async fn terminated() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ready_only_when_serving_with_shards_and_keys() {
        assert_eq!(
            Readiness::judge(false, true, true),
            Readiness {
                ready: true,
                draining: false,
                shards_answering: true,
                keys_loaded: true,
                reasons: vec![],
            }
        );
        for (draining, shards, keys) in [
            (true, true, true),
            (false, false, true),
            (false, true, false),
            (true, false, false),
        ] {
            let r = Readiness::judge(draining, shards, keys);
            assert!(!r.ready, "{r:?}");
            let expected = usize::from(draining) + usize::from(!shards) + usize::from(!keys);
            assert_eq!(r.reasons.len(), expected, "{r:?}");
        }
    }

    #[test]
    fn the_drain_starts_once() {
        let l = Lifecycle::default();
        assert!(!l.is_draining());
        assert!(l.begin_drain());
        assert!(!l.begin_drain());
        assert!(l.is_draining());
    }

    #[tokio::test]
    async fn waiting_ends_at_zero_or_at_the_grace_period() {
        let gauge = Arc::new(AtomicU64::new(2));
        let g = gauge.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            g.store(0, Relaxed);
        });
        assert_eq!(wait_for_zero(&gauge, Duration::from_secs(5)).await, 0);
        gauge.store(3, Relaxed);
        let start = Instant::now();
        assert_eq!(wait_for_zero(&gauge, Duration::from_millis(100)).await, 3);
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
