//! `[analytics]` section of the origin config (`meshcdn origin --config FILE`).

use serde::{Deserialize, Serialize};

/// Analytics: beacon ingestion, storage, dashboard. Off unless `database_url` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// `sqlite://PATH` (embedded; the file is created), `sqlite::memory:`, or
    /// `postgres://user:password@host:port/db`. Analytics is off without it.
    pub database_url: Option<String>,
    /// Where clients post beacons, as written into the bootstrap (relative URLs resolve against
    /// the master playlist's URL). Default `/v1/beacons`: this server.
    pub beacon_url: String,
    /// How often clients send a beacon, in seconds (also in the bootstrap).
    pub beacon_interval_secs: u64,
    /// Length of an aggregate bucket, in seconds.
    pub bucket_secs: u64,
    /// Buckets older than this are deleted, in days.
    pub retention_days: u64,
    /// How often received beacons are written to the database, in milliseconds.
    pub flush_ms: u64,
    /// Largest beacon body accepted, in bytes (413 above).
    pub max_beacon_bytes: usize,
    /// Beacons per minute one viewer may send (and the burst above that rate).
    pub viewer_per_minute: u32,
    pub viewer_burst: u32,
    /// Beacons per minute one client IP address may send (many viewers can share one address).
    pub ip_per_minute: u32,
    pub ip_burst: u32,
    /// Most distinct buckets × dimensions held in memory between two writes (503 above).
    pub max_pending_rows: usize,
    /// Secret that opens the dashboard and its API besides the publisher API keys.
    pub admin_secret: Option<String>,
    /// Trusted request headers with the viewer's network (set by the CDN), and the client IP.
    pub network: NetworkHeaders,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            beacon_url: "/v1/beacons".into(),
            beacon_interval_secs: 10,
            bucket_secs: 60,
            retention_days: 30,
            flush_ms: 5_000,
            max_beacon_bytes: 4_096,
            viewer_per_minute: 20,
            viewer_burst: 5,
            ip_per_minute: 1_200,
            ip_burst: 200,
            max_pending_rows: 100_000,
            admin_secret: None,
            network: NetworkHeaders::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkHeaders {
    /// Header with the viewer's ASN (a number, `AS` prefix allowed).
    pub asn_header: Option<String>,
    pub country_header: Option<String>,
    pub region_header: Option<String>,
    /// Header with the client IP (e.g. `x-forwarded-for`: its first address is used) for the
    /// per-IP rate limit; without it, the TCP peer address.
    pub client_ip_header: Option<String>,
}

impl AnalyticsConfig {
    pub fn enabled(&self) -> bool {
        self.database_url.is_some()
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("beacon_interval_secs", self.beacon_interval_secs),
            ("bucket_secs", self.bucket_secs),
            ("retention_days", self.retention_days),
            ("flush_ms", self.flush_ms),
            ("max_beacon_bytes", self.max_beacon_bytes as u64),
            ("viewer_per_minute", self.viewer_per_minute as u64),
            ("viewer_burst", self.viewer_burst as u64),
            ("ip_per_minute", self.ip_per_minute as u64),
            ("ip_burst", self.ip_burst as u64),
            ("max_pending_rows", self.max_pending_rows as u64),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(format!("analytics.{name} must be positive"));
            }
        }
        if self.beacon_url.is_empty() {
            return Err("analytics.beacon_url must not be empty".into());
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(format!(
                "analytics.database_url {:?} must start with sqlite:, postgres:// or postgresql://",
                crate::store::redact(url)
            ));
        }
        if self.admin_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err("analytics.admin_secret must be at least 16 characters".into());
        }
        for h in [
            &self.network.asn_header,
            &self.network.country_header,
            &self.network.region_header,
            &self.network.client_ip_header,
        ]
        .into_iter()
        .flatten()
        {
            axum::http::HeaderName::from_bytes(h.as_bytes())
                .map_err(|_| format!("analytics.network: {h:?} is not a header name"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        let ok = AnalyticsConfig {
            database_url: Some("sqlite://a.db".into()),
            ..AnalyticsConfig::default()
        };
        ok.validate().unwrap();
        assert!(ok.enabled());
        assert!(!AnalyticsConfig::default().enabled());
        let bad = AnalyticsConfig {
            bucket_secs: 0,
            ..ok.clone()
        };
        assert!(bad.validate().unwrap_err().contains("bucket_secs"));
        let bad = AnalyticsConfig {
            database_url: Some("mysql://u:pw@h/db".into()),
            ..ok.clone()
        };
        let err = bad.validate().unwrap_err();
        assert!(err.contains("database_url") && !err.contains("pw"), "{err}");
        let bad = AnalyticsConfig {
            admin_secret: Some("short".into()),
            ..ok
        };
        assert!(bad.validate().unwrap_err().contains("admin_secret"));
    }

    #[test]
    fn round_trips_through_json_and_refuses_unknown_keys() {
        let c = AnalyticsConfig::default();
        let back: AnalyticsConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<AnalyticsConfig>(r#"{"databse_url":"x"}"#).is_err());
    }
}
