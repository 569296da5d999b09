//! The HTTP side: `POST /v1/beacons`, `GET /v1/analytics`, `GET /v1/analytics/metrics`, and the
//! dashboard under `/analytics`.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::aggregate::Network;
use crate::beacon::{Beacon, BeaconError, BeaconNetwork};
use crate::{Access, Analytics, dashboard, metrics, now_ms};

/// Why a beacon or an API request was refused: one status and a clear message each.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("beacon body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("cannot read the request body: {0}")]
    Body(String),
    #[error(transparent)]
    Beacon(#[from] BeaconError),
    #[error("swarm token refused: {0}")]
    Token(String),
    #[error("the swarm token is for content {token:?}, the beacon is for {beacon:?}")]
    WrongContent { token: String, beacon: String },
    #[error("too many beacons from this {0}: slow down")]
    RateLimited(&'static str),
    #[error("analytics is busy writing: try again shortly")]
    Overloaded,
    #[error(
        "missing or unknown credentials: send `Authorization: Bearer <publisher API key or admin secret>`"
    )]
    Login,
    #[error("invalid query: {0}")]
    Query(String),
    #[error("analytics database unavailable: {0}")]
    Store(String),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Body(_) | Refusal::Beacon(_) | Refusal::Query(_) => StatusCode::BAD_REQUEST,
            Refusal::Token(_) | Refusal::Login => StatusCode::UNAUTHORIZED,
            Refusal::WrongContent { .. } => StatusCode::FORBIDDEN,
            Refusal::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Overloaded | Refusal::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut r = (
            status,
            axum::Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            Refusal::Login => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Refusal::RateLimited(_) | Refusal::Overloaded => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        r
    }
}

pub(crate) fn router(analytics: Analytics) -> Router {
    Router::new()
        .route("/v1/beacons", post(post_beacon))
        .route("/v1/analytics", get(get_report))
        .route("/v1/analytics/metrics", get(get_metrics))
        .route("/analytics", get(|| async { dashboard::page() }))
        .route("/analytics/", get(|| async { dashboard::page() }))
        .route(
            "/analytics/assets/{file}",
            get(|Path(file): Path<String>| async move { dashboard::asset(&file) }),
        )
        .with_state(analytics)
}

fn header_str<'a>(headers: &'a HeaderMap, name: Option<&String>) -> Option<&'a str> {
    headers
        .get(name?.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The viewer's network: trusted CDN headers on the beacon request win, fact by fact; else what the
/// edge saw (reported by the client in `net`, as every beacon figure is).
fn network(
    analytics: &Analytics,
    headers: &HeaderMap,
    reported: Option<&BeaconNetwork>,
) -> Network {
    let n = &analytics.inner.config.network;
    let short = |v: Option<&str>| {
        v.filter(|v| v.len() <= 64 && !v.chars().any(char::is_control))
            .unwrap_or("")
            .to_string()
    };
    let reported = reported.cloned().unwrap_or_default();
    Network {
        asn: header_str(headers, n.asn_header.as_ref())
            .map(|v| v.trim_start_matches("AS").trim_start_matches("as"))
            .and_then(|v| v.parse::<u32>().ok())
            .or(reported.asn)
            .map(i64::from)
            .unwrap_or(0),
        country: short(
            header_str(headers, n.country_header.as_ref()).or(reported.country.as_deref()),
        ),
        region: short(header_str(headers, n.region_header.as_ref()).or(reported.region.as_deref())),
    }
}

fn client_ip(analytics: &Analytics, request: &Request) -> Option<IpAddr> {
    let configured = analytics.inner.config.network.client_ip_header.as_ref();
    if let Some(v) = header_str(request.headers(), configured) {
        return v.split(',').next().and_then(|ip| ip.trim().parse().ok());
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

async fn post_beacon(State(analytics): State<Analytics>, request: Request) -> Response {
    match ingest(&analytics, request).await {
        Ok(()) => {
            analytics
                .inner
                .counters
                .accepted
                .fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::NO_CONTENT,
                [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            )
                .into_response()
        }
        Err(refusal) => {
            let c = &analytics.inner.counters;
            let counter = match &refusal {
                Refusal::TooLarge(_) => &c.too_large,
                Refusal::Token(_) => &c.unauthorized,
                Refusal::WrongContent { .. } => &c.wrong_content,
                Refusal::RateLimited(_) => &c.rate_limited,
                Refusal::Overloaded => &c.overloaded,
                _ => &c.malformed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %refusal, "beacon refused");
            refusal.into_response()
        }
    }
}

async fn ingest(analytics: &Analytics, request: Request) -> Result<(), Refusal> {
    let inner = &analytics.inner;
    let limit = inner.config.max_beacon_bytes;
    // The per-IP limit first: it is the cheapest check and bounds the work a flood can cause.
    if let Some(ip) = client_ip(analytics, &request)
        && inner.ips.check_key(&ip).is_err()
    {
        return Err(Refusal::RateLimited("IP address"));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Refusal::TooLarge(limit));
    }
    let headers = request.headers().clone();
    let body =
        http_body_util::BodyExt::collect(http_body_util::Limited::new(request.into_body(), limit))
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Refusal::TooLarge(limit)
                } else {
                    Refusal::Body(e.to_string())
                }
            })?
            .to_bytes();
    let beacon = Beacon::parse(&body)?;
    let admitted = inner
        .gate
        .admit(&beacon.token, now_ms())
        .map_err(Refusal::Token)?;
    if admitted.content != beacon.content {
        return Err(Refusal::WrongContent {
            token: admitted.content,
            beacon: beacon.content,
        });
    }
    // Per viewer: the token's own viewer id when it has one, else the session id it sends.
    let viewer_key = format!(
        "{}\0{}",
        beacon.content,
        admitted.viewer.as_deref().unwrap_or(&beacon.viewer)
    );
    if inner.viewers.check_key(&viewer_key).is_err() {
        return Err(Refusal::RateLimited("viewer"));
    }
    let network = network(analytics, &headers, beacon.net.as_ref());
    let mut pending = analytics.pending();
    if pending.keys() >= inner.config.max_pending_rows {
        return Err(Refusal::Overloaded);
    }
    pending.add(&beacon, &network, now_ms() / 1000, inner.config.bucket_secs);
    Ok(())
}

/// Checks `Authorization: Bearer …` against the admin secret and the publisher API keys.
fn login(analytics: &Analytics, headers: &HeaderMap) -> Result<Access, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::Login)?;
    let (scheme, secret) = value.trim().split_once(' ').ok_or(Refusal::Login)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() {
        return Err(Refusal::Login);
    }
    if let Some(admin) = &analytics.inner.config.admin_secret {
        // Equal-length digests compared in full: no early exit that times the secret.
        let a = Sha256::digest(admin.as_bytes());
        let b = Sha256::digest(secret.as_bytes());
        if a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
        {
            return Ok(Access::All);
        }
    }
    analytics.inner.gate.login(secret).ok_or(Refusal::Login)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// Seconds back from now (default 1 hour, at most the retention).
    #[serde(default)]
    window_secs: Option<u64>,
}

async fn get_report(
    State(analytics): State<Analytics>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Refusal> {
    let access = login(&analytics, &headers)?;
    let Query(query) = query.map_err(|e| Refusal::Query(e.body_text()))?;
    let max = analytics.inner.config.retention_days.saturating_mul(86_400);
    let window = query.window_secs.unwrap_or(3_600);
    if window == 0 || window > max {
        return Err(Refusal::Query(format!("window_secs must be 1..={max}")));
    }
    let report = analytics
        .report(window, &access)
        .await
        .map_err(|e| Refusal::Store(e.to_string()))?;
    let mut r = axum::Json(report).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn get_metrics(
    State(analytics): State<Analytics>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let access = login(&analytics, &headers)?;
    let report = analytics
        .report(metrics::WINDOW_SECS, &access)
        .await
        .map_err(|e| Refusal::Store(e.to_string()))?;
    let text = metrics::render(&report, &analytics.inner.counters);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from(text),
    )
        .into_response())
}
