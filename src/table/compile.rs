//! `compile()`: merged `DynamicConfig` → `RoutingTable`, collecting every problem as a `ConfigIssue`.
//!
//! Pure in the sense that matters: no clock, no spawning, no sockets. It does consult the
//! reload-surviving registries (endpoint health, connection pools, transports), which only cache
//! state keyed by name, and a transport may read its CA files. A bad service or middleware is
//! left out and reported; the rest compiles. A router that cannot be built (a bad, unknown or
//! invalid middleware, service, serversTransport or TLS options) stays as a *closed route* for its
//! rule, priority and entrypoints, answering 503, so its requests never fall through to a
//! lower-priority router; a router whose rule does not parse, or that is on no existing
//! entrypoint, has nothing to hold and is only reported.
//!
//! This file holds the routers (placement, TLS options, closed routes); `compile/middlewares.rs`
//! and `compile/services.rs` build what routers name, once each, into the same `State`.

use std::collections::HashMap;
use std::sync::Arc;

use super::tls_options::{key as tls_key, options_name, OptionsRef, SniCollector};
use super::{EntryTable, InternalService, Route, RoutingTable, Service};
use crate::balance::{EndpointRegistry, HealthTarget};
use crate::config::dynamic::{RouterConfig, RouterTlsConfig, ServersTransportConfig};
use crate::config::merge::DEFAULT_TLS_OPTIONS;
use crate::config::observability::{EntryPointObservability, Switches};
use crate::config::{ConfigIssue, DynamicConfig, Element};
use crate::middleware::circuit_breaker::BreakerRegistry;
use crate::middleware::{Middleware, MiddlewareConfig};
use crate::rules::Rule;
use crate::upstream::{PoolRegistry, TransportRegistry};

mod middlewares;
mod services;

use services::collect_health;

/// What `compile` needs to know about one static entrypoint.
#[derive(Debug, Clone, Default)]
pub struct EntryPointInfo {
    pub name: String,
    /// `entryPoints.<name>.http.tls`: routers on this entrypoint are TLS routers by default.
    pub default_tls: Option<RouterTlsConfig>,
    /// `entryPoints.<name>.http.middlewares`, qualified names, applied before the router's own.
    pub middlewares: Vec<String>,
    /// `entryPoints.<name>.observability`: the switches of its routers that set none.
    pub observability: Option<EntryPointObservability>,
}

/// Registries and defaults `compile` reads.
pub struct CompileContext<'a> {
    pub entrypoints: &'a [EntryPointInfo],
    pub endpoints: &'a EndpointRegistry,
    pub pools: &'a PoolRegistry,
    pub transports: &'a TransportRegistry,
    /// The static `serversTransport`, used when a service names none.
    pub default_transport: &'a ServersTransportConfig,
    /// Circuit breakers kept across reloads (per router and middleware).
    pub breakers: &'a BreakerRegistry,
}

/// The outcome of one compilation.
#[derive(Debug, Default)]
pub struct Compiled {
    pub table: RoutingTable,
    pub issues: Vec<ConfigIssue>,
    /// Servers with an active health check, for `HealthChecker::sync`.
    pub health: Vec<HealthTarget>,
    /// Files middlewares need but could not read (`basicAuth.usersFile`): compile again when
    /// one appears.
    pub missing_files: Vec<std::path::PathBuf>,
    /// Per entrypoint (indexed like the table's): which TLS options a handshake gets, by SNI.
    pub sni: Vec<super::tls_options::SniOptions>,
}

type Resolved<T> = Result<Arc<T>, String>;

pub fn compile(cfg: &DynamicConfig, ctx: &CompileContext<'_>) -> Compiled {
    let mut out = Compiled::default();
    let mut state = State {
        cfg,
        ctx,
        middlewares: HashMap::new(),
        services: HashMap::new(),
        notices: Vec::new(),
        missing_files: Vec::new(),
    };

    let mut per_entry: Vec<[Vec<Arc<Route>>; 2]> =
        vec![[Vec::new(), Vec::new()]; ctx.entrypoints.len()];
    let mut place = |route: Route, bindings: Vec<(usize, bool, u32)>, out: &mut Compiled| {
        let route = Arc::new(route);
        for (index, tls, tls_options) in bindings {
            if let Some(slot) = per_entry.get_mut(index) {
                let mut route = Arc::clone(&route);
                if tls != route.tls || tls_options != route.tls_options {
                    // Same router, other TLS mode or options on this entrypoint (entrypoint
                    // default TLS).
                    route = Arc::new(Route {
                        name: route.name.clone(),
                        rule: route.rule.clone(),
                        priority: route.priority,
                        middlewares: route.middlewares.clone(),
                        service: Arc::clone(&route.service),
                        tls,
                        tls_options,
                        closed: route.closed.clone(),
                        metrics: Default::default(),
                        live: Default::default(),
                        observe: route.observe.clone(),
                        traces: route.traces.clone(),
                    });
                }
                slot[usize::from(tls)].push(route);
            }
        }
        out.table.routes.insert(route.name.clone(), route);
    };
    let default_options = state.tls_options(DEFAULT_TLS_OPTIONS);
    let mut sni = SniCollector::new(ctx.entrypoints.len());
    for (name, router) in &cfg.http.routers {
        let placed = match state.placement(name, router, &mut out.issues) {
            Ok(placed) => placed,
            Err(issue) => {
                out.issues.push(issue);
                continue;
            }
        };
        let options = state.binding_options(name, router, &placed, &mut sni);
        let built = match options {
            Ok(keys) => state.router(name, router, &placed).map(|mut route| {
                route.tls_options = keys.iter().find(|(_, tls, _)| *tls).map_or(0, |b| b.2);
                (route, keys)
            }),
            Err(issue) => Err(issue),
        };
        match built {
            Ok((route, keys)) => place(route, keys, &mut out),
            // A disabled internal service (`ping` off…) does not exist in Traefik: the router
            // is left out (404 there), not closed.
            Err(issue)
                if InternalService::by_name(&router.service).is_some()
                    && cfg.invalid.services.contains_key(&router.service) =>
            {
                out.issues.push(issue);
            }
            Err(mut issue) => {
                // Fail closed: the router keeps its place and answers 503, so its requests never
                // reach a lower-priority router meant for something else.
                issue.message.push_str("; router closed (answers 503)");
                out.issues.push(issue);
                let bindings = closed_bindings(&placed.bindings);
                place(
                    closed(ctx, name, router, placed.rule, placed.priority),
                    bindings,
                    &mut out,
                );
            }
        }
    }
    // Routers a provider could not read but whose rule it could: closed (already reported).
    for (name, (router, _)) in &cfg.invalid.routers {
        if cfg.http.routers.contains_key(name) {
            continue;
        }
        match state.placement(name, router, &mut out.issues) {
            Ok(placed) => {
                // Its hosts still select its options (refused when they are invalid).
                let _ = state.binding_options(name, router, &placed, &mut sni);
                let bindings = closed_bindings(&placed.bindings);
                place(
                    closed(ctx, name, router, placed.rule, placed.priority),
                    bindings,
                    &mut out,
                )
            }
            Err(issue) => out.issues.push(issue),
        }
    }
    // Terminating TCP routers: their `HostSNI` names select their `tls.options` at ClientHello
    // like an HTTPS router's `Host` (the TCP table checks the handshake got them).
    for (name, router) in &cfg.tcp.routers {
        let Some(tls) = router.tls.as_ref().filter(|t| !t.passthrough) else {
            continue;
        };
        let Ok(rule) = crate::rules::tcp::TcpRule::parse(&router.rule) else {
            continue;
        };
        let hosts: Vec<String> = rule.host_snis().into_iter().filter(|h| h != "*").collect();
        let options = state.tls_options(&options_name(name, tls.options.as_deref(), false));
        for ep in &router.entry_points {
            if let Some(index) = ctx.entrypoints.iter().position(|e| e.name == *ep) {
                sni.add(index, name, &hosts, &options);
            }
        }
    }
    let (selection, conflicts) = sni.finish(ctx.entrypoints, &default_options);
    out.sni = selection;
    for (router, message) in conflicts {
        out.issues
            .push(ConfigIssue::new(Element::Router, &router, message).with_key("tls.options"));
    }
    if let Err(reason) = &default_options {
        out.issues.push(
            ConfigIssue::new(
                Element::Tls,
                DEFAULT_TLS_OPTIONS,
                format!("{reason}: TLS handshakes for hosts without other options are refused"),
            )
            .with_key("options"),
        );
    }

    // Middlewares no router uses still say what they noticed (a user that can never log in).
    for (name, mw) in &cfg.http.middlewares {
        if let MiddlewareConfig::BasicAuth(_)
        | MiddlewareConfig::DigestAuth(_)
        | MiddlewareConfig::ContentType(_) = mw
        {
            let _ = state.compiled(name, mw);
        }
    }
    out.issues.append(&mut state.notices);
    out.missing_files = std::mem::take(&mut state.missing_files);

    for [plain, tls] in &mut per_entry {
        sort_by_priority(plain);
        sort_by_priority(tls);
        out.table
            .entrypoints
            .push([EntryTable::build(plain), EntryTable::build(tls)]);
    }
    for (name, service) in state.services {
        if let Ok(service) = service {
            collect_health(cfg, &name, &service, &mut out.health);
            out.table.services.insert(name, service);
        }
    }
    out
}

/// A closed route's bindings: the TLS mode of each, no options (a closed route answers 503 on
/// any connection).
fn closed_bindings(bindings: &[(usize, bool)]) -> Vec<(usize, bool, u32)> {
    bindings.iter().map(|&(i, tls)| (i, tls, 0)).collect()
}

/// A child's name as its parent's provider wrote it (without the `@provider` the merge added when
/// it is the parent's own): what Traefik hashes into a weighted service's sticky cookie.
fn written_name<'n>(child: &'n str, parent: &str) -> &'n str {
    match (child.rsplit_once('@'), parent.rsplit_once('@')) {
        (Some((bare, provider)), Some((_, own))) if provider == own => bare,
        _ => child,
    }
}

/// Traefik order: higher priority first; equal priorities by name for a stable result.
fn sort_by_priority(routes: &mut [Arc<Route>]) {
    routes.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The route held by a router that cannot be built: its rule and priority, no middlewares, and a
/// service that answers 503 (`Service::Closed`).
fn closed(
    ctx: &CompileContext<'_>,
    name: &str,
    router: &RouterConfig,
    rule: Rule,
    priority: i64,
) -> Route {
    Route {
        name: name.to_string(),
        rule,
        priority,
        middlewares: Box::default(),
        service: Arc::new(Service::Closed(router.service.clone())),
        tls: router.tls.is_some(),
        tls_options: 0,
        closed: Some(Arc::from("configuration error")),
        metrics: Default::default(),
        live: Default::default(),
        observe: switches(ctx, router),
        traces: Box::default(),
    }
}

/// A router's switches on each entrypoint (indexed like `ctx.entrypoints`), as Traefik resolves
/// them: its own `observability`, else the entrypoint's, else on.
fn switches(ctx: &CompileContext<'_>, router: &RouterConfig) -> Box<[Switches]> {
    ctx.entrypoints
        .iter()
        .map(|ep| Switches::resolve(router.observability.as_ref(), ep.observability.as_ref()))
        .collect()
}

/// Where a router goes: what `placement` found before anything that can make it a closed route.
struct Placement {
    rule: Rule,
    priority: i64,
    /// (entrypoint index, tls) pairs.
    bindings: Vec<(usize, bool)>,
    /// The first bound entrypoint's `http.middlewares` (qualified), applied before the router's.
    ep_middlewares: Vec<String>,
}

struct State<'c> {
    cfg: &'c DynamicConfig,
    ctx: &'c CompileContext<'c>,
    middlewares: HashMap<String, Resolved<Middleware>>,
    services: HashMap<String, Resolved<Service>>,
    /// Warnings and errors middlewares noticed while compiling (`Middleware::notices`).
    notices: Vec<ConfigIssue>,
    missing_files: Vec<std::path::PathBuf>,
}

impl State<'_> {
    /// The rule, priority and entrypoints of a router: without them there is nothing to hold, so
    /// an error here (a rule that does not parse, no existing entrypoint) leaves it out.
    fn placement(
        &self,
        name: &str,
        router: &RouterConfig,
        issues: &mut Vec<ConfigIssue>,
    ) -> Result<Placement, ConfigIssue> {
        let issue = |key: &str, message: String| {
            ConfigIssue::new(Element::Router, name, message).with_key(key)
        };
        let rule = router.parse_rule().map_err(|e| issue("rule", e))?;
        for warning in rule.warnings() {
            issues.push(issue("rule", warning.clone()).as_warning());
        }
        let priority = match router.priority {
            Some(p) if p != 0 => p,
            _ => rule.default_priority(),
        };
        let mut bindings = Vec::new();
        // Routers without `entryPoints` were given the default ones when the providers were
        // merged (`DynamicConfig::apply_default_entrypoints`): an empty list here means there is
        // no default entrypoint.
        let defaults = router.entry_points.is_empty();
        for wanted in &router.entry_points {
            if !self.ctx.entrypoints.iter().any(|ep| &ep.name == wanted) {
                issues.push(issue(
                    "entryPoints",
                    format!("entrypoint {wanted:?} does not exist"),
                ));
            }
        }
        let mut ep_middlewares: Option<&[String]> = None;
        for (index, ep) in self.ctx.entrypoints.iter().enumerate() {
            if router.entry_points.iter().any(|w| w == &ep.name) {
                let tls = router.tls.is_some() || ep.default_tls.is_some();
                bindings.push((index, tls));
                if !ep.middlewares.is_empty() {
                    ep_middlewares = Some(&ep.middlewares);
                }
            }
        }
        if bindings.is_empty() {
            let message = if defaults {
                "no valid entryPoint for this router: it names none and no entrypoint is a default one (every TCP entrypoint but `traefik`, or those with asDefault=true)"
            } else {
                "router is on no existing entrypoint"
            };
            return Err(issue("entryPoints", message.to_string()));
        }
        Ok(Placement {
            rule,
            priority,
            bindings,
            ep_middlewares: ep_middlewares.unwrap_or(&[]).to_vec(),
        })
    }

    /// The options set `name` (qualified) as a route needs it: an error when it is invalid or
    /// does not exist. `default` exists unless a provider's `tls.options.default` is invalid.
    fn tls_options(&self, name: &str) -> Result<OptionsRef, String> {
        if let Some(reason) = self.cfg.invalid.tls_options.get(name) {
            return Err(format!("TLS options {name:?} are invalid ({reason})"));
        }
        match self.cfg.tls.options.get(name) {
            Some(cfg) => Ok(OptionsRef {
                name: name.to_string(),
                key: tls_key(name, Some(cfg)),
            }),
            None if name == DEFAULT_TLS_OPTIONS => Ok(OptionsRef {
                name: name.to_string(),
                key: tls_key(name, None),
            }),
            None => Err(format!("TLS options {name:?} do not exist")),
        }
    }

    /// The bindings of a placed router with the key of the TLS options each TLS binding needs;
    /// records its hosts' options for SNI selection. An error (invalid or missing options) makes
    /// it a closed route.
    fn binding_options(
        &self,
        name: &str,
        router: &RouterConfig,
        placed: &Placement,
        sni: &mut SniCollector,
    ) -> Result<Vec<(usize, bool, u32)>, ConfigIssue> {
        let hosts = placed.rule.host_names();
        let mut out = Vec::with_capacity(placed.bindings.len());
        let mut failed = None;
        for &(index, tls) in &placed.bindings {
            if !tls {
                out.push((index, tls, 0));
                continue;
            }
            let (own, from_entrypoint) = match &router.tls {
                Some(t) => (t.options.as_deref(), false),
                None => (
                    self.ctx
                        .entrypoints
                        .get(index)
                        .and_then(|ep| ep.default_tls.as_ref())
                        .and_then(|t| t.options.as_deref()),
                    true,
                ),
            };
            let options = self.tls_options(&options_name(name, own, from_entrypoint));
            sni.add(index, name, &hosts, &options);
            match options {
                Ok(found) => out.push((index, tls, found.key)),
                Err(reason) => {
                    failed.get_or_insert(reason);
                }
            }
        }
        match failed {
            None => Ok(out),
            Some(reason) => Err(ConfigIssue::new(
                Element::Router,
                name,
                format!("{reason}; TLS handshakes for its hosts are refused"),
            )
            .with_key("tls.options")),
        }
    }

    /// Builds a placed router: its service and middlewares. An error makes it a closed route.
    fn router(
        &mut self,
        name: &str,
        router: &RouterConfig,
        placed: &Placement,
    ) -> Result<Route, ConfigIssue> {
        let issue = |key: &str, message: String| {
            ConfigIssue::new(Element::Router, name, message).with_key(key)
        };
        let service = self
            .service(&router.service)
            .map_err(|e| issue("service", format!("service {:?}: {e}", router.service)))?;
        let mut middlewares = Vec::new();
        for mw in placed
            .ep_middlewares
            .iter()
            .chain(router.middlewares.iter())
        {
            self.middleware_into(name, mw, &mut Vec::new(), &mut middlewares)
                .map_err(|e| issue("middlewares", format!("middleware {mw:?}: {e}")))?;
        }
        // Traefik 3.7's service middlewares wrap the service, after the router's.
        let service_middlewares = self
            .cfg
            .http
            .services
            .get(&router.service)
            .map(|s| s.middlewares.clone())
            .unwrap_or_default();
        for mw in &service_middlewares {
            self.middleware_into(name, mw, &mut Vec::new(), &mut middlewares)
                .map_err(|e| {
                    issue(
                        "service",
                        format!("service {:?}: middleware {mw:?}: {e}", router.service),
                    )
                })?;
        }
        let (middlewares, traces): (Vec<_>, Vec<_>) = middlewares.into_iter().unzip();
        Ok(Route {
            name: name.to_string(),
            rule: placed.rule.clone(),
            priority: placed.priority,
            middlewares: middlewares.into_boxed_slice(),
            service,
            tls: router.tls.is_some(),
            tls_options: 0,
            closed: None,
            metrics: Default::default(),
            live: Default::default(),
            observe: switches(self.ctx, router),
            traces: traces.into_boxed_slice(),
        })
    }
}
