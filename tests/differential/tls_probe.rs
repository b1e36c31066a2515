//! One TLS probe for the differential groups: a blocking rustls client (any server certificate
//! accepted; optionally a client certificate, one TLS version, one cipher suite, X25519 only, or
//! `h2` offered) that sends one HTTP/1.1 request over a fresh connection and reads the answer to
//! its end. Both proxies get exactly the same bytes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::ClientConfig;

// The server is not the subject: any certificate is accepted (one copy, in tests/support).
use crate::support::tls::AcceptAll;

/// A client certificate chain (leaf first) and its key in PEM.
pub type ClientCert = (Vec<CertificateDer<'static>>, String);

/// How one probe's client is built.
#[derive(Clone, Copy)]
pub struct Client<'a> {
    pub tls12_only: bool,
    pub tls13_only: bool,
    pub suite: Option<rustls::SupportedCipherSuite>,
    pub x25519_only: bool,
    pub cert: Option<&'a ClientCert>,
    /// Offer `h2` and stop after the handshake: the probe reports the negotiated protocol.
    pub h2: bool,
}

pub const DEFAULT: Client<'static> = Client {
    tls12_only: false,
    tls13_only: false,
    suite: None,
    x25519_only: false,
    cert: None,
    h2: false,
};

fn config(c: &Client<'_>) -> ClientConfig {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suite) = c.suite {
        provider.cipher_suites = vec![suite];
    }
    if c.x25519_only {
        provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    }
    let provider = Arc::new(provider);
    let versions: &[&'static rustls::SupportedProtocolVersion] = if c.tls12_only {
        &[&rustls::version::TLS12]
    } else if c.tls13_only {
        &[&rustls::version::TLS13]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .expect("client versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAll(provider)));
    let mut config = match c.cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(
                chain.clone(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("client key"),
            )
            .expect("client certificate"),
    };
    config.alpn_protocols = if c.h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    config
}

/// Sends `request` (a whole HTTP/1.1 request) to `addr` with `sni`: `Ok` with the whole answer,
/// or `Err` with what stands for it: `connect failed`, `client error`, `refused` (handshake or
/// write failed), or for an `h2` probe `alpn <protocol>`.
pub fn exchange(
    addr: SocketAddr,
    c: &Client<'_>,
    sni: &str,
    request: &str,
) -> Result<String, String> {
    let Ok(mut tcp) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return Err("connect failed".to_string());
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let name = ServerName::try_from(sni.to_string()).expect("server name");
    let Ok(mut conn) = rustls::ClientConnection::new(Arc::new(config(c)), name) else {
        return Err("client error".to_string());
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            return Err("refused".to_string());
        }
    }
    if c.h2 {
        let alpn = conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        return Err(format!("alpn {}", alpn.unwrap_or_default()));
    }
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    if tls.write_all(request.as_bytes()).is_err() {
        return Err("refused".to_string());
    }
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// The status of an HTTP/1.1 answer; `refused` when there is none.
pub fn status(answer: &str) -> String {
    match answer.strip_prefix("HTTP/1.1 ") {
        Some(rest) => rest.chars().take(3).collect(),
        None => "refused".to_string(),
    }
}
