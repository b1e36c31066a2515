//! A real OTLP trace receiver for tests: decodes what exporters post with `opentelemetry-proto`,
//! over HTTP (protobuf, optionally gzip, content-length or chunked) and gRPC (h2c unary
//! `TraceService/Export`), and keeps the spans with their resource attributes.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use tokio::net::TcpListener;

/// One received span, flattened.
#[derive(Debug, Clone)]
pub struct Got {
    pub name: String,
    pub kind: SpanKind,
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub attributes: Vec<(String, String)>,
    pub resource: Vec<(String, String)>,
    pub error: bool,
}

impl Got {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn keys(&self) -> std::collections::BTreeSet<String> {
        self.attributes.iter().map(|(k, _)| k.clone()).collect()
    }

    pub fn resource(&self, key: &str) -> Option<&str> {
        self.resource
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How a batch arrived.
#[derive(Debug, Clone, Default)]
pub struct Arrival {
    pub path: String,
    pub grpc: bool,
    pub gzip: bool,
    pub chunked: bool,
    pub headers: http::HeaderMap,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub addr: Option<SocketAddr>,
    spans: Arc<Mutex<Vec<Got>>>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

fn text(kv: &KeyValue) -> (String, String) {
    let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::ArrayValue(a)) => a
            .values
            .iter()
            .filter_map(|v| match &v.value {
                Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    };
    (kv.key.clone(), value)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Receiver {
    /// Listens on 127.0.0.1:0 for HTTP/1.1 and h2c.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            addr: Some(listener.local_addr().unwrap()),
            ..Default::default()
        };
        let this = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let this = this.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let this = this.clone();
                        async move { Ok::<_, Infallible>(this.answer(req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        receiver
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr.unwrap())
    }

    pub fn grpc_endpoint(&self) -> String {
        self.addr.unwrap().to_string()
    }

    pub fn spans(&self) -> Vec<Got> {
        self.spans.lock().unwrap().clone()
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until at least `n` spans arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Got> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans();
            if spans.len() >= n || tokio::time::Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn keep(&self, request: ExportTraceServiceRequest) {
        let mut out = self.spans.lock().unwrap();
        for rs in request.resource_spans {
            let resource: Vec<(String, String)> = rs
                .resource
                .map(|r| r.attributes.iter().map(text).collect())
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    out.push(Got {
                        name: span.name.clone(),
                        kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent: hex(&span.parent_span_id),
                        attributes: span.attributes.iter().map(text).collect(),
                        resource: resource.clone(),
                        error: span.status.as_ref().is_some_and(|s| s.code == 2),
                    });
                }
            }
        }
    }

    async fn answer(
        &self,
        req: Request<Incoming>,
    ) -> Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
        let (parts, body) = req.into_parts();
        let grpc = parts
            .headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let gzip = parts
            .headers
            .get("content-encoding")
            .is_some_and(|v| v == "gzip");
        let chunked = parts
            .headers
            .get("transfer-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        self.arrivals.lock().unwrap().push(Arrival {
            path: parts.uri.path().to_string(),
            grpc,
            gzip,
            chunked,
            headers: parts.headers.clone(),
        });
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return plain(StatusCode::BAD_REQUEST);
        };
        if grpc {
            if parts.uri.path() != "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
                || body.len() < 5
            {
                return plain(StatusCode::NOT_FOUND);
            }
            let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
            let mut message = body.slice(5..(5 + len).min(body.len())).to_vec();
            if body[0] == 1 {
                message = gunzip(&message);
            }
            let Ok(request) = ExportTraceServiceRequest::decode(message.as_slice()) else {
                return plain(StatusCode::BAD_REQUEST);
            };
            self.keep(request);
            let reply = ExportTraceServiceResponse::default().encode_to_vec();
            let mut framed = vec![0u8];
            framed.extend_from_slice(&(reply.len() as u32).to_be_bytes());
            framed.extend_from_slice(&reply);
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", "0".parse().unwrap());
            let frames = vec![
                Ok::<_, Infallible>(Frame::data(Bytes::from(framed))),
                Ok(Frame::trailers(trailers)),
            ];
            let body = StreamBody::new(futures_util::stream::iter(frames));
            return Response::builder()
                .header("content-type", "application/grpc")
                .body(body.boxed())
                .unwrap();
        }
        if parts.uri.path() != "/v1/traces" {
            return plain(StatusCode::NOT_FOUND);
        }
        let message = if gzip { gunzip(&body) } else { body.to_vec() };
        match ExportTraceServiceRequest::decode(message.as_slice()) {
            Ok(request) => {
                self.keep(request);
                let reply = ExportTraceServiceResponse::default().encode_to_vec();
                Response::builder()
                    .header("content-type", "application/x-protobuf")
                    .body(Full::new(Bytes::from(reply)).boxed())
                    .unwrap()
            }
            Err(_) => plain(StatusCode::BAD_REQUEST),
        }
    }
}

fn plain(status: StatusCode) -> Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap_or_default();
    out
}
