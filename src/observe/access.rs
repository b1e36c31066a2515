//! Access log (Traefik's `accessLog`): one line per request, `common` or `json`.
//!
//! The request path only builds an `Entry` and hands it over with `try_send` on a bounded
//! channel; when the channel is full the entry is dropped and counted, never waited for. A writer
//! thread formats and writes (file or stdout), flushing every `bufferingSize` lines and when idle.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;

use super::clock::Civil;
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
    pub client: SocketAddr,
    pub method: Method,
    /// Path and query as received.
    pub path: String,
    pub proto: &'static str,
    pub host: String,
    pub tls: bool,
    pub entrypoint: Arc<str>,
    pub status: u16,
    /// Response `Content-Length` (0 when unknown: streamed bodies are not counted).
    pub size: u64,
    pub request_size: u64,
    pub referer: Option<String>,
    pub user_agent: Option<String>,
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

/// The sending side, held by the observer.
#[derive(Debug)]
pub struct AccessLog {
    tx: SyncSender<Entry>,
    dropped: AtomicU64,
    count: AtomicU64,
}

impl AccessLog {
    /// Opens the output and starts the writer thread; relative paths resolve from `base`.
    pub fn start(cfg: &AccessLogConfig, base: &Path) -> std::io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = match &cfg.file_path {
            Some(path) => {
                let path = base.join(path);
                Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                )
            }
            None => Box::new(std::io::stdout()),
        };
        let flush_every = cfg.buffering_size.unwrap_or(0).max(1);
        AccessLog::with_writer(out, cfg.format, flush_every, CHANNEL_CAPACITY)
    }

    /// Starts the writer thread over any output; `capacity` entries may wait before drops.
    pub fn with_writer(
        out: Box<dyn Write + Send>,
        format: AccessLogFormat,
        flush_every: usize,
        capacity: usize,
    ) -> std::io::Result<AccessLog> {
        let (tx, rx) = mpsc::sync_channel(capacity);
        std::thread::Builder::new()
            .name("access-log".to_string())
            .spawn(move || write_loop(rx, out, format, flush_every.max(1)))?;
        Ok(AccessLog {
            tx,
            dropped: AtomicU64::new(0),
            count: AtomicU64::new(0),
        })
    }

    /// The next request sequence number.
    pub fn next_count(&self) -> u64 {
        self.count.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Hands an entry to the writer; drops (and counts) it when the writer is behind.
    pub fn submit(&self, entry: Entry) {
        match self.tx.try_send(entry) {
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

fn write_loop(
    rx: Receiver<Entry>,
    out: Box<dyn Write + Send>,
    format: AccessLogFormat,
    flush_every: usize,
) {
    let mut out = std::io::BufWriter::new(out);
    let mut pending = 0usize;
    loop {
        match rx.recv_timeout(IDLE_FLUSH) {
            Ok(entry) => {
                let line = match format {
                    AccessLogFormat::Common => common(&entry),
                    AccessLogFormat::Json => json(&entry),
                };
                let _ = out.write_all(line.as_bytes());
                let _ = out.write_all(b"\n");
                pending += 1;
                if pending >= flush_every {
                    let _ = out.flush();
                    pending = 0;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if pending > 0 {
                    let _ = out.flush();
                    pending = 0;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = out.flush();
                return;
            }
        }
    }
}

fn or_dash(s: Option<&str>) -> &str {
    match s {
        Some(s) if !s.is_empty() => s,
        _ => "-",
    }
}

/// Traefik's Common Log Format variant:
/// `<client> - <user> [<time>] "<method> <path> <proto>" <status> <size> "<referer>" "<ua>" <count> "<router>" "<url>" <ms>ms`.
pub fn common(e: &Entry) -> String {
    format!(
        "{} - {} [{}] \"{} {} {}\" {} {} \"{}\" \"{}\" {} \"{}\" \"{}\" {}ms",
        e.client.ip(),
        or_dash(e.user.as_deref()),
        Civil::from_system(e.start).clf(),
        e.method,
        e.path,
        e.proto,
        e.status,
        e.size,
        or_dash(e.referer.as_deref()),
        or_dash(e.user_agent.as_deref()),
        e.count,
        or_dash(Some(e.router())),
        or_dash(Some(e.url())),
        e.duration.as_millis()
    )
}

/// One JSON object with Traefik's field names.
pub fn json(e: &Entry) -> String {
    let url = e.url();
    let service_addr = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let service_addr = service_addr.split('/').next().unwrap_or("");
    let (host, port) = split_host(&e.host);
    let nanos = u64::try_from(e.duration.as_nanos()).unwrap_or(u64::MAX);
    let start = Civil::from_system(e.start).rfc3339();
    let mut v = serde_json::json!({
        "ClientAddr": e.client.to_string(),
        "ClientHost": e.client.ip().to_string(),
        "ClientPort": e.client.port().to_string(),
        "ClientUsername": or_dash(e.user.as_deref()),
        "DownstreamContentSize": e.size,
        "DownstreamStatus": e.status,
        "Duration": nanos,
        "OriginContentSize": if e.reached_service { e.size } else { 0 },
        "OriginDuration": nanos,
        "OriginStatus": if url.is_empty() { 0 } else { e.status },
        "RequestAddr": e.host,
        "RequestContentSize": e.request_size,
        "RequestCount": e.count,
        "RequestHost": host,
        "RequestMethod": e.method.as_str(),
        "RequestPath": e.path,
        "RequestPort": port,
        "RequestProtocol": e.proto,
        "RequestScheme": if e.tls { "https" } else { "http" },
        "RetryAttempts": e.retries,
        "StartUTC": start,
        "StartLocal": start,
        "entryPointName": &*e.entrypoint,
        "level": "info",
        "msg": "",
        "time": start,
    });
    if let Some(map) = v.as_object_mut() {
        if e.route.is_some() {
            map.insert("RouterName".into(), e.router().into());
            if e.reached_service {
                map.insert("ServiceName".into(), e.service().into());
            }
        }
        if !url.is_empty() {
            map.insert("ServiceURL".into(), url.into());
            map.insert("ServiceAddr".into(), service_addr.into());
        }
        if let Some(d) = e.auth_duration {
            let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            map.insert("AuthDuration".into(), nanos.into());
        }
        if let Some(r) = &e.referer {
            map.insert("request_Referer".into(), r.as_str().into());
        }
        if let Some(ua) = &e.user_agent {
            map.insert("request_User-Agent".into(), ua.as_str().into());
        }
    }
    v.to_string()
}

/// `example.com:8080` → (`example.com`, `8080`); `-` when there is no port (as Traefik).
fn split_host(host: &str) -> (&str, &str) {
    if host.starts_with('[') {
        return match host.rsplit_once("]:") {
            Some((h, p)) => (&host[..h.len() + 1], p),
            None => (host, "-"),
        };
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p),
        _ => (host, "-"),
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

#[cfg(test)]
mod tests;
