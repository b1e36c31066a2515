//! TCP routers (Traefik's `pkg/server/router/tcp`): what an entrypoint does with a connection
//! before HTTP sees it. `table` compiles the `tcp:` configuration; `hello` peeks the opening
//! (ClientHello, Postgres SSLRequest) without consuming it; [`TcpEntry::route`] decides with
//! Traefik 3.7's precedence and either runs the session (`session`: passthrough, termination,
//! proxying with half-close) or hands the untouched connection back to the HTTP path.
//!
//! Precedence on one entrypoint, as Traefik 3.7 behaves:
//! 1. Plain TCP routers only (no TLS TCP router, no HTTPS router): matched at once, without
//!    waiting for the client to speak (server-first protocols: SMTP, MySQL, …).
//! 2. A Postgres SSLRequest is answered `S` and the ClientHello that follows is matched against
//!    the TLS TCP routers only (none: the connection is closed).
//! 3. Not TLS: the plain TCP routers, else HTTP.
//! 4. TLS: an HTTPS router whose `Host` names the SNI wins; then a TCP router other than
//!    ``HostSNI(`*`)``; then an HTTPS router without `Host` (a catch-all); then a TCP
//!    ``HostSNI(`*`)`` router; then HTTPS (which answers 404).
//!
//! Lock-free on the connection path: one `ArcSwap::load()`, the route's `Arc` held across awaits.

pub mod balance;
pub mod health;
pub mod hello;
pub mod middleware;
pub mod session;
pub mod table;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::rules::tcp::ConnView;
use hello::Opening;
pub use table::{compile, TcpRoute, TcpTable, TlsMode};

/// One entrypoint's TCP side; cheap to clone.
#[derive(Clone)]
pub struct TcpEntry {
    table: Arc<ArcSwap<TcpTable>>,
    index: usize,
    name: Arc<str>,
    acceptor: Option<crate::tls::Acceptor>,
    /// Shutdown signal and grace period: a session still open a grace period after shutdown
    /// began is closed.
    stop: Option<(watch::Receiver<bool>, Duration)>,
    limits: session::Limits,
    /// Writes each session's access-log line (when the access log is on).
    observer: Option<Arc<crate::observe::Observer>>,
}

/// What the opening told about a session, for its log lines.
#[derive(Debug)]
struct Opened {
    /// When routing began (the connection was handed to the TCP side): the session's start.
    began: Instant,
    wall: std::time::SystemTime,
    /// The ClientHello's server name, when one was sent.
    server_name: Option<String>,
    /// Terminated here: what the handshake agreed on.
    tls: Option<crate::config::negotiated::Negotiated>,
}

impl Opened {
    fn at(began: Instant, wall: std::time::SystemTime) -> Opened {
        Opened {
            began,
            wall,
            server_name: None,
            tls: None,
        }
    }

    fn named(mut self, server_name: &str) -> Opened {
        self.server_name = (!server_name.is_empty()).then(|| server_name.to_string());
        self
    }
}

impl TcpEntry {
    pub fn new(table: Arc<ArcSwap<TcpTable>>, index: usize, name: &str) -> TcpEntry {
        TcpEntry {
            table,
            index,
            name: Arc::from(name),
            acceptor: None,
            stop: None,
            limits: session::Limits::default(),
            observer: None,
        }
    }

    /// Closes a session after `idle` without a byte either way
    /// (`transport.respondingTimeouts.tcpIdleTimeout`; none or zero: never).
    pub fn with_idle_timeout(mut self, idle: Option<Duration>) -> TcpEntry {
        self.limits.idle = idle.filter(|d| !d.is_zero());
        self
    }

    /// Writes one access-log line per session through `observer` (when its access log is on).
    pub fn with_observer(mut self, observer: Option<Arc<crate::observe::Observer>>) -> TcpEntry {
        self.observer = observer;
        self
    }

    /// Terminates TLS for TCP routers without `passthrough` with the HTTP side's certificates
    /// and options.
    pub fn with_tls(mut self, acceptor: Option<crate::tls::Acceptor>) -> TcpEntry {
        self.acceptor = acceptor;
        self
    }

    pub fn set_shutdown(&mut self, stop: watch::Receiver<bool>, grace: Duration) {
        self.stop = Some((stop, grace));
    }

    /// Runs the connection when a TCP router takes it (`None`), or gives it back untouched
    /// (`Some`) for the HTTP path. `timeout` bounds the wait for the client's first bytes.
    /// `local`: the address the client connected to when the listener already tells it (bound
    /// to one address); `None`: asked of the socket, only when a PROXY header needs it.
    pub async fn route(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        timeout: Duration,
    ) -> Option<TcpStream> {
        let opened = Opened::at(Instant::now(), std::time::SystemTime::now());
        let (plain_only, has_tls_routes) = {
            let table = self.table.load();
            let entry = table.entrypoints.get(self.index)?;
            if entry.is_empty() {
                return Some(stream);
            }
            (
                !entry.plain.is_empty() && entry.tls.is_empty() && !entry.has_https,
                !entry.tls.is_empty(),
            )
        };
        let no_tls = ConnView {
            server_name: "",
            alpn: &[],
            client_ip: peer.ip(),
        };
        if plain_only {
            if let Some(route) = self.find(false, &no_tls) {
                self.serve(
                    route,
                    session::Client::Plain(stream),
                    peer,
                    local,
                    false,
                    opened,
                )
                .await;
                return None;
            }
        }
        match hello::peek_hello(&stream, timeout, has_tls_routes).await {
            Opening::Plain => match self.find(false, &no_tls) {
                Some(route) => {
                    self.serve(
                        route,
                        session::Client::Plain(stream),
                        peer,
                        local,
                        false,
                        opened,
                    )
                    .await;
                    None
                }
                None => Some(stream),
            },
            Opening::Postgres => {
                let mut request = [0u8; 8];
                let answered = async {
                    stream.read_exact(&mut request).await?;
                    stream.write_all(b"S").await
                };
                if tokio::time::timeout(timeout, answered).await.is_err() {
                    return None;
                }
                let Opening::Tls { server_name, alpn } =
                    hello::peek_hello(&stream, timeout, false).await
                else {
                    return None;
                };
                let view = ConnView {
                    server_name: &server_name,
                    alpn: &alpn,
                    client_ip: peer.ip(),
                };
                let route = self.find(true, &view)?;
                let opened = opened.named(&server_name);
                self.serve_tls(route, stream, peer, local, timeout, true, opened)
                    .await;
                None
            }
            Opening::Tls { server_name, alpn } => {
                let view = ConnView {
                    server_name: &server_name,
                    alpn: &alpn,
                    client_ip: peer.ip(),
                };
                let route = {
                    let table = self.table.load();
                    let entry = table.entrypoints.get(self.index)?;
                    if entry.https_claims(&server_name) {
                        return Some(stream);
                    }
                    let tcp = entry.tls.iter().find(|r| r.rule.matches(&view));
                    match tcp {
                        Some(r) if !r.catch_all => Arc::clone(r),
                        _ if entry.https_catch_all => return Some(stream),
                        Some(r) => Arc::clone(r),
                        None => return Some(stream),
                    }
                };
                let opened = opened.named(&server_name);
                self.serve_tls(route, stream, peer, local, timeout, false, opened)
                    .await;
                None
            }
        }
    }

    /// The first route of the entrypoint's plain (or TLS) list that matches.
    fn find(&self, tls: bool, view: &ConnView<'_>) -> Option<Arc<TcpRoute>> {
        let table = self.table.load();
        let entry = table.entrypoints.get(self.index)?;
        let list = if tls { &entry.tls } else { &entry.plain };
        list.iter().find(|r| r.rule.matches(view)).cloned()
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve_tls(
        &self,
        route: Arc<TcpRoute>,
        stream: TcpStream,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        timeout: Duration,
        postgres: bool,
        mut opened: Opened,
    ) {
        match route.tls {
            Some(TlsMode::Terminate) => {
                // Past the handshake the socket is out of reach: its address is taken now.
                let local = local.or_else(|| stream.local_addr().ok());
                match crate::tls::detect(stream, self.acceptor.as_ref(), timeout).await {
                    crate::tls::Accepted::Tls(tls, key) if key == route.tls_options => {
                        opened.tls = crate::config::negotiated::Negotiated::of(tls.get_ref().1);
                        self.serve(route, session::Client::Tls(tls), peer, local, false, opened)
                            .await
                    }
                    crate::tls::Accepted::Tls(..) => {
                        // Another router's options were chosen for this server name.
                        tracing::debug!(entrypoint = %self.name, router = %route.name, %peer, "TCP router: handshaken with other tls.options; closed");
                    }
                    crate::tls::Accepted::Plain(_) | crate::tls::Accepted::Done => {
                        tracing::debug!(entrypoint = %self.name, router = %route.name, %peer, "TCP router: TLS handshake failed");
                    }
                }
            }
            _ => {
                self.serve(
                    route,
                    session::Client::Plain(stream),
                    peer,
                    local,
                    postgres,
                    opened,
                )
                .await
            }
        }
    }

    /// Runs the session, then writes its process-log line and (when the access log is on) its
    /// access-log line.
    async fn serve(
        &self,
        route: Arc<TcpRoute>,
        client: session::Client,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        postgres: bool,
        opened: Opened,
    ) {
        let meter = session::Meter::default();
        let run = session::run(&route, client, peer, local, postgres, self.limits, &meter);
        let outcome = match &self.stop {
            None => run.await,
            Some((stop, grace)) => {
                let mut stop = stop.clone();
                let grace = *grace;
                let late = async move {
                    crate::shutdown::stopped(&mut stop).await;
                    tokio::time::sleep(grace).await;
                };
                tokio::select! {
                    outcome = run => outcome,
                    () = late => session::Outcome {
                        status: if meter.server.get().is_some() { 200 } else { 503 },
                        error: Some("closed: shutdown grace period over".to_string()),
                    },
                }
            }
        };
        let duration = opened.began.elapsed();
        let received = meter.received.load(std::sync::atomic::Ordering::Relaxed);
        let sent = meter.sent.load(std::sync::atomic::Ordering::Relaxed);
        let service = route.service.as_ref().map_or("", |s| s.name());
        tracing::info!(
            target: "swarmgate::tcp",
            entrypoint = %self.name,
            router = %route.name,
            service,
            endpoint = meter.server.get().map_or("", String::as_str),
            client = %peer,
            bytes_to_server = received,
            bytes_to_client = sent,
            duration_ms = duration.as_secs_f64() * 1e3,
            error = outcome.error.as_deref().unwrap_or(""),
            "TCP session"
        );
        let Some(observer) = self.observer.as_ref().filter(|o| o.logs_sessions("TCP")) else {
            return;
        };
        observer.session(crate::observe::access::Session {
            start: opened.wall,
            duration,
            client: peer,
            entrypoint: Arc::clone(&self.name),
            protocol: "TCP",
            router: route.name.clone(),
            service: route.service.as_ref().ok().map(|s| s.name().to_string()),
            server: meter.server.into_inner(),
            server_name: opened.server_name,
            tls: opened.tls,
            status: outcome.status,
            received,
            sent,
            error: outcome.error,
        });
    }
}
