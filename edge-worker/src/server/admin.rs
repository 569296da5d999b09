//! The admin API: `POST /admin/reload` (bearer `admin_token`) and the hot upgrade behind it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::engine;
use crate::error::EdgeError;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReloadRequest {
    /// Path of the new component; the configured one (re-read) when absent.
    component: Option<PathBuf>,
}

pub(super) async fn admin_reload(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(expected) = &app.config.admin_token else {
        return (
            StatusCode::NOT_FOUND,
            "admin API disabled (no admin_token)\n",
        )
            .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, "admin token required\n").into_response();
    }
    let request: ReloadRequest = if body.is_empty() {
        ReloadRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("bad reload request: {e}\n"),
                )
                    .into_response();
            }
        }
    };
    match reload(&app, request.component).await {
        Ok(engine) => axum::Json(serde_json::json!({ "status": "reloaded", "engine": engine }))
            .into_response(),
        Err(e) => (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({ "status": "refused", "error": e.to_string() })),
        )
            .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) async fn reload(
    app: &Arc<AppState>,
    component: Option<PathBuf>,
) -> Result<String, EdgeError> {
    let mut config = app.config.clone();
    if component.is_some() {
        config.component = component;
    }
    let result = async {
        let factory = tokio::task::spawn_blocking(move || engine::factory(&config))
            .await?
            .map_err(EdgeError::Reload)?;
        let describe = factory.describe();
        app.pool.reload(factory).await.map_err(EdgeError::Reload)?;
        let _ = tokio::task::spawn_blocking(crate::heap::release_free_pages).await;
        Ok(describe)
    }
    .await;
    match &result {
        Ok(v) => {
            app.metrics.reloads.fetch_add(1, Relaxed);
            tracing::info!(engine = %v, "hot upgrade applied");
        }
        Err(e) => {
            app.metrics.reloads_failed.fetch_add(1, Relaxed);
            tracing::warn!(error = %e, "hot upgrade refused; the running version stays");
        }
    }
    result
}
