//! The store's contract, run by tests/ingest.rs (SQLite) and tests/postgres.rs (PostgreSQL).
#![allow(dead_code)]

use meshcdn_analytics::aggregate::{Network, Pending};
use meshcdn_analytics::{Beacon, Store};

fn beacon(content: &str, http: u64, p2p: u64) -> Beacon {
    Beacon::parse(
        serde_json::json!({"v":1,"token":"t","content":content,"rendition":"r","viewer":"v","seq":1,
            "interval_ms":10_000,"http":http,"p2p":p2p,"peers":1,"conn":{"srflx":{"ok":2,"fail":1}}})
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

/// Upserts add to existing buckets, reads return them, retention deletes old buckets only.
pub async fn store_contract(store: &Store) {
    const T0: u64 = 1_800_000_000;
    let net = Network {
        asn: 64496,
        country: "NL".into(),
        region: "NH".into(),
    };
    let mut p = Pending::default();
    p.add(&beacon("c", 100, 300), &net, T0, 60);
    p.add(&beacon("c", 1, 2), &net, T0 + 3_600, 60);
    store.write(&p).await.unwrap();
    // The same buckets again: the sums double (additive upsert), no duplicate rows.
    store.write(&p).await.unwrap();
    let rows = store.read(0).await.unwrap();
    assert_eq!(rows.streams.len(), 2);
    let first = rows
        .streams
        .iter()
        .find(|(k, _)| k.bucket == T0 as i64)
        .unwrap();
    assert_eq!(
        (first.1.http_bytes, first.1.p2p_bytes, first.1.beacons),
        (200, 600, 2)
    );
    assert_eq!(first.1.peer_ms, 20_000);
    let n = rows
        .networks
        .iter()
        .find(|(k, _)| k.bucket == T0 as i64)
        .unwrap();
    assert_eq!(
        (n.0.asn, n.0.country.as_str(), n.1.p2p_bytes),
        (64496, "NL", 600)
    );
    let c = rows
        .connections
        .iter()
        .find(|(k, _)| k.bucket == T0 as i64)
        .unwrap();
    assert_eq!(
        (c.0.candidate.as_str(), c.1.ok, c.1.failed),
        ("srflx", 4, 2)
    );
    assert_eq!(
        store.read(T0 as i64 + 60).await.unwrap().streams.len(),
        1,
        "read from a bucket on"
    );
    // Retention: everything before T0 + 1 h goes, the newer bucket stays.
    let deleted = store.purge(T0 as i64 + 3_600).await.unwrap();
    assert_eq!(deleted, 3, "one row per table");
    let rows = store.read(0).await.unwrap();
    assert_eq!(rows.streams.len(), 1);
    assert_eq!(rows.streams[0].1.http_bytes, 2);
}
