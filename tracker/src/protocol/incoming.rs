//! Inbound frames: announce (with offers), answer, scrape.
//!
//! Quirks of the reference client (`bittorrent-tracker` lib/client/websocket-tracker.js) that
//! shape these types:
//! - announce carries `numwant` and `offers: [{offer: {type, sdp}, offer_id}]`; with `event`
//!   `stopped` or `completed` it carries no offers. `event` is often absent (periodic update).
//! - `uploaded`, `downloaded`, `left` are JS numbers: they can be fractional, and `left` is
//!   `null` when the client does not know the size (`Infinity` serializes as `null`).
//! - an answer is an `announce` with `answer`, `to_peer_id` and `offer_id`, no offers.
//! - scrape's `info_hash` is a single binary string, a list of them, or absent (= all swarms).
//! - `trackerid` and any other unknown field are ignored.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::{ProtocolError, RtcSdp, SdpType};
use crate::ids::{InfoHash, OfferId, PeerId, decode_binary_str};

/// A parsed inbound frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InMessage {
    Announce(AnnounceRequest),
    Answer(AnswerRequest),
    Scrape(ScrapeRequest),
}

/// `event` of an announce. Absent, `""`, `update` and `paused` are all a periodic update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnounceEvent {
    Started,
    Stopped,
    Completed,
    #[default]
    Update,
}

/// Most peer ids one announce may report in `meshcdn.failed`.
pub const MAX_FAILED_REPORTS: usize = 32;

/// meshcdn's extension object on announce:
/// `"meshcdn": {"upload": false, "peers": 7, "failed": ["<peer_id>", …]}`.
/// Plain WebTorrent clients omit it; unknown fields inside it are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct MeshcdnExt {
    /// `false`: this viewer does not upload (metered network, low battery); no offers are sent to it.
    #[serde(default)]
    pub upload: Option<bool>,
    /// How many peers the viewer is connected to right now; used as its load when present.
    #[serde(default)]
    pub peers: Option<u16>,
    /// Peers (binary-string ids) whose WebRTC connection with this viewer failed or closed since
    /// its last announce: the tracker forgets those links, so the pair can be offered again at
    /// once instead of after `link_timeout_ms`. At most [`MAX_FAILED_REPORTS`]; a bad id fails the frame.
    #[serde(default, deserialize_with = "failed_ids")]
    pub failed: Vec<PeerId>,
}

fn failed_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PeerId>, D::Error> {
    let raw = Vec::<Cow<'de, str>>::deserialize(d)?;
    if raw.len() > MAX_FAILED_REPORTS {
        return Err(de::Error::custom(format!(
            "meshcdn.failed lists {} peers, at most {MAX_FAILED_REPORTS}",
            raw.len()
        )));
    }
    raw.iter()
        .map(|s| {
            decode_binary_str(s)
                .map(PeerId)
                .map_err(|e| de::Error::custom(format!("meshcdn.failed: {e}")))
        })
        .collect()
}

/// One offer of an announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub offer_id: OfferId,
    pub offer: RtcSdp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub event: AnnounceEvent,
    /// How many offers the client wants relayed (bittorrent-tracker caps it at 5 client-side).
    pub numwant: Option<u32>,
    pub uploaded: Option<u64>,
    pub downloaded: Option<u64>,
    /// Bytes left; `Some(0)` means seeder, `None` means unknown (leecher).
    pub left: Option<u64>,
    pub offers: Vec<Offer>,
    pub ext: MeshcdnExt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    pub info_hash: InfoHash,
    /// The answering peer.
    pub peer_id: PeerId,
    /// The offering peer the answer goes back to.
    pub to_peer_id: PeerId,
    pub offer_id: OfferId,
    pub answer: RtcSdp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeRequest {
    /// Empty: all swarms.
    pub info_hashes: Vec<InfoHash>,
}

/// Where a frame belongs, for routing it to the shard that owns the swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// announce or answer: the swarm's info_hash.
    Swarm(InfoHash),
    /// scrape: the listed info_hashes; empty means all swarms (every shard).
    Scrape(Vec<InfoHash>),
}

/// Every field of every inbound message, so a frame is parsed in one pass whatever its action.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    info_hash: Option<IdOrList<'a>>,
    #[serde(borrow, default)]
    peer_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_u64")]
    numwant: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    uploaded: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    downloaded: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    left: Option<u64>,
    #[serde(borrow, default)]
    offers: Option<Vec<OfferWire<'a>>>,
    #[serde(default)]
    answer: Option<RtcSdp>,
    #[serde(borrow, default)]
    to_peer_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    offer_id: Option<Cow<'a, str>>,
    #[serde(default)]
    meshcdn: Option<MeshcdnExt>,
}

#[derive(Deserialize)]
struct OfferWire<'a> {
    #[serde(borrow)]
    offer_id: Cow<'a, str>,
    offer: RtcSdp,
}

/// Only what routing needs; everything else is skipped without being decoded.
#[derive(Deserialize)]
struct RouteWire<'a> {
    #[serde(borrow, default)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    info_hash: Option<IdOrList<'a>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(default)]
    answer: Option<de::IgnoredAny>,
}

/// A frame's [`Route`], and what the host needs to count a connection's swarms across shards:
/// whether it leaves its swarm (`event: "stopped"`) or is an answer (which joins no swarm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub route: Route,
    pub stopped: bool,
    pub answer: bool,
}

/// `info_hash`: one binary string (announce, scrape) or a list of them (scrape).
enum IdOrList<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for IdOrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = IdOrList<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a binary string or a list of binary strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(IdOrList::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IdOrList::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<Cow<'de, str>>()? {
                    all.push(s);
                }
                Ok(IdOrList::Many(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// JS numbers: integers, fractions (truncated), `null` (unknown). Negative or non-finite -> unknown.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        U(u64),
        F(f64),
    }
    Ok(
        match Option::<Num>::deserialize(d)
            .map_err(|_| de::Error::custom("expected a number or null"))?
        {
            Some(Num::U(n)) => Some(n),
            Some(Num::F(f)) if f.is_finite() && f >= 0.0 => Some(f as u64),
            _ => None,
        },
    )
}

fn id<T>(field: &'static str, s: &str, wrap: fn([u8; 20]) -> T) -> Result<T, ProtocolError> {
    decode_binary_str(s)
        .map(wrap)
        .map_err(|error| ProtocolError::BadId { field, error })
}

fn check_size(text: &str, max_bytes: usize) -> Result<(), ProtocolError> {
    if text.len() > max_bytes {
        return Err(ProtocolError::TooLarge {
            len: text.len(),
            max: max_bytes,
        });
    }
    Ok(())
}

/// Parses one inbound text frame of at most `max_bytes` bytes.
pub fn parse(text: &str, max_bytes: usize) -> Result<InMessage, ProtocolError> {
    check_size(text, max_bytes)?;
    let w: Wire = serde_json::from_str(text).map_err(ProtocolError::json)?;
    match w.action.as_deref() {
        Some("announce") => announce_from(w),
        Some("scrape") => Ok(InMessage::Scrape(ScrapeRequest {
            info_hashes: hashes(w.info_hash)?,
        })),
        Some(other) => Err(ProtocolError::UnknownAction(truncate(other))),
        None => Err(ProtocolError::MissingAction),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

fn announce_from(w: Wire) -> Result<InMessage, ProtocolError> {
    let info_hash = match &w.info_hash {
        Some(IdOrList::One(s)) => id("info_hash", s, InfoHash)?,
        Some(IdOrList::Many(_)) => {
            return Err(ProtocolError::BadField {
                field: "info_hash",
                reason: "expected one binary string".into(),
            });
        }
        None => return Err(ProtocolError::MissingField("info_hash")),
    };
    let peer_id = id(
        "peer_id",
        w.peer_id
            .as_deref()
            .ok_or(ProtocolError::MissingField("peer_id"))?,
        PeerId,
    )?;
    if let Some(answer) = w.answer {
        if answer.kind() != SdpType::Answer {
            return Err(ProtocolError::BadField {
                field: "answer",
                reason: "type must be \"answer\"".into(),
            });
        }
        let to_peer_id = w
            .to_peer_id
            .ok_or(ProtocolError::MissingField("to_peer_id"))?;
        let offer_id = w.offer_id.ok_or(ProtocolError::MissingField("offer_id"))?;
        return Ok(InMessage::Answer(AnswerRequest {
            info_hash,
            peer_id,
            to_peer_id: id("to_peer_id", &to_peer_id, PeerId)?,
            offer_id: id("offer_id", &offer_id, OfferId)?,
            answer,
        }));
    }
    let event = match w.event.as_deref() {
        None | Some("") | Some("update") | Some("paused") => AnnounceEvent::Update,
        Some("started") => AnnounceEvent::Started,
        Some("stopped") => AnnounceEvent::Stopped,
        Some("completed") => AnnounceEvent::Completed,
        Some(other) => {
            return Err(ProtocolError::BadField {
                field: "event",
                reason: format!("unknown event {:?}", truncate(other)),
            });
        }
    };
    let mut offers = Vec::with_capacity(w.offers.as_ref().map_or(0, Vec::len));
    for o in w.offers.unwrap_or_default() {
        if o.offer.kind() != SdpType::Offer {
            return Err(ProtocolError::BadField {
                field: "offers",
                reason: "offer type must be \"offer\"".into(),
            });
        }
        offers.push(Offer {
            offer_id: id("offer_id", &o.offer_id, OfferId)?,
            offer: o.offer,
        });
    }
    Ok(InMessage::Announce(AnnounceRequest {
        info_hash,
        peer_id,
        event,
        numwant: w.numwant.map(|n| n.min(u64::from(u32::MAX)) as u32),
        uploaded: w.uploaded,
        downloaded: w.downloaded,
        left: w.left,
        offers,
        ext: w.meshcdn.unwrap_or_default(),
    }))
}

fn hashes(value: Option<IdOrList>) -> Result<Vec<InfoHash>, ProtocolError> {
    match value {
        None => Ok(Vec::new()),
        Some(IdOrList::One(s)) => Ok(vec![id("info_hash", &s, InfoHash)?]),
        Some(IdOrList::Many(items)) => items.iter().map(|s| id("info_hash", s, InfoHash)).collect(),
    }
}

/// Routes a raw frame by swarm without keeping any state (for the host's sharding). Reads only
/// `action` and `info_hash`; the full frame is validated later by the shard's tracker, which also
/// applies the configured `max_message_bytes` (here only the hard cap, so a larger configured
/// limit still routes).
pub fn route(text: &str) -> Result<Route, ProtocolError> {
    route_full(text).map(|r| r.route)
}

/// [`route`], and whether the frame leaves its swarm (`event: "stopped"`) or answers an offer.
pub fn route_full(text: &str) -> Result<Routed, ProtocolError> {
    check_size(text, crate::config::caps::MAX_MESSAGE_BYTES)?;
    let w: RouteWire = serde_json::from_str(text).map_err(ProtocolError::json)?;
    let stopped = w.event.as_deref() == Some("stopped");
    let answer = w.answer.is_some();
    let route = match w.action.as_deref() {
        Some("announce") => match w.info_hash {
            Some(IdOrList::One(s)) => Ok(Route::Swarm(id("info_hash", &s, InfoHash)?)),
            Some(IdOrList::Many(_)) => Err(ProtocolError::BadField {
                field: "info_hash",
                reason: "expected one binary string".into(),
            }),
            None => Err(ProtocolError::MissingField("info_hash")),
        },
        Some("scrape") => Ok(Route::Scrape(hashes(w.info_hash)?)),
        Some(other) => Err(ProtocolError::UnknownAction(truncate(other))),
        None => Err(ProtocolError::MissingAction),
    }?;
    Ok(Routed {
        route,
        stopped,
        answer,
    })
}

/// The `action` and `info_hash` of a frame, as far as they are valid, for echoing them in a
/// `failure reason` reply. The reference client tears its socket down on a reply without a known
/// `action`, and ignores announce replies whose `info_hash` is not its own.
pub(crate) fn hint(text: &str) -> super::Hint {
    #[derive(Deserialize)]
    struct Raw<'a> {
        #[serde(borrow, default)]
        action: Option<Cow<'a, str>>,
        #[serde(default)]
        info_hash: Option<serde_json::Value>,
    }
    let Ok(raw) = serde_json::from_str::<Raw>(text) else {
        return super::Hint::default();
    };
    let action = match raw.action.as_deref() {
        Some("announce") => Some(super::Action::Announce),
        Some("scrape") => Some(super::Action::Scrape),
        _ => None,
    };
    let info_hash = match raw.info_hash {
        Some(serde_json::Value::String(s)) => InfoHash::from_binary_str(&s).ok(),
        Some(serde_json::Value::Array(v)) => v
            .first()
            .and_then(|s| s.as_str())
            .and_then(|s| InfoHash::from_binary_str(s).ok()),
        _ => None,
    };
    super::Hint { action, info_hash }
}
