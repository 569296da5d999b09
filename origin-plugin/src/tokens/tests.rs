//! Key directory, issuing, rotation and hot swap, end to end on a temporary directory.

use axum::http::HeaderValue;

use super::*;
use crate::config::TokenConfig;
use meshcdn_tracker::token::{DEFAULT_LEEWAY_SECS, SigningKey, Verifier, swarm_id};

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

#[test]
fn api_key_content_scope_is_by_whole_path_segments() {
    let entry = |contents: &[&str]| ApiKeyEntry {
        name: "k".into(),
        sha256: String::new(),
        contents: contents.iter().map(|c| c.to_string()).collect(),
    };
    let ch1 = entry(&["live/channel1"]);
    assert!(ch1.allows("live/channel1"));
    assert!(ch1.allows("live/channel1/hd"));
    assert!(!ch1.allows("live/channel10"));
    assert!(!ch1.allows("live"));
    let slash = entry(&["vod/"]);
    assert!(slash.allows("vod/movie") && slash.allows("vod") && !slash.allows("vodka"));
    assert!(entry(&[]).allows("anything"));
}
