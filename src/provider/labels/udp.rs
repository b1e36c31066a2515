//! `traefik.udp.*` labels → `udp:` routers and services, as Traefik's Swarm provider reads them:
//! `udp.routers.<r>.entrypoints` (comma list), `udp.routers.<r>.service`,
//! `udp.services.<s>.loadbalancer.server.port`; one server per running task (`task IP:port`), or
//! the service's virtual IP with `lbswarm`. Without services one is made, named after the Swarm
//! service; a router without `service` takes the only one. A `weighted` service cannot be written
//! in labels (Traefik's `label:"-"`): the file provider has it. A bad key disables its router or
//! service (routers using a bad service are held closed by the compiler), with the nearest valid
//! key named. Pure.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::config::udp::{
    UdpConfig, UdpLoadBalancerConfig, UdpRouterConfig, UdpServerConfig, UdpServiceConfig,
};
use crate::config::Element;

use super::build::Builder;
use super::de::nearest;
use super::tree::Node;

const SECTIONS: &[&str] = &["routers", "services"];
const ROUTER_KEYS: &[&str] = &["entrypoints", "service"];

impl Builder<'_> {
    /// The `udp:` section of one Swarm service's labels (`node` is `traefik.udp`).
    pub(super) fn udp(&mut self, node: &Node, default_name: &str) -> UdpConfig {
        let mut out = UdpConfig::default();
        let origin = self.svc.name.clone();
        for key in node.children.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                let message = match nearest(key, SECTIONS) {
                    Some(s) => format!("unknown label, ignored; did you mean `traefik.udp.{s}`?"),
                    None => "unknown label, ignored (UDP has routers and services)".to_string(),
                };
                self.issue(Element::Source, &origin, &format!("udp.{key}"), message);
            }
        }
        let empty = Node::default();
        let declared = node.child("services").unwrap_or(&empty).children.clone();
        let services: BTreeMap<String, Node> = if declared.is_empty() {
            BTreeMap::from([(default_name.to_string(), Node::default())])
        } else {
            declared
        };
        for (name, snode) in &services {
            match self.udp_service(name, snode) {
                Some(service) => {
                    out.services.insert(name.clone(), service);
                }
                None => {
                    out.invalid
                        .services
                        .insert(name.clone(), "has invalid labels".to_string());
                }
            }
        }
        let routers = node.child("routers").unwrap_or(&empty);
        for (name, rnode) in &routers.children {
            let key = format!("udp.routers.{name}");
            let mut router = UdpRouterConfig::default();
            let mut bad = None;
            for (k, v) in &rnode.children {
                match (k.to_ascii_lowercase().as_str(), v.leaf()) {
                    ("entrypoints", Some(list)) => {
                        router.entry_points = list
                            .split(',')
                            .map(str::trim)
                            .filter(|e| !e.is_empty())
                            .map(str::to_string)
                            .collect();
                    }
                    ("service", Some(s)) => router.service = s.trim().to_string(),
                    _ => {
                        let hint = nearest(k, ROUTER_KEYS)
                            .map(|s| format!(" (did you mean `traefik.{key}.{s}`?)"))
                            .unwrap_or_else(|| " (expected entrypoints or service)".to_string());
                        bad = Some((format!("{key}.{k}"), format!("unknown label{hint}")));
                    }
                }
            }
            if let Some((at, message)) = bad {
                // Held closed whatever its service: its entrypoints never fall to another router.
                let message = format!("{message}; router closed (its datagrams are dropped)");
                self.issue(Element::UdpRouter, name, &at, message);
                out.invalid
                    .routers
                    .insert(name.clone(), (router, "has invalid labels".to_string()));
                continue;
            }
            if router.service.is_empty() {
                if services.len() == 1 {
                    router.service = services.keys().next().cloned().unwrap_or_default();
                } else {
                    let message = "could not define the service of the router: too many services";
                    self.issue(Element::UdpRouter, name, &key, message.into());
                    continue;
                }
            }
            out.routers.insert(name.clone(), router);
        }
        out
    }

    /// One service: `loadbalancer.server.port` (else the lowest published port) on every task.
    fn udp_service(&mut self, name: &str, node: &Node) -> Option<UdpServiceConfig> {
        let key = |path: &str| format!("udp.services.{name}.{path}");
        let mut port_label = None;
        for (k, v) in &node.children {
            match k.to_ascii_lowercase().as_str() {
                "loadbalancer" => {
                    for (lk, lv) in &v.children {
                        if !lk.eq_ignore_ascii_case("server") {
                            let message = format!(
                                "unknown label{}; service disabled",
                                hint(lk, &["server"], &key("loadbalancer"))
                            );
                            self.issue(
                                Element::UdpService,
                                name,
                                &key(&format!("loadbalancer.{lk}")),
                                message,
                            );
                            return None;
                        }
                        for (sk, sv) in &lv.children {
                            if !sk.eq_ignore_ascii_case("port") {
                                let at = key(&format!("loadbalancer.server.{sk}"));
                                let message = format!(
                                    "unknown label{}; service disabled",
                                    hint(sk, &["port"], &key("loadbalancer.server"))
                                );
                                self.issue(Element::UdpService, name, &at, message);
                                return None;
                            }
                            port_label = sv.leaf().map(|p| p.trim().to_string());
                        }
                    }
                }
                "weighted" => {
                    let message = "a weighted UDP service cannot be defined by labels (as in \
                                   Traefik); use the file provider; service disabled";
                    self.issue(Element::UdpService, name, &key(k), message.into());
                    return None;
                }
                _ => {
                    let message = format!(
                        "unknown label{}; service disabled",
                        hint(k, &["loadbalancer"], &format!("udp.services.{name}"))
                    );
                    self.issue(Element::UdpService, name, &key(k), message);
                    return None;
                }
            }
        }
        let port = self.server_port(
            Element::UdpService,
            name,
            port_label.as_deref(),
            &key("loadbalancer.server.port"),
            "; service disabled",
        )?;
        let address = |ip: IpAddr| SocketAddr::new(ip, port).to_string();
        let servers: Vec<UdpServerConfig> = if self.settings.lb_swarm {
            let Some(vip) = self.svc.vip else {
                let message = "lbswarm is set but the service has no virtual IP on the selected \
                               network; service disabled";
                self.issue(Element::UdpService, name, "swarm.lbswarm", message.into());
                return None;
            };
            vec![UdpServerConfig {
                address: address(vip),
            }]
        } else {
            // A draining task takes no new session (UDP has no in-flight request to finish).
            let mut ips: Vec<IpAddr> = self
                .svc
                .tasks
                .iter()
                .filter(|t| !t.draining)
                .map(|t| t.ip)
                .collect();
            ips.sort();
            ips.dedup();
            ips.into_iter()
                .map(|ip| UdpServerConfig {
                    address: address(ip),
                })
                .collect()
        };
        Some(UdpServiceConfig {
            load_balancer: Some(UdpLoadBalancerConfig { servers }),
            weighted: None,
        })
    }
}

fn hint(word: &str, candidates: &[&'static str], prefix: &str) -> String {
    match nearest(word, candidates) {
        Some(s) => format!(" (did you mean `traefik.{prefix}.{s}`?)"),
        None => format!(" (expected {})", candidates.join(" or ")),
    }
}
