//! Outbound frames, field for field what bittorrent-tracker's server sends (so its client and
//! p2p-media-loader accept them):
//! - announce response: `action`, `info_hash`, `complete`, `incomplete`, `interval` (seconds).
//!   Not sent in reply to an answer (the reference server skips it too). meshcdn adds
//!   `meshcdn: {"net": {asn, country, region, continent}}` to the reply to a peer's first announce
//!   in a swarm: the network facts the host saw, which the client reports in its analytics
//!   beacons (other clients ignore the field).
//! - relayed offer: `action`, `info_hash`, `peer_id` (the offerer), `offer_id`, `offer`.
//! - relayed answer: `action`, `info_hash`, `peer_id` (the answerer), `offer_id`, `answer`.
//! - scrape response: `action`, `files: {<info_hash>: {complete, incomplete, downloaded}}`.
//! - error: `failure reason`, plus `action` and `info_hash` when known: the client ignores
//!   announce replies whose `info_hash` is not its own, so echoing it makes the error visible.
//!
//! The host never writes wire JSON itself: what it sends on its own ([`failure`],
//! [`restart_notice`]) and the scrape sub-requests it hands to shards ([`scrape_request`]) are
//! built here.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{Action, AnnounceAction, RtcSdp, ScrapeAction};
use crate::ids::{InfoHash, OfferId, PeerId};
use crate::tracker::NetworkFacts;

#[derive(Debug, Clone, Serialize)]
pub struct AnnounceResponse {
    pub action: AnnounceAction,
    pub info_hash: InfoHash,
    /// Seeders.
    pub complete: u32,
    /// Leechers.
    pub incomplete: u32,
    /// Seconds until the next announce.
    pub interval: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meshcdn: Option<AnnounceResponseExt>,
}

/// meshcdn's extension of the announce response.
#[derive(Debug, Clone, Serialize)]
pub struct AnnounceResponseExt {
    /// What the host knows of the announcing connection's network.
    pub net: NetworkFacts,
}

#[derive(Debug, Clone, Serialize)]
pub struct OfferOut<'a> {
    pub action: AnnounceAction,
    pub info_hash: InfoHash,
    /// The offering peer.
    pub peer_id: PeerId,
    pub offer_id: OfferId,
    pub offer: &'a RtcSdp,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerOut<'a> {
    pub action: AnnounceAction,
    pub info_hash: InfoHash,
    /// The answering peer.
    pub peer_id: PeerId,
    pub offer_id: OfferId,
    pub answer: &'a RtcSdp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScrapeFile {
    pub complete: u32,
    pub incomplete: u32,
    /// Completed downloads seen by this tracker.
    pub downloaded: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScrapeResponse {
    pub action: ScrapeAction,
    #[serde(serialize_with = "files_as_map")]
    pub files: Vec<(InfoHash, ScrapeFile)>,
}

fn files_as_map<S: Serializer>(files: &[(InfoHash, ScrapeFile)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(files.len()))?;
    for (ih, file) in files {
        map.serialize_entry(ih, file)?;
    }
    map.end()
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorResponse<'a> {
    #[serde(rename = "failure reason")]
    pub failure_reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_hash: Option<InfoHash>,
}

impl<'a> ErrorResponse<'a> {
    /// A bare `{"failure reason": …}`, for refusals that belong to no request (the host's rate
    /// limit, a binary frame, an unroutable frame).
    pub fn new(failure_reason: &'a str) -> Self {
        Self {
            failure_reason,
            action: None,
            info_hash: None,
        }
    }
}

/// The text of an error reply that echoes what `hint` knows of the refused request (the
/// reference client needs `action`, and `info_hash` to match the reply to its swarm).
pub fn failure_for(reason: &str, hint: super::Hint) -> String {
    to_text(&ErrorResponse {
        failure_reason: reason,
        action: hint.action,
        info_hash: hint.info_hash,
    })
}

/// The text of a bare error reply, e.g. `{"failure reason":"rate limit exceeded; slow down"}`.
pub fn failure(reason: &str) -> String {
    to_text(&ErrorResponse::new(reason))
}

/// Why a shard's peers are sent [`restart_notice`].
pub const RESTART_REASON: &str = "tracker shard restarted; reconnect and announce again";

/// Sent to a shard's peers when it was re-instantiated: the reference client treats an
/// unexpected reply as a socket error, reconnects and announces again.
pub fn restart_notice() -> String {
    failure(RESTART_REASON)
}

/// A scrape for some of the swarms of a request, as the client would send it: the host splits a
/// scrape over several shards into one of these per shard (each answers for its own swarms; the
/// reference client merges the `files` of several scrape responses).
#[derive(Debug, Clone, Serialize)]
pub struct ScrapeRequest<'a> {
    pub action: ScrapeAction,
    pub info_hash: &'a [InfoHash],
}

/// The text of a [`ScrapeRequest`] for `info_hashes`.
pub fn scrape_request(info_hashes: &[InfoHash]) -> String {
    to_text(&ScrapeRequest {
        action: ScrapeAction::Scrape,
        info_hash: info_hashes,
    })
}

/// Serializes an outbound message. Our types serialize infallibly (no maps with non-string keys,
/// no floats); the fallback keeps even an impossible failure from panicking the tracker.
pub(crate) fn to_text<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg)
        .unwrap_or_else(|_| String::from("{\"failure reason\":\"internal error\"}"))
}
