//! A UDP entrypoint: one socket, sessions keyed by the client's address.
//!
//! The receive loop owns the session map (no lock): a datagram from a known client goes straight
//! to its session's backend socket (connected to the server picked when the session opened); a
//! datagram from a new client opens a session on the route of the moment. Each session has one
//! task that sends the backend's replies back to its client from the entrypoint's socket, and
//! ends the session after `timeout` without a datagram either way (or when the server refuses:
//! ICMP port unreachable), so the client's next datagram opens a session on the next server.
//!
//! Bounded memory under a flood of new source addresses: at most `max_sessions` sessions; over it
//! new clients' datagrams are dropped (counted in [`Counters::refused`]) until idle sessions end.
//! Refusing new sessions, rather than evicting the oldest idle, keeps established clients (game,
//! VPN, a resolver that sends every second) served while spoofed sources flood; the flood costs at
//! most one `timeout` after it stops. Replies are read into a per-thread buffer, so a session holds
//! no buffer of its own; datagrams queued while a session resolves its server are capped in bytes
//! per entrypoint. Any datagram size (up to 65535) is read whole.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::session::{SessionTask, Shared};
use super::table::UdpTable;

/// Largest datagram (the IPv4/IPv6 length field's limit); read whole, never truncated.
pub(super) const MAX_DATAGRAM: usize = 65_535;
/// Datagrams held per session while its server is resolved and its socket opened.
const PENDING_PER_SESSION: usize = 32;
/// Bytes held across an entrypoint's sessions that are still opening.
const PENDING_BYTES: usize = 16 * 1024 * 1024;
/// Settings of one UDP entrypoint.
#[derive(Debug, Clone)]
pub struct UdpOptions {
    /// `udp.timeout`: a session ends after this long without a datagram either way.
    pub timeout: Duration,
    /// Most sessions at once; datagrams of new clients over it are dropped.
    pub max_sessions: usize,
    /// `transport.lifeCycle.graceTimeOut`: on shutdown, open sessions go on (no new ones) until
    /// they end by `timeout` or this has passed, as Traefik's UDP listener.
    pub grace: Duration,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            timeout: crate::config::static_config::DEFAULT_UDP_TIMEOUT,
            max_sessions: DEFAULT_MAX_SESSIONS,
            grace: DEFAULT_GRACE,
        }
    }
}

/// Default cap on sessions per UDP entrypoint (each holds one socket: keep it well under the
/// process's file limit).
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// What an entrypoint counts (read by tests and logs).
#[derive(Debug, Default)]
pub struct Counters {
    /// Sessions opened since start.
    pub opened: AtomicU64,
    /// Sessions open now.
    pub open: AtomicUsize,
    /// Datagrams of new clients dropped because `max_sessions` sessions were open.
    pub refused: AtomicU64,
    /// Datagrams dropped because no router (or a closed one, or a service without server) takes
    /// the entrypoint.
    pub unrouted: AtomicU64,
}

/// Traefik's default `lifeCycle.graceTimeOut`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// A bound UDP entrypoint; [`UdpEntryPoint::serve`] runs it until shutdown.
pub struct UdpEntryPoint {
    socket: Arc<UdpSocket>,
    name: String,
    table: Arc<ArcSwap<UdpTable>>,
    options: UdpOptions,
    counters: Arc<Counters>,
    /// Writes one access-log line per session (when UDP lines are on).
    observer: Option<Arc<crate::observe::Observer>>,
}

impl UdpEntryPoint {
    /// Binds `address` (`:53/udp`, `127.0.0.1:0/udp`).
    pub async fn bind(
        address: &str,
        name: &str,
        table: Arc<ArcSwap<UdpTable>>,
        options: UdpOptions,
    ) -> std::io::Result<UdpEntryPoint> {
        let addr = crate::proxy::entrypoint::parse_address(address).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("address {address:?}: {e}"),
            )
        })?;
        let socket = UdpSocket::bind(addr).await?;
        Ok(UdpEntryPoint {
            socket: Arc::new(socket),
            name: name.to_string(),
            table,
            options,
            counters: Arc::default(),
            observer: None,
        })
    }

    /// Writes each session's access-log line through `observer` (when its access log is on and
    /// `accessLog.udpSessions` is not `false`).
    pub fn with_observer(mut self, observer: Option<Arc<crate::observe::Observer>>) -> Self {
        self.observer = observer.filter(|o| o.logs_sessions("UDP"));
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Receives until shutdown; then the open sessions go on (datagrams of new clients are
    /// dropped) until they have all ended or the grace period is over, when the rest end.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let mut state = Loop {
            entry: &self,
            sessions: HashMap::new(),
            pending: Arc::new(AtomicUsize::new(0)),
            epoch: Instant::now(),
            last_sweep: Instant::now(),
            draining: false,
        };
        let mut grace_over: Option<tokio::time::Instant> = None;
        let mut buf = vec![0u8; MAX_DATAGRAM + 1].into_boxed_slice();
        let mut sweep = tokio::time::interval((self.options.timeout / 2).max(ms(10)));
        loop {
            let over = async {
                match grace_over {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, peer)) => state.datagram(&buf[..n.min(MAX_DATAGRAM)], peer),
                    // An ICMP error for an earlier reply, or a transient failure: go on.
                    Err(e) => tracing::debug!(entrypoint = %self.name, error = %e, "UDP receive"),
                },
                _ = sweep.tick() => {
                    state.sweep();
                    if state.draining && state.sessions.is_empty() {
                        break;
                    }
                }
                _ = crate::shutdown::stopped(&mut shutdown), if !state.draining => {
                    if state.sessions.is_empty() || self.options.grace.is_zero() {
                        break;
                    }
                    tracing::info!(entrypoint = %self.name, sessions = state.sessions.len(), grace = ?self.options.grace, "shutting down; open UDP sessions may go on for the grace period");
                    state.draining = true;
                    grace_over = Some(tokio::time::Instant::now() + self.options.grace);
                }
                () = over => {
                    tracing::warn!(entrypoint = %self.name, sessions = state.sessions.len(), "grace period over; ending the open UDP sessions");
                    break;
                }
            }
        }
        for (_, session) in state.sessions.drain() {
            session.task.abort();
        }
        self.counters.open.store(0, Ordering::Relaxed);
    }
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The receive loop's state.
struct Loop<'a> {
    entry: &'a UdpEntryPoint,
    sessions: HashMap<SocketAddr, Session>,
    /// Bytes of datagrams queued in sessions still opening.
    pending: Arc<AtomicUsize>,
    epoch: Instant,
    last_sweep: Instant,
    /// Shutting down: no new sessions.
    draining: bool,
}

struct Session {
    shared: Arc<Shared>,
    /// Datagrams for a session whose backend socket is not open yet.
    queue: mpsc::Sender<Bytes>,
    task: tokio::task::AbortHandle,
}

impl Loop<'_> {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn datagram(&mut self, data: &[u8], peer: SocketAddr) {
        let now = self.now();
        if let Some(session) = self.sessions.get(&peer) {
            if !session.shared.closed.load(Ordering::Acquire) {
                session.shared.last.store(now, Ordering::Relaxed);
                match session.shared.backend.get() {
                    Some(backend) => match backend.try_send(data) {
                        Ok(n) => {
                            session
                                .shared
                                .received
                                .fetch_add(n as u64, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if e.kind() != std::io::ErrorKind::WouldBlock {
                                // The server refused (ICMP): the next datagram opens a new
                                // session, on the next server.
                                session.shared.closed.store(true, Ordering::Release);
                            }
                        }
                    },
                    None => self.enqueue(peer, data),
                }
                return;
            }
            if let Some(old) = self.sessions.remove(&peer) {
                old.task.abort();
                self.entry.counters.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
        if self.draining {
            return;
        }
        self.open(data, peer, now);
    }

    /// Queues a datagram for a session still opening (dropped when the queue or the entrypoint's
    /// byte budget is full).
    fn enqueue(&self, peer: SocketAddr, data: &[u8]) {
        let Some(session) = self.sessions.get(&peer) else {
            return;
        };
        if self.pending.fetch_add(data.len(), Ordering::AcqRel) + data.len() > PENDING_BYTES {
            self.pending.fetch_sub(data.len(), Ordering::AcqRel);
            return;
        }
        if session
            .queue
            .try_send(Bytes::copy_from_slice(data))
            .is_err()
        {
            self.pending.fetch_sub(data.len(), Ordering::AcqRel);
        }
    }

    fn open(&mut self, data: &[u8], peer: SocketAddr, now: u64) {
        let counters = &self.entry.counters;
        if self.sessions.len() >= self.entry.options.max_sessions {
            // Ended sessions are swept now, but at most every 50 ms under a flood.
            if self.last_sweep.elapsed() >= ms(50) {
                self.sweep();
            }
            if self.sessions.len() >= self.entry.options.max_sessions {
                if counters
                    .refused
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(10_000)
                {
                    tracing::warn!(
                        entrypoint = %self.entry.name,
                        sessions = self.sessions.len(),
                        "UDP session cap reached: datagrams of new clients are dropped"
                    );
                }
                return;
            }
        }
        let table = self.entry.table.load();
        let Some(route) = table.route(&self.entry.name) else {
            counters.unrouted.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let Some(address) = route.pick() else {
            counters.unrouted.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let address = address.to_string();
        let route = Arc::clone(route);
        drop(table);
        let shared = Arc::new(Shared {
            last: AtomicU64::new(now),
            closed: AtomicBool::new(false),
            backend: OnceLock::new(),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        });
        let (queue, rx) = mpsc::channel(PENDING_PER_SESSION);
        let task = SessionTask {
            shared: Arc::clone(&shared),
            client: Arc::clone(&self.entry.socket),
            peer,
            address,
            route,
            timeout: self.entry.options.timeout,
            epoch: self.epoch,
            pending: Arc::clone(&self.pending),
            entrypoint: self.entry.name.clone(),
            observer: self.entry.observer.clone(),
        };
        let handle = tokio::spawn(task.run(rx));
        counters.opened.fetch_add(1, Ordering::Relaxed);
        counters.open.fetch_add(1, Ordering::Relaxed);
        self.sessions.insert(
            peer,
            Session {
                shared,
                queue,
                task: handle.abort_handle(),
            },
        );
        self.enqueue(peer, data);
    }

    /// Forgets the sessions that ended.
    fn sweep(&mut self) {
        self.last_sweep = Instant::now();
        let before = self.sessions.len();
        self.sessions
            .retain(|_, s| !s.shared.closed.load(Ordering::Acquire));
        let gone = before - self.sessions.len();
        if gone > 0 {
            self.entry.counters.open.fetch_sub(gone, Ordering::Relaxed);
        }
    }
}
