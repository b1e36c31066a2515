//! The compiled UDP routing: which router (and service tree) takes the datagrams of each UDP
//! entrypoint. Built by [`compile`] on every reload (pure: no I/O, no clock) and swapped whole;
//! a session keeps the route it opened with.
//!
//! Traefik serves one UDP router per entrypoint (it picks one at random when several claim it);
//! swarmgate takes the first by name and reports the others. A router that cannot be served (its
//! service is missing, invalid, or loops) still holds its entrypoints closed: their datagrams are
//! dropped, so they never reach another router.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::udp::UdpServiceConfig;
use crate::config::{ConfigIssue, DynamicConfig, Element};

/// Routes by UDP entrypoint name.
#[derive(Debug, Default)]
pub struct UdpTable {
    pub routes: BTreeMap<String, Arc<UdpRoute>>,
    /// Every service that compiled, by name (their round-robin cursors carry over to the next
    /// table, so frequent reloads do not send every new session to the first server).
    pub services: BTreeMap<String, Arc<UdpService>>,
}

impl UdpTable {
    /// The route of a UDP entrypoint; `None` when no router claims it.
    pub fn route(&self, entrypoint: &str) -> Option<&Arc<UdpRoute>> {
        self.routes.get(entrypoint)
    }
}

/// One router on one entrypoint.
#[derive(Debug)]
pub struct UdpRoute {
    pub router: String,
    pub service: String,
    pub target: Target,
}

#[derive(Debug)]
pub enum Target {
    /// Held closed, with the reason: datagrams are dropped.
    Closed(String),
    Service(Arc<UdpService>),
}

impl UdpRoute {
    /// The server address a new session goes to (round robin over the tree, weights honoured);
    /// `None` when closed or when the service has no server.
    pub fn pick(&self) -> Option<&str> {
        match &self.target {
            Target::Closed(_) => None,
            Target::Service(s) => s.pick(),
        }
    }
}

/// A compiled UDP service.
#[derive(Debug)]
pub enum UdpService {
    /// `loadBalancer`: plain round robin per new session.
    Servers {
        addresses: Box<[String]>,
        cursor: AtomicUsize,
    },
    /// `weighted`: children in the interleaved order of their weights.
    Weighted {
        children: Box<[Arc<UdpService>]>,
        schedule: Box<[u16]>,
        cursor: AtomicUsize,
    },
}

impl UdpService {
    fn cursor(&self) -> &AtomicUsize {
        match self {
            UdpService::Servers { cursor, .. } | UdpService::Weighted { cursor, .. } => cursor,
        }
    }

    pub fn pick(&self) -> Option<&str> {
        match self {
            UdpService::Servers { addresses, cursor } => {
                if addresses.is_empty() {
                    return None;
                }
                let i = cursor.fetch_add(1, Ordering::Relaxed) % addresses.len();
                addresses.get(i).map(String::as_str)
            }
            UdpService::Weighted {
                children,
                schedule,
                cursor,
            } => {
                // A child without a server is skipped (at most one turn of the schedule).
                for _ in 0..schedule.len() {
                    let i = cursor.fetch_add(1, Ordering::Relaxed) % schedule.len();
                    let child = schedule.get(i).and_then(|c| children.get(usize::from(*c)));
                    if let Some(address) = child.and_then(|c| c.pick()) {
                        return Some(address);
                    }
                }
                None
            }
        }
    }
}

/// The longest weighted schedule: larger weights are scaled down to fit (ratios kept).
const MAX_SCHEDULE: u64 = 4096;

/// Smooth weighted round robin (nginx's): each child appears `weight` times (GCD-reduced),
/// interleaved. Zero weights are left out.
fn schedule(weights: &[u64]) -> Box<[u16]> {
    let gcd =
        weights
            .iter()
            .copied()
            .filter(|w| *w > 0)
            .fold(0, |a, b| if a == 0 { b } else { gcd(a, b) });
    if gcd == 0 {
        return Box::new([]);
    }
    let mut reduced: Vec<u64> = weights.iter().map(|w| w / gcd).collect();
    let total: u64 = reduced.iter().sum();
    if total > MAX_SCHEDULE {
        for w in &mut reduced {
            if *w > 0 {
                *w = (*w * MAX_SCHEDULE / total).max(1);
            }
        }
    }
    let total: i64 = reduced.iter().map(|w| *w as i64).sum();
    let mut current = vec![0i64; reduced.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(&reduced) {
            *c += *w as i64;
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .filter(|(i, _)| reduced[*i] > 0)
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
        else {
            break;
        };
        current[best] -= total;
        out.push(best as u16);
    }
    out.into_boxed_slice()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Compiles the merged `udp:` section for the UDP entrypoints (`udp_entrypoints`, by name) among
/// all entrypoints (`all_entrypoints`, to tell "not UDP" from "unknown"); `previous` is the table
/// it replaces (its cursors are carried over).
pub fn compile(
    cfg: &DynamicConfig,
    udp_entrypoints: &[String],
    all_entrypoints: &[String],
    previous: &UdpTable,
) -> (UdpTable, Vec<ConfigIssue>) {
    let mut issues = Vec::new();
    let cx = Cx { cfg, previous };
    let mut routes: BTreeMap<String, Arc<UdpRoute>> = BTreeMap::new();
    let mut built: BTreeMap<String, Result<Arc<UdpService>, String>> = BTreeMap::new();
    let udp = &cfg.udp;
    let held = udp
        .invalid
        .routers
        .iter()
        .map(|(n, (r, why))| (n, r, Some(why)));
    let good = udp.routers.iter().map(|(n, r)| (n, r, None));
    let mut routers: Vec<_> = good.chain(held).collect();
    routers.sort_by(|a, b| a.0.cmp(b.0));
    for (name, router, unreadable) in routers {
        let issue = |message: String| ConfigIssue::new(Element::UdpRouter, name.as_str(), message);
        let wanted: Vec<String> = if router.entry_points.is_empty() {
            udp_entrypoints.to_vec()
        } else {
            router.entry_points.clone()
        };
        let target = match unreadable {
            Some(why) => Target::Closed(format!("the router {why}")),
            None => match service(&cx, &router.service, &mut built, &mut BTreeSet::new()) {
                Ok(service) => Target::Service(service),
                Err(why) => {
                    let message = format!("closed (its datagrams are dropped): {why}");
                    issues.push(issue(message).with_key("service"));
                    Target::Closed(why)
                }
            },
        };
        let route = Arc::new(UdpRoute {
            router: name.clone(),
            service: router.service.clone(),
            target,
        });
        for ep in wanted {
            if !udp_entrypoints.contains(&ep) {
                let message = if all_entrypoints.contains(&ep) {
                    format!(
                        "entrypoint {ep:?} is not a UDP entrypoint (its address does not end in \
                         /udp); UDP entrypoints: {}",
                        list(udp_entrypoints)
                    )
                } else {
                    let names: Vec<&str> = udp_entrypoints.iter().map(String::as_str).collect();
                    let hint = crate::config::elements::nearest(&ep, &names)
                        .map(|n| format!(" (did you mean {n:?}?)"))
                        .unwrap_or_default();
                    format!(
                        "entrypoint {ep:?} does not exist{hint}; UDP entrypoints: {}",
                        list(udp_entrypoints)
                    )
                };
                issues.push(issue(message).with_key("entryPoints"));
                continue;
            }
            match routes.get(&ep) {
                Some(first) => issues.push(
                    issue(format!(
                        "entrypoint {ep:?} already has UDP router {:?} (one UDP router per \
                         entrypoint, the first by name): not served there",
                        first.router
                    ))
                    .with_key("entryPoints"),
                ),
                None => {
                    routes.insert(ep, Arc::clone(&route));
                }
            }
        }
    }
    let services = built
        .into_iter()
        .filter_map(|(name, s)| s.ok().map(|s| (name, s)))
        .collect();
    (UdpTable { routes, services }, issues)
}

struct Cx<'a> {
    cfg: &'a DynamicConfig,
    previous: &'a UdpTable,
}

impl Cx<'_> {
    /// The cursor `name` had in the previous table (0 for a new service).
    fn cursor(&self, name: &str) -> AtomicUsize {
        let at = self.previous.services.get(name);
        AtomicUsize::new(at.map_or(0, |s| s.cursor().load(Ordering::Relaxed)))
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Builds (once) the service `name`; `Err` is why its routers are closed.
fn service(
    cx: &Cx<'_>,
    name: &str,
    built: &mut BTreeMap<String, Result<Arc<UdpService>, String>>,
    visiting: &mut BTreeSet<String>,
) -> Result<Arc<UdpService>, String> {
    if let Some(done) = built.get(name) {
        return done.clone();
    }
    if !visiting.insert(name.to_string()) {
        return Err(format!("UDP service {name:?} refers to itself"));
    }
    let result = build(cx, name, built, visiting);
    visiting.remove(name);
    built.insert(name.to_string(), result.clone());
    result
}

fn build(
    cx: &Cx<'_>,
    name: &str,
    built: &mut BTreeMap<String, Result<Arc<UdpService>, String>>,
    visiting: &mut BTreeSet<String>,
) -> Result<Arc<UdpService>, String> {
    let cfg = cx.cfg;
    if let Some(why) = cfg.udp.invalid.services.get(name) {
        return Err(format!("its UDP service {name:?} {why}"));
    }
    let Some(config) = cfg.udp.services.get(name) else {
        let names: Vec<&str> = cfg.udp.services.keys().map(String::as_str).collect();
        let hint = crate::config::elements::nearest(name, &names)
            .map(|n| format!(" (did you mean {n:?}?)"))
            .unwrap_or_default();
        return Err(format!("the UDP service {name:?} does not exist{hint}"));
    };
    config
        .validate()
        .map_err(|e| format!("its UDP service {name:?}: {e}"))?;
    match config {
        UdpServiceConfig {
            load_balancer: Some(lb),
            ..
        } => Ok(Arc::new(UdpService::Servers {
            addresses: lb.servers.iter().map(|s| s.address.clone()).collect(),
            cursor: cx.cursor(name),
        })),
        UdpServiceConfig {
            weighted: Some(w), ..
        } => {
            let mut children = Vec::with_capacity(w.services.len());
            let mut weights = Vec::with_capacity(w.services.len());
            for child in &w.services {
                children.push(service(cx, &child.name, built, visiting)?);
                weights.push(child.weight.unwrap_or(1).max(0) as u64);
            }
            if children.len() > usize::from(u16::MAX) {
                return Err(format!("UDP service {name:?} has too many children"));
            }
            Ok(Arc::new(UdpService::Weighted {
                schedule: schedule(&weights),
                children: children.into_boxed_slice(),
                cursor: cx.cursor(name),
            }))
        }
        _ => Err(format!("its UDP service {name:?} has no kind")),
    }
}

#[cfg(test)]
mod tests;
