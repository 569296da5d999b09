//! HLS playlists: pure parsing and byte-preserving rewriting (no I/O, no clock).
//!
//! Rewriting only inserts whole lines; every input byte is kept in order, so
//! [`strip_insertions`]`(rewrite(x)) == x`. Unknown tags, comments, blank lines, LL-HLS tags
//! (`EXT-X-PART`, `EXT-X-PRELOAD-HINT`, …) and line endings (LF or CRLF) pass through untouched.

use crate::bootstrap::{HLS_DATA_ID, HLS_SHA256_TAG, push_hex};

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
struct Line<'a> {
    text: &'a str,
    eol: &'a str,
    start: usize,
}

fn lines(s: &str) -> impl Iterator<Item = Line<'_>> {
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

fn is_uri_line(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && !t.starts_with('#')
}

fn check_header(text: &str) -> Result<(), HlsError> {
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

/// Renditions of a master playlist, in order of appearance and without repeats: each variant
/// URI (the line after `#EXT-X-STREAM-INF`) and each `#EXT-X-MEDIA` `URI` attribute, as written.
pub fn parse_master(text: &str) -> Result<Vec<String>, HlsError> {
    check_header(text)?;
    let mut out: Vec<String> = Vec::new();
    let mut push = |uri: &str| {
        if !out.iter().any(|u| u == uri) {
            out.push(uri.to_string());
        }
    };
    let mut awaiting_uri: Option<usize> = None;
    let mut variants = 0;
    for line in lines(text) {
        let t = line.text;
        if let Some(at) = awaiting_uri {
            if is_uri_line(t) {
                push(t.trim());
                variants += 1;
                awaiting_uri = None;
                continue;
            }
            if t.starts_with("#EXT-X-STREAM-INF") {
                return Err(HlsError::MissingVariantUri(at));
            }
        }
        if t.starts_with("#EXT-X-STREAM-INF") {
            awaiting_uri = Some(line.start);
        } else if let Some(attrs) = t.strip_prefix("#EXT-X-MEDIA:")
            && let Some(uri) = attribute(attrs, "URI")
        {
            push(uri);
        }
    }
    if let Some(at) = awaiting_uri {
        return Err(HlsError::MissingVariantUri(at));
    }
    if variants == 0 {
        return Err(HlsError::NoVariants);
    }
    Ok(out)
}

fn is_bootstrap_line(t: &str) -> bool {
    t.starts_with("#EXT-X-SESSION-DATA:")
        && attribute(&t["#EXT-X-SESSION-DATA:".len()..], "DATA-ID") == Some(HLS_DATA_ID)
}

/// Inserts the bootstrap `#EXT-X-SESSION-DATA` line after `#EXTM3U`, or after the last
/// `#EXT-X-SESSION-DATA` line when there are some. `value` must be base64url (no quotes).
pub fn rewrite_master(text: &str, value: &str) -> Result<String, HlsError> {
    parse_master(text)?;
    let mut anchor: Option<Line<'_>> = None;
    for line in lines(text) {
        if is_bootstrap_line(line.text) || line.text.starts_with(HLS_SHA256_TAG) {
            return Err(HlsError::AlreadyRewritten);
        }
        if anchor.is_none() || line.text.starts_with("#EXT-X-SESSION-DATA") {
            anchor = Some(line);
        }
    }
    let anchor = anchor.ok_or(HlsError::NotM3u)?;
    if anchor.eol.is_empty() {
        return Err(HlsError::NoLineEnd(anchor.start));
    }
    let at = anchor.start + anchor.text.len() + anchor.eol.len();
    let mut out = String::with_capacity(text.len() + value.len() + 64);
    out.push_str(&text[..at]);
    out.push_str("#EXT-X-SESSION-DATA:DATA-ID=\"");
    out.push_str(HLS_DATA_ID);
    out.push_str("\",VALUE=\"");
    out.push_str(value);
    out.push('"');
    out.push_str(anchor.eol);
    out.push_str(&text[at..]);
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",URI=\"audio/en.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.4d401e,mp4a.40.2\",AUDIO=\"aud\"\n360p/index.m3u8\n\n\
#EXT-X-STREAM-INF:BANDWIDTH=400000\n240p/index.m3u8\n# a comment\n";

    #[test]
    fn master_gets_one_bootstrap_line_after_extm3u_and_strips_back() {
        let out = rewrite_master(MASTER, "abc_-").unwrap();
        assert!(out.starts_with("#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID=\"io.meshcdn.bootstrap\",VALUE=\"abc_-\"\n#EXT-X-VERSION"));
        assert_eq!(strip_insertions(&out), MASTER);
        assert_eq!(bootstrap_in(&out).as_deref(), Some("abc_-"));
        assert_eq!(
            parse_master(MASTER).unwrap(),
            ["audio/en.m3u8", "360p/index.m3u8", "240p/index.m3u8"]
        );
        assert_eq!(rewrite_master(&out, "x"), Err(HlsError::AlreadyRewritten));
    }

    #[test]
    fn bootstrap_goes_after_existing_session_data_and_keeps_crlf() {
        let m = "#EXTM3U\r\n#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",VALUE=\"A, B\"\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nv.m3u8";
        let out = rewrite_master(m, "v").unwrap();
        assert_eq!(
            out,
            "#EXTM3U\r\n#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",VALUE=\"A, B\"\r\n\
#EXT-X-SESSION-DATA:DATA-ID=\"io.meshcdn.bootstrap\",VALUE=\"v\"\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nv.m3u8"
        );
        assert_eq!(strip_insertions(&out), m);
    }

    #[test]
    fn master_errors_are_reported_not_panics() {
        assert_eq!(kind("hello"), Err(HlsError::NotM3u));
        assert_eq!(
            parse_master("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"),
            Err(HlsError::MissingVariantUri(8))
        );
        assert_eq!(parse_master("#EXTM3U\n"), Err(HlsError::NoVariants));
        assert_eq!(
            kind("#EXTM3U\n#EXT-X-STREAM-INF:B=1\na\n#EXTINF:1,\nb\n"),
            Err(HlsError::Ambiguous)
        );
        assert_eq!(kind("#EXTM3U\n"), Err(HlsError::Unknown));
        assert_eq!(
            kind("\u{feff}#EXTM3U\n#EXT-X-STREAM-INF:B=1\na\n"),
            Ok(PlaylistKind::Master)
        );
    }

    const MEDIA: &str = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n\
#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"700@0\"\n#EXTINF:2.0,\n#EXT-X-BYTERANGE:1000@700\nall.mp4\n\
#EXTINF:2.0,\n#EXT-X-BYTERANGE:500\nall.mp4\n#EXT-X-DISCONTINUITY\n#EXTINF:2.0,title\nhttp://cdn.example/other.m4s\n\
#EXT-X-PART:DURATION=0.5,URI=\"part1.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part2.m4s\"\n";

    #[test]
    fn media_segments_resolve_byte_ranges_and_ignore_ll_hls_parts() {
        let segs = parse_media(MEDIA, 100).unwrap();
        let summary: Vec<_> = segs.iter().map(|s| (s.uri.as_str(), s.range)).collect();
        assert_eq!(
            summary,
            [
                (
                    "all.mp4",
                    Some(ByteRange {
                        offset: 700,
                        length: 1000
                    })
                ),
                (
                    "all.mp4",
                    Some(ByteRange {
                        offset: 1700,
                        length: 500
                    })
                ),
                ("http://cdn.example/other.m4s", None),
            ]
        );
        assert_eq!(segs[0].range.unwrap().header_value(), "bytes=700-1699");
        assert_eq!(parse_media(MEDIA, 2), Err(HlsError::TooManySegments(2)));
    }

    #[test]
    fn media_hash_lines_go_before_each_uri_and_strip_back() {
        let segs = parse_media(MEDIA, 100).unwrap();
        let hashes = [Some([0xab; 32]), None, Some([0x01; 32])];
        let out = rewrite_media(MEDIA, &segs, &hashes).unwrap();
        assert_eq!(strip_insertions(&out), MEDIA);
        let found = hashes_in(&out);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], ("all.mp4".to_string(), "ab".repeat(32)));
        assert_eq!(
            found[1],
            ("http://cdn.example/other.m4s".to_string(), "01".repeat(32))
        );
        assert!(out.contains(&format!(
            "#EXT-X-BYTERANGE:1000@700\n{HLS_SHA256_TAG}{}\nall.mp4\n",
            "ab".repeat(32)
        )));
        assert!(out.contains(
            "#EXT-X-PART:DURATION=0.5,URI=\"part1.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT"
        ));
        assert_eq!(parse_media(&out, 100), Err(HlsError::AlreadyRewritten));
        assert_eq!(
            rewrite_media(MEDIA, &segs, &hashes[..1]),
            Err(HlsError::HashCount {
                got: 1,
                expected: 3
            })
        );
    }

    #[test]
    fn media_keeps_crlf_and_missing_final_newline() {
        let m = "#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXTINF:2,\r\na.ts\r\n#EXTINF:2,\r\nb.ts";
        let segs = parse_media(m, 10).unwrap();
        let out = rewrite_media(m, &segs, &[Some([1; 32]), Some([2; 32])]).unwrap();
        assert!(out.contains(&format!("\r\n{HLS_SHA256_TAG}{}\r\nb.ts", "02".repeat(32))));
        assert!(out.ends_with("b.ts"));
        assert_eq!(strip_insertions(&out), m);
    }

    #[test]
    fn bad_byte_ranges_are_errors() {
        let base = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n";
        assert!(matches!(
            parse_media(&format!("{base}#EXT-X-BYTERANGE:x@1\na.ts\n"), 9),
            Err(HlsError::BadByteRange(_))
        ));
        assert!(matches!(
            parse_media(&format!("{base}#EXT-X-BYTERANGE:0@1\na.ts\n"), 9),
            Err(HlsError::BadByteRange(_))
        ));
        assert!(matches!(
            parse_media(&format!("{base}#EXT-X-BYTERANGE:10\na.ts\n"), 9),
            Err(HlsError::ByteRangeWithoutPredecessor(_))
        ));
        assert!(matches!(
            parse_media(
                &format!("{base}#EXT-X-BYTERANGE:10@18446744073709551615\na.ts\n"),
                9
            ),
            Err(HlsError::BadByteRange(_))
        ));
        assert!(matches!(
            parse_media(&format!("{base}#EXT-X-BYTERANGE:10@0\n"), 9),
            Err(HlsError::DanglingByteRange(_))
        ));
    }

    #[test]
    fn attributes_handle_quoted_commas() {
        let a = "TYPE=AUDIO,NAME=\"a,b\",URI=\"x.m3u8\",DEFAULT=YES";
        assert_eq!(attribute(a, "URI"), Some("x.m3u8"));
        assert_eq!(attribute(a, "NAME"), Some("a,b"));
        assert_eq!(attribute(a, "DEFAULT"), Some("YES"));
        assert_eq!(attribute(a, "NOPE"), None);
        assert_eq!(attribute("URI=\"unterminated", "URI"), None);
    }

    fn playlist_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("#EXTM3U".to_string()),
            Just("#EXT-X-STREAM-INF:BANDWIDTH=1".to_string()),
            Just("#EXT-X-MEDIA:TYPE=AUDIO,URI=\"a.m3u8\"".to_string()),
            Just("#EXT-X-SESSION-DATA:DATA-ID=\"x\",VALUE=\"y\"".to_string()),
            Just("#EXTINF:2,".to_string()),
            Just("#EXT-X-TARGETDURATION:2".to_string()),
            Just(String::new()),
            "#EXT-X-BYTERANGE:[0-9@]{0,6}",
            "[a-z0-9/._é]{1,10}",
            "#[A-Z-]{0,12}:?[ -~]{0,10}",
            ".{0,12}",
        ]
    }

    fn playlist() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(
                (
                    playlist_line(),
                    prop_oneof![Just("\n"), Just("\r\n"), Just("")],
                ),
                0..24,
            ),
            any::<bool>(),
        )
            .prop_map(|(lines, header)| {
                let mut s = if header {
                    "#EXTM3U\n".to_string()
                } else {
                    String::new()
                };
                for (l, eol) in lines {
                    s.push_str(&l);
                    s.push_str(eol);
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn malformed_playlists_never_panic_and_rewrites_strip_back(text in playlist()) {
            let _ = kind(&text);
            if let Ok(out) = rewrite_master(&text, "dmFsdWU") {
                prop_assert_eq!(strip_insertions(&out), text.clone());
            }
            if let Ok(segs) = parse_media(&text, 1000) {
                let hashes: Vec<_> = (0..segs.len()).map(|i| (i % 2 == 0).then_some([i as u8; 32])).collect();
                let out = rewrite_media(&text, &segs, &hashes).unwrap();
                prop_assert_eq!(strip_insertions(&out), text);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = kind(&text);
            let _ = parse_master(&text);
            let _ = rewrite_master(&text, "v");
            if let Ok(segs) = parse_media(&text, 1000) {
                let hashes = vec![Some([0u8; 32]); segs.len()];
                prop_assert_eq!(strip_insertions(&rewrite_media(&text, &segs, &hashes).unwrap()), text);
            }
        }
    }
}
