//! `traefik.tcp.*` labels → `DynamicConfig::tcp`, as Traefik's Swarm provider reads them:
//! routers exist only when declared (no default rule: a TCP router without `rule` is refused);
//! a label set with TCP routers but no TCP service gets one named after the Swarm service; a
//! router without `service` gets the set's only TCP service; each load balancer without explicit
//! servers gets one server per running task (`ip:port`, port from
//! `loadbalancer.server.port`, else the lowest published port). `weighted` services and
//! serversTransports cannot be written as labels (as in Traefik). A bad router, service or
//! middleware disables only itself (and the routers using it). Pure.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use crate::config::tcp::{
    self, TcpElement, TcpMiddlewareConfig, TcpRouterConfig, TcpServerConfig, TcpServiceConfig,
};
use crate::config::{DynamicConfig, Element};

use super::build::Builder;
use super::de::{self, from_node};
use super::normalize;
use super::tree::{join_key, parse_bool, Node};

/// `loadbalancer.server.*` of a TCP service.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServerLabels {
    #[serde(default)]
    port: Option<String>,
    #[serde(default)]
    tls: Option<bool>,
    #[serde(default)]
    weight: Option<u32>,
}

const SECTIONS: [&str; 3] = ["routers", "services", "middlewares"];

/// Reads `tcp` below the label root into `out.tcp`; returns whether the set has TCP routers or
/// services (then, as in Traefik, no HTTP router or service is made up for it unless it has
/// HTTP labels of its own).
pub(super) fn read(b: &mut Builder<'_>, root: &Node, out: &mut DynamicConfig) -> bool {
    let Some(section) = root.child("tcp") else {
        return false;
    };
    for key in section.children.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            let message = match de::nearest(key, &SECTIONS) {
                Some(s) => format!("unknown label, ignored; did you mean `traefik.tcp.{s}`?"),
                None => "unknown label, ignored (TCP labels are routers, services, middlewares)"
                    .to_string(),
            };
            b.issue(
                Element::Source,
                &b.svc.name.clone(),
                &format!("tcp.{key}"),
                message,
            );
        }
    }
    let empty = Node::default();
    let routers = section.child("routers").unwrap_or(&empty);
    let declared = section.child("services").unwrap_or(&empty);
    let has_tcp = !routers.children.is_empty() || !declared.children.is_empty();

    for (name, node) in &section.child("middlewares").unwrap_or(&empty).children {
        let key = |path: String| format!("tcp.middlewares.{}", join_key(&[name.clone(), path]));
        match from_node::<TcpMiddlewareConfig>(node) {
            Ok(m) => match tcp::check_middleware(&m) {
                Ok(()) => {
                    out.tcp.middlewares.insert(name.clone(), m);
                }
                Err(message) => {
                    b.issue(Element::Middleware, name, &key(String::new()), message);
                    invalid(out, TcpElement::Middleware, name);
                }
            },
            Err(e) => {
                b.issue(Element::Middleware, name, &key(e.path()), e.message);
                invalid(out, TcpElement::Middleware, name);
            }
        }
    }

    let services: BTreeMap<String, Node> = if declared.children.is_empty() && has_tcp {
        BTreeMap::from([(normalize(&b.svc.name), Node::default())])
    } else {
        declared.children.clone()
    };
    for (name, node) in &services {
        match service(b, name, node) {
            Some(s) => {
                out.tcp.services.insert(name.clone(), s);
            }
            None => invalid(out, TcpElement::Service, name),
        }
    }

    for (name, node) in &routers.children {
        let key = |path: &str| format!("tcp.routers.{}", join_key(&[name.clone(), path.into()]));
        let mut node = node.clone();
        if let Some(tls) = node.child("tls") {
            if tls.leaf().and_then(parse_bool) == Some(false) {
                node.take_child("tls");
            }
        }
        for field in ["rule", "service"] {
            if !node.has_child(field) {
                node.children.insert(field.to_string(), Node::default());
            }
        }
        let mut router: TcpRouterConfig = match from_node(&node) {
            Ok(r) => r,
            Err(e) => {
                b.issue(Element::Router, name, &key(&e.path()), e.message);
                continue;
            }
        };
        if router.rule.trim().is_empty() {
            b.issue(Element::Router, name, &key("rule"), "empty rule".into());
            continue;
        }
        if router.service.trim().is_empty() {
            let mut names = services.keys();
            match (names.next(), names.next()) {
                (Some(only), None) => router.service = only.clone(),
                _ => {
                    let msg = "could not define the service name for the router: too many services";
                    b.issue(Element::Router, name, &key("service"), msg.into());
                    continue;
                }
            }
        }
        if let Err(message) = tcp::check_router(&router) {
            b.issue(Element::Router, name, &key("rule"), message);
            continue;
        }
        out.tcp.routers.insert(name.clone(), router);
    }
    has_tcp
}

fn invalid(out: &mut DynamicConfig, kind: TcpElement, name: &str) {
    out.tcp
        .invalid
        .insert((kind, name.to_string()), "is invalid".to_string());
}

/// One TCP service; `None` after reporting why it cannot be built.
fn service(b: &mut Builder<'_>, name: &str, node: &Node) -> Option<TcpServiceConfig> {
    let key = |path: &str| {
        format!(
            "tcp.services.{}",
            join_key(&[name.to_string(), path.into()])
        )
    };
    let mut node = node.clone();
    if node.child("weighted").is_some() {
        let msg = "a weighted TCP service cannot be defined by labels (as in Traefik); use the \
                   file provider";
        b.issue(Element::Service, name, &key("weighted"), msg.into());
        return None;
    }
    let server_node = match node
        .children
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case("loadbalancer"))
    {
        Some((_, lb)) => {
            let server = lb.take_child("server").unwrap_or_default();
            if lb.children.is_empty() {
                lb.value = Some("true".into());
            }
            server
        }
        None => {
            node.children.insert(
                "loadBalancer".into(),
                Node {
                    value: Some("true".into()),
                    children: BTreeMap::new(),
                },
            );
            Node::default()
        }
    };
    let mut service: TcpServiceConfig = match from_node(&node) {
        Ok(s) => s,
        Err(e) => {
            b.issue(Element::Service, name, &key(&e.path()), e.message);
            return None;
        }
    };
    let server: ServerLabels = match from_node(&server_node) {
        Ok(s) => s,
        Err(e) => {
            let at = format!("loadbalancer.server.{}", e.path());
            b.issue(Element::Service, name, &key(&at), e.message);
            return None;
        }
    };
    let lb = service.load_balancer.get_or_insert_with(Default::default);
    if lb.servers.is_empty() {
        let port = b.server_port(
            Element::Service,
            name,
            server.port.as_deref(),
            &key("loadbalancer.server.port"),
            "",
        )?;
        let address = |ip: IpAddr| SocketAddr::new(ip, port).to_string();
        let server_of = |ip: IpAddr, draining: bool| TcpServerConfig {
            address: address(ip),
            tls: server.tls.unwrap_or(false),
            weight: server.weight,
            draining,
        };
        lb.servers = if b.settings.lb_swarm {
            let Some(vip) = b.svc.vip else {
                let msg =
                    "lbswarm is set but the service has no virtual IP on the selected network";
                b.issue(Element::Service, name, "swarm.lbswarm", msg.into());
                return None;
            };
            vec![server_of(vip, false)]
        } else {
            let mut tasks = b.svc.tasks.clone();
            tasks.sort();
            tasks.dedup_by_key(|t| t.ip);
            tasks.iter().map(|t| server_of(t.ip, t.draining)).collect()
        };
    }
    if let Err(message) = tcp::check_service(&service) {
        b.issue(Element::Service, name, &key(""), message);
        return None;
    }
    Some(service)
}

/// Merging the TCP elements of every Swarm service, as `merge::build_config` does for HTTP: an
/// element defined identically by several services is kept once (a service's servers united),
/// one defined differently is dropped and reported.
#[derive(Default)]
pub(super) struct Merge {
    out: crate::config::tcp::TcpConfig,
    origins: BTreeMap<(Element, String), Vec<String>>,
    conflicts: std::collections::BTreeSet<(Element, String)>,
}

impl Merge {
    pub(super) fn add(&mut self, cfg: crate::config::tcp::TcpConfig, from: &str) {
        let mut seen = |element: Element, name: &str| {
            self.origins
                .entry((element, name.to_string()))
                .or_default()
                .push(from.to_string());
        };
        for name in cfg.routers.keys() {
            seen(Element::Router, name);
        }
        for name in cfg.services.keys() {
            seen(Element::Service, name);
        }
        for name in cfg.middlewares.keys() {
            seen(Element::Middleware, name);
        }
        for (name, router) in cfg.routers {
            match self.out.routers.get(&name) {
                Some(have) if *have != router => {
                    self.conflicts.insert((Element::Router, name));
                }
                Some(_) => {}
                None => {
                    self.out.routers.insert(name, router);
                }
            }
        }
        for (name, mw) in cfg.middlewares {
            match self.out.middlewares.get(&name) {
                Some(have) if *have != mw => {
                    self.conflicts.insert((Element::Middleware, name));
                }
                Some(_) => {}
                None => {
                    self.out.middlewares.insert(name, mw);
                }
            }
        }
        for (name, service) in cfg.services {
            let Some(have) = self.out.services.get_mut(&name) else {
                self.out.services.insert(name, service);
                continue;
            };
            let strip = |s: &TcpServiceConfig| {
                let mut s = s.clone();
                if let Some(lb) = s.load_balancer.as_mut() {
                    lb.servers.clear();
                }
                s
            };
            if strip(have) != strip(&service) {
                self.conflicts.insert((Element::Service, name));
                continue;
            }
            if let (Some(have), Some(new)) = (have.load_balancer.as_mut(), service.load_balancer) {
                for server in new.servers {
                    if !have.servers.iter().any(|s| s.address == server.address) {
                        have.servers.push(server);
                    }
                }
            }
        }
        self.out.invalid.extend(cfg.invalid);
    }

    pub(super) fn finish(
        mut self,
        out: &mut crate::config::tcp::TcpConfig,
        issues: &mut Vec<crate::config::ConfigIssue>,
    ) {
        for (element, name) in std::mem::take(&mut self.conflicts) {
            let from = self
                .origins
                .get(&(element, name.clone()))
                .cloned()
                .unwrap_or_default();
            let kind = match element {
                Element::Router => {
                    self.out.routers.remove(&name);
                    TcpElement::Router
                }
                Element::Middleware => {
                    self.out.middlewares.remove(&name);
                    TcpElement::Middleware
                }
                _ => {
                    self.out.services.remove(&name);
                    TcpElement::Service
                }
            };
            self.out
                .invalid
                .insert((kind, name.clone()), "is defined differently".into());
            let msg = format!(
                "TCP {element} defined multiple times with different configurations in {}; dropped",
                from.join(", ")
            );
            issues.push(
                crate::config::ConfigIssue::new(element, name.clone(), msg)
                    .with_key(format!("traefik.tcp.{element}s.{name}"))
                    .with_origin(from.join(",")),
            );
        }
        *out = self.out;
    }
}
