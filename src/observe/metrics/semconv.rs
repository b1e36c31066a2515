//! The OpenTelemetry semantic-convention histograms Traefik 3.7 sends beside its own instruments
//! when `metrics.otlp` is on (`pkg/observability/metrics/otel.go` `SemConvMetricsRegistry`):
//!
//! - `http.server.request.duration`, one observation per request an entrypoint served
//!   (`pkg/middlewares/observability/semconv.go`), keyed by `http.request.method`,
//!   `http.response.status_code`, `error.type` (the status, from 400), `network.protocol.name`
//!   and `network.protocol.version` (Go's `req.Proto`, lower-cased and shortened as Traefik
//!   does: `http/1.1` `1.1`, `http/2.0` `HTTP/2.0`), `server.address` (the request's host as the
//!   client sent it, port included) and `url.scheme` (the `X-Forwarded-Proto` the request
//!   carries once the forwarded headers are prepared);
//! - `http.client.request.duration`, one observation per call to a server, each attempt counted
//!   (`pkg/proxy/httputil/observability.go`; mirrored copies and `errors` pages included): from
//!   sending the request to its response head,
//!   keyed as above with `server.address` the server URL's host (and port as written) and
//!   `server.port`, and the status the proxy gives when no answer came (502, 504).
//!
//! Both in seconds, with `metrics.otlp.explicitBoundaries`. Traefik records them for every
//! request its other metrics count (not `@internal` routers unless `metrics.addInternals`).
//!
//! **Bounded.** `server.address` comes from the client's `Host`, so a client choosing Hosts (or
//! methods) at will could make series without end. As Traefik's OpenTelemetry Go SDK (v1.44,
//! default cardinality limit 2000; measured against Traefik 3.7.15 by
//! `tests/differential_metrics.rs`), each instrument sends at most [`SERIES_CAP`] points:
//! 1 999 attribute sets, then one overflow series, `otel.metric.overflow=true`, for every new set,
//! so totals stay right. Unlike Traefik, a set's strings are kept short (`ADDRESS_BYTES`), so a
//! long made-up `Host` costs no more memory than a real one. The sets live in a fixed open-addressed table of
//! `OnceLock` slots probed with a per-process random hash: the request path hashes, compares
//! and adds to atomics; only the first measurement of a set allocates (its key and buckets).
//! Nothing exists when `metrics.otlp` is off.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use http::Version;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, AggregationTemporality, Histogram, HistogramDataPoint, Metric,
};

/// Points each instrument sends at most: `SERIES_CAP - 1` attribute sets and the overflow
/// series, as the OpenTelemetry Go SDK's default cardinality limit that Traefik 3.7 inherits
/// (`sdk/metric` v1.44: a new set once `limit - 1` are kept goes to the overflow set).
pub const SERIES_CAP: usize = 2000;
/// Slots of the table: a power of two, twice the cap, so probes stay short.
const SLOTS: usize = 4096;
/// Slots looked at for one attribute set before it counts as overflow.
const PROBES: usize = 64;
/// `server.address` is kept to this many bytes (a DNS name has at most 253, then `:port`), the
/// method and scheme to [`TOKEN_BYTES`]: with the cap, the memory a client can make us hold is
/// bounded (a set is under 1 KB), where a long made-up `Host` would otherwise be kept whole.
const ADDRESS_BYTES: usize = 260;
const TOKEN_BYTES: usize = 32;

fn clip(b: &[u8], n: usize) -> &[u8] {
    b.get(..n).unwrap_or(b)
}

/// The two instruments.
#[derive(Debug)]
pub struct SemConv {
    /// `metrics.otlp.explicitBoundaries`, ascending.
    bounds: Box<[f64]>,
    pub server: Instrument,
    pub client: Instrument,
}

/// What one measurement is keyed by, borrowed from the request.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    pub method: &'a str,
    pub status: u16,
    pub version: Version,
    /// `server.address`.
    pub address: &'a [u8],
    /// `server.port` (client side only).
    pub port: Option<u16>,
    /// `url.scheme`.
    pub scheme: &'a [u8],
}

#[derive(Debug)]
struct Key {
    method: Box<[u8]>,
    status: u16,
    version: Version,
    address: Box<[u8]>,
    port: Option<u16>,
    scheme: Box<[u8]>,
}

impl Key {
    fn of(a: &Attrs<'_>) -> Key {
        Key {
            method: a.method.as_bytes().into(),
            status: a.status,
            version: a.version,
            address: a.address.into(),
            port: a.port,
            scheme: a.scheme.into(),
        }
    }

    fn is(&self, a: &Attrs<'_>) -> bool {
        self.status == a.status
            && self.port == a.port
            && self.version == a.version
            && *self.method == *a.method.as_bytes()
            && *self.address == *a.address
            && *self.scheme == *a.scheme
    }
}

/// One histogram: count, sum and a count per bucket (the last one above every boundary).
#[derive(Debug)]
struct Hist {
    count: AtomicU64,
    sum_nanos: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl Hist {
    fn new(bounds: usize) -> Hist {
        Hist {
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            buckets: (0..=bounds).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn observe(&self, bounds: &[f64], elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        // OpenTelemetry's explicit buckets are closed above: (b[i-1], b[i]].
        let i = bounds.partition_point(|b| *b < secs);
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    key: Key,
    hist: Hist,
}

/// One instrument's series: at most `cap` attribute sets, then the overflow series.
#[derive(Debug)]
pub struct Instrument {
    /// Which side: the server's `error.type` text differs from the client's.
    server: bool,
    hasher: RandomState,
    slots: Box<[OnceLock<Box<Entry>>]>,
    len: AtomicUsize,
    cap: usize,
    overflow: Hist,
}

impl Instrument {
    fn new(server: bool, bounds: usize, cap: usize) -> Instrument {
        Instrument {
            server,
            hasher: RandomState::new(),
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            // The overflow series is one of the `cap` points.
            cap: cap.saturating_sub(1).min(SLOTS / 2),
            overflow: Hist::new(bounds),
        }
    }

    fn hash(&self, a: &Attrs<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        a.method.hash(&mut h);
        a.status.hash(&mut h);
        a.version.hash(&mut h);
        a.address.hash(&mut h);
        a.port.hash(&mut h);
        a.scheme.hash(&mut h);
        h.finish()
    }

    /// The series of `a`: found, or made while under the cap, else the overflow series.
    fn series(&self, bounds: usize, a: &Attrs<'_>) -> &Hist {
        let method = clip(a.method.as_bytes(), TOKEN_BYTES);
        let a = &Attrs {
            // A method is an ASCII token (`http::Method`): any cut is a char boundary.
            method: std::str::from_utf8(method).unwrap_or(""),
            address: clip(a.address, ADDRESS_BYTES),
            scheme: clip(a.scheme, TOKEN_BYTES),
            ..*a
        };
        let hash = self.hash(a);
        let mask = self.slots.len() - 1;
        for probe in 0..PROBES {
            let slot = &self.slots[(hash as usize).wrapping_add(probe) & mask];
            if let Some(e) = slot.get() {
                if e.hash == hash && e.key.is(a) {
                    return &e.hist;
                }
                continue;
            }
            // A new attribute set: take a place under the cap, then the slot.
            if self.len.fetch_add(1, Ordering::Relaxed) >= self.cap {
                self.len.fetch_sub(1, Ordering::Relaxed);
                return &self.overflow;
            }
            let entry = Box::new(Entry {
                hash,
                key: Key::of(a),
                hist: Hist::new(bounds),
            });
            if slot.set(entry).is_err() {
                // Another request filled the slot first: give the place back and look at it.
                self.len.fetch_sub(1, Ordering::Relaxed);
                if let Some(e) = slot.get().filter(|e| e.hash == hash && e.key.is(a)) {
                    return &e.hist;
                }
                continue;
            }
            if let Some(e) = slot.get() {
                return &e.hist;
            }
        }
        &self.overflow
    }

    /// Attribute sets kept (the overflow series not counted).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The instrument's points: each attribute set measured, then the overflow series if used.
    fn points(&self, start: u64, now: u64, bounds: &[f64]) -> Vec<HistogramDataPoint> {
        let point = |attributes: Vec<KeyValue>, h: &Hist| HistogramDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: now,
            count: h.count.load(Ordering::Relaxed),
            sum: Some(h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9),
            bucket_counts: h
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        };
        let mut out: Vec<(Vec<KeyValue>, HistogramDataPoint)> = self
            .slots
            .iter()
            .filter_map(OnceLock::get)
            .filter(|e| e.hist.count.load(Ordering::Relaxed) > 0)
            .map(|e| {
                let attrs = attributes(&e.key, self.server);
                (attrs.clone(), point(attrs, &e.hist))
            })
            .collect();
        // A stable order for readers of the push (and tests).
        out.sort_by_cached_key(|(attrs, _)| format!("{attrs:?}"));
        let mut out: Vec<HistogramDataPoint> = out.into_iter().map(|(_, p)| p).collect();
        if self.overflow.count.load(Ordering::Relaxed) > 0 {
            out.push(point(
                vec![KeyValue {
                    key: "otel.metric.overflow".to_string(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::BoolValue(true)),
                    }),
                    ..Default::default()
                }],
                &self.overflow,
            ));
        }
        out
    }
}

impl SemConv {
    /// The two instruments, counting by `bounds` (seconds; sorted here).
    pub fn new(bounds: &[f64]) -> SemConv {
        Self::with_cap(bounds, SERIES_CAP)
    }

    /// As `new`, with another cap (points per instrument, the overflow series included).
    pub fn with_cap(bounds: &[f64], cap: usize) -> SemConv {
        let mut b: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        b.sort_by(f64::total_cmp);
        b.dedup();
        SemConv {
            server: Instrument::new(true, b.len(), cap),
            client: Instrument::new(false, b.len(), cap),
            bounds: b.into_boxed_slice(),
        }
    }

    /// One request an entrypoint served.
    pub fn server(&self, a: Attrs<'_>, elapsed: Duration) {
        self.server
            .series(self.bounds.len(), &a)
            .observe(&self.bounds, elapsed);
    }

    /// One call to a server (each attempt).
    pub fn client(&self, a: Attrs<'_>, elapsed: Duration) {
        self.client
            .series(self.bounds.len(), &a)
            .observe(&self.bounds, elapsed);
    }

    /// The two histograms (those measured at least once), cumulative since `start`.
    pub fn metrics(&self, start: u64, now: u64) -> Vec<Metric> {
        [
            (
                &self.server,
                "http.server.request.duration",
                "Duration of HTTP server requests.",
            ),
            (
                &self.client,
                "http.client.request.duration",
                "Duration of HTTP client requests.",
            ),
        ]
        .into_iter()
        .filter_map(|(instrument, name, help)| {
            let points = instrument.points(start, now, &self.bounds);
            (!points.is_empty()).then(|| Metric {
                name: name.to_string(),
                description: help.to_string(),
                unit: "s".to_string(),
                data: Some(metric::Data::Histogram(Histogram {
                    data_points: points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })),
                ..Default::default()
            })
        })
        .collect()
    }
}

/// `network.protocol.name` and `network.protocol.version` as Traefik writes them from Go's
/// `req.Proto` (`strings.ToLower(req.Proto)` and `observability.Proto`, which shortens only
/// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2` and `HTTP/3`: Go's HTTP/2 server says `HTTP/2.0`, kept).
pub fn protocol(version: Version) -> (&'static str, &'static str) {
    match version {
        Version::HTTP_09 => ("http/0.9", "HTTP/0.9"),
        Version::HTTP_10 => ("http/1.0", "1.0"),
        Version::HTTP_2 => ("http/2.0", "HTTP/2.0"),
        Version::HTTP_3 => ("http/3.0", "HTTP/3.0"),
        _ => ("http/1.1", "1.1"),
    }
}

/// `error.type`: the status from 400 on, and Traefik's text for a status outside 100..600
/// (the server side's has a stray ` ;`).
fn error_type(status: u16, server: bool) -> Option<String> {
    if !(100..600).contains(&status) {
        Some(if server {
            format!("Invalid HTTP status code ; {status}")
        } else {
            format!("Invalid HTTP status code {status}")
        })
    } else if status >= 400 {
        Some(status.to_string())
    } else {
        None
    }
}

fn string(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// The attributes of one set, sorted by key (as the Go SDK's attribute sets).
fn attributes(key: &Key, server: bool) -> Vec<KeyValue> {
    let (name, version) = protocol(key.version);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = Vec::with_capacity(8);
    if let Some(e) = error_type(key.status, server) {
        out.push(string("error.type", e));
    }
    out.push(string("http.request.method", text(&key.method)));
    out.push(int("http.response.status_code", i64::from(key.status)));
    out.push(string("network.protocol.name", name.to_string()));
    out.push(string("network.protocol.version", version.to_string()));
    out.push(string("server.address", text(&key.address)));
    if let Some(port) = key.port {
        out.push(int("server.port", i64::from(port)));
    }
    out.push(string("url.scheme", text(&key.scheme)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(address: &str) -> Attrs<'_> {
        Attrs {
            method: "GET",
            status: 200,
            version: Version::HTTP_11,
            address: address.as_bytes(),
            port: None,
            scheme: b"http",
        }
    }

    fn value(kv: &KeyValue) -> String {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => format!("{s:?}"),
            Some(any_value::Value::IntValue(i)) => i.to_string(),
            Some(any_value::Value::BoolValue(b)) => b.to_string(),
            other => format!("{other:?}"),
        }
    }

    fn flat(p: &HistogramDataPoint) -> Vec<String> {
        p.attributes
            .iter()
            .map(|kv| format!("{}={}", kv.key, value(kv)))
            .collect()
    }

    fn histogram(m: &Metric) -> &Histogram {
        match &m.data {
            Some(metric::Data::Histogram(h)) => h,
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn server_attributes_are_traefiks() {
        let sc = SemConv::new(&[0.1, 1.0]);
        sc.server(
            Attrs {
                method: "POST",
                status: 404,
                version: Version::HTTP_2,
                address: b"shop.example:8443",
                port: None,
                scheme: b"https",
            },
            Duration::from_millis(150),
        );
        let metrics = sc.metrics(1, 2);
        assert_eq!(
            metrics.len(),
            1,
            "the client side measured nothing: {metrics:?}"
        );
        assert_eq!(metrics[0].name, "http.server.request.duration");
        assert_eq!(metrics[0].unit, "s");
        let h = histogram(&metrics[0]);
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let p = &h.data_points[0];
        assert_eq!(
            flat(p),
            [
                "error.type=\"404\"",
                "http.request.method=\"POST\"",
                "http.response.status_code=404",
                "network.protocol.name=\"http/2.0\"",
                "network.protocol.version=\"HTTP/2.0\"",
                "server.address=\"shop.example:8443\"",
                "url.scheme=\"https\"",
            ]
        );
        assert_eq!(p.count, 1);
        assert_eq!(p.explicit_bounds, [0.1, 1.0]);
        assert_eq!(p.bucket_counts, [0, 1, 0]);
        assert!((p.sum.unwrap() - 0.15).abs() < 1e-9);
        assert_eq!((p.start_time_unix_nano, p.time_unix_nano), (1, 2));
    }

    #[test]
    fn client_attributes_have_the_port_and_no_error_below_400() {
        let sc = SemConv::new(&[0.5]);
        sc.client(
            Attrs {
                method: "GET",
                status: 200,
                version: Version::HTTP_11,
                address: b"10.0.0.7:8080",
                port: Some(8080),
                scheme: b"http",
            },
            Duration::from_millis(2),
        );
        let metrics = sc.metrics(0, 0);
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].name, "http.client.request.duration");
        assert_eq!(
            flat(&histogram(&metrics[0]).data_points[0]),
            [
                "http.request.method=\"GET\"",
                "http.response.status_code=200",
                "network.protocol.name=\"http/1.1\"",
                "network.protocol.version=\"1.1\"",
                "server.address=\"10.0.0.7:8080\"",
                "server.port=8080",
                "url.scheme=\"http\"",
            ]
        );
    }

    #[test]
    fn error_type_and_protocols_as_traefik_writes_them() {
        assert_eq!(error_type(399, true), None);
        assert_eq!(error_type(500, false).as_deref(), Some("500"));
        assert_eq!(
            error_type(600, true).as_deref(),
            Some("Invalid HTTP status code ; 600")
        );
        assert_eq!(
            error_type(99, false).as_deref(),
            Some("Invalid HTTP status code 99")
        );
        assert_eq!(protocol(Version::HTTP_10), ("http/1.0", "1.0"));
        assert_eq!(protocol(Version::HTTP_11), ("http/1.1", "1.1"));
        assert_eq!(protocol(Version::HTTP_3), ("http/3.0", "HTTP/3.0"));
    }

    #[test]
    fn the_same_attributes_share_one_series() {
        let sc = SemConv::new(&[1.0]);
        for _ in 0..3 {
            sc.server(attrs("a.example"), Duration::from_millis(1));
        }
        sc.server(attrs("b.example"), Duration::from_secs(2));
        assert_eq!(sc.server.len(), 2);
        let metrics = sc.metrics(0, 0);
        let points = &histogram(&metrics[0]).data_points;
        let counts: Vec<_> = points
            .iter()
            .map(|p| (p.count, p.bucket_counts.clone()))
            .collect();
        assert_eq!(counts, [(3, vec![3, 0]), (1, vec![0, 1])]);
    }

    #[test]
    fn hosts_past_the_cap_go_to_one_overflow_series() {
        // Five points: four attribute sets and the overflow series.
        let sc = SemConv::with_cap(&[1.0], 5);
        let hosts: Vec<String> = (0..50).map(|i| format!("h{i}.attacker")).collect();
        for h in &hosts {
            sc.server(attrs(h), Duration::from_millis(1));
        }
        // A host seen before the cap keeps its own series.
        sc.server(attrs("h0.attacker"), Duration::from_millis(1));
        assert_eq!(sc.server.len(), 4);
        let metrics = sc.metrics(0, 0);
        let points = &histogram(&metrics[0]).data_points;
        assert_eq!(points.len(), 5, "{points:?}");
        let overflow = points.last().unwrap();
        assert_eq!(flat(overflow), ["otel.metric.overflow=true"]);
        assert_eq!(overflow.count, 46);
        let total: u64 = points.iter().map(|p| p.count).sum();
        assert_eq!(total, 51, "no measurement is lost");
        let h0 = points
            .iter()
            .find(|p| flat(p).contains(&"server.address=\"h0.attacker\"".to_string()))
            .unwrap();
        assert_eq!(h0.count, 2);
    }

    #[test]
    fn long_hosts_are_kept_to_260_bytes() {
        let sc = SemConv::new(&[1.0]);
        let long = "a".repeat(10_000);
        sc.server(attrs(&long), Duration::from_millis(1));
        // Another host with the same first 260 bytes shares the series.
        let other = format!("{}b", "a".repeat(9_000));
        sc.server(attrs(&other), Duration::from_millis(1));
        assert_eq!(sc.server.len(), 1);
        let metrics = sc.metrics(0, 0);
        let point = &histogram(&metrics[0]).data_points[0];
        assert_eq!(point.count, 2);
        let address = flat(point)
            .into_iter()
            .find(|a| a.starts_with("server.address="))
            .unwrap();
        assert_eq!(address, format!("server.address={:?}", "a".repeat(260)));
    }

    #[test]
    fn the_default_cap_holds_under_many_threads() {
        let sc = std::sync::Arc::new(SemConv::new(&[1.0]));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sc = std::sync::Arc::clone(&sc);
                std::thread::spawn(move || {
                    for i in 0..1500 {
                        let host = format!("{}.example", (i * 4 + t) % 3000);
                        sc.server(attrs(&host), Duration::from_millis(1));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sc.server.len(), SERIES_CAP - 1);
        let metrics = sc.metrics(0, 0);
        let points = &histogram(&metrics[0]).data_points;
        assert_eq!(points.len(), SERIES_CAP);
        assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 6000);
    }
}
