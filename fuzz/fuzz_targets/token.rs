//! Swarm tokens (Ed25519 JWTs): parsing and verification as the edge and the tracker do it.
//!
//! Three kinds of input:
//! - an arbitrary string presented as a token: `verify` never panics, and whatever it accepts
//!   is a token for the configured issuer and audience, unexpired at that time, that verifies
//!   the same way again and whose grant admits its content's swarms and no other content's;
//! - claims chosen by the input, signed by the current, the previous or an unknown key, checked
//!   at a time chosen by the input: the verdict is exactly the one the rules give (unknown kid,
//!   wrong issuer or audience, expired, not yet valid, or the same claims back), and a token
//!   with one character changed is refused (or, if only unused bits changed, yields the same
//!   claims);
//! - an arbitrary JWKS document: loading it never panics.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use jsonwebtoken::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;
use meshcdn_tracker::token::{
    DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_LEEWAY_SECS, SigningKey, SwarmClaims, TokenError,
    Verifier, swarm_id,
};

#[derive(Debug, Arbitrary)]
enum Case {
    Raw {
        token: String,
        now_ms: u64,
    },
    Signed {
        key: u8,
        iss: bool,
        aud: bool,
        exp: u64,
        nbf: Option<u64>,
        iat: u64,
        cid: String,
        sub: Option<String>,
        now_ms: u64,
        flip: Option<(u16, u8)>,
    },
    Jwks {
        json: String,
    },
}

struct Keys {
    current: SigningKey,
    previous: SigningKey,
    unknown: SigningKey,
    verifier: Verifier,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let current = SigningKey::from_seed("k-current", &[1; 32]).expect("key");
        let previous = SigningKey::from_seed("k-previous", &[2; 32]).expect("key");
        let unknown = SigningKey::from_seed("k-unknown", &[3; 32]).expect("key");
        let jwks = JwkSet {
            keys: vec![current.public_jwk().clone(), previous.public_jwk().clone()],
        };
        let verifier = Verifier::new(&jwks, DEFAULT_ISSUER, DEFAULT_AUDIENCE).expect("verifier");
        Keys {
            current,
            previous,
            unknown,
            verifier,
        }
    })
}

/// What an accepted token must satisfy.
fn check_accepted(token: &str, claims: &SwarmClaims, now_ms: u64) {
    let k = keys();
    assert_eq!(claims.iss, DEFAULT_ISSUER);
    assert_eq!(claims.aud, DEFAULT_AUDIENCE);
    let now = now_ms / 1000;
    assert!(
        now < claims.exp.saturating_add(DEFAULT_LEEWAY_SECS),
        "accepted after expiry"
    );
    assert_eq!(
        k.verifier.verify(token, now_ms).as_ref(),
        Ok(claims),
        "verdict changed"
    );
    let grant = claims.grant();
    let inside = swarm_id(&claims.cid, "video-720p");
    let outside = swarm_id(&format!("{}/other", claims.cid), "video-720p");
    match grant.admits(&inside, now_ms) {
        Ok(()) => {}
        // The grant works in milliseconds, the verifier in whole seconds.
        Err(TokenError::Expired | TokenError::NotYetValid) => {}
        Err(e) => panic!("grant refuses its own content: {e}"),
    }
    if grant.admits(&inside, now_ms).is_ok() {
        assert_eq!(grant.admits(&outside, now_ms), Err(TokenError::WrongSwarm));
    }
}

fuzz_target!(|case: Case| {
    let k = keys();
    match case {
        Case::Raw { token, now_ms } => {
            if let Ok(claims) = k.verifier.verify(&token, now_ms) {
                check_accepted(&token, &claims, now_ms);
            }
        }
        Case::Signed {
            key,
            iss,
            aud,
            exp,
            nbf,
            iat,
            cid,
            sub,
            now_ms,
            flip,
        } => {
            let claims = SwarmClaims {
                iss: if iss {
                    DEFAULT_ISSUER.into()
                } else {
                    "someone-else".into()
                },
                aud: if aud {
                    DEFAULT_AUDIENCE.into()
                } else {
                    "another-audience".into()
                },
                exp,
                nbf,
                iat,
                cid,
                sub,
            };
            let signer = match key % 3 {
                0 => &k.current,
                1 => &k.previous,
                _ => &k.unknown,
            };
            let token = signer.sign(&claims).expect("signing never fails");
            let got = k.verifier.verify(&token, now_ms);
            let now = now_ms / 1000;
            let leeway = DEFAULT_LEEWAY_SECS;
            match &got {
                _ if key % 3 == 2 => {
                    assert_eq!(got, Err(TokenError::UnknownKid("k-unknown".into())))
                }
                _ if !iss || !aud => assert!(matches!(got, Err(TokenError::Invalid(_))), "{got:?}"),
                _ if now >= exp.saturating_add(leeway) => assert_eq!(got, Err(TokenError::Expired)),
                _ if nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf) => {
                    assert_eq!(got, Err(TokenError::NotYetValid))
                }
                _ => {
                    assert_eq!(got.as_ref(), Ok(&claims));
                    check_accepted(&token, &claims, now_ms);
                }
            }
            if let Some((at, to)) = flip {
                const ALPHABET: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=";
                let mut bytes = token.clone().into_bytes();
                let at = usize::from(at) % bytes.len();
                let to = ALPHABET[usize::from(to) % ALPHABET.len()];
                if bytes[at] != to {
                    bytes[at] = to;
                    let tampered = String::from_utf8(bytes).expect("ASCII");
                    if let Ok(c) = k.verifier.verify(&tampered, now_ms) {
                        // Only a change in bits base64 does not use can keep the signature valid.
                        assert_eq!(c, claims, "a tampered token verified with other claims");
                        assert!(
                            got.is_ok(),
                            "a tampered token verified where the original did not"
                        );
                    }
                }
            }
        }
        Case::Jwks { json } => {
            if let Ok(v) = Verifier::from_jwks_json(&json) {
                assert!(v.key_count() >= 1);
            }
        }
    }
});
