//! Swarm token issuing: signing keys on disk (with rotation), publisher API keys (stored as
//! SHA-256 hashes), `POST /v1/tokens` and `GET /.well-known/jwks.json`.
//!
//! Claims, signing and key ids are the tracker crate's ([`meshcdn_tracker::token`]), so every
//! token made here verifies in the tracker. Seeds come from the OS RNG (`getrandom`).
//!
//! Key directory layout (`meshcdn keys generate --out DIR`):
//! - `signing-keys.json`: `{"keys":[{"kid","seed","created_at","retired_at"}]}`, mode 0600.
//!   The newest key without `retired_at` signs; generating a new key retires the current one,
//!   which stays in the JWKS until `tokens.max_ttl_secs` after its retirement (so every token it
//!   signed has expired before it disappears).
//! - `api-keys.json`: `{"keys":[{"name","sha256","contents"}]}`: publisher API keys, hashed.
//!
//! The issuer in use sits in a [`SharedIssuer`]; [`spawn_key_reload`] re-reads the directory
//! every `tokens.reload_secs` and swaps it when the keys changed, so a rotation on a running
//! proxy takes effect (manifest tokens, `POST /v1/tokens` and the JWKS) without a restart.
//!
//! | file | job |
//! |---|---|
//! | `store.rs` | the key directory: signing keys and API key hashes on disk |
//! | `issuer.rs` | [`TokenIssuer`]: signs tokens, publishes the JWKS, checks API keys |
//! | `swap.rs` | [`SharedIssuer`] and [`spawn_key_reload`]: hot swap on key rotation |
//! | `routes.rs` | [`token_routes`]: `POST /v1/tokens`, `GET /.well-known/jwks.json` |

mod issuer;
mod routes;
mod store;
mod swap;
#[cfg(test)]
mod tests;

pub use issuer::{IssueError, IssuedToken, MAX_CONTENT_ID_LEN, TokenIssuer};
pub use routes::{MAX_TOKEN_REQUEST_BYTES, TokenRequest, token_routes};
pub use store::{
    API_KEYS_FILE, ApiKeyEntry, KeyError, SIGNING_KEYS_FILE, add_api_key, generate_key,
};
pub use swap::{SharedIssuer, spawn_key_reload};
