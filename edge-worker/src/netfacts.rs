//! A connection's network facts (ASN, country, region, continent) for peer selection: from
//! trusted CDN headers whose names are configured, else from a MaxMind-format database.

use std::net::IpAddr;
use std::path::Path;

use axum::http::HeaderMap;
use meshcdn_tracker::NetworkFacts;
use serde::Deserialize;

use crate::config::NetworkConfig;
use crate::error::EdgeError;

/// Longest header value taken as a fact (longer ones are ignored, not truncated).
const MAX_FACT_LEN: usize = 64;

pub struct FactSource {
    config: NetworkConfig,
    db: Option<maxminddb::Reader<Vec<u8>>>,
}

/// Fields of the database layouts understood: MaxMind GeoLite2 (ASN, Country, City) and
/// ip-location-db (`country_code`, `state1`). Everything else is ignored.
#[derive(Debug, Default, Deserialize)]
struct GeoRecord {
    autonomous_system_number: Option<u32>,
    country: Option<IsoCode>,
    continent: Option<ContinentCode>,
    subdivisions: Option<Vec<IsoCode>>,
    country_code: Option<String>,
    state1: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct IsoCode {
    iso_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ContinentCode {
    code: Option<String>,
}

impl FactSource {
    pub fn new(config: &NetworkConfig) -> Result<Self, EdgeError> {
        let db = match &config.geo_db {
            Some(path) => Some(open_db(path)?),
            None => None,
        };
        Ok(Self {
            config: config.clone(),
            db,
        })
    }

    /// The viewer's address: the first of `network.client_ip_header` when that is configured and
    /// holds one, else the socket's peer address.
    pub fn client_ip(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.config
            .client_ip_header
            .as_deref()
            .and_then(|name| headers.get(name)?.to_str().ok())
            .and_then(|v| v.split(',').next()?.trim().parse().ok())
            .unwrap_or(peer)
    }

    /// Headers win over the database, fact by fact.
    pub fn facts(&self, headers: &HeaderMap, peer: IpAddr) -> NetworkFacts {
        let header = |name: &Option<String>| -> Option<String> {
            let value = headers.get(name.as_deref()?)?.to_str().ok()?.trim();
            (!value.is_empty() && value.len() <= MAX_FACT_LEN).then(|| value.to_owned())
        };
        let mut facts = NetworkFacts {
            asn: header(&self.config.asn_header)
                .and_then(|v| v.trim_start_matches("AS").parse().ok()),
            country: header(&self.config.country_header),
            region: header(&self.config.region_header),
            continent: header(&self.config.continent_header),
        };
        if let Some(db) = &self.db {
            let ip = self.client_ip(headers, peer);
            let record = db
                .lookup(ip)
                .ok()
                .and_then(|r| r.decode::<GeoRecord>().ok().flatten())
                .unwrap_or_default();
            facts.asn = facts.asn.or(record.autonomous_system_number);
            facts.country = facts
                .country
                .or(record.country.and_then(|c| c.iso_code))
                .or(record.country_code);
            facts.region = facts
                .region
                .or(record
                    .subdivisions
                    .and_then(|s| s.into_iter().next())
                    .and_then(|s| s.iso_code))
                .or(record.state1);
            facts.continent = facts.continent.or(record.continent.and_then(|c| c.code));
        }
        facts
    }
}

fn open_db(path: &Path) -> Result<maxminddb::Reader<Vec<u8>>, EdgeError> {
    maxminddb::Reader::open_readfile(path).map_err(|source| EdgeError::GeoDb {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn configured_headers_give_the_facts_and_bad_values_are_ignored() {
        let config = NetworkConfig {
            asn_header: Some("cloudfront-viewer-asn".into()),
            country_header: Some("cloudfront-viewer-country".into()),
            ..Default::default()
        };
        let source = FactSource::new(&config).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("cloudfront-viewer-asn", HeaderValue::from_static("3320"));
        headers.insert("cloudfront-viewer-country", HeaderValue::from_static("DE"));
        headers.insert("x-unconfigured-region", HeaderValue::from_static("BE"));
        let facts = source.facts(&headers, "127.0.0.1".parse().unwrap());
        assert_eq!(facts.asn, Some(3320));
        assert_eq!(facts.country.as_deref(), Some("DE"));
        assert_eq!(facts.region, None);
        headers.insert(
            "cloudfront-viewer-asn",
            HeaderValue::from_static("not-a-number"),
        );
        headers.insert(
            "cloudfront-viewer-country",
            HeaderValue::from_str(&"X".repeat(100)).unwrap(),
        );
        let facts = source.facts(&headers, "127.0.0.1".parse().unwrap());
        assert_eq!((facts.asn, facts.country), (None, None));
    }

    #[test]
    fn a_missing_or_corrupt_database_is_a_typed_error() {
        let config = NetworkConfig {
            geo_db: Some("/nonexistent.mmdb".into()),
            ..Default::default()
        };
        assert!(matches!(
            FactSource::new(&config),
            Err(EdgeError::GeoDb { .. })
        ));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), b"not a database").unwrap();
        let config = NetworkConfig {
            geo_db: Some(file.path().into()),
            ..Default::default()
        };
        assert!(matches!(
            FactSource::new(&config),
            Err(EdgeError::GeoDb { .. })
        ));
    }
}
