//! One UDP session's task: opens a socket connected to the server picked for the session (a
//! name resolved within 2 s), sends the datagrams queued while it opened, relays the server's
//! replies to the client from the entrypoint's socket, and ends the session after `timeout`
//! without a datagram either way or when the server refuses (ICMP port unreachable). Replies are
//! read into one buffer per runtime thread, so a session holds no buffer of its own. With the
//! access log on (and `accessLog.udpSessions` not `false`), a session writes one line when it
//! ends: bytes each way, server, duration (which includes the final `timeout`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::listener::{ms, MAX_DATAGRAM};
use super::table::UdpRoute;

/// Time allowed to resolve a server given by name.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a session's task and the receive loop share.
pub(super) struct Shared {
    /// Milliseconds since the loop's epoch of the last datagram either way.
    pub last: AtomicU64,
    pub closed: AtomicBool,
    pub backend: OnceLock<UdpSocket>,
    /// Bytes of the client's datagrams sent on to the server.
    pub received: AtomicU64,
    /// Bytes of the server's replies sent to the client.
    pub sent: AtomicU64,
}

thread_local! {
    /// Where replies are read: one buffer per runtime thread, not one per session.
    static REPLY: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; MAX_DATAGRAM + 1].into_boxed_slice());
}

/// One session's task: opens the backend socket, sends what was queued, relays replies, ends
/// on idle timeout or on the server's refusal.
pub(super) struct SessionTask {
    pub shared: Arc<Shared>,
    pub client: Arc<UdpSocket>,
    pub peer: SocketAddr,
    pub address: String,
    pub route: Arc<UdpRoute>,
    pub timeout: Duration,
    pub epoch: Instant,
    pub pending: Arc<AtomicUsize>,
    pub entrypoint: String,
    /// Writes the session's access-log line when it ends (only when UDP lines are on).
    pub observer: Option<Arc<crate::observe::Observer>>,
}

/// A session's access-log line, written when it is dropped: when the session ends, or when its
/// task is aborted (shutdown grace over).
struct Line {
    observer: Arc<crate::observe::Observer>,
    shared: Arc<Shared>,
    peer: SocketAddr,
    entrypoint: Arc<str>,
    router: String,
    service: String,
    server: String,
    began: Instant,
    wall: std::time::SystemTime,
    status: u16,
    error: Option<String>,
    /// False until the session ended by itself.
    ended: bool,
}

impl Drop for Line {
    fn drop(&mut self) {
        let error = match (self.ended, self.error.take()) {
            (_, Some(e)) => Some(e),
            (false, None) => Some("closed: shutdown grace period over".to_string()),
            (true, None) => None,
        };
        self.observer.session(crate::observe::access::Session {
            start: self.wall,
            duration: self.began.elapsed(),
            client: self.peer,
            entrypoint: Arc::clone(&self.entrypoint),
            protocol: "UDP",
            router: std::mem::take(&mut self.router),
            service: Some(std::mem::take(&mut self.service)),
            server: Some(std::mem::take(&mut self.server)),
            server_name: None,
            tls: None,
            status: self.status,
            received: self.shared.received.load(Ordering::Relaxed),
            sent: self.shared.sent.load(Ordering::Relaxed),
            error,
        });
    }
}

impl SessionTask {
    pub async fn run(self, mut queue: mpsc::Receiver<Bytes>) {
        let mut line = self.observer.as_ref().map(|observer| Line {
            observer: Arc::clone(observer),
            shared: Arc::clone(&self.shared),
            peer: self.peer,
            entrypoint: Arc::from(self.entrypoint.as_str()),
            router: self.route.router.clone(),
            service: self.route.service.clone(),
            server: self.address.clone(),
            began: Instant::now(),
            wall: std::time::SystemTime::now(),
            status: 200,
            error: None,
            ended: false,
        });
        let mut failed = |error: String| {
            if let Some(line) = line.as_mut() {
                line.status = 502;
                line.error = Some(error);
            }
        };
        match self.connect().await {
            Ok(socket) => {
                // Set once, here only.
                let _ = self.shared.backend.set(socket);
            }
            Err(e) => {
                failed(format!("server unreachable: {e}"));
                tracing::warn!(
                    entrypoint = %self.entrypoint,
                    router = %self.route.router,
                    service = %self.route.service,
                    endpoint = %self.address,
                    error = %e,
                    "UDP server unreachable; session closed"
                );
                self.end(&mut queue);
                if let Some(line) = line.as_mut() {
                    line.ended = true;
                }
                return;
            }
        }
        let Some(backend) = self.shared.backend.get() else {
            return;
        };
        loop {
            let last = self.shared.last.load(Ordering::Relaxed);
            let deadline = self.epoch + ms(last) + self.timeout;
            tokio::select! {
                Some(datagram) = queue.recv() => {
                    self.pending.fetch_sub(datagram.len(), Ordering::AcqRel);
                    match backend.send(&datagram).await {
                        Ok(n) => {
                            self.shared.received.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        Err(e) => {
                            self.refused(&e);
                            failed(format!("server refused: {e}"));
                            break;
                        }
                    }
                }
                ready = backend.readable() => {
                    if let Err(e) = ready {
                        self.refused(&e);
                        failed(format!("server refused: {e}"));
                        break;
                    }
                    match self.relay(backend) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => {
                            self.refused(&e);
                            failed(format!("server refused: {e}"));
                            break;
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let last = self.shared.last.load(Ordering::Relaxed);
                    if self.epoch + ms(last) + self.timeout <= Instant::now() {
                        break;
                    }
                }
            }
        }
        self.end(&mut queue);
        if let Some(line) = line.as_mut() {
            line.ended = true;
        }
    }

    /// Reads one reply and sends it to the client (dropped if the socket is full: UDP).
    fn relay(&self, backend: &UdpSocket) -> std::io::Result<()> {
        REPLY.with(|buf| {
            let mut buf = buf.borrow_mut();
            let n = backend.try_recv(&mut buf)?;
            let now = self.epoch.elapsed().as_millis() as u64;
            self.shared.last.store(now, Ordering::Relaxed);
            if let Ok(sent) = self
                .client
                .try_send_to(&buf[..n.min(MAX_DATAGRAM)], self.peer)
            {
                self.shared.sent.fetch_add(sent as u64, Ordering::Relaxed);
            }
            Ok(())
        })
    }

    fn refused(&self, e: &std::io::Error) {
        tracing::debug!(
            entrypoint = %self.entrypoint,
            router = %self.route.router,
            endpoint = %self.address,
            error = %e,
            "UDP server refused; session closed"
        );
    }

    /// Marks the session ended and gives back the bytes still queued.
    fn end(&self, queue: &mut mpsc::Receiver<Bytes>) {
        self.shared.closed.store(true, Ordering::Release);
        queue.close();
        while let Ok(datagram) = queue.try_recv() {
            self.pending.fetch_sub(datagram.len(), Ordering::AcqRel);
        }
    }

    /// A socket connected to the picked server (a name is resolved, within 2 s).
    async fn connect(&self) -> std::io::Result<UdpSocket> {
        let target = match self.address.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                let mut found =
                    tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(&self.address))
                        .await
                        .map_err(|_| {
                            std::io::Error::new(std::io::ErrorKind::TimedOut, "name not resolved")
                        })??;
                found.next().ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "name has no address")
                })?
            }
        };
        let local: SocketAddr = if target.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(target).await?;
        Ok(socket)
    }
}
