//! Operations endpoints: `/health`, `/health/live`, `/health/ready` (see [`crate::lifecycle`]),
//! `/metrics` (Prometheus text) and `/stats` (tracker JSON).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshcdn_tracker::TrackerStats;

use super::AppState;
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
pub(super) async fn health_ready(State(app): State<Arc<AppState>>) -> Response {
    let shards = tokio::time::timeout(Duration::from_secs(2), app.pool.shard_stats()).await;
    let shards_answering = shards.is_ok_and(|all| all.iter().all(Result::is_ok));
    let readiness = Readiness::judge(
        app.lifecycle.is_draining(),
        shards_answering,
        app.gate.keys_loaded(),
    );
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(readiness)).into_response()
}

/// The merged tracker stats; zeros (logged) when a shard cannot answer, so `/metrics` still
/// serves the host's own metrics.
async fn merged_stats(app: &AppState) -> TrackerStats {
    match app.pool.stats().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "shard stats unavailable");
            TrackerStats::default()
        }
    }
}

pub(super) async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let tracker = merged_stats(&app).await;
    let mut text = app
        .metrics
        .render(&tracker, app.pool.len(), &app.pool.describe());
    let _ = std::fmt::Write::write_fmt(
        &mut text,
        format_args!(
            "# HELP meshcdn_edge_shard_backlog Messages waiting for the shards.\n# TYPE meshcdn_edge_shard_backlog gauge\nmeshcdn_edge_shard_backlog {}\n",
            app.pool.backlog()
        ),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub(super) async fn stats(State(app): State<Arc<AppState>>) -> Response {
    match app.pool.stats().await {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "shard stats unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "stats unavailable\n").into_response()
        }
    }
}
