//! [`TokenIssuer`]: signs swarm tokens with the current key, publishes the JWKS, checks
//! publisher API keys.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode};
use meshcdn_tracker::token::{DEFAULT_LEEWAY_SECS, SigningKey, SwarmClaims, TokenError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store::{
    API_KEYS_FILE, ApiKeyEntry, ApiKeyFile, KeyError, KeyFile, SIGNING_KEYS_FILE, decode_seed,
    read_json,
};
use crate::bootstrap::hex;
use crate::config::TokenConfig;

/// Longest content id accepted in a token request.
pub const MAX_CONTENT_ID_LEN: usize = 256;

/// Why a token request was refused. Each maps to one status and a clear message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("missing Authorization header: send `Authorization: Bearer <publisher API key>`")]
    MissingCredentials,
    #[error("malformed Authorization header: expected `Bearer <publisher API key>`")]
    MalformedCredentials,
    #[error("unknown API key")]
    UnknownApiKey,
    #[error("this API key may not issue tokens for content {0:?}")]
    ContentNotAllowed(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("request body not received within {0:?}")]
    BodyTimeout(std::time::Duration),
    #[error("ttl_secs {got} is out of range 1..={max}")]
    BadTtl { got: u64, max: u64 },
    #[error("signing failed")]
    Signing(#[from] TokenError),
}

impl IssueError {
    pub fn status(&self) -> StatusCode {
        match self {
            IssueError::MissingCredentials | IssueError::MalformedCredentials => {
                StatusCode::UNAUTHORIZED
            }
            IssueError::UnknownApiKey | IssueError::ContentNotAllowed(_) => StatusCode::FORBIDDEN,
            IssueError::BadRequest(_) | IssueError::BadTtl { .. } => StatusCode::BAD_REQUEST,
            IssueError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IssueError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            IssueError::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A token and what a caller needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: String,
    pub kid: String,
    pub content: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Signs swarm tokens with the current key and publishes current and previous public keys.
pub struct TokenIssuer {
    pub(super) current: SigningKey,
    pub(super) published: Vec<SigningKey>,
    pub(super) api_keys: Vec<ApiKeyEntry>,
    pub(super) config: TokenConfig,
    /// Shared with the issuers that replace this one on a key reload, so the count survives.
    pub(super) issued: Arc<AtomicU64>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("current", &self.current.kid())
            .field(
                "published",
                &self
                    .published
                    .iter()
                    .map(SigningKey::kid)
                    .collect::<Vec<_>>(),
            )
            .field("api_keys", &self.api_keys.len())
            .finish()
    }
}

impl TokenIssuer {
    /// Issuer from a key directory at `now_secs`: the current key signs; retired keys are
    /// published while tokens they signed may still be valid.
    pub fn load(dir: &Path, config: &TokenConfig, now_secs: u64) -> Result<Self, KeyError> {
        let file: KeyFile = read_json(&dir.join(SIGNING_KEYS_FILE))?;
        let current = file
            .keys
            .iter()
            .rev()
            .find(|k| k.retired_at.is_none())
            .or(file.keys.last())
            .ok_or_else(|| KeyError::NoKey(dir.into()))?;
        let current_key = SigningKey::from_seed(current.kid.clone(), &decode_seed(current)?)?;
        let mut previous = Vec::new();
        for key in file.keys.iter().filter(|k| k.kid != current.kid) {
            let still_needed = key.retired_at.is_some_and(|at| {
                at.saturating_add(config.max_ttl_secs + DEFAULT_LEEWAY_SECS) > now_secs
            });
            if still_needed {
                previous.push(SigningKey::from_seed(key.kid.clone(), &decode_seed(key)?)?);
            }
        }
        let api: ApiKeyFile = read_json(&dir.join(API_KEYS_FILE))?;
        Ok(Self::new(current_key, previous, config.clone()).with_api_keys(api.keys))
    }

    /// Issuer from keys in memory (tests, `meshcdn demo`).
    pub fn new(current: SigningKey, previous: Vec<SigningKey>, config: TokenConfig) -> Self {
        let mut published = vec![current.clone()];
        published.extend(previous);
        Self {
            current,
            published,
            api_keys: Vec::new(),
            config,
            issued: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn with_api_keys(mut self, keys: Vec<ApiKeyEntry>) -> Self {
        self.api_keys = keys;
        self
    }

    pub fn current_kid(&self) -> &str {
        self.current.kid()
    }

    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// Key ids in the JWKS, current first.
    pub fn published_kids(&self) -> Vec<&str> {
        self.published.iter().map(SigningKey::kid).collect()
    }

    /// Publisher API keys loaded.
    pub fn api_key_count(&self) -> usize {
        self.api_keys.len()
    }

    /// Whether `other` signs, publishes and authenticates exactly like this issuer.
    pub(super) fn same_keys(&self, other: &TokenIssuer) -> bool {
        self.published_kids() == other.published_kids() && self.api_keys == other.api_keys
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    fn sign(&self, claims: SwarmClaims) -> Result<IssuedToken, IssueError> {
        let token = self.current.sign(&claims)?;
        self.issued.fetch_add(1, Ordering::Relaxed);
        Ok(IssuedToken {
            token,
            kid: self.current.kid().into(),
            content: claims.cid,
            expires_at: claims.exp,
        })
    }

    fn check_content(content: &str) -> Result<(), IssueError> {
        if content.is_empty()
            || content.len() > MAX_CONTENT_ID_LEN
            || content.chars().any(char::is_control)
        {
            return Err(IssueError::BadRequest(format!(
                "content must be 1..={MAX_CONTENT_ID_LEN} characters without control characters"
            )));
        }
        Ok(())
    }

    /// A token for `content` valid `ttl_secs` from `now_secs`, for one viewer when given.
    pub fn issue(
        &self,
        content: &str,
        ttl_secs: u64,
        viewer: Option<String>,
        now_secs: u64,
    ) -> Result<IssuedToken, IssueError> {
        Self::check_content(content)?;
        if ttl_secs == 0 || ttl_secs > self.config.max_ttl_secs {
            return Err(IssueError::BadTtl {
                got: ttl_secs,
                max: self.config.max_ttl_secs,
            });
        }
        self.sign(SwarmClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            exp: now_secs.saturating_add(ttl_secs),
            nbf: None,
            iat: now_secs,
            cid: content.into(),
            sub: viewer,
        })
    }

    /// The shared token of `content` for the time window containing `now_secs`: identical for
    /// everyone in the window (Ed25519 signatures are deterministic), so manifests stay cacheable.
    pub fn issue_shared(&self, content: &str, now_secs: u64) -> Result<IssuedToken, IssueError> {
        Self::check_content(content)?;
        let window = self.config.window_secs.max(1);
        let start = now_secs - now_secs % window;
        self.sign(SwarmClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            exp: start
                .saturating_add(window)
                .saturating_add(self.config.ttl_secs),
            nbf: None,
            iat: start,
            cid: content.into(),
            sub: None,
        })
    }

    /// The JWKS document: current and still-needed previous public keys.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .published
            .iter()
            .filter_map(|k| serde_json::to_value(k.public_jwk()).ok())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Checks an `Authorization` header value against the stored API key hashes.
    pub fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<&ApiKeyEntry, IssueError> {
        let value = authorization.ok_or(IssueError::MissingCredentials)?;
        let value = value
            .to_str()
            .map_err(|_| IssueError::MalformedCredentials)?;
        let (scheme, key) = value
            .trim()
            .split_once(' ')
            .ok_or(IssueError::MalformedCredentials)?;
        let key = key.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
            return Err(IssueError::MalformedCredentials);
        }
        let presented = hex(&Sha256::digest(key.as_bytes()));
        self.api_keys
            .iter()
            .find(|entry| constant_time_eq(entry.sha256.as_bytes(), presented.as_bytes()))
            .ok_or(IssueError::UnknownApiKey)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
