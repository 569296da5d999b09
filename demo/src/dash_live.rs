//! A live DASH stream simulated from the sample's VOD MPD (ffmpeg's output: `SegmentTemplate`
//! `$Number$` with one `SegmentTimeline` entry `<S t="0" d=".." r=".."/>` per Representation):
//! a dynamic MPD whose timeline is a sliding window that moves with the clock and loops over the
//! files forever. Segment `n` (from 1) is file `(n - 1) mod count + 1` with its `tfdt` decode
//! time moved to `(n - 1) × d`, so the presentation timeline is continuous across loops. Pure:
//! the clock is passed in.

/// Why the VOD MPD cannot be looped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DashLiveError {
    #[error("the MPD has no SegmentTimeline entry of the form <S t=\"0\" d=\"..\" r=\"..\" />")]
    NoTimeline,
    #[error("the MPD's SegmentTemplate@media is not chunk-$RepresentationID$-$Number%05d$.m4s")]
    UnexpectedMedia,
    #[error("the MPD has no timescale")]
    NoTimescale,
}

/// The looped stream: built once from the VOD MPD.
#[derive(Debug, Clone, PartialEq)]
pub struct DashLoop {
    vod: String,
    /// Segment duration in timescale ticks, and in ms.
    ticks: u64,
    segment_ms: u64,
    /// Files per loop.
    count: u64,
}

const VOD_MEDIA: &str = "chunk-$RepresentationID$-$Number%05d$.m4s";
/// Live segment names: the global number, mapped back to a file by [`DashLoop::file_for`].
pub const LIVE_MEDIA: &str = "seg-$RepresentationID$-$Number$.m4s";

fn attr_u64(text: &str, name: &str) -> Option<u64> {
    let at = text.find(&format!("{name}=\""))? + name.len() + 2;
    text[at..].split('"').next()?.parse().ok()
}

impl DashLoop {
    pub fn parse(vod: &str) -> Result<Self, DashLiveError> {
        let s = vod.find("<S t=\"0\"").ok_or(DashLiveError::NoTimeline)?;
        let entry = &vod[s..s + vod[s..].find('>').ok_or(DashLiveError::NoTimeline)?];
        let ticks = attr_u64(entry, "d")
            .filter(|d| *d > 0)
            .ok_or(DashLiveError::NoTimeline)?;
        let count = attr_u64(entry, "r").ok_or(DashLiveError::NoTimeline)? + 1;
        if !vod.contains(VOD_MEDIA) {
            return Err(DashLiveError::UnexpectedMedia);
        }
        let timescale = attr_u64(vod, "timescale")
            .filter(|t| *t > 0)
            .ok_or(DashLiveError::NoTimescale)?;
        Ok(Self {
            vod: vod.to_string(),
            ticks,
            segment_ms: ticks * 1000 / timescale,
            count,
        })
    }

    /// 0-based index of the newest complete segment `elapsed_ms` after the availability start.
    fn newest(&self, elapsed_ms: u64) -> Option<u64> {
        (elapsed_ms / self.segment_ms).checked_sub(1)
    }

    /// The dynamic MPD `elapsed_ms` after its availability start `ast_unix_ms`, with `window` segments.
    pub fn mpd(&self, ast_unix_ms: u64, elapsed_ms: u64, window: u64) -> String {
        let last = self.newest(elapsed_ms).unwrap_or(0);
        let first = last.saturating_sub(window.max(1) - 1);
        let depth = window * self.segment_ms / 1000;
        let dynamic = format!(
            "type=\"dynamic\" availabilityStartTime=\"{}\" publishTime=\"{}\" minimumUpdatePeriod=\"PT2S\" timeShiftBufferDepth=\"PT{depth}S\" suggestedPresentationDelay=\"PT6S\"",
            iso8601(ast_unix_ms),
            iso8601(ast_unix_ms + elapsed_ms)
        );
        let mut out = self.vod.replace("type=\"static\"", &dynamic);
        // A dynamic MPD has no fixed duration.
        const MPD_DURATION: &str = "mediaPresentationDuration=\"";
        if let Some(a) = out.find(MPD_DURATION)
            && let Some(len) = out[a + MPD_DURATION.len()..].find('"')
        {
            out.replace_range(a..a + MPD_DURATION.len() + len + 1, "");
        }
        out = out.replace(VOD_MEDIA, LIVE_MEDIA).replace(
            "startNumber=\"1\"",
            &format!("startNumber=\"{}\"", first + 1),
        );
        let vod_entry = format!(
            "<S t=\"0\" d=\"{}\" r=\"{}\" />",
            self.ticks,
            self.count - 1
        );
        let live_entry = format!(
            "<S t=\"{}\" d=\"{}\" r=\"{}\" />",
            first * self.ticks,
            self.ticks,
            last - first
        );
        out.replace(&vod_entry, &live_entry)
    }

    /// Whether segment `number` (from 1) is available `elapsed_ms` after the availability start.
    pub fn available(&self, number: u64, elapsed_ms: u64) -> bool {
        number >= 1 && self.newest(elapsed_ms).is_some_and(|n| number - 1 <= n)
    }

    /// The file (number within the loop, from 1) and the decode time live segment `number` gets.
    pub fn file_for(&self, number: u64) -> (u64, u64) {
        let k = number.saturating_sub(1);
        (k % self.count + 1, k * self.ticks)
    }
}

/// A copy of an fMP4 fragment with its `tfdt` baseMediaDecodeTime set to `time` (same size).
pub fn with_decode_time(chunk: &[u8], time: u64) -> Vec<u8> {
    let mut out = chunk.to_vec();
    if let Some(at) = out.windows(4).position(|w| w == b"tfdt") {
        let version = out.get(at + 4).copied();
        let field = at + 8;
        match version {
            Some(1) if out.len() >= field + 8 => {
                out[field..field + 8].copy_from_slice(&time.to_be_bytes())
            }
            Some(0) if out.len() >= field + 4 => {
                out[field..field + 4].copy_from_slice(&(time as u32).to_be_bytes())
            }
            _ => {}
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time in ms (days to civil date: H. Hinnant's algorithm).
pub fn iso8601(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOD: &str = include_str!("../../media/dash/manifest.mpd");

    #[test]
    fn the_window_slides_and_loops_over_the_files() {
        let l = DashLoop::parse(VOD).unwrap();
        let m = l.mpd(0, 16_000, 8);
        assert!(
            m.contains("type=\"dynamic\"") && !m.contains("mediaPresentationDuration"),
            "{m}"
        );
        assert!(
            m.contains("<S t=\"0\" d=\"24576\" r=\"7\" />") && m.contains("startNumber=\"1\""),
            "{m}"
        );
        assert!(m.contains(LIVE_MEDIA) && !m.contains(VOD_MEDIA));
        let later = l.mpd(0, 50_000, 8);
        // Newest complete at 50 s: index 24, so the window is segments 18..=25.
        assert!(
            later.contains("<S t=\"417792\" d=\"24576\" r=\"7\" />")
                && later.contains("startNumber=\"18\""),
            "{later}"
        );
        assert_eq!(
            later.matches("startNumber=\"18\"").count(),
            2,
            "both representations"
        );
        assert!(l.available(25, 50_000) && !l.available(26, 50_000) && !l.available(0, 50_000));
        assert_eq!(l.file_for(25), (5, 24 * 24576));
        assert_eq!(l.file_for(1), (1, 0));
    }

    #[test]
    fn decode_times_are_rewritten_in_place() {
        let chunk = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../media/dash/chunk-0-00002.m4s"
        ))
        .unwrap();
        let moved = with_decode_time(&chunk, 1_000_000);
        assert_eq!(moved.len(), chunk.len());
        let at = moved.windows(4).position(|w| w == b"tfdt").unwrap();
        assert_eq!(
            u64::from_be_bytes(moved[at + 8..at + 16].try_into().unwrap()),
            1_000_000
        );
        assert_eq!(with_decode_time(b"no box here", 5), b"no box here");
    }

    #[test]
    fn other_mpds_are_refused_and_dates_are_iso() {
        assert_eq!(DashLoop::parse("<MPD/>"), Err(DashLiveError::NoTimeline));
        assert_eq!(
            DashLoop::parse(&VOD.replace(VOD_MEDIA, "x-$Number$.m4s")),
            Err(DashLiveError::UnexpectedMedia)
        );
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso8601(1_764_633_600_000 + 3_723_000),
            "2025-12-02T01:02:03Z"
        );
    }
}
