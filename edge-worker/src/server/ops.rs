//! Operations endpoints: `/health`, `/metrics` (Prometheus text) and `/stats` (tracker JSON).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

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

async fn merged_stats_json(app: &AppState) -> serde_json::Value {
    match app.pool.stats().await {
        Ok(s) => serde_json::to_value(s).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "shard stats unavailable");
            serde_json::Value::Null
        }
    }
}

pub(super) async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let tracker = merged_stats_json(&app).await;
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
