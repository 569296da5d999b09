//! Token verification at the WebSocket upgrade: JWKS from a file or an http(s) URL, re-read
//! periodically so key rotation needs no restart, and at once (rate-limited) for a token whose
//! `kid` is unknown. A fetched document is bounded (`auth.jwks_max_bytes`), redirects stay on
//! the URL's origin, and plain http needs `auth.allow_insecure_jwks`. Signature, `kid`, `iss`, `aud` and time are
//! checked here; the tracker checks the token's swarm scope on every announce.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use meshcdn_tracker::Admission;
use meshcdn_tracker::token::{SwarmClaims, TokenError, Verifier};

use crate::bounded::{BoundedBuf, TooLarge};
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

    /// `token` is the `?token=` query value. A token signed with a key the host does not know
    /// makes it re-read the key set first (see [`KeySource::verify_or_refetch`]).
    pub async fn admit(&self, token: Option<&str>, now_ms: u64) -> Result<Admission, TokenError> {
        match self {
            Gate::Open => Ok(Admission::Open),
            Gate::Tokens(keys) => {
                let token = token
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| TokenError::Malformed("no token".into()))?;
                let claims = keys.verify_or_refetch(token, now_ms).await?;
                Ok(Admission::Token(claims.grant()))
            }
        }
    }
}

/// The current verifier and where its keys come from.
pub struct KeySource {
    location: String,
    issuer: String,
    audience: String,
    /// How the document may be fetched (size, scheme).
    policy: FetchPolicy,
    verifier: RwLock<Verifier>,
    /// Re-reads for an unknown `kid`: one at a time, at most one per `refetch_every`; holds
    /// when the last one started.
    refetch: tokio::sync::Mutex<Option<Instant>>,
    refetch_every: Duration,
}

/// Bounds on fetching a JWKS document.
#[derive(Debug, Clone, Copy)]
struct FetchPolicy {
    max_bytes: usize,
    allow_insecure: bool,
}

impl KeySource {
    /// Loads the key set once (failing start-up if it is unavailable).
    pub async fn load(config: &AuthConfig) -> Result<Arc<Self>, EdgeError> {
        let location = config.jwks.clone().ok_or(JwksError::NotConfigured)?;
        let policy = FetchPolicy {
            max_bytes: config.jwks_max_bytes,
            allow_insecure: config.allow_insecure_jwks,
        };
        let verifier = fetch(&location, policy, &config.issuer, &config.audience).await?;
        Ok(Arc::new(Self {
            location,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            policy,
            verifier: RwLock::new(verifier),
            refetch: tokio::sync::Mutex::new(None),
            refetch_every: Duration::from_secs(config.jwks_refetch_secs),
        }))
    }

    /// Re-reads the key set now; on failure the previous keys stay in force.
    pub async fn refresh(&self) -> Result<(), EdgeError> {
        let verifier = fetch(&self.location, self.policy, &self.issuer, &self.audience).await?;
        *self.verifier.write().unwrap_or_else(|p| p.into_inner()) = verifier;
        Ok(())
    }

    fn verify(&self, token: &str, now_ms: u64) -> Result<SwarmClaims, TokenError> {
        let verifier = self
            .verifier
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        verifier.verify(token, now_ms)
    }

    /// Verifies `token`; if its `kid` is unknown (a key rotated in since the last refresh), the
    /// key set is re-read and the token checked again. Re-reads happen one at a time and at most
    /// once per `auth.jwks_refetch_secs`: a burst of tokens with made-up `kid`s costs the key
    /// server one request per interval, and a token arriving while a re-read runs waits for it.
    pub async fn verify_or_refetch(
        &self,
        token: &str,
        now_ms: u64,
    ) -> Result<SwarmClaims, TokenError> {
        let first = self.verify(token, now_ms);
        if !matches!(first, Err(TokenError::UnknownKid(_))) {
            return first;
        }
        let mut last = self.refetch.lock().await;
        // Another request may have re-read the keys while this one waited.
        let again = self.verify(token, now_ms);
        if !matches!(again, Err(TokenError::UnknownKid(_)))
            || last.is_some_and(|t| t.elapsed() < self.refetch_every)
        {
            return again;
        }
        *last = Some(Instant::now());
        tracing::info!(location = %self.location, "token with an unknown kid: re-reading the key set");
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "JWKS re-read failed; keeping the previous keys");
        }
        self.verify(token, now_ms)
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

async fn fetch(
    location: &str,
    policy: FetchPolicy,
    issuer: &str,
    audience: &str,
) -> Result<Verifier, JwksError> {
    let bytes = if location.starts_with("http://") || location.starts_with("https://") {
        fetch_url(location, policy).await?
    } else {
        read_file(location, policy.max_bytes).await?
    };
    let jwks: JwkSet = serde_json::from_slice(&bytes).map_err(|source| JwksError::Parse {
        location: location.to_owned(),
        source,
    })?;
    Verifier::new(&jwks, issuer, audience).map_err(|source| JwksError::Keys {
        location: location.to_owned(),
        source,
    })
}

/// A redirect of the JWKS URL that leaves its origin (scheme, host, port), or goes to http
/// without `auth.allow_insecure_jwks`.
#[derive(Debug, thiserror::Error)]
#[error("redirect to another host or to plain http refused: {to}")]
pub struct RedirectRefused {
    pub to: String,
}

/// At most this many redirects, all within the URL's origin.
const MAX_REDIRECTS: usize = 5;

async fn fetch_url(location: &str, policy: FetchPolicy) -> Result<Vec<u8>, JwksError> {
    let fetch_error = |source| JwksError::Fetch {
        location: location.to_owned(),
        source,
    };
    let too_large = |e: TooLarge| JwksError::TooLarge {
        location: location.to_owned(),
        limit: e.limit,
    };
    if location.starts_with("http://") && !policy.allow_insecure {
        return Err(JwksError::Insecure {
            location: location.to_owned(),
        });
    }
    let origin = reqwest::Url::parse(location)
        .map(|u| u.origin())
        .map_err(|e| JwksError::BadUrl {
            location: location.to_owned(),
            reason: e.to_string(),
        })?;
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        let to = attempt.url();
        let secure = to.scheme() == "https" || policy.allow_insecure;
        if to.origin() != origin || !secure {
            let to = to.to_string();
            attempt.error(RedirectRefused { to })
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    });
    let mut response = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(redirects)
        .build()
        .map(|c| c.get(location))
        .map_err(fetch_error)?
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(fetch_error)?;
    let mut body = BoundedBuf::new(policy.max_bytes);
    body.expect(response.content_length()).map_err(too_large)?;
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        body.push(&chunk).map_err(too_large)?;
    }
    Ok(body.into_inner())
}

async fn read_file(location: &str, max_bytes: usize) -> Result<Vec<u8>, JwksError> {
    let read_error = |source| JwksError::Read {
        location: location.to_owned(),
        source,
    };
    let file = tokio::fs::File::open(location).await.map_err(read_error)?;
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    tokio::io::AsyncReadExt::read_to_end(
        &mut tokio::io::AsyncReadExt::take(file, max_bytes as u64 + 1),
        &mut bytes,
    )
    .await
    .map_err(read_error)?;
    if bytes.len() > max_bytes {
        return Err(JwksError::TooLarge {
            location: location.to_owned(),
            limit: max_bytes,
        });
    }
    Ok(bytes)
}
