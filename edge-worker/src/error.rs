//! Error types of the edge host.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config is not valid TOML for the edge: {0}")]
    Parse(String),
    #[error("invalid config: {0}")]
    Invalid(String),
}

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
}

impl EngineError {
    /// Whether the instance must be replaced (its state is lost).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Trap(_) | Self::Deadline)
    }
}

/// Errors of starting or running the edge host.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("key set (JWKS) unavailable: {0}")]
    Jwks(String),
    #[error("geo database {path}: {reason}")]
    GeoDb { path: PathBuf, reason: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("hot upgrade refused: {0}")]
    Reload(String),
}
