//! One task per WebSocket connection: the read/write loop and the close.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

use meshcdn_tracker::ConnId;
use tokio::io::AsyncWriteExt as _;

use super::AppState;
use super::session::ConnCtx;
use crate::metrics::Reject;
use crate::outbox::{CloseOrder, Outbox};
use crate::ws::frame::{self, Flow, FrameError};
use crate::ws::{ReadError, ReadOutcome, WsStream};

/// Writes `bytes` (whole frames), or fails if the peer has not taken them within `timeout`
/// (`limits.send_timeout_ms`: a peer that stopped reading).
async fn send(stream: &mut WsStream, bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Sends everything queued in `outbox` in one write (one syscall per wake-up, not per message);
/// returns the close order if one came with it.
async fn flush_outbox(
    stream: &mut WsStream,
    outbox: &Outbox,
    app: &AppState,
) -> std::io::Result<Option<CloseOrder>> {
    let (queue, close) = outbox.take();
    if !queue.is_empty() {
        let mut out = Vec::with_capacity(queue.iter().map(|t| t.len() + 10).sum());
        for text in &queue {
            frame::encode_text(&mut out, text);
        }
        send(stream, &out, app.send_timeout()).await?;
        outbox.written(queue.iter().map(String::len).sum(), &app.metrics.queued);
        app.metrics
            .messages_out
            .fetch_add(queue.len() as u64, Relaxed);
    }
    Ok(close)
}

async fn send_pong(stream: &mut WsStream, payload: &[u8], app: &AppState) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 2);
    frame::encode_pong(&mut out, payload);
    send(stream, &out, app.send_timeout()).await
}

/// What woke the connection task.
enum Event {
    Outbox,
    Read(Result<ReadOutcome, ReadError>),
}

/// How a connection ends: silently (the peer is gone), or with a close frame.
enum End {
    Gone,
    Close(u16, &'static str),
}

/// The verdict on one read: go on, or how to end.
fn after_read(app: &AppState, conn: ConnId, read: Result<ReadOutcome, ReadError>) -> Option<End> {
    match read {
        Ok(ReadOutcome::Decoded(Flow::Continue)) => None,
        // The peer closed: answer its close frame.
        Ok(ReadOutcome::Decoded(Flow::Stop)) => Some(End::Close(1000, "")),
        Ok(ReadOutcome::Eof) | Err(ReadError::Io(_)) => Some(End::Gone),
        Err(ReadError::Frame(e)) => {
            app.metrics.reject(match e {
                FrameError::TooLarge { .. } => Reject::TooLarge,
                _ => Reject::Malformed,
            });
            tracing::debug!(conn, error = %e, "closing connection");
            Some(End::Close(e.close_code(), e.close_reason()))
        }
    }
}

/// One connection's life: reads (into the worker's buffer, see [`crate::ws`]), routes messages
/// to shards, writes what shards queue in its outbox. Its state is kept small (writes run boxed,
/// the rest is in the boxed [`ConnCtx`]): it sits in the task of every idle peer.
pub(super) async fn connection(app: Arc<AppState>, mut stream: WsStream, mut ctx: Box<ConnCtx>) {
    app.metrics.connections_total.fetch_add(1, Relaxed);
    if stream.is_wrapped() {
        app.metrics.upgrades_wrapped.fetch_add(1, Relaxed);
    }
    let outbox = ctx.outbox.clone();
    // Frames the client sent right behind its upgrade request (hyper had read them already).
    let early = ctx.decode_held(&app);
    let end = 'conn: {
        if let Some(payload) = ctx.pending_pong.take()
            && Box::pin(send_pong(&mut stream, &payload, &app))
                .await
                .is_err()
        {
            break 'conn End::Gone;
        }
        if let Some(end) = after_read(&app, ctx.conn, early) {
            break 'conn end;
        }
        // Alternates which side is looked at first, so neither a busy outbox nor a busy
        // reader starves the other.
        let mut outbox_first = false;
        loop {
            outbox_first = !outbox_first;
            let event = std::future::poll_fn(|cx| {
                if outbox_first && outbox.poll_ready(cx).is_ready() {
                    return Poll::Ready(Event::Outbox);
                }
                // Read only while the shards have room (back-pressure, see `poll_room`).
                if app.pool.poll_room(cx).is_ready()
                    && let Poll::Ready(read) = ctx.poll_read(cx, &app, &mut stream)
                {
                    return Poll::Ready(Event::Read(read));
                }
                match outbox.poll_ready(cx) {
                    Poll::Ready(()) => Poll::Ready(Event::Outbox),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            match event {
                Event::Outbox => match Box::pin(flush_outbox(&mut stream, &outbox, &app)).await {
                    Ok(None) => {}
                    Ok(Some(order)) => break End::Close(order.code(), order.reason()),
                    Err(_) => break End::Gone,
                },
                Event::Read(read) => {
                    if let Some(payload) = ctx.pending_pong.take()
                        && Box::pin(send_pong(&mut stream, &payload, &app))
                            .await
                            .is_err()
                    {
                        break End::Gone;
                    }
                    if let Some(end) = after_read(&app, ctx.conn, read) {
                        break end;
                    }
                }
            }
        }
    };
    // Whatever is still queued is never sent: its bytes go back to the host's budget.
    outbox.finish(&app.metrics.queued);
    // A closed socket means `stopped` in every swarm of this connection.
    for shard in 0..app.pool.len() {
        if ctx.touched.contains(shard) {
            app.pool.close(shard, ctx.conn);
        }
    }
    if let End::Close(code, reason) = end {
        let mut out = Vec::new();
        frame::encode_close(&mut out, code, reason);
        let closing = async {
            stream.write_all(&out).await?;
            stream.shutdown().await
        };
        // Boxed: this rare path should not add a timer to every connection's state.
        let _ = Box::pin(tokio::time::timeout(Duration::from_secs(2), closing)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, C, F: std::future::Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// The connection future lives in every idle peer's task: keep it small. Tokio's task cell is
    /// 128-byte aligned and adds about 100 bytes, so up to ~270 bytes the cell stays at 384 bytes
    /// (docs/benchmarks/edge.md); more would cost every idle peer another 128.
    #[test]
    fn connection_state_stays_small() {
        let size = future_size(connection);
        eprintln!(
            "connection future: {size} bytes; WsStream {} bytes; ConnCtx {} bytes (boxed)",
            std::mem::size_of::<WsStream>(),
            std::mem::size_of::<ConnCtx>()
        );
        assert!(size <= 256, "{size}");
        // Boxed, 248 bytes is a 256-byte allocation; every 16 more costs each idle peer 16.
        assert!(std::mem::size_of::<ConnCtx>() <= 248);
    }
}
