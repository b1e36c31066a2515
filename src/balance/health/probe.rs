//! One health-check probe: a fresh connection per check (so it also proves the server still accepts), one request,
//! status judged, connection dropped. Plain HTTP/1.1 over TCP; `https` uses rustls **without certificate
//! verification** (health checks only: they talk to task IPs whose certificates rarely name them; no request data
//! is at stake). `mode: grpc` asks `grpc.health.v1.Health/Check` over HTTP/2 instead (h2c, or TLS offering `h2`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::dynamic::HealthCheckConfig;

/// Default probe interval (Traefik: 30 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Default probe timeout (Traefik: 5 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a probe failed (or could not be built).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("invalid health check target {url:?}: {reason}")]
    InvalidTarget { url: String, reason: &'static str },
    #[error("invalid health check header {name:?}")]
    InvalidHeader { name: String },
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS handshake with {addr} failed: {source}")]
    Tls {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP exchange failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("unexpected status {status}")]
    Status { status: StatusCode },
    #[error("connection closed before a response")]
    Closed,
    #[error("stopped after {MAX_REDIRECTS} redirects")]
    Redirects,
    #[error("gRPC health check failed: {reason}")]
    Grpc { reason: String },
}

/// A prepared probe: everything derived from the config once, when the loop starts.
#[derive(Clone)]
pub struct Probe {
    host: String,
    port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    method: Method,
    uri: Uri,
    host_header: HeaderValue,
    headers: Vec<(HeaderName, HeaderValue)>,
    expected: Option<u16>,
    /// Follow redirects (at most [`MAX_REDIRECTS`]) and judge the final answer (Traefik's default).
    follow_redirects: bool,
    /// `mode: grpc`: the gRPC Health Checking Protocol v1 over HTTP/2 instead of an HTTP request.
    grpc: bool,
    pub interval: Duration,
    /// Interval while the server is down (`unhealthyInterval`, else `interval`).
    pub unhealthy_interval: Duration,
    pub timeout: Duration,
}

/// Redirects a probe follows at most, as Go's HTTP client.
pub const MAX_REDIRECTS: usize = 10;

impl Probe {
    /// Prepares the probe of server `url` (`http://ip:port`, `https://…`, `h2c://…`) per `config`.
    pub fn new(url: &str, config: &HealthCheckConfig) -> Result<Probe, ProbeError> {
        let invalid = |reason| ProbeError::InvalidTarget {
            url: url.to_string(),
            reason,
        };
        let server: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let server_scheme = server.scheme_str().unwrap_or("http");
        let scheme = config
            .scheme
            .as_deref()
            .unwrap_or(server_scheme)
            .to_ascii_lowercase();
        let https = match scheme.as_str() {
            "http" | "h2c" => false,
            "https" => true,
            _ => return Err(invalid("scheme must be http, https or h2c")),
        };
        let host = server.host().ok_or_else(|| invalid("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let default_port = if https { 443 } else { 80 };
        let port = config
            .port
            .or_else(|| server.port_u16())
            .unwrap_or(default_port);
        let path = config.path.as_deref().unwrap_or("/");
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let uri: Uri = path.parse().map_err(|_| invalid("invalid path"))?;
        let method = match config.method.as_deref() {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| invalid("invalid method"))?,
            None => Method::GET,
        };
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let host_header = HeaderValue::from_str(config.hostname.as_deref().unwrap_or(&authority))
            .map_err(|_| invalid("invalid hostname"))?;
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let bad = || ProbeError::InvalidHeader { name: name.clone() };
            headers.push((
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?,
                HeaderValue::from_str(value).map_err(|_| bad())?,
            ));
        }
        let grpc = match config.mode.as_deref() {
            None | Some("http") => false,
            Some("grpc") => true,
            Some(_) => return Err(invalid("mode must be http or grpc")),
        };
        let tls = if https {
            let sni = config.hostname.clone().unwrap_or_else(|| host.clone());
            let name = ServerName::try_from(sni).map_err(|_| invalid("invalid TLS server name"))?;
            let config = if grpc {
                grpc_tls_config()?
            } else {
                insecure_tls_config()?
            };
            Some((config, name))
        } else {
            None
        };
        let interval = config
            .interval
            .map(|d| d.get())
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_INTERVAL);
        Ok(Probe {
            host,
            port,
            tls,
            method,
            uri,
            host_header,
            headers,
            expected: config.status,
            follow_redirects: config.follow_redirects.unwrap_or(true),
            grpc,
            interval,
            unhealthy_interval: match config.unhealthy_interval {
                None => interval,
                // Traefik: a non-positive unhealthyInterval means its default interval.
                Some(d) if d.get().is_zero() => DEFAULT_INTERVAL,
                Some(d) => d.get(),
            },
            timeout: config
                .timeout
                .map(|d| d.get())
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_TIMEOUT),
        })
    }

    /// Runs one check within the timeout.
    pub async fn check(&self) -> Result<(), ProbeError> {
        tokio::time::timeout(self.timeout, self.exchange())
            .await
            .map_err(|_| ProbeError::Timeout(self.timeout))?
    }

    async fn exchange(&self) -> Result<(), ProbeError> {
        if self.grpc {
            return self.grpc_check().await;
        }
        let mut hop = Hop {
            host: self.host.clone(),
            port: self.port,
            tls: self.tls.clone(),
            method: self.method.clone(),
            uri: self.uri.clone(),
            host_header: self.host_header.clone(),
        };
        let mut redirects = 0;
        let status = loop {
            let (status, location) = self.exchange_once(&hop).await?;
            if !self.follow_redirects || !is_followed(status) {
                break status;
            }
            let Some(location) = location else {
                break status;
            };
            if redirects == MAX_REDIRECTS {
                return Err(ProbeError::Redirects);
            }
            redirects += 1;
            hop = hop.redirected(status, &location)?;
        };
        let ok = match self.expected {
            Some(code) => status.as_u16() == code,
            // Traefik: anything from 200 to 399.
            None => status.is_success() || status.is_redirection(),
        };
        if ok {
            Ok(())
        } else {
            Err(ProbeError::Status { status })
        }
    }

    /// `grpc.health.v1.Health/Check` for the whole server (empty service name), as Traefik:
    /// healthy when the answer is `SERVING`.
    async fn grpc_check(&self) -> Result<(), ProbeError> {
        let addr = format!("{}:{}", self.host, self.port);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| ProbeError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let authority = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            addr.clone()
        };
        match &self.tls {
            None => grpc_exchange(tcp, "http", &authority).await,
            Some((config, name)) => {
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|source| ProbeError::Tls { addr, source })?;
                grpc_exchange(tls, "https", &authority).await
            }
        }
    }

    /// One request on a fresh connection: the status and the `Location` header.
    async fn exchange_once(&self, hop: &Hop) -> Result<(StatusCode, Option<String>), ProbeError> {
        let addr = format!("{}:{}", hop.host, hop.port);
        let tcp = TcpStream::connect((hop.host.as_str(), hop.port))
            .await
            .map_err(|source| ProbeError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        match &hop.tls {
            None => self.send(tcp, hop).await,
            Some((config, name)) => {
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|source| ProbeError::Tls { addr, source })?;
                self.send(tls, hop).await
            }
        }
    }

    async fn send<IO>(&self, io: IO, hop: &Hop) -> Result<(StatusCode, Option<String>), ProbeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
        let mut request = Request::new(Empty::<Bytes>::new());
        *request.method_mut() = hop.method.clone();
        *request.uri_mut() = hop.uri.clone();
        let headers = request.headers_mut();
        headers.insert(http::header::HOST, hop.host_header.clone());
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static("swarmgate-healthcheck"),
        );
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        // Drive the connection in this task; everything is dropped (closed) once the status is known. With
        // `Connection: close` the connection may finish before the response future is polled: keep polling it.
        let mut response = std::pin::pin!(sender.send_request(request));
        let mut conn = std::pin::pin!(conn);
        let mut conn_done = false;
        let response = loop {
            tokio::select! {
                biased;
                response = &mut response => break response.map_err(|e| {
                    if conn_done { ProbeError::Closed } else { ProbeError::Http(e) }
                })?,
                closed = &mut conn, if !conn_done => {
                    closed?;
                    conn_done = true;
                }
            }
        };
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((response.status(), location))
    }
}

/// Where one request of a probe goes (the server, or where a redirect pointed).
struct Hop {
    host: String,
    port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    method: Method,
    uri: Uri,
    host_header: HeaderValue,
}

/// Redirect statuses Go's client follows.
fn is_followed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

impl Hop {
    /// The next hop after a redirect to `location`, as Go's client: relative to the current URL;
    /// 301/302/303 turn the method into GET (HEAD stays); a relative target keeps the `Host`.
    fn redirected(self, status: StatusCode, location: &str) -> Result<Hop, ProbeError> {
        let bad = || ProbeError::InvalidTarget {
            url: location.to_string(),
            reason: "unusable redirect location",
        };
        let method = match status.as_u16() {
            301..=303 if self.method != Method::HEAD => Method::GET,
            _ => self.method.clone(),
        };
        let absolute = location
            .split_once("://")
            .is_some_and(|(scheme, _)| scheme.bytes().all(|b| b.is_ascii_alphabetic()));
        if !absolute {
            // Relative: same server; a path relative to the current one is resolved against it.
            let path = if location.starts_with('/') {
                location.to_string()
            } else {
                let current = self.uri.path();
                let dir = current.rfind('/').map_or("/", |i| &current[..=i]);
                format!("{dir}{location}")
            };
            return Ok(Hop {
                method,
                uri: path.parse().map_err(|_| bad())?,
                ..self
            });
        }
        let target: Uri = location.parse().map_err(|_| bad())?;
        let authority = target.authority().ok_or_else(bad)?;
        let https = match target.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad()),
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match (https, self.tls) {
            (false, _) => None,
            (true, current) => {
                let config = match current {
                    Some((config, _)) => config,
                    None => insecure_tls_config()?,
                };
                let name = ServerName::try_from(host.clone()).map_err(|_| bad())?;
                Some((config, name))
            }
        };
        let path = target
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse()
            .map_err(|_| bad())?;
        Ok(Hop {
            host_header: HeaderValue::from_str(authority.as_str()).map_err(|_| bad())?,
            host,
            port,
            tls,
            method,
            uri: path,
        })
    }
}

/// The gRPC health request and its answer over one HTTP/2 connection.
async fn grpc_exchange<IO>(io: IO, scheme: &str, authority: &str) -> Result<(), ProbeError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use http_body_util::BodyExt;
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(io),
    )
    .await?;
    let conn = tokio::spawn(conn);
    // An empty HealthCheckRequest: not compressed, length 0.
    let body = http_body_util::Full::new(Bytes::from_static(&[0, 0, 0, 0, 0]));
    let request = Request::post(format!("{scheme}://{authority}{GRPC_HEALTH_PATH}"))
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .header(http::header::USER_AGENT, "swarmgate-healthcheck")
        .body(body)
        .map_err(|_| ProbeError::InvalidTarget {
            url: authority.to_string(),
            reason: "not a usable gRPC authority",
        })?;
    let result = async {
        let response = sender.send_request(request).await?;
        let (head, body) = response.into_parts();
        if head.status != StatusCode::OK {
            return Err(ProbeError::Status {
                status: head.status,
            });
        }
        let limited = http_body_util::Limited::new(body, 64 * 1024);
        let collected = limited.collect().await.map_err(|_| ProbeError::Grpc {
            reason: "unreadable answer".to_string(),
        })?;
        let grpc_status = collected
            .trailers()
            .and_then(|t| t.get("grpc-status"))
            .or_else(|| head.headers.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match grpc_status.as_deref() {
            Some("0") => {}
            Some("12") => {
                return Err(ProbeError::Grpc {
                    reason: "the server does not implement the health protocol".to_string(),
                })
            }
            other => {
                return Err(ProbeError::Grpc {
                    reason: format!("grpc-status {}", other.unwrap_or("missing")),
                })
            }
        }
        match serving_status(&collected.to_bytes()) {
            Some(1) => Ok(()),
            status => Err(ProbeError::Grpc {
                reason: format!("health status {} (not SERVING)", status.unwrap_or(0)),
            }),
        }
    }
    .await;
    conn.abort();
    result
}

/// The gRPC health service's method.
const GRPC_HEALTH_PATH: &str = "/grpc.health.v1.Health/Check";

/// The `status` (field 1, an enum) of a length-prefixed `HealthCheckResponse`; `None` when the
/// message cannot be read (absent field: 0, UNKNOWN).
fn serving_status(message: &[u8]) -> Option<u64> {
    let (&compressed, rest) = message.split_first()?;
    if compressed != 0 || rest.len() < 4 {
        return None;
    }
    let (len, mut fields) = rest.split_at(4);
    let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
    fields = fields.get(..len)?;
    let mut status = 0;
    while let Some((&key, rest)) = fields.split_first() {
        let (value, rest) = varint(rest)?;
        match key {
            0x08 => status = value,
            // Any other varint field is skipped; other wire types are not in this message.
            k if k & 7 == 0 => {}
            _ => return None,
        }
        fields = rest;
    }
    Some(status)
}

fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// TLS for a gRPC probe: as the HTTP probe's, offering only `h2`.
fn grpc_tls_config() -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    let mut config = (*insecure_tls_config()?).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

fn insecure_tls_config() -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    crate::upstream::insecure_client_config()
        .map(Arc::new)
        .map_err(|_| ProbeError::InvalidTarget {
            url: String::new(),
            reason: "no TLS protocol version available",
        })
}
