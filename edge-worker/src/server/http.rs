//! The HTTP/1 server loop: one hyper connection task per accepted socket, stopped gracefully.
//! It runs on the admission thread ([`crate::accept`]); upgraded sockets move to the workers.
//!
//! Every connection holds an [`HttpSlot`] from accept (before the TLS handshake on wss) until it
//! closes or becomes a WebSocket: at most `http.max_connections` at once; one more is answered
//! 503 (plain) or closed (TLS) at once. An upgrade gives its HTTP slot back and holds a WebSocket
//! slot instead (`limits.max_connections`, checked at the upgrade), so the host holds at most
//! `http.max_connections + limits.max_connections` sockets. hyper closes a connection whose
//! request headers, the first or the next on a keep-alive connection, have not all arrived
//! within `limits.header_timeout_ms`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

use super::PeerAddr;
use crate::metrics::{Metrics, Reject};
use crate::tls::TlsListener;

/// The connection budget of the HTTP side (`http.max_connections`).
#[derive(Clone)]
pub(super) struct HttpSlots {
    metrics: Arc<Metrics>,
    max: u64,
}

impl HttpSlots {
    pub(super) fn new(metrics: Arc<Metrics>, max: usize) -> Self {
        Self {
            metrics,
            max: max as u64,
        }
    }

    /// A slot, or `None` (counted as a reject) when the budget is spent.
    pub(super) fn take(&self) -> Option<HttpSlot> {
        let taken = self
            .metrics
            .http_connections
            .fetch_update(Relaxed, Relaxed, |n| (n < self.max).then_some(n + 1));
        if taken.is_err() {
            self.metrics.reject(Reject::HttpConnectionLimit);
            return None;
        }
        Some(HttpSlot(self.metrics.clone()))
    }
}

/// One HTTP connection's place in the budget; given back on drop.
pub(super) struct HttpSlot(Arc<Metrics>);

impl Drop for HttpSlot {
    fn drop(&mut self) {
        self.0.http_connections.fetch_sub(1, Relaxed);
    }
}

/// Where the server loop takes its connections from: each with its slot.
pub(super) trait Incoming: Send + 'static {
    /// The bare socket type (`ws::WsStream` takes it back from hyper after the upgrade).
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn next(&mut self) -> impl Future<Output = (Self::Io, SocketAddr, HttpSlot)> + Send;
}

/// A plain TCP listener that refuses connections beyond the budget with a canned 503.
pub(super) struct PlainIncoming {
    pub(super) listener: TcpListener,
    pub(super) slots: HttpSlots,
}

/// Written, best effort and without waiting, to a connection refused for the budget.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 21\r\n\r\ntoo many connections\n";

impl Incoming for PlainIncoming {
    type Io = TcpStream;

    async fn next(&mut self) -> (TcpStream, SocketAddr, HttpSlot) {
        loop {
            let (tcp, peer) = match self.listener.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match self.slots.take() {
                Some(slot) => return (tcp, peer, slot),
                None => {
                    let _ = tcp.try_write(REFUSED);
                }
            }
        }
    }
}

impl Incoming for TlsListener<HttpSlot> {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;

    async fn next(&mut self) -> (Self::Io, SocketAddr, HttpSlot) {
        self.accept().await
    }
}

/// Serves `app` on `incoming` (plain or TLS) until `shutdown` resolves.
///
/// hyper's HTTP/1 server directly (axum's "serve with hyper" pattern) rather than `axum::serve`:
/// the tracker is HTTP/1.1 WebSocket only, and with the connection type in our hands an upgrade
/// hands back the bare socket (`ws::WsStream`), where `axum::serve` would wrap it in a private
/// type that keeps hyper's boxed `Upgraded` alive for the connection's whole life.
pub(super) async fn run_server(
    mut incoming: impl Incoming,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (io, peer, slot) = tokio::select! {
            accepted = incoming.next() => accepted,
            _ = &mut shutdown => break,
        };
        let service = app.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
                req
            },
        );
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            // Held until the connection closes or is upgraded (hyper's future ends then).
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = http
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(conn);
            let finished = tokio::select! {
                result = conn.as_mut() => Some(result),
                _ = stopped.wait_for(|s| *s) => None,
            };
            let result = match finished {
                Some(result) => result,
                None => {
                    // Finish the request in flight, then close (upgraded sockets are not ours).
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    let _ = stop.send(true);
}
