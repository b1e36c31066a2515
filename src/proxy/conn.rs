//! What the entrypoint knows about a client connection, handed to every request phase and to
//! the access log. Its own room on a low floor (`tests/architecture.rs`): `observe` reads it and
//! must not import the rest of `proxy/`.

use std::net::SocketAddr;
use std::sync::Arc;

/// What the entrypoint knows about a client connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
    /// The key of the TLS options the connection was handshaken with (0: plain).
    pub tls_options: u32,
    /// The certificates a mutual-TLS client sent (leaf first); `None` when it sent none.
    pub client_certs: Option<Arc<[rustls::pki_types::CertificateDer<'static>]>>,
    /// The negotiated TLS version and cipher suite (Traefik's `*_requests_tls_total` labels).
    pub negotiated: Option<crate::config::negotiated::Negotiated>,
}
