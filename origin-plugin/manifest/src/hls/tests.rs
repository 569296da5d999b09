//! Playlist parsing and the byte-preserving rewrites (with property tests).

use super::*;
use proptest::prelude::*;

const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",URI=\"audio/en.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.4d401e,mp4a.40.2\",AUDIO=\"aud\"\n360p/index.m3u8\n\n\
#EXT-X-STREAM-INF:BANDWIDTH=400000\n240p/index.m3u8\n# a comment\n";

#[test]
fn master_gets_one_bootstrap_line_after_extm3u_and_strips_back() {
    let out = rewrite_master(MASTER, "abc_-").unwrap();
    assert!(out.starts_with("#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID=\"io.meshcdn.bootstrap\",VALUE=\"abc_-\"\n#EXT-X-VERSION"));
    assert_eq!(strip_insertions(&out), MASTER);
    assert_eq!(bootstrap_in(&out).as_deref(), Some("abc_-"));
    assert_eq!(
        parse_master(MASTER).unwrap(),
        ["audio/en.m3u8", "360p/index.m3u8", "240p/index.m3u8"]
    );
    assert_eq!(rewrite_master(&out, "x"), Err(HlsError::AlreadyRewritten));
}

#[test]
fn bootstrap_goes_after_existing_session_data_and_keeps_crlf() {
    let m = "#EXTM3U\r\n#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",VALUE=\"A, B\"\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nv.m3u8";
    let out = rewrite_master(m, "v").unwrap();
    assert_eq!(
        out,
        "#EXTM3U\r\n#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",VALUE=\"A, B\"\r\n\
#EXT-X-SESSION-DATA:DATA-ID=\"io.meshcdn.bootstrap\",VALUE=\"v\"\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nv.m3u8"
    );
    assert_eq!(strip_insertions(&out), m);
}

#[test]
fn a_byte_order_mark_keeps_the_header_first_and_is_no_segment() {
    let media = "\u{feff}#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n";
    let segments = parse_media(media, 10).unwrap();
    assert_eq!(
        segments.iter().map(|s| s.uri.as_str()).collect::<Vec<_>>(),
        ["a.ts"]
    );
    let out = rewrite_media(media, &segments, &[Some([0xab; 32])]).unwrap();
    assert!(out.starts_with("\u{feff}#EXTM3U\n"), "{out:?}");
    assert_eq!(strip_insertions(&out), media);
    assert_eq!(kind(&out), Ok(PlaylistKind::Media));
}

#[test]
fn master_errors_are_reported_not_panics() {
    assert_eq!(kind("hello"), Err(HlsError::NotM3u));
    assert_eq!(
        parse_master("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"),
        Err(HlsError::MissingVariantUri(8))
    );
    assert_eq!(parse_master("#EXTM3U\n"), Err(HlsError::NoVariants));
    assert_eq!(
        kind("#EXTM3U\n#EXT-X-STREAM-INF:B=1\na\n#EXTINF:1,\nb\n"),
        Err(HlsError::Ambiguous)
    );
    assert_eq!(kind("#EXTM3U\n"), Err(HlsError::Unknown));
    assert_eq!(
        kind("\u{feff}#EXTM3U\n#EXT-X-STREAM-INF:B=1\na\n"),
        Ok(PlaylistKind::Master)
    );
}

const MEDIA: &str = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n\
#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"700@0\"\n#EXTINF:2.0,\n#EXT-X-BYTERANGE:1000@700\nall.mp4\n\
#EXTINF:2.0,\n#EXT-X-BYTERANGE:500\nall.mp4\n#EXT-X-DISCONTINUITY\n#EXTINF:2.0,title\nhttp://cdn.example/other.m4s\n\
#EXT-X-PART:DURATION=0.5,URI=\"part1.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part2.m4s\"\n";

#[test]
fn media_segments_resolve_byte_ranges_and_ignore_ll_hls_parts() {
    let segs = parse_media(MEDIA, 100).unwrap();
    let summary: Vec<_> = segs.iter().map(|s| (s.uri.as_str(), s.range)).collect();
    assert_eq!(
        summary,
        [
            (
                "all.mp4",
                Some(ByteRange {
                    offset: 700,
                    length: 1000
                })
            ),
            (
                "all.mp4",
                Some(ByteRange {
                    offset: 1700,
                    length: 500
                })
            ),
            ("http://cdn.example/other.m4s", None),
        ]
    );
    assert_eq!(segs[0].range.unwrap().header_value(), "bytes=700-1699");
    assert_eq!(parse_media(MEDIA, 2), Err(HlsError::TooManySegments(2)));
}

#[test]
fn media_hash_lines_go_before_each_uri_and_strip_back() {
    let segs = parse_media(MEDIA, 100).unwrap();
    let hashes = [Some([0xab; 32]), None, Some([0x01; 32])];
    let out = rewrite_media(MEDIA, &segs, &hashes).unwrap();
    assert_eq!(strip_insertions(&out), MEDIA);
    let found = hashes_in(&out);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0], ("all.mp4".to_string(), "ab".repeat(32)));
    assert_eq!(
        found[1],
        ("http://cdn.example/other.m4s".to_string(), "01".repeat(32))
    );
    assert!(out.contains(&format!(
        "#EXT-X-BYTERANGE:1000@700\n{HLS_SHA256_TAG}{}\nall.mp4\n",
        "ab".repeat(32)
    )));
    assert!(out.contains(
        "#EXT-X-PART:DURATION=0.5,URI=\"part1.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT"
    ));
    assert_eq!(parse_media(&out, 100), Err(HlsError::AlreadyRewritten));
    assert_eq!(
        rewrite_media(MEDIA, &segs, &hashes[..1]),
        Err(HlsError::HashCount {
            got: 1,
            expected: 3
        })
    );
}

#[test]
fn media_keeps_crlf_and_missing_final_newline() {
    let m = "#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXTINF:2,\r\na.ts\r\n#EXTINF:2,\r\nb.ts";
    let segs = parse_media(m, 10).unwrap();
    let out = rewrite_media(m, &segs, &[Some([1; 32]), Some([2; 32])]).unwrap();
    assert!(out.contains(&format!("\r\n{HLS_SHA256_TAG}{}\r\nb.ts", "02".repeat(32))));
    assert!(out.ends_with("b.ts"));
    assert_eq!(strip_insertions(&out), m);
}

#[test]
fn bad_byte_ranges_are_errors() {
    let base = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n";
    assert!(matches!(
        parse_media(&format!("{base}#EXT-X-BYTERANGE:x@1\na.ts\n"), 9),
        Err(HlsError::BadByteRange(_))
    ));
    assert!(matches!(
        parse_media(&format!("{base}#EXT-X-BYTERANGE:0@1\na.ts\n"), 9),
        Err(HlsError::BadByteRange(_))
    ));
    assert!(matches!(
        parse_media(&format!("{base}#EXT-X-BYTERANGE:10\na.ts\n"), 9),
        Err(HlsError::ByteRangeWithoutPredecessor(_))
    ));
    assert!(matches!(
        parse_media(
            &format!("{base}#EXT-X-BYTERANGE:10@18446744073709551615\na.ts\n"),
            9
        ),
        Err(HlsError::BadByteRange(_))
    ));
    assert!(matches!(
        parse_media(&format!("{base}#EXT-X-BYTERANGE:10@0\n"), 9),
        Err(HlsError::DanglingByteRange(_))
    ));
}

#[test]
fn attributes_handle_quoted_commas() {
    let a = "TYPE=AUDIO,NAME=\"a,b\",URI=\"x.m3u8\",DEFAULT=YES";
    assert_eq!(attribute(a, "URI"), Some("x.m3u8"));
    assert_eq!(attribute(a, "NAME"), Some("a,b"));
    assert_eq!(attribute(a, "DEFAULT"), Some("YES"));
    assert_eq!(attribute(a, "NOPE"), None);
    assert_eq!(attribute("URI=\"unterminated", "URI"), None);
}

fn playlist_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("#EXTM3U".to_string()),
        Just("#EXT-X-STREAM-INF:BANDWIDTH=1".to_string()),
        Just("#EXT-X-MEDIA:TYPE=AUDIO,URI=\"a.m3u8\"".to_string()),
        Just("#EXT-X-SESSION-DATA:DATA-ID=\"x\",VALUE=\"y\"".to_string()),
        Just("#EXTINF:2,".to_string()),
        Just("#EXT-X-TARGETDURATION:2".to_string()),
        Just(String::new()),
        "#EXT-X-BYTERANGE:[0-9@]{0,6}",
        "[a-z0-9/._é]{1,10}",
        "#[A-Z-]{0,12}:?[ -~]{0,10}",
        ".{0,12}",
    ]
}

fn playlist() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                playlist_line(),
                prop_oneof![Just("\n"), Just("\r\n"), Just("")],
            ),
            0..24,
        ),
        any::<bool>(),
    )
        .prop_map(|(lines, header)| {
            let mut s = if header {
                "#EXTM3U\n".to_string()
            } else {
                String::new()
            };
            for (l, eol) in lines {
                s.push_str(&l);
                s.push_str(eol);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn malformed_playlists_never_panic_and_rewrites_strip_back(text in playlist()) {
        let _ = kind(&text);
        if let Ok(out) = rewrite_master(&text, "dmFsdWU") {
            prop_assert_eq!(strip_insertions(&out), text.clone());
        }
        if let Ok(segs) = parse_media(&text, 1000) {
            let hashes: Vec<_> = (0..segs.len()).map(|i| (i % 2 == 0).then_some([i as u8; 32])).collect();
            let out = rewrite_media(&text, &segs, &hashes).unwrap();
            prop_assert_eq!(strip_insertions(&out), text);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = kind(&text);
        let _ = parse_master(&text);
        let _ = rewrite_master(&text, "v");
        if let Ok(segs) = parse_media(&text, 1000) {
            let hashes = vec![Some([0u8; 32]); segs.len()];
            prop_assert_eq!(strip_insertions(&rewrite_media(&text, &segs, &hashes).unwrap()), text);
        }
    }
}
