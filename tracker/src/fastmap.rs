//! The tracker's two kinds of hash map.
//!
//! [`IdMap`]: an unkeyed multiply-rotate hasher for keys the tracker assigns itself (connection
//! ids from the host, peer keys, interned network groups). Clients cannot choose these, so they
//! cannot aim collisions at them.
//!
//! [`KeyedMap`]: aHash with secret keys, for keys a client chooses (`info_hash`, `peer_id`,
//! `offer_id`): without the keys nobody can compute which ids collide, so a client cannot flood
//! one bucket. std's SipHash-1-3 gives the same guarantee but cost 4% (wasm) to 10% (native) of
//! the edge's time under aquatic's load tester (docs/benchmarks.md, profile); aHash's keyed
//! fallback (folded 64×64→128 multiplies) is several times cheaper on 20-byte ids, and was
//! built for this use ("DOS resistant" keyed hashing). foldhash was not chosen: its author
//! promises only minimal DoS resistance.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// FxHash-style multiply-rotate hasher (as rustc uses for its own integer keys).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(K).rotate_left(26);
    }

    fn finish(&self) -> u64 {
        // hashbrown takes its 7 control bits from the top: fold the well-mixed middle bits up.
        self.0.wrapping_mul(K) ^ (self.0 >> 29)
    }
}

pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

pub(crate) type KeyedMap<K, V> = HashMap<K, V, HashKeys>;

/// The secret keys of a tracker's [`KeyedMap`]s (cloned into each map it makes).
pub(crate) type HashKeys = ahash::RandomState;

/// Hash keys derived from a tracker's seed, from a stream of their own, so that peer selection
/// (which draws from the tracker's rng) is the same whatever the hash. The host seeds each
/// tracker from the OS's randomness, so the keys cannot be guessed.
pub(crate) fn hash_keys(seed: u64) -> HashKeys {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x6d65_7368_6b65_7973);
    ahash::RandomState::with_seeds(rng.random(), rng.random(), rng.random(), rng.random())
}

/// An empty [`KeyedMap`] with `keys`.
pub(crate) fn keyed_map<K, V>(keys: &HashKeys) -> KeyedMap<K, V> {
    HashMap::with_hasher(keys.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn sequential_keys_spread_over_buckets() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let mut low = std::collections::HashSet::new();
        let mut top = std::collections::HashSet::new();
        for k in 0u64..4096 {
            let h = build.hash_one((k, k + 1));
            low.insert(h & 0xfff);
            top.insert(h >> 57);
        }
        assert!(low.len() > 2500, "low bits too clustered: {}", low.len());
        assert_eq!(top.len(), 128, "all control-byte values occur");
    }

    #[test]
    fn keyed_maps_hash_by_their_seed() {
        let id = [7u8; 20];
        let a = hash_keys(1).hash_one(id);
        assert_eq!(a, hash_keys(1).hash_one(id), "same seed, same keys");
        assert_ne!(a, hash_keys(2).hash_one(id), "another seed, other keys");
        let mut m: KeyedMap<[u8; 20], u32> = keyed_map(&hash_keys(3));
        m.insert(id, 1);
        assert_eq!(m.get(&id), Some(&1));
    }
}
