//! `SegmentTemplate`: attributes inherited down the hierarchy (Period → AdaptationSet →
//! Representation) and the expansion of `$…$` identifiers into segment URLs.

use super::DashError;
use super::dom::{Element, num};

#[derive(Debug, Clone, Copy)]
pub(super) struct TimelineEntry {
    pub(super) t: Option<u64>,
    pub(super) d: u64,
    pub(super) r: i64,
}

/// SegmentTemplate attributes, merged down the hierarchy.
#[derive(Debug, Clone, Default)]
pub(super) struct Template {
    pub(super) media: Option<String>,
    pub(super) start_number: Option<u64>,
    pub(super) timescale: Option<u64>,
    pub(super) duration: Option<u64>,
    pub(super) timeline: Option<Vec<TimelineEntry>>,
}

impl Template {
    pub(super) fn merged(&self, el: &Element) -> Result<Template, DashError> {
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
