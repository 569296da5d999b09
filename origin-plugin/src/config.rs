//! `OriginConfig`: TOML file for `meshcdn origin --config FILE` (CLI flags override it).
//!
//! Every section has defaults (`#[serde(default)]`) and unknown keys are errors, so a typo never
//! silently falls back to a default. Units are in the field names.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("config is invalid: {0}")]
    Invalid(String),
    #[error("invalid duration {0:?}: expected a number followed by ms, s, m, h or d (e.g. 10m)")]
    Duration(String),
}

/// Configuration of the origin plugin (proxy and Layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OriginConfig {
    /// Address the reverse proxy listens on.
    pub listen: String,
    /// Base URL of the upstream origin (proxy mode), e.g. `http://127.0.0.1:9000`.
    pub upstream: Option<String>,
    /// Tracker WebSocket URLs (`ws://` or `wss://`), primary first.
    pub trackers: Vec<String>,
    /// Directory of signing keys and publisher API keys (`meshcdn keys generate`). Without it the
    /// bootstrap carries `token: null` (open mode) and `POST /v1/tokens` is not served.
    pub keys_dir: Option<PathBuf>,
    /// Swarm placement file (`meshcdn_placement`, TOML): picks the tracker URLs per viewer from
    /// the trusted region header instead of the static `trackers` list, and marks master
    /// playlists and MPDs `Vary: <region header>`.
    pub placement_file: Option<PathBuf>,
    /// Content ids by path prefix; the longest matching prefix wins. Without a match the content
    /// id is the manifest's directory path (`/vod/sample/master.m3u8` → `vod/sample`).
    pub content: Vec<ContentRule>,
    pub manifests: ManifestConfig,
    pub hashes: HashConfig,
    pub upstream_timeouts: UpstreamTimeouts,
    pub tokens: TokenConfig,
    pub cors: CorsConfig,
    /// STUN/TURN servers for viewers, sent in the bootstrap (`None`: the client's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice: Option<crate::ice::IceConfig>,
    /// Longest wait on `SIGTERM` for requests in flight (segments being streamed) before the
    /// proxy exits, in seconds; keep it below Kubernetes' `terminationGracePeriodSeconds`.
    pub shutdown_grace_secs: u64,
    /// Viewer analytics (beacons, dashboard, API): off unless `analytics.database_url` is set.
    pub analytics: meshcdn_analytics::AnalyticsConfig,
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            upstream: None,
            trackers: Vec::new(),
            keys_dir: None,
            placement_file: None,
            content: Vec::new(),
            manifests: ManifestConfig::default(),
            hashes: HashConfig::default(),
            upstream_timeouts: UpstreamTimeouts::default(),
            tokens: TokenConfig::default(),
            cors: CorsConfig::default(),
            ice: None,
            shutdown_grace_secs: 20,
            analytics: meshcdn_analytics::AnalyticsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentRule {
    /// URL path prefix, e.g. `/live/channel1/`.
    pub prefix: String,
    /// Content id for manifests under it (the token `cid`).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManifestConfig {
    /// Manifests larger than this (after decompression) are served unchanged.
    pub max_bytes: usize,
    /// Cache time when the upstream sends no `Cache-Control: max-age`, in milliseconds.
    pub default_ttl_ms: u64,
    /// Upper bound on the cache time, whatever the upstream says, in milliseconds.
    pub max_ttl_ms: u64,
    /// Manifests kept in the cache.
    pub cache_capacity: u64,
    /// Manifests listing more segments than this are served unchanged.
    pub max_segments: usize,
}

impl Default for ManifestConfig {
    fn default() -> Self {
        Self {
            max_bytes: 4 << 20,
            default_ttl_ms: 1_000,
            max_ttl_ms: 10_000,
            cache_capacity: 1_000,
            max_segments: 20_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashConfig {
    /// Segments hashed at the same time for one manifest.
    pub concurrency: usize,
    /// How long a segment hash is used without asking the upstream, in seconds. After that it is
    /// revalidated by ETag (`If-None-Match`) and only rehashed when the ETag changed; 0
    /// revalidates on every manifest fetch (for origins that rewrite segments in place).
    pub ttl_secs: u64,
    /// Segment hashes kept.
    pub cache_capacity: u64,
    /// Segments larger than this are not hashed (they are served without a hash).
    pub max_segment_bytes: u64,
    /// Deadline for fetching and hashing one segment, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for HashConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            ttl_secs: 3_600,
            cache_capacity: 100_000,
            max_segment_bytes: 256 << 20,
            timeout_ms: 20_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamTimeouts {
    /// TCP/TLS connect timeout, in milliseconds.
    pub connect_ms: u64,
    /// Time until the upstream's response headers arrive, in milliseconds (then 504).
    pub response_ms: u64,
    /// Longest pause while reading a response body, in milliseconds.
    pub read_idle_ms: u64,
}

impl Default for UpstreamTimeouts {
    fn default() -> Self {
        Self {
            connect_ms: 2_000,
            response_ms: 10_000,
            read_idle_ms: 15_000,
        }
    }
}

/// Whom a token in a manifest is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TokenScope {
    /// One token per content and time window: every viewer gets the same manifest bytes within a
    /// window, so the CDN can cache master playlists.
    #[default]
    Shared,
    /// One token per viewer (`sub` = viewer id): master playlists become `Cache-Control: private`.
    PerViewer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    pub scope: TokenScope,
    /// Shared scope: tokens are cut per window of this many seconds.
    pub window_secs: u64,
    /// Validity of manifest tokens beyond the end of their window (shared) or from now
    /// (per viewer), in seconds.
    pub ttl_secs: u64,
    /// Longest TTL `POST /v1/tokens` grants, in seconds; also how long a rotated-out key stays in
    /// the JWKS.
    pub max_ttl_secs: u64,
    /// Per-viewer scope: request header carrying the viewer id (a random id when absent).
    pub viewer_header: String,
    pub issuer: String,
    pub audience: String,
    /// How often the proxy re-reads `keys_dir` (rotation without restart), in seconds; 0 = only
    /// at start.
    pub reload_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            scope: TokenScope::Shared,
            window_secs: 300,
            ttl_secs: 600,
            max_ttl_secs: 86_400,
            viewer_header: "x-meshcdn-viewer".into(),
            issuer: meshcdn_tracker::token::DEFAULT_ISSUER.into(),
            audience: meshcdn_tracker::token::DEFAULT_AUDIENCE.into(),
            reload_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to read responses; empty means any (`*`).
    pub allow_origins: Vec<String>,
}

impl OriginConfig {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source: Box::new(source),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for t in &self.trackers {
            if !(t.starts_with("ws://") || t.starts_with("wss://")) {
                return Err(ConfigError::Invalid(format!(
                    "tracker URL {t:?} must start with ws:// or wss://"
                )));
            }
            url::Url::parse(t)
                .map_err(|e| ConfigError::Invalid(format!("tracker URL {t:?}: {e}")))?;
        }
        if let Some(u) = &self.upstream {
            let parsed = url::Url::parse(u)
                .map_err(|e| ConfigError::Invalid(format!("upstream {u:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid(format!(
                    "upstream {u:?} must be http:// or https://"
                )));
            }
        }
        for rule in &self.content {
            if !rule.prefix.starts_with('/') || rule.id.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "content rule {rule:?}: prefix must start with '/' and id must not be empty"
                )));
            }
        }
        if self.hashes.concurrency == 0 {
            return Err(ConfigError::Invalid(
                "hashes.concurrency must be at least 1".into(),
            ));
        }
        if self.tokens.window_secs == 0 || self.tokens.ttl_secs == 0 {
            return Err(ConfigError::Invalid(
                "tokens.window_secs and tokens.ttl_secs must be positive".into(),
            ));
        }
        if self.tokens.ttl_secs > self.tokens.max_ttl_secs {
            return Err(ConfigError::Invalid(
                "tokens.ttl_secs must not exceed tokens.max_ttl_secs".into(),
            ));
        }
        http::HeaderName::from_bytes(self.tokens.viewer_header.as_bytes()).map_err(|_| {
            ConfigError::Invalid(format!(
                "tokens.viewer_header {:?} is not a header name",
                self.tokens.viewer_header
            ))
        })?;
        if let Some(ice) = &self.ice {
            ice.validate()?;
        }
        self.analytics.validate().map_err(ConfigError::Invalid)?;
        if self.analytics.enabled() && self.keys_dir.is_none() {
            return Err(ConfigError::Invalid(
                "analytics needs keys_dir: beacons are authenticated by the swarm token".into(),
            ));
        }
        Ok(())
    }

    /// Content id of a manifest at `path`.
    pub fn content_id_for(&self, path: &str) -> String {
        if let Some(rule) = self
            .content
            .iter()
            .filter(|r| path.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
        {
            return rule.id.clone();
        }
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let dir = dir.trim_matches('/');
        if dir.is_empty() {
            "default".into()
        } else {
            dir.into()
        }
    }
}

/// Parses `10m`, `30s`, `1500ms`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| ConfigError::Duration(text.into()))?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| ConfigError::Duration(text.into()))?;
    let ms_per = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(ConfigError::Duration(text.into())),
    };
    n.checked_mul(ms_per)
        .map(Duration::from_millis)
        .ok_or_else(|| ConfigError::Duration(text.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_toml() {
        let mut c = OriginConfig {
            upstream: Some("http://127.0.0.1:9000".into()),
            trackers: vec!["ws://127.0.0.1:8000/announce".into()],
            ..OriginConfig::default()
        };
        c.content.push(ContentRule {
            prefix: "/live/".into(),
            id: "live".into(),
        });
        c.tokens.scope = TokenScope::PerViewer;
        c.tokens.reload_secs = 5;
        c.placement_file = Some("/etc/meshcdn/placement.toml".into());
        let text = toml::to_string(&c).unwrap();
        let back: OriginConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
        back.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.toml");
        std::fs::write(&p, "upstraem = \"http://x\"\n").unwrap();
        let err = OriginConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("upstraem"), "{err}");
        std::fs::write(&p, "trackers = [\"http://not-ws\"]\n").unwrap();
        let err = OriginConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("ws://"), "{err}");
        std::fs::write(&p, "[hashes]\nconcurrency = 0\n").unwrap();
        assert!(OriginConfig::load(&p).is_err());
        std::fs::write(&p, "[tokens]\nscope = \"per-viewer\"\nttl_secs = 60\n").unwrap();
        assert_eq!(
            OriginConfig::load(&p).unwrap().tokens.scope,
            TokenScope::PerViewer
        );
        assert!(matches!(
            OriginConfig::load(dir.path().join("missing.toml")),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn content_ids_come_from_rules_or_the_directory() {
        let mut c = OriginConfig::default();
        assert_eq!(c.content_id_for("/vod/sample/master.m3u8"), "vod/sample");
        assert_eq!(c.content_id_for("/master.m3u8"), "default");
        c.content.push(ContentRule {
            prefix: "/vod/".into(),
            id: "all-vod".into(),
        });
        c.content.push(ContentRule {
            prefix: "/vod/special/".into(),
            id: "special".into(),
        });
        assert_eq!(c.content_id_for("/vod/sample/master.m3u8"), "all-vod");
        assert_eq!(c.content_id_for("/vod/special/a/master.m3u8"), "special");
    }

    #[test]
    fn durations_parse_and_reject_garbage() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["", "10", "m", "10x", "-1s", "99999999999999999999d", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
