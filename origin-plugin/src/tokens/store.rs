//! The key directory on disk: signing keys (`signing-keys.json`) and publisher API key hashes
//! (`api-keys.json`), both written owner-only via a temporary file and a rename.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use meshcdn_tracker::token::{TokenError, kid_for_seed};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bootstrap::hex;

pub const SIGNING_KEYS_FILE: &str = "signing-keys.json";
pub const API_KEYS_FILE: &str = "api-keys.json";

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
pub(super) struct StoredKey {
    pub(super) kid: String,
    /// base64url of the 32-byte Ed25519 seed.
    pub(super) seed: String,
    pub(super) created_at: u64,
    #[serde(default)]
    pub(super) retired_at: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyFile {
    pub(super) keys: Vec<StoredKey>,
}

/// A publisher API key as stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    pub name: String,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
    /// Content id prefixes this key may issue tokens for, matched by whole path segments
    /// (`live/channel1` covers `live/channel1` and `live/channel1/hd`, not `live/channel10`);
    /// empty means any.
    #[serde(default)]
    pub contents: Vec<String>,
}

impl ApiKeyEntry {
    /// Whether this key may issue tokens for `content`.
    pub fn allows(&self, content: &str) -> bool {
        self.contents.is_empty()
            || self.contents.iter().any(|prefix| {
                let prefix = prefix.trim_end_matches('/');
                prefix.is_empty()
                    || content
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiKeyFile {
    pub(super) keys: Vec<ApiKeyEntry>,
}

pub(super) fn read_json<T: for<'de> Deserialize<'de> + Default>(
    path: &Path,
) -> Result<T, KeyError> {
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

pub(super) fn decode_seed(key: &StoredKey) -> Result<[u8; 32], KeyError> {
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
