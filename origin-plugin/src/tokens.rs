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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use meshcdn_tracker::token::{
    DEFAULT_LEEWAY_SECS, SigningKey, SwarmClaims, TokenError, kid_for_seed,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bootstrap::hex;
use crate::config::TokenConfig;

pub const SIGNING_KEYS_FILE: &str = "signing-keys.json";
pub const API_KEYS_FILE: &str = "api-keys.json";
/// Longest content id accepted in a token request.
pub const MAX_CONTENT_ID_LEN: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid key file: {source}")]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no signing key in {0}: run `meshcdn keys generate --out {0}`")]
    NoKey(PathBuf),
    #[error("stored key {kid} is invalid: {reason}")]
    BadKey { kid: String, reason: String },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the OS random number generator failed: {0}")]
    Random(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    kid: String,
    /// base64url of the 32-byte Ed25519 seed.
    seed: String,
    created_at: u64,
    #[serde(default)]
    retired_at: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

/// A publisher API key as stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    pub name: String,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
    /// Content id prefixes this key may issue tokens for; empty means any.
    #[serde(default)]
    pub contents: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyFile {
    keys: Vec<ApiKeyEntry>,
}

fn read_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| KeyError::Format {
            path: path.into(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(KeyError::Io {
            path: path.into(),
            source,
        }),
    }
}

/// Writes via a temporary file and rename, readable by the owner only (it holds secrets).
fn write_secret_json<T: Serialize>(path: &Path, value: &T) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(value).map_err(|source| KeyError::Format {
        path: path.into(),
        source,
    })?;
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates a new signing key in `dir` (created if needed) and makes it current; the previous
/// current key is retired at `now_secs` but kept for the JWKS. Returns the new key id.
pub fn generate_key(dir: &Path, now_secs: u64) -> Result<String, KeyError> {
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.into(),
        source,
    })?;
    let path = dir.join(SIGNING_KEYS_FILE);
    let mut file: KeyFile = read_json(&path)?;
    for key in file.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
        key.retired_at = Some(now_secs);
    }
    let seed = random_bytes::<32>()?;
    let kid = kid_for_seed(&seed)?;
    file.keys.push(StoredKey {
        kid: kid.clone(),
        seed: b64(&seed),
        created_at: now_secs,
        retired_at: None,
    });
    write_secret_json(&path, &file)?;
    Ok(kid)
}

/// Creates a publisher API key for `name`, allowed to issue tokens for content ids starting with
/// one of `contents` (any when empty). Returns the key: it is shown once and stored only hashed.
pub fn add_api_key(dir: &Path, name: &str, contents: Vec<String>) -> Result<String, KeyError> {
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.into(),
        source,
    })?;
    let path = dir.join(API_KEYS_FILE);
    let mut file: ApiKeyFile = read_json(&path)?;
    let key = format!("mcdn_{}", b64(&random_bytes::<32>()?));
    file.keys.push(ApiKeyEntry {
        name: name.into(),
        sha256: hex(&Sha256::digest(key.as_bytes())),
        contents,
    });
    write_secret_json(&path, &file)?;
    Ok(key)
}

fn decode_seed(key: &StoredKey) -> Result<[u8; 32], KeyError> {
    let bad = |reason: String| KeyError::BadKey {
        kid: key.kid.clone(),
        reason,
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&key.seed)
        .map_err(|e| bad(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| bad("seed is not 32 bytes".into()))
}

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
    current: SigningKey,
    published: Vec<SigningKey>,
    api_keys: Vec<ApiKeyEntry>,
    config: TokenConfig,
    /// Shared with the issuers that replace this one on a key reload, so the count survives.
    issued: Arc<AtomicU64>,
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
    fn same_keys(&self, other: &TokenIssuer) -> bool {
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

/// Body of `POST /v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub content: String,
    /// Defaults to `tokens.ttl_secs`.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// Viewer id (`sub`) for per-viewer tokens.
    #[serde(default)]
    pub viewer: Option<String>,
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn error_response(e: &IssueError) -> Response {
    let mut response = (
        e.status(),
        axum::Json(serde_json::json!({ "error": e.to_string() })),
    )
        .into_response();
    if e.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

async fn post_token(
    State(shared): State<SharedIssuer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = shared.current();
    let result = (|| {
        let entry = issuer.authenticate(headers.get(header::AUTHORIZATION))?;
        let request: TokenRequest =
            serde_json::from_slice(&body).map_err(|e| IssueError::BadRequest(e.to_string()))?;
        if !entry.contents.is_empty()
            && !entry
                .contents
                .iter()
                .any(|p| request.content.starts_with(p.as_str()))
        {
            return Err(IssueError::ContentNotAllowed(request.content));
        }
        let ttl = request.ttl_secs.unwrap_or(issuer.config.ttl_secs);
        let token = issuer.issue(&request.content, ttl, request.viewer, now_secs())?;
        tracing::info!(api_key = %entry.name, content = %token.content, kid = %token.kid, "issued swarm token");
        Ok(token)
    })();
    match result {
        Ok(token) => {
            let mut response = axum::Json(token).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::info!(error = %e, "token request refused");
            error_response(&e)
        }
    }
}

async fn get_jwks(State(shared): State<SharedIssuer>) -> Response {
    let mut response = axum::Json(shared.current().jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// `POST /v1/tokens` and `GET /.well-known/jwks.json`, to merge into any axum app. Both follow
/// the [`SharedIssuer`]'s current keys.
pub fn token_routes(issuer: impl Into<SharedIssuer>) -> Router {
    Router::new()
        .route("/v1/tokens", post(post_token))
        .route("/.well-known/jwks.json", get(get_jwks))
        .with_state(issuer.into())
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use meshcdn_tracker::token::{Verifier, swarm_id};

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn generated_keys_sign_tokens_the_tracker_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let kid = generate_key(dir.path(), NOW).unwrap();
        let issuer = TokenIssuer::load(dir.path(), &TokenConfig::default(), NOW).unwrap();
        assert_eq!(issuer.current_kid(), kid);
        let t = issuer.issue("vod/a", 600, None, NOW).unwrap();
        let verifier = Verifier::from_jwks_json(&issuer.jwks().to_string()).unwrap();
        let claims = verifier.verify(&t.token, NOW * 1000).unwrap();
        assert_eq!(claims.cid, "vod/a");
        assert_eq!(
            claims
                .grant()
                .admits(&swarm_id("vod/a", "360p/index.m3u8"), NOW * 1000),
            Ok(())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(SIGNING_KEYS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rotation_keeps_the_previous_key_until_its_tokens_expire() {
        let dir = tempfile::tempdir().unwrap();
        let config = TokenConfig {
            max_ttl_secs: 3600,
            ..TokenConfig::default()
        };
        generate_key(dir.path(), NOW).unwrap();
        let old = TokenIssuer::load(dir.path(), &config, NOW).unwrap();
        let old_token = old.issue("c", 3600, None, NOW).unwrap();
        let new_kid = generate_key(dir.path(), NOW + 10).unwrap();
        let new = TokenIssuer::load(dir.path(), &config, NOW + 10).unwrap();
        assert_eq!(new.current_kid(), new_kid);
        let verifier = Verifier::from_jwks_json(&new.jwks().to_string()).unwrap();
        assert!(
            verifier.verify(&old_token.token, (NOW + 20) * 1000).is_ok(),
            "old key still published"
        );
        assert!(
            verifier
                .verify(
                    &new.issue("c", 60, None, NOW + 10).unwrap().token,
                    (NOW + 20) * 1000
                )
                .is_ok()
        );
        // After max_ttl (+ leeway) the retired key leaves the JWKS.
        let later = TokenIssuer::load(
            dir.path(),
            &config,
            NOW + 10 + 3600 + DEFAULT_LEEWAY_SECS + 1,
        )
        .unwrap();
        assert_eq!(later.jwks()["keys"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn shared_tokens_are_identical_within_a_window() {
        let key = SigningKey::from_seed("k", &[1; 32]).unwrap();
        let issuer = TokenIssuer::new(
            key,
            vec![],
            TokenConfig {
                window_secs: 300,
                ttl_secs: 600,
                ..TokenConfig::default()
            },
        );
        let a = issuer.issue_shared("c", NOW).unwrap();
        let b = issuer.issue_shared("c", NOW + 299 - NOW % 300).unwrap();
        let c = issuer.issue_shared("c", NOW + 300 - NOW % 300).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.token, c.token);
        assert_eq!(a.expires_at, NOW - NOW % 300 + 900);
        assert_eq!(issuer.issued(), 3);
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            TokenIssuer::load(dir.path(), &TokenConfig::default(), NOW),
            Err(KeyError::NoKey(_))
        ));
        std::fs::write(dir.path().join(SIGNING_KEYS_FILE), "{not json").unwrap();
        assert!(matches!(
            generate_key(dir.path(), NOW),
            Err(KeyError::Format { .. })
        ));
        std::fs::write(
            dir.path().join(SIGNING_KEYS_FILE),
            r#"{"keys":[{"kid":"k","seed":"AAAA","created_at":1}]}"#,
        )
        .unwrap();
        assert!(matches!(
            TokenIssuer::load(dir.path(), &TokenConfig::default(), NOW),
            Err(KeyError::BadKey { .. })
        ));
        let issuer = TokenIssuer::new(
            SigningKey::from_seed("k", &[1; 32]).unwrap(),
            vec![],
            TokenConfig::default(),
        );
        assert!(matches!(
            issuer.issue("", 60, None, NOW),
            Err(IssueError::BadRequest(_))
        ));
        assert!(matches!(
            issuer.issue("c", 0, None, NOW),
            Err(IssueError::BadTtl { .. })
        ));
        assert!(matches!(
            issuer.issue("c", 10_000_000, None, NOW),
            Err(IssueError::BadTtl { .. })
        ));
    }

    #[test]
    fn shared_issuer_swaps_only_when_the_keys_change() {
        let dir = tempfile::tempdir().unwrap();
        let config = TokenConfig::default();
        let first = generate_key(dir.path(), NOW).unwrap();
        let shared = SharedIssuer::from(TokenIssuer::load(dir.path(), &config, NOW).unwrap());
        shared.current().issue("c", 60, None, NOW).unwrap();
        assert!(
            !shared.reload(dir.path(), &config, NOW).unwrap(),
            "unchanged directory: no swap"
        );
        let second = generate_key(dir.path(), NOW + 1).unwrap();
        assert!(shared.reload(dir.path(), &config, NOW + 1).unwrap());
        assert_eq!(shared.current().current_kid(), second);
        assert_eq!(
            shared.current().published_kids(),
            [second.as_str(), first.as_str()]
        );
        assert_eq!(shared.current().issued(), 1, "the count survives the swap");
        add_api_key(dir.path(), "p", vec![]).unwrap();
        assert!(
            shared.reload(dir.path(), &config, NOW + 2).unwrap(),
            "a new API key is a change"
        );
        assert_eq!(shared.current().api_key_count(), 1);
        std::fs::write(dir.path().join(SIGNING_KEYS_FILE), "{half written").unwrap();
        assert!(matches!(
            shared.reload(dir.path(), &config, NOW + 3),
            Err(KeyError::Format { .. })
        ));
        assert_eq!(
            shared.current().current_kid(),
            second,
            "a bad file keeps the current keys"
        );
    }

    #[test]
    fn api_keys_are_stored_hashed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        generate_key(dir.path(), NOW).unwrap();
        let key = add_api_key(dir.path(), "dash", vec!["vod/".into()]).unwrap();
        let stored = std::fs::read_to_string(dir.path().join(API_KEYS_FILE)).unwrap();
        assert!(!stored.contains(&key), "the plain key is never stored");
        let issuer = TokenIssuer::load(dir.path(), &TokenConfig::default(), NOW).unwrap();
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert_eq!(
            issuer
                .authenticate(Some(&header(&format!("Bearer {key}"))))
                .unwrap()
                .name,
            "dash"
        );
        assert_eq!(
            issuer.authenticate(None),
            Err(IssueError::MissingCredentials)
        );
        assert_eq!(
            issuer.authenticate(Some(&header(&key))),
            Err(IssueError::MalformedCredentials)
        );
        assert_eq!(
            issuer.authenticate(Some(&header("Basic abc"))),
            Err(IssueError::MalformedCredentials)
        );
        assert_eq!(
            issuer.authenticate(Some(&header("Bearer nope"))),
            Err(IssueError::UnknownApiKey)
        );
    }
}
