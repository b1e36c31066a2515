//! TCP services: a load balancer over `host:port` servers (smooth weighted round robin from a
//! schedule built at compile time, an atomic cursor), and `weighted` services over services.
//!
//! Passive health: a server whose connect fails or times out is skipped for a back-off (1 s,
//! doubling to 30 s) and the connection is retried on the next server before any byte is sent,
//! so a dead server costs one failed dial, not a connection. Draining servers (Swarm tasks
//! leaving) are never picked. No locks: atomics only.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use tokio::io::Interest;
use tokio::net::TcpStream;

use super::table::TcpTransport;

const FIRST_BACKOFF_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 30_000;

fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// One `host:port` server.
#[derive(Debug)]
pub struct Server {
    pub address: String,
    pub tls: bool,
    pub weight: u32,
    pub draining: bool,
    /// Not picked before this instant (ms since start); 0 = up.
    down_until: AtomicU64,
    /// Consecutive failed connects (the back-off's exponent).
    failures: AtomicU32,
    /// The active health check's verdict (`healthCheck`); true without one.
    pub healthy: std::sync::atomic::AtomicBool,
}

impl Server {
    pub fn new(address: &str, tls: bool, weight: u32, draining: bool) -> Server {
        Server {
            address: address.to_string(),
            tls,
            weight,
            draining,
            down_until: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            healthy: std::sync::atomic::AtomicBool::new(true),
        }
    }

    fn usable(&self, now: u64) -> bool {
        !self.draining
            && self.weight > 0
            && self.healthy.load(Ordering::Relaxed)
            && self.down_until.load(Ordering::Relaxed) <= now
    }

    fn failed(&self) {
        let n = self.failures.fetch_add(1, Ordering::Relaxed).min(5);
        let backoff = (FIRST_BACKOFF_MS << n).min(MAX_BACKOFF_MS);
        self.down_until.store(now_ms() + backoff, Ordering::Relaxed);
    }

    /// Takes over what `previous` (the same address in the table before a reload) learnt:
    /// passive back-off, and the active check's verdict when this service still has a check.
    pub fn carry_from(&self, previous: &Server, checked: bool) {
        self.down_until.store(
            previous.down_until.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.failures
            .store(previous.failures.load(Ordering::Relaxed), Ordering::Relaxed);
        if checked {
            self.healthy
                .store(previous.healthy.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    fn succeeded(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
            self.down_until.store(0, Ordering::Relaxed);
        }
    }
}

/// A schedule of indices with each weight's share, interleaved (smooth WRR), GCD-reduced.
fn schedule(weights: &[u32]) -> Box<[u16]> {
    let gcd = weights
        .iter()
        .copied()
        .filter(|w| *w > 0)
        .fold(0u32, |a, b| if a == 0 { b } else { gcd(a, b) });
    if gcd == 0 {
        return Box::new([]);
    }
    let mut reduced: Vec<i64> = weights.iter().map(|w| i64::from(w / gcd)).collect();
    let total: i64 = reduced.iter().sum();
    if total > 4096 {
        // Keep the schedule small: scale down, never below 1 for a positive weight.
        for (r, w) in reduced.iter_mut().zip(weights) {
            if *w > 0 {
                *r = (*r * 4096 / total).max(1);
            }
        }
    }
    let total: i64 = reduced.iter().sum();
    let mut current = vec![0i64; reduced.len()];
    let mut out = Vec::new();
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(&reduced) {
            *c += w;
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, -(*i as i64)))
        else {
            break;
        };
        current[best] -= total;
        out.push(u16::try_from(best).unwrap_or(0));
    }
    out.into_boxed_slice()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `loadBalancer`: servers, their schedule and the transport to them.
pub struct Balancer {
    pub name: String,
    pub servers: Vec<Server>,
    schedule: Box<[u16]>,
    cursor: AtomicUsize,
    pub transport: TcpTransport,
    /// `healthCheck`: probed by `health::spawn_checks`.
    pub health: Option<crate::config::tcp::TcpHealthCheckConfig>,
}

/// A connected server.
pub struct Connected<'a> {
    pub stream: TcpStream,
    pub server: &'a Server,
    pub transport: &'a TcpTransport,
}

impl Balancer {
    pub fn new(name: &str, servers: Vec<Server>, transport: TcpTransport) -> Balancer {
        let weights: Vec<u32> = servers.iter().map(|s| s.weight).collect();
        Balancer {
            name: name.to_string(),
            schedule: schedule(&weights),
            servers,
            cursor: AtomicUsize::new(0),
            transport,
            health: None,
        }
    }

    /// Whether a server may be picked now.
    pub fn is_up(&self) -> bool {
        let now = now_ms();
        self.servers.iter().any(|s| s.usable(now))
    }

    /// Connects to the next usable server; on a failed dial the server is backed off and the
    /// next one is tried, each at most once. `Err` when none answered.
    pub async fn connect(&self) -> std::io::Result<Connected<'_>> {
        let mut tried = vec![false; self.servers.len()];
        let mut last = None;
        for _ in 0..self.servers.len() {
            let Some(index) = self.pick(&tried) else {
                break;
            };
            tried[index] = true;
            let server = &self.servers[index];
            let dial = dial(server.address.as_str());
            match tokio::time::timeout(self.transport.dial_timeout, dial).await {
                Ok(Ok(stream)) => {
                    server.succeeded();
                    let _ = stream.set_nodelay(true);
                    keep_alive(&stream, self.transport.keep_alive);
                    return Ok(Connected {
                        stream,
                        server,
                        transport: &self.transport,
                    });
                }
                Ok(Err(error)) => {
                    tracing::debug!(service = %self.name, endpoint = %server.address, %error, "TCP dial failed; trying the next server");
                    server.failed();
                    last = Some(error);
                }
                Err(_) => {
                    tracing::debug!(service = %self.name, endpoint = %server.address, "TCP dial timed out; trying the next server");
                    server.failed();
                    last = Some(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "dial timeout",
                    ));
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotConnected, "no server available")
        }))
    }

    /// The next usable server not yet tried, by the schedule; when none is left, a backed-off
    /// one not yet tried (better a late retry than no connection).
    fn pick(&self, tried: &[bool]) -> Option<usize> {
        let now = now_ms();
        let len = self.schedule.len();
        if len > 0 {
            let start = self.cursor.fetch_add(1, Ordering::Relaxed);
            for step in 0..len {
                let i = usize::from(self.schedule[(start + step) % len]);
                if !tried[i] && self.servers[i].usable(now) {
                    return Some(i);
                }
            }
        }
        (0..self.servers.len()).find(|&i| {
            let s = &self.servers[i];
            !tried[i] && !s.draining && s.weight > 0 && s.healthy.load(Ordering::Relaxed)
        })
    }
}

/// A compiled TCP service.
pub enum TcpService {
    Servers(Balancer),
    Weighted {
        name: String,
        children: Vec<Arc<TcpService>>,
        schedule: Box<[u16]>,
        cursor: AtomicUsize,
    },
}

impl TcpService {
    pub fn weighted(name: &str, children: Vec<(Arc<TcpService>, u32)>) -> TcpService {
        let weights: Vec<u32> = children.iter().map(|(_, w)| *w).collect();
        TcpService::Weighted {
            name: name.to_string(),
            schedule: schedule(&weights),
            children: children.into_iter().map(|(c, _)| c).collect(),
            cursor: AtomicUsize::new(0),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            TcpService::Servers(b) => &b.name,
            TcpService::Weighted { name, .. } => name,
        }
    }

    /// The load balancers to try, in order: for a weighted service the scheduled child's first,
    /// then the other children's (a child with no live server is skipped).
    pub fn balancers<'a>(&'a self, out: &mut Vec<&'a Balancer>) {
        match self {
            TcpService::Servers(b) => out.push(b),
            TcpService::Weighted {
                children,
                schedule,
                cursor,
                ..
            } => {
                if schedule.is_empty() {
                    return;
                }
                let first =
                    usize::from(schedule[cursor.fetch_add(1, Ordering::Relaxed) % schedule.len()]);
                let order =
                    std::iter::once(first).chain((0..children.len()).filter(|&i| i != first));
                for i in order {
                    if let Some(child) = children.get(i) {
                        child.balancers(out);
                    }
                }
            }
        }
    }
}

/// Connects through `service`: its balancers in order, each trying its servers.
pub async fn connect(service: &TcpService) -> std::io::Result<Connected<'_>> {
    let mut balancers = Vec::new();
    service.balancers(&mut balancers);
    let mut last = None;
    for b in balancers {
        match b.connect().await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotConnected, "no server available")
    }))
}

/// `dialKeepAlive` (zero: none), as Traefik's dialer (Go's `net.Dialer.KeepAlive`): probes after
/// that long idle and then every that long (`SO_KEEPALIVE`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`;
/// the probe count is the system's, 9 by default, which Go sets explicitly).
fn keep_alive(stream: &TcpStream, every: Duration) {
    if !every.is_zero() {
        let keep = socket2::TcpKeepalive::new()
            .with_time(every)
            .with_interval(every);
        let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keep);
    }
}

/// `connect(2)`'s "in progress" on Linux (a non-blocking connect that goes on in the kernel).
const EINPROGRESS: i32 = 115;

/// Connects to `address` (`ip:port`, or `host:port` resolved and each address tried in turn, as
/// tokio's `TcpStream::connect`). Unlike tokio's, a connection is known to be up from the readiness
/// the kernel reports (writable, no error, not hung up), without asking the socket for its error
/// (`getsockopt(SO_ERROR)`) on each success: one syscall less per session; a failed connect
/// still reads the error (refused, unreachable) from the socket.
async fn dial(address: &str) -> std::io::Result<TcpStream> {
    if let Ok(addr) = address.parse::<SocketAddr>() {
        return dial_addr(addr).await;
    }
    let mut last = None;
    for addr in tokio::net::lookup_host(address).await? {
        match dial_addr(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

async fn dial_addr(addr: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    // Non-blocking and close-on-exec from `socket(2)` itself, as mio's.
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
    let ready = stream.ready(Interest::WRITABLE | Interest::ERROR).await?;
    if ready.is_error() || ready.is_write_closed() || !ready.is_writable() {
        return Err(stream.take_error()?.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection closed while connecting",
            )
        }));
    }
    Ok(stream)
}

/// How long a server stays skipped after its first failed dial (for tests and docs).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(FIRST_BACKOFF_MS);

#[cfg(test)]
mod tests;
