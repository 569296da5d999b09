//! HLS playlists: parse, rewrite, and check the rewrite is what it claims to be.
//!
//! For any input: `kind`, `parse_master` and `parse_media` return (never panic). When a parse
//! succeeds, the matching rewrite must succeed (or refuse with `AlreadyRewritten`/`NoLineEnd`
//! for master playlists), and its output must
//! - still be a playlist of the same kind (the header stays first),
//! - strip back to the input (`strip_insertions`: only whole lines were inserted),
//! - re-parse to the same renditions / the same segments,
//! - carry exactly the bootstrap value / hashes that were put in, and
//! - be refused when rewritten again (`AlreadyRewritten`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshcdn_manifest::hls::{self, HlsError};

const VALUE: &str = "eyJ2IjoxfQ_-";
const MAX_SEGMENTS: usize = 2_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let kind = hls::kind(text);
    let _ = hls::attribute(text, "URI");
    let _ = hls::hashes_in(text);
    let _ = hls::bootstrap_in(text);

    if let Ok(renditions) = hls::parse_master(text) {
        assert!(!renditions.is_empty());
        match hls::rewrite_master(text, VALUE) {
            Ok(out) => {
                assert_eq!(hls::strip_insertions(&out), text);
                assert_eq!(out.len(), text.len() + inserted_master_len(&out, text));
                assert_eq!(hls::bootstrap_in(&out).as_deref(), Some(VALUE));
                assert_eq!(
                    hls::kind(&out),
                    kind,
                    "the rewrite changed the playlist kind"
                );
                assert_eq!(hls::parse_master(&out).as_ref(), Ok(&renditions));
                assert_eq!(
                    hls::rewrite_master(&out, VALUE),
                    Err(HlsError::AlreadyRewritten)
                );
            }
            Err(HlsError::AlreadyRewritten | HlsError::NoLineEnd(_)) => {}
            Err(e) => panic!("parsed as master but the rewrite failed: {e}"),
        }
    }

    if let Ok(segments) = hls::parse_media(text, MAX_SEGMENTS) {
        for s in &segments {
            assert!(s.line_start < text.len() && text.is_char_boundary(s.line_start));
            assert!(
                text[s.line_start..]
                    .trim_start()
                    .starts_with(s.uri.as_str())
            );
            if let Some(r) = s.range {
                assert!(
                    r.length > 0 && r.offset.checked_add(r.length).is_some(),
                    "{r:?}"
                );
            }
        }
        // A hash for some segments (chosen by the input), none for the others.
        let hashes: Vec<Option<[u8; 32]>> = segments
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let b = data.get(i % data.len().max(1)).copied().unwrap_or(0);
                (b % 3 != 0).then_some([b; 32])
            })
            .collect();
        let out = hls::rewrite_media(text, &segments, &hashes).expect("segments of this text");
        assert_eq!(hls::strip_insertions(&out), hls::strip_insertions(text));
        let header = |t: &str| {
            t.strip_prefix('\u{feff}')
                .unwrap_or(t)
                .starts_with("#EXTM3U")
        };
        assert!(
            header(&out),
            "the rewrite put a line before #EXTM3U: {out:?}"
        );
        assert_eq!(hls::kind(&out), kind);
        let want: Vec<(String, String)> = segments
            .iter()
            .zip(&hashes)
            .filter_map(|(s, h)| h.map(|h| (s.uri.clone(), hex(&h))))
            .collect();
        assert_eq!(hls::hashes_in(&out), want);
        if want.is_empty() {
            assert_eq!(out, text);
        } else {
            assert_eq!(
                hls::parse_media(&out, MAX_SEGMENTS),
                Err(HlsError::AlreadyRewritten)
            );
        }
        // The hash lines are the only difference: removing them gives the same segments back.
        let stripped = hls::strip_insertions(&out);
        if stripped == text {
            let again = hls::parse_media(&stripped, MAX_SEGMENTS).expect("re-parses");
            assert_eq!(again, segments);
        }
    }
});

/// Bytes of the one bootstrap line `rewrite_master` inserted (with its line ending).
fn inserted_master_len(out: &str, text: &str) -> usize {
    let line = format!("#EXT-X-SESSION-DATA:DATA-ID=\"io.meshcdn.bootstrap\",VALUE=\"{VALUE}\"");
    let eol = if out.contains(&format!("{line}\r\n")) {
        2
    } else {
        1
    };
    assert!(
        out.contains(&line),
        "no bootstrap line in {out:?} (from {text:?})"
    );
    line.len() + eol
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    meshcdn_manifest::push_hex(&mut s, bytes);
    s
}
