//! `POST /v1/beacons` and the API on an embedded SQLite database: accepted beacons add up, and
//! every kind of bad input is refused with its own status and message, adding nothing.

mod support;

use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt as _;
use support::*;
use tower::ServiceExt as _;

#[tokio::test]
async fn accepted_beacons_add_up_in_the_report_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let (a, gate) = analytics(&url, |_| {}).await;
    let t = gate.token("live/a", 600);
    for (viewer, http, p2p) in [("v1", 1000, 0), ("v2", 500, 1500), ("v1", 200, 800)] {
        let (status, body) = send(
            &a,
            post(beacon(&t, "live/a", viewer, http, p2p).to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    // Before the write: the report already includes pending beacons.
    let r = report(&a, API_KEY).await;
    assert_eq!(r["streams"][0]["http_bytes"], 1700);
    a.flush().await.unwrap();
    let r = report(&a, API_KEY).await;
    let s = &r["streams"][0];
    assert_eq!(s["content"], "live/a");
    assert_eq!(
        (s["http_bytes"].as_i64(), s["p2p_bytes"].as_i64()),
        (Some(1700), Some(2300))
    );
    assert!((s["offload"].as_f64().unwrap() - 2300.0 / 4000.0).abs() < 1e-9);
    let relay = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["candidate"] == "relay")
        .unwrap();
    assert_eq!(
        (relay["ok"].as_i64(), relay["failed"].as_i64()),
        (Some(0), Some(3))
    );
    a.shutdown().await.unwrap();

    // The sums are in the file: a new instance reads them back.
    let (b, _) = analytics(&url, |_| {}).await;
    assert_eq!(report(&b, ADMIN).await["streams"][0]["p2p_bytes"], 2300);
    // Prometheus gauges per stream.
    let (status, text) = send(&b, get("/v1/analytics/metrics", Some(API_KEY))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("# TYPE meshcdn_analytics_offload_ratio gauge"),
        "{text}"
    );
    assert!(
        text.contains("meshcdn_analytics_offload_ratio{content=\"live/a\"} 0.575"),
        "{text}"
    );
    assert!(
        text.contains("meshcdn_analytics_bytes_saved{content=\"live/a\"} 2300"),
        "{text}"
    );
}

async fn refused(
    a: &meshcdn_analytics::Analytics,
    body: impl Into<Body>,
    status: StatusCode,
    needle: &str,
) {
    let (got, text) = send(a, post(body)).await;
    assert_eq!(got, status, "{text}");
    assert!(text.contains(needle), "expected {needle:?} in {text}");
}

#[tokio::test]
async fn bad_beacons_are_refused_clearly_and_add_nothing() {
    let (a, gate) = analytics("sqlite::memory:", |c| c.max_beacon_bytes = 1024).await;
    let t = gate.token("live/a", 600);

    // Oversized: declared by Content-Length, and streamed without one.
    let mut big = beacon(&t, "live/a", "v1", 1, 1);
    big["player"] = serde_json::json!("x".repeat(2000));
    refused(
        &a,
        big.to_string(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than 1024 bytes",
    )
    .await;
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok("{".into()), Ok(" ".repeat(2000))];
    refused(
        &a,
        Body::from_stream(futures_util::stream::iter(chunks)),
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than 1024",
    )
    .await;
    // Malformed.
    refused(&a, "{not json", StatusCode::BAD_REQUEST, "not valid JSON").await;
    let mut extra = beacon(&t, "live/a", "v1", 1, 1);
    extra["what"] = serde_json::json!(1);
    refused(
        &a,
        extra.to_string(),
        StatusCode::BAD_REQUEST,
        "unknown field `what`",
    )
    .await;
    let mut negative = beacon(&t, "live/a", "v1", 1, 1);
    negative["stall_ms"] = serde_json::json!(20_000);
    refused(
        &a,
        negative.to_string(),
        StatusCode::BAD_REQUEST,
        "`stall_ms`",
    )
    .await;
    // Bad token: garbage, expired, signed by another key.
    refused(
        &a,
        beacon("garbage", "live/a", "v1", 1, 1).to_string(),
        StatusCode::UNAUTHORIZED,
        "token refused",
    )
    .await;
    let expired = gate.token("live/a", -3600);
    refused(
        &a,
        beacon(&expired, "live/a", "v1", 1, 1).to_string(),
        StatusCode::UNAUTHORIZED,
        "expired",
    )
    .await;
    let other = meshcdn_tracker::token::SigningKey::from_seed("k2", &[9; 32]).unwrap();
    let forged = other
        .sign(&meshcdn_tracker::token::SwarmClaims {
            iss: "meshcdn".into(),
            aud: "meshcdn-tracker".into(),
            exp: now_secs() + 600,
            nbf: None,
            iat: now_secs(),
            cid: "live/a".into(),
            sub: None,
        })
        .unwrap();
    refused(
        &a,
        beacon(&forged, "live/a", "v1", 1, 1).to_string(),
        StatusCode::UNAUTHORIZED,
        "not in the key set",
    )
    .await;
    // Wrong content: a valid token of another content.
    let t_b = gate.token("live/b", 600);
    refused(
        &a,
        beacon(&t_b, "live/a", "v1", 1, 1).to_string(),
        StatusCode::FORBIDDEN,
        r#"token is for content \"live/b\""#,
    )
    .await;

    a.flush().await.unwrap();
    let r = report(&a, API_KEY).await;
    assert_eq!(r["streams"], serde_json::json!([]), "nothing was counted");
    let (_, metrics) = send(&a, get("/v1/analytics/metrics", Some(API_KEY))).await;
    for (result, n) in [
        ("too_large", 2),
        ("malformed", 3),
        ("unauthorized", 3),
        ("wrong_content", 1),
        ("accepted", 0),
    ] {
        assert!(
            metrics.contains(&format!(
                "meshcdn_analytics_beacons_total{{result=\"{result}\"}} {n}\n"
            )),
            "{result}: {metrics}"
        );
    }
}

#[tokio::test]
async fn one_viewer_and_one_address_are_rate_limited() {
    let (a, gate) = analytics("sqlite::memory:", |c| {
        c.viewer_burst = 3;
        c.viewer_per_minute = 1;
        c.ip_burst = 5;
        c.ip_per_minute = 1;
        c.network.client_ip_header = Some("x-forwarded-for".into());
    })
    .await;
    let t = gate.token("live/a", 600);
    let from = |viewer: &str, ip: &str| {
        let mut r = post(beacon(&t, "live/a", viewer, 10, 0).to_string());
        r.headers_mut().insert(
            "x-forwarded-for",
            format!("{ip}, 10.0.0.1").parse().unwrap(),
        );
        r
    };
    for _ in 0..3 {
        assert_eq!(
            send(&a, from("v1", "192.0.2.1")).await.0,
            StatusCode::NO_CONTENT
        );
    }
    let (status, body) = send(&a, from("v1", "192.0.2.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("too many beacons from this viewer"), "{body}");
    // Another viewer behind the same address still gets through, until the address's burst.
    assert_eq!(
        send(&a, from("v2", "192.0.2.1")).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = send(&a, from("v3", "192.0.2.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("IP address"), "{body}");
    // Another address is not affected.
    assert_eq!(
        send(&a, from("v4", "192.0.2.2")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        report(&a, API_KEY).await["streams"][0]["http_bytes"],
        50,
        "5 accepted beacons of 10 bytes"
    );
}

#[tokio::test]
async fn the_api_and_metrics_need_a_login_and_keys_see_only_their_contents() {
    let (a, gate) = analytics("sqlite::memory:", |_| {}).await;
    for content in ["live/a", "vod/b"] {
        let t = gate.token(content, 600);
        assert_eq!(
            send(&a, post(beacon(&t, content, "v1", 10, 0).to_string()))
                .await
                .0,
            StatusCode::NO_CONTENT
        );
    }
    for (path, key) in [
        ("/v1/analytics", None),
        ("/v1/analytics", Some("wrong")),
        ("/v1/analytics/metrics", None),
    ] {
        let (status, body) = send(&a, get(path, key)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body.contains("Authorization: Bearer"), "{body}");
    }
    let (status, body) = send(&a, get("/v1/analytics?window_secs=0", Some(ADMIN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = send(&a, get("/v1/analytics?bogus=1", Some(ADMIN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let all = report(&a, ADMIN).await;
    assert_eq!(all["streams"].as_array().unwrap().len(), 2);
    let scoped = report(&a, SCOPED_KEY).await;
    let contents: Vec<&str> = scoped["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["vod/b"]);
    // The dashboard page and its chart library are served locally, without a login.
    let (status, page) = send(&a, get("/analytics", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/analytics/assets/uPlot.iife.min.js"));
    let (status, js) = send(&a, get("/analytics/assets/uPlot.iife.min.js", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.len() > 20_000 && js.contains("uPlot"));
    assert_eq!(
        send(&a, get("/analytics/assets/../Cargo.toml", None))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_network_the_edge_saw_counts_where_no_trusted_header_says_otherwise() {
    let (a, gate) = analytics("sqlite::memory:", |c| {
        c.network.country_header = Some("x-country".into());
    })
    .await;
    let t = gate.token("live/a", 600);
    let with_net = |viewer: &str, net: serde_json::Value| {
        let mut b = beacon(&t, "live/a", viewer, 1000, 1000);
        b["net"] = net;
        b
    };
    // The edge's facts, as the client relays them.
    let (status, body) = send(
        &a,
        post(with_net("v1", serde_json::json!({"asn": 64510, "country": "BE", "region": "VLG", "continent": "EU"})).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A trusted header wins over the reported fact (the others still count).
    let mut r =
        post(with_net("v2", serde_json::json!({"asn": 64511, "country": "BE"})).to_string());
    r.headers_mut().insert("x-country", "NL".parse().unwrap());
    assert_eq!(send(&a, r).await.0, StatusCode::NO_CONTENT);
    // Malformed facts are refused with the field named, and nothing is counted.
    for (bad, says) in [
        (serde_json::json!({"asn": "AS1"}), "expected u32"),
        (
            serde_json::json!({"country": "x".repeat(65)}),
            "net.country",
        ),
        (serde_json::json!({"country": ""}), "net.country"),
        (serde_json::json!({"city": "Gent"}), "city"),
    ] {
        let (status, body) = send(&a, post(with_net("v3", bad.clone()).to_string())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.contains(says), "{bad}: {body}");
    }
    let r = report(&a, API_KEY).await;
    let nets = r["networks"].as_array().unwrap();
    let find = |asn: i64| {
        nets.iter()
            .find(|n| n["asn"] == asn)
            .unwrap_or_else(|| panic!("AS{asn}: {r}"))
    };
    assert_eq!(
        (
            find(64510)["country"].as_str(),
            find(64510)["region"].as_str()
        ),
        (Some("BE"), Some("VLG"))
    );
    assert_eq!(find(64511)["country"].as_str(), Some("NL"));
    assert_eq!(nets.len(), 2, "{r}");
}

#[tokio::test]
async fn network_headers_give_the_p2p_share_by_asn_and_region() {
    let (a, gate) = analytics("sqlite::memory:", |c| {
        c.network.asn_header = Some("x-asn".into());
        c.network.country_header = Some("x-country".into());
        c.network.region_header = Some("x-region".into());
    })
    .await;
    let t = gate.token("live/a", 600);
    let from = |viewer: &str, http: u64, p2p: u64, net: [&str; 3]| {
        let mut r = post(beacon(&t, "live/a", viewer, http, p2p).to_string());
        for (name, value) in ["x-asn", "x-country", "x-region"].into_iter().zip(net) {
            r.headers_mut().insert(name, value.parse().unwrap());
        }
        r
    };
    for request in [
        from("v1", 1000, 3000, ["AS64500", "NL", "NH"]),
        from("v2", 1000, 1000, ["64500", "NL", "NH"]),
        from("v3", 4000, 0, ["64501", "DE", "BE"]),
        // Not a number: the ASN is unknown (0); an over-long region is dropped.
        from("v4", 500, 500, ["ASxyz", "FR", &"r".repeat(65)]),
    ] {
        let (status, body) = send(&a, request).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let r = report(&a, API_KEY).await;
    let net = |asn: i64| {
        r["networks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["asn"] == asn)
            .unwrap_or_else(|| panic!("AS{asn} missing: {r}"))
            .clone()
    };
    let nl = net(64500);
    assert_eq!(
        (nl["country"].as_str(), nl["region"].as_str()),
        (Some("NL"), Some("NH"))
    );
    assert_eq!(
        (nl["http_bytes"].as_i64(), nl["p2p_bytes"].as_i64()),
        (Some(2000), Some(4000))
    );
    assert!((nl["p2p_share"].as_f64().unwrap() - 4000.0 / 6000.0).abs() < 1e-9);
    assert_eq!(net(64501)["p2p_share"].as_f64(), Some(0.0));
    let unknown = net(0);
    assert_eq!(
        (unknown["country"].as_str(), unknown["region"].as_str()),
        (Some("FR"), Some(""))
    );
}

#[tokio::test]
async fn memory_between_writes_is_bounded_and_overload_is_a_clear_503() {
    // One beacon of `support::beacon` makes 4 rows (stream, network, host and relay outcomes).
    let (a, gate) = analytics("sqlite::memory:", |c| c.max_pending_rows = 4).await;
    let t = gate.token("live/a", 600);
    let one = |viewer: &str| post(beacon(&t, "live/a", viewer, 100, 0).to_string());
    assert_eq!(send(&a, one("v1")).await.0, StatusCode::NO_CONTENT);
    let response = a.routes().oneshot(one("v2")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&body).contains("analytics is busy writing"),
        "{body:?}"
    );
    // After the write there is room again; the refused beacon added nothing.
    a.flush().await.unwrap();
    assert_eq!(send(&a, one("v3")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(report(&a, API_KEY).await["streams"][0]["http_bytes"], 200);
    let (_, metrics) = send(&a, get("/v1/analytics/metrics", Some(API_KEY))).await;
    assert!(
        metrics.contains("meshcdn_analytics_beacons_total{result=\"overloaded\"} 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn buckets_older_than_the_retention_are_deleted() {
    let (a, gate) = analytics("sqlite::memory:", |c| c.retention_days = 2).await;
    let t = gate.token("live/a", 600);
    let (status, _) = send(&a, post(beacon(&t, "live/a", "v1", 100, 300).to_string())).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    a.flush().await.unwrap();
    let now = now_secs();
    assert_eq!(a.purge(now + 86_400).await.unwrap(), 0, "a day later: kept");
    assert_eq!(report(&a, ADMIN).await["streams"][0]["p2p_bytes"], 300);
    let deleted = a.purge(now + 3 * 86_400).await.unwrap();
    assert_eq!(deleted, 4, "stream, network and two connection rows");
    let rows = a.store().read(0).await.unwrap();
    assert!(rows.streams.is_empty() && rows.networks.is_empty() && rows.connections.is_empty());
}

#[path = "store_shared.rs"]
mod store_shared;

#[tokio::test]
async fn sqlite_store_upserts_reads_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        meshcdn_analytics::Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
    store_shared::store_contract(&store).await;
}

#[tokio::test]
async fn unsupported_database_urls_are_clear_errors() {
    let err = meshcdn_analytics::Store::open("mysql://u@h/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not supported") && err.contains("sqlite://"),
        "{err}"
    );
    let err = meshcdn_analytics::Store::open("sqlite:///nonexistent-dir-mcdn/x/a.db")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot open the analytics database"), "{err}");
}
