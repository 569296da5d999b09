//! The placement file (TOML) the origin plugin reads, and why one is refused.
//!
//! ```toml
//! region_header = "x-meshcdn-region"   # trusted: the CDN sets it, and strips it from viewers
//! default_pop = "fra"
//!
//! [[pops]]
//! name = "fra"
//! regions = ["DE", "FR", "EU"]
//! fallback_pop = "iad"
//! nodes = [
//!   { name = "edge-0", tracker_url = "wss://edge-0.fra.example.net/announce" },
//!   { name = "edge-1", tracker_url = "wss://edge-1.fra.example.net/announce" },
//! ]
//!
//! [[pops]]
//! name = "iad"
//! regions = ["US", "CA"]
//! nodes = [{ name = "edge-0", tracker_url = "wss://edge-0.iad.example.net/announce" }]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default name of the trusted request header that carries the viewer's region.
pub const DEFAULT_REGION_HEADER: &str = "x-meshcdn-region";
/// Default number of fallback nodes taken from the viewer's own PoP.
pub const DEFAULT_POP_FALLBACKS: usize = 1;
/// Hard cap on `pop_fallbacks`: every URL goes into every manifest the origin serves.
pub const MAX_POP_FALLBACKS: usize = 8;

/// Where swarms are placed: PoPs, the regions each serves, and the edge nodes in each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlacementConfig {
    /// Request header with the viewer's region (a country code like `DE`, or `DE-BY`). Only
    /// trustworthy when the CDN in front of the origin sets it and drops any value a viewer sent.
    pub region_header: String,
    /// PoP for viewers without a region or with a region no PoP lists. May be left empty when
    /// exactly one PoP is configured.
    pub default_pop: String,
    /// How many further nodes of the viewer's PoP follow the primary in the tracker list
    /// (0..=[`MAX_POP_FALLBACKS`]).
    pub pop_fallbacks: usize,
    /// The PoPs. Each region may be listed by one PoP only.
    pub pops: Vec<PopConfig>,
}

impl Default for PlacementConfig {
    fn default() -> Self {
        Self {
            region_header: DEFAULT_REGION_HEADER.to_owned(),
            default_pop: String::new(),
            pop_fallbacks: DEFAULT_POP_FALLBACKS,
            pops: Vec::new(),
        }
    }
}

/// One point of presence: a group of edge hosts close to one set of regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopConfig {
    /// Unique name, e.g. `fra`.
    pub name: String,
    /// Region codes this PoP serves, matched case-insensitively.
    #[serde(default)]
    pub regions: Vec<String>,
    /// PoP whose top node ends the tracker list, for when this whole PoP is unreachable.
    /// Unset: the default PoP (nothing, for the default PoP itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_pop: Option<String>,
    /// The edge nodes. Their names are the rendezvous-hashing identities: keep them stable
    /// (a Kubernetes StatefulSet gives `edge-0`, `edge-1`, …).
    pub nodes: Vec<NodeConfig>,
}

/// One edge host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Unique within its PoP. Changing it moves the node's swarms; changing the URL does not.
    pub name: String,
    /// WebSocket tracker URL handed to browsers (`ws://` or `wss://`).
    pub tracker_url: String,
}

/// Why a placement config was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("placement lists no PoPs")]
    NoPops,
    #[error("PoP #{index} has an empty name")]
    EmptyPopName { index: usize },
    #[error("PoP {0:?} is listed twice")]
    DuplicatePop(String),
    #[error("PoP {0:?} lists no edge nodes")]
    NoNodes(String),
    #[error("PoP {pop:?}: node #{index} has an empty name")]
    EmptyNodeName { pop: String, index: usize },
    #[error("PoP {pop:?}: node {node:?} is listed twice")]
    DuplicateNode { pop: String, node: String },
    #[error("PoP {pop:?}, node {node:?}: tracker URL {url:?} is invalid: {reason}")]
    InvalidTrackerUrl {
        pop: String,
        node: String,
        url: String,
        reason: &'static str,
    },
    #[error("tracker URL {0:?} is given to two nodes")]
    DuplicateTrackerUrl(String),
    #[error("PoP {0:?} lists an empty region")]
    EmptyRegion(String),
    #[error("region {region:?} is listed by PoP {first:?} and by PoP {second:?}")]
    DuplicateRegion {
        region: String,
        first: String,
        second: String,
    },
    #[error("default_pop is empty and {0} PoPs are configured: name the default PoP")]
    MissingDefaultPop(usize),
    #[error("default_pop {0:?} is not a configured PoP")]
    UnknownDefaultPop(String),
    #[error("PoP {pop:?}: fallback_pop {fallback:?} is not a configured PoP")]
    UnknownFallbackPop { pop: String, fallback: String },
    #[error("PoP {0:?} names itself as its fallback_pop")]
    SelfFallback(String),
    #[error("region_header {0:?} is not a valid HTTP header name")]
    InvalidRegionHeader(String),
    #[error("pop_fallbacks = {0} is above the cap of {MAX_POP_FALLBACKS}")]
    TooManyFallbacks(usize),
}

/// Why a placement file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read placement config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("placement config {path} is not valid TOML for this schema: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("placement config {path} is invalid: {source}")]
    Invalid {
        path: PathBuf,
        source: PlacementError,
    },
}

impl PlacementConfig {
    /// Parses a placement file: the fields of [`PlacementConfig`] at the top level. Unknown
    /// fields are errors, left-out ones take their defaults. Does not validate: see
    /// [`crate::Placement::new`] and [`crate::Placement::load`].
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("PlacementConfig always serializes")
    }
}

/// Reads, parses and validates a placement file.
pub(crate) fn load(path: &Path) -> Result<crate::Placement, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.into(),
        source,
    })?;
    let config = PlacementConfig::from_toml(&text).map_err(|e| LoadError::Parse {
        path: path.into(),
        message: e.to_string(),
    })?;
    crate::Placement::new(config).map_err(|source| LoadError::Invalid {
        path: path.into(),
        source,
    })
}

/// Checks a tracker URL the way a browser's `new WebSocket(url)` would refuse it, without
/// pulling a URL parser into the crate: scheme, a host, no fragment, no whitespace.
pub(crate) fn check_tracker_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or("scheme must be ws:// or wss://")?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    if url.contains('#') {
        return Err("WebSocket URLs cannot have a fragment");
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() || host.starts_with(':') {
        return Err("no host");
    }
    Ok(())
}

/// RFC 9110 `token`: what an HTTP header name may consist of.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_urls_are_checked() {
        assert_eq!(
            check_tracker_url("wss://edge-0.fra.example.net/announce"),
            Ok(())
        );
        assert_eq!(check_tracker_url("ws://127.0.0.1:8000/announce"), Ok(()));
        assert_eq!(check_tracker_url("ws://[::1]:8000"), Ok(()));
        assert!(check_tracker_url("https://edge/announce").is_err());
        assert!(check_tracker_url("wss:///announce").is_err());
        assert!(check_tracker_url("wss://:443/announce").is_err());
        assert!(check_tracker_url("wss://edge/announce#x").is_err());
        assert!(check_tracker_url("wss://ed ge/announce").is_err());
    }

    #[test]
    fn header_names_are_checked() {
        assert!(is_header_name("x-meshcdn-region"));
        assert!(is_header_name("CF-IPCountry"));
        assert!(!is_header_name(""));
        assert!(!is_header_name("x region"));
        assert!(!is_header_name("x:region"));
    }
}
