//! Master playlists: the renditions they list, and the bootstrap `#EXT-X-SESSION-DATA` line.

use super::{HlsError, Line, attribute, check_header, is_bootstrap_line, is_uri_line, lines};
use crate::{HLS_DATA_ID, HLS_SHA256_TAG};

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
