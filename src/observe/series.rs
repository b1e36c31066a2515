//! The per-route and per-`forwardAuth` series: atomics only, bound to a compiled `Route` (its
//! `RouteSlot`) or `forwardAuth` (its `AuthSlot`) on first use and incremented on the request
//! path without a lock or an allocation. The registry and rendering are in `observe::metrics`.
//! Sits low (just above `config`) so `table` and `middleware` can hold slots.

pub mod live;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use http::Method;

use crate::config::negotiated::{self, Negotiated};

/// Methods with their own slot, as Traefik labels them: the standard methods by name, any other
/// as `EXTENSION_METHOD` (which also keeps the number of series bounded).
pub(super) const METHODS: [&str; 11] = [
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
pub(super) const FIRST_CODE: u16 = 0;
pub(super) const CODES: usize = 600;

pub(super) fn method_index(method: &Method) -> usize {
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

pub(super) fn code_index(code: u16) -> usize {
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

pub(super) const PROTOCOLS: usize = 5;

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

    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub(super) const ALL: [Protocol; PROTOCOLS] = [
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
    pub(super) router: String,
    pub(super) service: String,
    pub(super) per_entrypoint: Box<[OnceLock<Box<Series>>]>,
    /// `traefik_service_retries_total`'s share of this route (summed by service).
    pub(super) retries: AtomicU64,
    /// `*_requests_tls_total` per entrypoint: one counter per (TLS version, cipher, reached
    /// the service), allocated on the first TLS request.
    pub(super) tls: Box<[OnceLock<TlsCells>]>,
}

/// Indexed by `Negotiated::index() * 2 + reached`.
pub(super) type TlsCells = Box<[AtomicU64]>;

pub(super) const TLS_CELLS: usize = negotiated::VERSIONS.len() * negotiated::CIPHERS.len() * 2;

/// Counters of one (entrypoint, router, service): one cell per (method, protocol, code).
#[derive(Debug)]
pub(super) struct Series {
    /// Indexed by (method, protocol, reached the service).
    pub(super) cells: [OnceLock<CodeCells>; METHODS.len() * PROTOCOLS * 2],
}

/// One cell per status code, each allocated on first use.
pub(super) type CodeCells = Box<[OnceLock<Box<Cell>>]>;

/// Counters of one (method, protocol, code) of a series.
#[derive(Debug)]
pub(super) struct Cell {
    pub(super) count: AtomicU64,
    pub(super) request_bytes: AtomicU64,
    pub(super) response_bytes: AtomicU64,
    /// The service's body bytes minus `response_bytes` (wrapping); 0 unless `compress`
    /// re-encoded responses.
    pub(super) origin_offset: AtomicU64,
    /// Per bucket (non-cumulative), then the `+Inf` overflow slot.
    pub(super) buckets: Box<[AtomicU64]>,
    pub(super) sum_nanos: AtomicU64,
}

impl Series {
    pub(super) fn new() -> Series {
        Series {
            cells: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// Each used cell with its method, protocol, code and whether it reached the service.
    pub(super) fn cells(&self) -> impl Iterator<Item = (&'static str, Protocol, u16, bool, &Cell)> {
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
    pub(super) middleware: String,
    pub(super) series: Series,
}

impl RouteMetrics {
    pub(super) fn new(router: String, service: String, entrypoints: usize) -> RouteMetrics {
        RouteMetrics {
            router,
            service,
            per_entrypoint: (0..entrypoints).map(|_| OnceLock::new()).collect(),
            retries: AtomicU64::new(0),
            tls: (0..entrypoints).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Each used TLS counter of entrypoint `ep`: (version, cipher, reached the service, count).
    pub(super) fn tls_cells(
        &self,
        ep: usize,
    ) -> impl Iterator<Item = (Negotiated, bool, u64)> + '_ {
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
