//! The load generator against a real edge host over wss, with and without its CA.

use std::time::Duration;

use meshcdn_edge::{EdgeConfig, EngineKind};
use meshcdn_loadtest::{LoadConfig, LoadError};

#[tokio::test]
async fn the_load_generator_speaks_wss_with_a_given_ca() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut c = EdgeConfig {
        engine: EngineKind::Native,
        shards: 2,
        tls: Some(meshcdn_edge::config::TlsConfig {
            cert: cert_path.clone(),
            key: key_path,
        }),
        ..Default::default()
    };
    c.auth.open = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let edge = meshcdn_edge::serve(c, listener).await.unwrap();
    let load = |ca_file| LoadConfig {
        target: format!("wss://localhost:{}/announce", edge.local_addr().port()),
        ca_file,
        connections: 8,
        swarms: 2,
        duration: Duration::from_secs(1),
        ..Default::default()
    };
    let report = meshcdn_loadtest::run(load(Some(cert_path))).await.unwrap();
    assert_eq!(report.connected, 8);
    assert!(report.announces > 0 && report.responses > 0, "{report:?}");
    // Without the edge's CA the certificate is not trusted: no connection, a clear error.
    match meshcdn_loadtest::run(load(None)).await {
        Err(LoadError::Connect { source, .. }) => {
            let error = source.to_string();
            assert!(error.to_lowercase().contains("certificate"), "{error}")
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    edge.shutdown().await;
}
