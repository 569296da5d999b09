//! Tracker message decoding: arbitrary bytes as one client frame.
//!
//! Checked:
//! - `protocol::parse` and `protocol::route` never panic, and refuse frames over the limit;
//! - routing agrees with parsing: a frame that parses routes to the swarm (or the scrape list)
//!   it names, so the host never sends a frame to a shard that does not own its swarm;
//! - ids round-trip: a decoded binary string encodes back to the same string;
//! - fed to a tracker, the frame gets exactly one reply, to its sender, that is JSON; a frame
//!   that does not parse gets a `failure reason`; no state is left for a refused frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshcdn_tracker::ids::{decode_binary_str, encode_binary_str};
use meshcdn_tracker::protocol::{self, InMessage, Route};
use meshcdn_tracker::{Admission, NetworkFacts, Tracker, TrackerConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        // The host refuses non-UTF-8 text frames before the tracker (close 1007).
        return;
    };
    let config = TrackerConfig::default();
    let max = config.max_message_bytes;

    if let Ok(id) = decode_binary_str(text) {
        assert_eq!(encode_binary_str(&id), text);
    }

    let parsed = protocol::parse(text, max);
    let routed = protocol::route(text);
    if text.len() > max {
        assert!(parsed.is_err());
    }
    match &parsed {
        Ok(InMessage::Announce(req)) => assert_eq!(routed, Ok(Route::Swarm(req.info_hash))),
        Ok(InMessage::Answer(req)) => assert_eq!(routed, Ok(Route::Swarm(req.info_hash))),
        Ok(InMessage::Scrape(req)) => {
            assert_eq!(routed, Ok(Route::Scrape(req.info_hashes.clone())))
        }
        Err(_) => {}
    }

    let mut t = Tracker::new(config, 7);
    t.connection_opened(1, NetworkFacts::default(), Admission::Open);
    t.handle_message(1, text, 1_800_000_000_000);
    let mut replies = Vec::new();
    while let Some(o) = t.poll_outbound() {
        assert_eq!(o.conn, 1, "a reply to a connection that sent nothing");
        let v: serde_json::Value = serde_json::from_str(&o.text).expect("replies are JSON");
        replies.push(v);
    }
    let answer = matches!(parsed, Ok(InMessage::Answer(_)));
    // An answer to an offer that was never relayed is refused too, so every frame gets a reply.
    assert_eq!(replies.len(), 1, "{answer} {replies:?}");
    let failed = replies[0].get("failure reason").is_some();
    if parsed.is_err() || answer {
        assert!(
            failed,
            "no failure reason for a refused frame: {:?}",
            replies[0]
        );
    }
    let stats = t.stats();
    if failed {
        assert_eq!(stats.peers, 0, "a refused frame left a peer");
    }
    assert!(stats.peers <= 1);
    assert_eq!(stats.pending_offers, 0, "nobody to relay an offer to");
});
