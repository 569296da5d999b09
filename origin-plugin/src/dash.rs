//! DASH MPDs: pure parsing (segment URLs of every Representation) and byte-preserving insertion
//! of the bootstrap descriptor (no I/O, no clock).
//!
//! Segment addressing supported: `SegmentTemplate` with `$Number$` (from `@duration` or a
//! `SegmentTimeline`) or `$Time$` (with a `SegmentTimeline`), `SegmentList` (with or without
//! `@mediaRange`) and `SegmentBase` / plain `BaseURL` (the whole file is one segment). `BaseURL`s
//! are resolved level by level (MPD → Period → AdaptationSet → Representation) and
//! `SegmentTemplate`/`SegmentList` attributes are inherited downwards, as the standard says.
//! Initialization segments are not listed (peers only exchange media segments).

use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

use crate::bootstrap::DASH_SCHEME;
use crate::hls::ByteRange;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DashError {
    #[error("MPD is not well-formed XML: {0}")]
    Xml(String),
    #[error("root element is <{0}>, not <MPD>")]
    NotMpd(String),
    #[error("MPD nests elements deeper than {0}")]
    TooDeep(usize),
    #[error("MPD has no <Period>")]
    NoPeriod,
    #[error("the first <Period> is empty (<Period/>): nowhere to put the descriptor")]
    EmptyPeriod,
    #[error("MPD already carries meshcdn data")]
    AlreadyRewritten,
    #[error("MPD lists more than {0} segments")]
    TooManySegments(usize),
    #[error("invalid {what}: {value:?}")]
    Invalid { what: &'static str, value: String },
    #[error("SegmentTemplate@media {0:?} uses an unknown or malformed identifier")]
    Template(String),
    #[error("cannot count segments of Representation {0:?}: the period duration is unknown")]
    UnknownDuration(String),
}

/// One media segment: its absolute URL and, for `SegmentList@mediaRange`, its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashSegment {
    pub url: Url,
    pub range: Option<ByteRange>,
}

/// A Representation (rendition) and its media segments in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    pub id: String,
    pub segments: Vec<DashSegment>,
}

/// What the plugin needs from an MPD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdInfo {
    /// `type="dynamic"` (live).
    pub dynamic: bool,
    /// Representations in document order (one entry per Period they appear in).
    pub representations: Vec<Representation>,
}

impl MpdInfo {
    /// Representation ids without repeats (a rendition keeps its id across Periods).
    pub fn rendition_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in &self.representations {
            if !ids.contains(&r.id) {
                ids.push(r.id.clone());
            }
        }
        ids
    }
}

const MAX_DEPTH: usize = 32;

#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn xml_err(e: impl std::fmt::Display) -> DashError {
    DashError::Xml(e.to_string())
}

fn local(name: &[u8]) -> Result<String, DashError> {
    let s = std::str::from_utf8(name).map_err(xml_err)?;
    Ok(s.rsplit(':').next().unwrap_or(s).to_string())
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, DashError> {
    let mut el = Element {
        name: local(e.name().as_ref())?,
        ..Element::default()
    };
    for attr in e.attributes() {
        let attr = attr.map_err(xml_err)?;
        let key = local(attr.key.as_ref())?;
        let value = attr.unescape_value().map_err(xml_err)?.into_owned();
        el.attrs.push((key, value));
    }
    Ok(el)
}

fn parse_dom(text: &str) -> Result<Element, DashError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let attach = |stack: &mut Vec<Element>, el: Element, root: &mut Option<Element>| match stack
        .last_mut()
    {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => {}
    };
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DashError::TooDeep(MAX_DEPTH));
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let el = element(&e)?;
                attach(&mut stack, el, &mut root);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xml_err("unbalanced end tag"))?;
                attach(&mut stack, el, &mut root);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(xml_err)?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(xml_err)?);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(xml_err)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(xml_err)?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| xml_err(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xml_err("unclosed elements at end of document"));
    }
    let root = root.ok_or_else(|| xml_err("empty document"))?;
    if root.name != "MPD" {
        return Err(DashError::NotMpd(root.name));
    }
    Ok(root)
}

/// Seconds of an ISO 8601 duration as used by DASH (`PT1H2M3.5S`, `P1DT2S`).
pub fn parse_iso_duration(text: &str) -> Result<f64, DashError> {
    let bad = || DashError::Invalid {
        what: "duration",
        value: text.to_string(),
    };
    let rest = text.trim().strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut take = |part: &str, units: &[(char, f64)]| -> Result<(), DashError> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let mult = units
                .iter()
                .find(|(u, _)| *u == c)
                .map(|(_, m)| *m)
                .ok_or_else(bad)?;
            let n: f64 = num.parse().map_err(|_| bad())?;
            total += n * mult;
            num.clear();
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    take(date, &[('D', 86_400.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return Err(bad());
        }
        take(t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if total.is_finite() {
        Ok(total)
    } else {
        Err(bad())
    }
}

fn num<T: std::str::FromStr>(el: &Element, name: &'static str) -> Result<Option<T>, DashError> {
    el.attr(name)
        .map(|v| {
            v.trim().parse::<T>().map_err(|_| DashError::Invalid {
                what: name,
                value: v.to_string(),
            })
        })
        .transpose()
}

#[derive(Debug, Clone, Copy)]
struct TimelineEntry {
    t: Option<u64>,
    d: u64,
    r: i64,
}

/// SegmentTemplate attributes, merged down the hierarchy.
#[derive(Debug, Clone, Default)]
struct Template {
    media: Option<String>,
    start_number: Option<u64>,
    timescale: Option<u64>,
    duration: Option<u64>,
    timeline: Option<Vec<TimelineEntry>>,
}

impl Template {
    fn merged(&self, el: &Element) -> Result<Template, DashError> {
        let mut t = self.clone();
        if let Some(m) = el.attr("media") {
            t.media = Some(m.to_string());
        }
        t.start_number = num(el, "startNumber")?.or(t.start_number);
        t.timescale = num(el, "timescale")?.or(t.timescale);
        t.duration = num(el, "duration")?.or(t.duration);
        if let Some(tl) = el.child("SegmentTimeline") {
            let mut entries = Vec::new();
            for s in tl.children("S") {
                let d: u64 = num(s, "d")?.ok_or(DashError::Invalid {
                    what: "S@d",
                    value: String::new(),
                })?;
                if d == 0 {
                    return Err(DashError::Invalid {
                        what: "S@d",
                        value: "0".into(),
                    });
                }
                entries.push(TimelineEntry {
                    t: num(s, "t")?,
                    d,
                    r: num(s, "r")?.unwrap_or(0),
                });
            }
            t.timeline = Some(entries);
        }
        Ok(t)
    }
}

/// Expands `$RepresentationID$`, `$Number$`, `$Bandwidth$`, `$Time$` (with `%0Nd` widths) and `$$`.
pub fn expand_template(
    template: &str,
    rep_id: &str,
    number: u64,
    bandwidth: u64,
    time: u64,
) -> Result<String, DashError> {
    let bad = || DashError::Template(template.to_string());
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('$').ok_or_else(bad)?;
        let ident = &after[..end];
        rest = &after[end + 1..];
        if ident.is_empty() {
            out.push('$');
            continue;
        }
        let (name, format) = match ident.split_once('%') {
            Some((n, f)) => (n, Some(f)),
            None => (ident, None),
        };
        let value = match name {
            "RepresentationID" if format.is_none() => {
                out.push_str(rep_id);
                continue;
            }
            "Number" => number,
            "Bandwidth" => bandwidth,
            "Time" => time,
            _ => return Err(bad()),
        };
        match format {
            None => out.push_str(&value.to_string()),
            Some(f) => {
                let width: usize = f
                    .strip_prefix('0')
                    .unwrap_or(f)
                    .strip_suffix('d')
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                if width > 32 {
                    return Err(bad());
                }
                out.push_str(&format!("{value:0width$}"));
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn join(base: &Url, el: &Element) -> Result<Url, DashError> {
    match el.child("BaseURL") {
        Some(b) => base.join(b.text.trim()).map_err(|_| DashError::Invalid {
            what: "BaseURL",
            value: b.text.clone(),
        }),
        None => Ok(base.clone()),
    }
}

fn media_range(v: &str) -> Result<ByteRange, DashError> {
    let bad = || DashError::Invalid {
        what: "mediaRange",
        value: v.to_string(),
    };
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if b < a {
        return Err(bad());
    }
    Ok(ByteRange {
        offset: a,
        length: b - a + 1,
    })
}

struct Ctx<'a> {
    dynamic: bool,
    period_secs: Option<f64>,
    max_segments: usize,
    total: &'a mut usize,
}

impl Ctx<'_> {
    fn count(&mut self) -> Result<(), DashError> {
        *self.total += 1;
        if *self.total > self.max_segments {
            Err(DashError::TooManySegments(self.max_segments))
        } else {
            Ok(())
        }
    }
}

fn representation_segments(
    rep: &Element,
    base: &Url,
    template: Option<&Template>,
    list: Option<&Element>,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<DashSegment>, DashError> {
    let id = rep.attr("id").unwrap_or("").to_string();
    let bandwidth: u64 = num(rep, "bandwidth")?.unwrap_or(0);
    let mut out = Vec::new();
    if let Some(list) = rep.child("SegmentList").or(list) {
        for s in list.children("SegmentURL") {
            ctx.count()?;
            let url = match s.attr("media") {
                Some(m) => base.join(m).map_err(|_| DashError::Invalid {
                    what: "SegmentURL@media",
                    value: m.into(),
                })?,
                None => base.clone(),
            };
            out.push(DashSegment {
                url,
                range: s.attr("mediaRange").map(media_range).transpose()?,
            });
        }
        return Ok(out);
    }
    let template = match rep.child("SegmentTemplate") {
        Some(el) => Some(template.cloned().unwrap_or_default().merged(el)?),
        None => template.cloned(),
    };
    if let Some(t) = template.filter(|t| t.media.is_some()) {
        let media = t.media.as_deref().unwrap_or_default();
        let timescale = t.timescale.unwrap_or(1).max(1);
        let mut number = t.start_number.unwrap_or(1);
        let mut push = |number: u64, time: u64, ctx: &mut Ctx<'_>| -> Result<(), DashError> {
            ctx.count()?;
            let rel = expand_template(media, &id, number, bandwidth, time)?;
            let url = base.join(&rel).map_err(|_| DashError::Invalid {
                what: "segment URL",
                value: rel,
            })?;
            out.push(DashSegment { url, range: None });
            Ok(())
        };
        if let Some(timeline) = &t.timeline {
            let period_end = ctx.period_secs.map(|s| (s * timescale as f64) as u64);
            let mut time = 0u64;
            for (i, s) in timeline.iter().enumerate() {
                time = s.t.unwrap_or(time);
                let repeats = if s.r >= 0 {
                    s.r as u64 + 1
                } else {
                    // r = -1: repeat until the next S@t or the end of the period.
                    let until = timeline
                        .get(i + 1)
                        .and_then(|n| n.t)
                        .or(period_end)
                        .ok_or_else(|| DashError::UnknownDuration(id.clone()))?;
                    until.saturating_sub(time).div_ceil(s.d)
                };
                for _ in 0..repeats {
                    push(number, time, ctx)?;
                    number += 1;
                    time = time.checked_add(s.d).ok_or(DashError::Invalid {
                        what: "S@d",
                        value: s.d.to_string(),
                    })?;
                }
            }
        } else if let Some(d) = t.duration.filter(|d| *d > 0) {
            if ctx.dynamic {
                // Live $Number$ addressing depends on the wall clock: not listed (no hashes).
                return Ok(out);
            }
            let secs = ctx
                .period_secs
                .ok_or_else(|| DashError::UnknownDuration(id.clone()))?;
            let count = (secs * timescale as f64 / d as f64).ceil();
            if !(0.0..=ctx.max_segments as f64).contains(&count) {
                return Err(DashError::TooManySegments(ctx.max_segments));
            }
            for i in 0..count as u64 {
                push(number, i * d, ctx)?;
                number += 1;
            }
        }
        return Ok(out);
    }
    // SegmentBase or a bare BaseURL: the whole file is the one segment.
    if rep.child("BaseURL").is_some() || rep.child("SegmentBase").is_some() {
        ctx.count()?;
        out.push(DashSegment {
            url: base.clone(),
            range: None,
        });
    }
    Ok(out)
}

/// Lists every Representation's media segments, resolving URLs against `mpd_url`.
pub fn parse_mpd(text: &str, mpd_url: &Url, max_segments: usize) -> Result<MpdInfo, DashError> {
    let root = parse_dom(text)?;
    let dynamic = root.attr("type") == Some("dynamic");
    let total_secs = root
        .attr("mediaPresentationDuration")
        .map(parse_iso_duration)
        .transpose()?;
    let base = join(mpd_url, &root)?;
    let periods: Vec<&Element> = root.children("Period").collect();
    if periods.is_empty() {
        return Err(DashError::NoPeriod);
    }
    let mut total = 0usize;
    let mut representations = Vec::new();
    let mut start = 0.0;
    for (i, period) in periods.iter().enumerate() {
        start = period
            .attr("start")
            .map(parse_iso_duration)
            .transpose()?
            .unwrap_or(start);
        let next_start = periods
            .get(i + 1)
            .and_then(|p| p.attr("start"))
            .map(parse_iso_duration)
            .transpose()?;
        let period_secs = match period
            .attr("duration")
            .map(parse_iso_duration)
            .transpose()?
        {
            Some(d) => Some(d),
            None => next_start.or(total_secs).map(|end| (end - start).max(0.0)),
        };
        let mut ctx = Ctx {
            dynamic,
            period_secs,
            max_segments,
            total: &mut total,
        };
        let p_base = join(&base, period)?;
        let p_tmpl = period
            .child("SegmentTemplate")
            .map(|t| Template::default().merged(t))
            .transpose()?;
        let p_list = period.child("SegmentList");
        for set in period.children("AdaptationSet") {
            let a_base = join(&p_base, set)?;
            let a_tmpl = match set.child("SegmentTemplate") {
                Some(t) => Some(p_tmpl.clone().unwrap_or_default().merged(t)?),
                None => p_tmpl.clone(),
            };
            let a_list = set.child("SegmentList").or(p_list);
            for rep in set.children("Representation") {
                let r_base = join(&a_base, rep)?;
                let segments =
                    representation_segments(rep, &r_base, a_tmpl.as_ref(), a_list, &mut ctx)?;
                representations.push(Representation {
                    id: rep.attr("id").unwrap_or("").to_string(),
                    segments,
                });
            }
        }
        if let Some(d) = period_secs {
            start += d;
        }
    }
    Ok(MpdInfo {
        dynamic,
        representations,
    })
}

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

/// A segment URL as a hash-document key: relative to the MPD's directory when below it,
/// otherwise absolute; byte ranges are appended as `#bytes=first-last` (inclusive).
pub fn hash_key(mpd_url: &Url, segment: &DashSegment) -> String {
    let url = &segment.url;
    let dir_len = mpd_url.path().rfind('/').map(|i| i + 1).unwrap_or(0);
    let dir = &mpd_url.path()[..dir_len];
    let mut key = if url.origin() == mpd_url.origin() && url.path().starts_with(dir) {
        let mut k = url.path()[dir_len..].to_string();
        if let Some(q) = url.query() {
            k.push('?');
            k.push_str(q);
        }
        k
    } else {
        url.to_string()
    };
    if let Some(r) = segment.range {
        key.push_str(&format!("#bytes={}-{}", r.offset, r.offset + r.length - 1));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> Url {
        Url::parse("http://o.test/vod/movie/manifest.mpd").unwrap()
    }

    const TIMELINE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video">
      <SegmentTemplate timescale="1000" initialization="init-$RepresentationID$.mp4" media="v/$RepresentationID$/$Time$.m4s"/>
      <Representation id="hi" bandwidth="800000">
        <SegmentTemplate media="c-$RepresentationID$-$Number%05d$.m4s" startNumber="7">
          <SegmentTimeline><S t="0" d="2000" r="2"/><S d="2000"/></SegmentTimeline>
        </SegmentTemplate>
      </Representation>
      <Representation id="lo" bandwidth="400000">
        <SegmentTemplate><SegmentTimeline><S t="100" d="3000" r="-1"/></SegmentTimeline></SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"#;

    fn keys(info: &MpdInfo, rep: usize) -> Vec<String> {
        info.representations[rep]
            .segments
            .iter()
            .map(|s| hash_key(&base(), s))
            .collect()
    }

    #[test]
    fn timeline_number_and_time_templates_expand() {
        let info = parse_mpd(TIMELINE, &base(), 100).unwrap();
        assert_eq!(info.rendition_ids(), ["hi", "lo"]);
        assert_eq!(
            keys(&info, 0),
            [
                "c-hi-00007.m4s",
                "c-hi-00008.m4s",
                "c-hi-00009.m4s",
                "c-hi-00010.m4s"
            ]
        );
        // r=-1 repeats until the period ends (8 s = 8000 ticks): t = 100, 3100, 6100.
        assert_eq!(
            keys(&info, 1),
            ["v/lo/100.m4s", "v/lo/3100.m4s", "v/lo/6100.m4s"]
        );
        assert_eq!(
            parse_mpd(TIMELINE, &base(), 5),
            Err(DashError::TooManySegments(5))
        );
    }

    #[test]
    fn number_with_duration_list_and_base_are_supported() {
        let mpd = r#"<MPD type="static" mediaPresentationDuration="PT0H0M5.0S"><BaseURL>http://cdn.test/root/</BaseURL>
<Period><AdaptationSet>
 <Representation id="a" bandwidth="1"><BaseURL>a/</BaseURL><SegmentTemplate media="s$Number$.ts" duration="2" startNumber="0"/></Representation>
 <Representation id="b"><SegmentList><SegmentURL media="x.mp4" mediaRange="10-19"/><SegmentURL media="x.mp4" mediaRange="20-29"/></SegmentList></Representation>
 <Representation id="c"><BaseURL>whole&amp;file.mp4</BaseURL><SegmentBase indexRange="0-99"/></Representation>
</AdaptationSet></Period></MPD>"#;
        let info = parse_mpd(mpd, &base(), 100).unwrap();
        assert_eq!(
            keys(&info, 0),
            [
                "http://cdn.test/root/a/s0.ts",
                "http://cdn.test/root/a/s1.ts",
                "http://cdn.test/root/a/s2.ts"
            ]
        );
        assert_eq!(
            keys(&info, 1),
            [
                "http://cdn.test/root/x.mp4#bytes=10-19",
                "http://cdn.test/root/x.mp4#bytes=20-29"
            ]
        );
        assert_eq!(
            info.representations[1].segments[0].range,
            Some(ByteRange {
                offset: 10,
                length: 10
            })
        );
        assert_eq!(keys(&info, 2), ["http://cdn.test/root/whole&file.mp4"]);
    }

    #[test]
    fn live_number_templates_list_nothing_and_unknown_durations_are_errors() {
        let live = r#"<MPD type="dynamic"><Period start="PT0S"><AdaptationSet><Representation id="a"><SegmentTemplate media="$Number$.m4s" duration="2"/></Representation></AdaptationSet></Period></MPD>"#;
        assert!(
            parse_mpd(live, &base(), 10).unwrap().representations[0]
                .segments
                .is_empty()
        );
        let vod = live.replace("dynamic", "static");
        assert_eq!(
            parse_mpd(&vod, &base(), 10),
            Err(DashError::UnknownDuration("a".into()))
        );
    }

    #[test]
    fn descriptor_goes_before_the_first_period_end_and_strips_back() {
        let out = rewrite_mpd(TIMELINE, "djE").unwrap();
        assert!(out.contains(
            "</AdaptationSet>\n  <SupplementalProperty schemeIdUri=\"urn:meshcdn:bootstrap:2026\" value=\"djE\"/></Period>"
        ));
        assert_eq!(strip_insertions(&out), TIMELINE);
        assert_eq!(bootstrap_in(&out).as_deref(), Some("djE"));
        assert_eq!(rewrite_mpd(&out, "x"), Err(DashError::AlreadyRewritten));
        // The rewritten MPD still parses to the same segments.
        assert_eq!(
            parse_mpd(&out, &base(), 100),
            parse_mpd(TIMELINE, &base(), 100)
        );
        let prefixed = "<mpd:MPD xmlns:mpd=\"urn:mpeg:dash:schema:mpd:2011\"><mpd:Period></mpd:Period><mpd:Period></mpd:Period></mpd:MPD>";
        let out = rewrite_mpd(prefixed, "v").unwrap();
        assert!(out.contains("<mpd:Period><mpd:SupplementalProperty schemeIdUri=\"urn:meshcdn:bootstrap:2026\" value=\"v\"/></mpd:Period><mpd:Period></mpd:Period>"));
        assert_eq!(strip_insertions(&out), prefixed);
    }

    #[test]
    fn malformed_mpds_are_errors() {
        assert!(matches!(
            rewrite_mpd("<MPD><Period></MPD>", "v"),
            Err(DashError::Xml(_))
        ));
        assert_eq!(
            rewrite_mpd("<Foo/>", "v"),
            Err(DashError::NotMpd("Foo".into()))
        );
        assert_eq!(rewrite_mpd("<MPD></MPD>", "v"), Err(DashError::NoPeriod));
        assert_eq!(
            rewrite_mpd("<MPD><Period/></MPD>", "v"),
            Err(DashError::EmptyPeriod)
        );
        assert!(matches!(
            rewrite_mpd("<MPD><Period>", "v"),
            Err(DashError::Xml(_))
        ));
        assert!(matches!(
            parse_mpd(
                "<MPD><Period><AdaptationSet><Representation id='a'><SegmentTemplate media='$Nope$'><SegmentTimeline><S d='1'/></SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>",
                &base(),
                9
            ),
            Err(DashError::Template(_))
        ));
        assert!(matches!(
            parse_mpd(
                "<MPD><Period><AdaptationSet><Representation><SegmentList><SegmentURL mediaRange='9-1'/></SegmentList></Representation></AdaptationSet></Period></MPD>",
                &base(),
                9
            ),
            Err(DashError::Invalid { .. })
        ));
        let deep = format!("<MPD>{}{}</MPD>", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(
            parse_mpd(&deep, &base(), 9),
            Err(DashError::TooDeep(MAX_DEPTH))
        );
        assert_eq!(rewrite_mpd(&deep, "v"), Err(DashError::TooDeep(MAX_DEPTH)));
    }

    #[test]
    fn iso_durations_and_templates() {
        assert_eq!(parse_iso_duration("PT1H2M3.5S").unwrap(), 3723.5);
        assert_eq!(parse_iso_duration("P1DT1S").unwrap(), 86401.0);
        for bad in ["", "1S", "PT", "PTxS", "PT1X", "P1Y"] {
            assert!(parse_iso_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            expand_template(
                "$RepresentationID$_$Number%03d$_$$_$Bandwidth$",
                "r",
                7,
                9,
                0
            )
            .unwrap(),
            "r_007_$_9"
        );
        assert!(expand_template("$Number", "r", 1, 1, 1).is_err());
        assert!(expand_template("$Number%99d$", "r", 1, 1, 1).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn malformed_mpds_never_panic_and_rewrites_strip_back(
            cut in 0usize..TIMELINE.len(),
            junk in "[<>/=\" a-zA-Z$%0-9]{0,12}",
        ) {
            let mut text = TIMELINE.as_bytes()[..cut].to_vec();
            text.extend_from_slice(junk.as_bytes());
            text.extend_from_slice(&TIMELINE.as_bytes()[cut..]);
            let text = String::from_utf8_lossy(&text).into_owned();
            let _ = parse_mpd(&text, &base(), 1000);
            if let Ok(out) = rewrite_mpd(&text, "dmFs") {
                prop_assert_eq!(strip_insertions(&out), text);
            }
        }
    }
}
