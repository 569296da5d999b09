//! The demo's pages, compiled into the binary.

use axum::http::header;
use axum::response::{IntoResponse, Response};

pub const PLAYER: &str = include_str!("../pages/player.html");
pub const PLAYER_JS: &str = include_str!("../pages/player.js");
pub const CSS: &str = include_str!("../pages/demo.css");

pub fn html(page: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}
