//! TLS client configurations from Traefik's `ClientTLS` (`ca`, `cert`, `key`, inline PEM or file
//! paths, `insecureSkipVerify`): the `https` authentication server's, and `rateLimit.redis.tls`'s.
//! Reads the PEM files when compiling.

use std::sync::Arc;

use super::M;
use crate::middleware::config::ForwardAuthTlsConfig;
use crate::middleware::error::MiddlewareError;

/// Root CAs, client certificate and verification for an `https` authentication server.
pub(super) fn client_tls(
    tls: &ForwardAuthTlsConfig,
) -> Result<rustls::ClientConfig, MiddlewareError> {
    client_tls_for(M, tls)
}

/// A TLS client configuration from Traefik's `ClientTLS` (`ca`, `cert`, `key`,
/// `insecureSkipVerify`); errors name middleware `m`. Also used by `rateLimit.redis.tls`.
pub(crate) fn client_tls_for(
    m: &'static str,
    tls: &ForwardAuthTlsConfig,
) -> Result<rustls::ClientConfig, MiddlewareError> {
    let bad = |option: &'static str, value: &str, reason: &'static str| {
        MiddlewareError::invalid(m, option, value, reason)
    };
    let builder = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| bad("tls", "", "no TLS protocol version available"))
    };
    let mut config = if tls.insecure_skip_verify {
        crate::upstream::insecure_client_config()
            .map_err(|_| bad("tls.insecureSkipVerify", "true", "cannot build"))?
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if tls.ca.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            let pem = pem_text(&tls.ca).map_err(|r| bad("tls.ca", &tls.ca, r))?;
            let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(bad("tls.ca", &tls.ca, "holds no certificate"));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|_| bad("tls.ca", &tls.ca, "unusable certificate"))?;
            }
        }
        builder()?
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    match (tls.cert.is_empty(), tls.key.is_empty()) {
        (true, true) => {}
        (false, false) => {
            let cert_pem = pem_text(&tls.cert).map_err(|r| bad("tls.cert", &tls.cert, r))?;
            let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(bad("tls.cert", &tls.cert, "holds no certificate"));
            }
            let key_pem = pem_text(&tls.key).map_err(|r| bad("tls.key", "(hidden)", r))?;
            let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
                .ok()
                .flatten()
                .ok_or_else(|| bad("tls.key", "(hidden)", "holds no private key"))?;
            // The client certificate is the same whichever way the server is verified.
            let with_cert = builder()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_client_auth_cert(certs, key)
                .map_err(|_| bad("tls.key", "(hidden)", "does not match tls.cert"))?;
            config.client_auth_cert_resolver = with_cert.client_auth_cert_resolver;
        }
        (true, false) => return Err(bad("tls.cert", "", "is required with tls.key")),
        (false, true) => return Err(bad("tls.key", "", "is required with tls.cert")),
    }
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// PEM text given inline or as a file path (Traefik's `types.FileOrContent`).
pub(super) fn pem_text(value: &str) -> Result<Vec<u8>, &'static str> {
    if value.contains("-----BEGIN") {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|_| "cannot read the file")
}
