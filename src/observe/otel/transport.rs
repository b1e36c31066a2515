//! The OTLP transport shared by the span and metric exporters: protobuf POSTed over HTTP(S), or a
//! hand-rolled unary gRPC call over HTTP/2 (hyper's h2), clear text (`insecure`) or TLS with ALPN
//! `h2`, to one collector (HTTPS offers `h2` and `http/1.1`, as Go's transport). The TLS client configuration comes from `upstream::client_tls_config`
//! (Traefik's `ClientTLS`); connections are kept alive by hyper-util's pool.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Where batches go.
#[derive(Debug, Clone)]
pub enum Target {
    /// POST `application/x-protobuf` to this URL; `tls` is set for an `https` URL (and only then).
    Http {
        uri: Uri,
        headers: HeaderMap,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
    /// gRPC unary call on `host:port`: HTTP/2 over TLS (ALPN `h2`) with `tls`, h2c without.
    Grpc {
        authority: String,
        headers: HeaderMap,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
}

/// Why one export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// With its causes (a refused connection, the TLS alert, an unknown issuer…).
    #[error("collector unreachable: {}", causes(.0))]
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

/// The client of one collector: clear text or TLS.
enum Conn {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

/// Sends encoded export requests to one collector.
pub struct Sender {
    client: Conn,
    target: Target,
    grpc_method: &'static str,
}

impl Sender {
    /// A sender to `target`; `grpc_method` (`TRACES`, `METRICS`) is the path of gRPC calls.
    pub fn new(target: Target, grpc_method: &'static str) -> Sender {
        let mut builder = Client::builder(TokioExecutor::new());
        let (grpc, tls) = match &target {
            Target::Http { tls, .. } => (false, tls),
            Target::Grpc { tls, .. } => (true, tls),
        };
        if grpc {
            builder.http2_only(true);
        }
        let client = match tls {
            None => Conn::Plain(builder.build_http()),
            Some(config) => {
                let mut config = rustls::ClientConfig::clone(config);
                // hyper-rustls sets ALPN itself (and refuses a config that has one).
                config.alpn_protocols.clear();
                let mut tcp = HttpConnector::new();
                tcp.enforce_http(false);
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_only();
                let connector = if grpc {
                    // gRPC servers (grpc-go since 1.67) require ALPN `h2`.
                    https.enable_http2().wrap_connector(tcp)
                } else {
                    // `h2` then `http/1.1`, as Go's transport offers (Traefik's exporter).
                    https.enable_all_versions().wrap_connector(tcp)
                };
                Conn::Tls(builder.build(connector))
            }
        };
        Sender {
            client,
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
            Target::Http { uri, headers, .. } => {
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
            Target::Grpc {
                authority,
                headers,
                tls,
            } => {
                let uri = Uri::builder()
                    .scheme(if tls.is_some() { "https" } else { "http" })
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
        let resp = match &self.client {
            Conn::Plain(client) => client.request(request).await?,
            Conn::Tls(client) => client.request(request).await?,
        };
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

/// `error` and its sources, `: `-separated (hyper-util's own text is only "client error (Connect)").
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
