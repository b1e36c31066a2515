//! A real OTLP receiver for tests: decodes what exporters post with `opentelemetry-proto`,
//! over HTTP (protobuf, optionally gzip, content-length or chunked) and gRPC (h2c unary
//! `TraceService/Export` and `MetricsService/Export`), and keeps the spans and metric points
//! with their resource attributes. `Receiver::start_tls` serves the same over TLS (HTTPS and
//! gRPC with ALPN `h2`) with a certificate of a `TestCa`, optionally asking for client
//! certificates, and records each connection's ALPN and client certificate.

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
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
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

/// One received metric point, flattened (one per data point of each pushed metric).
#[derive(Debug, Clone)]
pub struct Point {
    pub name: String,
    /// `sum` (with `monotonic`/`cumulative`), `gauge`, `histogram`, or another OTLP kind.
    pub kind: &'static str,
    pub monotonic: bool,
    /// Temporality is cumulative (2).
    pub cumulative: bool,
    pub unit: String,
    pub attributes: Vec<(String, String)>,
    /// Each attribute's value type (`string`, `int`, `bool`, `double`, `array`), by key.
    pub types: Vec<(String, &'static str)>,
    pub resource: Vec<(String, String)>,
    /// Number value, or a histogram's count.
    pub value: f64,
    pub sum: f64,
    pub bounds: Vec<f64>,
    pub buckets: Vec<u64>,
    /// Which push this point came in (0-based, in arrival order).
    pub push: usize,
}

impl Point {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn keys(&self) -> std::collections::BTreeSet<String> {
        self.attributes.iter().map(|(k, _)| k.clone()).collect()
    }

    /// The attribute keys with their value types (`key:int`).
    pub fn typed_keys(&self) -> std::collections::BTreeSet<String> {
        self.types.iter().map(|(k, t)| format!("{k}:{t}")).collect()
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
    /// Over TLS (`start_tls`).
    pub tls: bool,
    /// The protocol ALPN chose (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The client certificate presented (DER of the leaf), if any.
    pub client_cert: Option<Vec<u8>>,
    pub version: http::Version,
}

/// What one connection's handshake gave.
#[derive(Debug, Clone, Default)]
struct Conn {
    tls: bool,
    alpn: Option<String>,
    client_cert: Option<Vec<u8>>,
}

/// A test CA and the certificates it issues (PEM).
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        TestCa {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `names` (an IP address becomes an IP SAN): (certificate PEM, key PEM).
    pub fn issue(&self, cn: &str, names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// The DER of the first certificate of `pem`.
pub fn der_of(pem: &str) -> Vec<u8> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub addr: Option<SocketAddr>,
    spans: Arc<Mutex<Vec<Got>>>,
    points: Arc<Mutex<Vec<Point>>>,
    pushes: Arc<Mutex<usize>>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

fn type_of(kv: &KeyValue) -> (String, &'static str) {
    let kind = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(_)) => "string",
        Some(any_value::Value::IntValue(_)) => "int",
        Some(any_value::Value::BoolValue(_)) => "bool",
        Some(any_value::Value::DoubleValue(_)) => "double",
        Some(any_value::Value::ArrayValue(_)) => "array",
        _ => "other",
    };
    (kv.key.clone(), kind)
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
                tokio::spawn(this.serve(TokioIo::new(stream), Conn::default()));
            }
        });
        receiver
    }

    /// Listens on 127.0.0.1:0 for HTTPS and gRPC over TLS (ALPN `h2`, `http/1.1`) with
    /// `cert` (PEM certificate, key); with `client_ca`, client certificates are asked for and
    /// verified against it (a client without one is still served, and recorded as such).
    pub async fn start_tls(cert: &(String, String), client_ca: Option<&str>) -> Receiver {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(der_of(ca).into()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .allow_unauthenticated()
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let chain = rustls_pemfile::certs(&mut cert.0.as_bytes())
            .map(|c| c.unwrap())
            .collect();
        let key = rustls_pemfile::private_key(&mut cert.1.as_bytes())
            .unwrap()
            .unwrap();
        let mut config = builder.with_single_cert(chain, key).unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            addr: Some(listener.local_addr().unwrap()),
            ..Default::default()
        };
        let this = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let this = this.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let session = tls.get_ref().1;
                    let conn = Conn {
                        tls: true,
                        alpn: session
                            .alpn_protocol()
                            .map(|p| String::from_utf8_lossy(p).into_owned()),
                        client_cert: session
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| c.to_vec()),
                    };
                    this.serve(TokioIo::new(tls), conn).await;
                });
            }
        });
        receiver
    }

    async fn serve<I>(self, io: I, conn: Conn)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let conn = Arc::new(conn);
        let svc = service_fn(move |req| {
            let this = self.clone();
            let conn = Arc::clone(&conn);
            async move { Ok::<_, Infallible>(this.answer(req, &conn).await) }
        });
        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
            .serve_connection(io, svc)
            .await;
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr.unwrap())
    }

    /// `https://localhost:<port>` (the OTLP path implied).
    pub fn https_base(&self) -> String {
        format!("https://localhost:{}", self.addr.unwrap().port())
    }

    pub fn grpc_endpoint(&self) -> String {
        self.addr.unwrap().to_string()
    }

    pub fn metrics_endpoint(&self) -> String {
        format!("http://{}/v1/metrics", self.addr.unwrap())
    }

    /// Every metric point received so far.
    pub fn points(&self) -> Vec<Point> {
        self.points.lock().unwrap().clone()
    }

    /// The points of the latest push holding `name` (cumulative metrics: the latest is the total).
    pub fn latest(&self, name: &str) -> Vec<Point> {
        let points = self.points();
        let last = points
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.push)
            .max();
        points
            .into_iter()
            .filter(|p| p.name == name && Some(p.push) == last)
            .collect()
    }

    /// Waits (up to `secs`) until a push holds a point of `name` for which `ok` holds.
    pub async fn wait_metric(&self, name: &str, secs: u64, ok: impl Fn(&Point) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if self.latest(name).iter().any(&ok) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn keep_metrics(&self, request: ExportMetricsServiceRequest) {
        let push = {
            let mut n = self.pushes.lock().unwrap();
            *n += 1;
            *n - 1
        };
        let mut out = self.points.lock().unwrap();
        for rm in request.resource_metrics {
            let resource: Vec<(String, String)> = rm
                .resource
                .map(|r| r.attributes.iter().map(text).collect())
                .unwrap_or_default();
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    let base = Point {
                        name: m.name.clone(),
                        kind: "",
                        monotonic: false,
                        cumulative: false,
                        unit: m.unit.clone(),
                        attributes: Vec::new(),
                        types: Vec::new(),
                        resource: resource.clone(),
                        value: 0.0,
                        sum: 0.0,
                        bounds: Vec::new(),
                        buckets: Vec::new(),
                        push,
                    };
                    let number = |v: &Option<number_data_point::Value>| match v {
                        Some(number_data_point::Value::AsDouble(d)) => *d,
                        Some(number_data_point::Value::AsInt(i)) => *i as f64,
                        None => f64::NAN,
                    };
                    match m.data {
                        Some(metric::Data::Sum(sum)) => {
                            for dp in sum.data_points {
                                out.push(Point {
                                    kind: "sum",
                                    monotonic: sum.is_monotonic,
                                    cumulative: sum.aggregation_temporality == 2,
                                    attributes: dp.attributes.iter().map(text).collect(),
                                    types: dp.attributes.iter().map(type_of).collect(),
                                    value: number(&dp.value),
                                    ..base.clone()
                                });
                            }
                        }
                        Some(metric::Data::Gauge(g)) => {
                            for dp in g.data_points {
                                out.push(Point {
                                    kind: "gauge",
                                    attributes: dp.attributes.iter().map(text).collect(),
                                    types: dp.attributes.iter().map(type_of).collect(),
                                    value: number(&dp.value),
                                    ..base.clone()
                                });
                            }
                        }
                        Some(metric::Data::Histogram(h)) => {
                            for dp in h.data_points {
                                out.push(Point {
                                    kind: "histogram",
                                    cumulative: h.aggregation_temporality == 2,
                                    attributes: dp.attributes.iter().map(text).collect(),
                                    types: dp.attributes.iter().map(type_of).collect(),
                                    value: dp.count as f64,
                                    sum: dp.sum.unwrap_or(f64::NAN),
                                    bounds: dp.explicit_bounds.clone(),
                                    buckets: dp.bucket_counts.clone(),
                                    ..base.clone()
                                });
                            }
                        }
                        _ => out.push(Point {
                            kind: "other",
                            ..base.clone()
                        }),
                    }
                }
            }
        }
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
        conn: &Conn,
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
            tls: conn.tls,
            alpn: conn.alpn.clone(),
            client_cert: conn.client_cert.clone(),
            version: parts.version,
        });
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return plain(StatusCode::BAD_REQUEST);
        };
        if grpc {
            let path = parts.uri.path();
            let metrics = path == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
            if (path != "/opentelemetry.proto.collector.trace.v1.TraceService/Export" && !metrics)
                || body.len() < 5
            {
                return plain(StatusCode::NOT_FOUND);
            }
            let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
            let mut message = body.slice(5..(5 + len).min(body.len())).to_vec();
            if body[0] == 1 {
                message = gunzip(&message);
            }
            let reply = if metrics {
                let Ok(request) = ExportMetricsServiceRequest::decode(message.as_slice()) else {
                    return plain(StatusCode::BAD_REQUEST);
                };
                self.keep_metrics(request);
                ExportMetricsServiceResponse::default().encode_to_vec()
            } else {
                let Ok(request) = ExportTraceServiceRequest::decode(message.as_slice()) else {
                    return plain(StatusCode::BAD_REQUEST);
                };
                self.keep(request);
                ExportTraceServiceResponse::default().encode_to_vec()
            };
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
        let message = if gzip { gunzip(&body) } else { body.to_vec() };
        if parts.uri.path() == "/v1/metrics" {
            return match ExportMetricsServiceRequest::decode(message.as_slice()) {
                Ok(request) => {
                    self.keep_metrics(request);
                    let reply = ExportMetricsServiceResponse::default().encode_to_vec();
                    Response::builder()
                        .header("content-type", "application/x-protobuf")
                        .body(Full::new(Bytes::from(reply)).boxed())
                        .unwrap()
                }
                Err(_) => plain(StatusCode::BAD_REQUEST),
            };
        }
        if parts.uri.path() != "/v1/traces" {
            return plain(StatusCode::NOT_FOUND);
        }
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
