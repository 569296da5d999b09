//! Outbound frames, field for field what bittorrent-tracker's server sends (so its client and
//! p2p-media-loader accept them):
//! - announce response: `action`, `info_hash`, `complete`, `incomplete`, `interval` (seconds).
//!   Not sent in reply to an answer (the reference server skips it too).
//! - relayed offer: `action`, `info_hash`, `peer_id` (the offerer), `offer_id`, `offer`.
//! - relayed answer: `action`, `info_hash`, `peer_id` (the answerer), `offer_id`, `answer`.
//! - scrape response: `action`, `files: {<info_hash>: {complete, incomplete, downloaded}}`.
//! - error: `failure reason`, plus `action` and `info_hash` when known: the client ignores
//!   announce replies whose `info_hash` is not its own, so echoing it makes the error visible.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{Action, AnnounceAction, RtcSdp, ScrapeAction};
use crate::ids::{InfoHash, OfferId, PeerId};

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

/// Serializes an outbound message. Our types serialize infallibly (no maps with non-string keys,
/// no floats); the fallback keeps even an impossible failure from panicking the tracker.
pub(crate) fn to_text<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg)
        .unwrap_or_else(|_| String::from("{\"failure reason\":\"internal error\"}"))
}
