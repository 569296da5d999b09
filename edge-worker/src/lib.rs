#![doc = include_str!("../../docs/edge.md")]

pub mod accept;
pub mod auth;
pub mod bounded;
pub mod config;
pub mod engine;
pub mod error;
pub mod heap;
pub mod idle;
pub mod lifecycle;
pub mod metrics;
pub mod netfacts;
pub mod outbox;
pub mod server;
pub mod shard;
pub mod tls;
pub mod ws;

pub use config::{EdgeConfig, EngineKind};
pub use error::{ConfigError, EdgeError, EngineError, JwksError, TlsError};
pub use server::{EdgeHandle, serve};
