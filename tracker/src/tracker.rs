//! The tracker state machine: inputs are `connection_opened`, `handle_message`,
//! `connection_closed` and `expire`, each with the caller's `now_ms`; outputs are drained with
//! [`Tracker::poll_outbound`].

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use crate::config::TrackerConfig;
use crate::fastmap::{HashKeys, IdMap, KeyedMap, hash_keys, keyed_map};
use crate::ids::{InfoHash, OfferId, PeerId};
use crate::protocol::incoming::{
    self, AnnounceEvent, AnnounceRequest, AnswerRequest, InMessage, ScrapeRequest,
};
use crate::protocol::outgoing::{
    self, AnnounceResponse, AnnounceResponseExt, AnswerOut, OfferOut, ScrapeFile, ScrapeResponse,
};
use crate::protocol::{AnnounceAction, Hint, ProtocolError, ScrapeAction};
use crate::stats::{Counters, SwarmStats, TrackerStats};
use crate::swarm::{NetKey, Peer, PeerKey, Sender, Swarm};
use crate::token::{CONTENT_PREFIX_LEN, SwarmGrant, TokenError};

/// The host's id for one WebSocket connection.
pub type ConnId = u64;

/// What the host knows about a connection's network position, from trusted CDN headers or a
/// MaxMind-format database. All optional: unknown facts just match nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkFacts {
    /// Autonomous system number (the viewer's ISP network).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// ISO 3166-1 alpha-2, case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Region or subdivision within the country (e.g. ISO 3166-2 code), case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Continent code (AF, AN, AS, EU, NA, OC, SA), case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
}

/// How a connection was admitted by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Admission {
    /// Public swarms: any info_hash.
    Open,
    /// A verified swarm token: only the swarms its grant admits, while it is valid.
    Token(SwarmGrant),
}

/// One outbound text frame for connection `conn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub conn: ConnId,
    pub text: String,
}

/// Why a request was refused. Every refusal is also sent as a `failure reason` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("connection is not open")]
    UnknownConnection,
    #[error("token refused: {0}")]
    Token(#[from] TokenError),
    #[error("peer_id is in use by another connection")]
    PeerIdTaken,
    #[error("this connection already announced another peer_id in this swarm")]
    SecondPeerId,
    #[error("too many swarms on this connection")]
    TooManySwarms,
    #[error("peer has not announced in this swarm")]
    NotInSwarm,
    #[error("no matching offer for this answer")]
    NoMatchingOffer,
    #[error("too many info_hashes in scrape")]
    TooManyScrapeHashes,
    #[error("scrape needs info_hash (listing every swarm is not served)")]
    ScrapeAll,
    #[error("too many swarms of this content on this connection")]
    TooManyContentSwarmsOnConn,
    #[error("too many swarms of this content")]
    TooManyContentSwarms,
    #[error("tracker shard is near its memory limit: no new swarms or peers; try again later")]
    Degraded,
}

/// Interns network-fact strings so each peer stores small numbers. Bounded: beyond the cap new
/// strings count as unknown (facts come from the host, but a bad database must not grow memory).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

const INTERNER_CAP: usize = 1 << 20;

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        if self.names.len() >= INTERNER_CAP {
            return 0;
        }
        self.names.push(s.to_owned());
        let id = self.names.len() as u32; // 0 is "unknown"
        self.ids.insert(s.to_owned(), id);
        id
    }

    fn name(&self, id: u32) -> Option<&str> {
        id.checked_sub(1)
            .and_then(|i| self.names.get(i as usize))
            .map(String::as_str)
    }
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub net: NetKey,
    pub admission: Admission,
    /// The peers of this connection, one per swarm (small: usually one per rendition watched).
    /// Kept so a close removes them in O(1) each instead of scanning whole swarms.
    pub swarms: Vec<PeerRef>,
}

impl Conn {
    fn member_of(&self, ih: &InfoHash) -> bool {
        self.swarms.iter().any(|m| m.ih == ih.0)
    }

    /// Swarms of `ih`'s content this connection is in.
    fn content_swarms(&self, ih: &InfoHash) -> usize {
        let content = ih.content_part();
        self.swarms
            .iter()
            .filter(|m| InfoHash(m.ih).content_part() == content)
            .count()
    }
}

/// Where a peer lives, with its key to detect slot reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerRef {
    #[serde(with = "crate::ids::hex_serde", rename = "info_hash")]
    pub ih: [u8; 20],
    pub slot: u32,
    pub key: PeerKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub seq: u64,
    pub expires_ms: u64,
    pub recipient: PeerRef,
    pub sender_key: PeerKey,
    #[serde(with = "crate::ids::hex_serde")]
    pub sender_peer_id: [u8; 20],
    #[serde(with = "crate::ids::hex_serde")]
    pub offer_id: [u8; 20],
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Link {
    pub expires_ms: u64,
    pub a: PeerRef,
    pub b: PeerRef,
}

/// Gives a pending offer its place in the eviction order and counts it in the pair table (the
/// caller inserts it and counts the recipient's load). Takes the fields, not the tracker, so the
/// offer loop can call it while it holds the swarm.
fn stamp_pending(
    next_seq: &mut u64,
    order: &mut VecDeque<(u64, PeerKey, OfferId)>,
    pairs: &mut IdMap<(PeerKey, PeerKey), u16>,
    p: &mut Pending,
) {
    p.seq = *next_seq;
    *next_seq += 1;
    order.push_back((p.seq, p.recipient.key, OfferId(p.offer_id)));
    *pairs
        .entry(pair(p.sender_key, p.recipient.key))
        .or_insert(0) += 1;
}

fn pair(a: PeerKey, b: PeerKey) -> (PeerKey, PeerKey) {
    if a < b { (a, b) } else { (b, a) }
}

/// The tracker. See the crate docs and `docs/protocol.md`.
pub struct Tracker {
    pub(crate) config: TrackerConfig,
    pub(crate) rng: SmallRng,
    pub(crate) conns: IdMap<ConnId, Conn>,
    pub(crate) swarms: KeyedMap<InfoHash, Swarm>,
    /// Swarms per content (`max_swarms_per_content`), kept with `swarms` by
    /// [`Self::swarm_created`] and [`Self::swarm_removed`].
    pub(crate) content_swarms: KeyedMap<[u8; CONTENT_PREFIX_LEN], u32>,
    /// Set by the host (see [`Self::set_degraded`]): refuse new swarms and peers.
    pub(crate) degraded: bool,
    pub(crate) interner: Interner,
    /// Relayed offers awaiting an answer, by (recipient, offer_id).
    pub(crate) pending: KeyedMap<(PeerKey, OfferId), Pending>,
    /// The same offers in expiry order (entries already answered are skipped by `seq`).
    pub(crate) pending_order: VecDeque<(u64, PeerKey, OfferId)>,
    /// Pending offers plus live links between two peers (unordered), to avoid offering twice.
    pub(crate) pairs: IdMap<(PeerKey, PeerKey), u16>,
    pub(crate) links: VecDeque<Link>,
    pub(crate) next_key: PeerKey,
    pub(crate) next_seq: u64,
    pub(crate) counters: Counters,
    pub(crate) outbound: VecDeque<Outbound>,
    /// Keys of every [`KeyedMap`] here, each swarm's included.
    pub(crate) hash_keys: HashKeys,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("conns", &self.conns.len())
            .field("swarms", &self.swarms.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// A tracker with `config` (clamped to the hard caps) whose random choices derive from `seed`.
    pub fn new(config: TrackerConfig, seed: u64) -> Self {
        let keys = hash_keys(seed);
        Self {
            config: config.validated(),
            rng: SmallRng::seed_from_u64(seed),
            conns: IdMap::default(),
            swarms: keyed_map(&keys),
            content_swarms: keyed_map(&keys),
            degraded: false,
            interner: Interner::default(),
            pending: keyed_map(&keys),
            pending_order: VecDeque::new(),
            pairs: IdMap::default(),
            links: VecDeque::new(),
            next_key: 1,
            next_seq: 1,
            counters: Counters::default(),
            outbound: VecDeque::new(),
            hash_keys: keys,
        }
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Degraded mode, switched by the host when the tracker's memory nears its cap: announces
    /// that would add a swarm or a peer are refused ([`RequestError::Degraded`]); peers already
    /// in swarms keep announcing, offering and answering, and leaving frees memory as usual.
    pub fn set_degraded(&mut self, degraded: bool) {
        self.degraded = degraded;
    }

    pub fn is_degraded(&self) -> bool {
        self.degraded
    }

    // ---- inputs ----

    /// Registers a connection. Calling it again for an open connection replaces its facts and
    /// admission (e.g. after a token refresh); its peers keep the network position they joined with.
    pub fn connection_opened(&mut self, conn: ConnId, facts: NetworkFacts, admission: Admission) {
        let net = self.net_key(&facts);
        match self.conns.get_mut(&conn) {
            Some(c) => {
                c.net = net;
                c.admission = admission;
            }
            None => {
                self.conns.insert(
                    conn,
                    Conn {
                        net,
                        admission,
                        swarms: Vec::new(),
                    },
                );
            }
        }
    }

    /// Handles one inbound text frame. Bad input queues a `failure reason` reply (never a panic).
    pub fn handle_message(&mut self, conn: ConnId, text: &str, now_ms: u64) {
        self.counters.messages += 1;
        let result = match incoming::parse(text, self.config.max_message_bytes) {
            Ok(InMessage::Announce(req)) => self.announce(conn, req, now_ms),
            Ok(InMessage::Answer(req)) => self.answer(conn, req, now_ms),
            Ok(InMessage::Scrape(req)) => self.scrape(conn, req, now_ms),
            Err(e) => Err((RequestError::Protocol(e), incoming::hint(text))),
        };
        if let Err((error, hint)) = result {
            self.reject(conn, &error, hint);
        }
    }

    /// The connection is gone: its peers leave all their swarms (like `stopped`).
    pub fn connection_closed(&mut self, conn: ConnId, _now_ms: u64) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        for m in c.swarms {
            let ih = InfoHash(m.ih);
            let Some(swarm) = self.swarms.get_mut(&ih) else {
                continue;
            };
            if swarm.get_keyed_mut(m.slot, m.key).is_some() {
                swarm.remove(m.slot);
            }
            if swarm.is_empty() {
                self.swarms.remove(&ih);
                self.swarm_removed(&ih);
            }
        }
    }

    /// Drops peers that stopped announcing, unanswered offers and stale links. Call it
    /// periodically (every few seconds); cost is linear in peers.
    pub fn expire(&mut self, now_ms: u64) {
        while let Some(&(seq, recipient, offer_id)) = self.pending_order.front() {
            let Some(p) = self.pending.get(&(recipient, offer_id)) else {
                self.pending_order.pop_front();
                continue;
            };
            if p.seq != seq {
                self.pending_order.pop_front();
                continue;
            }
            if p.expires_ms > now_ms {
                break;
            }
            self.pending_order.pop_front();
            self.drop_pending(recipient, offer_id);
            self.counters.offers_expired += 1;
        }
        while self.links.front().is_some_and(|l| l.expires_ms <= now_ms) {
            if let Some(link) = self.links.pop_front() {
                self.drop_link(link);
            }
        }
        let timeout = self.config.peer_timeout_ms;
        let mut gone: Vec<(ConnId, InfoHash)> = Vec::new();
        let mut emptied: Vec<InfoHash> = Vec::new();
        self.swarms.retain(|ih, swarm| {
            let stale: Vec<u32> = swarm
                .peers()
                .filter(|(_, p)| p.last_seen_ms.saturating_add(timeout) <= now_ms)
                .map(|(s, _)| s)
                .collect();
            for slot in stale {
                if let Some(p) = swarm.remove(slot) {
                    gone.push((p.conn, *ih));
                }
            }
            if swarm.is_empty() {
                emptied.push(*ih);
            }
            !swarm.is_empty()
        });
        for ih in emptied {
            self.swarm_removed(&ih);
        }
        self.counters.peers_expired += gone.len() as u64;
        for (conn, ih) in gone {
            self.forget_membership(conn, &ih);
        }
    }

    // ---- outputs ----

    /// The next outbound frame, if any. Drain after every input.
    #[must_use]
    pub fn poll_outbound(&mut self) -> Option<Outbound> {
        self.outbound.pop_front()
    }

    /// Counts per swarm and totals, for the host to export.
    pub fn stats(&self) -> TrackerStats {
        let mut swarms: Vec<SwarmStats> = self
            .swarms
            .iter()
            .map(|(ih, s)| SwarmStats {
                info_hash: ih.to_hex(),
                peers: s.len() as u64,
                seeders: u64::from(s.seeders),
                leechers: u64::from(s.leechers()),
                counters: s.counters,
            })
            .collect();
        swarms.sort_by(|a, b| a.info_hash.cmp(&b.info_hash));
        let peers = swarms.iter().map(|s| s.peers).sum();
        let seeders = swarms.iter().map(|s| s.seeders).sum();
        TrackerStats {
            connections: self.conns.len() as u64,
            swarm_count: swarms.len() as u64,
            peers,
            seeders,
            leechers: peers - seeders,
            pending_offers: self.pending.len() as u64,
            links: self.links.len() as u64,
            counters: self.counters,
            degraded: u64::from(self.degraded),
            swarms,
        }
    }

    // ---- internals ----

    fn net_key(&mut self, f: &NetworkFacts) -> NetKey {
        let norm = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_uppercase)
        };
        let country = norm(&f.country);
        let region = norm(&f.region);
        let continent = norm(&f.continent);
        NetKey {
            asn: f.asn.unwrap_or(0),
            country: country
                .as_deref()
                .map_or(0, |c| self.interner.intern(&format!("c:{c}"))),
            region: match (&country, &region) {
                (Some(c), Some(r)) => self.interner.intern(&format!("r:{c}\0{r}")),
                _ => 0,
            },
            continent: continent
                .as_deref()
                .map_or(0, |c| self.interner.intern(&format!("k:{c}"))),
        }
    }

    pub(crate) fn facts_of(&self, net: &NetKey) -> NetworkFacts {
        let strip = |id: u32, prefix: &str| {
            self.interner
                .name(id)
                .and_then(|s| s.strip_prefix(prefix))
                .map(str::to_owned)
        };
        NetworkFacts {
            asn: (net.asn != 0).then_some(net.asn),
            country: strip(net.country, "c:"),
            region: strip(net.region, "r:")
                .and_then(|s| s.split_once('\0').map(|(_, r)| r.to_owned())),
            continent: strip(net.continent, "k:"),
        }
    }

    fn send<T: Serialize>(&mut self, conn: ConnId, msg: &T) {
        self.outbound.push_back(Outbound {
            conn,
            text: outgoing::to_text(msg),
        });
    }

    fn reject(&mut self, conn: ConnId, error: &RequestError, hint: Hint) {
        self.counters.rejects += 1;
        if let Some(ih) = hint.info_hash
            && let Some(s) = self.swarms.get_mut(&ih)
        {
            s.counters.rejects += 1;
        }
        tracing::debug!(conn, %error, "request refused");
        let text = outgoing::failure_for(&error.to_string(), hint);
        self.outbound.push_back(Outbound { conn, text });
    }

    fn admit(&self, conn: ConnId, ih: &InfoHash, now_ms: u64) -> Result<&Conn, RequestError> {
        let c = self
            .conns
            .get(&conn)
            .ok_or(RequestError::UnknownConnection)?;
        if let Admission::Token(grant) = &c.admission {
            grant.admits(ih, now_ms)?;
        }
        Ok(c)
    }

    pub(crate) fn swarm_created(&mut self, ih: &InfoHash) {
        *self.content_swarms.entry(ih.content_part()).or_insert(0) += 1;
    }

    fn swarm_removed(&mut self, ih: &InfoHash) {
        let content = ih.content_part();
        if let Some(n) = self.content_swarms.get_mut(&content) {
            *n -= 1;
            if *n == 0 {
                self.content_swarms.remove(&content);
            }
        }
    }

    /// Whether `conn` may join `ih`'s swarm as a new peer (it is not in it yet).
    fn may_join(&self, conn: ConnId, ih: &InfoHash) -> Result<(), RequestError> {
        let c = self
            .conns
            .get(&conn)
            .ok_or(RequestError::UnknownConnection)?;
        if self.degraded {
            return Err(RequestError::Degraded);
        }
        if c.swarms.len() >= self.config.max_swarms_per_conn {
            return Err(RequestError::TooManySwarms);
        }
        if c.content_swarms(ih) >= self.config.max_swarms_per_content_per_conn {
            return Err(RequestError::TooManyContentSwarmsOnConn);
        }
        let content_full = self
            .content_swarms
            .get(&ih.content_part())
            .is_some_and(|&n| n as usize >= self.config.max_swarms_per_content);
        if content_full && !self.swarms.contains_key(ih) {
            return Err(RequestError::TooManyContentSwarms);
        }
        Ok(())
    }

    fn forget_membership(&mut self, conn: ConnId, ih: &InfoHash) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.swarms.retain(|m| m.ih != ih.0);
        }
    }

    fn drop_pending(&mut self, recipient: PeerKey, offer_id: OfferId) {
        if let Some(p) = self.pending.remove(&(recipient, offer_id)) {
            self.forget_pending(&p);
        }
    }

    /// What a pending offer taken out of the table still holds: its pair count, the recipient's load.
    fn forget_pending(&mut self, p: &Pending) {
        self.unpair(p.sender_key, p.recipient.key);
        if let Some(peer) = self.peer_mut(p.recipient) {
            peer.pending_in = peer.pending_in.saturating_sub(1);
        }
    }

    /// Drops the oldest pending offer (counted as evicted); false when there is none.
    fn evict_oldest_pending(&mut self) -> bool {
        while let Some((seq, recipient, offer_id)) = self.pending_order.pop_front() {
            // Entries of offers answered or expired since are stale: skip them.
            if let Entry::Occupied(e) = self.pending.entry((recipient, offer_id))
                && e.get().seq == seq
            {
                let p = e.remove();
                self.forget_pending(&p);
                self.counters.offers_evicted += 1;
                return true;
            }
        }
        false
    }

    fn drop_link(&mut self, link: Link) {
        self.unpair(link.a.key, link.b.key);
        for end in [link.a, link.b] {
            if let Some(peer) = self.peer_mut(end) {
                peer.links = peer.links.saturating_sub(1);
            }
        }
    }

    /// A client reported that its connection with the other peer failed or closed: the newest
    /// link between them goes now (with its load on both), so the pair can be offered again.
    /// Scans the links from the newest end: reports come seconds after the answer, so the link is
    /// near the back, and reports are rare and capped per announce.
    fn forget_link(&mut self, a: PeerKey, b: PeerKey) {
        let k = pair(a, b);
        if let Some(i) = self.links.iter().rposition(|l| pair(l.a.key, l.b.key) == k)
            && let Some(link) = self.links.remove(i)
        {
            self.drop_link(link);
        }
    }

    fn unpair(&mut self, a: PeerKey, b: PeerKey) {
        let k = pair(a, b);
        if let Some(n) = self.pairs.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                self.pairs.remove(&k);
            }
        }
    }

    fn peer_mut(&mut self, r: PeerRef) -> Option<&mut Peer> {
        self.swarms
            .get_mut(&InfoHash(r.ih))?
            .get_keyed_mut(r.slot, r.key)
    }

    fn announce(
        &mut self,
        conn: ConnId,
        req: AnnounceRequest,
        now_ms: u64,
    ) -> Result<(), (RequestError, Hint)> {
        let ih = req.info_hash;
        let hint = Hint::announce(ih);
        let c = self.admit(conn, &ih, now_ms).map_err(|e| (e, hint))?;
        let net = c.net;
        let in_swarm = c.member_of(&ih);
        self.counters.announces += 1;

        let existing = self
            .swarms
            .get(&ih)
            .and_then(|s| s.slot_of(&req.peer_id).map(|slot| (slot, s)));
        let joins = existing.is_none();
        let slot = match existing {
            Some((slot, swarm)) => {
                // Peers see each other's ids: only the connection that first used one may speak for it.
                if swarm.get(slot).is_some_and(|p| p.conn != conn) {
                    return Err((RequestError::PeerIdTaken, hint));
                }
                Some(slot)
            }
            None if in_swarm => return Err((RequestError::SecondPeerId, hint)),
            None if req.event == AnnounceEvent::Stopped => None,
            None => {
                self.may_join(conn, &ih).map_err(|e| (e, hint))?;
                let key = self.next_key;
                self.next_key += 1;
                if !self.swarms.contains_key(&ih) {
                    self.swarm_created(&ih);
                }
                let keys = &self.hash_keys;
                let swarm = self
                    .swarms
                    .entry(ih)
                    .or_insert_with(|| Swarm::new(keys));
                let slot = swarm.insert(Peer::new(key, conn, req.peer_id, net, now_ms));
                if let Some(c) = self.conns.get_mut(&conn) {
                    // Most connections are in one swarm: do not let Vec round the first push up to 4.
                    c.swarms.reserve_exact(1);
                    c.swarms.push(PeerRef {
                        ih: ih.0,
                        slot,
                        key,
                    });
                }
                Some(slot)
            }
        };

        let Some(slot) = slot else {
            // `stopped` from a peer we do not know: nothing to remove, still answer with counts.
            self.send_announce_response(conn, ih);
            return Ok(());
        };
        let swarm = self
            .swarms
            .get_mut(&ih)
            .expect("swarm exists: the peer was found or inserted in it");
        swarm.counters.announces += 1;

        if req.event == AnnounceEvent::Stopped {
            swarm.remove(slot);
            if swarm.is_empty() {
                self.swarms.remove(&ih);
                self.swarm_removed(&ih);
            }
            self.forget_membership(conn, &ih);
            self.send_announce_response(conn, ih);
            return Ok(());
        }

        let seeder = req.left == Some(0) || req.event == AnnounceEvent::Completed;
        if req.event == AnnounceEvent::Completed {
            swarm.counters.completed += 1;
        }
        swarm.set_seeder(slot, seeder);
        let peer = swarm
            .get_mut(slot)
            .expect("slot is live: found or inserted above");
        peer.last_seen_ms = now_ms;
        if let Some(upload) = req.ext.upload {
            peer.upload = upload;
        }
        if req.ext.peers.is_some() {
            peer.set_reported(req.ext.peers);
        }
        let sender = Sender {
            key: peer.key,
            net: peer.net,
            seeder: peer.seeder,
        };
        let sender_peer_id = peer.peer_id;
        // Read while the swarm is held (each lookup of it hashes a client-chosen id).
        let counts = (swarm.seeders, swarm.leechers());
        let failed: Vec<PeerKey> = req
            .ext
            .failed
            .iter()
            .filter_map(|id| swarm.slot_of(id).and_then(|slot| swarm.get(slot)))
            .map(|p| p.key)
            .collect();
        // A joining peer learns what the host saw of its network (for its analytics beacons).
        let net_facts = joins.then(|| self.facts_of(&net));
        self.send_announce_response_with(conn, ih, counts, net_facts);
        for other in failed {
            self.forget_link(sender.key, other);
        }

        let n = req
            .offers
            .len()
            .min(self.config.max_offers)
            .min(req.numwant.map_or(usize::MAX, |n| n as usize))
            // Never more than the pending table holds (it is made room for below).
            .min(self.config.max_pending_offers);
        // Room for this announce's offers first (the oldest pending ones go), so that the loop
        // holds the swarm once rather than looking it up again for every offer: the pending
        // table is full under sustained load, and each lookup hashes a client-chosen key.
        while self.pending.len() + n > self.config.max_pending_offers && self.evict_oldest_pending()
        {
        }
        let Some(swarm) = self.swarms.get_mut(&ih) else {
            return Ok(());
        };
        let dedupe = self.config.offer_dedupe;
        let cap = u32::from(self.config.max_peers_per_viewer);
        let expires_ms = now_ms.saturating_add(self.config.offer_timeout_ms);
        for offer in req.offers.iter().take(n) {
            let pairs = &self.pairs;
            let Some(to) = swarm.pick(sender, cap, &mut self.rng, |a, b| {
                dedupe && pairs.contains_key(&pair(a, b))
            }) else {
                break; // nobody eligible is left for this sender
            };
            let recipient = swarm.get_mut(to).expect("pick returns live slots");
            let (to_key, to_conn) = (recipient.key, recipient.conn);
            let Entry::Vacant(entry) = self.pending.entry((to_key, offer.offer_id)) else {
                continue; // an offer_id collision must not overwrite someone else's pending offer
            };
            recipient.pending_in = recipient.pending_in.saturating_add(1);
            let mut p = Pending {
                seq: 0,
                expires_ms,
                recipient: PeerRef {
                    ih: ih.0,
                    slot: to,
                    key: to_key,
                },
                sender_key: sender.key,
                sender_peer_id: sender_peer_id.0,
                offer_id: offer.offer_id.0,
            };
            stamp_pending(
                &mut self.next_seq,
                &mut self.pending_order,
                &mut self.pairs,
                &mut p,
            );
            entry.insert(p);
            swarm.counters.offers_relayed += 1;
            self.counters.offers_relayed += 1;
            let out = OfferOut {
                action: AnnounceAction::Announce,
                info_hash: ih,
                peer_id: sender_peer_id,
                offer_id: offer.offer_id,
                offer: &offer.offer,
            };
            self.outbound.push_back(Outbound {
                conn: to_conn,
                text: outgoing::to_text(&out),
            });
        }
        Ok(())
    }

    /// Records a relayed offer (evicting the oldest beyond the cap) and counts it in the
    /// recipient's load and the pair table.
    pub(crate) fn add_pending(&mut self, mut p: Pending) {
        while self.pending.len() >= self.config.max_pending_offers && self.evict_oldest_pending() {}
        stamp_pending(
            &mut self.next_seq,
            &mut self.pending_order,
            &mut self.pairs,
            &mut p,
        );
        if let Some(peer) = self.peer_mut(p.recipient) {
            peer.pending_in = peer.pending_in.saturating_add(1);
        }
        self.pending
            .insert((p.recipient.key, OfferId(p.offer_id)), p);
    }

    pub(crate) fn add_link(&mut self, link: Link) {
        // Bounded like the pending table: the oldest link is forgotten first.
        if self.links.len() >= self.config.max_pending_offers
            && let Some(old) = self.links.pop_front()
        {
            self.drop_link(old);
        }
        *self.pairs.entry(pair(link.a.key, link.b.key)).or_insert(0) += 1;
        for end in [link.a, link.b] {
            if let Some(peer) = self.peer_mut(end) {
                peer.links = peer.links.saturating_add(1);
            }
        }
        self.links.push_back(link);
    }

    fn answer(
        &mut self,
        conn: ConnId,
        req: AnswerRequest,
        now_ms: u64,
    ) -> Result<(), (RequestError, Hint)> {
        let ih = req.info_hash;
        let hint = Hint::announce(ih);
        self.admit(conn, &ih, now_ms).map_err(|e| (e, hint))?;
        self.counters.answers += 1;
        let swarm = self
            .swarms
            .get_mut(&ih)
            .ok_or((RequestError::NotInSwarm, hint))?;
        let slot = swarm
            .slot_of(&req.peer_id)
            .ok_or((RequestError::NotInSwarm, hint))?;
        let answerer = swarm.get_mut(slot).expect("by_id holds live slots");
        if answerer.conn != conn {
            return Err((RequestError::PeerIdTaken, hint));
        }
        answerer.last_seen_ms = now_ms;
        let answerer_ref = PeerRef {
            ih: ih.0,
            slot,
            key: answerer.key,
        };
        // Only an answer to an offer we relayed to this very peer, from the peer it names.
        let p = match self.pending.entry((answerer_ref.key, req.offer_id)) {
            Entry::Occupied(e) if e.get().sender_peer_id == req.to_peer_id.0 => e.remove(),
            _ => return Err((RequestError::NoMatchingOffer, hint)),
        };
        self.forget_pending(&p);
        let swarm = self.swarms.get_mut(&ih).expect("answerer's swarm exists");
        let sender = swarm
            .slot_of(&req.to_peer_id)
            .and_then(|s| swarm.get(s).map(|peer| (s, peer)));
        let Some((sender_slot, sender)) = sender.filter(|(_, peer)| peer.key == p.sender_key)
        else {
            // The offerer left after offering; the answer has nowhere to go.
            return Err((RequestError::NoMatchingOffer, hint));
        };
        let sender_conn = sender.conn;
        let sender_ref = PeerRef {
            ih: ih.0,
            slot: sender_slot,
            key: sender.key,
        };
        swarm.counters.answers_relayed += 1;
        self.counters.answers_relayed += 1;
        let out = AnswerOut {
            action: AnnounceAction::Announce,
            info_hash: ih,
            peer_id: req.peer_id,
            offer_id: req.offer_id,
            answer: &req.answer,
        };
        self.outbound.push_back(Outbound {
            conn: sender_conn,
            text: outgoing::to_text(&out),
        });
        self.add_link(Link {
            expires_ms: now_ms.saturating_add(self.config.link_timeout_ms),
            a: sender_ref,
            b: answerer_ref,
        });
        Ok(())
    }

    fn scrape(
        &mut self,
        conn: ConnId,
        req: ScrapeRequest,
        now_ms: u64,
    ) -> Result<(), (RequestError, Hint)> {
        let hint = Hint::scrape(req.info_hashes.first().copied());
        let c = self
            .conns
            .get(&conn)
            .ok_or((RequestError::UnknownConnection, hint))?;
        if req.info_hashes.is_empty() {
            return Err((RequestError::ScrapeAll, hint));
        }
        if req.info_hashes.len() > self.config.max_scrape {
            return Err((RequestError::TooManyScrapeHashes, hint));
        }
        self.counters.scrapes += 1;
        let admission = c.admission;
        let file = |s: &Swarm| ScrapeFile {
            complete: s.seeders,
            incomplete: s.leechers(),
            downloaded: s.counters.completed,
        };
        // Only swarms that exist are listed: the reply is never larger than the swarms it
        // reports, and unknown ids cost nothing.
        let mut files = Vec::new();
        for ih in &req.info_hashes {
            if let Admission::Token(g) = &admission {
                g.admits(ih, now_ms)
                    .map_err(|e| (RequestError::Token(e), Hint::scrape(Some(*ih))))?;
            }
            if let Some(s) = self.swarms.get(ih) {
                files.push((*ih, file(s)));
            }
        }
        self.send(
            conn,
            &ScrapeResponse {
                action: ScrapeAction::Scrape,
                files,
            },
        );
        Ok(())
    }

    fn send_announce_response(&mut self, conn: ConnId, ih: InfoHash) {
        let counts = self
            .swarms
            .get(&ih)
            .map_or((0, 0), |s| (s.seeders, s.leechers()));
        self.send_announce_response_with(conn, ih, counts, None);
    }

    /// The reply to an announce, with the swarm's `(complete, incomplete)` counts.
    fn send_announce_response_with(
        &mut self,
        conn: ConnId,
        ih: InfoHash,
        (complete, incomplete): (u32, u32),
        net: Option<NetworkFacts>,
    ) {
        let msg = AnnounceResponse {
            action: AnnounceAction::Announce,
            info_hash: ih,
            complete,
            incomplete,
            interval: self.config.announce_interval_secs,
            meshcdn: net
                .filter(|n| *n != NetworkFacts::default())
                .map(|net| AnnounceResponseExt { net }),
        };
        self.send(conn, &msg);
    }

    /// Approximate bytes of tracker state (tables and their heap), SDP excluded (never stored).
    pub fn state_bytes(&self) -> usize {
        use std::mem::size_of;
        let mut bytes = self.swarms.capacity() * (size_of::<InfoHash>() + size_of::<Swarm>() + 1);
        bytes += self.swarms.values().map(Swarm::heap_bytes).sum::<usize>();
        bytes += self.content_swarms.capacity() * (CONTENT_PREFIX_LEN + 4 + 1);
        bytes += self.conns.capacity() * (size_of::<ConnId>() + size_of::<Conn>() + 1);
        bytes += self
            .conns
            .values()
            .map(|c| c.swarms.capacity() * size_of::<PeerRef>())
            .sum::<usize>();
        bytes +=
            self.pending.capacity() * (size_of::<(PeerKey, OfferId)>() + size_of::<Pending>() + 1);
        bytes += self.pending_order.capacity() * size_of::<(u64, PeerKey, OfferId)>();
        bytes += self.pairs.capacity() * (size_of::<(PeerKey, PeerKey)>() + 2 + 1);
        bytes += self.links.capacity() * size_of::<Link>();
        bytes
    }

    /// The peer ids of `info_hash`'s swarm (for tests and diagnostics).
    pub fn swarm_peers(&self, info_hash: &InfoHash) -> Vec<PeerId> {
        self.swarms
            .get(info_hash)
            .map(|s| s.peers().map(|(_, p)| p.peer_id).collect())
            .unwrap_or_default()
    }
}
