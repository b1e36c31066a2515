//! The OTLP transport shared by the span and metric exporters: protobuf POSTed over HTTP, or a
//! hand-rolled unary gRPC call over clear-text HTTP/2 (hyper's h2), to one collector.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Where batches go.
#[derive(Debug, Clone)]
pub enum Target {
    /// POST `application/x-protobuf` to this URL.
    Http { uri: Uri, headers: HeaderMap },
    /// gRPC unary call on `http://host:port` (HTTP/2 without TLS).
    Grpc {
        authority: String,
        headers: HeaderMap,
    },
}

/// Why one export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("collector unreachable: {0}")]
    Connect(#[from] hyper_util::client::legacy::Error),
    #[error("reading the collector's answer: {0}")]
    Body(#[from] hyper::Error),
    #[error("collector answered {0}")]
    Status(http::StatusCode),
    #[error("collector answered grpc-status {0}")]
    Grpc(String),
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
}

/// The gRPC method of the traces service.
pub const TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The gRPC method of the metrics service.
pub const METRICS: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// Sends encoded export requests to one collector.
pub struct Sender {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    target: Target,
    grpc_method: &'static str,
}

impl Sender {
    /// A sender to `target`; `grpc_method` (`TRACES`, `METRICS`) is the path of gRPC calls.
    pub fn new(target: Target, grpc_method: &'static str) -> Sender {
        let mut builder = Client::builder(TokioExecutor::new());
        if matches!(target, Target::Grpc { .. }) {
            builder.http2_only(true);
        }
        Sender {
            client: builder.build_http(),
            target,
            grpc_method,
        }
    }

    /// One export request (an encoded `Export*ServiceRequest`); `Ok` when the collector took it.
    pub async fn send(&self, message: Vec<u8>) -> Result<(), ExportError> {
        self.send_encoded(message, false).await
    }

    /// Like `send`, for a message already gzipped (`gzip`): sent with `Content-Encoding: gzip`
    /// (HTTP) or the compressed flag and `grpc-encoding: gzip` (gRPC), as Go's OTLP exporters
    /// do with `GzipCompression`.
    pub async fn send_encoded(&self, message: Vec<u8>, gzip: bool) -> Result<(), ExportError> {
        let request = match &self.target {
            Target::Http { uri, headers } => {
                let mut req = Request::builder()
                    .method(Method::POST)
                    .uri(uri.clone())
                    .header(http::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(Full::new(Bytes::from(message)))?;
                if gzip {
                    req.headers_mut().insert(
                        http::header::CONTENT_ENCODING,
                        HeaderValue::from_static("gzip"),
                    );
                }
                extend(req.headers_mut(), headers);
                req
            }
            Target::Grpc { authority, headers } => {
                let uri = Uri::builder()
                    .scheme("http")
                    .authority(authority.as_str())
                    .path_and_query(self.grpc_method)
                    .build()?;
                let mut framed = BytesMut::with_capacity(message.len() + 5);
                framed.put_u8(u8::from(gzip));
                framed.put_u32(message.len() as u32);
                framed.put_slice(&message);
                let mut req = Request::builder()
                    .method(Method::POST)
                    .uri(uri)
                    .version(http::Version::HTTP_2)
                    .header(http::header::CONTENT_TYPE, "application/grpc")
                    .header(http::header::TE, "trailers")
                    .body(Full::new(framed.freeze()))?;
                if gzip {
                    req.headers_mut()
                        .insert("grpc-encoding", HeaderValue::from_static("gzip"));
                }
                extend(req.headers_mut(), headers);
                req
            }
        };
        let resp = self.client.request(request).await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ExportError::Status(status));
        }
        let grpc = matches!(self.target, Target::Grpc { .. });
        let head_status = resp.headers().get("grpc-status").cloned();
        let collected = resp.into_body().collect().await?;
        if grpc {
            let code = head_status.or_else(|| {
                collected
                    .trailers()
                    .and_then(|t| t.get("grpc-status").cloned())
            });
            match code {
                Some(code) if code.as_bytes() == b"0" => {}
                Some(code) => {
                    return Err(ExportError::Grpc(
                        String::from_utf8_lossy(code.as_bytes()).into_owned(),
                    ))
                }
                None => return Err(ExportError::Grpc("missing".to_string())),
            }
        }
        Ok(())
    }
}

fn extend(into: &mut HeaderMap, from: &HeaderMap) {
    for (name, value) in from {
        into.insert(name.clone(), value.clone());
    }
}

/// Configured headers as a map; a name or value that is not a header is refused by name.
pub fn headers(
    option: &str,
    configured: &std::collections::BTreeMap<String, String>,
) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in configured {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{option}.headers: {name:?} is not a header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("{option}.headers.{name}: the value is not a header value"))?;
        map.insert(name, value);
    }
    Ok(map)
}
