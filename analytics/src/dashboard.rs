//! The dashboard's files, compiled into the binary (uPlot from npm: see build.rs), so it works
//! without internet access.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../dashboard/index.html");
const JS: &str = include_str!("../dashboard/dashboard.js");
const CSS: &str = include_str!("../dashboard/dashboard.css");
const UPLOT_JS: &str = include_str!("../dashboard/node_modules/uplot/dist/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../dashboard/node_modules/uplot/dist/uPlot.min.css");

pub(crate) fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        PAGE,
    )
        .into_response()
}

pub(crate) fn asset(file: &str) -> Response {
    let (body, kind) = match file {
        "dashboard.js" => (JS, "text/javascript; charset=utf-8"),
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        "uPlot.iife.min.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "uPlot.min.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such dashboard asset\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}
