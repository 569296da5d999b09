//! Operations endpoints: `/health`, `/metrics` (Prometheus text) and `/stats` (tracker JSON).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use meshcdn_tracker::TrackerStats;

use super::AppState;

pub(super) async fn health(State(app): State<Arc<AppState>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "engine": app.pool.describe(),
        "shards": app.pool.len(),
        "connections": app.metrics.connections.load(Relaxed),
    });
    axum::Json(body).into_response()
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
    let text = app
        .metrics
        .render(&tracker, app.pool.len(), &app.pool.describe());
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
