//! `metrics.influxDB2`: the registry POSTed every `pushInterval` as InfluxDB line protocol to
//! `<address>/api/v2/write?bucket=..&org=..&precision=ns` with `Authorization: Token ..`, as
//! Traefik's Go-kit influx store and influxdb-client-go 2.7 send it (no gzip): one point per
//! series that moved since the last push, measurement `traefik.<family>`, tags sorted by name
//! (`additionalLabels` first merged in, a series' own tags win, empty values left out), fields
//! `count` (counters: what was added since the last push), `value` (gauges Traefik set since) or
//! `p50`,`p90`,`p95`,`p99` (durations in seconds), nanosecond timestamps.
//!
//! Quantiles: Go-kit computes them from each duration observed in the interval; the registry
//! keeps bucket counts, so they are interpolated within the buckets (the registry also counts
//! by OTLP's default boundaries when this exporter is on); one request gives its own duration.
//! `http://` or `https://` (checked against the built-in roots; Traefik has no TLS options here).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Uri};
use tokio::sync::watch;

pub use super::push::Previous;
use super::push::{self, every, Family, Hist};
use super::render::Level;
use super::{LabelSet, Metrics};
use crate::config::static_config::InfluxDb2Config;
use crate::observe::otel::transport::{Sender, Target};

/// Traefik's defaults.
pub const DEFAULT_ADDRESS: &str = "http://localhost:8086";
pub const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(10);

/// `metrics.influxDB2` read once.
#[derive(Debug, Clone)]
pub struct InfluxSetup {
    /// The write URL (`.../api/v2/write?bucket=..&org=..&precision=ns`).
    pub uri: Uri,
    /// `Authorization: Token ..` and the content type.
    pub headers: HeaderMap,
    pub labels: LabelSet,
    pub additional: BTreeMap<String, String>,
    pub interval: Duration,
    /// The TLS client of an `https://` address.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Traefik's `FileOrContent`: the file's content when a file exists at that path, else the
/// value itself; trimmed.
fn token(configured: &str) -> Result<String, String> {
    let path = std::path::Path::new(configured);
    let raw = if path.is_file() {
        std::fs::read_to_string(path)
            .map_err(|e| format!("metrics.influxDB2.token: reading {configured:?}: {e}"))?
    } else {
        configured.to_string()
    };
    Ok(raw.trim().to_string())
}

impl InfluxSetup {
    /// The setup `cfg` asks for; `Err` names what cannot be applied (Traefik logs a missing
    /// token, org or bucket and pushes nothing; swarmgate refuses to start).
    pub fn from_config(cfg: &InfluxDb2Config) -> Result<InfluxSetup, String> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let (Some(raw_token), Some(org), Some(bucket)) =
            (given(&cfg.token), given(&cfg.org), given(&cfg.bucket))
        else {
            return Err(
                "metrics.influxDB2: token, org and bucket are required (Traefik would push nothing)"
                    .to_string(),
            );
        };
        let interval = cfg
            .push_interval
            .map(|d| d.get())
            .unwrap_or(DEFAULT_PUSH_INTERVAL);
        if interval.is_zero() {
            return Err("metrics.influxDB2.pushInterval must be more than 0".to_string());
        }
        let address = given(&cfg.address).unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
        let base: Uri = address
            .parse()
            .map_err(|_| format!("metrics.influxDB2.address {address:?} is not a URL"))?;
        // Traefik's influxDB2 has no TLS options: an `https://` address is checked against the
        // built-in roots (Traefik: the system's), as an OTLP collector without `tls`.
        let tls = match base.scheme_str() {
            Some("http") => None,
            Some("https") => Some(
                crate::upstream::client_tls_config(crate::upstream::ClientTls {
                    ca: "",
                    cert: "",
                    key: "",
                    insecure_skip_verify: false,
                })
                .map(std::sync::Arc::new)
                .map_err(|e| format!("metrics.influxDB2.address {address:?}: {e}"))?,
            ),
            _ => {
                return Err(format!(
                    "metrics.influxDB2.address {address:?} is not http:// or https://"
                ))
            }
        };
        let Some(authority) = base.authority() else {
            return Err(format!(
                "metrics.influxDB2.address {address:?} names no host"
            ));
        };
        // As influxdb-client-go: the address with a trailing `/`, then `api/v2/write`.
        let mut path = base.path().to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        let uri = Uri::builder()
            .scheme(if tls.is_some() { "https" } else { "http" })
            .authority(authority.as_str())
            .path_and_query(format!(
                "{path}api/v2/write?bucket={}&org={}&precision=ns",
                query_escape(&bucket),
                query_escape(&org)
            ))
            .build()
            .map_err(|e| format!("metrics.influxDB2.address {address:?}: {e}"))?;
        let token = token(&raw_token)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Token {token}"))
                .map_err(|_| "metrics.influxDB2.token is not a header value".to_string())?,
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Ok(InfluxSetup {
            uri,
            headers,
            tls,
            labels: LabelSet {
                entrypoint: cfg.add_entry_points_labels.unwrap_or(true),
                router: cfg.add_routers_labels.unwrap_or(false),
                service: cfg.add_services_labels.unwrap_or(true),
            },
            additional: cfg.additional_labels.clone(),
            interval,
        })
    }
}

/// The measurement names of Traefik's InfluxDB2 registry.
fn name(family: Family) -> &'static str {
    let level = |l: Level, e: &'static str, r: &'static str, s: &'static str| match l {
        Level::Entrypoint => e,
        Level::Router => r,
        Level::Service => s,
    };
    match family {
        Family::ConfigReloads => "traefik.config.reload.total",
        Family::LastReloadSuccess => "traefik.config.reload.lastSuccessTimestamp",
        Family::OpenConnections => "traefik.open.connections",
        Family::CertNotAfter => "traefik.tls.certs.notAfterTimestamp",
        Family::Requests(l) => level(
            l,
            "traefik.entrypoint.requests.total",
            "traefik.router.requests.total",
            "traefik.service.requests.total",
        ),
        Family::RequestsTls(l) => level(
            l,
            "traefik.entrypoint.requests.tls.total",
            "traefik.router.requests.tls.total",
            "traefik.service.requests.tls.total",
        ),
        Family::Duration(l) => level(
            l,
            "traefik.entrypoint.request.duration",
            "traefik.router.request.duration",
            "traefik.service.request.duration",
        ),
        Family::RequestBytes(l) => level(
            l,
            "traefik.entrypoint.requests.bytes.total",
            "traefik.router.requests.bytes.total",
            "traefik.service.requests.bytes.total",
        ),
        Family::ResponseBytes(l) => level(
            l,
            "traefik.entrypoint.responses.bytes.total",
            "traefik.router.responses.bytes.total",
            "traefik.service.responses.bytes.total",
        ),
        Family::Retries => "traefik.service.retries.total",
        Family::ServerUp => "traefik.service.server.up",
    }
}

/// Line protocol escaping: `escapes` (and `\t\n\f\r`) backslashed.
fn escape(out: &mut String, s: &str, escapes: &[char]) {
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if escapes.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// One point: `measurement,tag=v,... field=v,... timestamp\n`; nothing when a field is not a
/// finite number (the client refuses those).
fn point(
    out: &mut String,
    measurement: &str,
    additional: &BTreeMap<String, String>,
    tags: &push::Tags,
    fields: &[(&str, f64)],
    nanos: u128,
) {
    if fields.iter().any(|(_, v)| !v.is_finite()) {
        return;
    }
    let mut all: BTreeMap<&str, &str> = additional
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (k, v) in tags {
        all.insert(k, v);
    }
    escape(out, measurement, &[',', ' ']);
    for (k, v) in all {
        if k.is_empty() || v.is_empty() {
            continue;
        }
        out.push(',');
        escape(out, k, &[',', ' ', '=']);
        out.push('=');
        escape(out, v, &[',', ' ', '=']);
    }
    out.push(' ');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape(out, k, &[',', ' ', '=']);
        // Go's strconv 'f', -1: the shortest decimal that reads back, never an exponent.
        let _ = write!(out, "={v}");
    }
    let _ = writeln!(out, " {nanos}");
}

/// The `q` quantile (0..1) of `h`, interpolated within the registry's `bounds`.
pub(super) fn quantile(bounds: &[f64], h: &Hist, q: f64) -> f64 {
    if h.count == 1 {
        return h.sum;
    }
    let rank = q * h.count as f64;
    let mut seen = 0u64;
    for (i, n) in h.buckets.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        if (seen + n) as f64 >= rank {
            let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
            let Some(upper) = bounds.get(i) else {
                // Past the last boundary: the boundary, as Prometheus' histogram_quantile.
                return lower;
            };
            let within = (rank - seen as f64) / *n as f64;
            return lower + (upper - lower) * within.clamp(0.0, 1.0);
        }
        seen += n;
    }
    bounds.last().copied().unwrap_or(0.0)
}

/// The body of one push (empty when nothing moved), updating `prev`.
pub fn body(m: &Metrics, setup: &InfluxSetup, prev: &mut Previous, nanos: u128) -> String {
    let changes = prev.changes(push::tally(m, setup.labels, true));
    let mut out = String::new();
    for ((family, tags), d) in &changes.counters {
        point(
            &mut out,
            name(*family),
            &setup.additional,
            tags,
            &[("count", *d)],
            nanos,
        );
    }
    for ((family, tags), v) in &changes.gauges {
        point(
            &mut out,
            name(*family),
            &setup.additional,
            tags,
            &[("value", *v)],
            nanos,
        );
    }
    for ((family, tags), h) in &changes.durations {
        let q = |q| quantile(&m.buckets, h, q);
        point(
            &mut out,
            name(*family),
            &setup.additional,
            tags,
            &[
                ("p50", q(0.5)),
                ("p90", q(0.9)),
                ("p95", q(0.95)),
                ("p99", q(0.99)),
            ],
            nanos,
        );
    }
    out
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Posts every `interval` until `stop` is set (then once more).
pub async fn run(
    observer: Arc<crate::observe::Observer>,
    setup: InfluxSetup,
    stop: watch::Receiver<bool>,
) {
    let Some(metrics) = observer.metrics().cloned() else {
        return;
    };
    let sender = Sender::new(
        Target::Http {
            uri: setup.uri.clone(),
            headers: setup.headers.clone(),
            tls: setup.tls.clone(),
        },
        "",
    );
    // Locked by the one push in progress only.
    let prev = Arc::new(std::sync::Mutex::new(Previous::default()));
    let (observer, metrics, setup, sender, prev) = (&observer, &metrics, &setup, &sender, &prev);
    every(setup.interval, stop, |_| async move {
        // Reading a large registry takes milliseconds: on the blocking pool, away from the
        // proxy's worker threads.
        let (o, m, st, p) = (
            Arc::clone(observer),
            Arc::clone(metrics),
            setup.clone(),
            Arc::clone(prev),
        );
        let body = tokio::task::spawn_blocking(move || {
            o.refresh_cert_metrics();
            let mut prev = p.lock().unwrap_or_else(|e| e.into_inner());
            body(&m, &st, &mut prev, now_nanos())
        })
        .await
        .unwrap_or_default();
        if body.is_empty() {
            return;
        }
        let sent = sender.send(body.into_bytes());
        match tokio::time::timeout(crate::observe::otel::export::EXPORT_TIMEOUT, sent).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(error = %error, "InfluxDB push failed"),
            Err(_) => tracing::debug!("InfluxDB push timed out"),
        }
    })
    .await;
}
