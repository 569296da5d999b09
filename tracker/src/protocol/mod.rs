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
pub use incoming::{InMessage, Route, Routed, parse, route, route_full};

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
        Self {
            action: Some(Action::Announce),
            info_hash: Some(info_hash),
        }
    }

    pub fn scrape(info_hash: Option<crate::ids::InfoHash>) -> Self {
        Self {
            action: Some(Action::Scrape),
            info_hash,
        }
    }
}

/// `type` of a WebRTC session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    Offer,
    Answer,
}

/// A WebRTC session description (simple-peer's signal data): `{"type": "offer"|"answer", "sdp":
/// "v=0..."}`. It is kept as the exact JSON text the client sent and forwarded verbatim, as
/// bittorrent-tracker's server does (fields inside it that we do not know travel along), so the
/// SDP is never unescaped and re-escaped: on the tracker's hot path that copy dominated.
/// Parsing checks that it is an object with a known `type` and a string `sdp`.
#[derive(Debug, Clone)]
pub struct RtcSdp {
    kind: SdpType,
    raw: Box<serde_json::value::RawValue>,
}

impl RtcSdp {
    /// A session description of `kind` with the SDP text `sdp`.
    pub fn new(kind: SdpType, sdp: &str) -> Self {
        #[derive(Serialize)]
        struct Plain<'a> {
            #[serde(rename = "type")]
            kind: SdpType,
            sdp: &'a str,
        }
        let text = serde_json::to_string(&Plain { kind, sdp }).unwrap_or_default();
        let raw = serde_json::value::RawValue::from_string(text)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned());
        Self { kind, raw }
    }

    pub fn kind(&self) -> SdpType {
        self.kind
    }

    /// The SDP text (decoded on demand; the tracker itself never needs it).
    pub fn sdp(&self) -> String {
        #[derive(Deserialize)]
        struct Sdp {
            sdp: String,
        }
        serde_json::from_str::<Sdp>(self.raw.get())
            .map(|s| s.sdp)
            .unwrap_or_default()
    }

    /// The JSON object exactly as received.
    pub fn as_json(&self) -> &str {
        self.raw.get()
    }
}

impl PartialEq for RtcSdp {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.raw.get() == other.raw.get()
    }
}

impl Eq for RtcSdp {}

impl Serialize for RtcSdp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RtcSdp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Check<'a> {
            #[serde(rename = "type")]
            kind: SdpType,
            /// Captured raw (scanned, not unescaped): only its JSON type is checked.
            #[serde(borrow)]
            sdp: &'a serde_json::value::RawValue,
        }
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let check: Check = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        if !check.sdp.get().starts_with('"') {
            return Err(serde::de::Error::custom("sdp must be a string"));
        }
        Ok(Self {
            kind: check.kind,
            raw,
        })
    }
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
