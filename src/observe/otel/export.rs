//! The span exporter: a bounded lock-free queue the request path pushes to (a full queue drops
//! the span and counts it), drained in batches by one task that POSTs OTLP protobuf to the
//! collector (HTTP) or calls `TraceService/Export` (gRPC over clear-text HTTP/2).
//!
//! The request path never waits on the collector: a dead or slow collector only fills the queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use crossbeam_queue::ArrayQueue;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tokio::sync::{watch, Notify};

use super::span::{to_request, ResourceInfo, Span};

/// Spans held while the collector is slow (Go's BatchSpanProcessor default).
pub const QUEUE: usize = 2048;
/// Spans per export request (Go's default).
pub const BATCH: usize = 512;
/// A partial batch waits at most this long.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// One export may take this long (OTLP's default timeout).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Counters of the exporter, read by the Prometheus text and tests.
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Spans dropped because the queue was full (collector down or slow).
    pub dropped: AtomicU64,
    /// Spans the collector accepted.
    pub exported: AtomicU64,
    /// Export requests that failed (connect error, timeout, non-2xx, gRPC error).
    pub failed_requests: AtomicU64,
}

impl ExportStats {
    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in [
            (
                "swarmgate_tracing_spans_dropped_total",
                "Spans dropped because the export queue was full (collector down or slow).",
                &self.dropped,
            ),
            (
                "swarmgate_tracing_spans_exported_total",
                "Spans the collector accepted.",
                &self.exported,
            ),
            (
                "swarmgate_tracing_export_failures_total",
                "Span export requests that failed.",
                &self.failed_requests,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

/// The queue between the request path and the export task.
#[derive(Debug)]
pub struct Exporter {
    queue: ArrayQueue<Span>,
    wake: Notify,
    pub stats: ExportStats,
}

impl Exporter {
    pub fn new(capacity: usize) -> Exporter {
        Exporter {
            queue: ArrayQueue::new(capacity.max(1)),
            wake: Notify::new(),
            stats: ExportStats::default(),
        }
    }

    /// Hands a finished span over; never blocks. A full queue drops the span (counted).
    pub fn push(&self, span: Span) {
        match self.queue.push(span) {
            Ok(()) if self.queue.len() >= BATCH => self.wake.notify_one(),
            Ok(()) => {}
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn take_batch(&self) -> Vec<Span> {
        let mut batch = Vec::with_capacity(self.queue.len().min(BATCH));
        while batch.len() < BATCH {
            match self.queue.pop() {
                Some(span) => batch.push(span),
                None => break,
            }
        }
        batch
    }
}

/// Exports until `stop` is set, then sends what is queued once more.
pub async fn run(
    exporter: Arc<Exporter>,
    target: Target,
    resource: ResourceInfo,
    mut stop: watch::Receiver<bool>,
) {
    let sender = Sender::new(target);
    loop {
        let stopping = tokio::select! {
            _ = exporter.wake.notified() => false,
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
            _ = crate::shutdown::stopped(&mut stop) => true,
        };
        loop {
            let batch = exporter.take_batch();
            if batch.is_empty() {
                break;
            }
            let count = batch.len() as u64;
            let body = to_request(batch, &resource).encode_to_vec();
            match tokio::time::timeout(EXPORT_TIMEOUT, sender.send(body)).await {
                Ok(Ok(())) => {
                    exporter.stats.exported.fetch_add(count, Ordering::Relaxed);
                }
                Ok(Err(error)) => {
                    exporter
                        .stats
                        .failed_requests
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %error, "trace export failed");
                }
                Err(_) => {
                    exporter
                        .stats
                        .failed_requests
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("trace export timed out");
                }
            }
        }
        if stopping {
            return;
        }
    }
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

struct Sender {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    target: Target,
}

impl Sender {
    fn new(target: Target) -> Sender {
        let mut builder = Client::builder(TokioExecutor::new());
        if matches!(target, Target::Grpc { .. }) {
            builder.http2_only(true);
        }
        Sender {
            client: builder.build_http(),
            target,
        }
    }

    async fn send(&self, message: Vec<u8>) -> Result<(), ExportError> {
        let request = match &self.target {
            Target::Http { uri, headers } => {
                let mut req = Request::builder()
                    .method(Method::POST)
                    .uri(uri.clone())
                    .header(http::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(Full::new(Bytes::from(message)))?;
                extend(req.headers_mut(), headers);
                req
            }
            Target::Grpc { authority, headers } => {
                let uri = Uri::builder()
                    .scheme("http")
                    .authority(authority.as_str())
                    .path_and_query("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
                    .build()?;
                let mut framed = BytesMut::with_capacity(message.len() + 5);
                framed.put_u8(0);
                framed.put_u32(message.len() as u32);
                framed.put_slice(&message);
                let mut req = Request::builder()
                    .method(Method::POST)
                    .uri(uri)
                    .version(http::Version::HTTP_2)
                    .header(http::header::CONTENT_TYPE, "application/grpc")
                    .header(http::header::TE, "trailers")
                    .body(Full::new(framed.freeze()))?;
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
