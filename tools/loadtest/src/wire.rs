//! The frames a simulated WebTorrent peer sends (announces with fake SDP offers, answers) and
//! the fields it reads of what it receives.

use rand::Rng;
use rand::rngs::SmallRng;
use serde::Deserialize;

/// What the generator reads of a frame (everything else is skipped).
#[derive(Deserialize)]
pub(crate) struct Incoming {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub interval: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub offer: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub answer: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub offer_id: Option<String>,
    #[serde(default)]
    pub peer_id: Option<String>,
    #[serde(default)]
    pub info_hash: Option<String>,
    #[serde(default, rename = "failure reason")]
    pub failure: Option<String>,
}

/// A random 20-byte id as a WebTorrent binary string.
pub(crate) fn random_id(rng: &mut SmallRng) -> String {
    (0..20).map(|_| char::from(rng.random::<u8>())).collect()
}

const FAKE_SDP: &str = "v=0\r\no=- 4327261771880257373 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:someufrag\r\na=ice-pwd:somepasswordsomepassword\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n";

pub(crate) fn announce(
    info_hash: &str,
    peer_id: &str,
    offers: usize,
    rng: &mut SmallRng,
) -> String {
    let offers: Vec<serde_json::Value> = (0..offers)
        .map(|_| serde_json::json!({ "offer_id": random_id(rng), "offer": { "type": "offer", "sdp": FAKE_SDP } }))
        .collect();
    serde_json::json!({
        "action": "announce",
        "info_hash": info_hash,
        "peer_id": peer_id,
        "numwant": offers.len(),
        "uploaded": 0, "downloaded": 0, "left": 1000,
        "offers": offers,
    })
    .to_string()
}

pub(crate) fn answer(info_hash: &str, peer_id: &str, to_peer_id: &str, offer_id: &str) -> String {
    serde_json::json!({
        "action": "announce",
        "info_hash": info_hash,
        "peer_id": peer_id,
        "to_peer_id": to_peer_id,
        "offer_id": offer_id,
        "answer": { "type": "answer", "sdp": FAKE_SDP },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn ids_are_twenty_chars_of_one_byte_each() {
        let mut rng = SmallRng::seed_from_u64(3);
        let id = random_id(&mut rng);
        assert_eq!(id.chars().count(), 20);
        assert!(id.chars().all(|c| (c as u32) < 256));
    }
}
