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

mod grpc;
mod hop;

use grpc::{grpc_exchange, grpc_tls_config};
use hop::{is_followed, Hop};

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

pub(super) fn insecure_tls_config() -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    crate::upstream::insecure_client_config()
        .map(Arc::new)
        .map_err(|_| ProbeError::InvalidTarget {
            url: String::new(),
            reason: "no TLS protocol version available",
        })
}
