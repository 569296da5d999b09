//! meshcdn tracker core.
//!
//! Sans-IO: this crate performs no networking, spawns nothing, reads no clock and uses no global
//! randomness. Time (`now_ms`, Unix milliseconds) and a random seed are passed in, so the same
//! code runs natively, inside the wasm32-wasip2 tracker-shard component, and in simulated-time
//! tests.
//!
//! ```
//! use meshcdn_tracker::{Admission, NetworkFacts, Tracker, TrackerConfig};
//! let mut t = Tracker::new(TrackerConfig::default(), 42);
//! t.connection_opened(1, NetworkFacts::default(), Admission::Open);
//! t.handle_message(1, r#"{"action":"scrape","info_hash":"aaaaaaaaaaaaaaaaaaaa"}"#, 1_000);
//! let reply = t.poll_outbound().unwrap();
//! assert_eq!(reply.conn, 1);
//! assert_eq!(reply.text, r#"{"action":"scrape","files":{}}"#);
//! ```
//!
//! The wire protocol and meshcdn's extensions are described in `docs/protocol.md`.

pub mod config;
mod fastmap;
pub mod ids;
pub mod protocol;
pub mod state;
pub mod stats;
mod swarm;
pub mod token;
mod tracker;

pub use config::TrackerConfig;
pub use ids::{IdError, InfoHash, OfferId, PeerId};
pub use protocol::{ProtocolError, Route, Routed, route, route_full};
pub use state::StateError;
pub use stats::{Counters, SwarmCounters, SwarmStats, TrackerStats};
pub use tracker::{Admission, ConnId, NetworkFacts, Outbound, RequestError, Tracker};
