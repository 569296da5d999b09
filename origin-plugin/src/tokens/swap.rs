//! Hot swap: the issuer in use ([`SharedIssuer`]) and the task that re-reads the key directory
//! ([`spawn_key_reload`]), so a key rotation needs no restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{KeyError, TokenIssuer};
use crate::clock::now_secs;
use crate::config::TokenConfig;

/// The issuer in use, replaceable while requests are served (key rotation without restart).
/// Readers take a cheap `Arc` snapshot; a swap never blocks them for longer than a pointer copy.
#[derive(Clone)]
pub struct SharedIssuer(Arc<RwLock<Arc<TokenIssuer>>>);

impl std::fmt::Debug for SharedIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.current().fmt(f)
    }
}

impl From<Arc<TokenIssuer>> for SharedIssuer {
    fn from(issuer: Arc<TokenIssuer>) -> Self {
        Self(Arc::new(RwLock::new(issuer)))
    }
}

impl From<TokenIssuer> for SharedIssuer {
    fn from(issuer: TokenIssuer) -> Self {
        Arc::new(issuer).into()
    }
}

impl SharedIssuer {
    /// The issuer in use now.
    pub fn current(&self) -> Arc<TokenIssuer> {
        // A poisoned lock still holds a complete issuer (the swap is one assignment).
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads `dir` and swaps the issuer when its keys (signing, published or API keys) differ
    /// from the current ones. Returns whether it swapped. On error the current issuer stays.
    pub fn reload(
        &self,
        dir: &Path,
        config: &TokenConfig,
        now_secs: u64,
    ) -> Result<bool, KeyError> {
        let mut fresh = TokenIssuer::load(dir, config, now_secs)?;
        let current = self.current();
        if fresh.same_keys(&current) {
            return Ok(false);
        }
        fresh.issued = current.issued.clone();
        tracing::info!(
            old_kid = %current.current_kid(),
            new_kid = %fresh.current_kid(),
            published = ?fresh.published_kids(),
            api_keys = fresh.api_keys.len(),
            "key directory changed: issuer swapped"
        );
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(true)
    }
}

/// Re-reads `dir` every `config.reload_secs` (none when 0) for as long as `issuer` is alive,
/// swapping it on change. Also drops retired keys from the JWKS once their tokens have expired.
/// A directory caught mid-write or unreadable keeps the current keys (logged, retried next time).
/// Must be called inside a Tokio runtime.
pub fn spawn_key_reload(
    issuer: &SharedIssuer,
    dir: PathBuf,
    config: TokenConfig,
) -> Option<tokio::task::JoinHandle<()>> {
    if config.reload_secs == 0 {
        return None;
    }
    // Weak: the task ends with the last user of the issuer instead of keeping it alive.
    let weak = Arc::downgrade(&issuer.0);
    let period = Duration::from_secs(config.reload_secs);
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(lock) = weak.upgrade() else { return };
            let shared = SharedIssuer(lock);
            let (dir, config) = (dir.clone(), config.clone());
            // File reads and Ed25519 key set-up: off the async workers.
            let result =
                tokio::task::spawn_blocking(move || shared.reload(&dir, &config, now_secs())).await;
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "key directory not reloaded; keeping the current keys")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "key reload task failed; keeping the current keys")
                }
            }
        }
    }))
}
