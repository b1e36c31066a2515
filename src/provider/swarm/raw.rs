//! A minimal HTTP/1.1 `GET` of a JSON document from the Docker API, for the one answer bollard's
//! models cut short: `/tasks` (bollard's `Task` has no `NetworksAttachments`, which holds the task
//! addresses). Same endpoint and negotiated API version as the bollard client. Config plane only.

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use super::SwarmError;

/// Where the Docker API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerEndpoint {
    Unix(PathBuf),
    /// `host:port` of a plain-HTTP API (`tcp://` or `http://`).
    Tcp(String),
}

impl DockerEndpoint {
    /// Parses `unix:///var/run/docker.sock`, `/var/run/docker.sock`, `tcp://host:2375`, `http://host:2375`.
    pub fn parse(endpoint: &str) -> Result<Self, SwarmError> {
        let e = endpoint.trim();
        if let Some(path) = e.strip_prefix("unix://") {
            return Ok(DockerEndpoint::Unix(PathBuf::from(path)));
        }
        if e.starts_with('/') {
            return Ok(DockerEndpoint::Unix(PathBuf::from(e)));
        }
        for scheme in ["tcp://", "http://"] {
            if let Some(addr) = e.strip_prefix(scheme) {
                return Ok(DockerEndpoint::Tcp(addr.trim_end_matches('/').to_string()));
            }
        }
        Err(SwarmError::Endpoint {
            endpoint: endpoint.to_string(),
        })
    }
}

/// How long one raw request may take, connect to last byte.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `GET path` (already carrying the `/v1.xx` prefix and query) and decodes the JSON answer.
pub(super) async fn get_json<T: DeserializeOwned>(
    endpoint: &DockerEndpoint,
    path: &str,
) -> Result<T, SwarmError> {
    let raw = |reason: String| SwarmError::Raw {
        path: path.to_string(),
        reason,
    };
    let body = tokio::time::timeout(TIMEOUT, fetch(endpoint, path))
        .await
        .map_err(|_| raw(format!("no answer within {TIMEOUT:?}")))?
        .map_err(raw)?;
    serde_json::from_slice(&body).map_err(|e| raw(e.to_string()))
}

async fn fetch(endpoint: &DockerEndpoint, path: &str) -> Result<Bytes, String> {
    match endpoint {
        DockerEndpoint::Unix(sock) => {
            let stream = tokio::net::UnixStream::connect(sock)
                .await
                .map_err(|e| e.to_string())?;
            get(stream, path, "localhost").await
        }
        DockerEndpoint::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr.as_str())
                .await
                .map_err(|e| e.to_string())?;
            get(stream, path, addr).await
        }
    }
}

async fn get<S>(stream: S, path: &str, host: &str) -> Result<Bytes, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let conn = tokio::spawn(conn);
    let req = http::Request::get(path)
        .header(http::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    conn.abort();
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body).trim()
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        let cases = [
            (
                "unix:///var/run/docker.sock",
                Some(DockerEndpoint::Unix("/var/run/docker.sock".into())),
            ),
            (
                "/run/docker.sock",
                Some(DockerEndpoint::Unix("/run/docker.sock".into())),
            ),
            (
                "tcp://127.0.0.1:2375",
                Some(DockerEndpoint::Tcp("127.0.0.1:2375".into())),
            ),
            (
                "http://docker:2375/",
                Some(DockerEndpoint::Tcp("docker:2375".into())),
            ),
            ("ssh://host", None),
        ];
        for (input, want) in cases {
            assert_eq!(DockerEndpoint::parse(input).ok(), want, "{input}");
        }
    }
}
