//! The compiled service kinds a route answers with: `loadBalancer` (a balancer and one pool per
//! server), `weighted`, `failover`, `mirroring`, the internal services and the closed service of
//! a router that could not be built. Built by `table::compile`; `Service::walk` follows
//! `weighted`/`failover`/`mirroring` down to the service that answers. Immutable once built,
//! except for atomics (mirror counters, balancer cursors).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{failover_errors, hrw_service, Balancer};
use crate::upstream::UpstreamPool;

/// One compiled service.
#[derive(Debug)]
pub enum Service {
    LoadBalancer(LoadBalancedService),
    Weighted(WeightedService),
    Failover(FailoverService),
    Mirroring(MirroringService),
    /// Traefik 3.7's `highestRandomWeight` kind (see `hrw_service`).
    Hrw(hrw_service::HrwService),
    Internal(InternalService),
    /// The service of a closed route, by the name its router gave: answers 503.
    Closed(String),
}

impl Service {
    pub fn name(&self) -> &str {
        match self {
            Service::LoadBalancer(lb) => &lb.name,
            Service::Weighted(w) => &w.name,
            Service::Failover(f) => &f.name,
            Service::Hrw(h) => &h.name,
            Service::Mirroring(m) => &m.name,
            Service::Internal(internal) => internal.name(),
            Service::Closed(name) => name,
        }
    }

    /// Follows `weighted`, `failover` and `mirroring` services down to the one that answers (a
    /// load balancer or an internal service). `None` when nothing can answer (a weighted service
    /// with nothing to pick, a failover whose main and fallback are both down).
    pub fn resolve(self: &Arc<Self>, now: Instant) -> Option<&Service> {
        self.walk(now, None, &mut Walk::default())
    }

    /// `resolve` for a request: a sticky `weighted` service honours its cookie in `headers`
    /// (the request's) and leaves the `Set-Cookie` to send in `walk.cookies`; the `mirroring` services met on the
    /// way (outermost first), whose mirrors get a copy of the request, are left in
    /// `walk.mirrors`. Nothing allocates unless a mirroring service or a new cookie is met.
    pub fn walk<'s>(
        &'s self,
        now: Instant,
        headers: Option<&http::HeaderMap>,
        walk: &mut Walk<'s>,
    ) -> Option<&'s Service> {
        let mut service: &Service = self;
        // compile() rejects cycles; the bound is a second guard.
        for _ in 0..16 {
            match service {
                Service::Weighted(w) => service = w.pick(now, headers, &mut walk.cookies)?,
                Service::Hrw(h) => service = h.pick(walk.client)?,
                Service::Failover(f) => {
                    service = if f.main.is_up() {
                        // `errors`: the answer decides; the outermost such failover is kept.
                        if walk.failover.is_none()
                            && f.errors.as_ref().is_some_and(|e| !e.status.is_empty())
                        {
                            walk.failover = Some(f);
                        }
                        &f.main
                    } else if f.fallback.is_up() {
                        &f.fallback
                    } else {
                        return None;
                    }
                }
                Service::Mirroring(m) => {
                    walk.mirrors.push(m);
                    service = &m.main;
                }
                Service::LoadBalancer(_) | Service::Internal(_) | Service::Closed(_) => {
                    return Some(service)
                }
            }
        }
        None
    }

    /// Whether the service can answer, as Traefik's health propagation sees it: a load balancer
    /// with a server in rotation that no active health check marked down; a weighted service
    /// with a child up (any child without `healthCheck`); a failover with its main or fallback
    /// up; a mirroring service as its main one.
    pub fn is_up(&self) -> bool {
        self.is_up_within(16)
    }

    fn is_up_within(&self, depth: u8) -> bool {
        let Some(depth) = depth.checked_sub(1) else {
            return false;
        };
        match self {
            Service::LoadBalancer(lb) => lb.balancer.has_active_up(),
            Service::Weighted(w) => w
                .children
                .iter()
                .zip(w.balancer.endpoints())
                .any(|(child, slot)| slot.weight > 0 && child.is_up_within(depth)),
            Service::Failover(f) => f.main.is_up_within(depth) || f.fallback.is_up_within(depth),
            Service::Hrw(h) => h.children.iter().any(|c| c.is_up_within(depth)),
            Service::Mirroring(m) => m.main.is_up_within(depth),
            Service::Internal(_) => true,
            Service::Closed(_) => false,
        }
    }
}

/// A `weighted` service: splits traffic across other services by weight.
#[derive(Debug)]
pub struct WeightedService {
    pub name: String,
    /// Schedule over the children (each slot always available).
    pub balancer: Balancer,
    pub children: Box<[Arc<Service>]>,
    /// `weighted.healthCheck`: children that are down are skipped.
    pub health_check: bool,
}

impl WeightedService {
    /// The next child by weight (or the one its sticky cookie names); with `healthCheck`,
    /// children that are down are skipped (at most 64 of them are tracked; a larger service skips
    /// only the first 64 it finds down).
    fn pick(
        &self,
        now: Instant,
        headers: Option<&http::HeaderMap>,
        cookies: &mut Vec<http::HeaderValue>,
    ) -> Option<&Service> {
        let mut down = [usize::MAX; 64];
        let mut count = 0;
        if self.health_check {
            for (i, child) in self.children.iter().enumerate() {
                if count < down.len() && !child.is_up() {
                    down[count] = i;
                    count += 1;
                }
            }
        }
        let cookie = match (self.balancer.sticky(), headers) {
            (Some(sticky), Some(headers)) => sticky.value_in(headers),
            _ => None,
        };
        let (picked, set_cookie) = self.balancer.pick_sticky(now, cookie, &down[..count])?;
        if set_cookie {
            if let Some(value) = self.balancer.set_cookie(picked) {
                cookies.push(value.clone());
            }
        }
        self.children.get(picked).map(|c| &**c)
    }
}

/// What resolving a service for one request reads and leaves (see [`Service::walk`]).
#[derive(Debug, Default)]
pub struct Walk<'s> {
    /// `mirroring` services met, outermost first.
    pub mirrors: Vec<&'s MirroringService>,
    /// `Set-Cookie` values of sticky weighted services that picked anew.
    pub cookies: Vec<http::HeaderValue>,
    /// The outermost `failover` with `errors` whose main service was taken: an answer with one
    /// of its status codes is dropped and the request sent to its fallback.
    pub failover: Option<&'s FailoverService>,
    /// The client's IP (what `highestRandomWeight` services hash); set before the walk.
    pub client: Option<std::net::IpAddr>,
}

/// A `failover` service: its main service while that is up, else the fallback.
#[derive(Debug)]
pub struct FailoverService {
    pub name: String,
    pub main: Arc<Service>,
    pub fallback: Arc<Service>,
    /// `errors`: fall back on the main service's answer too.
    pub errors: Option<failover_errors::FailoverErrors>,
}

/// A `mirroring` service: `main` answers; each mirror gets a copy of its share of the requests.
#[derive(Debug)]
pub struct MirroringService {
    pub name: String,
    pub main: Arc<Service>,
    pub mirrors: Box<[Mirror]>,
    /// Requests seen, for the percentages (Traefik's counter).
    pub total: AtomicU64,
    /// Copy the request body to the mirrors (Traefik's default: true).
    pub mirror_body: bool,
    /// Largest body copied; a larger request is not mirrored. `None`: no limit.
    pub max_body_size: Option<u64>,
}

/// One mirror of a [`MirroringService`].
#[derive(Debug)]
pub struct Mirror {
    pub service: Arc<Service>,
    /// 0..=100.
    pub percent: u64,
    /// Requests copied to this mirror so far.
    pub count: AtomicU64,
}

impl MirroringService {
    /// Counts one request and tells which mirrors get it, as Traefik does: mirror `i` gets the
    /// request while it has had fewer than `percent` % of all requests so far. Lock-free; a
    /// race between two requests may let a mirror have one copy more or less.
    pub fn active(&self, mut each: impl FnMut(&Mirror)) {
        let total = self.total.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        for mirror in self.mirrors.iter() {
            let count = mirror.count.load(Ordering::Relaxed);
            if count.saturating_mul(100) < total.saturating_mul(mirror.percent) {
                mirror.count.fetch_add(1, Ordering::Relaxed);
                each(mirror);
            }
        }
    }
}

/// A `loadBalancer` service: a balancer and, at the same indices, each server's connection pool.
#[derive(Debug)]
pub struct LoadBalancedService {
    pub name: String,
    pub balancer: Balancer,
    pub pools: Box<[Arc<UpstreamPool>]>,
    pub pass_host_header: bool,
    /// `passiveHealthCheck`: live answers take failing servers out of rotation.
    pub passive: Option<crate::balance::passive::PassiveHealthCheck>,
    /// Has an active `healthCheck` (Traefik writes `traefik_service_server_up` only for these).
    pub health_checked: bool,
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
    /// `api@internal`: the admin API and the dashboard (`admin::api`).
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
