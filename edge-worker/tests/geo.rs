//! Network facts from a real MaxMind-format database (GeoLite2 Country, shipped by the npm
//! package `@ip-location-db/geolite2-country-mmdb`, installed by interop/prepare.sh) and from
//! trusted headers, seen end to end through peer selection: an offer goes to the peer in the
//! offerer's own country.

mod common;

use std::path::PathBuf;

use axum::http::{HeaderMap, HeaderValue};
use common::*;
use meshcdn_edge::EngineKind::{Native, Wasm};
use meshcdn_edge::netfacts::FactSource;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn geo_db() -> PathBuf {
    prepared_interop_dir()
        .join("node_modules/@ip-location-db/geolite2-country-mmdb/geolite2-country.mmdb")
}

const US_IP: &str = "8.8.8.8";
const DE_IP: &str = "80.128.0.1";

#[test]
fn the_database_gives_countries_and_headers_win() {
    let config = meshcdn_edge::config::NetworkConfig {
        geo_db: Some(geo_db()),
        client_ip_header: Some("x-forwarded-for".into()),
        asn_header: Some("x-viewer-asn".into()),
        country_header: Some("x-viewer-country".into()),
        ..Default::default()
    };
    let source = FactSource::new(&config).unwrap();
    let loopback = "127.0.0.1".parse().unwrap();
    let facts = source.facts(&HeaderMap::new(), US_IP.parse().unwrap());
    assert_eq!(facts.country.as_deref(), Some("US"));
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_str(&format!("{DE_IP}, 10.0.0.1")).unwrap(),
    );
    assert_eq!(
        source.facts(&headers, loopback).country.as_deref(),
        Some("DE")
    );
    // Loopback is in no database: unknown, not an error.
    assert_eq!(source.facts(&HeaderMap::new(), loopback).country, None);
    headers.insert("x-viewer-country", HeaderValue::from_static("FR"));
    headers.insert("x-viewer-asn", HeaderValue::from_static("AS3215"));
    let facts = source.facts(&headers, loopback);
    assert_eq!(
        (facts.country.as_deref(), facts.asn),
        (Some("FR"), Some(3215))
    );
}

async fn connect_from(url: &str, ip: &str) -> Client {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    Client { ws }
}

async fn offers_go_to_the_same_country(engine: meshcdn_edge::EngineKind) {
    let mut c = config(engine);
    c.network.geo_db = Some(geo_db());
    c.network.client_ip_header = Some("x-forwarded-for".into());
    let edge = start(c).await;
    let url = edge.announce_url();
    let ih = id_n(60, 1);
    // Several rounds: with random choice among equals a wrong pick would show up.
    for round in 0..5u32 {
        let mut us = connect_from(&url, US_IP).await;
        let mut de = connect_from(&url, DE_IP).await;
        let (pu, pd, po) = (id_n(61, round), id_n(62, round), id_n(63, round));
        us.send(announce(&ih, &pu, &[])).await;
        us.recv_until(is_announce_reply).await;
        de.send(announce(&ih, &pd, &[])).await;
        de.recv_until(is_announce_reply).await;
        let mut offerer = connect_from(&url, "80.128.0.2").await;
        let oid = id_n(64, round);
        offerer.send(announce(&ih, &po, &[&oid])).await;
        let offer = de.recv_until(|v| v.get("offer").is_some()).await;
        assert_eq!(offer["peer_id"], po.as_str());
        assert!(
            us.silent_for(std::time::Duration::from_millis(100)).await,
            "the US peer got the DE offer"
        );
    }
    edge.shutdown().await;
}

#[tokio::test]
async fn geo_selection_native() {
    offers_go_to_the_same_country(Native).await;
}

#[tokio::test]
async fn geo_selection_wasm() {
    offers_go_to_the_same_country(Wasm).await;
}

/// The reply to a peer's first announce carries what the edge saw of its network (the client
/// puts it in its analytics beacons); re-announces do not repeat it.
async fn a_joining_peer_learns_its_network(engine: meshcdn_edge::EngineKind) {
    let mut c = config(engine);
    c.network.geo_db = Some(geo_db());
    c.network.client_ip_header = Some("x-forwarded-for".into());
    c.network.asn_header = Some("x-viewer-asn".into());
    let edge = start(c).await;
    let mut request = edge.announce_url().into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("x-forwarded-for", HeaderValue::from_static(DE_IP));
    headers.insert("x-viewer-asn", HeaderValue::from_static("AS3320"));
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut viewer = Client { ws };
    let (ih, peer) = (id_n(65, 1), id_n(66, 1));
    viewer.send(announce(&ih, &peer, &[])).await;
    let reply = viewer.recv_until(is_announce_reply).await;
    assert_eq!(reply["meshcdn"]["net"]["asn"], 3320, "{reply}");
    assert_eq!(reply["meshcdn"]["net"]["country"], "DE", "{reply}");
    viewer.send(announce(&ih, &peer, &[])).await;
    let again = viewer.recv_until(is_announce_reply).await;
    assert!(again.get("meshcdn").is_none(), "{again}");
    // Nothing known (loopback, no headers): the reply keeps the reference shape.
    let mut anonymous = Client::connect(&edge.announce_url()).await;
    anonymous.send(announce(&ih, &id_n(67, 1), &[])).await;
    let reply = anonymous.recv_until(is_announce_reply).await;
    assert!(reply.get("meshcdn").is_none(), "{reply}");
    edge.shutdown().await;
}

#[tokio::test]
async fn network_facts_reach_the_peer_native() {
    a_joining_peer_learns_its_network(Native).await;
}

#[tokio::test]
async fn network_facts_reach_the_peer_wasm() {
    a_joining_peer_learns_its_network(Wasm).await;
}
