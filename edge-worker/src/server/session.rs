//! Per-connection state ([`ConnCtx`]): decodes what the peer sends, applies the rate limit and
//! routes each message to the shard owning its swarm.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use meshcdn_tracker::protocol::outgoing::{failure, scrape_request};
use meshcdn_tracker::{Admission, ConnId, InfoHash, NetworkFacts, Route};

use super::AppState;
use super::limits::{ConnSlot, RateLimit};
use crate::idle::IdleKey;
use crate::metrics::Reject;
use crate::outbox::{Outbox, Pushed};
use crate::ws::frame::{Decoder, Flow, Message as WsMessage};
use crate::ws::{self, ReadError, ReadOutcome, WsStream};

/// A set of shard indices below [`crate::config::MAX_SHARDS`] (two words, 8-byte aligned: a
/// `u128` would be 16-byte aligned and pad the connection context by 8 bytes).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ShardSet([u64; 2]);

impl ShardSet {
    /// Adds `shard`; returns whether it was not in the set yet.
    pub(super) fn insert(&mut self, shard: usize) -> bool {
        let (word, bit) = (shard / 64, 1u64 << (shard % 64));
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }

    pub(super) fn contains(&self, shard: usize) -> bool {
        self.0[shard / 64] & (1u64 << (shard % 64)) != 0
    }
}

/// What one connection has told the shards so far.
pub(super) struct ConnCtx {
    pub(super) conn: ConnId,
    pub(super) outbox: Arc<Outbox>,
    pub(super) facts: NetworkFacts,
    pub(super) admission: Admission,
    /// Shards that saw this connection's `opened` (bit per shard).
    pub(super) touched: ShardSet,
    pub(super) rate: RateLimit,
    /// Payload of a ping to answer (only the latest ping needs an answer).
    pub(super) pending_pong: Option<Box<[u8]>>,
    pub(super) decoder: Decoder,
    /// The connection's entry in the idle sweeper, given back on drop.
    pub(super) idle_key: IdleKey,
    /// Frees the connection slot on drop (also when the upgrade never happens).
    pub(super) slot: ConnSlot,
}

impl Drop for ConnCtx {
    fn drop(&mut self) {
        self.slot.0.idle.deregister(self.idle_key);
    }
}

impl ConnCtx {
    fn send_to_shard(&mut self, app: &AppState, shard: usize, text: String) {
        if self.touched.insert(shard) {
            app.pool.open(
                shard,
                self.conn,
                self.outbox.clone(),
                self.facts.clone(),
                self.admission,
            );
        }
        app.pool.message(shard, self.conn, text);
    }

    fn route(&mut self, app: &AppState, text: String) {
        match meshcdn_tracker::route(&text) {
            Ok(Route::Swarm(info_hash)) => {
                let shard = app.pool.shard_of(&info_hash);
                self.send_to_shard(app, shard, text);
            }
            Ok(Route::Scrape(hashes)) if hashes.is_empty() => {
                for shard in 0..app.pool.len() {
                    self.send_to_shard(app, shard, text.clone());
                }
            }
            Ok(Route::Scrape(hashes)) => {
                let mut by_shard: Vec<(usize, Vec<InfoHash>)> = Vec::new();
                for ih in hashes {
                    let shard = app.pool.shard_of(&ih);
                    match by_shard.iter_mut().find(|(s, _)| *s == shard) {
                        Some((_, list)) => list.push(ih),
                        None => by_shard.push((shard, vec![ih])),
                    }
                }
                if let [(shard, _)] = by_shard.as_slice() {
                    self.send_to_shard(app, *shard, text);
                    return;
                }
                // Each shard answers for its own swarms; the reference client merges the
                // `files` of several scrape responses.
                for (shard, list) in by_shard {
                    self.send_to_shard(app, shard, scrape_request(&list));
                }
            }
            Err(e) => {
                let reject = match e {
                    meshcdn_tracker::ProtocolError::TooLarge { .. } => Reject::TooLarge,
                    _ => Reject::Malformed,
                };
                app.metrics.reject(reject);
                self.reply(app, failure(&e.to_string()));
            }
        }
    }
}

impl ConnCtx {
    /// Queues a reply of the host itself (not of a shard) to this peer.
    fn reply(&self, app: &AppState, text: String) {
        match self.outbox.push(text) {
            Pushed::Overflow => app.metrics.reject(Reject::SlowReader),
            Pushed::Dropped => app.metrics.reject(Reject::QueueFull),
            Pushed::Queued | Pushed::Closed => {}
        }
    }

    /// Reads and decodes what the socket has (see [`ws::poll_read_messages`]).
    pub(super) fn poll_read(
        &mut self,
        cx: &mut std::task::Context<'_>,
        app: &AppState,
        stream: &mut WsStream,
    ) -> std::task::Poll<Result<ReadOutcome, ReadError>> {
        self.decode_with(app, |decoder, on_message| {
            ws::poll_read_messages(cx, stream, decoder, on_message)
        })
    }

    /// Decodes the bytes held back by the decoder: those that came with the upgrade request.
    pub(super) fn decode_held(&mut self, app: &AppState) -> Result<ReadOutcome, ReadError> {
        let decoded = self.decode_with(app, |decoder, on_message| {
            decoder.decode(&mut [], on_message)
        });
        Ok(ReadOutcome::Decoded(decoded?))
    }

    /// Runs `decode` with the decoder taken out of `self`, so that the message handler it is
    /// given can borrow `self`.
    fn decode_with<R>(
        &mut self,
        app: &AppState,
        decode: impl FnOnce(&mut Decoder, &mut dyn FnMut(WsMessage<'_>) -> Flow) -> R,
    ) -> R {
        let mut decoder = std::mem::replace(&mut self.decoder, Decoder::new(0));
        let result = decode(&mut decoder, &mut |m| self.on_message(app, m));
        self.decoder = decoder;
        result
    }

    /// Handles one message from the peer (called while decoding, on the worker's read buffer).
    fn on_message(&mut self, app: &AppState, message: WsMessage<'_>) -> Flow {
        match message {
            WsMessage::Text(text) => {
                self.outbox.touch(app.idle.now_ms());
                app.metrics.messages_in.fetch_add(1, Relaxed);
                let limits = &app.config.limits;
                let (per_sec, burst) =
                    (limits.messages_per_sec as f32, limits.message_burst as f32);
                if !self.rate.allow(app.idle.now_ms(), per_sec, burst) {
                    app.metrics.reject(Reject::RateLimited);
                    self.reply(app, failure("rate limit exceeded; slow down"));
                    return Flow::Continue;
                }
                self.route(app, text.to_owned());
            }
            WsMessage::Binary(_) => {
                app.metrics.reject(Reject::Malformed);
                self.reply(
                    app,
                    failure("binary frames are not part of the protocol; send JSON text"),
                );
            }
            WsMessage::Ping(payload) => {
                self.outbox.touch(app.idle.now_ms());
                self.pending_pong = Some(payload.into());
            }
            WsMessage::Pong => self.outbox.touch(app.idle.now_ms()),
            WsMessage::Close(_) => return Flow::Stop,
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_sets_hold_every_index_up_to_the_maximum() {
        let mut set = ShardSet::default();
        for shard in [0, 1, 63, 64, 65, crate::config::MAX_SHARDS - 1] {
            assert!(!set.contains(shard));
            assert!(set.insert(shard));
            assert!(!set.insert(shard), "already there");
            assert!(set.contains(shard));
        }
        assert!(!set.contains(2) && !set.contains(100));
    }
}
