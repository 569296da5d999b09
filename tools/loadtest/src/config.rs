//! What to run ([`LoadConfig`]), its hard caps, and why a run could not start ([`LoadError`]).

use std::time::Duration;

/// Hard caps, whatever the caller asks for.
pub const MAX_CONNECTIONS: usize = 50_000;
pub const MAX_DURATION: Duration = Duration::from_secs(600);
pub(crate) const MAX_LATENCY_SAMPLES: usize = 5_000_000;
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Handshakes in flight at once while connecting.
pub(crate) const CONNECT_CONCURRENCY: usize = 128;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `ws://host:port/announce` or `wss://…` (with `?token=` if the tracker needs one).
    pub target: String,
    /// PEM file of extra CA certificates to trust for `wss://` (e.g. a self-signed edge's);
    /// the Mozilla roots (webpki-roots) are always trusted.
    pub ca_file: Option<std::path::PathBuf>,
    pub connections: usize,
    pub swarms: usize,
    pub duration: Duration,
    /// Offers per announce.
    pub offers: usize,
    /// Only connect, announce once without offers, and stay idle for `duration` (memory runs).
    pub idle: bool,
    pub seed: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            target: "ws://127.0.0.1:8000/announce".into(),
            ca_file: None,
            connections: 100,
            swarms: 10,
            duration: Duration::from_secs(10),
            offers: 2,
            idle: false,
            seed: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid load test settings: {0}")]
    Settings(String),
    #[error("no connection could be opened to {target}: {source}")]
    Connect {
        target: String,
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// Every connection of the run failed, but a single one afterwards did not.
    #[error("no connection could be opened to {target} under load (a single one succeeds)")]
    FailedUnderLoad { target: String },
}

impl LoadConfig {
    /// Refuses settings outside the caps, before anything connects.
    pub(crate) fn check(&self) -> Result<(), LoadError> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(LoadError::Settings(format!(
                "connections must be 1..={MAX_CONNECTIONS}"
            )));
        }
        if self.swarms == 0 || self.duration.is_zero() || self.duration > MAX_DURATION {
            return Err(LoadError::Settings(format!(
                "swarms must be > 0 and duration 1 s..={} s",
                MAX_DURATION.as_secs()
            )));
        }
        if self.offers > 10 {
            return Err(LoadError::Settings("offers must be at most 10".into()));
        }
        Ok(())
    }
}
