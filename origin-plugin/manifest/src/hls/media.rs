//! Media playlists: segments (byte ranges resolved) and the per-segment hash lines.

use super::{ByteRange, HlsError, MediaSegment, check_header, is_uri_line, lines};
use crate::{HLS_SHA256_TAG, push_hex};

fn parse_byte_range(spec: &str, at: usize) -> Result<(u64, Option<u64>), HlsError> {
    let bad = || HlsError::BadByteRange(at);
    let spec = spec.trim();
    let (len, off) = match spec.split_once('@') {
        Some((l, o)) => (l, Some(o.trim().parse::<u64>().map_err(|_| bad())?)),
        None => (spec, None),
    };
    let len = len.trim().parse::<u64>().map_err(|_| bad())?;
    if len == 0 {
        return Err(bad());
    }
    Ok((len, off))
}

/// Media segments of a media playlist, with byte ranges resolved (an `EXT-X-BYTERANGE` without
/// `@offset` continues after the previous range of the same URI). At most `max_segments`.
pub fn parse_media(text: &str, max_segments: usize) -> Result<Vec<MediaSegment>, HlsError> {
    check_header(text)?;
    let mut out = Vec::new();
    let mut pending: Option<(u64, Option<u64>, usize)> = None;
    let mut last_end: Option<(&str, u64)> = None;
    for line in lines(text) {
        let t = line.text;
        if t.starts_with(HLS_SHA256_TAG) {
            return Err(HlsError::AlreadyRewritten);
        }
        if let Some(spec) = t.strip_prefix("#EXT-X-BYTERANGE:") {
            pending = Some({
                let (len, off) = parse_byte_range(spec, line.start)?;
                (len, off, line.start)
            });
            continue;
        }
        if !is_uri_line(t) {
            continue;
        }
        let uri = t.trim();
        let range = match pending.take() {
            None => None,
            Some((length, off, at)) => {
                let offset = match (off, last_end) {
                    (Some(o), _) => o,
                    (None, Some((prev, end))) if prev == uri => end,
                    (None, _) => return Err(HlsError::ByteRangeWithoutPredecessor(at)),
                };
                let end = offset
                    .checked_add(length)
                    .ok_or(HlsError::BadByteRange(at))?;
                last_end = Some((uri, end));
                Some(ByteRange { offset, length })
            }
        };
        if out.len() == max_segments {
            return Err(HlsError::TooManySegments(max_segments));
        }
        out.push(MediaSegment {
            uri: uri.to_string(),
            range,
            line_start: line.start,
        });
    }
    if let Some((_, _, at)) = pending {
        return Err(HlsError::DanglingByteRange(at));
    }
    Ok(out)
}

/// Inserts `#EXT-X-MESHCDN-SHA256:<hex>` before the URI line of each segment whose hash is known.
/// `segments` must come from [`parse_media`] of the same `text`; `hashes[i]` belongs to
/// `segments[i]`.
pub fn rewrite_media(
    text: &str,
    segments: &[MediaSegment],
    hashes: &[Option<[u8; 32]>],
) -> Result<String, HlsError> {
    if segments.len() != hashes.len() {
        return Err(HlsError::HashCount {
            got: hashes.len(),
            expected: segments.len(),
        });
    }
    let line = HLS_SHA256_TAG.len() + 64 + 2;
    let mut out = String::with_capacity(text.len() + segments.len() * line);
    let mut pos = 0;
    for (seg, hash) in segments.iter().zip(hashes) {
        let Some(hash) = hash else { continue };
        let at = seg.line_start;
        // Guard against segments from another text: never slice off a char boundary or backwards.
        if at < pos || at > text.len() || !text.is_char_boundary(at) {
            return Err(HlsError::HashCount {
                got: hashes.len(),
                expected: segments.len(),
            });
        }
        out.push_str(&text[pos..at]);
        out.push_str(HLS_SHA256_TAG);
        push_hex(&mut out, hash);
        out.push_str(if text[..at].ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        });
        pos = at;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}
