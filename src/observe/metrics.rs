//! Prometheus metrics: lock-free counters on the request path, text exposition on scrape.
//!
//! Owns the metric registry. Series are bound to a compiled `Route` once (through its `RouteSlot`)
//! and survive reloads (keyed by router and service name), so the request path does atomic
//! increments only: no lock, no allocation (a per-method code table is allocated the first time
//! a method is seen on a route and entrypoint). Rendering (`render`) locks and allocates; it runs
//! on scrape only. Must not know about HTTP serving (see `observe::api`).

mod render;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::Method;

use crate::config::static_config::PrometheusConfig;
use crate::table::RoutingTable;
use crate::tls::negotiated::{self, Negotiated};

/// Traefik's default histogram buckets (seconds).
pub const DEFAULT_BUCKETS: [f64; 4] = [0.1, 0.3, 1.2, 5.0];

/// Methods with their own slot, as Traefik labels them: the standard methods by name, any other
/// as `EXTENSION_METHOD` (which also keeps the number of series bounded).
const METHODS: [&str; 11] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PRI",
    "EXTENSION_METHOD",
];
/// Status codes 0..=599 have a slot each (gRPC status codes are small numbers); others are
/// clamped to the nearest end.
const FIRST_CODE: u16 = 0;
const CODES: usize = 600;

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        Method::CONNECT => 7,
        Method::TRACE => 8,
        _ if method.as_str() == "PRI" => 9,
        _ => 10,
    }
}

fn code_index(code: u16) -> usize {
    usize::from(code.clamp(FIRST_CODE, FIRST_CODE + CODES as u16 - 1) - FIRST_CODE)
}

/// The `protocol` label of Traefik's request families, decided from the request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Http,
    Websocket,
    Sse,
    GrpcWeb,
    Grpc,
}

const PROTOCOLS: usize = 5;

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Websocket => "websocket",
            Protocol::Sse => "sse",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Grpc => "grpc",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    const ALL: [Protocol; PROTOCOLS] = [
        Protocol::Http,
        Protocol::Websocket,
        Protocol::Sse,
        Protocol::GrpcWeb,
        Protocol::Grpc,
    ];

    /// As Traefik decides it: a websocket handshake, then an event-stream `Accept`, then a
    /// gRPC-Web, then a gRPC `Content-Type`; anything else is `http`.
    pub fn of(headers: &http::HeaderMap) -> Protocol {
        let lists = |name: http::header::HeaderName, value: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.split(',')
                        .any(|item| item.trim().eq_ignore_ascii_case(value))
                })
        };
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if lists(http::header::CONNECTION, "upgrade") && lists(http::header::UPGRADE, "websocket") {
            Protocol::Websocket
        } else if lists(http::header::ACCEPT, "text/event-stream") {
            Protocol::Sse
        } else if content_type.starts_with("application/grpc-web") {
            Protocol::GrpcWeb
        } else if content_type.starts_with("application/grpc") {
            Protocol::Grpc
        } else {
            Protocol::Http
        }
    }
}

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
    /// False when a middleware answered before the service was reached (e.g. basicAuth's 401):
    /// Traefik then counts the request on the entrypoint and router, not on the service.
    pub reached_service: bool,
}

/// Marks a response a middleware gave instead of the service (see `Sample::reached_service`).
#[derive(Debug, Clone, Copy)]
pub struct NotServed;

/// Which labels the request series carry (Traefik's `addEntryPointsLabels`, `addRoutersLabels`,
/// `addServicesLabels`; defaults true, false, true as in Traefik).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSet {
    pub entrypoint: bool,
    pub router: bool,
    pub service: bool,
}

/// Where a `Route` keeps its bound series; empty until the route's first request.
pub type RouteSlot = OnceLock<Arc<RouteMetrics>>;

/// The series of one (router, service) pair, one slot per entrypoint.
#[derive(Debug)]
pub struct RouteMetrics {
    router: String,
    service: String,
    per_entrypoint: Box<[OnceLock<Box<Series>>]>,
    /// `traefik_service_retries_total`'s share of this route (summed by service).
    retries: AtomicU64,
    /// `*_requests_tls_total` per entrypoint: one counter per (TLS version, cipher, reached
    /// the service), allocated on the first TLS request.
    tls: Box<[OnceLock<TlsCells>]>,
}

/// Indexed by `Negotiated::index() * 2 + reached`.
type TlsCells = Box<[AtomicU64]>;

const TLS_CELLS: usize = negotiated::VERSIONS.len() * negotiated::CIPHERS.len() * 2;

/// Counters of one (entrypoint, router, service): one cell per (method, protocol, code).
#[derive(Debug)]
struct Series {
    /// Indexed by (method, protocol, reached the service).
    cells: [OnceLock<CodeCells>; METHODS.len() * PROTOCOLS * 2],
}

/// One cell per status code, each allocated on first use.
type CodeCells = Box<[OnceLock<Box<Cell>>]>;

/// Counters of one (method, protocol, code) of a series.
#[derive(Debug)]
struct Cell {
    count: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    /// Per bucket (non-cumulative), then the `+Inf` overflow slot.
    buckets: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Series {
    fn new() -> Series {
        Series {
            cells: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// Each used cell with its method, protocol, code and whether it reached the service.
    fn cells(&self) -> impl Iterator<Item = (&'static str, Protocol, u16, bool, &Cell)> {
        self.cells.iter().enumerate().flat_map(|(i, codes)| {
            let reached = i % 2 == 1;
            let method = METHODS[i / 2 / PROTOCOLS];
            let protocol = Protocol::ALL[(i / 2) % PROTOCOLS];
            codes.get().into_iter().flat_map(move |codes| {
                codes.iter().enumerate().filter_map(move |(ci, cell)| {
                    cell.get()
                        .map(|c| (method, protocol, FIRST_CODE + ci as u16, reached, &**c))
                })
            })
        })
    }
}

/// Where a compiled `forwardAuth` keeps its bound series; empty until its first call.
pub type AuthSlot = OnceLock<Arc<AuthMetrics>>;

/// The authentication calls of one `forwardAuth` middleware (by its qualified name): count per
/// answer status and duration histogram. Kept across reloads.
#[derive(Debug)]
pub struct AuthMetrics {
    middleware: String,
    series: Series,
}

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
    buckets: Box<[f64]>,
    entrypoints: Box<[String]>,
    open_connections: Box<[AtomicI64]>,
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
            buckets: buckets.into_boxed_slice(),
            open_connections: (0..n).map(|_| AtomicI64::new(0)).collect(),
            unrouted: Arc::new(RouteMetrics::new(String::new(), String::new(), n)),
            entrypoints: entrypoints.into_boxed_slice(),
            routes: Mutex::default(),
            auths: Mutex::default(),
            reloads_success: AtomicU64::new(0),
            reloads_failure: AtomicU64::new(0),
            last_success_secs: AtomicU64::new(0),
            certs: Mutex::default(),
            table,
        }
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
    pub fn render(&self) -> String {
        render::render(self)
    }
}

impl RouteMetrics {
    fn new(router: String, service: String, entrypoints: usize) -> RouteMetrics {
        RouteMetrics {
            router,
            service,
            per_entrypoint: (0..entrypoints).map(|_| OnceLock::new()).collect(),
            retries: AtomicU64::new(0),
            tls: (0..entrypoints).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Each used TLS counter of entrypoint `ep`: (version, cipher, reached the service, count).
    fn tls_cells(&self, ep: usize) -> impl Iterator<Item = (Negotiated, bool, u64)> + '_ {
        self.tls
            .get(ep)
            .and_then(OnceLock::get)
            .into_iter()
            .flat_map(|cells| cells.iter().enumerate())
            .filter_map(|(i, c)| {
                let n = c.load(Ordering::Relaxed);
                let tls = Negotiated::from_index(i / 2)?;
                (n > 0).then_some((tls, i % 2 == 1, n))
            })
    }

    /// Counts `n` requests the `retry` middleware sent again.
    pub fn retried(&self, n: u32) {
        self.retries.fetch_add(u64::from(n), Ordering::Relaxed);
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
