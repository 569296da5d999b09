//! The HTTP/1 server loop: one hyper connection task per accepted socket, stopped gracefully.
//! It runs on the admission thread ([`crate::accept`]); upgraded sockets move to the workers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt as _;

use super::PeerAddr;

/// Serves `app` on `listener` (plain or TLS) until `shutdown` resolves.
///
/// hyper's HTTP/1 server directly (axum's "serve with hyper" pattern) rather than `axum::serve`:
/// the tracker is HTTP/1.1 WebSocket only, and with the connection type in our hands an upgrade
/// hands back the bare socket (`ws::WsStream`), where `axum::serve` would wrap it in a private
/// type that keeps hyper's boxed `Upgraded` alive for the connection's whole life.
pub(super) async fn run_server<L>(
    mut listener: L,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
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
