//! The proxy's HTTP/1.1 listener: the accept loop with the limits a public listener needs and
//! graceful shutdown. Bounds per connection:
//!
//! - `header_read_timeout_ms`: the whole request head must arrive within it; hyper starts the
//!   timer when it waits for a head, so it also ends keep-alive connections idle between
//!   requests (slowloris and idle sockets alike);
//! - `idle_timeout_ms`: no byte read or written for this long at any point (a client that stops
//!   sending its body or stops reading a response) closes the connection;
//! - `request_body_timeout_ms`: longest pause between two frames of a request body (the
//!   request then fails: a forwarded upload is cut off).
//!
//! Each request carries the peer address as `ConnectInfo<SocketAddr>` (for `X-Forwarded-For`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::config::ListenerConfig;

pin_project! {
    /// An I/O stream that fails with `TimedOut` once nothing was read or written for `idle`.
    pub struct IdleTimeout<T> {
        #[pin]
        inner: T,
        // Boxed: hyper needs the stream `Unpin`.
        sleep: Pin<Box<Sleep>>,
        idle: Duration,
    }
}

impl<T> IdleTimeout<T> {
    pub fn new(inner: T, idle: Duration) -> Self {
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep(idle)),
            idle,
        }
    }
}

fn progress<T>(
    sleep: &mut Pin<Box<Sleep>>,
    idle: Duration,
    cx: &mut Context<'_>,
    result: Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    match result {
        Poll::Ready(r) => {
            sleep.as_mut().reset(Instant::now() + idle);
            Poll::Ready(r)
        }
        Poll::Pending => match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connection idle for {idle:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        },
    }
}

impl<T: AsyncRead> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let result = this.inner.poll_read(cx, buf);
        progress(this.sleep, *this.idle, cx, result)
    }
}

impl<T: AsyncWrite> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write(cx, buf);
        progress(this.sleep, *this.idle, cx, result)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let result = this.inner.poll_flush(cx);
        progress(this.sleep, *this.idle, cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting and waits at
/// most `grace` for the connections in flight (returns `false` if some were cut off).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    config: &ListenerConfig,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> bool {
    let body_timeout = Duration::from_millis(config.request_body_timeout_ms);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(config.header_read_timeout_ms));
    let idle = Duration::from_millis(config.idle_timeout_ms);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Manifests and the tail of each segment are small writes: never hold them back.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(
            tower::ServiceBuilder::new()
                .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                    body_timeout,
                ))
                .map_request(move |mut request: http::Request<_>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                })
                .service(router.clone()),
        );
        let io = TokioIo::new(IdleTimeout::new(tcp, idle));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_ok()
}
