//! DASH MPDs: parse, rewrite, and check the rewrite is what it claims to be.
//!
//! For any input: `parse_mpd`, `rewrite_mpd`, `parse_iso_duration` and `expand_template` return
//! (never panic), and every listed segment has a sane byte range and hash-document key. When the
//! rewrite succeeds its output must
//! - strip back to the input byte for byte (`strip_insertions`),
//! - carry the bootstrap value that was put in (`bootstrap_in`),
//! - list the same segments as the input (`parse_mpd` gives the same result), and
//! - be refused when rewritten again (`AlreadyRewritten`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshcdn_manifest::dash::{self, DashError};
use url::Url;

const VALUE: &str = "eyJ2IjoxfQ_-";
const MAX_SEGMENTS: usize = 2_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let mpd_url = Url::parse("https://origin.example/live/ch1/manifest.mpd").expect("url");

    if let Ok(secs) = dash::parse_iso_duration(text) {
        assert!(secs.is_finite() && secs >= 0.0, "{secs}");
    }
    let _ = dash::expand_template(text, "video-1", 7, 800_000, 90_000);

    let parsed = dash::parse_mpd(text, &mpd_url, MAX_SEGMENTS);
    if let Ok(info) = &parsed {
        let segments: usize = info.representations.iter().map(|r| r.segments.len()).sum();
        assert!(segments <= MAX_SEGMENTS);
        for seg in info.representations.iter().flat_map(|r| &r.segments) {
            if let Some(r) = seg.range {
                assert!(
                    r.length > 0 && r.offset.checked_add(r.length).is_some(),
                    "{r:?}"
                );
            }
            assert!(!dash::hash_key(&mpd_url, seg).is_empty());
        }
        let ids = info.rendition_ids();
        assert!(ids.len() <= info.representations.len());
    }

    match dash::rewrite_mpd(text, VALUE) {
        Ok(out) => {
            assert_eq!(dash::strip_insertions(&out), text);
            assert_eq!(dash::bootstrap_in(&out).as_deref(), Some(VALUE));
            assert_eq!(
                dash::rewrite_mpd(&out, VALUE),
                Err(DashError::AlreadyRewritten)
            );
            if let Ok(info) = &parsed {
                let again = dash::parse_mpd(&out, &mpd_url, MAX_SEGMENTS);
                assert_eq!(
                    again.as_ref(),
                    Ok(info),
                    "the descriptor changed the segments"
                );
            }
        }
        Err(DashError::AlreadyRewritten) => assert!(text.contains(meshcdn_manifest::DASH_SCHEME)),
        Err(_) => {}
    }
});
