//! Merging the label configs of all Swarm services into one provider config, as Traefik's
//! `provider.Merge`: an element defined identically by several services is kept once (a service's
//! servers are united), an element defined differently is dropped and reported. Pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{ConfigIssue, DynamicConfig, Element};

use super::{service_config, LabelOptions, SwarmService};

/// Translates and merges every service (in name order). Issues of each service come first, then one
/// issue per conflicting element, naming the Swarm services that define it.
pub fn build_config(
    services: &[SwarmService],
    opts: &LabelOptions,
) -> (DynamicConfig, Vec<ConfigIssue>) {
    let mut ordered: Vec<&SwarmService> = services.iter().collect();
    ordered.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = DynamicConfig::default();
    let mut issues = Vec::new();
    // element → name → swarm services defining it
    let mut origins: BTreeMap<(Element, String), Vec<String>> = BTreeMap::new();
    let mut conflicts: BTreeSet<(Element, String)> = BTreeSet::new();
    let mut tcp = super::tcp::Merge::default();
    for svc in ordered {
        let (mut cfg, mut found) = service_config(svc, opts);
        issues.append(&mut found);
        tcp.add(std::mem::take(&mut cfg.tcp), &svc.name);
        // Routers held closed (their middleware or service is invalid): kept by name.
        for (name, held) in cfg.invalid.routers {
            out.invalid.routers.entry(name).or_insert(held);
        }
        for (name, router) in cfg.http.routers {
            origins
                .entry((Element::Router, name.clone()))
                .or_default()
                .push(svc.name.clone());
            match out.http.routers.get(&name) {
                Some(existing) if *existing != router => {
                    conflicts.insert((Element::Router, name));
                }
                Some(_) => {}
                None => {
                    out.http.routers.insert(name, router);
                }
            }
        }
        for (name, mw) in cfg.http.middlewares {
            origins
                .entry((Element::Middleware, name.clone()))
                .or_default()
                .push(svc.name.clone());
            match out.http.middlewares.get(&name) {
                Some(existing) if *existing != mw => {
                    conflicts.insert((Element::Middleware, name));
                }
                Some(_) => {}
                None => {
                    out.http.middlewares.insert(name, mw);
                }
            }
        }
        for (name, service) in cfg.http.services {
            origins
                .entry((Element::Service, name.clone()))
                .or_default()
                .push(svc.name.clone());
            let Some(existing) = out.http.services.get_mut(&name) else {
                out.http.services.insert(name, service);
                continue;
            };
            if !same_but_servers(existing, &service) {
                conflicts.insert((Element::Service, name));
                continue;
            }
            if let (Some(have), Some(new)) =
                (existing.load_balancer.as_mut(), service.load_balancer)
            {
                for server in new.servers {
                    if !have.servers.iter().any(|s| s.url == server.url) {
                        have.servers.push(server);
                    }
                }
            }
        }
        merge_udp(&mut out, cfg.udp, &svc.name, &mut origins, &mut conflicts);
    }
    for (element, name) in conflicts {
        let from = origins
            .get(&(element, name.clone()))
            .cloned()
            .unwrap_or_default();
        match element {
            Element::Router => out.http.routers.remove(&name).map(|_| ()),
            Element::Middleware => out.http.middlewares.remove(&name).map(|_| ()),
            Element::UdpRouter => out.udp.routers.remove(&name).map(|_| ()),
            Element::UdpService => out.udp.services.remove(&name).map(|_| ()),
            _ => out.http.services.remove(&name).map(|_| ()),
        };
        let msg = format!(
            "{element} defined multiple times with different configurations in {}; dropped",
            from.join(", ")
        );
        issues.push(ConfigIssue::new(element, name, msg).with_origin(from.join(",")));
    }
    tcp.finish(&mut out.tcp, &mut issues);
    (out, issues)
}

type Origins = BTreeMap<(Element, String), Vec<String>>;

/// One Swarm service's `udp:` into the provider's: identical routers kept once, services with the
/// same shape get their servers united (one task each), anything else is a conflict.
fn merge_udp(
    out: &mut DynamicConfig,
    udp: crate::config::udp::UdpConfig,
    origin: &str,
    origins: &mut Origins,
    conflicts: &mut BTreeSet<(Element, String)>,
) {
    for (name, held) in udp.invalid.routers {
        out.udp.invalid.routers.entry(name).or_insert(held);
    }
    for (name, reason) in udp.invalid.services {
        out.udp.invalid.services.entry(name).or_insert(reason);
    }
    for (name, router) in udp.routers {
        let key = (Element::UdpRouter, name.clone());
        origins
            .entry(key.clone())
            .or_default()
            .push(origin.to_string());
        match out.udp.routers.get(&name) {
            Some(existing) if *existing != router => {
                conflicts.insert(key);
            }
            Some(_) => {}
            None => {
                out.udp.routers.insert(name, router);
            }
        }
    }
    for (name, service) in udp.services {
        let key = (Element::UdpService, name.clone());
        origins
            .entry(key.clone())
            .or_default()
            .push(origin.to_string());
        let Some(existing) = out.udp.services.get_mut(&name) else {
            out.udp.services.insert(name, service);
            continue;
        };
        match (existing.load_balancer.as_mut(), service.load_balancer) {
            (Some(have), Some(new)) if existing.weighted.is_none() => {
                for server in new.servers {
                    if !have.servers.contains(&server) {
                        have.servers.push(server);
                    }
                }
            }
            _ => {
                conflicts.insert(key);
            }
        }
    }
}

fn same_but_servers(
    a: &crate::config::dynamic::ServiceConfig,
    b: &crate::config::dynamic::ServiceConfig,
) -> bool {
    let strip = |s: &crate::config::dynamic::ServiceConfig| {
        let mut s = s.clone();
        if let Some(lb) = s.load_balancer.as_mut() {
            lb.servers.clear();
        }
        s
    };
    strip(a) == strip(b)
}
