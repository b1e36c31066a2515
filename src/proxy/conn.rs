//! What the entrypoint knows about a client connection, handed to every request phase and to
//! the access log. Its own room on a low floor (`tests/architecture.rs`): `observe` reads it and
//! must not import the rest of `proxy/`.

use std::net::SocketAddr;

/// What the entrypoint knows about a client connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
    /// The key of the TLS options the connection was handshaken with (0: plain).
    pub tls_options: u32,
}
