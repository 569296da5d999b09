//! The admin API: `POST /admin/reload` (bearer `admin_token`) and the hot upgrade behind it;
//! [`authorize`] also guards `/stats` (and `/metrics` with `ops.metrics_require_token`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Deserialize;

use super::AppState;
use crate::bounded::{BoundedBuf, TooLarge};
use crate::engine;
use crate::error::EdgeError;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReloadRequest {
    /// Path of the new component; the configured one (re-read) when absent.
    component: Option<PathBuf>,
}

/// Whether the request carries `Authorization: Bearer <admin_token>`: 404 when the host has no
/// admin token (the admin API is off), 401 when it is missing or wrong.
pub(super) fn authorize(app: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(expected) = &app.config.admin_token else {
        return Err((
            StatusCode::NOT_FOUND,
            "admin API disabled (no admin_token)\n",
        )
            .into_response());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) {
        return Err((StatusCode::UNAUTHORIZED, "admin token required\n").into_response());
    }
    Ok(())
}

/// `POST /admin/reload`: the token is checked before a byte of the body is read; the body is
/// bounded by `ops.admin_max_body_bytes` (413) and `ops.admin_body_timeout_ms` (408).
pub(super) async fn admin_reload(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(refused) = authorize(&app, &headers) {
        return refused;
    }
    let ops = &app.config.ops;
    let body = match read_body(
        &headers,
        body,
        ops.admin_max_body_bytes,
        ops.admin_body_timeout_ms,
    )
    .await
    {
        Ok(body) => body,
        Err(refused) => return refused,
    };
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

/// The whole body, at most `max` bytes (413: refused from `Content-Length` before reading when
/// it says more) and within `timeout_ms` (408).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    timeout_ms: u64,
) -> Result<Vec<u8>, Response> {
    let too_large =
        |e: TooLarge| (StatusCode::PAYLOAD_TOO_LARGE, format!("body {e}\n")).into_response();
    let mut buf = BoundedBuf::new(max);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    buf.expect(declared).map_err(too_large)?;
    let read = async {
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                (StatusCode::BAD_REQUEST, format!("body unreadable: {e}\n")).into_response()
            })?;
            buf.push(&chunk).map_err(too_large)?;
        }
        Ok(())
    };
    match tokio::time::timeout(Duration::from_millis(timeout_ms), read).await {
        Ok(Ok(())) => Ok(buf.into_inner()),
        Ok(Err(refused)) => Err(refused),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!("body not received within {timeout_ms} ms\n"),
        )
            .into_response()),
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
