//! Building one router and one service from their label subtrees (Traefik's defaults filled in).
//! Pure; used by `labels::service_config`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::Deserialize;

use crate::config::dynamic::{RouterConfig, ServerConfig, ServiceConfig};
use crate::config::server_origin::{ServerOrigin, TaskOrigin};
use crate::config::{ConfigIssue, Element};

use super::de::from_node;
use super::template::{render, TemplateModel};
use super::tree::{join_key, parse_bool, Node};
use super::{LabelOptions, ServiceSettings, SwarmService};

/// `loadbalancer.server.*`: how the servers' URLs are built.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServerLabels {
    #[serde(default)]
    port: Option<String>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    weight: Option<u32>,
}

/// Options Traefik v3 accepts that swarmgate does not implement: reported and ignored, the element
/// stays enabled (paths below the service / router node, matched ignoring case).
const UNSUPPORTED_SERVICE_OPTIONS: &[&str] = &["loadbalancer.server.preservepath"];
const UNSUPPORTED_ROUTER_OPTIONS: &[&str] = &[];

pub(super) fn leaf(value: &str) -> Node {
    Node {
        value: Some(value.to_string()),
        children: BTreeMap::new(),
    }
}

pub(super) struct Builder<'a> {
    pub svc: &'a SwarmService,
    pub opts: &'a LabelOptions,
    pub settings: &'a ServiceSettings,
    pub issues: &'a mut Vec<ConfigIssue>,
}

impl Builder<'_> {
    pub(super) fn issue(&mut self, element: Element, name: &str, key: &str, message: String) {
        self.issues.push(
            ConfigIssue::new(element, name, message)
                .with_key(format!("traefik.{key}"))
                .with_origin(&self.svc.name),
        );
    }

    /// The port of a service's servers: `written` (`loadbalancer.server.port`, at `key`), else the
    /// lowest published port. `None` after an issue on `element` `name` (`consequence` appended
    /// to its message) when the written port is no port or there is none at all.
    pub(super) fn server_port(
        &mut self,
        element: Element,
        name: &str,
        written: Option<&str>,
        key: &str,
        consequence: &str,
    ) -> Option<u16> {
        let message = match written.map(str::trim) {
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port > 0 => return Some(port),
                _ => format!("invalid port {p:?}{consequence}"),
            },
            None => match self.svc.ports.iter().min() {
                Some(port) => return Some(*port),
                None => format!(
                    "port is missing: set loadbalancer.server.port (Swarm has no port \
                     detection){consequence}"
                ),
            },
        };
        self.issue(element, name, key, message);
        None
    }

    /// Whether the provider's `constraints` expression names the label `traefik.<key>`.
    fn in_constraints(&self, key: &str) -> bool {
        let Some(expr) = self.opts.constraints.as_deref() else {
            return false;
        };
        let wanted = format!("traefik.{key}").to_ascii_lowercase();
        let expr = expr.to_ascii_lowercase();
        expr.match_indices(&wanted).any(|(i, _)| {
            let after = expr.as_bytes().get(i + wanted.len()).copied();
            let before = i
                .checked_sub(1)
                .and_then(|b| expr.as_bytes().get(b))
                .copied();
            matches!(after, Some(b'`' | b'"' | b'.')) && matches!(before, Some(b'`' | b'"'))
        })
    }

    pub(super) fn check_roots(&mut self, root: &Node) {
        let name = self.svc.name.clone();
        for key in root.children.keys() {
            let msg = match key.as_str() {
                "enable" | "http" | "tcp" | "udp" | "swarm" | "docker" => continue,
                "tls" => "TLS options/stores from labels are not supported (use the file provider), ignored",
                // A label the provider's `constraints` reads (`traefik.constraint-label` in
                // published stacks) is the user's own: Traefik ignores such labels too.
                _ if self.in_constraints(key) => continue,
                _ => {
                    let known = ["enable", "http", "swarm", "docker", "tcp", "udp", "tls"];
                    let msg = match super::de::nearest(key, &known) {
                        Some(s) => format!("unknown label, ignored; did you mean `traefik.{s}`?"),
                        None => "unknown label, ignored".to_string(),
                    };
                    self.issue(Element::Source, &name, key, msg);
                    continue;
                }
            };
            self.issue(Element::Source, &name, key, msg.into());
        }
    }

    fn strip_unsupported(
        &mut self,
        node: &mut Node,
        element: Element,
        name: &str,
        section: &str,
        paths: &[&str],
    ) {
        for path in paths {
            let segs: Vec<&str> = path.split('.').collect();
            if node.remove_path(&segs).is_some() {
                let msg = "supported by Traefik but not by swarmgate; ignored".to_string();
                self.issue(element, name, &format!("{section}.{name}.{path}"), msg);
            }
        }
    }

    /// Builds one service with its servers; `None` (and an issue) when its labels are invalid.
    pub(super) fn service(&mut self, sname: &str, node: &Node) -> Option<ServiceConfig> {
        let key = |path: &str| {
            format!(
                "http.services.{}",
                join_key(&[sname.to_string(), path.to_string()])
            )
        };
        let mut node = node.clone();
        // A strategy Traefik 3.7 does not know refuses the service (fail closed), as from the
        // file provider; `wrr` is the default.
        if let Some(strategy) = node.remove_path(&["loadbalancer", "strategy"]) {
            let value = strategy.value.clone().unwrap_or_default();
            if ["", "wrr", "p2c", "hrw", "leasttime"].contains(&value.as_str()) {
                if let Some((_, lb)) = node
                    .children
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case("loadbalancer"))
                {
                    lb.children.insert("strategy".into(), strategy);
                }
            } else {
                let msg = format!(
                    "loadBalancer.strategy `{value}`: unsupported load-balancer strategy \
                     (Traefik's are wrr, the default, p2c, hrw and leasttime); the service is \
                     refused"
                );
                self.issue(Element::Service, sname, &key("loadbalancer.strategy"), msg);
                return None;
            }
        }
        self.strip_unsupported(
            &mut node,
            Element::Service,
            sname,
            "http.services",
            UNSUPPORTED_SERVICE_OPTIONS,
        );
        let server_node = if node.children.is_empty() {
            // A service named only by a router: a default load balancer.
            node.children.insert("loadBalancer".into(), leaf("true"));
            Node::default()
        } else {
            match node
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
                None => Node::default(),
            }
        };
        // Traefik's labels cannot express these kinds (`label:"-"`): only the file provider can.
        if let Some(kind) = node
            .children
            .keys()
            .find(|k| k.eq_ignore_ascii_case("mirroring") || k.eq_ignore_ascii_case("failover"))
        {
            let msg = format!("a {kind} service cannot be defined by labels (as in Traefik); use the file provider");
            let kind = kind.clone();
            self.issue(Element::Service, sname, &key(&kind), msg);
            return None;
        }
        let mut service: ServiceConfig = match from_node(&node) {
            Ok(s) => s,
            Err(e) => {
                self.issue(Element::Service, sname, &key(&e.path()), e.message);
                return None;
            }
        };
        let server: ServerLabels = match from_node(&server_node) {
            Ok(s) => s,
            Err(e) => {
                self.issue(
                    Element::Service,
                    sname,
                    &key(&format!("loadbalancer.server.{}", e.path())),
                    e.message,
                );
                return None;
            }
        };
        let Some(lb) = service.load_balancer.as_mut() else {
            self.issue(
                Element::Service,
                sname,
                &key(""),
                "load-balancer is not defined".into(),
            );
            return None;
        };
        if !lb.servers.is_empty() {
            // Explicit `servers[n].url` labels: used as written, as Traefik does.
            let from = Arc::new(ServerOrigin::Label {
                service: self.svc.name.clone(),
            });
            for s in &mut lb.servers {
                s.origin = Some(Arc::clone(&from));
            }
            return Some(service);
        }
        let port = self.server_port(
            Element::Service,
            sname,
            server.port.as_deref(),
            &key("loadbalancer.server.port"),
            "",
        )?;
        let scheme = server.scheme.unwrap_or_else(|| "http".to_string());
        let url = |ip: IpAddr| format!("{scheme}://{}", SocketAddr::new(ip, port));
        lb.servers = if self.settings.lb_swarm {
            let Some(vip) = self.svc.vip else {
                let msg =
                    "lbswarm is set but the service has no virtual IP on the selected network";
                self.issue(Element::Service, sname, "swarm.lbswarm", msg.into());
                return None;
            };
            vec![ServerConfig {
                url: url(vip),
                weight: server.weight,
                draining: false,
                overlay: false,
                origin: Some(Arc::new(ServerOrigin::Vip {
                    service: self.svc.name.clone(),
                })),
            }]
        } else {
            let mut tasks = self.svc.tasks.clone();
            tasks.sort();
            tasks.dedup_by_key(|t| t.ip);
            tasks
                .iter()
                .map(|t| ServerConfig {
                    url: url(t.ip),
                    weight: server.weight,
                    draining: t.draining,
                    overlay: true,
                    origin: t
                        .origin
                        .as_ref()
                        .map(|o| Arc::new(ServerOrigin::Task(TaskOrigin::clone(o)))),
                })
                .collect()
        };
        Some(service)
    }

    /// Builds one router, filling the default rule and service as Traefik does.
    pub(super) fn router(
        &mut self,
        rname: &str,
        node: &Node,
        name: &str,
        services: &BTreeMap<String, Node>,
    ) -> Option<RouterConfig> {
        let key = |path: &str| {
            format!(
                "http.routers.{}",
                join_key(&[rname.to_string(), path.to_string()])
            )
        };
        let mut node = node.clone();
        self.strip_unsupported(
            &mut node,
            Element::Router,
            rname,
            "http.routers",
            UNSUPPORTED_ROUTER_OPTIONS,
        );
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
        let mut router: RouterConfig = match from_node(&node) {
            Ok(r) => r,
            Err(e) => {
                self.issue(Element::Router, rname, &key(&e.path()), e.message);
                return None;
            }
        };
        if router.rule.trim().is_empty() {
            let model = TemplateModel {
                name,
                labels: &self.svc.labels,
            };
            match render(&self.opts.default_rule, &model) {
                Ok(rule) if !rule.trim().is_empty() => {
                    router.rule = rule;
                    router.default_rule = true;
                }
                Ok(_) => {
                    self.issue(
                        Element::Router,
                        rname,
                        &key("rule"),
                        "undefined rule".into(),
                    );
                    return None;
                }
                Err(e) => {
                    self.issue(Element::Router, rname, &key("rule"), e.to_string());
                    return None;
                }
            }
        }
        if router.service.trim().is_empty() {
            let mut names = services.keys();
            match (names.next(), names.next()) {
                (Some(only), None) => router.service = only.clone(),
                _ => {
                    let msg = "could not define the service name for the router: too many services";
                    self.issue(Element::Router, rname, &key("service"), msg.into());
                    return None;
                }
            }
        }
        Some(router)
    }
}
