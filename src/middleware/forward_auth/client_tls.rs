//! TLS client configurations from Traefik's `ClientTLS` for the `https` authentication server and
//! `rateLimit.redis.tls`: `upstream::client_tls_config` (shared with the OTLP exporters), its
//! errors naming the middleware, ALPN `http/1.1`.

use super::M;
use crate::middleware::config::ForwardAuthTlsConfig;
use crate::middleware::error::MiddlewareError;
use crate::upstream::{client_tls_config, ClientTls};

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
    let mut config = client_tls_config(ClientTls {
        ca: &tls.ca,
        cert: &tls.cert,
        key: &tls.key,
        insecure_skip_verify: tls.insecure_skip_verify,
    })
    .map_err(|e| MiddlewareError::invalid(m, e.option, e.value, e.reason))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
