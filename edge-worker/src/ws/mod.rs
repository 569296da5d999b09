//! The WebSocket side of `/announce`, owned end to end so that an idle peer costs little: the
//! upgrade (RFC 6455 §4.2) hands over the bare socket, and reads go into one buffer per worker
//! thread ([`poll_read_messages`]) and are decoded there ([`frame::Decoder`]). A connection
//! holds bytes of its own only while a frame is incomplete.
//!
//! Everything else about WebSockets in this crate (the load generator, the tests) uses
//! tungstenite, which also checks this side's framing in the unit tests.

/// The frame decoder and encoders (the `meshcdn-ws-frame` crate, pure and I/O-free).
pub use meshcdn_ws_frame as frame;

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use frame::{Decoder, Flow, FrameError, Message};

/// Bytes read per `recv` into the worker thread's buffer: a full 64 KiB message in one call.
pub const READ_CHUNK: usize = 64 * 1024 + frame::MAX_HEADER;

thread_local! {
    /// One read buffer per worker thread, lent to whichever connection is reading.
    static WORKER_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
}

/// A validated upgrade request for `/announce` (axum extractor).
pub struct WsUpgrade {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
}

/// Why a request to `/announce` is not a WebSocket upgrade.
#[derive(Debug)]
pub struct NotAnUpgrade {
    status: StatusCode,
    reason: &'static str,
}

impl IntoResponse for NotAnUpgrade {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.reason)).into_response();
        if self.status == StatusCode::UPGRADE_REQUIRED {
            response.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        response
    }
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = NotAnUpgrade;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let refuse = |status, reason| Err(NotAnUpgrade { status, reason });
        if parts.method != Method::GET {
            return refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "the tracker is a WebSocket: use GET with an upgrade",
            );
        }
        if !header_has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !header_has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "the tracker is a WebSocket: send Connection: upgrade and Upgrade: websocket",
            );
        }
        if parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .map(|v| v.as_bytes())
            != Some(b"13")
        {
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "unsupported Sec-WebSocket-Version (13 is supported)",
            );
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY) else {
            return refuse(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key");
        };
        let accept = accept_key(key.as_bytes());
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "this connection cannot be upgraded (HTTP/1.1 is required)",
            );
        };
        Ok(Self {
            on_upgrade,
            accept: HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
        })
    }
}

impl WsUpgrade {
    /// Answers `101 Switching Protocols` and, once hyper hands the connection over, runs
    /// `connection` on it in a task of its own on `workers`, with the socket moved to that
    /// runtime (see [`crate::accept`]: the upgrade itself runs on the admission runtime).
    pub fn on_upgrade<F, Fut>(self, workers: &tokio::runtime::Handle, connection: F) -> Response
    where
        F: FnOnce(WsStream, Bytes) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        let workers = workers.clone();
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let (mut stream, early) = WsStream::from_upgraded(upgraded);
                    workers.spawn(async move {
                        match stream.rebind() {
                            Ok(()) => connection(stream, early).await,
                            Err(e) => tracing::warn!(error = %e, "cannot move an upgraded socket to the workers"),
                        }
                    });
                }
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, self.accept)
            .body(axum::body::Body::empty())
            .expect("static response parts")
    }
}

/// The socket of an upgraded connection: the bare TCP or TLS stream when hyper gives it back
/// (always, with `axum::serve`), hyper's boxed `Upgraded` otherwise.
pub enum WsStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Other(Box<TokioIo<Upgraded>>),
}

impl WsStream {
    /// Whether this is hyper's wrapper rather than the bare socket (if the server in front ever
    /// wraps its sockets, e.g. a future hyper): it works, with a little more memory per peer.
    pub fn is_wrapped(&self) -> bool {
        matches!(self, Self::Other(_))
    }

    /// Registers the socket with the current runtime's I/O driver ([`crate::accept::rebind`]);
    /// hyper's wrapper, if it ever comes, stays where it is (it works from there too).
    fn rebind(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => crate::accept::rebind(s),
            Self::Tls(s) => crate::accept::rebind(s.get_mut().0),
            Self::Other(_) => Ok(()),
        }
    }

    /// The stream, and bytes the client sent right after its handshake that hyper already read.
    fn from_upgraded(upgraded: Upgraded) -> (Self, Bytes) {
        let upgraded = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => return (Self::Plain(parts.io.into_inner()), parts.read_buf),
            Err(upgraded) => upgraded,
        };
        match upgraded.downcast::<TokioIo<TlsStream<TcpStream>>>() {
            Ok(parts) => (Self::Tls(Box::new(parts.io.into_inner())), parts.read_buf),
            Err(upgraded) => (Self::Other(Box::new(TokioIo::new(upgraded))), Bytes::new()),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self.get_mut() {
            WsStream::Plain($s) => {
                let $s = Pin::new($s);
                $call
            }
            WsStream::Tls($s) => {
                let $s = Pin::new($s.as_mut());
                $call
            }
            WsStream::Other($s) => {
                let $s = Pin::new($s.as_mut());
                $call
            }
        }
    };
}

impl AsyncRead for WsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for WsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_shutdown(cx))
    }
}

/// A read that ended the connection.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// What one read brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Frames were decoded (or more bytes of one are held); `Stop` if the handler asked so.
    Decoded(Flow),
    /// The client closed its side.
    Eof,
}

/// Waits for data on `stream`, reads it into this worker thread's buffer and decodes it there,
/// calling `on_message` for every complete message. Cancel-safe: nothing is awaited after bytes
/// leave the socket.
pub fn poll_read_messages(
    cx: &mut Context<'_>,
    stream: &mut WsStream,
    decoder: &mut Decoder,
    on_message: &mut dyn FnMut(Message<'_>) -> Flow,
) -> Poll<Result<ReadOutcome, ReadError>> {
    WORKER_BUFFER.with(|cell| {
        // Only reachable by re-entrance, which the handlers never do; stay correct anyway.
        let mut fallback;
        let mut borrowed = cell.try_borrow_mut();
        let buf: &mut [u8] = match &mut borrowed {
            Ok(b) => b.as_mut_slice(),
            Err(_) => {
                fallback = vec![0; 4096];
                &mut fallback
            }
        };
        let mut read = ReadBuf::new(buf);
        ready!(Pin::new(&mut *stream).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        if n == 0 {
            return Poll::Ready(Ok(ReadOutcome::Eof));
        }
        let flow = decoder.decode(read.filled_mut(), on_message)?;
        Poll::Ready(Ok(ReadOutcome::Decoded(flow)))
    })
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 section 4.2.2): base64 of the
/// SHA-1 of the key and the protocol's GUID.
fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::{Digest as _, Sha1};
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    /// The example of RFC 6455 section 1.3, and tungstenite's answer for another key.
    #[test]
    fn the_accept_key_is_the_rfc_one() {
        assert_eq!(
            super::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let key = b"x3JJHMbDL1EzLkh9GBhXDw==";
        assert_eq!(
            super::accept_key(key),
            tokio_tungstenite::tungstenite::handshake::derive_accept_key(key)
        );
    }
}
