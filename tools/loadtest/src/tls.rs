//! Client set-up: the WebSocket config and TLS for `wss://` targets.

use std::sync::Arc;

use crate::config::LoadError;

/// tungstenite's default read buffer is 128 KiB and it zeroes the free part before every read:
/// with a thousand sockets reading small frames that memset was a fifth of the generator's CPU,
/// taken from the server it shares the machine with. Tracker frames are a few KiB at most.
pub(crate) fn client_ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// TLS for `wss://` targets: the Mozilla roots plus the CAs in `ca_file`.
pub(crate) fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_tungstenite::Connector, LoadError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| LoadError::Settings(format!("CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(LoadError::Settings(format!(
                "CA file {}: no certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| LoadError::Settings(format!("CA file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoadError::Settings(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
}
