//! Segment listing: every Representation's media segments as absolute URLs (`BaseURL`s resolved
//! level by level), bounded by `max_segments`; and the keys of the hash document.

use url::Url;

use super::dom::{Element, num, parse_dom, parse_iso_duration};
use super::template::{Template, expand_template};
use super::{ByteRange, DashError, DashSegment, MpdInfo, Representation};

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
    // `b` is inclusive: the range ends at b + 1, which must fit (u64::MAX overflowed here).
    let end = b.checked_add(1).ok_or_else(bad)?;
    if b < a {
        return Err(bad());
    }
    Ok(ByteRange {
        offset: a,
        length: end - a,
    })
}

/// The number of the next segment; `startNumber` near `u64::MAX` has none (it overflowed here).
fn next_number(number: u64) -> Result<u64, DashError> {
    number.checked_add(1).ok_or(DashError::Invalid {
        what: "startNumber",
        value: number.to_string(),
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
                    number = next_number(number)?;
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
                let time = i.checked_mul(d).ok_or(DashError::Invalid {
                    what: "SegmentTemplate@duration",
                    value: d.to_string(),
                })?;
                push(number, time, ctx)?;
                number = next_number(number)?;
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

/// A segment URL as a hash-document key: relative to the MPD's directory when below it,
/// otherwise absolute; byte ranges are appended as `#bytes=first-last` (inclusive).
pub fn hash_key(mpd_url: &Url, segment: &DashSegment) -> String {
    let url = &segment.url;
    let dir_len = mpd_url.path().rfind('/').map(|i| i + 1).unwrap_or(0);
    let dir = &mpd_url.path()[..dir_len];
    // A segment at the directory itself (found by the `dash` fuzz target: a template whose URL
    // is the directory once the URL parser strips trailing control characters) would get an
    // empty relative key, which a client resolves to the MPD's own URL: it gets its absolute one.
    let below = url.path().len() > dir_len || url.query().is_some();
    let mut key = if url.origin() == mpd_url.origin() && url.path().starts_with(dir) && below {
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
