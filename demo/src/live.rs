//! A live stream simulated from a VOD media playlist: an endless loop over its segments, served
//! as a sliding window that moves with the clock. Pure: the elapsed time is passed in.

/// Why a VOD playlist cannot be looped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    #[error("the VOD playlist has no segments")]
    NoSegments,
    #[error("segment duration {0:?} is not a positive number")]
    BadDuration(String),
    #[error("the VOD playlist has no #EXT-X-TARGETDURATION")]
    NoTargetDuration,
}

/// The segments of a VOD media playlist, as the loop needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSource {
    target_duration: u64,
    /// (EXTINF duration in ms, EXTINF line as written, URI)
    segments: Vec<(u64, String, String)>,
    period_ms: u64,
}

impl LoopSource {
    /// Reads EXT-X-TARGETDURATION and each `#EXTINF` + URI pair of a media playlist.
    pub fn parse(vod: &str) -> Result<Self, LiveError> {
        let mut target_duration = None;
        let mut segments = Vec::new();
        let mut pending: Option<(u64, String)> = None;
        for line in vod.lines().map(str::trim) {
            if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
                target_duration = v.trim().parse::<u64>().ok();
            } else if let Some(v) = line.strip_prefix("#EXTINF:") {
                let secs = v.split(',').next().unwrap_or_default().trim();
                let ms = secs
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d > 0.0)
                    .ok_or_else(|| LiveError::BadDuration(secs.to_string()))?;
                pending = Some(((ms * 1000.0).round() as u64, line.to_string()));
            } else if !line.is_empty()
                && !line.starts_with('#')
                && let Some((ms, extinf)) = pending.take()
            {
                segments.push((ms, extinf, line.to_string()));
            }
        }
        if segments.is_empty() {
            return Err(LiveError::NoSegments);
        }
        let period_ms = segments.iter().map(|s| s.0).sum();
        Ok(Self {
            target_duration: target_duration.ok_or(LiveError::NoTargetDuration)?,
            segments,
            period_ms,
        })
    }

    /// The live media playlist `elapsed_ms` after the stream started, with `window` segments.
    /// It starts with a full window (as if the stream had been running), the media sequence
    /// grows forever, and each wrap of the loop is marked with `#EXT-X-DISCONTINUITY` (the
    /// segments' timestamps restart there).
    pub fn window(&self, elapsed_ms: u64, window: usize) -> String {
        let n = self.segments.len() as u64;
        let window = window.max(1) as u64;
        // Segments completed since the start, counting whole loops first.
        let loops = elapsed_ms / self.period_ms;
        let mut done = loops * n;
        let mut into_loop = elapsed_ms % self.period_ms;
        for (ms, ..) in &self.segments {
            if into_loop < *ms {
                break;
            }
            into_loop -= ms;
            done += 1;
        }
        let end = done + window; // exclusive: a full window is there at elapsed 0
        let first = end - window;
        let mut out = String::with_capacity(64 * window as usize + 128);
        out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n");
        out.push_str(&format!("#EXT-X-TARGETDURATION:{}\n", self.target_duration));
        out.push_str(&format!("#EXT-X-MEDIA-SEQUENCE:{first}\n"));
        out.push_str(&format!("#EXT-X-DISCONTINUITY-SEQUENCE:{}\n", first / n));
        for seq in first..end {
            if seq != first && seq % n == 0 {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            let (_, extinf, uri) = &self.segments[(seq % n) as usize];
            out.push_str(extinf);
            out.push('\n');
            out.push_str(uri);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VOD: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n\
        #EXTINF:2.000000,\nseg_000.ts\n#EXTINF:2.000000,\nseg_001.ts\n#EXTINF:1.500000,\nseg_002.ts\n#EXT-X-ENDLIST\n";

    fn uris(playlist: &str) -> Vec<&str> {
        playlist.lines().filter(|l| !l.starts_with('#')).collect()
    }

    fn header(playlist: &str, tag: &str) -> u64 {
        playlist
            .lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn starts_with_a_full_window_and_no_endlist() {
        let src = LoopSource::parse(VOD).unwrap();
        let p = src.window(0, 4);
        assert_eq!(
            uris(&p),
            ["seg_000.ts", "seg_001.ts", "seg_002.ts", "seg_000.ts"]
        );
        assert_eq!(header(&p, "#EXT-X-MEDIA-SEQUENCE:"), 0);
        assert!(!p.contains("ENDLIST") && !p.contains("PLAYLIST-TYPE"));
        assert_eq!(p.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{p}");
    }

    #[test]
    fn slides_one_segment_per_segment_duration() {
        let src = LoopSource::parse(VOD).unwrap();
        assert_eq!(header(&src.window(1_999, 3), "#EXT-X-MEDIA-SEQUENCE:"), 0);
        assert_eq!(header(&src.window(2_000, 3), "#EXT-X-MEDIA-SEQUENCE:"), 1);
        assert_eq!(header(&src.window(5_500, 3), "#EXT-X-MEDIA-SEQUENCE:"), 3);
        let later = src.window(5_500, 3);
        assert_eq!(header(&later, "#EXT-X-DISCONTINUITY-SEQUENCE:"), 1);
        assert_eq!(uris(&later), ["seg_000.ts", "seg_001.ts", "seg_002.ts"]);
        assert!(
            !later.contains("#EXT-X-DISCONTINUITY\n"),
            "a wrap at the first segment is counted, not tagged"
        );
    }

    #[test]
    fn bad_vod_playlists_are_refused() {
        assert_eq!(
            LoopSource::parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n"),
            Err(LiveError::NoSegments)
        );
        assert_eq!(
            LoopSource::parse("#EXTM3U\n#EXTINF:2,\na.ts\n"),
            Err(LiveError::NoTargetDuration)
        );
        assert!(matches!(
            LoopSource::parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:-1,\na.ts\n"),
            Err(LiveError::BadDuration(_))
        ));
    }

    proptest! {
        /// The media sequence never goes back, a later playlist overlaps the earlier one
        /// consistently, and the discontinuity sequence matches the wraps before the window.
        #[test]
        fn window_is_monotonic_and_consistent(t1 in 0u64..10_000_000, dt in 0u64..20_000, w in 1usize..12) {
            let src = LoopSource::parse(VOD).unwrap();
            let (a, b) = (src.window(t1, w), src.window(t1 + dt, w));
            let (sa, sb) = (header(&a, "#EXT-X-MEDIA-SEQUENCE:"), header(&b, "#EXT-X-MEDIA-SEQUENCE:"));
            prop_assert!(sb >= sa);
            prop_assert_eq!(uris(&a).len(), w);
            let shift = (sb - sa) as usize;
            if shift < w {
                prop_assert_eq!(&uris(&a)[shift..], &uris(&b)[..w - shift]);
            }
            prop_assert_eq!(header(&a, "#EXT-X-DISCONTINUITY-SEQUENCE:"), sa / 3);
        }
    }
}
