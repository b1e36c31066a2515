//! The routing table: what `compile()` builds from the merged dynamic configuration and the request
//! path reads through one `ArcSwap::load()`.
//!
//! ("router" is a Traefik configuration noun, so the compiled thing is a table of `Route`s.)
//! Immutable once built, except for atomics inside balancers.

mod compile;
mod lookup;
pub mod tls_options;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use compile::{compile, CompileContext, Compiled, EntryPointInfo};
pub use lookup::EntryTable;

use crate::balance::Balancer;
use crate::middleware::Middleware;
use crate::rules::Rule;
use crate::upstream::UpstreamPool;

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
    pub metrics: crate::observe::RouteSlot,
}

/// One compiled service.
#[derive(Debug)]
pub enum Service {
    LoadBalancer(LoadBalancedService),
    Weighted(WeightedService),
    Internal(InternalService),
    /// The service of a closed route, by the name its router gave: answers 503.
    Closed(String),
}

impl Service {
    pub fn name(&self) -> &str {
        match self {
            Service::LoadBalancer(lb) => &lb.name,
            Service::Weighted(w) => &w.name,
            Service::Internal(internal) => internal.name(),
            Service::Closed(name) => name,
        }
    }

    /// Follows `weighted` services down to the one that answers (a load balancer or an
    /// internal service). `None` when a weighted service has nothing to pick.
    pub fn resolve(self: &Arc<Self>, now: std::time::Instant) -> Option<&Service> {
        let mut service: &Service = self;
        // compile() rejects cycles; the bound is a second guard.
        for _ in 0..16 {
            match service {
                Service::Weighted(w) => service = w.children.get(w.balancer.pick(now, &[])?)?,
                Service::LoadBalancer(_) | Service::Internal(_) | Service::Closed(_) => {
                    return Some(service)
                }
            }
        }
        None
    }
}

/// A `weighted` service: splits traffic across other services by weight.
#[derive(Debug)]
pub struct WeightedService {
    pub name: String,
    /// Schedule over the children (each slot always available).
    pub balancer: Balancer,
    pub children: Box<[Arc<Service>]>,
}

/// A `loadBalancer` service: a balancer and, at the same indices, each server's connection pool.
#[derive(Debug)]
pub struct LoadBalancedService {
    pub name: String,
    pub balancer: Balancer,
    pub pools: Box<[Arc<UpstreamPool>]>,
    pub pass_host_header: bool,
}

/// Services swarmgate answers itself (`name@internal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalService {
    /// `demo@internal`: describes the request it got (the embedded default config routes here).
    Demo,
    /// `ping@internal`: `200 OK`.
    Ping,
    /// `noop@internal`: answers nothing useful; for routers that only redirect.
    Noop,
    /// `api@internal`: the admin API and the dashboard (`observe::api`).
    Api,
    /// `dashboard@internal`: the dashboard (and the API it reads).
    Dashboard,
    /// `prometheus@internal`: the Prometheus exposition.
    Prometheus,
}

impl InternalService {
    pub fn by_name(name: &str) -> Option<InternalService> {
        match name {
            "demo@internal" => Some(InternalService::Demo),
            "ping@internal" => Some(InternalService::Ping),
            "noop@internal" => Some(InternalService::Noop),
            "api@internal" => Some(InternalService::Api),
            "dashboard@internal" => Some(InternalService::Dashboard),
            "prometheus@internal" => Some(InternalService::Prometheus),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            InternalService::Demo => "demo@internal",
            InternalService::Ping => "ping@internal",
            InternalService::Noop => "noop@internal",
            InternalService::Api => "api@internal",
            InternalService::Dashboard => "dashboard@internal",
            InternalService::Prometheus => "prometheus@internal",
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
mod tests;
