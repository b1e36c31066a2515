//! HTTP/3: a QUIC listener (`quinn` + `h3`) on the UDP side of a TLS entrypoint's address,
//! a third front end to the one request path. Each request becomes an `http::Request` with a
//! streamed body (`body::RequestBody`) and goes to the entrypoint's `Proxy::handle`, as HTTP/1.1
//! and HTTP/2 requests do (same table, middlewares, balancers, pools, metrics and access log,
//! protocol `HTTP/3.0`); the response streams back, trailers included (`request.rs`).
//!
//! TLS comes from `tls::quic` (per server name, the options set and certificates the TCP side
//! would use; TLS 1.3,
//! ALPN `h3`). Limits are the entrypoint's: streams per connection
//! (`http2.maxConcurrentStreams`), header size (`transport.maxHeaderBytes`), idle timeout
//! (`respondingTimeouts.idleTimeout`), the connection cap (`transport.maxConnections`, one gate
//! with the TCP side). Under a flood of Initial packets, clients whose address is not validated
//! get a Retry (RFC 9000 §8.1) once `RETRY_ABOVE` handshakes are in progress; quinn keeps the
//! anti-amplification limit (3×) until then. On shutdown each connection gets a GOAWAY, its
//! requests in flight finish within the grace period, then the endpoint closes.
//!
//! Owns no routing: everything after the request head is `Proxy`'s.

mod body;
mod request;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::limits::{Admission, ConnectionGate};
use super::service::{ConnInfo, Proxy};
use crate::tls::quic::{QuicHandshake, QuicTls};

pub use body::RequestBody;

/// Handshakes in progress above which a client whose address is not yet validated is sent a
/// Retry first (one more round trip for it, no state nor amplification for a spoofed source).
pub const RETRY_ABOVE: usize = 64;

/// Handshakes quinn buffers before refusing more (`max_incoming`).
const MAX_INCOMING: usize = 4096;

/// The limits of one HTTP/3 listener (see `from_entrypoint`).
#[derive(Debug, Clone)]
pub struct H3Options {
    /// Concurrent request streams per connection.
    pub max_concurrent_streams: u32,
    /// Largest request header section (QPACK-decoded), as SETTINGS_MAX_FIELD_SECTION_SIZE.
    pub max_header_bytes: usize,
    /// Close a connection idle this long (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// How long requests in flight may run after shutdown starts.
    pub grace: Duration,
    /// Handshakes in progress above which unvalidated clients get a Retry (0: always).
    pub retry_above: usize,
}

impl H3Options {
    /// The limits of the TCP side of the same entrypoint.
    pub fn from_entrypoint(options: &super::EntryPointOptions) -> Self {
        H3Options {
            max_concurrent_streams: options.h2_max_concurrent_streams.max(1),
            max_header_bytes: options.max_header_bytes,
            idle_timeout: options.idle_timeout.filter(|d| !d.is_zero()),
            grace: options.grace,
            retry_above: RETRY_ABOVE,
        }
    }
}

/// A bound QUIC endpoint serving HTTP/3 for one entrypoint.
pub struct H3EntryPoint {
    endpoint: quinn::Endpoint,
    proxy: Arc<Proxy>,
    options: H3Options,
    gate: ConnectionGate,
    handshaking: Arc<AtomicUsize>,
    retries: Arc<AtomicU64>,
}

impl H3EntryPoint {
    /// Binds UDP `addr` (the TCP listener's address). TLS options are read per connection.
    pub fn bind(
        addr: SocketAddr,
        proxy: Arc<Proxy>,
        tls: crate::tls::Acceptor,
        options: H3Options,
        gate: ConnectionGate,
    ) -> std::io::Result<H3EntryPoint> {
        let socket = std::net::UdpSocket::bind(addr)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| std::io::Error::other("no async runtime for QUIC (not inside tokio)"))?;
        let mut endpoint_config = quinn::EndpointConfig::default();
        // A QUIC bit always set: some middleboxes drop packets without it.
        endpoint_config.grease_quic_bit(false);
        // One crypto configuration for every handshake: it chooses the TLS options per server
        // name from the entrypoint's plan of the moment (`tls::quic`).
        let crypto = QuicTls::new(tls).map_err(std::io::Error::other)?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport.max_concurrent_bidi_streams(options.max_concurrent_streams.into());
        // Control, QPACK encoder and decoder streams, and room for a few unknown ones.
        transport.max_concurrent_uni_streams(8u32.into());
        transport.max_idle_timeout(
            options
                .idle_timeout
                .and_then(|d| quinn::IdleTimeout::try_from(d).ok()),
        );
        config.transport_config(Arc::new(transport));
        // Read from the endpoint's own configuration: attempts quinn holds at most.
        config.max_incoming(MAX_INCOMING);
        let endpoint = quinn::Endpoint::new(endpoint_config, Some(config), socket, runtime)?;
        Ok(H3EntryPoint {
            endpoint,
            proxy,
            options,
            gate,
            handshaking: Arc::new(AtomicUsize::new(0)),
            retries: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many connection attempts were answered with a Retry so far (it keeps counting while
    /// the endpoint serves).
    pub fn retries(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.retries)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Accepts until `shutdown` turns true, then sends every connection a GOAWAY and waits up to
    /// the grace period for their requests.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let name = self.proxy.name().to_string();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                incoming = self.endpoint.accept() => {
                    let Some(incoming) = incoming else { break };
                    self.admit(incoming, &mut connections, &shutdown);
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                _ = crate::shutdown::stopped(&mut shutdown) => break,
            }
        }
        tracing::info!(entrypoint = %name, open = connections.len(), "HTTP/3: stopped accepting; draining connections");
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(self.options.grace, drained)
            .await
            .is_err()
        {
            tracing::warn!(entrypoint = %name, "HTTP/3: grace period over; closing remaining connections");
        }
        self.endpoint
            .close(quinn::VarInt::from_u32(H3_NO_ERROR), b"shutdown");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }

    /// Retry, refuse or accept one connection attempt.
    fn admit(
        &self,
        incoming: quinn::Incoming,
        connections: &mut JoinSet<()>,
        shutdown: &watch::Receiver<bool>,
    ) {
        if !incoming.remote_address_validated()
            && incoming.may_retry()
            && self.handshaking.load(Ordering::Relaxed) >= self.options.retry_above
        {
            if incoming.retry().is_ok() {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let Some(admission) = self.gate.admit() else {
            incoming.refuse();
            return;
        };
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(error) => return tracing::debug!(%error, "QUIC connection attempt failed"),
        };
        let conn = Conn {
            proxy: Arc::clone(&self.proxy),
            options: self.options.clone(),
            local: self.endpoint.local_addr().ok(),
            handshaking: Arc::clone(&self.handshaking),
        };
        connections.spawn(conn.run(connecting, admission, shutdown.clone()));
    }
}

/// HTTP/3's "no error" code (RFC 9114 §8.1).
const H3_NO_ERROR: u32 = 0x100;

/// What one connection's task needs.
struct Conn {
    proxy: Arc<Proxy>,
    options: H3Options,
    local: Option<SocketAddr>,
    handshaking: Arc<AtomicUsize>,
}

impl Conn {
    async fn run(
        self,
        connecting: quinn::Connecting,
        admission: Admission,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let _admission = admission;
        self.handshaking.fetch_add(1, Ordering::Relaxed);
        let connected = connecting.await;
        self.handshaking.fetch_sub(1, Ordering::Relaxed);
        let connection = match connected {
            Ok(connection) => connection,
            Err(error) => return tracing::debug!(%error, "QUIC handshake failed"),
        };
        let peer = connection.remote_address();
        let handshake = connection
            .handshake_data()
            .and_then(|data| data.downcast::<QuicHandshake>().ok());
        let info = ConnInfo {
            peer,
            local: self.local.unwrap_or(peer),
            tls: true,
            tls_options: handshake.as_ref().map_or(0, |h| h.key),
            client_certs: client_certs(&connection),
            negotiated: handshake.and_then(|h| h.negotiated),
        };
        let _open = (self.proxy.observer())
            .and_then(|o| o.connection_opened(self.proxy.entrypoint_index()));
        let mut h3 = match h3::server::builder()
            .max_field_section_size(self.options.max_header_bytes as u64)
            // No GREASE frames nor streams (RFC 9114 §7.2.8): aioquic 1.3 never reports the end of
            // a response whose last frame is one (its client waits forever), and quic-go, which
            // serves Traefik's HTTP/3, sends none either.
            .send_grease(false)
            .build::<_, bytes::Bytes>(h3_quinn::Connection::new(connection.clone()))
            .await
        {
            Ok(h3) => h3,
            Err(error) => return tracing::debug!(%peer, %error, "HTTP/3 connection setup failed"),
        };
        let mut requests = JoinSet::new();
        let mut closing = false;
        loop {
            // After the GOAWAY, the connection ends with its last request.
            if closing && requests.is_empty() {
                break;
            }
            tokio::select! {
                accepted = h3.accept() => match accepted {
                    Ok(Some(resolver)) => {
                        let proxy = Arc::clone(&self.proxy);
                        let info = info.clone();
                        requests.spawn(request::serve(resolver, proxy, info));
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "HTTP/3 connection ended");
                        break;
                    }
                },
                Some(_) = requests.join_next(), if !requests.is_empty() => {}
                _ = crate::shutdown::stopped(&mut shutdown), if !closing => {
                    closing = true;
                    // GOAWAY: no new requests; those accepted finish.
                    if let Err(error) = h3.shutdown(0).await {
                        tracing::debug!(%peer, %error, "HTTP/3 GOAWAY not sent");
                        break;
                    }
                }
            }
        }
        while requests.join_next().await.is_some() {}
        connection.close(quinn::VarInt::from_u32(H3_NO_ERROR), b"");
    }
}

/// The certificates a client sent in the handshake (leaf first), as the TCP side keeps them.
fn client_certs(
    connection: &quinn::Connection,
) -> Option<Arc<[rustls::pki_types::CertificateDer<'static>]>> {
    let identity = connection.peer_identity()?;
    let certs = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    if certs.is_empty() {
        return None;
    }
    Some(certs.iter().cloned().collect())
}
