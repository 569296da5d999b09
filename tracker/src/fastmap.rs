//! A fast hasher for keys the tracker assigns itself (connection ids from the host, peer keys,
//! interned network groups). Clients cannot choose these, so they cannot aim collisions at them,
//! and SipHash's flood resistance buys nothing there. Maps keyed by client-chosen values
//! (`info_hash`, `peer_id`, `offer_id`) keep std's randomly keyed SipHash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
}
