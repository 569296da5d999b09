//! HLS playlists: pure parsing and byte-preserving rewriting (no I/O, no clock).
//!
//! Rewriting only inserts whole lines; every input byte is kept in order, so
//! [`strip_insertions`]`(rewrite(x)) == x`. Unknown tags, comments, blank lines, LL-HLS tags
//! (`EXT-X-PART`, `EXT-X-PRELOAD-HINT`, …) and line endings (LF or CRLF) pass through untouched.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | playlist kinds, lines, attribute lists, reading insertions back |
//! | `master.rs` | master playlists: renditions, the bootstrap line |
//! | `media.rs` | media playlists: segments with byte ranges, the hash lines |

mod master;
mod media;
#[cfg(test)]
mod tests;

use super::ByteRange;
use crate::{HLS_DATA_ID, HLS_SHA256_TAG};
pub use master::{parse_master, rewrite_master};
pub use media::{parse_media, rewrite_media};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HlsError {
    #[error("not an HLS playlist: the first line is not #EXTM3U")]
    NotM3u,
    #[error("playlist has both variant streams and media segments")]
    Ambiguous,
    #[error("playlist has neither variant streams nor media segments")]
    Unknown,
    #[error("master playlist lists no variant streams")]
    NoVariants,
    #[error("#EXT-X-STREAM-INF at byte {0} is not followed by a URI line")]
    MissingVariantUri(usize),
    #[error("malformed #EXT-X-BYTERANGE at byte {0}")]
    BadByteRange(usize),
    #[error(
        "#EXT-X-BYTERANGE without an offset at byte {0} does not follow a range of the same resource"
    )]
    ByteRangeWithoutPredecessor(usize),
    #[error("#EXT-X-BYTERANGE at byte {0} is not followed by a segment URI")]
    DanglingByteRange(usize),
    #[error("playlist already carries meshcdn data")]
    AlreadyRewritten,
    #[error("playlist lists more than {0} segments")]
    TooManySegments(usize),
    #[error("line before byte {0} has no line ending to insert after")]
    NoLineEnd(usize),
    #[error("{got} hashes given for {expected} segments")]
    HashCount { got: usize, expected: usize },
}

/// What kind of playlist a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistKind {
    Master,
    Media,
}

/// One media segment of a media playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSegment {
    /// The URI as written (relative URIs are resolved by the caller).
    pub uri: String,
    pub range: Option<ByteRange>,
    /// Byte offset of the URI line in the playlist (where the hash line goes).
    pub line_start: usize,
}

/// One line: its text without the line ending, its line ending, and its byte offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    pub(super) text: &'a str,
    pub(super) eol: &'a str,
    pub(super) start: usize,
}

pub(super) fn lines(s: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    s.split_inclusive('\n').map(move |piece| {
        let body_len = piece
            .strip_suffix("\r\n")
            .or_else(|| piece.strip_suffix('\n'))
            .unwrap_or(piece)
            .len();
        let line = Line {
            text: &piece[..body_len],
            eol: &piece[body_len..],
            start,
        };
        start += piece.len();
        line
    })
}

pub(super) fn is_uri_line(text: &str) -> bool {
    // A byte order mark starts the `#EXTM3U` line of some playlists: that line is a tag, never a
    // segment (found by the `hls` fuzz target: a hash line went in before the header).
    let t = text.trim_start_matches('\u{feff}').trim();
    !t.is_empty() && !t.starts_with('#')
}

pub(super) fn check_header(text: &str) -> Result<(), HlsError> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    if t.starts_with("#EXTM3U") {
        Ok(())
    } else {
        Err(HlsError::NotM3u)
    }
}

/// Tells a master playlist from a media playlist.
pub fn kind(text: &str) -> Result<PlaylistKind, HlsError> {
    check_header(text)?;
    let (mut master, mut media) = (false, false);
    for line in lines(text) {
        let t = line.text;
        master |= t.starts_with("#EXT-X-STREAM-INF");
        media |= t.starts_with("#EXTINF") || t.starts_with("#EXT-X-TARGETDURATION");
    }
    match (master, media) {
        (true, true) => Err(HlsError::Ambiguous),
        (true, false) => Ok(PlaylistKind::Master),
        (false, true) => Ok(PlaylistKind::Media),
        (false, false) => Err(HlsError::Unknown),
    }
}

/// Value of attribute `name` in an HLS attribute list (`A=1,URI="x,y",B=2`), quotes removed.
pub fn attribute<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = list;
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            let tail = &quoted[end + 1..];
            (
                &quoted[..end],
                tail.find(',').map(|i| &tail[i + 1..]).unwrap_or(""),
            )
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i + 1..]),
                None => (after, ""),
            }
        };
        if key == name {
            return Some(value);
        }
        rest = next;
    }
    None
}

/// Removes every line this module inserts (with its line ending): the inverse of the rewrites.
pub fn strip_insertions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in lines(text) {
        if line.text.starts_with(HLS_SHA256_TAG) || is_bootstrap_line(line.text) {
            continue;
        }
        out.push_str(line.text);
        out.push_str(line.eol);
    }
    out
}

/// The hashes a rewritten media playlist carries, per segment URI line (for tests and tools).
pub fn hashes_in(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending: Option<&str> = None;
    for line in lines(text) {
        if let Some(h) = line.text.strip_prefix(HLS_SHA256_TAG) {
            pending = Some(h);
        } else if is_uri_line(line.text)
            && let Some(h) = pending.take()
        {
            out.push((line.text.trim().to_string(), h.to_string()));
        }
    }
    out
}

/// The bootstrap value (base64url) of a rewritten master playlist, if any.
pub fn bootstrap_in(text: &str) -> Option<String> {
    lines(text)
        .find(|l| is_bootstrap_line(l.text))
        .and_then(|l| {
            attribute(&l.text["#EXT-X-SESSION-DATA:".len()..], "VALUE").map(str::to_string)
        })
}

pub(super) fn is_bootstrap_line(t: &str) -> bool {
    t.starts_with("#EXT-X-SESSION-DATA:")
        && attribute(&t["#EXT-X-SESSION-DATA:".len()..], "DATA-ID") == Some(HLS_DATA_ID)
}
