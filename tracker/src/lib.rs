//! meshcdn tracker core.
//!
//! Sans-IO: this crate performs no networking, spawns nothing, reads no clock and uses no global
//! randomness. Time (`now_ms`, Unix milliseconds) and a random seed are passed in, so the same
//! code runs natively, inside the wasm32-wasip2 tracker-shard component, and in simulated-time
//! tests.

pub mod ids;
pub mod token;

pub use ids::{IdError, InfoHash};
