//! 20-byte identifiers of the WebTorrent tracker protocol.

use std::fmt;

/// Why a 20-byte identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected 20 bytes, got {0}")]
    Length(usize),
    #[error("character U+{0:04X} is outside U+0000..U+00FF (ids are binary strings, one char per byte)")]
    NotAByte(u32),
    #[error("invalid hex id")]
    Hex,
}

/// A swarm id (`info_hash`): 20 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// Lower-case hex, the form used in manifests, URLs and logs.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Result<Self, IdError> {
        if hex.len() != 40 || !hex.is_ascii() {
            return Err(IdError::Hex);
        }
        let mut out = [0u8; 20];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| IdError::Hex)?;
        }
        Ok(Self(out))
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}
