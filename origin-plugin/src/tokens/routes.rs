//! The token HTTP API: `POST /v1/tokens` (publisher API key) and `GET /.well-known/jwks.json`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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

async fn post_token(
    State(shared): State<SharedIssuer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = shared.current();
    let result = (|| {
        let entry = issuer.authenticate(headers.get(header::AUTHORIZATION))?;
        let request: TokenRequest =
            serde_json::from_slice(&body).map_err(|e| IssueError::BadRequest(e.to_string()))?;
        if !entry.contents.is_empty()
            && !entry
                .contents
                .iter()
                .any(|p| request.content.starts_with(p.as_str()))
        {
            return Err(IssueError::ContentNotAllowed(request.content));
        }
        let ttl = request.ttl_secs.unwrap_or(issuer.config.ttl_secs);
        let token = issuer.issue(&request.content, ttl, request.viewer, now_secs())?;
        tracing::info!(api_key = %entry.name, content = %token.content, kid = %token.kid, "issued swarm token");
        Ok(token)
    })();
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
