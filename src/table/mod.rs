//! The routing table: what `compile()` builds from the merged dynamic configuration and the request
//! path reads through one `ArcSwap::load()`.
//!
//! ("router" is a Traefik configuration noun, so the compiled thing is a table of `Route`s.)
//! Immutable once built, except for atomics inside balancers.

mod compile;
mod lookup;
pub mod tls_options;
#[doc(hidden)]
pub use crate::balance::{failover_errors, hrw_service};

use std::collections::BTreeMap;
use std::sync::Arc;

pub use compile::{compile, CompileContext, Compiled, EntryPointInfo};
pub use lookup::EntryTable;

pub use crate::balance::service::{
    FailoverService, InternalService, LoadBalancedService, Mirror, MirroringService, Service, Walk,
    WeightedService,
};
use crate::config::observability::Switches;
use crate::middleware::Middleware;
use crate::rules::Rule;

/// One compiled router.
#[derive(Debug)]
pub struct Route {
    /// Qualified name, `name@provider`.
    pub name: String,
    pub rule: Rule,
    pub priority: i64,
    /// Flattened (chains resolved), in the order they apply to the request.
    pub middlewares: Box<[Arc<Middleware>]>,
    pub service: Arc<Service>,
    pub tls: bool,
    /// The key of the `tls.options` this route needs (`tls_options::key`; 0 on plain routes): a
    /// TLS request is served only when its connection was handshaken with them, else 421.
    pub tls_options: u32,
    /// `Some(reason)` for a closed route: a router that could not be built keeps its rule and
    /// priority and answers 503 (its service is [`Service::Closed`]). The reason is for the API;
    /// the client only learns that the router is unavailable.
    pub closed: Option<Arc<str>>,
    /// This route's metric series, bound on its first request (see `observe::metrics`).
    pub metrics: crate::observe::series::RouteSlot,
    /// This route's live traffic rings (the dashboard), bound on its first request.
    pub live: crate::observe::series::live::LiveSlot,
    /// What the requests it serves report (access log, metrics, tracing), by entrypoint index:
    /// the router's `observability` over its entrypoint's, resolved when compiled.
    pub observe: Box<[Switches]>,
    /// How each of `middlewares` shows in detailed traces (same order and length).
    pub traces: Box<[MiddlewareTrace]>,
}

/// One middleware of a route as detailed traces show it: Traefik's span name for its type
/// (`None` for the types Traefik makes no span for) and its qualified name
/// (`traefik.middleware.name`).
#[derive(Debug, Clone)]
pub struct MiddlewareTrace {
    pub span: Option<&'static str>,
    pub name: Arc<str>,
}

impl Route {
    /// The switches of a request this route serves on entrypoint `index` (all on when the route
    /// was built without them).
    pub fn switches(&self, index: usize) -> Switches {
        self.observe.get(index).copied().unwrap_or_default()
    }

    /// Its service is one of swarmgate's own (`api@internal`, `ping@internal`…): reported only
    /// with `addInternals`, as Traefik (which asks whether the service name ends in `@internal`).
    pub fn is_internal(&self) -> bool {
        match &*self.service {
            Service::Internal(_) => true,
            Service::Closed(name) => name.ends_with("@internal"),
            _ => false,
        }
    }
}

/// The compiled routing table.
#[derive(Debug, Default)]
pub struct RoutingTable {
    /// Indexed like the entrypoint list given to `compile`: `[plain, tls]` routes of each.
    pub(crate) entrypoints: Vec<[EntryTable; 2]>,
    /// Every compiled route by name (for the API and logs).
    pub routes: BTreeMap<String, Arc<Route>>,
    /// Every compiled service by name.
    pub services: BTreeMap<String, Arc<Service>>,
}

#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tests;
