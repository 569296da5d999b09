//! DASH MPDs: pure parsing (segment URLs of every Representation) and byte-preserving insertion
//! of the bootstrap descriptor (no I/O, no clock).
//!
//! Segment addressing supported: `SegmentTemplate` with `$Number$` (from `@duration` or a
//! `SegmentTimeline`) or `$Time$` (with a `SegmentTimeline`), `SegmentList` (with or without
//! `@mediaRange`) and `SegmentBase` / plain `BaseURL` (the whole file is one segment). `BaseURL`s
//! are resolved level by level (MPD → Period → AdaptationSet → Representation) and
//! `SegmentTemplate`/`SegmentList` attributes are inherited downwards, as the standard says.
//! Initialization segments are not listed (peers only exchange media segments).
//!
//! | file | job |
//! |---|---|
//! | `dom.rs` | the MPD as a small element tree (quick-xml events), attribute values |
//! | `template.rs` | `SegmentTemplate` inheritance and `$…$` identifier expansion |
//! | `segments.rs` | segment listing of every Representation; hash-document keys |
//! | `rewrite.rs` | byte-preserving insertion (and removal) of the bootstrap descriptor |

mod dom;
mod rewrite;
mod segments;
mod template;
#[cfg(test)]
mod tests;

use url::Url;

use super::ByteRange;
pub use dom::parse_iso_duration;
pub use rewrite::{bootstrap_in, rewrite_mpd, strip_insertions};
pub use segments::{hash_key, parse_mpd};
pub use template::expand_template;

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
