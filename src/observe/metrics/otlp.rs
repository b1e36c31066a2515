//! The registry as OTLP metrics, as Traefik 3.7's OpenTelemetry registry sends them
//! (`pkg/observability/metrics/otel.go`): the same instrument names as the Prometheus families,
//! counters as cumulative monotonic double sums (unit `1`), the request durations as cumulative
//! explicit-bucket histograms (unit `s`, `metrics.otlp.explicitBoundaries`), the gauges as
//! double gauges, and the label names as string attributes. Built by the push task from the
//! counters the Prometheus text reads; never on the request path. The semantic-convention
//! histograms (`http.server.request.duration`, `http.client.request.duration`) come from
//! `semconv.rs`, appended when `metrics.otlp` made them.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, Sum,
};

use super::render::{self, regroup, walk_requests, walk_tls, Agg, Level};
use super::{LabelSet, Metrics};

/// What one OTLP exporter asks of the registry.
#[derive(Debug, Clone)]
pub struct View {
    pub labels: LabelSet,
    /// Histogram boundaries in seconds (merged into the registry's with `with_boundaries`).
    pub boundaries: Vec<f64>,
}

type Attrs = Vec<(String, String)>;

fn attrs_of(pairs: &mut [(&str, &str)]) -> Attrs {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn key_values(attrs: &Attrs) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.clone())),
            }),
            ..Default::default()
        })
        .collect()
}

/// Points of one instrument before they are turned into protobuf.
struct Points {
    start: u64,
    now: u64,
}

impl Points {
    fn number(&self, attrs: &Attrs, value: f64, start: bool) -> NumberDataPoint {
        NumberDataPoint {
            attributes: key_values(attrs),
            start_time_unix_nano: if start { self.start } else { 0 },
            time_unix_nano: self.now,
            value: Some(number_data_point::Value::AsDouble(value)),
            ..Default::default()
        }
    }

    fn counter(&self, name: &str, help: &str, points: Vec<(Attrs, f64)>) -> Option<Metric> {
        (!points.is_empty()).then(|| Metric {
            name: name.to_string(),
            description: help.to_string(),
            unit: "1".to_string(),
            data: Some(metric::Data::Sum(Sum {
                data_points: points
                    .iter()
                    .map(|(a, v)| self.number(a, *v, true))
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        })
    }

    fn gauge(
        &self,
        name: &str,
        help: &str,
        unit: &str,
        points: Vec<(Attrs, f64)>,
    ) -> Option<Metric> {
        (!points.is_empty()).then(|| Metric {
            name: name.to_string(),
            description: help.to_string(),
            unit: unit.to_string(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: points
                    .iter()
                    .map(|(a, v)| self.number(a, *v, false))
                    .collect(),
            })),
            ..Default::default()
        })
    }
}

/// The registry's instruments as `view` asks for them, at `now` (Unix nanoseconds).
pub fn collect(m: &Metrics, view: &View, now: u64) -> Vec<Metric> {
    let p = Points {
        start: m.start_unix_nanos,
        now,
    };
    let mut out: Vec<Option<Metric>> = Vec::new();

    out.push(p.counter(
        "traefik_config_reloads_total",
        "Config reloads",
        vec![(
            Vec::new(),
            (m.reloads_success.load(Ordering::Relaxed) + m.reloads_failure.load(Ordering::Relaxed))
                as f64,
        )],
    ));
    out.push(p.gauge(
        "traefik_config_last_reload_success",
        "Last config reload success",
        "ms",
        vec![(
            Vec::new(),
            f64::from_bits(m.last_success_secs.load(Ordering::Relaxed)),
        )],
    ));
    let connections = m
        .open_connections
        .iter()
        .enumerate()
        .filter(|(ep, _)| !m.is_udp(*ep))
        .map(|(ep, n)| {
            (
                attrs_of(&mut [
                    ("entrypoint", render::entrypoint_name(m, ep)),
                    ("protocol", "TCP"),
                ]),
                n.load(Ordering::Relaxed).max(0) as f64,
            )
        })
        .collect();
    out.push(p.gauge(
        "traefik_open_connections",
        "How many open connections exist, by entryPoint and protocol",
        "1",
        connections,
    ));
    let certs: Vec<_> = {
        let certs = m.certs.lock().unwrap_or_else(|e| e.into_inner());
        certs
            .values()
            .map(|c| {
                (
                    attrs_of(&mut [("cn", &c.cn), ("sans", &c.sans), ("serial", &c.serial)]),
                    c.not_after as f64,
                )
            })
            .collect()
    };
    out.push(p.gauge(
        "traefik_tls_certs_not_after",
        "Certificate expiration timestamp",
        "s",
        certs,
    ));

    // Request families.
    let mut families: [BTreeMap<Attrs, Agg>; 3] = Default::default();
    walk_requests(m, view.labels, |level, pairs, cell| {
        families[level as usize]
            .entry(attrs_of(pairs))
            .or_default()
            .add(cell);
    });
    let mut tls: [BTreeMap<Attrs, u64>; 3] = Default::default();
    walk_tls(m, view.labels, |level, pairs, n| {
        *tls[level as usize].entry(attrs_of(pairs)).or_default() += n;
    });
    for level in [Level::Entrypoint, Level::Router, Level::Service] {
        let on = match level {
            Level::Entrypoint => view.labels.entrypoint,
            Level::Router => view.labels.router,
            Level::Service => view.labels.service,
        };
        if !on {
            continue;
        }
        let name = level.name();
        let family = &families[level as usize];
        let (what, partition) = match level {
            Level::Entrypoint => ("an entrypoint", "status code, protocol, and method"),
            Level::Router => ("a router", "service, status code, protocol, and method"),
            Level::Service => ("a service", "status code, protocol, and method"),
        };
        out.push(
            p.counter(
                &format!("traefik_{name}_requests_total"),
                &format!(
                    "How many HTTP requests {} on {what}, partitioned by {partition}.",
                    if level == Level::Router {
                        "are processed"
                    } else {
                        "processed"
                    }
                ),
                family
                    .iter()
                    .map(|(a, g)| (a.clone(), g.count as f64))
                    .collect(),
            ),
        );
        let tls_help = match level {
            Level::Entrypoint => "How many HTTP requests with TLS processed on an entrypoint, partitioned by TLS Version and TLS cipher Used.",
            Level::Router => "How many HTTP requests with TLS are processed on a router, partitioned by service, TLS Version, and TLS cipher Used.",
            Level::Service => "How many HTTP requests with TLS processed on a service, partitioned by TLS version and TLS cipher.",
        };
        out.push(
            p.counter(
                &format!("traefik_{name}_requests_tls_total"),
                tls_help,
                tls[level as usize]
                    .iter()
                    .map(|(a, n)| (a.clone(), *n as f64))
                    .collect(),
            ),
        );
        if !family.is_empty() {
            out.push(Some(histogram(
                &p,
                m,
                view,
                &format!("traefik_{name}_request_duration_seconds"),
                &format!("How long it took to process the request on {what}, partitioned by {partition}."),
                family,
            )));
        }
        let (req_help, resp_help) = match level {
            Level::Service => (
                "The total size of requests in bytes received by a service, partitioned by status code, protocol, and method.",
                "The total size of responses in bytes returned by a service, partitioned by status code, protocol, and method.",
            ),
            _ => ("", ""),
        };
        let req_help = if req_help.is_empty() {
            format!("The total size of requests in bytes handled by {what}, partitioned by status code, protocol, and method.")
        } else {
            req_help.to_string()
        };
        let resp_help = if resp_help.is_empty() {
            format!("The total size of responses in bytes handled by {what}, partitioned by status code, protocol, and method.")
        } else {
            resp_help.to_string()
        };
        out.push(
            p.counter(
                &format!("traefik_{name}_requests_bytes_total"),
                &req_help,
                family
                    .iter()
                    .map(|(a, g)| (a.clone(), g.request_bytes as f64))
                    .collect(),
            ),
        );
        out.push(
            p.counter(
                &format!("traefik_{name}_responses_bytes_total"),
                &resp_help,
                family
                    .iter()
                    .map(|(a, g)| {
                        // The service families count before `compress`, as in Traefik.
                        let bytes = if level == Level::Service {
                            g.origin_bytes
                        } else {
                            g.response_bytes
                        };
                        (a.clone(), bytes as f64)
                    })
                    .collect(),
            ),
        );
        if level == Level::Service {
            out.push(
                p.counter(
                    "traefik_service_retries_total",
                    "How many request retries happened on a service.",
                    render::retries(m)
                        .into_iter()
                        .map(|(s, n)| (attrs_of(&mut [("service", &s)]), n as f64))
                        .collect(),
                ),
            );
            out.push(
                p.gauge(
                    "traefik_service_server_up",
                    "service server is up, described by gauge value of 0 or 1.",
                    "1",
                    render::servers(m)
                        .into_iter()
                        .map(|(s, url, up)| {
                            (
                                attrs_of(&mut [("service", &s), ("url", &url)]),
                                f64::from(u8::from(up)),
                            )
                        })
                        .collect(),
                ),
            );
        }
    }
    let mut out: Vec<Metric> = out.into_iter().flatten().collect();
    if let Some(semconv) = &m.semconv {
        out.extend(semconv.metrics(m.start_unix_nanos, now));
    }
    out
}

fn histogram(
    p: &Points,
    m: &Metrics,
    view: &View,
    name: &str,
    help: &str,
    family: &BTreeMap<Attrs, Agg>,
) -> Metric {
    Metric {
        name: name.to_string(),
        description: help.to_string(),
        unit: "s".to_string(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: family
                .iter()
                .map(|(attrs, agg)| HistogramDataPoint {
                    attributes: key_values(attrs),
                    start_time_unix_nano: p.start,
                    time_unix_nano: p.now,
                    count: agg.count,
                    sum: Some(agg.sum_nanos as f64 / 1e9),
                    bucket_counts: regroup(&m.buckets, &agg.buckets, &view.boundaries),
                    explicit_bounds: view.boundaries.clone(),
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    }
}
