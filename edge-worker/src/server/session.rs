//! Per-connection state ([`ConnCtx`]): decodes what the peer sends, applies the rate limit and
//! routes each message to the shard owning its swarm.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use meshcdn_tracker::protocol::Hint;
use meshcdn_tracker::protocol::outgoing::{failure, failure_for, scrape_request};
use meshcdn_tracker::{Admission, ConnId, InfoHash, NetworkFacts, RequestError, Route};

use super::AppState;
use super::limits::{ConnSlot, RateLimit};
use crate::idle::IdleKey;
use crate::metrics::Reject;
use crate::outbox::Outbox;
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

/// The tracker bounds the host applies itself, across shards (each shard's tracker applies the
/// same numbers to its own part only): from the `tracker` table, clamped as the tracker does.
#[derive(Debug, Clone, Copy)]
pub(super) struct HostTrackerLimits {
    pub(super) max_scrape: usize,
    pub(super) max_swarms_per_conn: usize,
    pub(super) max_swarms_per_content_per_conn: usize,
}

impl From<&meshcdn_tracker::TrackerConfig> for HostTrackerLimits {
    fn from(c: &meshcdn_tracker::TrackerConfig) -> Self {
        let c = c.clone().validated();
        Self {
            max_scrape: c.max_scrape,
            max_swarms_per_conn: c.max_swarms_per_conn,
            max_swarms_per_content_per_conn: c.max_swarms_per_content_per_conn,
        }
    }
}

/// The swarms a connection announced to and has not left (`stopped`), on whichever shards
/// they live: a client cannot get `max_swarms_per_conn` per shard by spreading its swarms.
/// Counted from what the connection sent, so a swarm a shard refused still counts until the
/// connection leaves it; a well-behaved client never gets near the bound.
#[derive(Debug, Default)]
pub(super) struct JoinedSwarms(Vec<InfoHash>);

impl JoinedSwarms {
    /// Records an announce to `ih`, or refuses one swarm too many.
    pub(super) fn join(
        &mut self,
        ih: &InfoHash,
        limits: &HostTrackerLimits,
    ) -> Result<(), RequestError> {
        if self.0.contains(ih) {
            return Ok(());
        }
        if self.0.len() >= limits.max_swarms_per_conn {
            return Err(RequestError::TooManySwarms);
        }
        let content = ih.content_part();
        let same_content = self
            .0
            .iter()
            .filter(|j| j.content_part() == content)
            .count();
        if same_content >= limits.max_swarms_per_content_per_conn {
            return Err(RequestError::TooManyContentSwarmsOnConn);
        }
        self.0.push(*ih);
        Ok(())
    }

    pub(super) fn leave(&mut self, ih: &InfoHash) {
        self.0.retain(|j| j != ih);
        if self.0.is_empty() {
            // An idle connection between two swarms keeps no allocation.
            self.0 = Vec::new();
        }
    }
}

/// What one connection has told the shards so far.
pub(super) struct ConnCtx {
    pub(super) conn: ConnId,
    pub(super) outbox: Arc<Outbox>,
    /// Boxed, and only when there are any: most hosts know nothing of their viewers' networks,
    /// and the facts would be 80 bytes of every connection's context.
    pub(super) facts: Option<Box<NetworkFacts>>,
    pub(super) admission: Admission,
    /// Shards that saw this connection's `opened` (bit per shard).
    pub(super) touched: ShardSet,
    pub(super) swarms: JoinedSwarms,
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
        self.slot.app.idle.deregister(self.idle_key);
    }
}

impl ConnCtx {
    fn send_to_shard(&mut self, app: &AppState, shard: usize, text: String) {
        if self.touched.insert(shard) {
            app.pool.open(
                shard,
                self.conn,
                self.outbox.clone(),
                self.facts.as_deref().cloned().unwrap_or_default(),
                self.admission,
            );
        }
        app.pool.message(shard, self.conn, text);
    }

    fn route(&mut self, app: &AppState, text: String) {
        let routed = match meshcdn_tracker::route_full(&text) {
            Ok(routed) => routed,
            Err(e) => {
                let reject = match e {
                    meshcdn_tracker::ProtocolError::TooLarge { .. } => Reject::TooLarge,
                    _ => Reject::Malformed,
                };
                app.metrics.reject(reject);
                self.reply(app, failure(&e.to_string()));
                return;
            }
        };
        match routed.route {
            Route::Swarm(info_hash) => {
                if routed.stopped {
                    self.swarms.leave(&info_hash);
                } else if !routed.answer
                    && let Err(e) = self.swarms.join(&info_hash, &app.tracker_limits)
                {
                    app.metrics.reject(Reject::SwarmLimit);
                    self.reply(app, failure_for(&e.to_string(), Hint::announce(info_hash)));
                    return;
                }
                let shard = app.pool.shard_of(&info_hash);
                self.send_to_shard(app, shard, text);
            }
            Route::Scrape(hashes) => self.scrape(app, text, hashes),
        }
    }

    /// A scrape is bounded here, before it is split over the shards: listing every swarm is
    /// refused (it would ask every shard for everything), so is a list over `tracker.max_scrape`.
    fn scrape(&mut self, app: &AppState, text: String, mut hashes: Vec<InfoHash>) {
        let listed = hashes.len();
        hashes.sort_unstable_by_key(|h| h.0);
        hashes.dedup();
        let refused = if hashes.is_empty() {
            Some(RequestError::ScrapeAll)
        } else if hashes.len() > app.tracker_limits.max_scrape {
            Some(RequestError::TooManyScrapeHashes)
        } else {
            None
        };
        if let Some(e) = refused {
            app.metrics.reject(Reject::ScrapeLimit);
            self.reply(app, failure_for(&e.to_string(), Hint::scrape(None)));
            return;
        }
        let mut by_shard: Vec<(usize, Vec<InfoHash>)> = Vec::new();
        for ih in hashes {
            let shard = app.pool.shard_of(&ih);
            match by_shard.iter_mut().find(|(s, _)| *s == shard) {
                Some((_, list)) => list.push(ih),
                None => by_shard.push((shard, vec![ih])),
            }
        }
        if let [(shard, list)] = by_shard.as_slice()
            && list.len() == listed
        {
            self.send_to_shard(app, *shard, text);
            return;
        }
        // Each shard answers for its own swarms; the reference client merges the `files` of
        // several scrape responses.
        for (shard, list) in by_shard {
            self.send_to_shard(app, shard, scrape_request(&list));
        }
    }
}

impl ConnCtx {
    /// Queues a reply of the host itself (not of a shard) to this peer.
    fn reply(&self, app: &AppState, text: String) {
        app.metrics
            .pushed(self.outbox.push(text, &app.metrics.queued));
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

    fn rendition(content: u8, r: u8) -> InfoHash {
        let mut b = [content; 20];
        b[19] = r;
        InfoHash(b)
    }

    #[test]
    fn joined_swarms_bound_swarms_and_renditions_per_content_and_free_on_leave() {
        let limits = HostTrackerLimits {
            max_scrape: 10,
            max_swarms_per_conn: 4,
            max_swarms_per_content_per_conn: 2,
        };
        let mut j = JoinedSwarms::default();
        j.join(&rendition(1, 0), &limits).unwrap();
        j.join(&rendition(1, 1), &limits).unwrap();
        j.join(&rendition(1, 1), &limits)
            .expect("re-announce: already in");
        assert_eq!(
            j.join(&rendition(1, 2), &limits),
            Err(RequestError::TooManyContentSwarmsOnConn)
        );
        j.join(&rendition(2, 0), &limits).unwrap();
        j.join(&rendition(3, 0), &limits).unwrap();
        assert_eq!(
            j.join(&rendition(4, 0), &limits),
            Err(RequestError::TooManySwarms)
        );
        j.leave(&rendition(1, 0));
        j.join(&rendition(4, 0), &limits)
            .expect("a left swarm frees its place");
        assert_eq!(
            j.join(&rendition(1, 2), &limits),
            Err(RequestError::TooManySwarms)
        );
    }
}
