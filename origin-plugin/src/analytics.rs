//! Viewer analytics in the origin plugin ([`meshcdn_analytics`]): the [`Gate`] over this
//! origin's keys (swarm tokens are verified with the same key set the JWKS publishes, following
//! key reloads; dashboard logins are the publisher API keys), and the routes to mount.

use std::sync::{Arc, Mutex};

use axum::http::HeaderValue;
use meshcdn_analytics::{Access, Admitted, Analytics, Gate};
use meshcdn_tracker::token::Verifier;

use crate::OriginError;
use crate::engine::MeshEngine;
use crate::tokens::{SharedIssuer, TokenIssuer};

/// Checks beacons' swarm tokens and dashboard logins against the origin's key directory.
pub struct OriginGate {
    issuer: SharedIssuer,
    /// The verifier of the issuer it was built from (rebuilt when a reload swapped the issuer).
    cached: Mutex<Option<(Arc<TokenIssuer>, Verifier)>>,
}

impl OriginGate {
    pub fn new(issuer: SharedIssuer) -> Self {
        Self {
            issuer,
            cached: Mutex::new(None),
        }
    }

    fn verifier(&self) -> Result<Verifier, String> {
        let current = self.issuer.current();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((issuer, verifier)) = cached.as_ref()
            && Arc::ptr_eq(issuer, &current)
        {
            return Ok(verifier.clone());
        }
        let jwks = serde_json::from_value(current.jwks()).map_err(|e| e.to_string())?;
        let config = current.config();
        let verifier =
            Verifier::new(&jwks, &config.issuer, &config.audience).map_err(|e| e.to_string())?;
        *cached = Some((current, verifier.clone()));
        Ok(verifier)
    }
}

impl Gate for OriginGate {
    fn admit(&self, token: &str, now_ms: u64) -> Result<Admitted, String> {
        let claims = self
            .verifier()?
            .verify(token, now_ms)
            .map_err(|e| e.to_string())?;
        Ok(Admitted {
            content: claims.cid,
            viewer: claims.sub,
        })
    }

    fn login(&self, api_key: &str) -> Option<Access> {
        let header = HeaderValue::from_str(&format!("Bearer {api_key}")).ok()?;
        let issuer = self.issuer.current();
        let entry = issuer.authenticate(Some(&header)).ok()?;
        Some(if entry.contents.is_empty() {
            Access::All
        } else {
            Access::Prefixes(entry.contents.clone())
        })
    }
}

/// Opens the analytics of `engine`'s config (`analytics.database_url`) and starts its background
/// writer. `None` when analytics is off. Merge [`Analytics::routes`] into the app. Call inside a
/// Tokio runtime.
pub async fn open(engine: &MeshEngine) -> Result<Option<Analytics>, OriginError> {
    let config = &engine.config().analytics;
    if !config.enabled() {
        return Ok(None);
    }
    let issuer = engine.shared_issuer().ok_or_else(|| {
        OriginError::Analytics(
            "analytics needs signing keys (keys_dir): beacons are authenticated by the swarm token"
                .into(),
        )
    })?;
    let analytics = Analytics::open(config.clone(), Arc::new(OriginGate::new(issuer.clone())))
        .await
        .map_err(|e| OriginError::Analytics(e.to_string()))?;
    analytics.spawn_background();
    Ok(Some(analytics))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenConfig;
    use crate::tokens::{add_api_key, generate_key};

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn tokens_of_the_current_and_rotated_keys_pass_and_api_keys_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let config = TokenConfig::default();
        generate_key(dir.path(), NOW).unwrap();
        let all = add_api_key(dir.path(), "all", vec![]).unwrap();
        let scoped = add_api_key(dir.path(), "vod", vec!["vod/".into()]).unwrap();
        let shared = SharedIssuer::from(TokenIssuer::load(dir.path(), &config, NOW).unwrap());
        let gate = OriginGate::new(shared.clone());
        let old = shared
            .current()
            .issue("live/a", 600, Some("viewer-1".into()), NOW)
            .unwrap();
        assert_eq!(
            gate.admit(&old.token, NOW * 1000),
            Ok(Admitted {
                content: "live/a".into(),
                viewer: Some("viewer-1".into())
            })
        );
        // A rotation: the gate follows the swapped issuer; the old key's tokens still pass.
        generate_key(dir.path(), NOW + 1).unwrap();
        assert!(shared.reload(dir.path(), &config, NOW + 1).unwrap());
        let new = shared
            .current()
            .issue("live/b", 600, None, NOW + 1)
            .unwrap();
        assert_eq!(
            gate.admit(&new.token, NOW * 1000).unwrap().content,
            "live/b"
        );
        assert!(gate.admit(&old.token, NOW * 1000).is_ok());
        let err = gate.admit(&old.token, (NOW + 10_000) * 1000).unwrap_err();
        assert!(err.contains("expired"), "{err}");
        assert!(gate.admit("not a token", NOW * 1000).is_err());

        assert_eq!(gate.login(&all), Some(Access::All));
        assert_eq!(
            gate.login(&scoped),
            Some(Access::Prefixes(vec!["vod/".into()]))
        );
        assert_eq!(gate.login("mcdn_wrong"), None);
        assert_eq!(gate.login("bad\nheader"), None);
    }
}
