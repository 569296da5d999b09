//! A WebTorrent-protocol load generator (`meshcdn loadtest`): `connections` WebSocket peers
//! spread over `swarms` swarms; each announces with offers, answers every offer it receives and
//! announces again as soon as its previous announce was answered (closed loop). Bounded in
//! connections, time and latency samples.
//!
//! Counted as responses: every frame received (announce replies, relayed offers and answers).
//! Latency: from sending an announce to receiving the reply to it.
//!
//! Its own crate so that the edge host does not depend on a WebSocket client (tokio-tungstenite)
//! or on the Mozilla root certificates (webpki-roots).
//!
//! ```no_run
//! # async fn demo() -> Result<(), meshcdn_loadtest::LoadError> {
//! use meshcdn_loadtest::LoadConfig;
//! let report = meshcdn_loadtest::run(LoadConfig {
//!     target: "ws://127.0.0.1:8000/announce".into(),
//!     connections: 100,
//!     ..LoadConfig::default()
//! })
//! .await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```

mod config;
mod report;
mod run;
mod tls;
mod wire;

pub use config::{LoadConfig, LoadError, MAX_CONNECTIONS, MAX_DURATION};
pub use report::LoadReport;
pub use run::run;
