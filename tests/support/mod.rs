//! Test harness: in-process backends, a swarmgate started on 127.0.0.1:0 with a watched dynamic
//! file, and small HTTP clients. Every test reads as its scenario.
#![allow(clippy::disallowed_types)] // std Mutex: test harness
#![allow(dead_code, clippy::unwrap_used)]

pub mod h3;
pub mod otlp;
pub mod push;
pub mod tcp;
pub mod tls;
pub mod udp;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use swarmgate::app::{Running, StartOptions};
use swarmgate::config::StaticConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

// === backends ===

/// A backend on 127.0.0.1 answering every request with `answer` (HTTP/1.1 or h2c). For tests
/// that need answers `backend()` does not give.
pub async fn serve_fn<F, Fut, B>(answer: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let reply = answer(req);
                    async move { Ok::<_, Infallible>(reply.await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// What a backend saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub version: http::Version,
    pub headers: http::HeaderMap,
}

pub struct Backend {
    pub addr: SocketAddr,
    pub name: String,
    pub hits: Arc<AtomicUsize>,
    pub seen: Arc<std::sync::Mutex<Vec<Seen>>>,
    /// Status the health path answers (200 by default).
    pub health_status: Arc<std::sync::atomic::AtomicU16>,
    task: JoinHandle<()>,
    conns: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Backend {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn last_seen(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("backend saw no request")
    }

    /// TCP connections the backend has accepted so far.
    pub fn connections(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    /// Kills the backend: stops listening and drops every open connection.
    pub fn kill(&self) {
        self.task.abort();
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP/1.1 + HTTP/2 (h2c) backend that answers `name` plus what it saw; `/health` answers the
/// configurable health status; `/slow` waits 2 s; `/ws` upgrades to a WebSocket echo.
pub async fn backend(name: &str) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let health_status = Arc::new(std::sync::atomic::AtomicU16::new(200));
    let conns = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, s, hs, c, n) = (
        hits.clone(),
        seen.clone(),
        health_status.clone(),
        conns.clone(),
        name.to_string(),
    );
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (h, s, hs, n) = (h.clone(), s.clone(), hs.clone(), n.clone());
            let conn = tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (h, s, hs, n) = (h.clone(), s.clone(), hs.clone(), n.clone());
                    async move { Ok::<_, Infallible>(answer(req, &n, &h, &s, &hs).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                    .await;
            });
            c.lock().unwrap().push(conn);
        }
    });
    Backend {
        addr,
        name: name.to_string(),
        hits,
        seen,
        health_status,
        task,
        conns,
    }
}

async fn answer(
    mut req: Request<Incoming>,
    name: &str,
    hits: &AtomicUsize,
    seen: &std::sync::Mutex<Vec<Seen>>,
    health: &std::sync::atomic::AtomicU16,
) -> Response<Full<Bytes>> {
    if req.uri().path() == "/health" {
        let status = StatusCode::from_u16(health.load(Ordering::SeqCst)).unwrap();
        return Response::builder()
            .status(status)
            .body(Full::new(Bytes::from("health")))
            .unwrap();
    }
    hits.fetch_add(1, Ordering::SeqCst);
    seen.lock().unwrap().push(Seen {
        method: req.method().to_string(),
        uri: req.uri().to_string(),
        version: req.version(),
        headers: req.headers().clone(),
    });
    if req.uri().path() == "/ws" {
        return websocket_echo(&mut req);
    }
    if req.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = format!("{name}\n{}", String::from_utf8_lossy(&body));
    Response::builder()
        .header("x-backend", name)
        .header("connection", "keep-alive")
        .body(Full::new(Bytes::from(text)))
        .unwrap()
}

fn websocket_echo(req: &mut Request<Incoming>) -> Response<Full<Bytes>> {
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let key = req.headers().get("sec-websocket-key").cloned().unwrap();
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let upgraded = upgrade.await.unwrap();
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            None,
        )
        .await;
        use futures_util::{SinkExt, StreamExt};
        let (mut tx, mut rx) = ws.split();
        while let Some(Ok(msg)) = rx.next().await {
            if msg.is_text() || msg.is_binary() {
                tx.send(msg).await.unwrap();
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

// === gateway ===

pub struct Gateway {
    pub running: Option<Running>,
    pub addr: SocketAddr,
    pub dynamic_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Replaces the watched dynamic file (atomically, as editors and config mounts do).
    pub fn write_dynamic(&self, yaml: &str) {
        let tmp = self.dynamic_file.with_extension("tmp");
        std::fs::write(&tmp, yaml).unwrap();
        std::fs::rename(&tmp, &self.dynamic_file).unwrap();
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// Starts swarmgate with one entrypoint `web` on 127.0.0.1:0 and a file provider watching a
/// temporary `dynamic.yml` holding `dynamic_yaml`.
pub async fn gateway(dynamic_yaml: &str) -> Gateway {
    gateway_with(dynamic_yaml, "").await
}

/// Like `gateway`, with extra static configuration (TOML) appended.
pub async fn gateway_with(dynamic_yaml: &str, extra_static_toml: &str) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let dynamic_file = dir.path().join("dynamic.yml");
    std::fs::write(&dynamic_file, dynamic_yaml).unwrap();
    let static_toml = format!(
        "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n\n[providers.file]\nfilename = {:?}\nwatch = true\n{extra_static_toml}",
        dynamic_file.display().to_string()
    );
    let cfg: StaticConfig = toml::from_str(&static_toml).unwrap();
    let running = swarmgate::app::start(cfg, StartOptions::default())
        .await
        .unwrap();
    let addr = running.address("web").unwrap();
    Gateway {
        running: Some(running),
        addr,
        dynamic_file,
        _dir: dir,
    }
}

/// YAML for one router + loadBalancer service named `app` over `servers`.
pub fn route_yaml(rule: &str, servers: &[String], extra_service: &str) -> String {
    let servers: String = servers
        .iter()
        .map(|s| format!("          - url: \"{s}\"\n"))
        .collect();
    format!(
        "http:\n  routers:\n    app:\n      rule: \"{rule}\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n{extra_service}        servers:\n{servers}"
    )
}

// === clients ===

pub type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn h2_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
    pub version: http::Version,
}

pub async fn send(client: &HttpClient, req: Request<Full<Bytes>>) -> Reply {
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .expect("request timed out")
        .expect("request failed");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        version: parts.version,
    }
}

/// GET `url` with an optional Host header.
pub async fn get(client: &HttpClient, url: &str, host: Option<&str>) -> Reply {
    let mut req = Request::get(url);
    if let Some(host) = host {
        req = req.header("host", host);
    }
    send(client, req.body(Full::new(Bytes::new())).unwrap()).await
}

/// Waits until `check` holds, polling every 20 ms, up to `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
