//! 20-byte identifiers of the WebTorrent tracker protocol, and their wire encoding.
//!
//! # Binary strings
//!
//! The WebTorrent WebSocket tracker protocol (bittorrent-tracker, p2p-media-loader, aquatic_ws)
//! sends `info_hash`, `peer_id`, `offer_id` and `to_peer_id` as JSON strings of exactly 20
//! characters, each in U+0000..=U+00FF and standing for one byte (JavaScript's "binary string",
//! what `String.fromCharCode(byte)` builds). Bytes 0x80..=0xFF therefore travel as two-byte UTF-8
//! sequences (U+0080..U+00FF) and control bytes as `\u00XX` escapes; this is exactly what
//! `JSON.stringify` emits, so serializing here is byte-compatible with the reference server.
//! Any other length, or any character above U+00FF, is rejected with [`IdError`].

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length in bytes of every id.
pub const ID_LEN: usize = 20;

/// Why a 20-byte identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected 20 bytes, got {0}")]
    Length(usize),
    #[error(
        "character U+{0:04X} is outside U+0000..U+00FF (ids are binary strings, one char per byte)"
    )]
    NotAByte(u32),
    #[error("invalid hex id")]
    Hex,
}

/// Decodes a binary string (one char per byte) of exactly 20 chars.
pub fn decode_binary_str(s: &str) -> Result<[u8; ID_LEN], IdError> {
    let mut out = [0u8; ID_LEN];
    let mut n = 0usize;
    for ch in s.chars() {
        let code = ch as u32;
        if code > 0xFF {
            return Err(IdError::NotAByte(code));
        }
        if n < ID_LEN {
            out[n] = code as u8;
        }
        n += 1;
    }
    if n != ID_LEN {
        return Err(IdError::Length(n));
    }
    Ok(out)
}

/// Encodes bytes as a binary string (one char per byte).
pub fn encode_binary_str(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Result<[u8; ID_LEN], IdError> {
    if hex.len() != 2 * ID_LEN || !hex.is_ascii() {
        return Err(IdError::Hex);
    }
    let mut out = [0u8; ID_LEN];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| IdError::Hex)?;
    }
    Ok(out)
}

struct BinaryStrVisitor;

impl Visitor<'_> for BinaryStrVisitor {
    type Value = [u8; ID_LEN];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a 20-character binary string (chars U+0000..U+00FF)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        decode_binary_str(v).map_err(E::custom)
    }
}

macro_rules! binary_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; ID_LEN]);

        impl $name {
            /// Lower-case hex, the form used in manifests, URLs, logs and exported state.
            pub fn to_hex(&self) -> String {
                hex(&self.0)
            }

            pub fn from_hex(hex: &str) -> Result<Self, IdError> {
                from_hex(hex).map(Self)
            }

            /// From the wire form (binary string).
            pub fn from_binary_str(s: &str) -> Result<Self, IdError> {
                decode_binary_str(s).map(Self)
            }

            /// The wire form (binary string).
            pub fn to_binary_string(&self) -> String {
                encode_binary_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // A fixed buffer: 20 chars of at most 2 UTF-8 bytes each.
                let mut buf = [0u8; 2 * ID_LEN];
                let mut len = 0;
                for &b in &self.0 {
                    len += char::from(b).encode_utf8(&mut buf[len..]).len();
                }
                // The bytes written are UTF-8 by construction.
                match std::str::from_utf8(&buf[..len]) {
                    Ok(text) => s.serialize_str(text),
                    Err(_) => s.serialize_str(&self.to_binary_string()),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(BinaryStrVisitor).map(Self)
            }
        }
    };
}

binary_id!(
    /// A swarm id (`info_hash`): 20 bytes. One swarm per content rendition (see [`crate::token::swarm_id`]).
    InfoHash
);
impl InfoHash {
    /// The content part of a swarm id: the bytes a swarm token pins (see
    /// [`crate::token::swarm_id`]); the rest names the rendition.
    pub fn content_part(&self) -> [u8; crate::token::CONTENT_PREFIX_LEN] {
        let mut c = [0u8; crate::token::CONTENT_PREFIX_LEN];
        c.copy_from_slice(&self.0[..crate::token::CONTENT_PREFIX_LEN]);
        c
    }
}

binary_id!(
    /// A peer's id (`peer_id`, `to_peer_id`): 20 bytes chosen by the client.
    PeerId
);
binary_id!(
    /// An offer's id (`offer_id`): 20 bytes chosen by the offering client; the answer echoes it.
    OfferId
);

/// Serde helpers for storing ids as hex (exported state), not as binary strings (wire).
pub(crate) mod hex_serde {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8; ID_LEN], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; ID_LEN], D::Error> {
        let text = String::deserialize(d)?;
        from_hex(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_byte_value_round_trips_through_json() {
        for start in (0u16..256).step_by(20) {
            let mut id = [0u8; ID_LEN];
            for (i, b) in id.iter_mut().enumerate() {
                *b = ((start as usize + i) % 256) as u8;
            }
            let json = serde_json::to_string(&PeerId(id)).unwrap();
            let back: PeerId = serde_json::from_str(&json).unwrap();
            assert_eq!(back.0, id);
        }
    }

    #[test]
    fn matches_javascript_json_stringify_form() {
        // JSON.stringify(String.fromCharCode(0, 0x41, 0xe9, ...)) == "\u0000Aé..."
        let mut id = [0x41u8; ID_LEN];
        id[0] = 0;
        id[1] = 0xe9;
        let json = serde_json::to_string(&InfoHash(id)).unwrap();
        assert!(json.starts_with("\"\\u0000é"), "{json}");
    }

    #[test]
    fn wrong_lengths_and_wide_chars_are_typed_errors() {
        assert_eq!(decode_binary_str("short"), Err(IdError::Length(5)));
        assert_eq!(decode_binary_str(&"a".repeat(21)), Err(IdError::Length(21)));
        assert_eq!(decode_binary_str(""), Err(IdError::Length(0)));
        let wide = format!("{}\u{0100}", "a".repeat(19));
        assert_eq!(decode_binary_str(&wide), Err(IdError::NotAByte(0x100)));
        let emoji = format!("{}😀", "a".repeat(19));
        assert_eq!(decode_binary_str(&emoji), Err(IdError::NotAByte(0x1F600)));
        assert!(serde_json::from_str::<OfferId>("\"abc\"").is_err());
        assert!(serde_json::from_str::<OfferId>("12").is_err());
        assert_eq!(InfoHash::from_hex("zz"), Err(IdError::Hex));
    }

    proptest! {
        #[test]
        fn binary_ids_round_trip(bytes in proptest::array::uniform20(any::<u8>())) {
            let json = serde_json::to_string(&OfferId(bytes)).unwrap();
            let back: OfferId = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.0, bytes);
            prop_assert_eq!(OfferId::from_hex(&OfferId(bytes).to_hex()).unwrap().0, bytes);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,40}") {
            let r = decode_binary_str(&s);
            if let Ok(bytes) = r {
                prop_assert_eq!(encode_binary_str(&bytes), s);
            }
        }
    }
}
