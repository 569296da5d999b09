//! Swarm tokens: Ed25519-signed JWTs that admit a viewer to the swarms of one content.
//!
//! A token carries `cid` (content id). Swarm ids are derived so that the tracker can check the
//! binding without any extra field on the wire: the first [`CONTENT_PREFIX_LEN`] bytes of every
//! rendition's `info_hash` are a hash of the content id alone (see [`swarm_id`]). A token for
//! content A therefore admits every rendition of A and nothing of B, and plain WebTorrent clients
//! (which only know `info_hash`) still work.
//!
//! Expiry is checked against the caller's `now_ms`, never the system clock: jsonwebtoken's own
//! time checks are switched off and done here.
//!
//! This module is the one definition of the claims: the origin plugin issues with
//! [`SigningKey`], the edge host and the tracker verify with [`Verifier`] and [`SwarmGrant`].

use std::collections::HashMap;

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::InfoHash;

/// Bytes of an `info_hash` that identify the content (the rest identify the rendition).
pub const CONTENT_PREFIX_LEN: usize = 12;
/// Default `iss` of meshcdn tokens.
pub const DEFAULT_ISSUER: &str = "meshcdn";
/// Default `aud` of meshcdn tokens.
pub const DEFAULT_AUDIENCE: &str = "meshcdn-tracker";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// The claims of a swarm token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmClaims {
    pub iss: String,
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Not valid before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Content id: the token admits the swarms of all renditions of this content.
    pub cid: String,
    /// Viewer id, for per-viewer tokens; absent for shared (per content and time window) tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl SwarmClaims {
    /// What a tracker needs to keep of a verified token.
    pub fn grant(&self) -> SwarmGrant {
        SwarmGrant {
            content_prefix: content_prefix(&self.cid),
            not_before_ms: self.nbf.unwrap_or(0).saturating_mul(1000),
            expires_at_ms: self.exp.saturating_mul(1000),
        }
    }
}

/// Why a token or an announce under it was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed: {0}")]
    Malformed(String),
    #[error("token has no key id (kid)")]
    MissingKid,
    #[error("token key id {0:?} is not in the key set")]
    UnknownKid(String),
    #[error("token signature or claims are invalid: {0}")]
    Invalid(String),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token does not admit this swarm")]
    WrongSwarm,
    #[error("key set is invalid: {0}")]
    KeySet(String),
}

/// The 12-byte content part of every swarm id of `content_id`.
pub fn content_prefix(content_id: &str) -> [u8; CONTENT_PREFIX_LEN] {
    let digest = Sha256::new()
        .chain_update(b"meshcdn/content\0")
        .chain_update(content_id.as_bytes())
        .finalize();
    let mut prefix = [0u8; CONTENT_PREFIX_LEN];
    prefix.copy_from_slice(&digest[..CONTENT_PREFIX_LEN]);
    prefix
}

/// The swarm id (`info_hash`) of one rendition of one content.
pub fn swarm_id(content_id: &str, rendition: &str) -> InfoHash {
    let tail = Sha256::new()
        .chain_update(b"meshcdn/rendition\0")
        .chain_update(content_id.as_bytes())
        .chain_update(b"\0")
        .chain_update(rendition.as_bytes())
        .finalize();
    let mut id = [0u8; 20];
    id[..CONTENT_PREFIX_LEN].copy_from_slice(&content_prefix(content_id));
    id[CONTENT_PREFIX_LEN..].copy_from_slice(&tail[..20 - CONTENT_PREFIX_LEN]);
    InfoHash(id)
}

/// What the tracker keeps per connection of a verified token: small and clock-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmGrant {
    pub content_prefix: [u8; CONTENT_PREFIX_LEN],
    /// Unix milliseconds.
    pub not_before_ms: u64,
    /// Unix milliseconds.
    pub expires_at_ms: u64,
}

impl SwarmGrant {
    /// May this connection announce to `info_hash` at `now_ms`?
    pub fn admits(&self, info_hash: &InfoHash, now_ms: u64) -> Result<(), TokenError> {
        let leeway_ms = DEFAULT_LEEWAY_SECS * 1000;
        if now_ms >= self.expires_at_ms.saturating_add(leeway_ms) {
            return Err(TokenError::Expired);
        }
        if now_ms.saturating_add(leeway_ms) < self.not_before_ms {
            return Err(TokenError::NotYetValid);
        }
        if info_hash.0[..CONTENT_PREFIX_LEN] != self.content_prefix {
            return Err(TokenError::WrongSwarm);
        }
        Ok(())
    }
}

/// Verifies swarm tokens against a key set (current and previous keys, by `kid`).
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    leeway_secs: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// A verifier for tokens of `issuer` meant for `audience`, with the Ed25519 keys of `jwks`.
    pub fn new(jwks: &JwkSet, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| TokenError::KeySet("a key has no kid".into()))?;
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| TokenError::KeySet(format!("key {kid}: {e}")))?;
            keys.insert(kid, key);
        }
        if keys.is_empty() {
            return Err(TokenError::KeySet("no keys".into()));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Time is checked by us against the caller's clock, not jsonwebtoken's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Ok(Self {
            keys,
            validation,
            leeway_secs: DEFAULT_LEEWAY_SECS,
        })
    }

    /// A verifier from a JWKS document (`/.well-known/jwks.json`) with the default issuer and audience.
    pub fn from_jwks_json(json: &str) -> Result<Self, TokenError> {
        let jwks: JwkSet =
            serde_json::from_str(json).map_err(|e| TokenError::KeySet(e.to_string()))?;
        Self::new(&jwks, DEFAULT_ISSUER, DEFAULT_AUDIENCE)
    }

    /// Checks signature, `kid`, `iss`, `aud`, `exp` and `nbf` (with leeway) at `now_ms`.
    /// Number of verification keys (key ids) loaded.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn verify(&self, token: &str, now_ms: u64) -> Result<SwarmClaims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        let kid = header.kid.ok_or(TokenError::MissingKid)?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| TokenError::UnknownKid(kid.clone()))?;
        let data = jsonwebtoken::decode::<SwarmClaims>(token, key, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let now = now_ms / 1000;
        if now >= claims.exp.saturating_add(self.leeway_secs) {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = claims.nbf
            && now.saturating_add(self.leeway_secs) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

/// An Ed25519 signing key with its key id. The seed comes from the caller (no randomness here).
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public_jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// PKCS#8 v1 DER header of an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    pub fn from_seed(kid: impl Into<String>, seed: &[u8; 32]) -> Result<Self, TokenError> {
        let kid = kid.into();
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(seed);
        let encoding = EncodingKey::from_ed_der(&der);
        let mut public_jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)
            .map_err(|e| TokenError::KeySet(e.to_string()))?;
        public_jwk.common.key_id = Some(kid.clone());
        Ok(Self {
            kid,
            encoding,
            public_jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, as published in the JWKS.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }

    pub fn sign(&self, claims: &SwarmClaims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }
}

/// Derives a short key id from the public key (stable, so rotation can tell keys apart).
pub fn kid_for_seed(seed: &[u8; 32]) -> Result<String, TokenError> {
    let key = SigningKey::from_seed("tmp", seed)?;
    let x = match &key.public_jwk.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p) => p.x.clone(),
        _ => unreachable!("Ed25519 keys are octet key pairs"),
    };
    let digest = Sha256::digest(x.as_bytes());
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..9]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_800_000_000_000;

    fn claims(cid: &str, exp_in_secs: i64) -> SwarmClaims {
        let now = NOW_MS / 1000;
        SwarmClaims {
            iss: DEFAULT_ISSUER.into(),
            aud: DEFAULT_AUDIENCE.into(),
            exp: (now as i64 + exp_in_secs) as u64,
            nbf: None,
            iat: now,
            cid: cid.into(),
            sub: None,
        }
    }

    fn keyset(keys: &[&SigningKey]) -> JwkSet {
        JwkSet {
            keys: keys.iter().map(|k| k.public_jwk().clone()).collect(),
        }
    }

    #[test]
    fn token_round_trips_and_admits_all_renditions_of_its_content_only() {
        let key = SigningKey::from_seed("k1", &[7; 32]).unwrap();
        let verifier = Verifier::new(&keyset(&[&key]), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
        let token = key.sign(&claims("movie-a", 600)).unwrap();
        let got = verifier.verify(&token, NOW_MS).unwrap();
        assert_eq!(got.cid, "movie-a");
        let grant = got.grant();
        assert_eq!(grant.admits(&swarm_id("movie-a", "720p"), NOW_MS), Ok(()));
        assert_eq!(grant.admits(&swarm_id("movie-a", "360p"), NOW_MS), Ok(()));
        assert_eq!(
            grant.admits(&swarm_id("movie-b", "720p"), NOW_MS),
            Err(TokenError::WrongSwarm)
        );
        assert_eq!(
            grant.admits(&swarm_id("movie-a", "720p"), NOW_MS + 700_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_refused_with_leeway() {
        let key = SigningKey::from_seed("k1", &[1; 32]).unwrap();
        let verifier = Verifier::new(&keyset(&[&key]), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
        let stale = key.sign(&claims("c", -60)).unwrap();
        assert_eq!(verifier.verify(&stale, NOW_MS), Err(TokenError::Expired));
        let within_leeway = key.sign(&claims("c", -10)).unwrap();
        assert!(verifier.verify(&within_leeway, NOW_MS).is_ok());
        let mut future = claims("c", 600);
        future.nbf = Some(NOW_MS / 1000 + 120);
        let future = key.sign(&future).unwrap();
        assert_eq!(
            verifier.verify(&future, NOW_MS),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn rotation_accepts_current_and_previous_keys_and_refuses_unknown_ones() {
        let old = SigningKey::from_seed("old", &[2; 32]).unwrap();
        let new = SigningKey::from_seed("new", &[3; 32]).unwrap();
        let stranger = SigningKey::from_seed("stranger", &[4; 32]).unwrap();
        let verifier =
            Verifier::new(&keyset(&[&new, &old]), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
        assert!(
            verifier
                .verify(&old.sign(&claims("c", 60)).unwrap(), NOW_MS)
                .is_ok()
        );
        assert!(
            verifier
                .verify(&new.sign(&claims("c", 60)).unwrap(), NOW_MS)
                .is_ok()
        );
        assert_eq!(
            verifier.verify(&stranger.sign(&claims("c", 60)).unwrap(), NOW_MS),
            Err(TokenError::UnknownKid("stranger".into()))
        );
        // A token signed by another key but claiming a known kid fails the signature check.
        let forged = SigningKey::from_seed("new", &[5; 32])
            .unwrap()
            .sign(&claims("c", 60))
            .unwrap();
        assert!(matches!(
            verifier.verify(&forged, NOW_MS),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn wrong_audience_issuer_and_garbage_are_refused() {
        let key = SigningKey::from_seed("k", &[9; 32]).unwrap();
        let verifier = Verifier::new(&keyset(&[&key]), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
        let mut c = claims("c", 60);
        c.aud = "someone-else".into();
        assert!(matches!(
            verifier.verify(&key.sign(&c).unwrap(), NOW_MS),
            Err(TokenError::Invalid(_))
        ));
        let mut c = claims("c", 60);
        c.iss = "evil".into();
        assert!(matches!(
            verifier.verify(&key.sign(&c).unwrap(), NOW_MS),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            verifier.verify("not.a.jwt", NOW_MS),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            verifier.verify("", NOW_MS),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn jwks_json_round_trip_and_kid_is_stable() {
        let key = SigningKey::from_seed(kid_for_seed(&[6; 32]).unwrap(), &[6; 32]).unwrap();
        assert_eq!(key.kid(), kid_for_seed(&[6; 32]).unwrap());
        assert_ne!(key.kid(), kid_for_seed(&[8; 32]).unwrap());
        let json = serde_json::to_string(&keyset(&[&key])).unwrap();
        let verifier = Verifier::from_jwks_json(&json).unwrap();
        assert!(
            verifier
                .verify(&key.sign(&claims("c", 60)).unwrap(), NOW_MS)
                .is_ok()
        );
        assert!(Verifier::from_jwks_json("{\"keys\":[]}").is_err());
        assert!(Verifier::from_jwks_json("nope").is_err());
    }

    #[test]
    fn swarm_ids_share_the_content_prefix_and_differ_per_rendition() {
        let a = swarm_id("c", "720p");
        let b = swarm_id("c", "360p");
        assert_eq!(a.0[..CONTENT_PREFIX_LEN], b.0[..CONTENT_PREFIX_LEN]);
        assert_ne!(a, b);
        assert_ne!(
            swarm_id("c1", "x").0[..CONTENT_PREFIX_LEN],
            swarm_id("c2", "x").0[..CONTENT_PREFIX_LEN]
        );
    }
}
