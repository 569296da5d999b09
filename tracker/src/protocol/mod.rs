//! The WebTorrent WebSocket tracker protocol, as spoken by the `bittorrent-tracker` client (also
//! used by p2p-media-loader v2) and served by bittorrent-tracker's server and aquatic_ws.
//!
//! JSON text frames. Ids are 20-byte binary strings (see [`crate::ids`]). Inbound frames are
//! [`incoming::InMessage`] (parsed by [`parse`]); what the tracker sends is in [`outgoing`].
//! The full description, with the meshcdn extensions, is `docs/protocol.md`.

pub mod incoming;
pub mod outgoing;

use serde::{Deserialize, Serialize};

use crate::ids::IdError;
pub use incoming::{parse, route, InMessage, Route};

/// Messages larger than this are refused by default (aquatic_ws's limit), in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Pins `"action": "announce"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnounceAction {
    #[default]
    Announce,
}

/// Pins `"action": "scrape"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScrapeAction {
    #[default]
    Scrape,
}

/// The two actions, for error replies that echo the request's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Announce,
    Scrape,
}

/// What an error reply echoes of the request it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hint {
    pub action: Option<Action>,
    pub info_hash: Option<crate::ids::InfoHash>,
}

impl Hint {
    pub fn announce(info_hash: crate::ids::InfoHash) -> Self {
        Self { action: Some(Action::Announce), info_hash: Some(info_hash) }
    }

    pub fn scrape(info_hash: Option<crate::ids::InfoHash>) -> Self {
        Self { action: Some(Action::Scrape), info_hash }
    }
}

/// `type` of a WebRTC session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    Offer,
    Answer,
}

/// A WebRTC session description as the reference client sends it (simple-peer's signal data):
/// `{"type": "offer"|"answer", "sdp": "v=0..."}`. Other fields inside it are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtcSdp {
    #[serde(rename = "type")]
    pub kind: SdpType,
    pub sdp: String,
}

/// Why an inbound frame was refused. Each becomes a `failure reason` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("message of {len} bytes is over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("invalid JSON message: {0}")]
    Json(String),
    #[error("message has no action")]
    MissingAction,
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    #[error("invalid {field}: {error}")]
    BadId { field: &'static str, error: IdError },
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("invalid {field}: {reason}")]
    BadField { field: &'static str, reason: String },
}

impl ProtocolError {
    pub(crate) fn json(e: serde_json::Error) -> Self {
        Self::Json(e.to_string())
    }
}

#[cfg(test)]
mod tests;
