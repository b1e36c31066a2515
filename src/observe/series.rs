//! The per-route and per-`forwardAuth` series: atomics only, bound to a compiled `Route` (its
//! `RouteSlot`) or `forwardAuth` (its `AuthSlot`) on first use and incremented on the request
//! path without a lock or an allocation. The registry and rendering are in `observe::metrics`.
//! Sits low (just above `config`) so `table` and `middleware` can hold slots.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use http::Method;

/// Methods with their own slot. Traefik labels any method; other methods are folded into
/// `OTHER` here to keep the number of series bounded.
pub(super) const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER",
];
/// Status codes 100..=599 have a slot each; others are clamped to the nearest end.
pub(super) const FIRST_CODE: u16 = 100;
pub(super) const CODES: usize = 500;

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
        _ => 9,
    }
}

pub(super) fn code_index(code: u16) -> usize {
    usize::from(code.clamp(FIRST_CODE, FIRST_CODE + CODES as u16 - 1) - FIRST_CODE)
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
}

/// Counters of one (entrypoint, router, service).
#[derive(Debug)]
pub(super) struct Series {
    /// Per method: request count per status code.
    pub(super) codes: [OnceLock<Box<[AtomicU64]>>; METHODS.len()],
    /// Per bucket (non-cumulative), then the `+Inf` overflow slot.
    pub(super) buckets: Box<[AtomicU64]>,
    pub(super) sum_nanos: AtomicU64,
    pub(super) count: AtomicU64,
}

impl Series {
    pub(super) fn new(buckets: usize) -> Series {
        Series {
            codes: Default::default(),
            buckets: (0..=buckets).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
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
        }
    }
}
