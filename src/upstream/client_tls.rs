//! TLS client configurations from Traefik's `ClientTLS` (`ca`, `cert`, `key`, each inline PEM or
//! a file path, and `insecureSkipVerify`): the `https` forwardAuth server's, `rateLimit.redis.tls`'s
//! and the OTLP collectors' (`tracing.otlp.*.tls`, `metrics.otlp.*.tls`). Reads the PEM files
//! when called (config plane). Without `ca` the server is verified against the Mozilla roots
//! built in (`webpki-roots`), as for `https` servers; Traefik uses the system bundle there.

use std::sync::Arc;

/// Why a `ClientTLS` cannot be applied: the option under `tls` (`tls.ca`, `tls.cert`…), its
/// value as shown to the user (a key is never shown) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTlsError {
    pub option: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl std::fmt::Display for ClientTlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "{} {}", self.option, self.reason)
        } else {
            write!(f, "{} {:?}: {}", self.option, self.value, self.reason)
        }
    }
}

/// Traefik's `ClientTLS`, borrowed from whichever configuration holds it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientTls<'a> {
    pub ca: &'a str,
    pub cert: &'a str,
    pub key: &'a str,
    pub insecure_skip_verify: bool,
}

/// A rustls client configuration (no ALPN: the caller sets it) from `tls`: `ca` replaces the
/// built-in roots, `cert`+`key` is the client certificate (mTLS), `insecureSkipVerify` accepts
/// any server certificate.
pub fn client_tls_config(tls: ClientTls<'_>) -> Result<rustls::ClientConfig, ClientTlsError> {
    let bad = |option: &'static str, value: &str, reason: &'static str| ClientTlsError {
        option,
        // PEM text given inline is not repeated in the message.
        value: match value.contains("-----BEGIN") {
            true => "(inline PEM)".to_string(),
            false => value.to_string(),
        },
        reason,
    };
    let builder = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| bad("tls", "", "no TLS protocol version available"))
    };
    let mut config = if tls.insecure_skip_verify {
        super::insecure_client_config()
            .map_err(|_| bad("tls.insecureSkipVerify", "true", "cannot build"))?
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if tls.ca.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            let pem = pem_text(tls.ca).map_err(|r| bad("tls.ca", tls.ca, r))?;
            let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(bad("tls.ca", tls.ca, "holds no certificate"));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|_| bad("tls.ca", tls.ca, "unusable certificate"))?;
            }
        }
        builder()?
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    match (tls.cert.is_empty(), tls.key.is_empty()) {
        (true, true) => {}
        (false, false) => {
            let cert_pem = pem_text(tls.cert).map_err(|r| bad("tls.cert", tls.cert, r))?;
            let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(bad("tls.cert", tls.cert, "holds no certificate"));
            }
            let key_pem = pem_text(tls.key).map_err(|r| bad("tls.key", "(hidden)", r))?;
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
    Ok(config)
}

/// PEM text given inline or as a file path (Traefik's `types.FileOrContent`).
pub fn pem_text(value: &str) -> Result<Vec<u8>, &'static str> {
    if value.contains("-----BEGIN") {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|_| "cannot read the file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_option_and_never_repeat_pem_text() {
        let inline = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
        let err = client_tls_config(ClientTls {
            ca: inline,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.option, "tls.ca");
        assert_eq!(
            err.to_string(),
            "tls.ca \"(inline PEM)\": unusable certificate"
        );
        let err = client_tls_config(ClientTls {
            ca: "/nonexistent/ca.pem",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tls.ca \"/nonexistent/ca.pem\": cannot read the file"
        );
        let err = client_tls_config(ClientTls {
            key: "/k.pem",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "tls.cert is required with tls.key");
        assert!(client_tls_config(ClientTls::default()).is_ok());
    }
}
