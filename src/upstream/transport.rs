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
/// Default connect timeout to a Swarm task's overlay address (servers the Swarm provider marks
/// `overlay`) when `forwardingTimeouts.dialTimeout` is not set: a task that is gone blackholes
/// SYNs, and a connect on a live overlay answers in well under a millisecond, so a few hundred
/// milliseconds bound what a stale endpoint costs before the request goes to another task.
pub const DEFAULT_TASK_CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// Least `TCP_USER_TIMEOUT` on connections to Swarm task addresses: unacknowledged request bytes
/// error the connection after this long (a node that vanished), well above a retransmission or
/// two on a live overlay. `dialTimeout` raises it.
pub const MIN_TASK_USER_TIMEOUT: Duration = Duration::from_secs(1);
/// Traefik's default `maxIdleConnsPerHost`.
pub const DEFAULT_MAX_IDLE: usize = 200;
/// How long an idle upstream connection is kept (Traefik: `idleConnTimeout` 90 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read {path}: {source}")]
    ReadCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no usable certificate")]
    NoCertificate { path: String },
    #[error("cannot build TLS client configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// An option swarmgate cannot honour or a value it does not understand (fail closed).
    #[error("{0}")]
    Invalid(String),
}

/// Upstream connection settings shared by all servers of the services that use it.
#[derive(Debug)]
pub struct Transport {
    pub connect_timeout: Duration,
    /// Connect timeout to Swarm task addresses: `dialTimeout` when set, else
    /// [`DEFAULT_TASK_CONNECT_TIMEOUT`].
    pub task_connect_timeout: Duration,
    /// `TCP_USER_TIMEOUT` (and keepalive probe time) on connections to Swarm task addresses: the
    /// larger of `dialTimeout` and [`MIN_TASK_USER_TIMEOUT`].
    pub task_user_timeout: Duration,
    pub response_header_timeout: Option<Duration>,
    pub idle_timeout: Duration,
    pub max_idle: usize,
    pub server_name: Option<String>,
    /// `https` servers: ALPN `h2` then `http/1.1` (HTTP/1.1 only with `disableHTTP2`).
    pub tls: Arc<rustls::ClientConfig>,
    /// `https` servers for requests that need HTTP/1.1 (upgrades): ALPN `http/1.1` only.
    pub tls_h1: Arc<rustls::ClientConfig>,
    /// Keep connections for reuse (false for a negative `maxIdleConnsPerHost`).
    pub reuse: bool,
    /// HTTP/2 servers: `readIdleTimeout` (PING after this long without a frame) and `pingTimeout`.
    pub h2_ping: Option<(Duration, Duration)>,
}

/// Traefik's `pingTimeout` default.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(15);

impl Transport {
    pub fn from_config(cfg: &ServersTransportConfig) -> Result<Transport, TransportError> {
        if cfg.spiffe.is_some() {
            return Err(TransportError::Invalid(
                "spiffe: SPIFFE upstream authentication is not supported by swarmgate; use \
                 certificates (mTLS) and rootCAs instead"
                    .to_string(),
            ));
        }
        let timeouts = cfg.forwarding_timeouts.clone().unwrap_or_default();
        let nonzero = |d: Option<crate::config::Duration>| d.map(|d| d.0).filter(|d| !d.is_zero());
        let tls = client_tls(cfg)?;
        let mut tls_h1 = tls.clone();
        tls_h1.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut tls = tls;
        tls.alpn_protocols = if cfg.disable_http2 {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        let max_idle = cfg.max_idle_conns_per_host.unwrap_or(0);
        Ok(Transport {
            connect_timeout: nonzero(timeouts.dial_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            task_connect_timeout: nonzero(timeouts.dial_timeout)
                .unwrap_or(DEFAULT_TASK_CONNECT_TIMEOUT),
            task_user_timeout: nonzero(timeouts.dial_timeout)
                .map_or(MIN_TASK_USER_TIMEOUT, |d| d.max(MIN_TASK_USER_TIMEOUT)),
            response_header_timeout: nonzero(timeouts.response_header_timeout),
            idle_timeout: nonzero(timeouts.idle_conn_timeout).unwrap_or(DEFAULT_IDLE_TIMEOUT),
            max_idle: match max_idle {
                n if n > 0 => usize::try_from(n).unwrap_or(DEFAULT_MAX_IDLE),
                _ => DEFAULT_MAX_IDLE,
            },
            reuse: max_idle >= 0,
            server_name: cfg.server_name.clone().filter(|n| !n.is_empty()),
            tls: Arc::new(tls),
            tls_h1: Arc::new(tls_h1),
            h2_ping: nonzero(timeouts.read_idle_timeout).map(|idle| {
                (
                    idle,
                    nonzero(timeouts.ping_timeout).unwrap_or(DEFAULT_PING_TIMEOUT),
                )
            }),
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
    let invalid = TransportError::Invalid;
    let (tls12, tls13) =
        crate::config::tls_names::cipher_suites(cfg.cipher_suites.as_deref()).map_err(invalid)?;
    let mut versions =
        crate::config::tls_names::versions(cfg.min_version.as_deref(), cfg.max_version.as_deref())
            .map_err(invalid)?;
    if tls12.is_empty() {
        versions.retain(|v| v.version != rustls::ProtocolVersion::TLSv1_2);
    }
    let base = rustls::crypto::ring::default_provider();
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: tls13.into_iter().chain(tls12).collect(),
        ..base
    });
    let mut roots = rustls::RootCertStore::empty();
    if cfg.root_cas.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    // As Traefik: rootCAs replace the system roots.
    for entry in &cfg.root_cas {
        let certs =
            read_certs(entry).map_err(|e| TransportError::Invalid(format!("rootCAs: {e}")))?;
        for cert in certs {
            roots.add(cert)?;
        }
    }
    let mut sans: Vec<PeerSan> = Vec::new();
    for san in &cfg.peer_cert_sans {
        sans.push(match san.kind.as_str() {
            "URI" => PeerSan::Uri(san.value.clone()),
            "DNSName" => PeerSan::Dns(san.value.to_ascii_lowercase()),
            other => {
                return Err(TransportError::Invalid(format!(
                    "peerCertSANs: unknown type {other:?} (URI or DNSName)"
                )))
            }
        });
    }
    if let Some(uri) = cfg.peer_cert_uri.as_deref().filter(|u| !u.is_empty()) {
        sans.push(PeerSan::Uri(uri.to_string()));
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)?;
    let verifier: Option<Arc<dyn ServerCertVerifier>> =
        if cfg.insecure_skip_verify && sans.is_empty() {
            Some(Arc::new(NoVerify(Arc::clone(&provider))))
        } else if sans.is_empty() {
            None
        } else {
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots.clone()),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| TransportError::Invalid(format!("rootCAs: {e}")))?;
            Some(Arc::new(SanVerifier {
                inner: webpki,
                skip_hostname: cfg.insecure_skip_verify,
                sans,
            }))
        };
    let builder = match verifier {
        Some(v) => builder.dangerous().with_custom_certificate_verifier(v),
        None => builder.with_root_certificates(roots),
    };
    let config = if cfg.certificates.is_empty() {
        builder.with_no_client_auth()
    } else {
        // Several certificates: each handshake presents the one the server's acceptable CAs
        // name, as Go does (see `client_cert`).
        let mut keys = Vec::with_capacity(cfg.certificates.len());
        for entry in &cfg.certificates {
            let chain = read_certs(&entry.cert_file)
                .map_err(|e| TransportError::Invalid(format!("certificates: certFile {e}")))?;
            let key = provider
                .key_provider
                .load_private_key(read_key(&entry.key_file)?)
                .map_err(|e| TransportError::Invalid(format!("certificates: {e}")))?;
            let certified = rustls::sign::CertifiedKey::new(chain, key);
            certified
                .keys_match()
                .or_else(|e| match e {
                    // A key whose public half rustls cannot extract: nothing to compare.
                    rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown) => Ok(()),
                    other => Err(other),
                })
                .map_err(|e| {
                    TransportError::Invalid(format!(
                        "certificates: certFile {} and its keyFile: {e}",
                        shown(&entry.cert_file)
                    ))
                })?;
            keys.push(Arc::new(certified));
        }
        builder.with_client_cert_resolver(Arc::new(super::client_cert::ByAcceptableCa::new(keys)))
    };
    Ok(config)
}

/// The bytes of a `FileOrContent`: the file when one exists at that path, else the PEM itself.
fn file_or_content(entry: &str) -> Result<Vec<u8>, TransportError> {
    let path = std::path::Path::new(entry);
    if path.is_file() {
        return std::fs::read(path).map_err(|source| TransportError::ReadCa {
            path: entry.to_string(),
            source,
        });
    }
    if entry.contains("-----BEGIN") {
        return Ok(entry.as_bytes().to_vec());
    }
    Err(TransportError::ReadCa {
        path: entry.to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "neither a readable file nor PEM content",
        ),
    })
}

/// Reads every certificate of a PEM file (or inline PEM).
pub fn read_certs(entry: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let data = file_or_content(entry)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut data.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TransportError::NoCertificate { path: shown(entry) });
    }
    Ok(certs)
}

fn read_key(entry: &str) -> Result<rustls::pki_types::PrivateKeyDer<'static>, TransportError> {
    let data = file_or_content(entry)?;
    match rustls_pemfile::private_key(&mut data.as_slice()) {
        Ok(Some(key)) => Ok(key),
        _ => Err(TransportError::Invalid(format!(
            "certificates: keyFile {} holds no usable private key",
            shown(entry)
        ))),
    }
}

/// A `FileOrContent` for messages: the path, or `<inline PEM>` (keys are never logged).
fn shown(entry: &str) -> String {
    if entry.contains("-----BEGIN") {
        "<inline PEM>".to_string()
    } else {
        entry.to_string()
    }
}

/// A SAN the server certificate must carry (`peerCertURI`, `peerCertSANs`).
#[derive(Debug)]
enum PeerSan {
    Uri(String),
    Dns(String),
}

/// Traefik's `VerifyPeerCertificate`: the chain verified against the roots (the host name too
/// unless `insecureSkipVerify`), then the leaf must carry one of the SANs.
#[derive(Debug)]
struct SanVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    skip_hostname: bool,
    sans: Vec<PeerSan>,
}

/// `*.example.com` matches one label; names compare case-insensitively.
fn dns_matches(pattern: &str, name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => name == pattern,
    }
}

impl ServerCertVerifier for SanVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError as CE;
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(_) => {}
            // webpki checks the chain before the name: a name error means the chain is good.
            Err(rustls::Error::InvalidCertificate(
                CE::NotValidForName | CE::NotValidForNameContext { .. },
            )) if self.skip_hostname => {}
            Err(e) => return Err(e),
        }
        let bad = || {
            rustls::Error::InvalidCertificate(CE::Other(rustls::OtherError(Arc::new(
                std::io::Error::other("no matching SAN in peer certificate"),
            ))))
        };
        let (_, cert) =
            x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| bad())?;
        let names = match cert.subject_alternative_name() {
            Ok(Some(ext)) => ext.value.general_names.clone(),
            _ => Vec::new(),
        };
        use x509_parser::extensions::GeneralName;
        let found = self.sans.iter().any(|want| {
            names.iter().any(|have| match (want, have) {
                (PeerSan::Uri(w), GeneralName::URI(h)) => w.eq_ignore_ascii_case(h),
                (PeerSan::Dns(w), GeneralName::DNSName(h)) => {
                    dns_matches(&h.to_ascii_lowercase(), w)
                }
                _ => false,
            })
        });
        if found {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(bad())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
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
