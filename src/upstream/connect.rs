//! Opening one upstream connection: resolve, TCP connect within the connect timeout, TLS when the
//! server is `https`, then the HTTP/1.1 or HTTP/2 handshake with the connection driven by a task.

use std::net::SocketAddr;
use std::time::Duration;

use hyper::client::conn::{http1, http2};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::{Target, Transport, UpstreamScheme};
use crate::body::{BoxError, ProxyBody};
use crate::error::ProxyError;

/// Either HTTP version's request sender.
pub enum Sender {
    H1(http1::SendRequest<ProxyBody>),
    H2(http2::SendRequest<ProxyBody>),
}

async fn resolve(target: &Target) -> Result<SocketAddr, BoxError> {
    if let Ok(ip) = target.host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, target.port));
    }
    tokio::net::lookup_host((target.host.as_str(), target.port))
        .await?
        .next()
        .ok_or_else(|| BoxError::from(format!("{} resolves to no address", target.host)))
}

/// Bounds how long written bytes may stay unacknowledged on a connection (`TCP_USER_TIMEOUT`), and
/// probes an idle one with TCP keepalive after the same time: when the node behind a Swarm task
/// vanishes, a request sent over a pooled connection to it errors within `limit` instead of
/// waiting for a response that never comes (issue 27).
pub(crate) fn bound_unacknowledged(stream: &TcpStream, limit: Duration) -> std::io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    socket.set_tcp_user_timeout(Some(limit))?;
    let probe = limit.max(Duration::from_secs(1));
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(probe)
        .with_interval(probe)
        .with_retries(3);
    socket.set_tcp_keepalive(&keepalive)
}

async fn tcp(
    target: &Target,
    limit: Duration,
    user_timeout: Option<Duration>,
) -> Result<TcpStream, ProxyError> {
    let endpoint = || target.url.clone();
    let attempt = async {
        let addr = resolve(target).await?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        if let Some(user_timeout) = user_timeout {
            bound_unacknowledged(&stream, user_timeout)?;
        }
        Ok::<_, BoxError>(stream)
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(ProxyError::Connect {
            endpoint: endpoint(),
            source,
        }),
        Err(_) => Err(ProxyError::ConnectTimeout {
            endpoint: endpoint(),
        }),
    }
}

/// Opens a new connection to `target`: h2c targets speak HTTP/2, `https` ones what ALPN chose
/// (`h1_only`: offer `http/1.1` alone, for upgrades), `http` ones HTTP/1.1. `limit` bounds the
/// TCP connect and, separately, the TLS handshake; `user_timeout`, when set, bounds unacknowledged
/// bytes on the connection (see [`bound_unacknowledged`]).
pub async fn connect(
    target: &Target,
    transport: &Transport,
    limit: Duration,
    user_timeout: Option<Duration>,
    h1_only: bool,
) -> Result<Sender, ProxyError> {
    let stream = tcp(target, limit, user_timeout).await?;
    let handshake_err = |source: BoxError| ProxyError::Connect {
        endpoint: target.url.clone(),
        source,
    };
    match target.scheme {
        UpstreamScheme::Http => handshake_h1(TokioIo::new(stream))
            .await
            .map_err(handshake_err),
        UpstreamScheme::H2c => handshake_h2(TokioIo::new(stream), transport)
            .await
            .map_err(handshake_err),
        UpstreamScheme::Https => {
            let name = transport.server_name.as_deref().unwrap_or(&target.host);
            let server_name = ServerName::try_from(name.to_string())
                .map_err(|e| handshake_err(BoxError::from(e)))?;
            let config = if h1_only {
                &transport.tls_h1
            } else {
                &transport.tls
            };
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
            let tls = tokio::time::timeout(limit, connector.connect(server_name, stream))
                .await
                .map_err(|_| ProxyError::ConnectTimeout {
                    endpoint: target.url.clone(),
                })?
                .map_err(|e| handshake_err(BoxError::from(e)))?;
            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                handshake_h2(TokioIo::new(tls), transport)
                    .await
                    .map_err(handshake_err)
            } else {
                handshake_h1(TokioIo::new(tls)).await.map_err(handshake_err)
            }
        }
    }
}

async fn handshake_h1<IO>(io: IO) -> Result<Sender, BoxError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = http1::Builder::new().handshake::<_, ProxyBody>(io).await?;
    tokio::spawn(async move {
        if let Err(error) = conn.with_upgrades().await {
            tracing::debug!(%error, "upstream connection closed with error");
        }
    });
    Ok(Sender::H1(sender))
}

async fn handshake_h2<IO>(io: IO, transport: &Transport) -> Result<Sender, BoxError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = http2::Builder::new(TokioExecutor::new());
    // `readIdleTimeout` / `pingTimeout`: PING a silent connection, close it when unanswered.
    if let Some((idle, ping)) = transport.h2_ping {
        builder
            .timer(TokioTimer::new())
            .keep_alive_interval(idle)
            .keep_alive_timeout(ping)
            .keep_alive_while_idle(true);
    }
    let (sender, conn) = builder.handshake::<_, ProxyBody>(io).await?;
    tokio::spawn(async move {
        if let Err(error) = conn.await {
            tracing::debug!(%error, "upstream h2 connection closed with error");
        }
    });
    Ok(Sender::H2(sender))
}

#[cfg(test)]
mod tests;
