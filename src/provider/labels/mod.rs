//! Traefik v3 Swarm labels → `DynamicConfig`, exactly as Traefik's Swarm provider reads them.
//!
//! Owns the meaning of `traefik.*` (and identical `swarmgate.*`) deploy labels of one Swarm service and
//! the merge of all services into one provider config. Pure: it never talks to Docker — the caller
//! (`provider::swarm`) passes each service's labels, task addresses and ports.
//!
//! Traefik behaviour kept: `traefik.enable` / `exposedByDefault`; a label set without services gets
//! one named after the (normalized) Swarm service; without routers, one router of that name with
//! the default rule; a router without `service` gets the set's only service; Swarm has no port
//! detection, so `loadbalancer.server.port` is required — swarmgate falls back to the lowest port
//! the service publishes, like Traefik's Docker provider. Services with no running task are left
//! out (Traefik's `allowEmptyServices = false`) unless `allow_empty_services`.
//! Differences, all reported as `ConfigIssue`s: a bad key disables only its router, service (and
//! the routers using it) or middleware instead of the whole Swarm service; unknown keys are never
//! ignored silently; Traefik options swarmgate does not implement (`preservePath`, …)
//! are reported and ignored
//! without disabling anything; explicit `loadbalancer.servers[n].url` labels are kept as written.
//! The `constraints` expression (`Label`, `LabelRegex`, `!`, `&&`, `||`) filters services like
//! `traefik.enable`. `lbswarm=true` routes to the service VIP passed in `SwarmService::vip`
//! (balancing, health and draining then happen in IPVS, not per task).

mod build;
mod constraints;
mod de;
mod merge;
mod tcp;
mod template;
mod tree;
mod udp;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use crate::config::server_origin::TaskOrigin;
use crate::config::static_config::SwarmProviderConfig;
use crate::config::{ConfigIssue, DynamicConfig, Element};

pub use constraints::{matches as constraints_match, ConstraintError};
pub use merge::build_config;
pub use template::{normalize, render, TemplateError, TemplateModel};

use build::Builder;
use de::from_node;
use tree::{join_key, parse_bool, Node};

/// One task address of a Swarm service on the selected network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskEndpoint {
    pub ip: IpAddr,
    /// Running but leaving: desired state `shutdown`, or its container is unhealthy.
    pub draining: bool,
    /// The task (ID, slot, node, container), carried to the server's `ServerConfig::origin`;
    /// none for the made-up tasks of `check --stack`.
    pub origin: Option<Arc<TaskOrigin>>,
}

/// What the labels module needs to know about one Swarm service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmService {
    /// The Swarm service name (`mystack_api`); issues use it as their origin.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Running tasks' addresses on the selected network.
    pub tasks: Vec<TaskEndpoint>,
    /// Target ports the service publishes (fallback when no port label is set).
    pub ports: Vec<u16>,
    /// The service's virtual IP on the selected network (used with `lbswarm=true`).
    pub vip: Option<IpAddr>,
}

/// Provider options that shape the label translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOptions {
    pub exposed_by_default: bool,
    /// Go-template of the rule for routers without one.
    pub default_rule: String,
    pub allow_empty_services: bool,
    /// Traefik `constraints` expression; services whose labels do not match are not exposed.
    pub constraints: Option<String>,
}

impl LabelOptions {
    pub fn from_config(cfg: &SwarmProviderConfig) -> Self {
        LabelOptions {
            exposed_by_default: cfg.exposed_by_default,
            default_rule: cfg.default_rule.clone(),
            allow_empty_services: cfg.allow_empty_services.unwrap_or(false),
            constraints: cfg.constraints.clone(),
        }
    }
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions::from_config(&SwarmProviderConfig::default())
    }
}

/// Provider-level labels (`traefik.enable`, `traefik.swarm.network`, `traefik.swarm.lbswarm`), read
/// before the task addresses are looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSettings {
    pub enabled: bool,
    /// Network whose task addresses to use (`traefik.swarm.network`, or v2's `traefik.docker.network`).
    pub network: Option<String>,
    pub lb_swarm: bool,
}

/// Reads the provider-level labels and applies `exposedByDefault` and `constraints`; a malformed
/// value disables the service (as Traefik) with an issue.
pub fn service_settings(
    service_name: &str,
    labels: &BTreeMap<String, String>,
    opts: &LabelOptions,
) -> (ServiceSettings, Vec<ConfigIssue>) {
    let root = Node::from_labels(labels);
    settings_from(service_name, &root, labels, opts)
}

fn settings_from(
    service_name: &str,
    root: &Node,
    labels: &BTreeMap<String, String>,
    opts: &LabelOptions,
) -> (ServiceSettings, Vec<ConfigIssue>) {
    let mut issues = Vec::new();
    let mut bad = |key: &str, message: String| {
        issues.push(
            ConfigIssue::new(Element::Source, service_name, message)
                .with_key(format!("traefik.{key}"))
                .with_origin(service_name),
        );
    };
    let mut settings = ServiceSettings {
        enabled: opts.exposed_by_default,
        ..Default::default()
    };
    if let Some(node) = root.child("enable") {
        match node.leaf().and_then(parse_bool) {
            Some(b) => settings.enabled = b,
            None => {
                bad(
                    "enable",
                    format!("invalid boolean {:?}; service disabled", node.value),
                );
                settings.enabled = false;
            }
        }
    }
    // v3 `traefik.swarm.*` wins over v2 `traefik.docker.*`.
    for section in ["docker", "swarm"] {
        let Some(sec) = root.child(section) else {
            continue;
        };
        for (key, node) in &sec.children {
            let full = format!("{section}.{key}");
            match (key.to_ascii_lowercase().as_str(), node.leaf()) {
                ("network", Some(v)) => settings.network = Some(v.to_string()),
                ("lbswarm", Some(v)) => match parse_bool(v) {
                    Some(b) => settings.lb_swarm = b,
                    None => {
                        bad(&full, format!("invalid boolean {v:?}; service disabled"));
                        settings.enabled = false;
                    }
                },
                _ => bad(&full, "unknown label, ignored".to_string()),
            }
        }
    }
    if let Some(expr) = opts.constraints.as_deref() {
        match constraints::matches(expr, labels) {
            Ok(true) => {}
            Ok(false) => settings.enabled = false,
            Err(e) => {
                issues.push(
                    ConfigIssue::new(Element::Provider, "swarm", e.to_string())
                        .with_key("providers.swarm.constraints")
                        .with_origin(service_name),
                );
                settings.enabled = false;
            }
        }
    }
    (settings, issues)
}

/// Translates one Swarm service's labels. Every issue has `origin` = the Swarm service name; the
/// elements they name are already left out of the returned config.
pub fn service_config(
    svc: &SwarmService,
    opts: &LabelOptions,
) -> (DynamicConfig, Vec<ConfigIssue>) {
    let root = Node::from_labels(&svc.labels);
    let (settings, mut issues) = settings_from(&svc.name, &root, &svc.labels, opts);
    let mut out = DynamicConfig::default();
    if !settings.enabled
        || (svc.tasks.is_empty() && !settings.lb_swarm && !opts.allow_empty_services)
    {
        return (out, issues);
    }
    let mut b = Builder {
        svc,
        opts,
        settings: &settings,
        issues: &mut issues,
    };
    b.check_roots(&root);
    let empty = Node::default();
    let http = root.child("http").unwrap_or(&empty);
    let mut layer4 = false;
    if let Some(udp) = root.child("udp") {
        out.udp = b.udp(udp, &normalize(&svc.name));
        layer4 = true;
    }
    layer4 |= tcp::read(&mut b, &root, &mut out);
    // As Traefik: a set with only TCP/UDP labels gets no made-up HTTP router or service.
    if layer4 && http.children.is_empty() {
        return (out, issues);
    }
    for (key, _) in http
        .children
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "routers" | "services" | "middlewares"))
    {
        let message = match de::nearest(key, &["routers", "services", "middlewares"]) {
            Some(s) => format!("unknown label, ignored; did you mean `traefik.http.{s}`?"),
            None => "unknown label, ignored".to_string(),
        };
        b.issue(Element::Source, &svc.name, &format!("http.{key}"), message);
    }
    let name = normalize(&svc.name);

    // Middlewares.
    let mut bad_middlewares = BTreeSet::new();
    for (mname, node) in &http.child("middlewares").unwrap_or(&empty).children {
        match from_node(node) {
            Ok(m) => {
                out.http.middlewares.insert(mname.clone(), m);
            }
            Err(e) => {
                let key = format!("http.middlewares.{}", join_key(&[mname.clone(), e.path()]));
                b.issue(Element::Middleware, mname, &key, e.message);
                bad_middlewares.insert(mname.clone());
            }
        }
    }

    // Services.
    let declared = http
        .child("services")
        .map(|s| s.children.clone())
        .unwrap_or_default();
    let auto = declared.is_empty();
    let services: BTreeMap<String, Node> = if auto {
        BTreeMap::from([(name.clone(), Node::default())])
    } else {
        declared
    };
    let mut bad_services = BTreeSet::new();
    for (sname, node) in &services {
        match b.service(sname, node) {
            Some(s) => {
                out.http.services.insert(sname.clone(), s);
            }
            None => {
                bad_services.insert(sname.clone());
            }
        }
    }

    // Routers.
    let mut routers = http
        .child("routers")
        .map(|r| r.children.clone())
        .unwrap_or_default();
    if routers.is_empty() {
        if services.len() > 1 {
            b.issue(
                Element::Router,
                &name,
                "http.routers",
                "could not create a router: too many services".into(),
            );
        } else {
            routers.insert(name.clone(), Node::default());
        }
    }
    for (rname, node) in &routers {
        let Some(router) = b.router(rname, node, &name, &services) else {
            continue;
        };
        let key = format!("http.routers.{rname}");
        // Fail closed: the router keeps its rule as a closed route (503), so its requests never
        // reach a lower-priority router (`table::compile`).
        let reason = if bad_services.contains(&router.service) {
            Some(format!("its service {:?} is invalid", router.service))
        } else {
            router
                .middlewares
                .iter()
                .find(|m| bad_middlewares.contains(m.trim_end_matches("@swarm")))
                .map(|m| format!("its middleware {m:?} is invalid"))
        };
        match reason {
            Some(reason) => {
                let msg = format!("closed (answers 503): {reason}");
                b.issue(Element::Router, rname, &key, msg);
                out.invalid.routers.insert(rname.clone(), (router, reason));
            }
            None => {
                out.http.routers.insert(rname.clone(), router);
            }
        }
    }
    (out, issues)
}
