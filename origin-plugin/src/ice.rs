//! ICE servers for viewers: the `[ice]` config section (STUN URLs, TURN servers with a coturn
//! `static-auth-secret`) and the `ice` list of the bootstrap, with short-lived TURN credentials
//! minted per swarm token in the TURN REST API form coturn implements (`use-auth-secret`):
//!
//! - username = `<expiry, Unix seconds>:<id>`
//! - password = base64(HMAC-SHA1(secret, username)) (standard alphabet, padded)
//!
//! coturn accepts such a username until the expiry in it, so a credential lives exactly as long as
//! the swarm token it was minted with (same expiry), and a shared-scope manifest (one token per
//! window) carries one credential per window: every viewer of the window gets the same bytes.

use std::path::PathBuf;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::bootstrap::hex;
use crate::config::{ConfigError, TokenConfig};
use crate::tokens::IssuedToken;

/// `[ice]`: what viewers use to find each other across NATs. Without the section the bootstrap
/// carries no `ice` list and the client uses its built-in default (a public STUN server, see
/// docs/client.md); an empty section sends an empty list (no STUN/TURN: one network only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct IceConfig {
    /// STUN URLs, e.g. `stun:turn.example.com:3478`.
    pub stun: Vec<String>,
    /// TURN servers; each gets credentials minted per swarm token.
    pub turn: Vec<TurnConfig>,
}

/// One TURN server (or a group of URLs sharing a secret, e.g. UDP, TCP and TLS of one coturn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnConfig {
    /// `turn:` / `turns:` URLs, e.g. `turn:turn.example.com:3478?transport=udp`,
    /// `turns:turn.example.com:5349?transport=tcp`.
    pub urls: Vec<String>,
    /// The coturn `static-auth-secret`, inline. Exactly one of `secret` / `secret_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// A file holding the secret (surrounding white space ignored), read at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
}

/// One entry of the bootstrap's `ice` list: the shape of WebRTC's `RTCIceServer`, so the client
/// hands it to `RTCPeerConnection` as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

fn check_urls(urls: &[String], schemes: &[&str], what: &str) -> Result<(), ConfigError> {
    if urls.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{what}: needs at least one URL"
        )));
    }
    for u in urls {
        // `stun:host:port` has no `//`, so url::Url parses it as an opaque path: check by hand.
        let (scheme, rest) = u.split_once(':').unwrap_or(("", ""));
        let host = rest.split('?').next().unwrap_or_default();
        if !schemes.contains(&scheme)
            || host.is_empty()
            || host.starts_with("//")
            || host.contains(char::is_whitespace)
        {
            return Err(ConfigError::Invalid(format!(
                "{what}: {u:?} is not a {} URL (e.g. {}:turn.example.com:3478)",
                schemes.join("/"),
                schemes[0]
            )));
        }
    }
    Ok(())
}

impl TurnConfig {
    /// The shared secret: inline or read from `secret_file`.
    pub fn read_secret(&self) -> Result<String, ConfigError> {
        let secret = match (&self.secret, &self.secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| {
                    ConfigError::Invalid(format!("ice.turn secret_file {}: {e}", path.display()))
                })?
                .trim()
                .to_string(),
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "ice.turn {:?}: set exactly one of `secret` and `secret_file`",
                    self.urls
                )));
            }
        };
        if secret.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "ice.turn {:?}: the secret is empty",
                self.urls
            )));
        }
        Ok(secret)
    }
}

impl IceConfig {
    /// Checks URL schemes and that every TURN server has a readable, non-empty secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.stun.is_empty() {
            check_urls(&self.stun, &["stun", "stuns"], "ice.stun")?;
        }
        for t in &self.turn {
            check_urls(&t.urls, &["turn", "turns"], "ice.turn urls")?;
            t.read_secret()?;
        }
        Ok(())
    }
}

/// The TURN REST API credential (coturn `use-auth-secret`) for `id`, valid until `expires_at`
/// (Unix seconds): `(username, password)`.
pub fn turn_rest_credential(secret: &str, expires_at: u64, id: &str) -> (String, String) {
    let username = format!("{expires_at}:{id}");
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// The `<id>` part of a TURN username: 16 hex of a SHA-256 of the swarm token (one id per token:
/// per viewer in per-viewer scope, shared by a window's viewers in shared scope), or of the
/// content id in open mode. Never holds the `:` separator, nor the token or viewer id in the clear.
pub fn turn_user_id(content: &str, token: Option<&str>) -> String {
    let mut h = Sha256::new();
    match token {
        Some(t) => {
            h.update(b"meshcdn/turn/token\0");
            h.update(t.as_bytes());
        }
        None => {
            h.update(b"meshcdn/turn/content\0");
            h.update(content.as_bytes());
        }
    }
    hex(&h.finalize()[..8])
}

/// The bootstrap's `ice` list and the longest time caches may keep the manifest carrying it.
///
/// Credentials expire with `token`; in open mode (no token) with the window a shared token would
/// have (`tokens.window_secs` + `tokens.ttl_secs`), so manifests stay identical within a window.
/// When TURN credentials are in it, a cached copy must still leave a viewer at least half of
/// `tokens.ttl_secs`, so the cache lifetime is capped to `expiry - now - ttl_secs / 2`.
pub fn bootstrap_ice(
    servers: Option<&IceServers>,
    tokens: &TokenConfig,
    content: &str,
    token: Option<&IssuedToken>,
    now_secs: u64,
) -> (Option<Vec<IceServer>>, Option<u64>) {
    let Some(servers) = servers else {
        return (None, None);
    };
    let expires_at = token.map(|t| t.expires_at).unwrap_or_else(|| {
        let window = tokens.window_secs.max(1);
        (now_secs - now_secs % window)
            .saturating_add(window)
            .saturating_add(tokens.ttl_secs)
    });
    let list = servers.for_token(content, token.map(|t| t.token.as_str()), expires_at);
    let cap = servers.has_turn().then(|| {
        expires_at
            .saturating_sub(now_secs)
            .saturating_sub(tokens.ttl_secs / 2)
    });
    (Some(list), cap)
}

/// The configured servers with their secrets loaded: mints the bootstrap's `ice` list.
#[derive(Clone, Default)]
pub struct IceServers {
    stun: Vec<String>,
    turn: Vec<(Vec<String>, String)>,
}

impl std::fmt::Debug for IceServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("IceServers")
            .field("stun", &self.stun)
            .field(
                "turn",
                &self.turn.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl IceServers {
    /// Loads secrets. A TURN server whose secret cannot be read is left out with a warning
    /// (viewers still get STUN and HTTP; the config check at start reports it as an error).
    pub fn from_config(config: &IceConfig) -> Self {
        let turn = config
            .turn
            .iter()
            .filter_map(|t| match t.read_secret() {
                Ok(secret) => Some((t.urls.clone(), secret)),
                Err(e) => {
                    tracing::warn!(error = %e, "TURN server left out of the bootstrap");
                    None
                }
            })
            .collect();
        Self {
            stun: config.stun.clone(),
            turn,
        }
    }

    /// The `ice` list for `token` (of `content`; `None` in open mode) expiring at `expires_at`.
    pub fn for_token(&self, content: &str, token: Option<&str>, expires_at: u64) -> Vec<IceServer> {
        let mut out = Vec::with_capacity(1 + self.turn.len());
        if !self.stun.is_empty() {
            out.push(IceServer {
                urls: self.stun.clone(),
                username: None,
                credential: None,
            });
        }
        let id = turn_user_id(content, token);
        for (urls, secret) in &self.turn {
            let (username, credential) = turn_rest_credential(secret, expires_at, &id);
            out.push(IceServer {
                urls: urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        out
    }

    /// Whether any credential is minted (then cached manifests must not outlive it).
    pub fn has_turn(&self) -> bool {
        !self.turn.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_api_form() {
        // Known answer, computed independently with OpenSSL:
        //   printf "1700000000:alice" | openssl dgst -sha1 -hmac north -binary | base64
        let (user, pass) = turn_rest_credential("north", 1_700_000_000, "alice");
        assert_eq!(user, "1700000000:alice");
        assert_eq!(pass, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
        // The HMAC covers the whole username: another expiry or id is another password.
        assert_ne!(
            turn_rest_credential("north", 1_700_000_001, "alice").1,
            pass
        );
        assert_ne!(
            turn_rest_credential("south", 1_700_000_000, "alice").1,
            pass
        );
    }

    #[test]
    fn user_ids_are_short_hex_and_one_per_token() {
        let open = turn_user_id("vod/a", None);
        assert_eq!(open.len(), 16);
        assert!(open.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            open,
            turn_user_id("vod/a", None),
            "deterministic: cacheable manifests"
        );
        assert_ne!(open, turn_user_id("vod/b", None));
        let t1 = turn_user_id("vod/a", Some("jwt.one"));
        assert_ne!(t1, open);
        assert_eq!(t1, turn_user_id("vod/a", Some("jwt.one")));
        assert_ne!(t1, turn_user_id("vod/a", Some("jwt.two")));
    }

    #[test]
    fn credentials_expire_with_the_token_and_cap_the_cache_lifetime() {
        let tokens = TokenConfig {
            window_secs: 300,
            ttl_secs: 600,
            ..TokenConfig::default()
        };
        let config = IceConfig {
            stun: vec![],
            turn: vec![TurnConfig {
                urls: vec!["turn:t:3478".into()],
                secret: Some("x".into()),
                secret_file: None,
            }],
        };
        let servers = IceServers::from_config(&config);
        let now = 1_800_000_100; // 100 s into a window
        let token = IssuedToken {
            token: "jwt".into(),
            kid: "k".into(),
            content: "c".into(),
            expires_at: now + 800,
        };
        let (list, cap) = bootstrap_ice(Some(&servers), &tokens, "c", Some(&token), now);
        let user = list.unwrap()[0].username.clone().unwrap();
        assert_eq!(
            user,
            format!("{}:{}", now + 800, turn_user_id("c", Some("jwt")))
        );
        assert_eq!(
            cap,
            Some(800 - 300),
            "a cached copy leaves a viewer half the ttl"
        );
        // Open mode: the shared window's expiry, the same for the whole window.
        let (a, _) = bootstrap_ice(Some(&servers), &tokens, "c", None, now);
        let (b, _) = bootstrap_ice(Some(&servers), &tokens, "c", None, now + 199);
        assert_eq!(a, b);
        assert!(
            a.unwrap()[0]
                .username
                .as_ref()
                .unwrap()
                .starts_with(&format!("{}:", 1_800_000_000 + 300 + 600))
        );
        // STUN only: nothing expires, no cap. No [ice]: no list at all.
        let stun = IceServers::from_config(&IceConfig {
            stun: vec!["stun:s:3478".into()],
            turn: vec![],
        });
        assert_eq!(bootstrap_ice(Some(&stun), &tokens, "c", None, now).1, None);
        assert_eq!(
            bootstrap_ice(None, &tokens, "c", Some(&token), now),
            (None, None)
        );
    }

    #[test]
    fn servers_carry_stun_then_turn_with_minted_credentials() {
        let config: IceConfig = toml::from_str(
            r#"
            stun = ["stun:turn.example.com:3478"]
            [[turn]]
            urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"]
            secret = "s3cret"
            "#,
        )
        .unwrap();
        config.validate().unwrap();
        let servers = IceServers::from_config(&config);
        assert!(servers.has_turn());
        let list = servers.for_token("vod/a", None, 1_800_000_900);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].urls, ["stun:turn.example.com:3478"]);
        assert_eq!(list[0].username, None);
        let id = turn_user_id("vod/a", None);
        assert_eq!(
            list[1].username.as_deref(),
            Some(format!("1800000900:{id}").as_str())
        );
        assert_eq!(
            list[1].credential,
            Some(turn_rest_credential("s3cret", 1_800_000_900, &id).1)
        );
        assert!(
            !format!("{servers:?}").contains("s3cret"),
            "Debug hides secrets"
        );
        assert!(
            IceServers::from_config(&IceConfig::default())
                .for_token("c", None, 1)
                .is_empty()
        );
    }

    #[test]
    fn bad_ice_config_is_a_clear_error() {
        let bad = |text: &str| {
            let c: IceConfig = toml::from_str(text).unwrap();
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(r#"stun = ["http://x"]"#).contains("stun"));
        assert!(bad(r#"stun = ["stun:"]"#).contains("not a stun"));
        assert!(bad("[[turn]]\nurls = [\"turn:t:3478\"]\n").contains("exactly one"));
        assert!(bad("[[turn]]\nurls = [\"turn:t:3478\"]\nsecret = \"\"\n").contains("empty"));
        assert!(bad("[[turn]]\nurls = [\"stun:t:3478\"]\nsecret = \"x\"\n").contains("turn"));
        assert!(bad("[[turn]]\nurls = []\nsecret = \"x\"\n").contains("at least one"));
        assert!(
            bad("[[turn]]\nurls = [\"turn:t\"]\nsecret_file = \"/nonexistent/secret\"\n")
                .contains("/nonexistent/secret")
        );
        assert!(
            toml::from_str::<IceConfig>("stunn = []").is_err(),
            "unknown keys"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "  from-file\n").unwrap();
        let c = IceConfig {
            stun: vec![],
            turn: vec![TurnConfig {
                urls: vec!["turn:t:3478".into()],
                secret: None,
                secret_file: Some(file),
            }],
        };
        c.validate().unwrap();
        assert_eq!(c.turn[0].read_secret().unwrap(), "from-file");
    }
}
