//! The Layer inside an axum app: `ServeDir` + `MeshLayer` over the sample media (the "inside an
//! axum app" story, and what `meshcdn demo` runs), plus an app with its own routes.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use common::*;
use http_body_util::BodyExt as _;
use meshcdn_origin::bootstrap::{Bootstrap, HASH_DOC_SUFFIX};
use meshcdn_origin::config::OriginConfig;
use meshcdn_origin::manifest::{dash, hls};
use meshcdn_origin::proxy::local_dir_router;
use meshcdn_origin::tokens::TokenIssuer;
use meshcdn_origin::{MeshEngine, MeshLayer};
use meshcdn_tracker::token::{SigningKey, Verifier};
use tower::ServiceExt as _;

fn config() -> OriginConfig {
    OriginConfig {
        trackers: vec!["ws://127.0.0.1:8000/announce".into()],
        ..OriginConfig::default()
    }
}

#[tokio::test]
async fn serve_dir_with_the_layer_rewrites_manifests_and_streams_segments() {
    let key = SigningKey::from_seed("demo", &[42; 32]).unwrap();
    let issuer = Arc::new(TokenIssuer::new(key, vec![], Default::default()));
    let engine = MeshEngine::builder(config()).issuer(issuer).build();
    let addr = serve(local_dir_router(media_dir(), engine.clone())).await;

    let master = client()
        .get(format!("http://{addr}/hls-fmp4/master.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        hls::strip_insertions(&master).as_bytes(),
        media("hls-fmp4/master.m3u8")
    );
    let bootstrap = Bootstrap::decode(&hls::bootstrap_in(&master).unwrap()).unwrap();
    let jwks = client()
        .get(format!("http://{addr}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(
        Verifier::from_jwks_json(&jwks)
            .unwrap()
            .verify(&bootstrap.token.unwrap(), now_ms)
            .unwrap()
            .cid,
        "hls-fmp4"
    );

    let media_pl = client()
        .get(format!("http://{addr}/hls-fmp4/240p/index.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hashes = hls::hashes_in(&media_pl);
    assert_eq!(hashes.len(), 10);
    for (uri, hash) in hashes {
        assert_eq!(hash, sha256_hex(&media(&format!("hls-fmp4/240p/{uri}"))));
    }
    // Byte-range segments are hashed over their ranges through the inner ServeDir.
    let br = client()
        .get(format!("http://{addr}/hls-byterange/index.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let file = media("hls-byterange/index.ts");
    let segs = hls::parse_media(&hls::strip_insertions(&br), 100).unwrap();
    for (seg, (_, hash)) in segs.iter().zip(hls::hashes_in(&br)) {
        let r = seg.range.unwrap();
        assert_eq!(
            hash,
            sha256_hex(&file[r.offset as usize..(r.offset + r.length) as usize])
        );
    }

    let doc: std::collections::BTreeMap<String, String> = client()
        .get(format!("http://{addr}/dash/manifest.mpd{HASH_DOC_SUFFIX}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc.len(), 20);
    let mpd = client()
        .get(format!("http://{addr}/dash/manifest.mpd"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        dash::strip_insertions(&mpd).as_bytes(),
        media("dash/manifest.mpd")
    );

    let seg = client()
        .get(format!("http://{addr}/hls-ts/360p/seg_001.ts"))
        .header("range", "bytes=0-187")
        .send()
        .await
        .unwrap();
    assert_eq!(seg.status(), 206);
    assert_eq!(
        seg.bytes().await.unwrap(),
        &media("hls-ts/360p/seg_001.ts")[..188]
    );
    let stats = engine.stats();
    assert_eq!(stats.manifests_rewritten, 4);
    assert_eq!(stats.fail_open, 0);
    assert_eq!(stats.hashes_computed, 10 + 10 + 20);
}

#[tokio::test]
async fn the_layer_only_touches_manifests_of_an_app() {
    const PLAYLIST: &str = "#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nlow/index.m3u8\r\n";
    let app = Router::new()
        .route(
            "/app/master.m3u8",
            get(|| async { ([(header::ETAG, "\"v1\"")], PLAYLIST) }),
        )
        .route("/app/broken.m3u8", get(|| async { "not a playlist" }))
        .route("/api/status", get(|| async { "{\"ok\":true}" }))
        .layer(MeshLayer::new(MeshEngine::new(config())));

    let response = app
        .clone()
        .oneshot(
            Request::get("/app/master.m3u8")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::ETAG).is_none());
    let length: usize = response.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), length);
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.starts_with("#EXTM3U\r\n#EXT-X-SESSION-DATA:DATA-ID=\"io.meshcdn.bootstrap\""));
    assert_eq!(hls::strip_insertions(text), PLAYLIST);
    let bootstrap = Bootstrap::decode(&hls::bootstrap_in(text).unwrap()).unwrap();
    assert_eq!(bootstrap.content, "app");
    assert!(bootstrap.token.is_none());

    let response = app
        .clone()
        .oneshot(
            Request::get("/app/broken.m3u8")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "not a playlist"
    );

    let response = app
        .clone()
        .oneshot(
            Request::head("/app/master.m3u8")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH].to_str().unwrap(),
        length.to_string()
    );
    assert!(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty()
    );

    let response = app
        .oneshot(Request::get("/api/status").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "{\"ok\":true}"
    );
}

fn manifest_like() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let line = prop_oneof![
        Just("#EXTM3U".to_string()),
        Just("#EXT-X-STREAM-INF:BANDWIDTH=1".to_string()),
        Just("#EXTINF:2,".to_string()),
        Just("#EXT-X-TARGETDURATION:2".to_string()),
        Just("#EXT-X-BYTERANGE:10@0".to_string()),
        Just("#EXT-X-BYTERANGE:5".to_string()),
        Just(
            "<MPD><Period><AdaptationSet><Representation id=\"a\"><BaseURL>f.mp4</BaseURL>"
                .to_string()
        ),
        Just("</Representation></AdaptationSet></Period></MPD>".to_string()),
        "[a-z0-9/._]{1,8}",
        ".{0,10}",
    ];
    (proptest::collection::vec((line, prop_oneof![Just("\n"), Just("\r\n")]), 0..16))
        .prop_map(|lines| lines.into_iter().map(|(l, e)| format!("{l}{e}")).collect())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..proptest::prelude::ProptestConfig::default() })]
    /// Whatever the upstream sends, the Layer serves it unchanged or rewritten (strip gives it
    /// back), and never panics.
    #[test]
    fn any_upstream_manifest_is_served_original_or_rewritten(body in manifest_like(), mpd in proptest::bool::ANY) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let out = runtime.block_on(async {
            let original = body.clone();
            let inner = tower::service_fn(move |_request: Request<Body>| {
                let b = original.clone();
                async move { Ok::<_, std::convert::Infallible>(axum::http::Response::new(Body::from(b))) }
            });
            let service = tower::Layer::layer(&MeshLayer::new(MeshEngine::new(config())), inner);
            let path = if mpd { "/x/a.mpd" } else { "/x/a.m3u8" };
            let response = service.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
        });
        let stripped = if mpd { dash::strip_insertions(&out) } else { hls::strip_insertions(&out) };
        proptest::prop_assert!(out == body || stripped == body, "neither original nor rewritten:\n{out:?}\nfrom\n{body:?}");
    }
}
