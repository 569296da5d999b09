//! The stats snapshot behind `/metrics`, `/stats` and `/health/ready`: one stats round over every
//! shard at most every `ops.stats_refresh_ms`, however many requests arrive. A request finds the
//! snapshot fresh and uses it, or takes the next one while later requests wait for it; the
//! round runs in a task of its own, so a client that goes away mid-round does not make the
//! next request start another.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use meshcdn_tracker::TrackerStats;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::AppState;

/// How long a stats round waits for the shards; one that has not answered by then is reported
/// as not answering (readiness fails).
const ROUND_DEADLINE: Duration = Duration::from_secs(2);

/// One stats round.
pub(super) struct Snapshot {
    taken: Instant,
    /// Every shard answered within [`ROUND_DEADLINE`]; `tracker` is their merged stats.
    pub(super) tracker: Option<TrackerStats>,
    /// `tracker` as JSON, serialized on the first `/stats` request of this snapshot.
    json: OnceLock<Bytes>,
}

impl Snapshot {
    pub(super) fn shards_answering(&self) -> bool {
        self.tracker.is_some()
    }

    /// The merged stats as JSON (`None` when a shard did not answer).
    pub(super) fn json(&self) -> Option<Bytes> {
        let tracker = self.tracker.as_ref()?;
        Some(
            self.json
                .get_or_init(|| {
                    Bytes::from(serde_json::to_vec(tracker).expect("TrackerStats serializes"))
                })
                .clone(),
        )
    }
}

pub(super) struct StatsCache {
    every: Duration,
    last: Arc<Mutex<Option<Arc<Snapshot>>>>,
}

impl StatsCache {
    pub(super) fn new(every: Duration) -> Self {
        Self {
            every,
            last: Arc::default(),
        }
    }

    /// The current snapshot, taken now if the last one is older than the refresh period.
    pub(super) async fn get(&self, app: &Arc<AppState>) -> Arc<Snapshot> {
        let mut last = self.last.clone().lock_owned().await;
        if let Some(snapshot) = last.as_ref()
            && snapshot.taken.elapsed() < self.every
        {
            return snapshot.clone();
        }
        let app = app.clone();
        let round = tokio::spawn(async move {
            let snapshot = Arc::new(take(&app).await);
            *last = Some(snapshot.clone());
            snapshot
        });
        match round.await {
            Ok(snapshot) => snapshot,
            // Only if the round panicked (the next request takes another).
            Err(e) => {
                tracing::warn!(error = %e, "stats round failed");
                Arc::new(Snapshot {
                    taken: Instant::now(),
                    tracker: None,
                    json: OnceLock::new(),
                })
            }
        }
    }
}

async fn take(app: &AppState) -> Snapshot {
    app.metrics.stats_rounds.fetch_add(1, Relaxed);
    let taken = Instant::now();
    let tracker = match tokio::time::timeout(ROUND_DEADLINE, app.pool.stats()).await {
        Ok(Ok(stats)) => Some(stats),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "shard stats unavailable");
            None
        }
        Err(_) => {
            tracing::warn!("shard stats not answered within {ROUND_DEADLINE:?}");
            None
        }
    };
    Snapshot {
        taken,
        tracker,
        json: OnceLock::new(),
    }
}
