//! `metrics.otlp`: one task that, every `pushInterval` (default 10 s), reads the metrics
//! registry (the counters the Prometheus endpoint reads) and sends it as one
//! `ExportMetricsServiceRequest` (cumulative temporality, the Go SDK's default) over the OTLP
//! transport the span exporter uses. Nothing is done per request beyond what the registry
//! already counts; a dead collector costs one failed call per interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tokio::sync::watch;

use super::span::ResourceInfo;
use super::transport::{Sender, Target, METRICS};
use super::{otlp_target, resource_of};
use crate::config::observability::{
    OtlpMetricsConfig, DEFAULT_OTLP_BOUNDARIES, DEFAULT_OTLP_HTTP_METRICS,
};
use crate::config::static_config::StaticConfig;
use crate::observe::metrics::otlp::{collect, View};
use crate::observe::metrics::LabelSet;
use crate::observe::Observer;

/// Traefik's default `metrics.otlp.pushInterval`.
pub const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(10);

/// What the push task needs, read once from `metrics.otlp`.
#[derive(Debug, Clone)]
pub struct MetricsSetup {
    pub target: Target,
    pub resource: ResourceInfo,
    pub view: View,
    pub interval: Duration,
    pub stats: Arc<PushStats>,
}

/// Pushes that reached the collector and pushes that failed.
#[derive(Debug, Default)]
pub struct PushStats {
    pub pushed: AtomicU64,
    pub failed: AtomicU64,
}

impl PushStats {
    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in [
            (
                "swarmgate_otlp_metrics_pushes_total",
                "OTLP metric pushes the collector accepted.",
                &self.pushed,
            ),
            (
                "swarmgate_otlp_metrics_push_failures_total",
                "OTLP metric pushes that failed (collector down, slow or refusing).",
                &self.failed,
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

impl MetricsSetup {
    /// The setup `metrics.otlp` asks for (`None` when it is absent); `Err` names the option
    /// that cannot be applied (`run` refuses to start on it).
    pub fn from_config(cfg: &StaticConfig) -> Result<Option<MetricsSetup>, String> {
        let Some(otlp) = cfg.metrics.as_ref().and_then(|m| m.otlp.as_ref()) else {
            return Ok(None);
        };
        Self::from_otlp(otlp).map(Some)
    }

    fn from_otlp(otlp: &OtlpMetricsConfig) -> Result<MetricsSetup, String> {
        if let Some(problem) = otlp.problem() {
            return Err(problem);
        }
        let target = otlp_target(
            "metrics.otlp",
            otlp.http.as_ref(),
            otlp.grpc.as_ref(),
            DEFAULT_OTLP_HTTP_METRICS,
            "/v1/metrics",
        )?;
        let mut boundaries = if otlp.explicit_boundaries.is_empty() {
            DEFAULT_OTLP_BOUNDARIES.to_vec()
        } else {
            otlp.explicit_boundaries.clone()
        };
        boundaries.sort_by(f64::total_cmp);
        boundaries.dedup();
        Ok(MetricsSetup {
            target,
            resource: resource_of(
                otlp.service_name.as_deref(),
                otlp.resource_attributes.iter(),
            ),
            view: View {
                labels: LabelSet {
                    entrypoint: otlp.add_entry_points_labels.unwrap_or(true),
                    router: otlp.add_routers_labels.unwrap_or(false),
                    service: otlp.add_services_labels.unwrap_or(true),
                },
                boundaries,
            },
            interval: otlp
                .push_interval
                .map(|d| d.get())
                .unwrap_or(DEFAULT_PUSH_INTERVAL),
            stats: Arc::default(),
        })
    }

    /// Starts the push task; it ends (after a last push) when `stop` is set.
    pub fn spawn(
        &self,
        observer: Arc<Observer>,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(run(observer, self.clone(), stop))
    }
}

/// Gzip, as Traefik's exporters send (`GzipCompression`).
fn gzip(message: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(message.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(message);
    encoder.finish().unwrap_or_default()
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One export request holding the registry as `setup.view` asks for it.
pub fn request(observer: &Observer, setup: &MetricsSetup) -> Option<ExportMetricsServiceRequest> {
    let metrics = observer.metrics()?;
    observer.refresh_cert_metrics();
    let resource = Resource {
        attributes: setup
            .resource
            .attributes
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(v.clone())),
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    Some(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "swarmgate".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    ..Default::default()
                }),
                metrics: collect(metrics, &setup.view, now_nanos()),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

async fn run(observer: Arc<Observer>, setup: MetricsSetup, stop: watch::Receiver<bool>) {
    let sender = Sender::new(setup.target.clone(), METRICS);
    let (observer, setup, sender) = (&observer, &setup, &sender);
    crate::observe::metrics::push::every(setup.interval, stop, |_| async move {
        // Reading the registry, encoding and compressing take milliseconds on a large
        // configuration: done on the blocking pool, away from the proxy's worker threads.
        let (o, st) = (Arc::clone(observer), setup.clone());
        let body = tokio::task::spawn_blocking(move || {
            request(&o, &st).map(|req| gzip(&req.encode_to_vec()))
        })
        .await
        .ok()
        .flatten();
        let Some(body) = body else { return };
        let sent = sender.send_encoded(body, true);
        match tokio::time::timeout(super::export::EXPORT_TIMEOUT, sent).await {
            Ok(Ok(())) => {
                setup.stats.pushed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(error)) => {
                setup.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %error, "OTLP metrics push failed");
            }
            Err(_) => {
                setup.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("OTLP metrics push timed out");
            }
        }
    })
    .await;
}
