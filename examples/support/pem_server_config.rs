//! `--tls CERT KEY` of the echo servers: a rustls server configuration
//! from PEM files (the certificate chain, leaf first, and its private key),
//! offering ALPN `http/1.1` as a WebSocket handshake needs.

#[cfg(feature = "rustls")]
pub use with_rustls::server_config;

#[cfg(feature = "rustls")]
mod with_rustls {
    use rfc6455::rustls::crypto::ring;
    use rfc6455::rustls::pki_types::pem::PemObject;
    use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rfc6455::rustls::ServerConfig;
    use std::sync::Arc;

    /// The configuration for `cert` and `key`, or what is wrong with them.
    pub fn server_config(cert: &str, key: &str) -> Result<Arc<ServerConfig>, String> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{cert}: {e}"))?;
        if chain.is_empty() {
            return Err(format!("{cert}: no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| format!("TLS configuration: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Without the `rustls` feature there is no TLS to configure.
#[cfg(not(feature = "rustls"))]
pub fn server_config(_cert: &str, _key: &str) -> Result<std::convert::Infallible, String> {
    Err("--tls needs the rustls feature: cargo run --features rustls ...".into())
}
