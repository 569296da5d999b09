//! Swarm storage and network-aware peer selection.
//!
//! A swarm keeps its peers in a slab (`slot` = index, reused after removal) and, for selection,
//! buckets of slots by network group: ASN, country+region, country, continent, and everyone.
//! Each peer remembers its position in every bucket, so joins and leaves are O(1) (swap-remove).
//! Peers are identified across tables by a [`PeerKey`] that is never reused, so stale references
//! (pending offers, links) to a departed peer are recognised instead of hitting its successor.

use rand::Rng;
use rand::rngs::SmallRng;

use crate::ConnId;
use crate::fastmap::{HashKeys, IdMap, KeyedMap, keyed_map};
use crate::ids::PeerId;

/// Unique per swarm membership, never reused within one tracker's lifetime.
pub(crate) type PeerKey = u64;

/// Network position of a connection, interned (0 = unknown; unknown never matches anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct NetKey {
    pub asn: u32,
    /// Interned "COUNTRY\0region", so the bucket key is one number.
    pub region: u32,
    pub country: u32,
    pub continent: u32,
}

impl NetKey {
    fn group(&self, level: usize) -> u32 {
        match level {
            0 => self.asn,
            1 => self.region,
            2 => self.country,
            _ => self.continent,
        }
    }
}

/// Network groups in order of preference (the last level, "anyone", is `Swarm::all`).
const GROUP_LEVELS: usize = 4;
const NO_POS: u32 = u32::MAX;
const NO_REPORT: u16 = u16::MAX;
/// Buckets up to this size are scanned whole; larger ones are sampled.
const FULL_SCAN_MAX: usize = 48;
/// Candidates drawn from a large bucket; the least loaded eligible one wins ("power of d
/// choices": spreads load without scanning thousands of peers per offer).
const SAMPLES: usize = 8;

#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub key: PeerKey,
    pub conn: ConnId,
    pub last_seen_ms: u64,
    pub peer_id: PeerId,
    pub net: NetKey,
    /// Position in each group bucket and in `all` (index GROUP_LEVELS).
    pos: [u32; GROUP_LEVELS + 1],
    /// Offers relayed to this peer and not yet answered or expired.
    pub pending_in: u16,
    /// Answered offers within `link_timeout_ms`, either side.
    pub links: u16,
    /// Peer count the client reported (`meshcdn.peers`), or NO_REPORT.
    reported: u16,
    pub seeder: bool,
    pub upload: bool,
}

impl Peer {
    pub fn new(key: PeerKey, conn: ConnId, peer_id: PeerId, net: NetKey, now_ms: u64) -> Self {
        Self {
            key,
            conn,
            last_seen_ms: now_ms,
            peer_id,
            net,
            pos: [NO_POS; GROUP_LEVELS + 1],
            pending_in: 0,
            links: 0,
            reported: NO_REPORT,
            seeder: false,
            upload: true,
        }
    }

    /// How many peers this viewer has (or is about to have): what the cap applies to.
    pub fn load(&self) -> u32 {
        let base = if self.reported == NO_REPORT {
            self.links
        } else {
            self.reported
        };
        u32::from(base) + u32::from(self.pending_in)
    }

    pub fn reported(&self) -> Option<u16> {
        (self.reported != NO_REPORT).then_some(self.reported)
    }

    pub fn set_reported(&mut self, peers: Option<u16>) {
        self.reported = peers.map_or(NO_REPORT, |p| p.min(NO_REPORT - 1));
    }
}

/// Swarm-level counters (monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SwarmCounters {
    pub announces: u64,
    pub offers_relayed: u64,
    pub answers_relayed: u64,
    pub rejects: u64,
    /// `completed` events (scrape's `downloaded`).
    pub completed: u64,
}

/// What the selection must know about the offering peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sender {
    pub key: PeerKey,
    pub net: NetKey,
    pub seeder: bool,
}

#[derive(Debug)]
pub(crate) struct Swarm {
    slots: Vec<Option<Peer>>,
    free: Vec<u32>,
    by_id: KeyedMap<PeerId, u32>,
    groups: [IdMap<u32, Vec<u32>>; GROUP_LEVELS],
    all: Vec<u32>,
    pub seeders: u32,
    pub counters: SwarmCounters,
}

impl Swarm {
    /// An empty swarm whose id table is keyed with the tracker's `keys`.
    pub fn new(keys: &HashKeys) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: keyed_map(keys),
            groups: Default::default(),
            all: Vec::new(),
            seeders: 0,
            counters: SwarmCounters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub fn leechers(&self) -> u32 {
        self.all.len() as u32 - self.seeders
    }

    pub fn slot_of(&self, peer_id: &PeerId) -> Option<u32> {
        self.by_id.get(peer_id).copied()
    }

    pub fn get(&self, slot: u32) -> Option<&Peer> {
        self.slots.get(slot as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Peer> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// The peer at `slot` if it is still the one with `key`.
    pub fn get_keyed_mut(&mut self, slot: u32, key: PeerKey) -> Option<&mut Peer> {
        self.get_mut(slot).filter(|p| p.key == key)
    }

    pub fn peers(&self) -> impl Iterator<Item = (u32, &Peer)> {
        self.all.iter().filter_map(|&s| self.get(s).map(|p| (s, p)))
    }

    pub fn insert(&mut self, mut peer: Peer) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        for level in 0..GROUP_LEVELS {
            let g = peer.net.group(level);
            if g != 0 {
                let bucket = self.groups[level].entry(g).or_default();
                peer.pos[level] = bucket.len() as u32;
                bucket.push(slot);
            }
        }
        peer.pos[GROUP_LEVELS] = self.all.len() as u32;
        self.all.push(slot);
        if peer.seeder {
            self.seeders += 1;
        }
        self.by_id.insert(peer.peer_id, slot);
        self.slots[slot as usize] = Some(peer);
        slot
    }

    pub fn set_seeder(&mut self, slot: u32, seeder: bool) {
        if let Some(p) = self.get_mut(slot)
            && p.seeder != seeder
        {
            p.seeder = seeder;
            if seeder {
                self.seeders += 1;
            } else {
                self.seeders -= 1;
            }
        }
    }

    pub fn remove(&mut self, slot: u32) -> Option<Peer> {
        let peer = self.slots.get_mut(slot as usize)?.take()?;
        for level in 0..=GROUP_LEVELS {
            let pos = peer.pos[level];
            if pos == NO_POS {
                continue;
            }
            let bucket = if level == GROUP_LEVELS {
                &mut self.all
            } else {
                match self.groups[level].get_mut(&peer.net.group(level)) {
                    Some(b) => b,
                    None => continue,
                }
            };
            bucket.swap_remove(pos as usize);
            if let Some(&moved) = bucket.get(pos as usize)
                && let Some(Some(m)) = self.slots.get_mut(moved as usize)
            {
                m.pos[level] = pos;
            }
            if level < GROUP_LEVELS && bucket.is_empty() {
                self.groups[level].remove(&peer.net.group(level));
            }
        }
        if peer.seeder {
            self.seeders -= 1;
        }
        self.by_id.remove(&peer.peer_id);
        self.free.push(slot);
        if self.all.is_empty() {
            // Give the memory back: an empty swarm may live on until the next expiry sweep.
            self.slots = Vec::new();
            self.free = Vec::new();
        }
        Some(peer)
    }

    /// The best recipient for one offer of `sender`: the closest network group that has an
    /// eligible peer, and within it the least loaded, random among equals. `linked(a, b)` says
    /// whether the two peers already have an offer or link between them.
    pub fn pick(
        &self,
        sender: Sender,
        cap: u32,
        rng: &mut SmallRng,
        linked: impl Fn(PeerKey, PeerKey) -> bool,
    ) -> Option<u32> {
        let eligible = |p: &Peer| {
            p.key != sender.key
                && p.upload
                && p.load() < cap
                && !(sender.seeder && p.seeder) // two seeders have nothing to trade
                && !linked(sender.key, p.key)
        };
        for level in 0..=GROUP_LEVELS {
            let bucket = if level == GROUP_LEVELS {
                &self.all
            } else {
                let g = sender.net.group(level);
                if g == 0 {
                    continue;
                }
                match self.groups[level].get(&g) {
                    Some(b) => b,
                    None => continue,
                }
            };
            if let Some(slot) = self.best_in(bucket, rng, &eligible) {
                return Some(slot);
            }
        }
        None
    }

    fn best_in(
        &self,
        bucket: &[u32],
        rng: &mut SmallRng,
        eligible: &impl Fn(&Peer) -> bool,
    ) -> Option<u32> {
        if bucket.len() > FULL_SCAN_MAX {
            let mut best: Option<(u32, u32)> = None;
            for _ in 0..SAMPLES {
                let slot = bucket[rng.random_range(0..bucket.len())];
                if let Some(p) = self.get(slot).filter(|p| eligible(p))
                    && best.is_none_or(|(_, load)| p.load() < load)
                {
                    best = Some((slot, p.load()));
                }
            }
            if let Some((slot, _)) = best {
                return Some(slot);
            }
            // Sampling found nobody (most peers full or excluded): fall through to a scan.
        }
        // Least loaded eligible peer; reservoir sampling makes ties uniformly random.
        let mut best: Option<(u32, u32)> = None;
        let mut ties = 0u32;
        for &slot in bucket {
            let Some(p) = self.get(slot).filter(|p| eligible(p)) else {
                continue;
            };
            let load = p.load();
            match best {
                Some((_, b)) if load > b => {}
                Some((_, b)) if load == b => {
                    ties += 1;
                    if rng.random_range(0..ties) == 0 {
                        best = Some((slot, load));
                    }
                }
                _ => {
                    best = Some((slot, load));
                    ties = 1;
                }
            }
        }
        best.map(|(slot, _)| slot)
    }

    /// Approximate heap bytes held by this swarm's tables (for stats and the memory budget).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let map_entry = size_of::<PeerId>() + size_of::<u32>() + 1;
        let mut bytes = self.slots.capacity() * size_of::<Option<Peer>>()
            + self.free.capacity() * 4
            + self.by_id.capacity() * map_entry
            + self.all.capacity() * 4;
        for g in &self.groups {
            bytes += g.capacity() * (4 + size_of::<Vec<u32>>() + 1);
            bytes += g.values().map(|b| b.capacity() * 4).sum::<usize>();
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    impl Swarm {
        /// Every live peer sits in exactly the buckets of its groups, at the position it records.
        fn check(&self) {
            let live: Vec<u32> = self.all.clone();
            assert_eq!(live.len(), self.by_id.len());
            for (i, &slot) in self.all.iter().enumerate() {
                let p = self.get(slot).expect("all holds live slots");
                assert_eq!(p.pos[GROUP_LEVELS] as usize, i);
                assert_eq!(self.by_id[&p.peer_id], slot);
                for level in 0..GROUP_LEVELS {
                    let g = p.net.group(level);
                    if g == 0 {
                        assert_eq!(p.pos[level], NO_POS);
                    } else {
                        assert_eq!(self.groups[level][&g][p.pos[level] as usize], slot);
                    }
                }
            }
            for level in 0..GROUP_LEVELS {
                let members: usize = self.groups[level]
                    .values()
                    .map(|b| {
                        assert!(!b.is_empty(), "empty buckets are dropped");
                        b.len()
                    })
                    .sum();
                let expected = self
                    .all
                    .iter()
                    .filter(|&&s| self.get(s).unwrap().net.group(level) != 0)
                    .count();
                assert_eq!(members, expected);
            }
            let seeders = self
                .all
                .iter()
                .filter(|&&s| self.get(s).unwrap().seeder)
                .count();
            assert_eq!(seeders as u32, self.seeders);
        }
    }

    fn net(n: u8) -> NetKey {
        NetKey {
            asn: u32::from(n % 3),
            region: u32::from(n % 5),
            country: u32::from(n % 4),
            continent: u32::from(n % 2),
        }
    }

    proptest! {
        #[test]
        fn indexes_stay_consistent(ops in prop::collection::vec((any::<bool>(), 0u8..40, 0u8..30, any::<bool>()), 1..200)) {
            let mut swarm = Swarm::new(&crate::fastmap::hash_keys(0));
            let mut next_key = 1;
            for (insert, who, n, seeder) in ops {
                let id = PeerId([who; 20]);
                match (insert, swarm.slot_of(&id)) {
                    (true, None) => {
                        let mut p = Peer::new(next_key, u64::from(who), id, net(n), 0);
                        p.seeder = seeder;
                        next_key += 1;
                        swarm.insert(p);
                    }
                    (true, Some(slot)) => swarm.set_seeder(slot, seeder),
                    (false, Some(slot)) => {
                        let gone = swarm.remove(slot).expect("live slot");
                        prop_assert_eq!(gone.peer_id, id);
                        prop_assert!(swarm.remove(slot).is_none(), "a slot is removed once");
                    }
                    (false, None) => {}
                }
                swarm.check();
            }
        }

        #[test]
        fn pick_never_returns_the_sender_or_an_ineligible_peer(n in 1u8..60, sender in 0u8..60, seed: u64, full in prop::collection::vec(any::<bool>(), 60)) {
            let mut swarm = Swarm::new(&crate::fastmap::hash_keys(0));
            for i in 0..n {
                let mut p = Peer::new(u64::from(i) + 1, u64::from(i), PeerId([i; 20]), net(i), 0);
                p.upload = i % 7 != 0;
                p.pending_in = if full[i as usize] { 3 } else { 0 };
                swarm.insert(p);
            }
            let s = Sender { key: u64::from(sender) + 1, net: net(sender), seeder: false };
            let mut rng = SmallRng::seed_from_u64(seed);
            match swarm.pick(s, 3, &mut rng, |_, _| false) {
                Some(slot) => {
                    let p = swarm.get(slot).unwrap();
                    prop_assert_ne!(p.key, s.key);
                    prop_assert!(p.upload && p.load() < 3);
                }
                None => {
                    // Nobody eligible at all.
                    prop_assert!(swarm.peers().all(|(_, p)| p.key == s.key || !p.upload || p.load() >= 3));
                }
            }
        }
    }
}
