//! Error types of the edge host.

use std::path::PathBuf;

/// Why a configuration could not be used. The same shape as `meshcdn_origin::config::ConfigError`:
/// the file could not be read, is not TOML of this schema, or its values are invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `path` is [`INLINE`] for text given to [`crate::EdgeConfig::from_toml`].
    #[error("config {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("config is invalid: {0}")]
    Invalid(String),
}

/// The `path` of a [`ConfigError::Parse`] for TOML that came from no file.
pub const INLINE: &str = "(inline TOML)";

/// A failure of a shard engine (wasm or native).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The component could not be read or compiled.
    #[error("cannot load component: {0}")]
    Load(String),
    /// The component does not implement the `meshcdn:tracker/tracker-shard` world.
    #[error("component is incompatible with meshcdn:tracker/tracker-shard@0.1.0: {0}")]
    Incompatible(String),
    /// The guest trapped (including running out of its memory cap); its instance is unusable.
    #[error("shard trapped: {0}")]
    Trap(String),
    /// The call ran past its epoch deadline and was interrupted.
    #[error("shard call ran past its deadline")]
    Deadline,
    /// The guest refused the tracker configuration.
    #[error("tracker config refused: {0}")]
    Config(String),
    /// The guest refused an exported state (hot upgrade).
    #[error("state refused: {0}")]
    State(String),
    /// The shard's thread is gone (the pool is shutting down): it cannot answer.
    #[error("shard stopped")]
    Stopped,
    /// A pool of zero shards has nothing to answer with (configs allow at least one).
    #[error("no shards")]
    NoShards,
}

impl EngineError {
    /// Whether the instance must be replaced (its state is lost).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Trap(_) | Self::Deadline)
    }
}

/// Why the TLS (wss) set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read PEM file {path}: {source}")]
    Pem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path}: no certificate")]
    NoCertificate { path: PathBuf },
    #[error("certificate or key refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Why the token key set (JWKS) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("no key set configured (auth.jwks)")]
    NotConfigured,
    #[error("cannot fetch {location}: {source}")]
    Fetch {
        location: String,
        source: reqwest::Error,
    },
    #[error("cannot read {location}: {source}")]
    Read {
        location: String,
        source: std::io::Error,
    },
    #[error("{location} is not a JWK set: {source}")]
    Parse {
        location: String,
        source: serde_json::Error,
    },
    #[error("{location}: plain http; use https or set auth.allow_insecure_jwks = true")]
    Insecure { location: String },
    #[error("{location}: not a URL: {reason}")]
    BadUrl { location: String, reason: String },
    #[error("{location}: key set larger than {limit} bytes (auth.jwks_max_bytes)")]
    TooLarge { location: String, limit: usize },
    #[error("{location}: {source}")]
    Keys {
        location: String,
        source: meshcdn_tracker::token::TokenError,
    },
}

/// Errors of starting or running the edge host.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("TLS setup failed: {0}")]
    Tls(#[from] TlsError),
    #[error("key set (JWKS) unavailable: {0}")]
    Jwks(#[from] JwksError),
    #[error("geo database {path}: {source}")]
    GeoDb {
        path: PathBuf,
        source: maxminddb::MaxMindDbError,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A blocking start-up or upgrade step (compiling the component, starting the shards)
    /// panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The new component or engine was refused; the running version stays.
    #[error("hot upgrade refused: {0}")]
    Reload(#[source] EngineError),
}
