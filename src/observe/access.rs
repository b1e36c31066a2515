//! Access log (Traefik's `accessLog`): one line per request, `common` or `json`, and (swarmgate's
//! extension) one per TCP or UDP router session ([`Session`], written when it ends).
//!
//! The request path only builds an `Entry` and hands it over with `try_send` on a bounded
//! channel; when the channel is full the entry is dropped and counted, never waited for. A writer
//! thread formats and writes (file or stdout), flushing every `bufferingSize` lines and when idle.
//! `filters` decide which requests are written (checked before an entry is built), `fields`
//! which fields and headers each line holds (`access/format.rs`). SIGUSR1 asks the writer to
//! reopen the file (log rotation), as Traefik.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;

use crate::config::static_config::{AccessLogConfig, AccessLogFormat};
use crate::table::Route;
use crate::upstream::UpstreamPool;

/// Entries that may wait for the writer before new ones are dropped.
const CHANNEL_CAPACITY: usize = 16 * 1024;
/// How often buffered lines are flushed when traffic is low.
const IDLE_FLUSH: Duration = Duration::from_secs(1);

/// One finished request, as the writer needs it.
#[derive(Debug)]
pub struct Entry {
    pub start: SystemTime,
    pub duration: Duration,
    /// The part of `duration` spent from handing the request to a server on (Traefik's
    /// `OriginDuration`; `Overhead` is the rest); zero when no server was reached.
    pub origin_duration: Duration,
    pub client: SocketAddr,
    pub method: Method,
    /// Path and query as received.
    pub path: String,
    pub proto: &'static str,
    pub host: String,
    pub tls: bool,
    /// What the connection's TLS handshake agreed on (Traefik's `TLSVersion`, `TLSCipher`).
    pub negotiated: Option<crate::config::negotiated::Negotiated>,
    /// The certificates a mutual-TLS client sent, leaf first (`TLSClientSubject`, formatted by
    /// the writer thread).
    pub client_certs: Option<Arc<[rustls::pki_types::CertificateDer<'static>]>>,
    pub entrypoint: Arc<str>,
    pub status: u16,
    /// Response body bytes sent to the client (Traefik's `DownstreamContentSize`).
    pub size: u64,
    /// Body bytes the service sent (Traefik's `OriginContentSize`; differs from `size` when
    /// `compress` re-encoded them).
    pub origin_size: u64,
    pub request_size: u64,
    /// The request's headers, when the configuration writes any header (`fields.headers`).
    pub request_headers: Option<Box<http::HeaderMap>>,
    /// The service's response headers, likewise (`origin_<Header>`).
    pub origin_headers: Option<Box<http::HeaderMap>>,
    /// The response headers sent to the client, likewise (`downstream_<Header>`).
    pub downstream_headers: Option<Box<http::HeaderMap>>,
    /// The user a `forwardAuth` server named (`headerField`); Traefik's `ClientUsername`.
    pub user: Option<String>,
    /// Time spent in `forwardAuth` calls, when the route has one (swarmgate's `AuthDuration`).
    pub auth_duration: Option<Duration>,
    pub route: Option<Arc<Route>>,
    /// False when a middleware answered before the service (Traefik then writes no
    /// `ServiceName` and an `OriginContentSize` of 0).
    pub reached_service: bool,
    /// The server that handled it.
    pub served: Option<Arc<UpstreamPool>>,
    /// Sequence number of this request since start (Traefik's request count).
    pub count: u64,
    /// Requests the `retry` middleware sent again (Traefik's `RetryAttempts`).
    pub retries: u32,
}

impl Entry {
    fn router(&self) -> &str {
        self.route.as_ref().map(|r| r.name.as_str()).unwrap_or("")
    }

    fn service(&self) -> &str {
        self.route.as_ref().map(|r| r.service.name()).unwrap_or("")
    }

    /// URL of the server that handled the request.
    fn url(&self) -> &str {
        self.served
            .as_deref()
            .map_or("", |pool| pool.target().url.as_str())
    }
}

/// One finished TCP or UDP session (swarmgate's extension: Traefik writes no line for TCP or
/// UDP routers). Written with Traefik's field names where one fits: `RequestContentSize` the
/// bytes received from the client, `DownstreamContentSize` the bytes sent to it,
/// `DownstreamStatus` the session's status as nginx's stream module gives it (200 served; 403
/// refused by `ipAllowList`; 502 no server reached or it refused; 503 router closed or
/// `inFlightConn` full).
#[derive(Debug)]
pub struct Session {
    pub start: SystemTime,
    pub duration: Duration,
    pub client: SocketAddr,
    pub entrypoint: Arc<str>,
    /// `TCP` or `UDP`.
    pub protocol: &'static str,
    pub router: String,
    /// `None` when the router is closed.
    pub service: Option<String>,
    /// The server's `host:port`, once one was reached.
    pub server: Option<String>,
    /// The ClientHello's server name, when the client sent one.
    pub server_name: Option<String>,
    /// What the handshake agreed on, when swarmgate terminated TLS.
    pub tls: Option<crate::config::negotiated::Negotiated>,
    pub status: u16,
    /// Bytes received from the client (and sent on to the server).
    pub received: u64,
    /// Bytes sent to the client.
    pub sent: u64,
    /// Why it ended otherwise than by both sides closing (refused, no server, idle, shutdown).
    pub error: Option<String>,
}

/// What the writer thread receives.
#[derive(Debug)]
enum Line {
    Request(Entry),
    Session(Session),
}

/// The sending side, held by the observer.
#[derive(Debug)]
pub struct AccessLog {
    tx: SyncSender<Line>,
    dropped: AtomicU64,
    count: AtomicU64,
    policy: Arc<Policy>,
    /// Set by `reopen`, read by the writer.
    reopen: Arc<AtomicBool>,
}

impl AccessLog {
    /// Opens the output and starts the writer thread; relative paths resolve from `base`.
    pub fn start(cfg: &AccessLogConfig, base: &Path) -> std::io::Result<AccessLog> {
        let path = cfg.file_path.as_ref().map(|p| base.join(p));
        let out: Box<dyn Write + Send> = match &path {
            Some(path) => Box::new(open_append(path)?),
            None => Box::new(std::io::stdout()),
        };
        let flush_every = cfg.buffering_size.unwrap_or(0).max(1);
        let policy = Policy::new(cfg);
        AccessLog::spawn(out, path, cfg.format, policy, flush_every, CHANNEL_CAPACITY)
    }

    /// Starts the writer thread over any output; `capacity` entries may wait before drops.
    pub fn with_writer(
        out: Box<dyn Write + Send>,
        format: AccessLogFormat,
        flush_every: usize,
        capacity: usize,
    ) -> std::io::Result<AccessLog> {
        let policy = Policy::new(&AccessLogConfig::default());
        AccessLog::spawn(out, None, format, policy, flush_every, capacity)
    }

    fn spawn(
        out: Box<dyn Write + Send>,
        path: Option<PathBuf>,
        format: AccessLogFormat,
        policy: Policy,
        flush_every: usize,
        capacity: usize,
    ) -> std::io::Result<AccessLog> {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let policy = Arc::new(policy);
        let reopen = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            rx,
            out: std::io::BufWriter::new(out),
            path,
            format,
            policy: Arc::clone(&policy),
            reopen: Arc::clone(&reopen),
            flush_every: flush_every.max(1),
        };
        std::thread::Builder::new()
            .name("access-log".to_string())
            .spawn(move || writer.run())?;
        Ok(AccessLog {
            tx,
            dropped: AtomicU64::new(0),
            count: AtomicU64::new(0),
            policy,
            reopen,
        })
    }

    /// Which requests and fields are written.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Asks the writer to close and open its file again (after a rotation moved it); done
    /// before the next line, or within a second when idle.
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Relaxed);
    }

    /// The next request sequence number.
    pub fn next_count(&self) -> u64 {
        self.count.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Hands an entry to the writer; drops (and counts) it when the writer is behind.
    pub fn submit(&self, entry: Entry) {
        self.send(Line::Request(entry));
    }

    /// Hands a TCP session's line to the writer, as `submit`.
    pub fn submit_session(&self, session: Session) {
        self.send(Line::Session(session));
    }

    /// Whether sessions of `protocol` (`TCP`, `UDP`) are written (`accessLog.tcpSessions`,
    /// `accessLog.udpSessions`, on unless `false`).
    pub fn logs_sessions(&self, protocol: &str) -> bool {
        self.policy.logs_sessions(protocol)
    }

    fn send(&self, line: Line) {
        match self.tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Entries dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// The writer thread's side.
struct Writer {
    rx: Receiver<Line>,
    out: std::io::BufWriter<Box<dyn Write + Send>>,
    /// The file, for reopening; `None` for stdout.
    path: Option<PathBuf>,
    format: AccessLogFormat,
    policy: Arc<Policy>,
    reopen: Arc<AtomicBool>,
    flush_every: usize,
}

impl Writer {
    fn run(mut self) {
        let mut pending = 0usize;
        loop {
            let received = self.rx.recv_timeout(IDLE_FLUSH);
            if self.reopen.swap(false, Ordering::Relaxed) {
                self.reopen_file();
                pending = 0;
            }
            match received {
                Ok(received) => {
                    let line = match (&received, self.format) {
                        (Line::Request(e), AccessLogFormat::Common) => {
                            format::common(e, &self.policy)
                        }
                        (Line::Request(e), AccessLogFormat::Json) => format::json(e, &self.policy),
                        (Line::Session(s), AccessLogFormat::Common) => {
                            format::session_common(s, &self.policy)
                        }
                        (Line::Session(s), AccessLogFormat::Json) => {
                            format::session_json(s, &self.policy)
                        }
                    };
                    let _ = self.out.write_all(line.as_bytes());
                    let _ = self.out.write_all(b"\n");
                    pending += 1;
                    if pending >= self.flush_every {
                        let _ = self.out.flush();
                        pending = 0;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if pending > 0 {
                        let _ = self.out.flush();
                        pending = 0;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.out.flush();
                    return;
                }
            }
        }
    }

    /// Flushes, then writes to a freshly opened file at the same path; keeps the old one when
    /// the new cannot be opened (logged).
    fn reopen_file(&mut self) {
        let _ = self.out.flush();
        let Some(path) = &self.path else {
            return;
        };
        match open_append(path) {
            Ok(file) => {
                self.out = std::io::BufWriter::new(Box::new(file));
                tracing::info!(path = %path.display(), "access log reopened");
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "access log could not be reopened; still writing to the old file")
            }
        }
    }
}

/// Put in the response's extensions for the access log (written by `proxy::forward_auth`): the user the authentication server
/// named (`headerField`) and the time spent asking it.
#[derive(Debug, Clone, Default)]
pub struct AuthLog {
    pub user: Option<String>,
    pub elapsed: std::time::Duration,
    pub calls: u32,
}

mod format;
mod policy;
mod subject;
pub use format::{common, json, session_common, session_json};
pub use policy::Policy;

#[cfg(test)]
mod tests;
