//! `Transport`: how swarmgate reaches upstream servers (Traefik's `serversTransport`): connect and
//! response timeouts, idle pool size, and the rustls client configuration for `https` servers.
//!
//! Built in the config plane; reading PEM files is the only I/O.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::dynamic::ServersTransportConfig;

/// Default upstream connect timeout. Short on purpose: on an overlay network a vanished task drops
/// SYNs instead of refusing, and a long dial timeout turns every such connect into a hang.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Traefik's default `maxIdleConnsPerHost`.
pub const DEFAULT_MAX_IDLE: usize = 200;
/// How long an idle upstream connection is kept (Traefik: `idleConnTimeout` 90 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read root CA file {path}: {source}")]
    ReadCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("root CA file {path} holds no usable certificate")]
    NoCertificate { path: String },
    #[error("cannot build TLS client configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// Upstream connection settings shared by all servers of the services that use it.
#[derive(Debug)]
pub struct Transport {
    pub connect_timeout: Duration,
    pub response_header_timeout: Option<Duration>,
    pub idle_timeout: Duration,
    pub max_idle: usize,
    pub server_name: Option<String>,
    pub tls: Arc<rustls::ClientConfig>,
}

impl Transport {
    pub fn from_config(cfg: &ServersTransportConfig) -> Result<Transport, TransportError> {
        let timeouts = cfg.forwarding_timeouts.clone().unwrap_or_default();
        let nonzero = |d: Option<crate::config::Duration>| d.map(|d| d.0).filter(|d| !d.is_zero());
        Ok(Transport {
            connect_timeout: nonzero(timeouts.dial_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            response_header_timeout: nonzero(timeouts.response_header_timeout),
            idle_timeout: nonzero(timeouts.idle_conn_timeout).unwrap_or(DEFAULT_IDLE_TIMEOUT),
            max_idle: cfg
                .max_idle_conns_per_host
                .unwrap_or(DEFAULT_MAX_IDLE)
                .max(1),
            server_name: cfg.server_name.clone(),
            tls: Arc::new(client_tls(cfg)?),
        })
    }
}

impl Default for Transport {
    fn default() -> Self {
        // Invariant: the default transport reads no file and ring supports the safe protocol
        // versions, so building it cannot fail.
        Transport::from_config(&ServersTransportConfig::default())
            .expect("default transport needs no file and uses ring's safe defaults")
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_tls(cfg: &ServersTransportConfig) -> Result<rustls::ClientConfig, TransportError> {
    let mut config = if cfg.insecure_skip_verify {
        insecure_client_config()?
    } else {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for path in &cfg.root_cas {
            for cert in read_certs(path)? {
                roots.add(cert)?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads every certificate of a PEM file.
pub fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let data = std::fs::read(path).map_err(|source| TransportError::ReadCa {
        path: path.to_string(),
        source,
    })?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut data.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TransportError::NoCertificate {
            path: path.to_string(),
        });
    }
    Ok(certs)
}

/// A client configuration that accepts any server certificate (`insecureSkipVerify`, and the
/// health checker's `https` probes). Handshake signatures are still checked.
pub fn insecure_client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
        .with_no_client_auth())
}

/// `insecureSkipVerify`: accept any server certificate (signatures are still checked).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
