//! Entrypoints: bind, accept, speak HTTP/1.1 and HTTP/2 (prior knowledge on cleartext) with hyper,
//! and drain gracefully on shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::framing;
use super::limits::{self, ConnectionGate};
use super::proxy_protocol::{self, ProxyProtocolPolicy};
use super::service::{ConnInfo, Proxy};

/// Connection-level settings of one entrypoint.
#[derive(Debug, Clone)]
pub struct EntryPointOptions {
    /// Time allowed for a request head to arrive (slowloris guard).
    pub header_read_timeout: Duration,
    /// How long in-flight requests may run after shutdown starts.
    pub grace: Duration,
    /// How long to keep accepting after shutdown starts (`lifeCycle.requestAcceptGraceTimeout`).
    pub accept_grace: Duration,
    pub h2_max_concurrent_streams: u32,
    /// Request head limit; a bigger HTTP/1 head gets 431.
    pub max_header_bytes: usize,
    /// Close a connection idle this long between requests (`respondingTimeouts.idleTimeout`).
    pub idle_timeout: Option<Duration>,
    /// Close a connection whose response is not written within this time after its request head
    /// (`respondingTimeouts.writeTimeout`, Go's `WriteTimeout`; none by default, as in Traefik v3).
    pub write_timeout: Option<Duration>,
    /// Cap on open connections (`transport.maxConnections`); over it a 503 and close.
    pub max_connections: Option<usize>,
    /// `proxyProtocol`: read a PROXY v1/v2 header before HTTP.
    pub proxy_protocol: Option<Arc<ProxyProtocolPolicy>>,
    /// `reusePort`: bind with `SO_REUSEPORT` (several processes on one port; the kernel spreads
    /// new connections among them).
    pub reuse_port: bool,
}

/// A listener bound with `SO_REUSEADDR` and `SO_REUSEPORT`, as Go's `reusePort` listener config.
fn bind_reuse_port(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        // `[::]:80` also takes IPv4, as a plain bind does.
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

impl Default for EntryPointOptions {
    fn default() -> Self {
        EntryPointOptions {
            header_read_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(10),
            accept_grace: Duration::ZERO,
            h2_max_concurrent_streams: 250,
            max_header_bytes: 64 * 1024,
            idle_timeout: Some(Duration::from_secs(180)),
            write_timeout: None,
            max_connections: None,
            proxy_protocol: None,
            reuse_port: false,
        }
    }
}

pub struct EntryPoint {
    listener: TcpListener,
    proxy: Arc<Proxy>,
    options: EntryPointOptions,
    /// TLS is detected per connection (first byte) when set; see `crate::tls::accept`.
    tls: Option<crate::tls::Acceptor>,
    /// TCP routers, asked before HTTP (see `proxy::tcp`).
    tcp: Option<super::tcp::TcpEntry>,
    gate: ConnectionGate,
    /// `Alt-Svc` for the responses of TLS connections when HTTP/3 is served (`proxy::h3`).
    alt_svc: Option<http::HeaderValue>,
}

/// `:80` → all interfaces; `127.0.0.1:8080`, `[::]:443` as written.
pub fn parse_address(address: &str) -> Result<SocketAddr, std::net::AddrParseError> {
    let address = address.split('/').next().unwrap_or(address); // `:443/udp` is Traefik's form
    if let Some(port) = address.strip_prefix(':') {
        return format!("0.0.0.0:{port}").parse();
    }
    address.parse()
}

impl EntryPoint {
    pub async fn bind(
        address: &str,
        proxy: Arc<Proxy>,
        options: EntryPointOptions,
    ) -> std::io::Result<EntryPoint> {
        let addr = parse_address(address).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("address {address:?}: {e}"),
            )
        })?;
        let listener = if options.reuse_port {
            bind_reuse_port(addr)?
        } else {
            TcpListener::bind(addr).await?
        };
        Ok(EntryPoint {
            listener,
            proxy,
            gate: ConnectionGate::new(options.max_connections),
            options,
            tls: None,
            tcp: None,
            alt_svc: None,
        })
    }

    /// Serves TLS (detected per connection) besides plain HTTP.
    pub fn with_tls(mut self, acceptor: crate::tls::Acceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// Routes connections to TCP routers before HTTP (`proxy::tcp`).
    pub fn with_tcp(mut self, tcp: super::tcp::TcpEntry) -> Self {
        self.tcp = Some(tcp);
        self
    }

    /// Announces HTTP/3 on UDP `port` in every response of a TLS 1.3 connection, as Traefik does
    /// when `http3` is on: `Alt-Svc: h3=":PORT"; ma=2592000`, before any the response carries.
    /// (Traefik announces it on TLS 1.2 connections too, also for server names whose options
    /// cap TLS at 1.2, which its QUIC side then refuses: a dead end for the client.)
    pub fn with_alt_svc(mut self, port: u16) -> Self {
        self.alt_svc = http::HeaderValue::from_str(&alt_svc(port)).ok();
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The request path this entrypoint serves (shared with its HTTP/3 listener).
    pub fn proxy(&self) -> &Arc<Proxy> {
        &self.proxy
    }

    /// The connection cap (shared with its HTTP/3 listener).
    pub fn gate(&self) -> ConnectionGate {
        self.gate.clone()
    }

    pub fn options(&self) -> &EntryPointOptions {
        &self.options
    }

    /// Accepts until `shutdown` turns true (plus `accept_grace`), then waits up to the grace
    /// period for open connections to finish their in-flight requests.
    pub async fn serve(mut self, mut shutdown: watch::Receiver<bool>) {
        if let Some(tcp) = &mut self.tcp {
            tcp.set_shutdown(shutdown.clone(), self.options.grace);
        }
        let builder = limits::http_builder(&self.options);
        let graceful = GracefulShutdown::new();
        let name = self.proxy.name().to_string();
        // Set once shutdown has begun and `accept_grace` is not zero: accept until then.
        let mut accept_until: Option<tokio::time::Instant> = None;
        // A listener bound to one address hands out connections to exactly that address: no
        // `getsockname` per connection. A wildcard listener's are asked when needed.
        let bound = self
            .listener
            .local_addr()
            .ok()
            .filter(|a| !a.ip().is_unspecified());
        loop {
            let accept_over = async {
                match accept_until {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => match self.gate.admit() {
                        Some(admission) => self.spawn_connection(&builder, &graceful, stream, peer, bound, admission),
                        None => limits::refuse(stream),
                    },
                    Err(error) => {
                        tracing::warn!(entrypoint = %name, %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = stopped(&mut shutdown), if accept_until.is_none() => {
                    if self.options.accept_grace.is_zero() {
                        break;
                    }
                    tracing::info!(entrypoint = %name, grace = ?self.options.accept_grace, "shutting down; still accepting for requestAcceptGraceTimeout");
                    accept_until = Some(tokio::time::Instant::now() + self.options.accept_grace);
                }
                _ = accept_over => break,
            }
        }
        drop(self.listener);
        let open = graceful.count();
        tracing::info!(entrypoint = %name, open, "stopped accepting; draining connections");
        if tokio::time::timeout(self.options.grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(entrypoint = %name, "grace period over; closing remaining connections");
        }
    }

    fn spawn_connection(
        &self,
        builder: &auto::Builder<TokioExecutor>,
        graceful: &GracefulShutdown,
        stream: TcpStream,
        peer: SocketAddr,
        bound: Option<SocketAddr>,
        admission: limits::Admission,
    ) {
        let _ = stream.set_nodelay(true);
        let pp = self.options.proxy_protocol.clone();
        let head_limit = self.options.header_read_timeout;
        let proxy = Arc::clone(&self.proxy);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let idle_timeout = self.options.idle_timeout;
        let write_timeout = self.options.write_timeout;
        let max_head = self.options.max_header_bytes;
        let open = (proxy.observer()).and_then(|o| o.connection_opened(proxy.entrypoint_index()));
        let tls = self.tls.clone();
        let tcp = self.tcp.clone();
        let alt_svc = self.alt_svc.clone();
        tokio::spawn(async move {
            let _admission = admission;
            let _open = open; // swarmgate_open_connections, until the connection ends
            let mut stream = stream;
            let peer = match &pp {
                None => peer,
                Some(policy) => {
                    match proxy_protocol::accept(&mut stream, peer, policy, head_limit).await {
                        Ok(client) => client,
                        Err(error) => return tracing::debug!(%peer, %error, "PROXY header refused"),
                    }
                }
            };
            let stream = match &tcp {
                Some(tcp) => match tcp.route(stream, peer, bound, head_limit).await {
                    Some(stream) => stream,
                    None => return, // a TCP router took it (`watcher` held the drain open)
                },
                None => stream,
            };
            let local = bound.unwrap_or_else(|| stream.local_addr().unwrap_or(peer));
            let accepted = crate::tls::detect(stream, tls.as_ref(), head_limit).await;
            let (tls, tls_options, client_certs, negotiated) = match &accepted {
                crate::tls::Accepted::Tls(stream, key) => (
                    true,
                    *key,
                    crate::tls::client_certs(stream),
                    crate::config::negotiated::Negotiated::of(stream.get_ref().1),
                ),
                _ => (false, 0, None, None),
            };
            // HTTP/3 is announced on TLS 1.3 connections only: a client that negotiated less,
            // or whose server name's options stop below 1.3, cannot use QUIC (TLS 1.3 only;
            // `tls::quic` refuses those names).
            let alt_svc = alt_svc.filter(|_| negotiated.is_some_and(|n| n.is_tls13()));
            let conn = ConnInfo {
                peer,
                local,
                tls,
                tls_options,
                client_certs,
                negotiated,
            };
            let activity = limits::Activity::new();
            let tracked = Arc::clone(&activity);
            let service = service_fn(move |req| {
                let proxy = Arc::clone(&proxy);
                let in_flight = tracked.begin();
                let conn = conn.clone();
                let alt_svc = alt_svc.clone();
                async move {
                    let mut resp = proxy.handle(req, &conn).await;
                    if let Some(value) = alt_svc {
                        announce(resp.headers_mut(), value);
                    }
                    Ok::<_, Infallible>(resp.map(|b| limits::TrackedBody::new(b, in_flight)))
                }
            });
            let idle = limits::idle_expired(&activity, idle_timeout);
            let late = limits::write_expired(&activity, write_timeout);
            // The same serving for both kinds of stream; TrackedIo feeds the idle timer.
            macro_rules! serve {
                ($stream:expr) => {{
                    let checked = framing::Framing::new($stream, max_head, head_limit);
                    let io = TokioIo::new(limits::TrackedIo::new(checked, Arc::clone(&activity)));
                    let connection = builder.serve_connection_with_upgrades(io, service);
                    let served = watcher.watch(connection.into_owned());
                    tokio::select! {
                        result = served => result,
                        () = idle => {
                            tracing::debug!(%peer, "closing idle connection");
                            Ok(())
                        }
                        () = late => {
                            tracing::debug!(%peer, "writeTimeout: response not written in time; closing the connection");
                            Ok(())
                        }
                    }
                }};
            }
            let result = match accepted {
                crate::tls::Accepted::Plain(stream) => serve!(stream),
                crate::tls::Accepted::Tls(stream, _) => serve!(stream),
                crate::tls::Accepted::Done => Ok(()),
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with error");
            }
        });
    }
}

/// `Alt-Svc` as quic-go's `SetQUICHeaders` writes it for Traefik.
pub fn alt_svc(port: u16) -> String {
    format!("h3=\":{port}\"; ma=2592000")
}

/// Puts `value` first among the response's `Alt-Svc` values (Traefik adds its own to the header
/// map before the upstream's are copied in).
fn announce(headers: &mut http::HeaderMap, value: http::HeaderValue) {
    if !headers.contains_key(http::header::ALT_SVC) {
        headers.insert(http::header::ALT_SVC, value);
        return;
    }
    let theirs: Vec<http::HeaderValue> = headers
        .get_all(http::header::ALT_SVC)
        .iter()
        .cloned()
        .collect();
    headers.insert(http::header::ALT_SVC, value);
    for other in theirs {
        headers.append(http::header::ALT_SVC, other);
    }
}

/// Moved to `crate::shutdown::stopped` (the ground floor); this path is kept for one release.
#[doc(hidden)]
pub use crate::shutdown::stopped;
