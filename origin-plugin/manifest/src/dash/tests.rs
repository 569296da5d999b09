//! MPD parsing, segment listing and the descriptor rewrite.

use url::Url;

use super::dom::MAX_DEPTH;
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
fn a_segment_at_the_mpds_directory_gets_an_absolute_key_never_an_empty_one() {
    let at = |u: &str| DashSegment {
        url: Url::parse(u).unwrap(),
        range: None,
    };
    assert_eq!(
        hash_key(&base(), &at("http://o.test/vod/movie/")),
        "http://o.test/vod/movie/"
    );
    assert_eq!(
        hash_key(&base(), &at("http://o.test/vod/movie/?n=1")),
        "?n=1"
    );
    assert_eq!(
        hash_key(&base(), &at("http://o.test/vod/movie/a.m4s")),
        "a.m4s"
    );
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

/// Found by reading for the `dash` fuzz target (debug builds panicked on the overflow, release
/// builds wrapped to an empty range or segment number 0); now kept in its corpus.
#[test]
fn ranges_and_numbers_at_the_end_of_u64_are_errors_not_overflows() {
    let url = Url::parse("https://cdn.test/v/manifest.mpd").unwrap();
    let list = |range: &str| {
        format!(
            r#"<MPD><Period><AdaptationSet><Representation id="r"><SegmentList><SegmentURL media="a.mp4" mediaRange="{range}"/></SegmentList></Representation></AdaptationSet></Period></MPD>"#
        )
    };
    let err = parse_mpd(&list("0-18446744073709551615"), &url, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DashError::Invalid {
                what: "mediaRange",
                ..
            }
        ),
        "{err}"
    );
    let ok = parse_mpd(&list("10-18446744073709551614"), &url, 10).unwrap();
    let range = ok.representations[0].segments[0].range.unwrap();
    assert_eq!((range.offset, range.length), (10, u64::MAX - 10));
    let numbered = |start: &str| {
        format!(
            r#"<MPD type="static" mediaPresentationDuration="PT4S"><Period><AdaptationSet><Representation id="r"><SegmentTemplate media="$Number$.m4s" duration="2" startNumber="{start}"/></Representation></AdaptationSet></Period></MPD>"#
        )
    };
    let err = parse_mpd(&numbered("18446744073709551615"), &url, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DashError::Invalid {
                what: "startNumber",
                ..
            }
        ),
        "{err}"
    );
    let ok = parse_mpd(&numbered("18446744073709551613"), &url, 10).unwrap();
    assert_eq!(ok.representations[0].segments.len(), 2);
    let timed = r#"<MPD type="static" mediaPresentationDuration="PT4S"><Period><AdaptationSet><Representation id="r"><SegmentTemplate media="$Time$.m4s" timescale="18446744073709551615" duration="9223372036854775807"/></Representation></AdaptationSet></Period></MPD>"#;
    let err = parse_mpd(timed, &url, 10).unwrap_err();
    assert!(matches!(err, DashError::Invalid { .. }), "{err}");
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
