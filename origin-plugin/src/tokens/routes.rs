//! The token HTTP API: `POST /v1/tokens` (publisher API key) and `GET /.well-known/jwks.json`.

use axum::Router;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{IssueError, SharedIssuer};
use crate::clock::now_secs;

/// Body of `POST /v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub content: String,
    /// Defaults to `tokens.ttl_secs`.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// Viewer id (`sub`) for per-viewer tokens.
    #[serde(default)]
    pub viewer: Option<String>,
}

fn error_response(e: &IssueError) -> Response {
    let mut response = (
        e.status(),
        axum::Json(serde_json::json!({ "error": e.to_string() })),
    )
        .into_response();
    if e.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Longest `POST /v1/tokens` body read.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// `POST /v1/tokens`: the API key is checked from the headers before a byte of the body is read,
/// then the body is read with a size cap and a time limit (`tokens.request_body_timeout_ms`).
async fn post_token(State(shared): State<SharedIssuer>, request: Request) -> Response {
    let issuer = shared.current();
    let (parts, body) = request.into_parts();
    let result = async {
        let entry = issuer.authenticate(parts.headers.get(header::AUTHORIZATION))?;
        let limit = Duration::from_millis(issuer.config.request_body_timeout_ms);
        let body = tokio::time::timeout(limit, axum::body::to_bytes(body, MAX_TOKEN_REQUEST_BYTES))
            .await
            .map_err(|_| IssueError::BodyTimeout(limit))?
            .map_err(|e| {
                if std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                {
                    IssueError::BodyTooLarge(MAX_TOKEN_REQUEST_BYTES)
                } else {
                    IssueError::BadRequest(format!("reading the body: {e}"))
                }
            })?;
        let request: TokenRequest =
            serde_json::from_slice(&body).map_err(|e| IssueError::BadRequest(e.to_string()))?;
        if !entry.allows(&request.content) {
            return Err(IssueError::ContentNotAllowed(request.content));
        }
        let ttl = request.ttl_secs.unwrap_or(issuer.config.ttl_secs);
        let token = issuer.issue(&request.content, ttl, request.viewer, now_secs())?;
        tracing::info!(api_key = %entry.name, content = %token.content, kid = %token.kid, "issued swarm token");
        Ok(token)
    }
    .await;
    match result {
        Ok(token) => {
            let mut response = axum::Json(token).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::info!(error = %e, "token request refused");
            error_response(&e)
        }
    }
}

async fn get_jwks(State(shared): State<SharedIssuer>) -> Response {
    let mut response = axum::Json(shared.current().jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// `POST /v1/tokens` and `GET /.well-known/jwks.json`, to merge into any axum app. Both follow
/// the [`SharedIssuer`]'s current keys.
pub fn token_routes(issuer: impl Into<SharedIssuer>) -> Router {
    Router::new()
        .route("/v1/tokens", post(post_token))
        .route("/.well-known/jwks.json", get(get_jwks))
        .with_state(issuer.into())
}
