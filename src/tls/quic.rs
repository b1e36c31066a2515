//! TLS for QUIC (HTTP/3): the rustls configuration a QUIC handshake of one entrypoint uses,
//! derived from the same SNI selection (`SniPlan`) and certificate store as the TCP side.
//!
//! QUIC gives no ClientHello to look at before the handshake starts, so one options set serves
//! every QUIC handshake of an entrypoint: the one its TCP handshakes without a listed server name
//! get (the entrypoint's default options), cloned with ALPN `h3` and TLS 1.3 only (QUIC has no
//! other). A server name whose selection is another options set (another client-auth policy,
//! other suites, `sniStrict`) is refused over QUIC, fail closed: its clients stay on TCP, where
//! `Alt-Svc` is only a hint. Certificates are still chosen per server name, through the chosen
//! set's own resolver (the shared `CertStore`, ACME certificates included).

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::accept::{Acceptor, Chosen};

/// ALPN of HTTP/3 (RFC 9114).
pub const ALPN_H3: &[u8] = b"h3";

/// A QUIC server configuration and the key of the options set it was derived from.
#[derive(Clone)]
pub struct QuicTls {
    pub config: Arc<rustls::ServerConfig>,
    /// `table::tls_options::key` of the options set (what routes compare).
    pub key: u32,
    /// The options set it was derived from (to tell when a reload changed it).
    pub base: Arc<rustls::ServerConfig>,
}

/// The QUIC configuration of `acceptor`'s entrypoint as its options stand now; `None` when the
/// entrypoint refuses handshakes without a listed server name (no default options).
pub fn config(acceptor: &Acceptor) -> Option<QuicTls> {
    let chosen = acceptor.choose(None)?;
    Some(derive(acceptor, &chosen))
}

/// Whether `current` was derived from the options `acceptor` chooses now.
pub fn is_current(acceptor: &Acceptor, current: &QuicTls) -> bool {
    acceptor
        .choose(None)
        .is_some_and(|c| c.key == current.key && Arc::ptr_eq(&c.config, &current.base))
}

fn derive(acceptor: &Acceptor, chosen: &Chosen) -> QuicTls {
    let mut config = (*chosen.config).clone();
    config.alpn_protocols = vec![ALPN_H3.to_vec()];
    // 0-RTT data could be replayed; Traefik does not allow it either.
    config.max_early_data_size = 0;
    config.cert_resolver = Arc::new(SameOptions {
        acceptor: acceptor.clone(),
        key: chosen.key,
    });
    QuicTls {
        config: Arc::new(config),
        key: chosen.key,
        base: Arc::clone(&chosen.config),
    }
}

/// A configuration that refuses every handshake: what a QUIC endpoint holds so that it hands
/// connection attempts to its accept loop at all (which accepts each with `config`).
pub fn refusing() -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Refuse));
    config.alpn_protocols = vec![ALPN_H3.to_vec()];
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct Refuse;

impl ResolvesServerCert for Refuse {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

/// Resolves the certificate as the TCP side would, for server names whose options are the
/// ones the QUIC configuration was derived from; refuses the others.
#[derive(Debug)]
struct SameOptions {
    acceptor: Acceptor,
    key: u32,
}

impl ResolvesServerCert for SameOptions {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = self.acceptor.choose(hello.server_name())?;
        if chosen.key != self.key {
            tracing::debug!(
                sni = ?hello.server_name(),
                "QUIC handshake refused: this server name has other TLS options than the entrypoint's default"
            );
            return None;
        }
        chosen.config.cert_resolver.resolve(hello)
    }
}
