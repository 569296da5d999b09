//! The text rewriters of the origin plugin: HLS playlists ([`hls`]) and DASH MPDs ([`dash`]).
//! Pure functions (no I/O, no clock): parse what the plugin needs, insert the bootstrap and
//! hashes byte-preservingly. Each reports what it cannot handle as its own error
//! ([`hls::HlsError`], [`dash::DashError`]).
//!
//! A crate of its own (re-exported as `meshcdn_origin::manifest`) so that the fuzz targets
//! (`fuzz/`) build it without the plugin's async stack.

pub mod dash;
pub mod hls;

/// `DATA-ID` of the HLS `#EXT-X-SESSION-DATA` line that carries the bootstrap.
pub const HLS_DATA_ID: &str = "io.meshcdn.bootstrap";
/// Tag put before each segment URI line of a media playlist.
pub const HLS_SHA256_TAG: &str = "#EXT-X-MESHCDN-SHA256:";
/// `schemeIdUri` of the DASH `SupplementalProperty` that carries the bootstrap.
pub const DASH_SCHEME: &str = "urn:meshcdn:bootstrap:2026";

/// A byte range of a resource: `length` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub offset: u64,
    pub length: u64,
}

impl ByteRange {
    /// The `Range` header value for it (`bytes=first-last`, inclusive).
    pub fn header_value(&self) -> String {
        format!(
            "bytes={}-{}",
            self.offset,
            self.offset + self.length.saturating_sub(1)
        )
    }
}

/// Appends lower-case hex of `bytes` to `out` (no allocation per call: rewrites do this for every
/// segment of every playlist they serve).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 128];
    for chunk in bytes.chunks(buf.len() / 2) {
        for (i, b) in chunk.iter().enumerate() {
            buf[2 * i] = DIGITS[(b >> 4) as usize];
            buf[2 * i + 1] = DIGITS[(b & 15) as usize];
        }
        // Only ASCII digits were written, so this never fails.
        out.push_str(std::str::from_utf8(&buf[..chunk.len() * 2]).unwrap_or_default());
    }
}
