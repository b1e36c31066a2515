//! The gRPC probe (`mode: grpc`): `grpc.health.v1.Health/Check` over one HTTP/2 connection
//! (h2c, or TLS offering only `h2`), `SERVING` read from the length-prefixed answer without a
//! protobuf library.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{insecure_tls_config, ProbeError};

/// The gRPC health request and its answer over one HTTP/2 connection.
pub(super) async fn grpc_exchange<IO>(
    io: IO,
    scheme: &str,
    authority: &str,
) -> Result<(), ProbeError>
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
pub(super) const GRPC_HEALTH_PATH: &str = "/grpc.health.v1.Health/Check";

/// The `status` (field 1, an enum) of a length-prefixed `HealthCheckResponse`; `None` when the
/// message cannot be read (absent field: 0, UNKNOWN).
pub(super) fn serving_status(message: &[u8]) -> Option<u64> {
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

pub(super) fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
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
pub(super) fn grpc_tls_config() -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    let mut config = (*insecure_tls_config()?).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
