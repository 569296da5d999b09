//! Operations endpoints: `/health`, `/health/live`, `/health/ready` (see [`crate::lifecycle`]),
//! `/metrics` (Prometheus text) and `/stats` (tracker JSON, admin token). Whatever comes from the
//! shards is read from the stats snapshot ([`super::snapshot`]), not asked of them per request.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshcdn_tracker::TrackerStats;

use super::{AppState, admin};
use crate::lifecycle::Readiness;

pub(super) async fn health(State(app): State<Arc<AppState>>) -> Response {
    let draining = app.lifecycle.is_draining();
    let body = serde_json::json!({
        "status": if draining { "draining" } else { "ok" },
        "engine": app.pool.describe(),
        "shards": app.pool.len(),
        "connections": app.metrics.connections.load(Relaxed),
        "ready": !draining,
        "draining": draining,
    });
    axum::Json(body).into_response()
}

/// Liveness: the process serves HTTP (see [`crate::lifecycle`]).
pub(super) async fn health_live() -> Response {
    axum::Json(serde_json::json!({ "status": "live" })).into_response()
}

/// Readiness: every shard answers, keys are loaded, not draining (see [`crate::lifecycle`]).
/// Whether the shards answer comes from the stats snapshot ([`super::snapshot`]).
pub(super) async fn health_ready(State(app): State<Arc<AppState>>) -> Response {
    let snapshot = app.stats.get(&app).await;
    let readiness = Readiness::judge(
        app.lifecycle.is_draining(),
        snapshot.shards_answering(),
        app.gate.keys_loaded(),
    );
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(readiness)).into_response()
}

/// Prometheus text: the host's own counters as they are, the tracker's from the snapshot (zeros
/// when a shard did not answer, so the host's own metrics still serve). Behind the admin token
/// only with `ops.metrics_require_token`.
pub(super) async fn metrics(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if app.config.ops.metrics_require_token
        && let Err(refused) = admin::authorize(&app, &headers)
    {
        return refused;
    }
    let snapshot = app.stats.get(&app).await;
    let none = TrackerStats::default();
    let tracker = snapshot.tracker.as_ref().unwrap_or(&none);
    let mut text = app
        .metrics
        .render(tracker, app.pool.len(), &app.pool.describe());
    let _ = std::fmt::Write::write_fmt(
        &mut text,
        format_args!(
            "# HELP meshcdn_edge_shard_backlog Messages waiting for the shards.\n# TYPE meshcdn_edge_shard_backlog gauge\nmeshcdn_edge_shard_backlog {}\n",
            app.pool.backlog()
        ),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The merged tracker stats with every swarm id, from the snapshot: admin token required.
pub(super) async fn stats(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(refused) = admin::authorize(&app, &headers) {
        return refused;
    }
    match app.stats.get(&app).await.json() {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "stats unavailable\n").into_response(),
    }
}
