//! The span exporter: a bounded lock-free queue the request path pushes to (a full queue drops
//! the span and counts it), drained in batches by one task that POSTs OTLP protobuf to the
//! collector (HTTP) or calls `TraceService/Export` (gRPC over clear-text HTTP/2).
//!
//! The request path never waits on the collector: a dead or slow collector only fills the queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use prost::Message;
use tokio::sync::{watch, Notify};

use super::span::{to_request, ResourceInfo, Span};
pub use super::transport::{headers, ExportError, Target};
use super::transport::{Sender, TRACES};

/// Spans held while the collector is slow (Go's BatchSpanProcessor default).
pub const QUEUE: usize = 2048;
/// Spans per export request (Go's default).
pub const BATCH: usize = 512;
/// A partial batch waits at most this long.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// One export may take this long (OTLP's default timeout).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

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
    let sender = Sender::new(target, TRACES);
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
