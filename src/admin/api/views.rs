//! JSON views of the configuration in the shapes of Traefik's API (`/api/http/routers`, …).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::config::{ConfigIssue, DynamicConfig, Element};
use crate::table::{RoutingTable, Service};

/// Names of the routers using each service or middleware.
type UsedBy<'a> = BTreeMap<&'a str, Vec<&'a str>>;

/// One consistent read of everything the API shows.
pub struct View<'a> {
    pub cfg: &'a DynamicConfig,
    pub table: &'a RoutingTable,
    pub issues: &'a [ConfigIssue],
    /// (name, address) of each entrypoint.
    pub entrypoints: &'a [(String, String)],
}

/// `name@provider` → `provider` (empty when unqualified).
pub(super) fn provider(name: &str) -> &str {
    name.rsplit_once('@').map(|(_, p)| p).unwrap_or("")
}

impl View<'_> {
    fn errors(&self, element: Element, name: &str) -> Vec<String> {
        self.issues
            .iter()
            .filter(|i| i.element == element && i.name == name && !i.is_tcp())
            .map(|i| i.message.clone())
            .collect()
    }

    /// An issue that is not only a warning.
    fn has_error(&self, element: Element, name: &str) -> bool {
        self.issues
            .iter()
            .any(|i| i.element == element && i.name == name && !i.warning && !i.is_tcp())
    }

    fn status(enabled: bool, errors: &[String]) -> &'static str {
        match (enabled, errors.is_empty()) {
            (false, _) => "disabled",
            (true, true) => "enabled",
            (true, false) => "warning",
        }
    }

    /// Routers, with `status` from whether they compiled.
    pub fn routers(&self) -> Value {
        let all_eps: Vec<&str> = self.entrypoints.iter().map(|(n, _)| n.as_str()).collect();
        let mut out = Vec::new();
        let unread = self
            .cfg
            .invalid
            .routers
            .iter()
            .filter(|(name, _)| !self.cfg.http.routers.contains_key(*name))
            .map(|(name, (r, _))| (name, r));
        for (name, r) in self.cfg.http.routers.iter().chain(unread) {
            let compiled = self.table.routes.get(name);
            let closed = compiled.is_some_and(|c| c.closed.is_some());
            let errors = self.errors(Element::Router, name);
            let eps: Vec<&str> = if r.entry_points.is_empty() {
                all_eps.clone()
            } else {
                r.entry_points.iter().map(String::as_str).collect()
            };
            let mut v = json!({
                "name": name,
                "provider": provider(name),
                "rule": r.rule,
                "service": r.service,
                "entryPoints": eps,
                "using": eps,
                "priority": compiled.map(|c| c.priority).or(r.priority).unwrap_or(r.rule.len() as i64),
                "status": Self::status(compiled.is_some() && !closed, &errors),
            });
            if let Some(map) = v.as_object_mut() {
                if !r.middlewares.is_empty() {
                    map.insert("middlewares".into(), json!(r.middlewares));
                }
                if let Some(tls) = &r.tls {
                    map.insert("tls".into(), serde_json::to_value(tls).unwrap_or_default());
                }
                if !errors.is_empty() {
                    map.insert("error".into(), json!(errors));
                }
                if closed {
                    // swarmgate: the router holds its rule and answers 503 (fails closed).
                    map.insert("closed".into(), json!(true));
                }
            }
            out.push(v);
        }
        Value::Array(out)
    }

    /// Elements a provider could not read: listed by name, disabled, with their errors.
    fn unread(&self, element: Element, names: &BTreeMap<String, String>, out: &mut Vec<Value>) {
        // `ping@internal` & co. when their feature is off: absent, as in Traefik's API.
        for name in names.keys().filter(|n| !n.ends_with("@internal")) {
            let errors = self.errors(element, name);
            out.push(json!({
                "name": name,
                "provider": provider(name),
                "status": "disabled",
                "error": errors,
            }));
        }
    }

    /// Routers using each service / middleware.
    fn used_by(&self) -> (UsedBy<'_>, UsedBy<'_>) {
        let mut services: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut middlewares: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, r) in &self.cfg.http.routers {
            services.entry(&r.service).or_default().push(name);
            for m in &r.middlewares {
                middlewares.entry(m).or_default().push(name);
            }
        }
        (services, middlewares)
    }

    /// Services, with `serverStatus` from the live balancer state.
    pub fn services(&self) -> Value {
        let (used, _) = self.used_by();
        let now = Instant::now();
        let mut out = Vec::new();
        for (name, s) in &self.cfg.http.services {
            let compiled = self.table.services.get(name);
            let errors = self.errors(Element::Service, name);
            let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
            let Some(map) = v.as_object_mut() else {
                continue;
            };
            map.insert("name".into(), json!(name));
            map.insert("provider".into(), json!(provider(name)));
            map.insert(
                "status".into(),
                json!(Self::status(compiled.is_some(), &errors)),
            );
            map.insert(
                "type".into(),
                json!(if s.weighted.is_some() {
                    "weighted"
                } else if s.mirroring.is_some() {
                    "mirroring"
                } else if s.failover.is_some() {
                    "failover"
                } else if s.highest_random_weight.is_some() {
                    "highestrandomweight"
                } else {
                    "loadbalancer"
                }),
            );
            map.insert(
                "usedBy".into(),
                json!(used.get(name.as_str()).cloned().unwrap_or_default()),
            );
            if let Some(Service::LoadBalancer(lb)) = compiled.map(|c| &**c) {
                health(lb, now, map);
            }
            if let Some(lb) = &s.load_balancer {
                map.insert("serverOrigins".into(), server_origins(&lb.servers));
            }
            if !errors.is_empty() {
                map.insert("error".into(), json!(errors));
            }
            out.push(v);
        }
        self.unread(Element::Service, &self.cfg.invalid.services, &mut out);
        // Internal services in use (`api@internal`, …), as Traefik lists them.
        for (name, s) in &self.table.services {
            if let Service::Internal(_) = &**s {
                out.push(json!({
                    "name": name,
                    "provider": "internal",
                    "status": "enabled",
                    "usedBy": used.get(name.as_str()).cloned().unwrap_or_default(),
                }));
            }
        }
        Value::Array(out)
    }

    pub fn middlewares(&self) -> Value {
        let (_, used) = self.used_by();
        let mut out = Vec::new();
        for (name, m) in &self.cfg.http.middlewares {
            let errors = self.errors(Element::Middleware, name);
            let mut v = serde_json::to_value(m).unwrap_or_else(|_| json!({}));
            let Some(map) = v.as_object_mut() else {
                continue;
            };
            map.insert("name".into(), json!(name));
            map.insert("provider".into(), json!(provider(name)));
            map.insert("type".into(), json!(m.kind().to_ascii_lowercase()));
            map.insert(
                "status".into(),
                json!(Self::status(
                    !self.has_error(Element::Middleware, name),
                    &errors
                )),
            );
            map.insert(
                "usedBy".into(),
                json!(used.get(name.as_str()).cloned().unwrap_or_default()),
            );
            if !errors.is_empty() {
                map.insert("error".into(), json!(errors));
            }
            out.push(v);
        }
        self.unread(Element::Middleware, &self.cfg.invalid.middlewares, &mut out);
        Value::Array(out)
    }

    pub fn entrypoints(&self) -> Value {
        Value::Array(
            self.entrypoints
                .iter()
                .map(|(name, address)| json!({"name": name, "address": address}))
                .collect(),
        )
    }

    pub fn overview(&self, features: &Value, providers: &[&str]) -> Value {
        let count = |list: Value| {
            let list = list.as_array().cloned().unwrap_or_default();
            let with = |s: &str| list.iter().filter(|v| v["status"] == s).count();
            json!({
                "total": list.len(),
                "warnings": with("warning"),
                "errors": with("disabled"),
            })
        };
        let services = {
            let list = self.services();
            let down = list
                .as_array()
                .map_or(0, |l| l.iter().filter(|v| v["health"] == "down").count());
            let mut c = count(list);
            c["down"] = json!(down);
            c
        };
        json!({
            "http": {
                "routers": count(self.routers()),
                "services": services,
                "middlewares": count(self.middlewares()),
            },
            "udp": {
                "routers": count(self.udp_routers()),
                "services": count(self.udp_services()),
            },
            "tcp": {
                "routers": count(super::tcp::routers(self.cfg, self.issues)),
                "services": count(super::tcp::services(self.cfg, self.issues)),
                "middlewares": count(super::tcp::middlewares(self.cfg, self.issues)),
            },
            "features": features,
            "providers": providers,
            "errors": self.issues.len(),
        })
    }

    /// Traefik's `/api/rawdata`: everything keyed by name.
    pub fn rawdata(&self) -> Value {
        let keyed = |list: Value| {
            let mut map = Map::new();
            for v in list.as_array().cloned().unwrap_or_default() {
                if let Some(name) = v["name"].as_str() {
                    map.insert(name.to_string(), v.clone());
                }
            }
            Value::Object(map)
        };
        json!({
            "routers": keyed(self.routers()),
            "services": keyed(self.services()),
            "middlewares": keyed(self.middlewares()),
            "udpRouters": keyed(self.udp_routers()),
            "udpServices": keyed(self.udp_services()),
        })
    }
}

/// `serverStatus` (Traefik's), and swarmgate's `servers` (health, drain, weight, passive
/// failures, requests in flight), `health` (`up`, `degraded`: some servers down, `down`: all of
/// them, by active check or passive ejection) and `failures` (consecutive, summed).
fn health(lb: &crate::table::LoadBalancedService, now: Instant, map: &mut Map<String, Value>) {
    let mut status = Map::new();
    let mut servers = Vec::new();
    let (mut up_count, mut failures) = (0usize, 0u64);
    let endpoints = lb.balancer.endpoints();
    for e in endpoints {
        let available = e.state.is_available(now);
        let up = available && !e.draining;
        up_count += usize::from(up);
        let f = e.state.consecutive_failures();
        failures += u64::from(f);
        status.insert(e.url.clone(), json!(if up { "UP" } else { "DOWN" }));
        servers.push(json!({
            "url": e.url,
            "status": if up { "UP" } else { "DOWN" },
            "weight": e.weight,
            "draining": e.draining,
            "activeUp": e.state.is_active_up(),
            "ejected": e.state.is_active_up() && !available,
            "failures": f,
            "inflight": e.state.inflight(),
        }));
    }
    let health = match (up_count, endpoints.len()) {
        (_, 0) | (0, _) => "down",
        (n, total) if n < total => "degraded",
        _ => "up",
    };
    map.insert("serverStatus".into(), Value::Object(status));
    map.insert("servers".into(), Value::Array(servers));
    map.insert("health".into(), json!(health));
    map.insert("failures".into(), json!(failures));
    map.insert("sticky".into(), json!(lb.balancer.sticky().is_some()));
    map.insert("healthChecked".into(), json!(lb.health_checked));
}

/// swarmgate's `serverOrigins`: each server's URL → where it came from, as its provider recorded
/// it (`{"kind":"task", "task", "service", "slot", "node", "nodeId", "container"}`, `vip`,
/// `label`, `file` with its path), `{"kind":"configured"}` when none did. A field of its own,
/// so Traefik's `serverStatus` keeps its shape.
fn server_origins(servers: &[crate::config::dynamic::ServerConfig]) -> Value {
    let mut out = Map::new();
    for s in servers {
        let origin = s
            .origin
            .as_deref()
            .and_then(|o| serde_json::to_value(o).ok())
            .unwrap_or_else(|| json!({"kind": "configured"}));
        out.entry(s.url.clone()).or_insert(origin);
    }
    Value::Object(out)
}

/// Traefik's list filters: `search` (substring of the name) and `status`.
#[derive(Debug, Default, PartialEq)]
pub struct Filter {
    pub search: Option<String>,
    pub status: Option<String>,
}

impl Filter {
    pub fn from_query(query: &str) -> Filter {
        let mut f = Filter::default();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("search", v)) if !v.is_empty() => f.search = Some(v.to_ascii_lowercase()),
                Some(("status", v)) if !v.is_empty() => f.status = Some(v.to_string()),
                _ => {}
            }
        }
        f
    }

    pub fn apply(&self, list: Value) -> Value {
        let Value::Array(items) = list else {
            return list;
        };
        Value::Array(
            items
                .into_iter()
                .filter(|v| {
                    let name = v["name"].as_str().unwrap_or("").to_ascii_lowercase();
                    self.search
                        .as_ref()
                        .is_none_or(|s| name.contains(s.as_str()))
                        && self
                            .status
                            .as_ref()
                            .is_none_or(|s| v["status"].as_str() == Some(s.as_str()))
                })
                .collect(),
        )
    }
}
