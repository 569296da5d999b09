//! The text rewriters: HLS playlists ([`hls`]) and DASH MPDs ([`dash`]). Pure functions (no I/O,
//! no clock): parse what the plugin needs, insert the bootstrap and hashes byte-preservingly.
//! Each reports what it cannot handle as its own error ([`hls::HlsError`], [`dash::DashError`]).

pub mod dash;
pub mod hls;

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
