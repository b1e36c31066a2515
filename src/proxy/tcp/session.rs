//! One TCP session once a router took it: middlewares, the server connection (PROXY header,
//! TLS to the server, Postgres' SSLRequest for passthrough), then bytes both ways until both
//! sides are done. Each half-close is forwarded (a client that stops sending still gets every
//! byte of the answer), with backpressure (a bounded buffer per direction). Bytes are counted
//! as written (`Meter`, for the log lines); with `tcpIdleTimeout` (swarmgate's extension, off by
//! default: Traefik has no idle timeout once a router took a connection), a session without a
//! byte written either way for that long has both its sides shut down.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proxy::limits::Activity;

use super::balance;
use super::hello::POSTGRES_SSL_REQUEST;
use super::table::{TcpRoute, TlsMode};

/// Buffer per direction once a read filled the first one (bulk transfer): large enough for
/// throughput.
const BUFFER: usize = 64 * 1024;
/// Buffer per direction at first: what a short exchange needs. Zeroing two 64 KiB buffers per
/// session was 5.5 % of the proxy's CPU in bench/tcp_compare.sh's connections/s run (perf).
const FIRST_BUFFER: usize = 16 * 1024;

/// How long closing both sides of an idle session may take (a TLS `close_notify` to a peer
/// that does not read).
const CLOSE_DEADLINE: Duration = Duration::from_secs(1);

/// What happened, for the log lines.
#[derive(Debug, Default)]
pub struct Outcome {
    /// As nginx's stream module: 200 served (whatever ended it), 403 refused by `ipAllowList`,
    /// 502 no server reached (connect, PROXY header, TLS or Postgres' SSLRequest to it
    /// failed), 503 router closed or `inFlightConn` full.
    pub status: u16,
    pub error: Option<String>,
}

/// What a session moved, kept outside its future so that a session cut short (shutdown grace
/// over) is still reported with its bytes and server.
#[derive(Debug, Default)]
pub struct Meter {
    /// Bytes received from the client and written to the server.
    pub received: AtomicU64,
    /// Bytes written to the client.
    pub sent: AtomicU64,
    /// The server's address, once connected.
    pub server: OnceLock<String>,
}

/// A session's limits: `tcpIdleTimeout` (none or zero: never idle out).
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub idle: Option<Duration>,
}

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where the client's bytes come from.
pub enum Client {
    Plain(TcpStream),
    /// TLS terminated by swarmgate.
    Tls(Box<dyn Io>),
}

/// Runs the session to its end. `postgres`: the client's SSLRequest was consumed and answered;
/// for passthrough the server is asked the same before the client's TLS goes through. `local`:
/// the address the client connected to, when already known (else asked of a plain client's
/// socket if a PROXY header needs it; a TLS client's is always given).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    route: &TcpRoute,
    client: Client,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    postgres: bool,
    limits: Limits,
    meter: &Meter,
) -> Outcome {
    let mut outcome = Outcome {
        status: 502,
        error: None,
    };
    let service = match &route.service {
        Ok(s) => Arc::clone(s),
        Err(reason) => {
            outcome.status = 503;
            outcome.error = Some(format!("router closed: {reason}"));
            return outcome;
        }
    };
    let mut guards = Vec::new();
    for mw in &route.middlewares {
        match mw.admit(peer.ip()) {
            Ok(guard) => guards.push(guard),
            Err(refused) => {
                outcome.status = match refused {
                    super::middleware::Refused::NotAllowed => 403,
                    super::middleware::Refused::TooMany => 503,
                };
                outcome.error = Some(refused.to_string());
                return outcome;
            }
        }
    }
    let connected = match balance::connect(&service).await {
        Ok(c) => c,
        Err(e) => {
            outcome.error = Some(format!("no server answered: {e}"));
            return outcome;
        }
    };
    let _ = meter.server.set(connected.server.address.clone());
    let transport = connected.transport;
    let mut server = connected.stream;
    if let Some(version) = transport.proxy_protocol {
        // Without a PROXY header the client's local address is never asked for (one
        // `getsockname` less per session).
        let local = local
            .or_else(|| match &client {
                Client::Plain(c) => c.local_addr().ok(),
                Client::Tls(_) => None,
            })
            .unwrap_or(peer);
        let header = proxy_header(version, peer, local);
        if let Err(e) = server.write_all(&header).await {
            outcome.error = Some(format!("PROXY header: {e}"));
            return outcome;
        }
    }
    if postgres && route.tls == Some(TlsMode::Passthrough) {
        let mut answer = [0u8; 1];
        let asked = async {
            server.write_all(&POSTGRES_SSL_REQUEST).await?;
            server.read_exact(&mut answer).await
        };
        if let Err(e) = asked.await {
            outcome.error = Some(format!("Postgres SSLRequest to the server: {e}"));
            return outcome;
        }
        if answer[0] != b'S' {
            outcome.error = Some("the Postgres server refused TLS".to_string());
            return outcome;
        }
    }
    let wants_tls = connected.server.tls && route.tls != Some(TlsMode::Passthrough);
    let server: Server = if wants_tls {
        let address = connected.server.address.as_str();
        let (config, name) = match &transport.tls {
            Some((config, name)) => (Arc::clone(config), name.clone()),
            // `tls: true` without a serversTransport: verified against the system roots.
            None => match default_client_tls() {
                Some(config) => (config, None),
                None => {
                    outcome.error = Some("no TLS client configuration".to_string());
                    return outcome;
                }
            },
        };
        let host = name.unwrap_or_else(|| {
            address
                .rsplit_once(':')
                .map_or(address, |(h, _)| h)
                .trim_matches(|c| c == '[' || c == ']')
                .to_string()
        });
        let connecting = match rustls::pki_types::ServerName::try_from(host) {
            Ok(name) => tokio_rustls::TlsConnector::from(config)
                .connect(name, server)
                .await
                .map_err(|e| format!("TLS to the server: {e}")),
            Err(e) => Err(format!("TLS server name: {e}")),
        };
        match connecting {
            Ok(tls) => Server::Tls(Box::new(tls)),
            Err(e) => {
                outcome.error = Some(e);
                return outcome;
            }
        }
    } else {
        Server::Plain(server)
    };
    let ends = Ends {
        delay: transport.termination_delay,
        idle: limits.idle.filter(|d| !d.is_zero()),
        client_plain: false,
        server_plain: false,
    };
    outcome.status = 200;
    outcome.error = match (client, server) {
        // Borrowed halves: no `Arc` per socket, and the socket closes once, when the session
        // ends (an owned write half shuts itself down when dropped).
        (Client::Plain(mut c), Server::Plain(mut s)) => {
            let (cr, cw) = c.split();
            let (sr, sw) = s.split();
            pipe(cr, cw, sr, sw, ends.plain(true, true), meter).await
        }
        (Client::Plain(mut c), Server::Tls(s)) => {
            let (cr, cw) = c.split();
            let (sr, sw) = tokio::io::split(s);
            pipe(cr, cw, sr, sw, ends.plain(true, false), meter).await
        }
        (Client::Tls(c), Server::Plain(mut s)) => {
            let (cr, cw) = tokio::io::split(c);
            let (sr, sw) = s.split();
            pipe(cr, cw, sr, sw, ends.plain(false, true), meter).await
        }
        (Client::Tls(c), Server::Tls(s)) => {
            let (cr, cw) = tokio::io::split(c);
            let (sr, sw) = tokio::io::split(s);
            pipe(cr, cw, sr, sw, ends.plain(false, false), meter).await
        }
    };
    drop(guards);
    outcome
}

/// How the copying may end besides both sides closing.
#[derive(Debug, Clone, Copy)]
struct Ends {
    /// Traefik's `terminationDelay`: how long the other way may go on after one side closed.
    delay: Option<Duration>,
    /// `tcpIdleTimeout`: no byte written either way for this long closes both sides.
    idle: Option<Duration>,
    /// The client's (server's) side is a plain socket, closed as soon as the copying ends: once
    /// both ways ended with EOF, its `close` sends the FIN that a last `shutdown` would (every
    /// byte it sent was read, so no RST either), one syscall less. A TLS side always gets its
    /// shutdown (`close_notify`).
    client_plain: bool,
    server_plain: bool,
}

impl Ends {
    fn plain(self, client: bool, server: bool) -> Ends {
        Ends {
            client_plain: client,
            server_plain: server,
            ..self
        }
    }
}

enum Server {
    Plain(TcpStream),
    Tls(Box<dyn Io>),
}

/// Traefik's default TCP transport to a `tls: true` server: verified against the system roots,
/// no ALPN. `None` when it cannot be built (then such a server is not dialled with TLS).
fn default_client_tls() -> Option<Arc<rustls::ClientConfig>> {
    static CONFIG: std::sync::OnceLock<Option<Arc<rustls::ClientConfig>>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let http = crate::config::dynamic::ServersTransportConfig {
                disable_http2: true,
                ..Default::default()
            };
            let built = crate::upstream::Transport::from_config(&http).ok()?;
            let mut client = (*built.tls_h1).clone();
            client.alpn_protocols.clear();
            Some(Arc::new(client))
        })
        .clone()
}

/// Copies both ways. When one side ends its sending (EOF), the other side's write half is shut
/// down (the half-close goes through) and the other direction goes on until it ends too, or for
/// `ends.delay` when set (Traefik's `terminationDelay`). With `ends.idle`, a session in which no
/// byte was written either way for that long has both its sides shut down (FIN, or TLS
/// `close_notify` then FIN) and ends. Bytes are counted into `meter` as they are written, so a
/// session dropped midway (shutdown) still reports them. The error that ended it, if any.
async fn pipe<CR, CW, SR, SW>(
    cr: CR,
    cw: CW,
    sr: SR,
    sw: SW,
    ends: Ends,
    meter: &Meter,
) -> Option<String>
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    SR: AsyncRead + Unpin,
    SW: AsyncWrite + Unpin,
{
    let activity = Activity::new();
    // The clock is read on each write only when an idle timeout needs it.
    let tracked = ends.idle.map(|_| &*activity);
    let mut cw = Metered {
        inner: cw,
        bytes: &meter.sent,
        activity: tracked,
    };
    let mut sw = Metered {
        inner: sw,
        bytes: &meter.received,
        activity: tracked,
    };
    let ended = {
        let copied = copy_both(cr, &mut cw, sr, &mut sw, ends);
        match ends.idle {
            None => Some(copied.await),
            Some(limit) => tokio::select! {
                error = copied => Some(error),
                () = activity.idle_expired(limit) => None,
            },
        }
    };
    match (ended, ends.idle) {
        (Some(error), _) => error,
        (None, limit) => {
            let _ = tokio::time::timeout(CLOSE_DEADLINE, async {
                let _ = cw.shutdown().await;
                let _ = sw.shutdown().await;
            })
            .await;
            Some(format!(
                "idle timeout: no byte either way for {:?} (tcpIdleTimeout)",
                limit.unwrap_or_default()
            ))
        }
    }
}

/// Both directions of [`pipe`] until they end; the first error, if any. Each direction that
/// ends shuts down the other side's write half (the half-close goes through), except the last
/// one to end when both ended with EOF and that side is a plain socket (`Ends::client_plain`,
/// `Ends::server_plain`): its close right after sends the FIN.
async fn copy_both<CR, CW, SR, SW>(
    mut cr: CR,
    cw: &mut CW,
    mut sr: SR,
    sw: &mut SW,
    ends: Ends,
) -> Option<String>
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    SR: AsyncRead + Unpin,
    SW: AsyncWrite + Unpin,
{
    let delay = ends.delay;
    // Set by a direction that ended with EOF (both directions run in this one task).
    let up_done = AtomicBool::new(false);
    let down_done = AtomicBool::new(false);
    let up = async {
        let r = copy(&mut cr, sw).await;
        let last = r.is_ok() && ends.server_plain && down_done.load(Ordering::Relaxed);
        if !last {
            let _ = sw.shutdown().await;
        }
        up_done.store(r.is_ok(), Ordering::Relaxed);
        r.err().map(|e| e.to_string())
    };
    let down = async {
        let r = copy(&mut sr, cw).await;
        let last = r.is_ok() && ends.client_plain && up_done.load(Ordering::Relaxed);
        if !last {
            let _ = cw.shutdown().await;
        }
        down_done.store(r.is_ok(), Ordering::Relaxed);
        r.err().map(|e| e.to_string())
    };
    tokio::pin!(up, down);
    let (u, d) = tokio::select! {
        u = &mut up => {
            let d = match delay {
                Some(limit) => tokio::time::timeout(limit, &mut down).await.unwrap_or(None),
                None => down.await,
            };
            (u, d)
        }
        d = &mut down => {
            let u = match delay {
                Some(limit) => tokio::time::timeout(limit, &mut up).await.unwrap_or(None),
                None => up.await,
            };
            (u, d)
        }
    };
    u.or(d)
}

/// A write half that counts the bytes written and marks the session active.
struct Metered<'a, W> {
    inner: W,
    bytes: &'a AtomicU64,
    /// With `tcpIdleTimeout` only.
    activity: Option<&'a Activity>,
}

impl<W> Metered<'_, W> {
    fn wrote(&self, n: usize) {
        if n > 0 {
            self.bytes.fetch_add(n as u64, Ordering::Relaxed);
            if let Some(activity) = self.activity {
                activity.moved();
            }
        }
    }
}

/// Copies `from` to `to` until `from` ends; the count of bytes copied. The buffer starts at
/// `FIRST_BUFFER` and grows to `BUFFER` once a read fills it (more was waiting). Reads go into
/// the buffer's spare capacity (`read_buf`): the memory is never zeroed (memset of two 16 KiB
/// buffers was 3.1 % of the proxy's CPU in the connections/s run, perf).
async fn copy<R, W>(from: &mut R, to: &mut W) -> std::io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(FIRST_BUFFER);
    let mut total = 0u64;
    loop {
        buf.clear();
        let n = match from.read_buf(&mut buf).await {
            Ok(0) => {
                to.flush().await?;
                return Ok(total);
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n]).await?;
        // A TLS writer holds records until flushed; a plain socket's flush does nothing.
        to.flush().await?;
        total += n as u64;
        if n == buf.capacity() && buf.capacity() < BUFFER {
            buf.clear();
            buf.reserve_exact(BUFFER);
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Metered<'_, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            self.wrote(n);
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = res {
            self.wrote(n);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The PROXY protocol header (v1 text, else v2 binary) for a connection from `peer` to `local`.
pub fn proxy_header(version: u8, peer: SocketAddr, local: SocketAddr) -> Vec<u8> {
    let (peer, local) = match (peer, local) {
        (SocketAddr::V6(p), SocketAddr::V4(_)) => match p.ip().to_ipv4_mapped() {
            Some(v4) => (SocketAddr::from((v4, p.port())), local),
            None => (peer, local),
        },
        other => other,
    };
    if version == 1 {
        return match (peer, local) {
            (SocketAddr::V4(p), SocketAddr::V4(l)) => format!(
                "PROXY TCP4 {} {} {} {}\r\n",
                p.ip(),
                l.ip(),
                p.port(),
                l.port()
            ),
            (p, l) => format!(
                "PROXY TCP6 {} {} {} {}\r\n",
                v6(p),
                v6(l),
                p.port(),
                l.port()
            ),
        }
        .into_bytes();
    }
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.push(0x21); // version 2, PROXY
    match (peer, local) {
        (SocketAddr::V4(p), SocketAddr::V4(l)) => {
            out.push(0x11); // TCP over IPv4
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&p.ip().octets());
            out.extend_from_slice(&l.ip().octets());
            out.extend_from_slice(&p.port().to_be_bytes());
            out.extend_from_slice(&l.port().to_be_bytes());
        }
        (p, l) => {
            out.push(0x21); // TCP over IPv6
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&v6(p).octets());
            out.extend_from_slice(&v6(l).octets());
            out.extend_from_slice(&p.port().to_be_bytes());
            out.extend_from_slice(&l.port().to_be_bytes());
        }
    }
    out
}

fn v6(addr: SocketAddr) -> std::net::Ipv6Addr {
    match addr {
        SocketAddr::V4(a) => a.ip().to_ipv6_mapped(),
        SocketAddr::V6(a) => *a.ip(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte arrives, in order, across the buffer's growth, and the count is right; a short
    /// exchange goes through whole too.
    #[tokio::test]
    async fn copy_keeps_every_byte_while_the_buffer_grows() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (mut client, mut proxy_in) = tokio::io::duplex(256 * 1024);
        let (mut proxy_out, mut server) = tokio::io::duplex(256 * 1024);
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await?;
            client.shutdown().await
        });
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.map(|_| got)
        });
        let copied = copy(&mut proxy_in, &mut proxy_out).await;
        drop(proxy_out);
        assert_eq!(copied.ok(), Some(data.len() as u64));
        assert!(matches!(writer.await, Ok(Ok(()))));
        let got = match reader.await {
            Ok(Ok(got)) => got,
            other => panic!("reader: {other:?}"),
        };
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes differ");

        let (mut a, mut b) = tokio::io::duplex(1024);
        let (mut c, mut d) = tokio::io::duplex(1024);
        let short = tokio::spawn(async move {
            a.write_all(b"ping").await?;
            a.shutdown().await
        });
        assert_eq!(copy(&mut b, &mut c).await.ok(), Some(4));
        drop(c);
        let mut back = Vec::new();
        assert!(d.read_to_end(&mut back).await.is_ok());
        assert_eq!(back, b"ping");
        assert!(matches!(short.await, Ok(Ok(()))));
    }
}
