//! Entrypoints: bind, accept, speak HTTP/1.1 and HTTP/2 (prior knowledge on cleartext) with hyper,
//! and drain gracefully on shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::service::{ConnInfo, Proxy};

/// Connection-level settings of one entrypoint.
#[derive(Debug, Clone)]
pub struct EntryPointOptions {
    /// Time allowed for a request head to arrive (slowloris guard).
    pub header_read_timeout: Duration,
    /// How long in-flight requests may run after shutdown starts.
    pub grace: Duration,
    pub h2_max_concurrent_streams: u32,
    pub max_header_bytes: usize,
}

impl Default for EntryPointOptions {
    fn default() -> Self {
        EntryPointOptions {
            header_read_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(10),
            h2_max_concurrent_streams: 250,
            max_header_bytes: 64 * 1024,
        }
    }
}

pub struct EntryPoint {
    listener: TcpListener,
    proxy: Arc<Proxy>,
    options: EntryPointOptions,
    /// TLS is detected per connection (first byte) when set; see `crate::tls::accept`.
    tls: Option<crate::tls::Acceptor>,
}

/// `:80` → all interfaces; `127.0.0.1:8080`, `[::]:443` as written.
pub fn parse_address(address: &str) -> Result<SocketAddr, std::net::AddrParseError> {
    let address = address.split('/').next().unwrap_or(address); // `:443/udp` is Traefik's form
    if let Some(port) = address.strip_prefix(':') {
        return format!("0.0.0.0:{port}").parse();
    }
    address.parse()
}

impl EntryPoint {
    pub async fn bind(
        address: &str,
        proxy: Arc<Proxy>,
        options: EntryPointOptions,
    ) -> std::io::Result<EntryPoint> {
        let addr = parse_address(address).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("address {address:?}: {e}"),
            )
        })?;
        let listener = TcpListener::bind(addr).await?;
        Ok(EntryPoint {
            listener,
            proxy,
            options,
            tls: None,
        })
    }

    /// Serves TLS (detected per connection) besides plain HTTP.
    pub fn with_tls(mut self, acceptor: crate::tls::Acceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts until `shutdown` turns true, then waits up to the grace period for open connections
    /// to finish their in-flight requests.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.options.header_read_timeout)
            .max_buf_size(self.options.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(self.options.h2_max_concurrent_streams);
        let graceful = GracefulShutdown::new();
        let name = self.proxy.name().to_string();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => self.spawn_connection(&builder, &graceful, stream, peer),
                    Err(error) => {
                        tracing::warn!(entrypoint = %name, %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = stopped(&mut shutdown) => break,
            }
        }
        drop(self.listener);
        let open = graceful.count();
        tracing::info!(entrypoint = %name, open, "stopped accepting; draining connections");
        if tokio::time::timeout(self.options.grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(entrypoint = %name, "grace period over; closing remaining connections");
        }
    }

    fn spawn_connection(
        &self,
        builder: &auto::Builder<TokioExecutor>,
        graceful: &GracefulShutdown,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(peer);
        let proxy = Arc::clone(&self.proxy);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let open = (proxy.observer()).and_then(|o| o.connection_opened(proxy.entrypoint_index()));
        let tls = self.tls.clone();
        let timeout = self.options.header_read_timeout;
        tokio::spawn(async move {
            let _open = open; // swarmgate_open_connections, until the connection ends
            let accepted = crate::tls::detect(stream, tls.as_ref(), timeout).await;
            let is_tls = matches!(accepted, crate::tls::Accepted::Tls(_));
            let conn = ConnInfo {
                peer,
                local,
                tls: is_tls,
            };
            let service = service_fn(move |req| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(proxy.handle(req, &conn).await) }
            });
            let result = match accepted {
                crate::tls::Accepted::Plain(stream) => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
                crate::tls::Accepted::Tls(stream) => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
                crate::tls::Accepted::Done => Ok(()),
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with error");
            }
        });
    }
}

/// Resolves once the shutdown flag is set (or its sender is gone).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
