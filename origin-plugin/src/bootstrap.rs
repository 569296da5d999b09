//! The bootstrap data injected into master playlists and MPDs (format in docs/CONTRACTS.md).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

// The markers the rewriters insert, and hex, are defined with them (meshcdn-manifest).
pub use meshcdn_manifest::{DASH_SCHEME, HLS_DATA_ID, HLS_SHA256_TAG, push_hex};
/// The DASH hash document lives at `<mpd path>` + this suffix.
pub const HASH_DOC_SUFFIX: &str = ".meshcdn-hashes.json";
/// `integrity` of HLS bootstraps: hashes are `#EXT-X-MESHCDN-SHA256` tags in media playlists.
pub const INTEGRITY_HLS: &str = "sha256-tags";
/// `integrity` of DASH bootstraps: hashes are in the hash document named by `hashes`.
pub const INTEGRITY_DASH: &str = "sha256-document";

/// Bootstrap JSON, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    pub v: u32,
    /// Content id (the token's `cid`).
    pub content: String,
    /// Tracker WebSocket URLs, primary first.
    pub trackers: Vec<String>,
    /// Swarm token (JWT); `None` in open mode.
    pub token: Option<String>,
    /// Rendition (HLS: variant URI as written in the master playlist; DASH: Representation@id) →
    /// swarm id (40 hex).
    pub swarms: BTreeMap<String, String>,
    pub integrity: String,
    /// DASH only: URL of the hash document, relative to the MPD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<String>,
    /// STUN/TURN servers (`RTCIceServer` shape; TURN credentials expire with `token`). Absent when
    /// the origin configures none: the client then uses its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice: Option<Vec<crate::ice::IceServer>>,
    /// Where and how often the client posts analytics beacons; absent when analytics is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacons: Option<BeaconTarget>,
}

/// The bootstrap's `beacons` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconTarget {
    /// `POST` URL; relative URLs resolve against the manifest's URL.
    pub url: String,
    /// Interval between two beacons, in ms.
    pub interval_ms: u64,
}

impl BeaconTarget {
    /// The target of `config`, or `None` when analytics is off.
    pub fn of(config: &meshcdn_analytics::AnalyticsConfig) -> Option<Self> {
        config.enabled().then(|| Self {
            url: config.beacon_url.clone(),
            interval_ms: config.beacon_interval_secs.saturating_mul(1000),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("bootstrap is not base64url: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("bootstrap is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl Bootstrap {
    /// base64url (no padding) of the JSON: safe inside a quoted HLS attribute and an XML attribute.
    pub fn encode(&self) -> String {
        // Serialising plain strings and maps cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(value: &str) -> Result<Self, BootstrapError> {
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value)?;
        Ok(serde_json::from_slice(&json)?)
    }
}

/// Caps how long caches (CDN, browser) may keep a response carrying a bootstrap to `max_secs`:
/// `max-age` and `s-maxage` above it are lowered, and `max-age=<max_secs>` is added when the
/// response names neither. Other directives pass through. Used so a cached manifest never hands
/// out a token or TURN credentials that expire before a viewer can use them.
pub fn cap_cache_lifetime(headers: &mut http::HeaderMap, max_secs: u64) {
    let old: Vec<String> = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    let mut capped = false;
    let mut out: Vec<String> = old
        .into_iter()
        .map(|d| {
            let lower = d.to_ascii_lowercase();
            for name in ["max-age", "s-maxage"] {
                if let Some(v) = lower
                    .strip_prefix(name)
                    .and_then(|r| r.trim_start().strip_prefix('='))
                {
                    capped = true;
                    let secs = v.trim().trim_matches('"').parse::<u64>().unwrap_or(0);
                    return format!("{name}={}", secs.min(max_secs));
                }
            }
            d
        })
        .collect();
    if !capped {
        out.push(format!("max-age={max_secs}"));
    }
    // Only ASCII tokens and numbers: a valid header value.
    if let Ok(v) = http::HeaderValue::from_str(&out.join(", ")) {
        headers.insert(http::header::CACHE_CONTROL, v);
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_round_trips_through_base64url() {
        let b = Bootstrap {
            v: 1,
            content: "vod/sample".into(),
            trackers: vec!["ws://127.0.0.1:8000/announce".into()],
            token: None,
            swarms: [("360p/index.m3u8".to_string(), "ab".repeat(20))].into(),
            integrity: INTEGRITY_HLS.into(),
            hashes: None,
            ice: Some(vec![crate::ice::IceServer {
                urls: vec!["turn:t.example:3478".into()],
                username: Some("1800000000:ab".into()),
                credential: Some("c2VjcmV0".into()),
            }]),
            beacons: Some(BeaconTarget {
                url: "/v1/beacons".into(),
                interval_ms: 10_000,
            }),
        };
        let enc = b.encode();
        assert!(
            enc.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(Bootstrap::decode(&enc).unwrap(), b);
        assert!(Bootstrap::decode("!!!").is_err());
        let without_ice = Bootstrap {
            ice: None,
            ..b.clone()
        };
        assert!(
            !String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(without_ice.encode())
                    .unwrap()
            )
            .unwrap()
            .contains("ice")
        );
        assert_eq!(
            Bootstrap::decode(&without_ice.encode()).unwrap(),
            without_ice
        );
        assert!(
            Bootstrap::decode("e30").is_err(),
            "`{{}}` lacks the required fields"
        );
    }

    #[test]
    fn cache_lifetime_is_capped() {
        let capped = |cc: Option<&str>, max: u64| {
            let mut h = http::HeaderMap::new();
            if let Some(cc) = cc {
                h.insert(http::header::CACHE_CONTROL, cc.parse().unwrap());
            }
            cap_cache_lifetime(&mut h, max);
            h.get(http::header::CACHE_CONTROL)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            capped(Some("public, max-age=3600"), 300),
            "public, max-age=300"
        );
        assert_eq!(
            capped(Some("max-age=2, s-maxage=7200"), 300),
            "max-age=2, s-maxage=300"
        );
        assert_eq!(capped(Some("no-cache"), 300), "no-cache, max-age=300");
        assert_eq!(capped(None, 60), "max-age=60");
        assert_eq!(
            capped(Some("Max-Age=junk"), 60),
            "max-age=0",
            "unparsable: not cached"
        );
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        let long: Vec<u8> = (0..=255).collect();
        let expected: String = long.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&long), expected);
    }
}
