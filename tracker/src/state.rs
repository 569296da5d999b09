//! Hot upgrade: a tracker's whole state as a versioned document, so a new component version can
//! take over the swarms of the old one (peers, pending offers, links, counters).
//!
//! The encoding is JSON with a `format` tag and a `version`. It stores logical state only
//! (peers, offers, links), never the internal indexes: import rebuilds them, so a new version may
//! lay out its tables differently and still read an old snapshot of the same version.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::TrackerConfig;
use crate::ids::{InfoHash, OfferId, PeerId};
use crate::stats::{Counters, SwarmCounters};
use crate::swarm::{Peer, PeerKey, Swarm};
use crate::tracker::{Admission, ConnId, Link, NetworkFacts, PeerRef, Pending, Tracker};

/// Tag of the snapshot document.
pub const STATE_FORMAT: &str = "meshcdn-tracker-state";
/// The snapshot version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("state is not a meshcdn tracker snapshot: {0}")]
    Decode(String),
    #[error(
        "state snapshot version {0} is not supported (this build reads version {STATE_VERSION})"
    )]
    UnsupportedVersion(u32),
    #[error("state snapshot is inconsistent: {0}")]
    Inconsistent(String),
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    format: String,
    version: u32,
    config: TrackerConfig,
    /// Seed for the importer's generator (drawn from the exporter's, so choices stay varied).
    rng_seed: u64,
    next_key: PeerKey,
    counters: Counters,
    conns: Vec<ConnSnap>,
    swarms: Vec<SwarmSnap>,
    /// In expiry order.
    pending: Vec<PendingSnap>,
    /// In expiry order.
    links: Vec<Link>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnSnap {
    id: ConnId,
    facts: NetworkFacts,
    admission: Admission,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwarmSnap {
    #[serde(with = "crate::ids::hex_serde")]
    info_hash: [u8; 20],
    counters: SwarmCounters,
    peers: Vec<PeerSnap>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerSnap {
    key: PeerKey,
    conn: ConnId,
    #[serde(with = "crate::ids::hex_serde")]
    peer_id: [u8; 20],
    last_seen_ms: u64,
    seeder: bool,
    upload: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reported: Option<u16>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingSnap {
    expires_ms: u64,
    recipient_key: PeerKey,
    sender_key: PeerKey,
    #[serde(with = "crate::ids::hex_serde")]
    info_hash: [u8; 20],
    #[serde(with = "crate::ids::hex_serde")]
    sender_peer_id: [u8; 20],
    #[serde(with = "crate::ids::hex_serde")]
    offer_id: [u8; 20],
}

impl Tracker {
    /// The whole state, for [`Tracker::import_state`] in a newer (or the same) version.
    /// Outbound frames not yet polled are not part of it: drain them first.
    pub fn export_state(&self) -> Vec<u8> {
        let mut conns: Vec<ConnSnap> = self
            .conns
            .iter()
            .map(|(&id, c)| ConnSnap {
                id,
                facts: self.facts_of(&c.net),
                admission: c.admission,
            })
            .collect();
        conns.sort_by_key(|c| c.id);
        let mut swarms: Vec<SwarmSnap> = self
            .swarms
            .iter()
            .map(|(ih, s)| SwarmSnap {
                info_hash: ih.0,
                counters: s.counters,
                peers: s
                    .peers()
                    .map(|(_, p)| PeerSnap {
                        key: p.key,
                        conn: p.conn,
                        peer_id: p.peer_id.0,
                        last_seen_ms: p.last_seen_ms,
                        seeder: p.seeder,
                        upload: p.upload,
                        reported: p.reported(),
                    })
                    .collect(),
            })
            .collect();
        swarms.sort_by_key(|s| s.info_hash);
        let pending = self
            .pending_order
            .iter()
            .filter_map(|(seq, r, o)| self.pending.get(&(*r, *o)).filter(|p| p.seq == *seq))
            .map(|p| PendingSnap {
                expires_ms: p.expires_ms,
                recipient_key: p.recipient.key,
                sender_key: p.sender_key,
                info_hash: p.recipient.ih,
                sender_peer_id: p.sender_peer_id,
                offer_id: p.offer_id,
            })
            .collect();
        let snapshot = Snapshot {
            format: STATE_FORMAT.into(),
            version: STATE_VERSION,
            config: self.config.clone(),
            rng_seed: self.rng.clone().random(),
            next_key: self.next_key,
            counters: self.counters,
            conns,
            swarms,
            pending,
            links: self.links.iter().copied().collect(),
        };
        // Plain structs with string keys: serialization cannot fail.
        serde_json::to_vec(&snapshot).unwrap_or_default()
    }

    /// A tracker taking over from an exported state. Unknown formats or versions are refused.
    pub fn import_state(bytes: &[u8]) -> Result<Self, StateError> {
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| StateError::Decode(e.to_string()))?;
        if header.format != STATE_FORMAT {
            return Err(StateError::Decode(format!("format is {:?}", header.format)));
        }
        if header.version != STATE_VERSION {
            return Err(StateError::UnsupportedVersion(header.version));
        }
        let snap: Snapshot =
            serde_json::from_slice(bytes).map_err(|e| StateError::Decode(e.to_string()))?;
        // Seeded like the exporter's rng, so the hash keys are as unguessable as its seed.
        let mut t = Tracker::new(snap.config, snap.rng_seed);
        t.rng = rand::rngs::SmallRng::seed_from_u64(snap.rng_seed);
        t.counters = snap.counters;
        for c in snap.conns {
            t.connection_opened(c.id, c.facts, c.admission);
        }
        let mut where_is: HashMap<PeerKey, PeerRef> = HashMap::new();
        let mut max_key = 0;
        for s in snap.swarms {
            let ih = InfoHash(s.info_hash);
            let mut swarm = Swarm::new(&t.hash_keys);
            swarm.counters = s.counters;
            for p in s.peers {
                let conn = t.conns.get_mut(&p.conn).ok_or_else(|| {
                    StateError::Inconsistent(format!(
                        "peer {} on unknown connection {}",
                        p.key, p.conn
                    ))
                })?;
                if where_is.contains_key(&p.key) || swarm.slot_of(&PeerId(p.peer_id)).is_some() {
                    return Err(StateError::Inconsistent(format!(
                        "peer {} appears twice",
                        p.key
                    )));
                }
                if conn.swarms.iter().any(|m| m.ih == ih.0) {
                    return Err(StateError::Inconsistent(format!(
                        "connection {} has two peers in one swarm",
                        p.conn
                    )));
                }
                let mut peer =
                    Peer::new(p.key, p.conn, PeerId(p.peer_id), conn.net, p.last_seen_ms);
                peer.seeder = p.seeder;
                peer.upload = p.upload;
                peer.set_reported(p.reported);
                let slot = swarm.insert(peer);
                conn.swarms.push(PeerRef {
                    ih: ih.0,
                    slot,
                    key: p.key,
                });
                where_is.insert(
                    p.key,
                    PeerRef {
                        ih: ih.0,
                        slot,
                        key: p.key,
                    },
                );
                max_key = max_key.max(p.key);
            }
            if !swarm.is_empty() {
                t.swarm_created(&ih);
                t.swarms.insert(ih, swarm);
            }
        }
        t.next_key = snap.next_key.max(max_key + 1);
        for p in snap.pending {
            // Offers to peers that left stay until they expire, as in the exporter (its stats
            // count them); `u32::MAX` is no slot, so they touch no peer.
            let recipient = where_is.get(&p.recipient_key).copied().unwrap_or(PeerRef {
                ih: p.info_hash,
                slot: u32::MAX,
                key: p.recipient_key,
            });
            if recipient.ih != p.info_hash {
                return Err(StateError::Inconsistent(format!(
                    "offer for peer {} in the wrong swarm",
                    p.recipient_key
                )));
            }
            if t.pending
                .contains_key(&(recipient.key, OfferId(p.offer_id)))
            {
                continue;
            }
            t.add_pending(Pending {
                seq: 0,
                expires_ms: p.expires_ms,
                recipient,
                sender_key: p.sender_key,
                sender_peer_id: p.sender_peer_id,
                offer_id: p.offer_id,
            });
        }
        for l in snap.links {
            // Re-resolve slots: they are not stable across an import.
            let a = where_is.get(&l.a.key).copied().unwrap_or(l.a);
            let b = where_is.get(&l.b.key).copied().unwrap_or(l.b);
            t.add_link(Link {
                expires_ms: l.expires_ms,
                a,
                b,
            });
        }
        Ok(t)
    }
}
