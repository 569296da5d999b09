//! Edge host configuration: TOML (`meshcdn edge --config FILE`), every field optional, unknown
//! fields refused. CLI flags override fields after loading.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Upper bound on `shards` (a connection tracks the shards it touched in a 128-bit set).
pub const MAX_SHARDS: usize = 128;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// Address the CLI binds (in-process callers pass their own listener to [`crate::serve`]).
    pub listen: SocketAddr,
    /// Which tracker implementation the shards run.
    pub engine: EngineKind,
    /// The tracker-shard component for `engine = "wasm"`; `None` = [`default_component_path`].
    pub component: Option<PathBuf>,
    /// Number of shards (actors, one OS thread each); 0 = number of cores.
    pub shards: usize,
    /// Serve wss with these PEM files; plain ws when absent.
    pub tls: Option<TlsConfig>,
    pub auth: AuthConfig,
    pub network: NetworkConfig,
    pub limits: LimitsConfig,
    /// Passed to every shard's tracker as JSON (`meshcdn_tracker::TrackerConfig`); `{}` = defaults.
    pub tracker: serde_json::Value,
    /// How often each shard expires timed-out peers and offers, in milliseconds.
    pub expire_interval_ms: u64,
    /// Bearer token for `POST /admin/reload`; the admin API is off when absent.
    pub admin_token: Option<String>,
    /// Longest drain on `SIGTERM`, in seconds: peers are told to reconnect elsewhere and the
    /// host exits when they are gone or this has passed (keep it below Kubernetes'
    /// `terminationGracePeriodSeconds`). See [`crate::lifecycle`].
    pub shutdown_grace_secs: u64,
    /// URL paths that serve the WebSocket tracker. `/announce` is what meshcdn's bootstrap
    /// names; `/` is where many public trackers (and aquatic's load tester) connect. The first
    /// is the one [`crate::EdgeHandle::announce_url`] gives.
    pub tracker_paths: Vec<String>,
    // --- operations (edge-ops): the HTTP listener's bounds and the ops/admin endpoints ---
    pub http: HttpConfig,
    pub ops: OpsConfig,
}

/// Paths of the host's own endpoints, which a tracker path cannot take.
pub const RESERVED_PATHS: [&str; 6] = [
    "/health",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/stats",
    "/admin/reload",
];

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            engine: EngineKind::Wasm,
            component: None,
            shards: 0,
            tls: None,
            auth: AuthConfig::default(),
            network: NetworkConfig::default(),
            limits: LimitsConfig::default(),
            tracker: serde_json::Value::Object(Default::default()),
            expire_interval_ms: 5_000,
            admin_token: None,
            shutdown_grace_secs: 20,
            tracker_paths: vec!["/announce".into(), "/".into()],
            http: HttpConfig::default(),
            ops: OpsConfig::default(),
        }
    }
}

/// Bounds of the HTTP listener for connections that are not (yet) WebSockets: plain requests,
/// keep-alive connections, TLS handshakes and upgrades in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Such connections at once, at most; one more is closed at accept (counted as
    /// `meshcdn_edge_rejects_total{reason="http_connection_limit"}`). An upgraded connection
    /// leaves this budget for `limits.max_connections`. Each is closed when its request headers
    /// (the first, or the next on a keep-alive connection) have not all arrived within
    /// `limits.header_timeout_ms`.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
        }
    }
}

/// The operations endpoints (`/metrics`, `/stats`) and the admin API (`POST /admin/reload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpsConfig {
    /// `/metrics` and `/stats` serve a snapshot of the shards' stats taken at most this often, in
    /// milliseconds: a flood of requests costs the shards one stats round per period.
    pub stats_refresh_ms: u64,
    /// `/metrics` requires `Authorization: Bearer <admin_token>` too (then give Prometheus the
    /// token). Off by default: it carries only totals, no swarm ids. `/stats` always requires it.
    pub metrics_require_token: bool,
    /// Largest body of `POST /admin/reload`, in bytes (413 beyond it).
    pub admin_max_body_bytes: usize,
    /// The body of `POST /admin/reload` must arrive within this long, in milliseconds (408).
    pub admin_body_timeout_ms: u64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            stats_refresh_ms: 1000,
            metrics_require_token: false,
            admin_max_body_bytes: 4096,
            admin_body_timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The tracker-shard component under wasmtime (isolated, hot-upgradable).
    Wasm,
    /// The same tracker crate compiled into the host.
    Native,
}

impl std::str::FromStr for EngineKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wasm" => Ok(Self::Wasm),
            "native" => Ok(Self::Native),
            other => Err(ConfigError::Invalid(format!(
                "unknown engine {other:?} (expected wasm or native)"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Admit announces without a token.
    pub open: bool,
    /// JWKS file path or `http(s)://` URL with the token verification keys.
    pub jwks: Option<String>,
    /// Re-read the JWKS this often, in seconds, so key rotation needs no restart.
    pub jwks_refresh_secs: u64,
    pub issuer: String,
    pub audience: String,
    /// Allow an `http://` JWKS URL (keys over plain text can be swapped on the way: only for a
    /// trusted network, e.g. a cluster-internal service or loopback). `https://` otherwise.
    pub allow_insecure_jwks: bool,
    /// Largest JWKS document accepted, in bytes.
    pub jwks_max_bytes: usize,
    /// A token with an unknown `kid` makes the host re-read the JWKS at once (a key rotated since
    /// the last refresh), at most once per this many seconds.
    pub jwks_refetch_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            open: false,
            jwks: None,
            jwks_refresh_secs: 300,
            allow_insecure_jwks: false,
            jwks_max_bytes: 64 << 10,
            jwks_refetch_secs: 30,
            issuer: meshcdn_tracker::token::DEFAULT_ISSUER.into(),
            audience: meshcdn_tracker::token::DEFAULT_AUDIENCE.into(),
        }
    }
}

/// Where a connection's network facts come from. Headers are trusted as-is: configure them only
/// behind a CDN that sets them and strips them from viewers' requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Header with the viewer's ASN (e.g. `CloudFront-Viewer-ASN`).
    pub asn_header: Option<String>,
    /// Header with the viewer's ISO country code (e.g. `CloudFront-Viewer-Country`).
    pub country_header: Option<String>,
    /// Header with the viewer's region (e.g. `CloudFront-Viewer-Country-Region`).
    pub region_header: Option<String>,
    /// Header with the viewer's continent code.
    pub continent_header: Option<String>,
    /// Header with the viewer's IP (first address of a list), for the database lookup; the
    /// socket's peer address otherwise.
    pub client_ip_header: Option<String>,
    /// MaxMind-format database (`.mmdb`: GeoLite2 ASN/Country/City or ip-location-db layouts).
    pub geo_db: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Wall-clock budget of one call into a shard, in milliseconds (epoch deadline).
    pub call_deadline_ms: u64,
    /// Linear memory cap of one wasm shard, in bytes.
    pub shard_memory_bytes: usize,
    /// Largest accepted WebSocket message, in bytes.
    pub max_message_bytes: usize,
    /// Connections beyond this are refused with HTTP 503 before the upgrade.
    pub max_connections: usize,
    /// Sustained messages per second one connection may send.
    pub messages_per_sec: u32,
    /// Messages one connection may send in a burst above the sustained rate.
    pub message_burst: u32,
    /// A connection that sends nothing for this long is closed, in seconds.
    pub idle_timeout_secs: u64,
    /// Messages queued to one connection, at most; what one more does is `queue_overflow`.
    /// Bounds what a reader that stopped reading costs: this many messages of at most
    /// `max_message_bytes` each.
    pub max_queued_messages: usize,
    /// Bytes queued to one connection (and being written to it), at most; what one more message
    /// does is `queue_overflow`. An empty queue always takes one message, so a reply larger than
    /// this still goes out.
    pub max_queued_bytes: usize,
    /// Bytes queued to all connections of the host, at most: beyond it, a message to a
    /// connection that is already behind closes that connection (1013, try again later) and any
    /// other message is dropped. Bounds what many slow readers together can hold.
    pub max_total_queued_bytes: usize,
    /// Open tracker connections from one viewer address (IPv6: one /64), at most; one more is
    /// refused with HTTP 429. The address is `network.client_ip_header`'s when that is set.
    pub max_connections_per_ip: usize,
    /// A wasm shard whose live heap passes this share of `shard_memory_bytes` refuses new swarms
    /// and peers (it keeps serving the ones it has) until it is back under 90% of the mark:
    /// degrading before the cap, instead of trapping and losing every peer of the shard.
    pub shard_memory_high_water_percent: u8,
    /// `close`: a connection whose queue is full is closed (1008), for a reader that stopped
    /// reading; `drop`: the message is dropped and the connection stays (as aquatic_ws does).
    pub queue_overflow: crate::outbox::Overflow,
    /// Messages waiting for one shard, at most: beyond it connections stop reading their sockets
    /// until the shard catches up (TCP pushes back on the senders), so a shard that falls
    /// behind cannot pile up memory.
    pub max_shard_backlog: usize,
    /// A write the peer does not take within this long drops the connection, in milliseconds.
    pub send_timeout_ms: u64,
    /// An HTTP request whose headers have not all arrived within this long is dropped (slow
    /// clients holding connections open), in milliseconds.
    pub header_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            call_deadline_ms: 500,
            shard_memory_bytes: 256 << 20,
            max_message_bytes: 64 << 10,
            max_connections: 100_000,
            messages_per_sec: 20,
            message_burst: 60,
            idle_timeout_secs: 300,
            max_queued_messages: 1024,
            max_queued_bytes: 256 << 10,
            max_total_queued_bytes: 64 << 20,
            max_connections_per_ip: 64,
            shard_memory_high_water_percent: 80,
            queue_overflow: crate::outbox::Overflow::Close,
            max_shard_backlog: 4096,
            send_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
        }
    }
}

impl EdgeConfig {
    /// Loads a TOML file and validates it. Missing fields take their defaults; unknown fields are
    /// errors.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let config = Self::read(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file without validating it, for callers that change fields
    /// before [`Self::validate`] (the CLI's flags override the file).
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates TOML text (errors name the path [`crate::error::INLINE`]).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config = Self::parse(text, Path::new(crate::error::INLINE))?;
        config.validate()?;
        Ok(config)
    }

    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("EdgeConfig always serializes")
    }

    /// Checks what serde cannot: called by [`crate::serve`] too, after CLI overrides.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_ops()?;
        self.validate_bounds()?;
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if self.shards > MAX_SHARDS {
            return bad(&format!("shards must be at most {MAX_SHARDS}"));
        }
        if !self.auth.open && self.auth.jwks.is_none() {
            return bad("either auth.open (--open) or auth.jwks (--jwks) must be set");
        }
        if self.expire_interval_ms == 0 {
            return bad("expire_interval_ms must be > 0");
        }
        if !self.tracker.is_object() {
            return bad("tracker must be a table");
        }
        self.validate_tracker_paths()
    }

    /// The outbound memory bounds and the per-address connection limit (hardening).
    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        for (key, value) in [
            ("limits.max_queued_bytes", l.max_queued_bytes),
            ("limits.max_total_queued_bytes", l.max_total_queued_bytes),
            ("limits.max_connections_per_ip", l.max_connections_per_ip),
        ] {
            if value == 0 {
                return invalid(format!("{key} must be > 0 (0 would switch the bound off)"));
            }
        }
        if l.max_total_queued_bytes < l.max_queued_bytes {
            return invalid(format!(
                "limits.max_total_queued_bytes ({}) must be at least limits.max_queued_bytes ({})",
                l.max_total_queued_bytes, l.max_queued_bytes
            ));
        }
        if !(1..=100).contains(&l.shard_memory_high_water_percent) {
            return invalid(format!(
                "limits.shard_memory_high_water_percent must be 1 to 100, not {}",
                l.shard_memory_high_water_percent
            ));
        }
        Ok(())
    }

    /// The live heap of a wasm shard above which it degrades, in bytes.
    pub fn shard_heap_high_water_bytes(&self) -> usize {
        let l = &self.limits;
        (l.shard_memory_bytes / 100).saturating_mul(l.shard_memory_high_water_percent.into())
    }

    /// Bounds that 0 or an empty value would switch off, each named in its error; the JWKS
    /// location and the admin token (edge-ops).
    fn validate_ops(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let positive: [(&str, u64); 17] = [
            ("limits.call_deadline_ms", l.call_deadline_ms),
            ("limits.shard_memory_bytes", l.shard_memory_bytes as u64),
            ("limits.max_connections", l.max_connections as u64),
            ("limits.messages_per_sec", l.messages_per_sec.into()),
            ("limits.message_burst", l.message_burst.into()),
            ("limits.idle_timeout_secs", l.idle_timeout_secs),
            ("limits.max_queued_messages", l.max_queued_messages as u64),
            ("limits.max_shard_backlog", l.max_shard_backlog as u64),
            ("limits.send_timeout_ms", l.send_timeout_ms),
            ("limits.header_timeout_ms", l.header_timeout_ms),
            ("auth.jwks_refresh_secs", self.auth.jwks_refresh_secs),
            ("auth.jwks_max_bytes", self.auth.jwks_max_bytes as u64),
            ("auth.jwks_refetch_secs", self.auth.jwks_refetch_secs),
            ("http.max_connections", self.http.max_connections as u64),
            ("ops.stats_refresh_ms", self.ops.stats_refresh_ms),
            (
                "ops.admin_max_body_bytes",
                self.ops.admin_max_body_bytes as u64,
            ),
            ("ops.admin_body_timeout_ms", self.ops.admin_body_timeout_ms),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!(
                "{key} must be > 0 (0 would switch the bound off)"
            )));
        }
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.limits.max_message_bytes < 1024 {
            return invalid("limits.max_message_bytes must be at least 1024".into());
        }
        if self
            .admin_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return invalid(
                "admin_token is empty: set a secret, or leave it out to turn the admin API off"
                    .into(),
            );
        }
        if self.auth.issuer.is_empty() || self.auth.audience.is_empty() {
            return invalid("auth.issuer and auth.audience must not be empty".into());
        }
        let n = &self.network;
        for (key, header) in [
            ("network.asn_header", &n.asn_header),
            ("network.country_header", &n.country_header),
            ("network.region_header", &n.region_header),
            ("network.continent_header", &n.continent_header),
            ("network.client_ip_header", &n.client_ip_header),
        ] {
            if header
                .as_deref()
                .is_some_and(|h| axum::http::HeaderName::from_bytes(h.as_bytes()).is_err())
            {
                return invalid(format!("{key}: {header:?} is not a header name"));
            }
        }
        match self.auth.jwks.as_deref() {
            Some("") => invalid("auth.jwks is empty: a JWKS file path or https:// URL".into()),
            Some(url) if url.starts_with("http://") && !self.auth.allow_insecure_jwks => {
                invalid(format!(
                    "auth.jwks: {url} is plain http; use https, or set auth.allow_insecure_jwks = true for a trusted network"
                ))
            }
            _ => Ok(()),
        }
    }

    fn validate_tracker_paths(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.tracker_paths.is_empty() {
            return bad("tracker_paths: at least one path (e.g. \"/announce\")".into());
        }
        for (i, path) in self.tracker_paths.iter().enumerate() {
            let plain = path.starts_with('/')
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
            if !plain || path.contains("//") {
                return bad(format!(
                    "tracker_paths: {path:?} is not a plain absolute path (a leading '/', then letters, digits, '-', '.', '_', '~' and single '/')"
                ));
            }
            if RESERVED_PATHS.contains(&path.as_str()) {
                return bad(format!(
                    "tracker_paths: {path:?} is one of the host's own endpoints"
                ));
            }
            if self.tracker_paths[..i].contains(path) {
                return bad(format!("tracker_paths: {path:?} is listed twice"));
            }
        }
        Ok(())
    }

    /// The shard count after resolving 0 to the number of cores.
    pub fn shard_count(&self) -> usize {
        match self.shards {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(MAX_SHARDS),
            n => n,
        }
    }

    pub fn component_path(&self) -> PathBuf {
        self.component
            .clone()
            .unwrap_or_else(default_component_path)
    }
}

/// `$MESHCDN_COMPONENT`, else `tracker-shard.wasm` in the cargo target directory the running
/// binary was built in (where `scripts/build-guest.sh` puts it), else beside the binary.
pub fn default_component_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MESHCDN_COMPONENT") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/meshcdn or target/<profile>/deps/<test>
    for dir in exe.ancestors().skip(1).take(3) {
        let candidate = dir.join("tracker-shard.wasm");
        if candidate.exists() {
            return candidate;
        }
    }
    exe.with_file_name("tracker-shard.wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_toml() {
        let mut config = EdgeConfig::default();
        config.auth.open = true;
        let back = EdgeConfig::from_toml(&config.to_toml()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn nested_sections_parse_and_unknown_fields_are_refused() {
        let config = EdgeConfig::from_toml(
            "engine = \"native\"\nshards = 3\n[auth]\nopen = true\n[limits]\nmax_connections = 7\n[tracker]\nmax_offers = 5\n",
        )
        .unwrap();
        assert_eq!(config.engine, EngineKind::Native);
        assert_eq!(config.shard_count(), 3);
        assert_eq!(config.limits.max_connections, 7);
        assert_eq!(config.limits.max_message_bytes, 65536);
        assert_eq!(config.tracker["max_offers"], 5);
        assert_eq!(config.tracker_paths, ["/announce", "/"]);
        let only =
            EdgeConfig::from_toml("tracker_paths = [\"/t/v1\"]\n[auth]\nopen = true\n").unwrap();
        assert_eq!(only.tracker_paths, ["/t/v1"]);
        let err = EdgeConfig::from_toml("[auth]\nopen = true\nbogus = 1\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Parse { source, .. } if source.to_string().contains("bogus"))
        );
        assert!(err.to_string().contains(crate::error::INLINE), "{err}");
    }

    #[test]
    fn invalid_values_get_typed_errors() {
        assert!(
            matches!(EdgeConfig::from_toml(""), Err(ConfigError::Invalid(_))),
            "no auth mode"
        );
        assert!(matches!(
            EdgeConfig::from_toml("shards = 1000\n[auth]\nopen = true\n"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            EdgeConfig::from_toml("[auth]\nopen = true\n[limits]\nmessages_per_sec = 0\n"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            EdgeConfig::from_toml("engine = \"jvm\""),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            "jvm".parse::<EngineKind>(),
            Err(ConfigError::Invalid(_))
        ));
        for paths in [
            "[]",
            "[\"announce\"]",
            "[\"/a b\"]",
            "[\"/{id}\"]",
            "[\"//x\"]",
            "[\"/health\"]",
            "[\"/x\", \"/x\"]",
        ] {
            let toml = format!("tracker_paths = {paths}\n[auth]\nopen = true\n");
            assert!(
                matches!(EdgeConfig::from_toml(&toml), Err(ConfigError::Invalid(m)) if m.contains("tracker_paths")),
                "{paths} must be refused"
            );
        }
        let missing = EdgeConfig::load(Path::new("/nonexistent/edge.toml")).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
    }

    /// A zero or empty value that would switch a bound off is refused, naming its key.
    #[test]
    fn zero_bounds_and_empty_secrets_are_refused_by_name() {
        for (section, key) in [
            ("limits", "call_deadline_ms"),
            ("limits", "shard_memory_bytes"),
            ("limits", "max_connections"),
            ("limits", "idle_timeout_secs"),
            ("limits", "max_queued_messages"),
            ("limits", "max_shard_backlog"),
            ("limits", "send_timeout_ms"),
            ("limits", "header_timeout_ms"),
            ("auth", "jwks_refresh_secs"),
            ("auth", "jwks_max_bytes"),
            ("auth", "jwks_refetch_secs"),
            ("http", "max_connections"),
            ("ops", "stats_refresh_ms"),
            ("ops", "admin_max_body_bytes"),
            ("ops", "admin_body_timeout_ms"),
        ] {
            let open = if section == "auth" {
                ""
            } else {
                "[auth]\nopen = true\n"
            };
            let extra = if section == "auth" {
                "open = true\n"
            } else {
                ""
            };
            let toml = format!("{open}[{section}]\n{extra}{key} = 0\n");
            match EdgeConfig::from_toml(&toml) {
                Err(ConfigError::Invalid(m)) => {
                    assert!(m.contains(&format!("{section}.{key}")), "{toml}: {m}")
                }
                other => panic!("{toml}: {other:?}"),
            }
        }
        let refused = |toml: &str, needle: &str| match EdgeConfig::from_toml(toml) {
            Err(ConfigError::Invalid(m)) => assert!(m.contains(needle), "{toml}: {m}"),
            other => panic!("{toml}: {other:?}"),
        };
        refused("admin_token = \"\"\n[auth]\nopen = true\n", "admin_token");
        refused("admin_token = \"  \"\n[auth]\nopen = true\n", "admin_token");
        refused("[auth]\njwks = \"\"\n", "auth.jwks");
        refused("[auth]\nopen = true\nissuer = \"\"\n", "auth.issuer");
        refused(
            "[auth]\nopen = true\n[network]\nasn_header = \"\"\n",
            "network.asn_header",
        );
        refused(
            "[auth]\njwks = \"http://keys.example/jwks.json\"\n",
            "allow_insecure_jwks",
        );
        // Absent admin token = admin API off; http JWKS with the opt-in; https and files as is.
        EdgeConfig::from_toml("[auth]\nopen = true\n").unwrap();
        EdgeConfig::from_toml(
            "[auth]\njwks = \"http://127.0.0.1:1/jwks.json\"\nallow_insecure_jwks = true\n",
        )
        .unwrap();
        EdgeConfig::from_toml("[auth]\njwks = \"https://keys.example/jwks.json\"\n").unwrap();
        EdgeConfig::from_toml("[auth]\njwks = \"keys/jwks.json\"\n").unwrap();
    }

    /// `read` leaves validation to the caller: a file without an auth mode parses, and only
    /// `validate` (or `load`) refuses it.
    #[test]
    fn read_parses_without_validating_and_names_the_file_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("partial.toml");
        std::fs::write(&partial, "shards = 2\n").unwrap();
        let mut config = EdgeConfig::read(&partial).unwrap();
        assert_eq!(config.shards, 2);
        assert!(matches!(config.validate(), Err(ConfigError::Invalid(_))));
        assert!(matches!(
            EdgeConfig::load(&partial),
            Err(ConfigError::Invalid(_))
        ));
        config.auth.open = true;
        config.validate().unwrap();
        std::fs::write(&partial, "shards = \"two\"\n").unwrap();
        let err = EdgeConfig::read(&partial).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }));
        assert!(err.to_string().contains("partial.toml"), "{err}");
    }
}
