//! Token verification at the WebSocket upgrade: JWKS from a file or an http(s) URL, re-read
//! periodically so key rotation needs no restart. Signature, `kid`, `iss`, `aud` and time are
//! checked here; the tracker checks the token's swarm scope on every announce.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use meshcdn_tracker::Admission;
use meshcdn_tracker::token::{TokenError, Verifier};

use crate::config::AuthConfig;
use crate::error::{EdgeError, JwksError};

/// Decides admission at the upgrade.
#[derive(Clone)]
pub enum Gate {
    Open,
    Tokens(Arc<KeySource>),
}

impl Gate {
    /// Whether tokens can be verified: an open host needs no keys.
    pub fn keys_loaded(&self) -> bool {
        match self {
            Gate::Open => true,
            Gate::Tokens(keys) => {
                keys.verifier
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .key_count()
                    > 0
            }
        }
    }

    /// `token` is the `?token=` query value.
    pub fn admit(&self, token: Option<&str>, now_ms: u64) -> Result<Admission, TokenError> {
        match self {
            Gate::Open => Ok(Admission::Open),
            Gate::Tokens(keys) => {
                let token = token
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| TokenError::Malformed("no token".into()))?;
                let verifier = keys
                    .verifier
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                Ok(Admission::Token(verifier.verify(token, now_ms)?.grant()))
            }
        }
    }
}

/// The current verifier and where its keys come from.
pub struct KeySource {
    location: String,
    issuer: String,
    audience: String,
    verifier: RwLock<Verifier>,
}

impl KeySource {
    /// Loads the key set once (failing start-up if it is unavailable).
    pub async fn load(config: &AuthConfig) -> Result<Arc<Self>, EdgeError> {
        let location = config.jwks.clone().ok_or(JwksError::NotConfigured)?;
        let verifier = fetch(&location, &config.issuer, &config.audience).await?;
        Ok(Arc::new(Self {
            location,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            verifier: RwLock::new(verifier),
        }))
    }

    /// Re-reads the key set now; on failure the previous keys stay in force.
    pub async fn refresh(&self) -> Result<(), EdgeError> {
        let verifier = fetch(&self.location, &self.issuer, &self.audience).await?;
        *self.verifier.write().unwrap_or_else(|p| p.into_inner()) = verifier;
        Ok(())
    }

    /// Refreshes every `every` until the returned task is aborted.
    pub fn spawn_refresh(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let keys = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(keys) = keys.upgrade() else { return };
                if let Err(e) = keys.refresh().await {
                    tracing::warn!(error = %e, "JWKS refresh failed; keeping the previous keys");
                }
            }
        })
    }
}

async fn fetch(location: &str, issuer: &str, audience: &str) -> Result<Verifier, JwksError> {
    let text = if location.starts_with("http://") || location.starts_with("https://") {
        let fetch_error = |source| JwksError::Fetch {
            location: location.to_owned(),
            source,
        };
        let response = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map(|c| c.get(location))
            .map_err(fetch_error)?
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(fetch_error)?;
        response.text().await.map_err(fetch_error)?
    } else {
        tokio::fs::read_to_string(location)
            .await
            .map_err(|source| JwksError::Read {
                location: location.to_owned(),
                source,
            })?
    };
    let jwks: JwkSet = serde_json::from_str(&text).map_err(|source| JwksError::Parse {
        location: location.to_owned(),
        source,
    })?;
    Verifier::new(&jwks, issuer, audience).map_err(|source| JwksError::Keys {
        location: location.to_owned(),
        source,
    })
}
