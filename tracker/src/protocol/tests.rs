//! Fixtures for each form a field arrives in, and property tests of the parser.

use proptest::prelude::*;
use serde_json::json;

use super::incoming::{AnnounceEvent, InMessage};
use super::*;
use crate::ids::{IdError, InfoHash, OfferId, PeerId};

const MAX: usize = DEFAULT_MAX_MESSAGE_BYTES;

fn ih() -> String {
    // Includes a NUL, a quote-needing byte and high bytes: the reference client's binary strings.
    let mut b = [0x41u8; 20];
    b[0] = 0;
    b[1] = b'"';
    b[2] = 0xff;
    b[3] = 0x80;
    InfoHash(b).to_binary_string()
}

fn pid() -> String {
    "-WW0208-abcdefghijkl".into()
}

#[test]
fn reference_client_announce_with_offers() {
    // What bittorrent-tracker's websocket-tracker.js sends on start (JSON.stringify order).
    let text = json!({
        "numwant": 2, "uploaded": 0, "downloaded": 0, "left": null, "event": "started",
        "action": "announce", "info_hash": ih(), "peer_id": pid(),
        "offers": [
            {"offer": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}, "offer_id": "\u{0}\u{1}\u{2}3456789012345678\u{ff}"},
            {"offer": {"type": "offer", "sdp": "v=0"}, "offer_id": "bbbbbbbbbbbbbbbbbbbb"}
        ],
        "trackerid": "ignored", "customParam": {"deep": [1, 2]}
    })
    .to_string();
    let InMessage::Announce(a) = parse(&text, MAX).unwrap() else {
        panic!("announce expected")
    };
    assert_eq!(a.info_hash.to_binary_string(), ih());
    assert_eq!(a.peer_id, PeerId(*b"-WW0208-abcdefghijkl"));
    assert_eq!(a.event, AnnounceEvent::Started);
    assert_eq!((a.numwant, a.uploaded, a.left), (Some(2), Some(0), None));
    assert_eq!(a.offers.len(), 2);
    assert_eq!(a.offers[0].offer_id.0[0..3], [0, 1, 2]);
    assert_eq!(a.offers[0].offer_id.0[19], 0xff);
    assert_eq!(a.offers[0].offer.kind(), SdpType::Offer);
    assert!(a.offers[0].offer.sdp().contains("\r\n"));
}

#[test]
fn announce_field_forms() {
    let base = |extra: serde_json::Value| {
        let mut v = json!({"action": "announce", "info_hash": ih(), "peer_id": pid()});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        parse(&v.to_string(), MAX)
    };
    let ann = |r: Result<InMessage, ProtocolError>| match r.unwrap() {
        InMessage::Announce(a) => a,
        other => panic!("{other:?}"),
    };
    // event: absent, empty, update, paused, completed, stopped.
    assert_eq!(ann(base(json!({}))).event, AnnounceEvent::Update);
    assert_eq!(ann(base(json!({"event": ""}))).event, AnnounceEvent::Update);
    assert_eq!(
        ann(base(json!({"event": "update"}))).event,
        AnnounceEvent::Update
    );
    assert_eq!(
        ann(base(json!({"event": "paused"}))).event,
        AnnounceEvent::Update
    );
    assert_eq!(
        ann(base(json!({"event": "completed"}))).event,
        AnnounceEvent::Completed
    );
    assert_eq!(
        ann(base(json!({"event": "stopped"}))).event,
        AnnounceEvent::Stopped
    );
    assert!(matches!(
        base(json!({"event": "dance"})),
        Err(ProtocolError::BadField { field: "event", .. })
    ));
    // numbers: integer, fraction, null, negative.
    let a = ann(base(
        json!({"left": 1.5e3, "uploaded": 12, "downloaded": -1, "numwant": 5}),
    ));
    assert_eq!(
        (a.left, a.uploaded, a.downloaded, a.numwant),
        (Some(1500), Some(12), None, Some(5))
    );
    assert!(matches!(
        base(json!({"left": "lots"})),
        Err(ProtocolError::Json(_))
    ));
    // session descriptions: sdp must be a string, type a known one.
    assert!(matches!(
        base(json!({"offers": [{"offer": {"type": "offer", "sdp": 5}, "offer_id": pid()}]})),
        Err(ProtocolError::Json(_))
    ));
    assert!(matches!(
        base(json!({"offers": [{"offer": {"type": "rollback", "sdp": ""}, "offer_id": pid()}]})),
        Err(ProtocolError::Json(_))
    ));
    assert!(matches!(
        base(json!({"offers": [{"offer": "v=0", "offer_id": pid()}]})),
        Err(ProtocolError::Json(_))
    ));
    // offers: absent, null, empty.
    assert!(ann(base(json!({"offers": null}))).offers.is_empty());
    assert!(ann(base(json!({"offers": []}))).offers.is_empty());
    assert!(matches!(
        base(json!({"offers": [{"offer": {"type": "answer", "sdp": ""}, "offer_id": pid()}]})),
        Err(ProtocolError::BadField {
            field: "offers",
            ..
        })
    ));
    assert!(matches!(
        base(json!({"offers": [{"offer": {"type": "offer", "sdp": ""}, "offer_id": "x"}]})),
        Err(ProtocolError::BadId {
            field: "offer_id",
            error: IdError::Length(1)
        })
    ));
    // meshcdn extension.
    let a = ann(base(
        json!({"meshcdn": {"upload": false, "peers": 4, "unknown": true}}),
    ));
    assert_eq!((a.ext.upload, a.ext.peers), (Some(false), Some(4)));
    assert_eq!(ann(base(json!({}))).ext.upload, None);
}

#[test]
fn reference_client_answer() {
    let text = json!({
        "action": "announce", "info_hash": ih(), "peer_id": pid(),
        "to_peer_id": "-WW0208-zzzzzzzzzzzz", "answer": {"type": "answer", "sdp": "v=0"},
        "offer_id": "\u{80}aaaaaaaaaaaaaaaaaa\u{7f}"
    })
    .to_string();
    let InMessage::Answer(a) = parse(&text, MAX).unwrap() else {
        panic!("answer expected")
    };
    assert_eq!(a.to_peer_id, PeerId(*b"-WW0208-zzzzzzzzzzzz"));
    assert_eq!(a.offer_id.0[0], 0x80);
    assert_eq!(a.answer.kind(), SdpType::Answer);
    let missing = json!({"action": "announce", "info_hash": ih(), "peer_id": pid(), "answer": {"type": "answer", "sdp": ""}, "offer_id": pid()});
    assert_eq!(
        parse(&missing.to_string(), MAX),
        Err(ProtocolError::MissingField("to_peer_id"))
    );
    let missing = json!({"action": "announce", "info_hash": ih(), "peer_id": pid(), "answer": {"type": "answer", "sdp": ""}, "to_peer_id": pid()});
    assert_eq!(
        parse(&missing.to_string(), MAX),
        Err(ProtocolError::MissingField("offer_id"))
    );
    let wrong = json!({"action": "announce", "info_hash": ih(), "peer_id": pid(), "answer": {"type": "offer", "sdp": ""}, "to_peer_id": pid(), "offer_id": pid()});
    assert!(matches!(
        parse(&wrong.to_string(), MAX),
        Err(ProtocolError::BadField {
            field: "answer",
            ..
        })
    ));
}

#[test]
fn scrape_forms() {
    let scrape = |v: serde_json::Value| match parse(&v.to_string(), MAX) {
        Ok(InMessage::Scrape(s)) => Ok(s.info_hashes.len()),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e),
    };
    assert_eq!(scrape(json!({"action": "scrape"})), Ok(0));
    assert_eq!(
        scrape(json!({"action": "scrape", "info_hash": null})),
        Ok(0)
    );
    assert_eq!(
        scrape(json!({"action": "scrape", "info_hash": ih()})),
        Ok(1)
    );
    assert_eq!(
        scrape(json!({"action": "scrape", "info_hash": [ih(), ih()]})),
        Ok(2)
    );
    assert!(matches!(
        scrape(json!({"action": "scrape", "info_hash": [ih(), 3]})),
        Err(ProtocolError::Json(_))
    ));
    assert!(matches!(
        scrape(json!({"action": "scrape", "info_hash": 7})),
        Err(ProtocolError::Json(_))
    ));
    assert!(matches!(
        scrape(json!({"action": "scrape", "info_hash": ["short"]})),
        Err(ProtocolError::BadId { .. })
    ));
}

#[test]
fn each_malformed_frame_has_its_typed_error() {
    assert!(matches!(parse("", MAX), Err(ProtocolError::Json(_))));
    assert!(matches!(parse("{", MAX), Err(ProtocolError::Json(_))));
    assert!(matches!(parse("[1]", MAX), Err(ProtocolError::Json(_))));
    assert!(matches!(
        parse("{\"action\": 3}", MAX),
        Err(ProtocolError::Json(_))
    ));
    assert_eq!(parse("{}", MAX), Err(ProtocolError::MissingAction));
    assert_eq!(
        parse(r#"{"action":"offer"}"#, MAX),
        Err(ProtocolError::UnknownAction("offer".into()))
    );
    assert_eq!(
        parse("{}", 1),
        Err(ProtocolError::TooLarge { len: 2, max: 1 })
    );
    let wide = json!({"action": "announce", "info_hash": format!("{}\u{100}", "a".repeat(19)), "peer_id": pid()});
    assert_eq!(
        parse(&wide.to_string(), MAX),
        Err(ProtocolError::BadId {
            field: "info_hash",
            error: IdError::NotAByte(0x100)
        })
    );
    let long = json!({"action": "announce", "info_hash": ih(), "peer_id": "a".repeat(21)});
    assert_eq!(
        parse(&long.to_string(), MAX),
        Err(ProtocolError::BadId {
            field: "peer_id",
            error: IdError::Length(21)
        })
    );
    assert_eq!(
        parse(
            r#"{"action":"announce","peer_id":"aaaaaaaaaaaaaaaaaaaa"}"#,
            MAX
        ),
        Err(ProtocolError::MissingField("info_hash"))
    );
    assert_eq!(
        parse(
            r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa"}"#,
            MAX
        ),
        Err(ProtocolError::MissingField("peer_id"))
    );
    let listed = json!({"action": "announce", "info_hash": [ih()], "peer_id": pid()});
    assert!(matches!(
        parse(&listed.to_string(), MAX),
        Err(ProtocolError::BadField {
            field: "info_hash",
            ..
        })
    ));
}

#[test]
fn outgoing_frames_match_the_reference_server() {
    let sdp = RtcSdp::new(SdpType::Offer, "v=0");
    let offer = outgoing::OfferOut {
        action: AnnounceAction::Announce,
        info_hash: InfoHash([1; 20]),
        peer_id: PeerId([2; 20]),
        offer_id: OfferId([0xff; 20]),
        offer: &sdp,
    };
    let v: serde_json::Value = serde_json::from_str(&outgoing::to_text(&offer)).unwrap();
    assert_eq!(v["action"], "announce");
    assert_eq!(v["offer"], json!({"type": "offer", "sdp": "v=0"}));
    assert_eq!(v["offer_id"], "\u{ff}".repeat(20));
    let err = outgoing::ErrorResponse {
        failure_reason: "nope",
        action: Some(Action::Announce),
        info_hash: None,
    };
    assert_eq!(
        outgoing::to_text(&err),
        r#"{"failure reason":"nope","action":"announce"}"#
    );
    let scrape = outgoing::ScrapeResponse {
        action: ScrapeAction::Scrape,
        files: vec![(
            InfoHash(*b"aaaaaaaaaaaaaaaaaaaa"),
            outgoing::ScrapeFile {
                complete: 1,
                incomplete: 2,
                downloaded: 3,
            },
        )],
    };
    assert_eq!(
        outgoing::to_text(&scrape),
        r#"{"action":"scrape","files":{"aaaaaaaaaaaaaaaaaaaa":{"complete":1,"incomplete":2,"downloaded":3}}}"#
    );
}

#[test]
fn route_reads_only_action_and_info_hash() {
    let ann = json!({"action": "announce", "info_hash": ih(), "peer_id": "bad"}).to_string();
    assert_eq!(
        route(&ann).unwrap(),
        Route::Swarm(InfoHash::from_binary_str(&ih()).unwrap())
    );
    let cap = crate::config::caps::MAX_MESSAGE_BYTES;
    assert_eq!(
        route(&"x".repeat(cap + 1)),
        Err(ProtocolError::TooLarge {
            len: cap + 1,
            max: cap
        })
    );
    // Between the default and the hard cap: routed (the shard applies its configured limit).
    let padded = json!({"action": "scrape", "pad": "x".repeat(MAX)}).to_string();
    assert_eq!(route(&padded), Ok(Route::Scrape(vec![])));
    assert_eq!(
        route(r#"{"action":"nope"}"#),
        Err(ProtocolError::UnknownAction("nope".into()))
    );
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[\\x00-\\xff]{0,24}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("announce"),
            Just("scrape"),
            Just("started"),
            Just("stopped"),
            Just("offer"),
            Just("answer")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("action".to_string()),
                        Just("info_hash".to_string()),
                        Just("peer_id".to_string()),
                        Just("offers".to_string()),
                        Just("offer".to_string()),
                        Just("offer_id".to_string()),
                        Just("answer".to_string()),
                        Just("to_peer_id".to_string()),
                        Just("type".to_string()),
                        Just("sdp".to_string()),
                        Just("event".to_string()),
                        Just("numwant".to_string()),
                        Just("left".to_string()),
                        Just("meshcdn".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text, MAX);
        let _ = route(&text);
        let _ = incoming::hint(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let text = v.to_string();
        let _ = parse(&text, MAX);
        let _ = route(&text);
    }

    #[test]
    fn parse_and_route_agree(ih_bytes in proptest::array::uniform20(any::<u8>()), pid_bytes in proptest::array::uniform20(any::<u8>())) {
        let ih = InfoHash(ih_bytes);
        let text = json!({"action": "announce", "info_hash": ih.to_binary_string(), "peer_id": PeerId(pid_bytes).to_binary_string()}).to_string();
        let InMessage::Announce(a) = parse(&text, MAX).unwrap() else { panic!() };
        prop_assert_eq!(a.info_hash, ih);
        prop_assert_eq!(a.peer_id.0, pid_bytes);
        prop_assert_eq!(route(&text).unwrap(), Route::Swarm(ih));
    }
}

#[test]
fn host_messages_have_the_wire_form_of_the_reference_server() {
    assert_eq!(
        outgoing::failure("rate limit exceeded; slow down"),
        r#"{"failure reason":"rate limit exceeded; slow down"}"#
    );
    assert_eq!(
        outgoing::restart_notice(),
        r#"{"failure reason":"tracker shard restarted; reconnect and announce again"}"#
    );
    // Same bytes as the client's own scrape with a list, and routed back to the same swarms.
    let hashes = [InfoHash(*b"aaaaaaaaaaaaaaaaaaaa"), InfoHash([0; 20])];
    let text = outgoing::scrape_request(&hashes);
    let expected = json!({
        "action": "scrape",
        "info_hash": [hashes[0].to_binary_string(), hashes[1].to_binary_string()],
    })
    .to_string();
    assert_eq!(text, expected);
    assert_eq!(route(&text).unwrap(), Route::Scrape(hashes.to_vec()));
}
