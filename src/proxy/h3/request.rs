//! One HTTP/3 request: its head read, handed to `Proxy::handle` with a streamed body, the
//! response head, data and trailers written back on the same stream.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;

use super::body::RequestBody;
use crate::body::ProxyBody;
use crate::proxy::service::{ConnInfo, Proxy};

type Resolver = h3::server::RequestResolver<h3_quinn::Connection, Bytes>;
type SendStream = h3::server::RequestStream<h3_quinn::SendStream<Bytes>, Bytes>;

/// Headers HTTP/3 forbids in a message (RFC 9114 §4.2): connection-specific ones.
const CONNECTION_SPECIFIC: [http::HeaderName; 5] = [
    http::header::CONNECTION,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
    http::HeaderName::from_static("keep-alive"),
    http::HeaderName::from_static("proxy-connection"),
];

/// Serves one request stream; a malformed head or a stream the client gave up is dropped with
/// the stream error h3 chose (logged at debug), never a panic.
pub(super) async fn serve(resolver: Resolver, proxy: Arc<Proxy>, conn: ConnInfo) {
    let (head, stream) = match resolver.resolve_request().await {
        Ok(resolved) => resolved,
        Err(error) => return tracing::debug!(peer = %conn.peer, %error, "HTTP/3 request refused"),
    };
    let (mut send, recv) = stream.split();
    let (mut parts, ()) = head.into_parts();
    parts.version = http::Version::HTTP_3;
    let req = Request::from_parts(parts, RequestBody::new(recv));
    let resp = proxy.handle(req, &conn).await;
    if let Err(error) = respond(&mut send, resp).await {
        tracing::debug!(peer = %conn.peer, %error, "HTTP/3 response not sent in full");
    }
}

/// Writes `resp` on `send`: head, body frames as they come, trailers, end of stream.
async fn respond(send: &mut SendStream, resp: Response<ProxyBody>) -> Result<(), H3Error> {
    let (mut parts, mut body) = resp.into_parts();
    for name in &CONNECTION_SPECIFIC {
        parts.headers.remove(name);
    }
    parts.version = http::Version::HTTP_3;
    send.send_response(Response::from_parts(parts, ())).await?;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                // The upstream body broke off: reset the stream so the client sees it incomplete.
                send.stop_stream(h3::error::Code::H3_INTERNAL_ERROR);
                return Err(H3Error::Body(error));
            }
        };
        match frame.into_data() {
            Ok(data) => {
                if !data.is_empty() {
                    send.send_data(data).await?;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    send.send_trailers(trailers).await?;
                    break;
                }
            }
        }
    }
    send.finish().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum H3Error {
    #[error("stream: {0}")]
    Stream(#[from] h3::error::StreamError),
    #[error("response body: {0}")]
    Body(#[source] crate::body::BoxError),
}
