//! Byte-preserving insertion of the bootstrap descriptor into an MPD, its inverse, and reading it
//! back.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::DashError;
use super::dom::{MAX_DEPTH, local, xml_err};
use crate::DASH_SCHEME;

fn descriptor(prefix: &str, value: &str) -> String {
    format!("<{prefix}SupplementalProperty schemeIdUri=\"{DASH_SCHEME}\" value=\"{value}\"/>")
}

/// Inserts `<SupplementalProperty schemeIdUri="urn:meshcdn:bootstrap:2026" value="…"/>` just
/// before the first Period's end tag (after its AdaptationSets, where the schema puts it).
/// `value` must be base64url.
pub fn rewrite_mpd(text: &str, value: &str) -> Result<String, DashError> {
    if text.contains(DASH_SCHEME) {
        return Err(DashError::AlreadyRewritten);
    }
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut period_depth: Option<usize> = None;
    let mut insert: Option<(usize, String)> = None;
    let mut root_seen = false;
    loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) => {
                let name = local(e.name().as_ref())?;
                if !root_seen {
                    root_seen = true;
                    if name != "MPD" {
                        return Err(DashError::NotMpd(name));
                    }
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(DashError::TooDeep(MAX_DEPTH));
                }
                if name == "Period" && depth == 2 && insert.is_none() && period_depth.is_none() {
                    period_depth = Some(depth);
                }
            }
            Event::Empty(e) => {
                let name = local(e.name().as_ref())?;
                if !root_seen {
                    return Err(DashError::NotMpd(name));
                }
                if name == "Period" && depth == 1 && insert.is_none() && period_depth.is_none() {
                    return Err(DashError::EmptyPeriod);
                }
            }
            Event::End(e) => {
                if period_depth == Some(depth) {
                    let raw = std::str::from_utf8(e.name().as_ref())
                        .map_err(xml_err)?
                        .to_string();
                    let prefix = raw
                        .rsplit_once(':')
                        .map(|(p, _)| format!("{p}:"))
                        .unwrap_or_default();
                    insert = Some((before, prefix));
                    period_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(xml_err("unclosed elements at end of document"));
    }
    let (at, prefix) = insert.ok_or(DashError::NoPeriod)?;
    if !text.is_char_boundary(at) || !text[at..].starts_with("</") {
        return Err(xml_err("unexpected end tag position"));
    }
    let d = descriptor(&prefix, value);
    let mut out = String::with_capacity(text.len() + d.len());
    out.push_str(&text[..at]);
    out.push_str(&d);
    out.push_str(&text[at..]);
    Ok(out)
}

/// Removes the descriptors [`rewrite_mpd`] inserts: the inverse of the rewrite.
pub fn strip_insertions(text: &str) -> String {
    let needle = format!("SupplementalProperty schemeIdUri=\"{DASH_SCHEME}\" value=\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        let Some(open) = rest[..i].rfind('<') else {
            break;
        };
        let Some(close) = rest[i..].find("/>") else {
            break;
        };
        out.push_str(&rest[..open]);
        rest = &rest[i + close + 2..];
    }
    out.push_str(rest);
    out
}

/// The bootstrap value of a rewritten MPD, if any.
pub fn bootstrap_in(text: &str) -> Option<String> {
    let needle = format!("schemeIdUri=\"{DASH_SCHEME}\" value=\"");
    let i = text.find(&needle)? + needle.len();
    let end = text[i..].find('"')?;
    Some(text[i..i + end].to_string())
}
