//! `GET` on a tracker path (`tracker_paths`: `/` and `/announce`): refuses while draining, checks
//! the token and the connection limits (host-wide and per viewer address), then upgrades to the WebSocket tracker with a fresh
//! per-connection context; the connection task runs on the workers' runtime.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::limits::{ConnSlot, RateLimit};
use super::session::{ConnCtx, JoinedSwarms, ShardSet};
use super::{AppState, PeerAddr, connection};
use crate::metrics::Reject;
use crate::outbox::{CloseOrder, Outbox, OutboxLimits};
use crate::shard::now_ms;
use crate::ws::WsUpgrade;
use crate::ws::frame::Decoder;
use meshcdn_tracker::NetworkFacts;

#[derive(Debug, Deserialize)]
pub(super) struct AnnounceQuery {
    token: Option<String>,
}

pub(super) async fn announce(
    State(app): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    Query(query): Query<AnnounceQuery>,
    headers: HeaderMap,
    ws: WsUpgrade,
) -> Response {
    if app.lifecycle.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "edge host draining; use another tracker\n",
        )
            .into_response();
    }
    let admission = match app.gate.admit(query.token.as_deref(), now_ms()).await {
        Ok(a) => a,
        Err(e) => {
            app.metrics.reject(Reject::Unauthorized);
            return (StatusCode::UNAUTHORIZED, format!("token refused: {e}\n")).into_response();
        }
    };
    let slot = match ConnSlot::take(&app, app.facts.client_ip(&headers, peer.ip())) {
        Ok(slot) => slot,
        Err(reject) => {
            app.metrics.reject(reject);
            let refusal = match reject {
                Reject::IpLimit => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections from this address\n",
                ),
                _ => (StatusCode::SERVICE_UNAVAILABLE, "too many connections\n"),
            };
            return refusal.into_response();
        }
    };
    let facts = app.facts.facts(&headers, peer.ip());
    let conn = app.next_conn.fetch_add(1, Relaxed);
    let limits = &app.config.limits;
    let outbox = Arc::new(Outbox::new(OutboxLimits {
        messages: limits.max_queued_messages,
        bytes: limits.max_queued_bytes,
        overflow: limits.queue_overflow,
    }));
    let idle_key = app.idle.register(outbox.clone());
    // A drain that began since the check above did not see this connection: close it here.
    if app.lifecycle.is_draining() {
        outbox.close(CloseOrder::Draining);
    }
    // Boxed: the connection task keeps what it captures for the connection's whole life.
    let ctx = Box::new(ConnCtx {
        conn,
        outbox,
        facts: (facts != NetworkFacts::default()).then(|| Box::new(facts)),
        admission,
        touched: ShardSet::default(),
        swarms: JoinedSwarms::default(),
        rate: RateLimit::new(app.config.limits.message_burst as f32, app.idle.now_ms()),
        pending_pong: None,
        decoder: Decoder::new(app.config.limits.max_message_bytes),
        idle_key,
        slot,
    });
    ws.on_upgrade(&app.workers.clone(), move |stream, early| {
        let mut ctx = ctx;
        ctx.decoder.hold(&early);
        connection::connection(app, stream, ctx)
    })
}
