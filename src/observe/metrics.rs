//! Prometheus metrics: lock-free counters on the request path, text exposition on scrape.
//!
//! Owns the metric registry. Series are bound to a compiled `Route` once (through its `RouteSlot`)
//! and survive reloads (keyed by router and service name), so the request path does atomic
//! increments only: no lock, no allocation (a per-method code table is allocated the first time
//! a method is seen on a route and entrypoint). Rendering (`render`) locks and allocates; it runs
//! on scrape only. Must not know about HTTP serving (see `observe::api`).

#![allow(clippy::disallowed_types)] // std Mutex: the registry locks when a route binds its series (once) and on scrape, never per request

pub mod influx;
pub mod otlp;
pub mod push;
mod render;
pub mod semconv;
pub mod statsd;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::Method;

use crate::config::negotiated::Negotiated;
use crate::config::static_config::PrometheusConfig;
use crate::table::RoutingTable;

use super::series::{code_index, method_index, Cell, Series, CODES, PROTOCOLS, TLS_CELLS};
pub use super::series::{AuthMetrics, AuthSlot, LabelSet, Protocol, RouteMetrics, RouteSlot};

/// Traefik's default histogram buckets (seconds).
pub const DEFAULT_BUCKETS: [f64; 4] = [0.1, 0.3, 1.2, 5.0];

/// Methods with their own slot, as Traefik labels them: the standard methods by name, any other
/// One finished request, as the request families count it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub method: &'a Method,
    pub protocol: Protocol,
    /// The HTTP status, or for gRPC the `grpc-status` (as Traefik).
    pub code: u16,
    pub elapsed: Duration,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Body bytes the service sent (the service families count these, as Traefik's service
    /// metrics sit inside the router's middlewares: before `compress`).
    pub origin_bytes: u64,
    /// False when a middleware answered before the service was reached (e.g. basicAuth's 401):
    /// Traefik then counts the request on the entrypoint and router, not on the service.
    pub reached_service: bool,
}

/// Marks a response a middleware gave instead of the service (see `Sample::reached_service`),
/// with that middleware's index in the route's list (the later ones did not run).
#[derive(Debug, Clone, Copy)]
pub struct NotServed(pub usize);

/// One TLS certificate for `traefik_tls_certs_not_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub cn: String,
    pub sans: String,
    pub serial: String,
    /// Expiry as Unix seconds.
    pub not_after: i64,
}

/// The registry. One per running swarmgate.
#[derive(Debug)]
pub struct Metrics {
    labels: LabelSet,
    /// Every exporter's boundaries merged (what the cells count by).
    buckets: Box<[f64]>,
    /// `metrics.prometheus.buckets` (a subset of `buckets`).
    prometheus_buckets: Box<[f64]>,
    entrypoints: Box<[String]>,
    open_connections: Box<[AtomicI64]>,
    /// Entrypoints (by index) that are UDP: Traefik 3.7 writes no series for them.
    udp: Box<[bool]>,
    /// `metrics.addInternals`: whether requests to `@internal` routers are counted.
    internals: bool,
    routes: Mutex<HashMap<(String, String), Arc<RouteMetrics>>>,
    /// `forwardAuth` calls by middleware name.
    auths: Mutex<HashMap<String, Arc<AuthMetrics>>>,
    /// Requests no router matched (router and service labels empty).
    unrouted: Arc<RouteMetrics>,
    reloads_success: AtomicU64,
    reloads_failure: AtomicU64,
    last_success_secs: AtomicU64,
    certs: Mutex<BTreeMap<String, CertInfo>>,
    table: Option<Arc<ArcSwap<RoutingTable>>>,
    /// When counting began (the start of OTLP's cumulative points).
    start_unix_nanos: u64,
    /// `http.server.request.duration` and `http.client.request.duration`, only with
    /// `metrics.otlp` (`semconv.rs`).
    semconv: Option<semconv::SemConv>,
}

impl Metrics {
    /// A registry for these entrypoints (in the table's order); `table` feeds `server_up`.
    pub fn new(
        cfg: &PrometheusConfig,
        entrypoints: Vec<String>,
        table: Option<Arc<ArcSwap<RoutingTable>>>,
    ) -> Metrics {
        let mut buckets: Vec<f64> = if cfg.buckets.is_empty() {
            DEFAULT_BUCKETS.to_vec()
        } else {
            cfg.buckets
                .iter()
                .copied()
                .filter(|b| b.is_finite())
                .collect()
        };
        buckets.sort_by(f64::total_cmp);
        buckets.dedup();
        let n = entrypoints.len();
        Metrics {
            labels: LabelSet {
                entrypoint: cfg.add_entry_points_labels.unwrap_or(true),
                router: cfg.add_routers_labels.unwrap_or(false),
                service: cfg.add_services_labels.unwrap_or(true),
            },
            prometheus_buckets: buckets.clone().into_boxed_slice(),
            buckets: buckets.into_boxed_slice(),
            start_unix_nanos: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            open_connections: (0..n).map(|_| AtomicI64::new(0)).collect(),
            udp: vec![false; n].into_boxed_slice(),
            internals: false,
            unrouted: Arc::new(RouteMetrics::new(String::new(), String::new(), n)),
            entrypoints: entrypoints.into_boxed_slice(),
            routes: Mutex::default(),
            auths: Mutex::default(),
            reloads_success: AtomicU64::new(0),
            reloads_failure: AtomicU64::new(0),
            last_success_secs: AtomicU64::new(0),
            certs: Mutex::default(),
            table,
            semconv: None,
        }
    }

    /// Also records the OpenTelemetry semantic-convention histograms, with `boundaries`
    /// (`metrics.otlp.explicitBoundaries`): what Traefik does when `metrics.otlp` is on.
    pub fn with_semconv(mut self, boundaries: &[f64]) -> Self {
        self.semconv = Some(semconv::SemConv::new(boundaries));
        self
    }

    /// The semantic-convention histograms, when `metrics.otlp` is on.
    pub fn semconv(&self) -> Option<&semconv::SemConv> {
        self.semconv.as_ref()
    }

    /// Also counts durations by `boundaries` (another exporter's, e.g. `metrics.otlp`'s), merged
    /// into the registry's buckets; call before any request is counted.
    pub fn with_boundaries(mut self, boundaries: &[f64]) -> Self {
        let mut all: Vec<f64> = self.buckets.to_vec();
        all.extend(boundaries.iter().copied().filter(|b| b.is_finite()));
        all.sort_by(f64::total_cmp);
        all.dedup();
        self.buckets = all.into_boxed_slice();
        self
    }

    /// Marks the UDP entrypoints (by index): they get no `traefik_open_connections` series, as
    /// in Traefik 3.7, which counts no UDP sessions.
    pub fn with_udp_entrypoints(mut self, udp: &[bool]) -> Self {
        for (flag, is) in self.udp.iter_mut().zip(udp) {
            *flag = *is;
        }
        self
    }

    /// Counts requests to `@internal` routers too (`metrics.addInternals`); Traefik 3.7 leaves
    /// them out by default, so scraping `/metrics` moves no request series.
    pub fn with_internals(mut self, internals: bool) -> Self {
        self.internals = internals;
        self
    }

    /// `metrics.addInternals`: requests to internal services (`api@internal`…) are counted.
    pub(crate) fn internals(&self) -> bool {
        self.internals
    }

    /// Whether entrypoint `index` is UDP.
    pub(crate) fn is_udp(&self, index: usize) -> bool {
        self.udp.get(index).copied().unwrap_or(false)
    }

    pub fn labels(&self) -> LabelSet {
        self.labels
    }

    /// The series of a (router, service) pair, created on first use and kept across reloads.
    /// Locks: call once per compiled route (through `bind`), not per request.
    pub fn route(&self, router: &str, service: &str) -> Arc<RouteMetrics> {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let key = (router.to_string(), service.to_string());
        Arc::clone(routes.entry(key).or_insert_with(|| {
            Arc::new(RouteMetrics::new(
                router.to_string(),
                service.to_string(),
                self.entrypoints.len(),
            ))
        }))
    }

    /// The route's series, binding its slot on first use.
    pub fn bind<'a>(&self, slot: &'a RouteSlot, router: &str, service: &str) -> &'a RouteMetrics {
        slot.get_or_init(|| self.route(router, service))
    }

    /// Counts one request. `route` is `None` when no router matched.
    pub fn record(&self, route: Option<&RouteMetrics>, entrypoint: usize, sample: Sample<'_>) {
        let route = route.unwrap_or(&self.unrouted);
        let Some(slot) = route.per_entrypoint.get(entrypoint) else {
            return;
        };
        let series = slot.get_or_init(|| Box::new(Series::new()));
        self.observe(series, sample);
    }

    /// Counts one request over TLS (`*_requests_tls_total`), like `record`.
    pub fn record_tls(
        &self,
        route: Option<&RouteMetrics>,
        entrypoint: usize,
        tls: Negotiated,
        reached_service: bool,
    ) {
        let route = route.unwrap_or(&self.unrouted);
        let Some(slot) = route.tls.get(entrypoint) else {
            return;
        };
        let cells = slot.get_or_init(|| (0..TLS_CELLS).map(|_| AtomicU64::new(0)).collect());
        if let Some(c) = cells.get(tls.index() * 2 + usize::from(reached_service)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one `forwardAuth` call of the middleware `name` (answer status, or the status
    /// the client got when the server could not answer). Locks once per compiled middleware
    /// (binding `slot`), never per call.
    pub fn record_auth(&self, slot: &AuthSlot, name: &str, code: u16, elapsed: Duration) {
        let bound = slot.get_or_init(|| {
            let mut auths = self.auths.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(auths.entry(name.to_string()).or_insert_with(|| {
                Arc::new(AuthMetrics {
                    middleware: name.to_string(),
                    series: Series::new(),
                })
            }))
        });
        let sample = Sample {
            method: &Method::GET,
            protocol: Protocol::Http,
            code,
            elapsed,
            request_bytes: 0,
            response_bytes: 0,
            origin_bytes: 0,
            reached_service: true,
        };
        self.observe(&bound.series, sample);
    }

    /// Adds one observation to a series.
    fn observe(&self, series: &Series, sample: Sample<'_>) {
        let slot = (method_index(sample.method) * PROTOCOLS + sample.protocol.index()) * 2
            + usize::from(sample.reached_service);
        let codes =
            series.cells[slot].get_or_init(|| (0..CODES).map(|_| OnceLock::new()).collect());
        let cell = codes[code_index(sample.code)].get_or_init(|| {
            Box::new(Cell {
                count: AtomicU64::new(0),
                request_bytes: AtomicU64::new(0),
                response_bytes: AtomicU64::new(0),
                origin_offset: AtomicU64::new(0),
                buckets: (0..=self.buckets.len())
                    .map(|_| AtomicU64::new(0))
                    .collect(),
                sum_nanos: AtomicU64::new(0),
            })
        });
        cell.count.fetch_add(1, Ordering::Relaxed);
        cell.request_bytes
            .fetch_add(sample.request_bytes, Ordering::Relaxed);
        cell.response_bytes
            .fetch_add(sample.response_bytes, Ordering::Relaxed);
        if sample.origin_bytes != sample.response_bytes {
            // Wrapping: the service's bytes are `response_bytes + origin_offset` modulo 2^64.
            let offset = sample.origin_bytes.wrapping_sub(sample.response_bytes);
            cell.origin_offset.fetch_add(offset, Ordering::Relaxed);
        }
        let secs = sample.elapsed.as_secs_f64();
        let bucket = self
            .buckets
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.buckets.len());
        cell.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(sample.elapsed.as_nanos()).unwrap_or(u64::MAX);
        cell.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// An open connection on an entrypoint; the count drops when the guard does.
    pub fn connection_opened(self: &Arc<Self>, entrypoint: usize) -> ConnectionGuard {
        if let Some(c) = self.open_connections.get(entrypoint) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        ConnectionGuard {
            metrics: Arc::clone(self),
            entrypoint,
        }
    }

    /// One configuration reload; `ok` = it produced no issue. `now_secs` is the Unix time.
    pub fn reloaded(&self, ok: bool, now_secs: f64) {
        if ok {
            self.reloads_success.fetch_add(1, Ordering::Relaxed);
            self.last_success_secs
                .store(now_secs.to_bits(), Ordering::Relaxed);
        } else {
            self.reloads_failure.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sets (or replaces) a certificate's expiry, keyed by `key` (e.g. the store and main domain).
    /// For the TLS module; not on the request path.
    pub fn set_tls_cert(&self, key: &str, cert: CertInfo) {
        let mut certs = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        certs.insert(key.to_string(), cert);
    }

    /// Forgets a certificate set by `set_tls_cert`.
    pub fn remove_tls_cert(&self, key: &str) {
        let mut certs = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        certs.remove(key);
    }

    /// The whole registry in the Prometheus text format (version 0.0.4).
    /// The `swarmgate_acme_*` families of `attempts` (the certificate store's), appended when
    /// scraped.
    pub fn render_acme(attempts: &crate::tls::acme::attempts::Snapshot) -> String {
        let mut out = String::new();
        render::acme(&mut out, attempts);
        out
    }

    pub fn render(&self) -> String {
        render::render(self)
    }
}

/// Decrements `traefik_open_connections` when dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    metrics: Arc<Metrics>,
    entrypoint: usize,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(c) = self.metrics.open_connections.get(self.entrypoint) {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
