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

use std::collections::HashMap;
use std::sync::Arc;

use super::tls_options::{key as tls_key, options_name, OptionsRef, SniCollector};
use super::{
    EntryTable, FailoverService, InternalService, LoadBalancedService, Mirror, MirroringService,
    Route, RoutingTable, Service, WeightedService,
};
use crate::balance::{
    Balancer, Endpoint, EndpointRegistry, EndpointState, HealthTarget, StickyCookie,
};
use crate::config::dynamic::{
    FailoverConfig, LoadBalancerConfig, MirroringConfig, RouterConfig, RouterTlsConfig,
    ServersTransportConfig, ServiceConfig, WeightedConfig,
};
use crate::config::merge::DEFAULT_TLS_OPTIONS;
use crate::config::middleware::ErrorsConfig;
use crate::config::{ConfigIssue, DynamicConfig, Element};
use crate::middleware::circuit_breaker::BreakerRegistry;
use crate::middleware::errors::{ErrorPages, ErrorsOptions};
use crate::middleware::{ForwardAuth, Middleware, MiddlewareConfig};
use crate::rules::Rule;
use crate::upstream::{PoolRegistry, Target, TransportRegistry};

/// What `compile` needs to know about one static entrypoint.
#[derive(Debug, Clone, Default)]
pub struct EntryPointInfo {
    pub name: String,
    /// `entryPoints.<name>.http.tls`: routers on this entrypoint are TLS routers by default.
    pub default_tls: Option<RouterTlsConfig>,
    /// `entryPoints.<name>.http.middlewares`, qualified names, applied before the router's own.
    pub middlewares: Vec<String>,
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
                    closed(name, router, placed.rule, placed.priority),
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
                    closed(name, router, placed.rule, placed.priority),
                    bindings,
                    &mut out,
                )
            }
            Err(issue) => out.issues.push(issue),
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
fn closed(name: &str, router: &RouterConfig, rule: Rule, priority: i64) -> Route {
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
    }
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

fn collect_health(cfg: &DynamicConfig, name: &str, service: &Service, out: &mut Vec<HealthTarget>) {
    let Service::LoadBalancer(lb) = service else {
        return;
    };
    let Some(check) = cfg
        .http
        .services
        .get(name)
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.health_check.as_ref())
    else {
        return;
    };
    for endpoint in lb.balancer.endpoints() {
        out.push(HealthTarget {
            service: name.to_string(),
            url: endpoint.url.clone(),
            config: check.clone(),
            state: Arc::clone(&endpoint.state),
        });
    }
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
        })
    }

    /// Resolves a middleware by name, flattening chains; `path` detects cycles.
    fn middleware_into(
        &mut self,
        router: &str,
        name: &str,
        path: &mut Vec<String>,
        out: &mut Vec<Arc<Middleware>>,
    ) -> Result<(), String> {
        if path.iter().any(|p| p == name) {
            return Err(format!("chain cycle through {}", path.join(" -> ")));
        }
        let Some(cfg) = self.cfg.http.middlewares.get(name) else {
            if let Some(reason) = self.cfg.invalid.middlewares.get(name) {
                return Err(reason.clone());
            }
            return Err("does not exist".to_string());
        };
        if let MiddlewareConfig::Chain(chain) = cfg {
            path.push(name.to_string());
            for inner in &chain.middlewares {
                self.middleware_into(router, inner, path, out)
                    .map_err(|e| format!("in chain {name:?}: {inner:?}: {e}"))?;
            }
            path.pop();
            return Ok(());
        }
        if let MiddlewareConfig::CircuitBreaker(c) = cfg {
            // State per router (Traefik instantiates middlewares per router), kept across reloads.
            let breaker = self
                .ctx
                .breakers
                .get_or_compile(router, name, c)
                .map_err(|e| e.to_string())?;
            out.push(Arc::new(Middleware::CircuitBreaker(breaker)));
            return Ok(());
        }
        if let MiddlewareConfig::ForwardAuth(c) = cfg {
            // Its connection pool comes from the reload-surviving registries.
            let compiled = match self.middlewares.get(name) {
                Some(done) => done.clone(),
                None => {
                    let pools = Some((self.ctx.pools, self.ctx.transports));
                    let built = ForwardAuth::compile(c, name, pools)
                        .map(|m| Arc::new(Middleware::ForwardAuth(m)))
                        .map_err(|e| e.to_string());
                    self.middlewares.insert(name.to_string(), built.clone());
                    built
                }
            };
            out.push(compiled?);
            return Ok(());
        }
        if let MiddlewareConfig::Errors(c) = cfg {
            // Needs the error service, resolved like a router's.
            let compiled = match self.middlewares.get(name) {
                Some(done) => done.clone(),
                None => {
                    let built = self.error_pages(c);
                    self.middlewares.insert(name.to_string(), built.clone());
                    built
                }
            };
            out.push(compiled?);
            return Ok(());
        }
        out.push(self.compiled(name, cfg)?);
        Ok(())
    }

    /// Compiles a plain middleware once per compilation, recording what it noticed.
    fn compiled(&mut self, name: &str, cfg: &MiddlewareConfig) -> Resolved<Middleware> {
        if let Some(done) = self.middlewares.get(name) {
            return done.clone();
        }
        if let MiddlewareConfig::IpWhiteList(_) = cfg {
            // Traefik v3 still reads it; one notice per middleware for the life of the process.
            crate::config::deprecation::notice(
                &format!("middleware|{name}|ipWhiteList"),
                &format!("{name}: ipWhiteList"),
                "ipAllowList",
                name,
            );
        }
        let built = match cfg {
            // Its redis key carries the middleware's name, as Traefik's.
            MiddlewareConfig::RateLimit(c) if c.redis.is_some() => {
                crate::middleware::RateLimit::compile_named(c, name).map(Middleware::RateLimit)
            }
            _ => Middleware::compile(cfg),
        }
        .map(Arc::new)
        .map_err(|e| e.to_string());
        if let Ok(m) = &built {
            for notice in m.notices() {
                let issue = ConfigIssue::new(Element::Middleware, name, notice.message.clone())
                    .with_key(m.kind());
                self.notices.push(if notice.error {
                    issue
                } else {
                    issue.as_warning()
                });
            }
            if let Some(path) = m.missing_file() {
                self.missing_files.push(path.to_path_buf());
            }
        }
        self.middlewares.insert(name.to_string(), built.clone());
        built
    }

    fn error_pages(&mut self, cfg: &ErrorsConfig) -> Resolved<Middleware> {
        let options = ErrorsOptions::compile(cfg).map_err(|e| e.to_string())?;
        if self
            .cfg
            .http
            .services
            .get(&cfg.service)
            .is_some_and(|s| !s.middlewares.is_empty())
        {
            return Err(format!(
                "errors: service {:?} has middlewares, which swarmgate does not apply to an \
                 error page service (Traefik 3.7 does): refused",
                cfg.service
            ));
        }
        let service = self
            .service(&cfg.service)
            .map_err(|e| format!("errors: service {:?} {e}", cfg.service))?;
        Ok(Arc::new(Middleware::Errors(ErrorPages::new(
            options, service,
        ))))
    }

    fn service(&mut self, name: &str) -> Resolved<Service> {
        if let Some(done) = self.services.get(name) {
            return done.clone();
        }
        // Placeholder while building, so a weighted service that reaches itself is a cycle.
        self.services.insert(
            name.to_string(),
            Err("is part of a service cycle".to_string()),
        );
        let built = match (
            InternalService::by_name(name),
            self.cfg.http.services.get(name),
        ) {
            // Unless its feature is off (the internal provider lists it as invalid).
            (Some(internal), _) => match self.cfg.invalid.services.get(name) {
                Some(reason) => Err(reason.clone()),
                None => Ok(Arc::new(Service::Internal(internal))),
            },
            (None, None) => match self.cfg.invalid.services.get(name) {
                Some(reason) => Err(reason.clone()),
                None => Err("does not exist".to_string()),
            },
            (None, Some(cfg)) => self.build_service(name, cfg).map(Arc::new),
        };
        self.services.insert(name.to_string(), built.clone());
        built
    }

    fn build_service(&mut self, name: &str, cfg: &ServiceConfig) -> Result<Service, String> {
        let kinds = [
            cfg.load_balancer.is_some(),
            cfg.weighted.is_some(),
            cfg.mirroring.is_some(),
            cfg.failover.is_some(),
            cfg.highest_random_weight.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            0 => {
                return Err(
                    "a service needs a loadBalancer, weighted, mirroring, failover or \
                     highestRandomWeight"
                        .to_string(),
                )
            }
            1 => {}
            _ => return Err("a service must have exactly one kind".to_string()),
        }
        // Service middlewares are applied on a router's own service only (see `router`).
        let children: Vec<&str> = match (&cfg.weighted, &cfg.mirroring, &cfg.failover) {
            (Some(w), _, _) => w.services.iter().map(|c| c.name.as_str()).collect(),
            (_, Some(m), _) => std::iter::once(m.service.as_str())
                .chain(m.mirrors.iter().map(|c| c.name.as_str()))
                .collect(),
            (_, _, Some(f)) => vec![f.service.as_str(), f.fallback.as_str()],
            _ => cfg
                .highest_random_weight
                .iter()
                .flat_map(|h| h.services.iter().map(|c| c.name.as_str()))
                .collect(),
        };
        if let Some(child) = children.iter().find(|c| {
            self.cfg
                .http
                .services
                .get(**c)
                .is_some_and(|s| !s.middlewares.is_empty())
        }) {
            return Err(format!(
                "child service {child:?} has middlewares: Traefik 3.7 applies service middlewares \
                 inside weighted, mirroring and failover services, swarmgate does not (put them \
                 on the routers, or on the parent service)"
            ));
        }
        if let Some(lb) = &cfg.load_balancer {
            return self.load_balancer(name, lb).map(Service::LoadBalancer);
        }
        if let Some(weighted) = &cfg.weighted {
            return self.weighted(name, weighted).map(Service::Weighted);
        }
        if let Some(mirroring) = &cfg.mirroring {
            return self.mirroring(name, mirroring).map(Service::Mirroring);
        }
        if let Some(hrw) = &cfg.highest_random_weight {
            return self.hrw(name, hrw).map(Service::Hrw);
        }
        match &cfg.failover {
            Some(failover) => self.failover(name, failover).map(Service::Failover),
            None => Err("a service needs a kind".to_string()),
        }
    }

    /// Whether service `name` reports its health to a parent, as Traefik's status updaters: a
    /// load balancer with a `healthCheck`, a weighted, mirroring or failover service with
    /// `healthCheck` set; internal services never do.
    fn reports_health(&self, name: &str) -> bool {
        let Some(cfg) = self.cfg.http.services.get(name) else {
            return false;
        };
        cfg.load_balancer
            .as_ref()
            .is_some_and(|lb| lb.health_check.is_some())
            || cfg
                .weighted
                .as_ref()
                .is_some_and(|w| w.health_check.is_some())
            || cfg
                .mirroring
                .as_ref()
                .is_some_and(|m| m.health_check.is_some())
            || cfg
                .failover
                .as_ref()
                .is_some_and(|f| f.health_check.is_some())
            || cfg
                .highest_random_weight
                .as_ref()
                .is_some_and(|h| h.health_check.is_some())
    }

    /// `highestRandomWeight`: children with a positive weight (default 1); with `healthCheck`,
    /// every child must report its health (Traefik).
    fn hrw(
        &mut self,
        name: &str,
        cfg: &crate::config::dynamic::HighestRandomWeightConfig,
    ) -> Result<super::hrw_service::HrwService, String> {
        let mut children = Vec::with_capacity(cfg.services.len());
        for child in &cfg.services {
            let service = self
                .service(&child.name)
                .map_err(|e| format!("service {:?} {e}", child.name))?;
            if cfg.health_check.is_some() && !self.reports_health(&child.name) {
                return Err(format!(
                    "child service {:?} of {name:?} has no healthCheck to report its status",
                    child.name
                ));
            }
            let weight = child.weight.unwrap_or(1);
            if weight <= 0 {
                continue;
            }
            let written = written_name(&child.name, name).to_string();
            children.push((written, weight, service));
        }
        Ok(super::hrw_service::HrwService::new(
            name,
            children,
            cfg.health_check.is_some(),
        ))
    }

    /// `failover`: Traefik needs the main service to report its health (else it could never
    /// know when to fail over), and the fallback too when the failover reports its own.
    fn failover(&mut self, name: &str, cfg: &FailoverConfig) -> Result<FailoverService, String> {
        let no_health = |child: &str| {
            format!("child service {child:?} of {name:?} has no healthCheck to report its status")
        };
        let main = self
            .service(&cfg.service)
            .map_err(|e| format!("service {:?} {e}", cfg.service))?;
        // With `errors.status` the answers tell when to fall back: no health needed (Traefik).
        let on_errors = cfg.errors.as_ref().is_some_and(|e| !e.status.is_empty());
        if !on_errors && !self.reports_health(&cfg.service) {
            return Err(no_health(&cfg.service));
        }
        let fallback = self
            .service(&cfg.fallback)
            .map_err(|e| format!("fallback {:?} {e}", cfg.fallback))?;
        if cfg.health_check.is_some() && !self.reports_health(&cfg.fallback) {
            return Err(no_health(&cfg.fallback));
        }
        let errors = cfg
            .errors
            .as_ref()
            .map(super::failover_errors::FailoverErrors::compile)
            .transpose()?;
        Ok(FailoverService {
            name: name.to_string(),
            main,
            fallback,
            errors,
        })
    }

    /// `mirroring`: the main service answers, the mirrors get copies.
    fn mirroring(&mut self, name: &str, cfg: &MirroringConfig) -> Result<MirroringService, String> {
        let main = self
            .service(&cfg.service)
            .map_err(|e| format!("service {:?} {e}", cfg.service))?;
        if cfg.health_check.is_some() && !self.reports_health(&cfg.service) {
            return Err(format!(
                "service {:?} of mirroring {name:?} has no healthCheck to report its status",
                cfg.service
            ));
        }
        let mut mirrors = Vec::with_capacity(cfg.mirrors.len());
        for mirror in &cfg.mirrors {
            let percent = u64::try_from(mirror.percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| {
                    format!(
                        "mirror {:?}: percent must be between 0 and 100",
                        mirror.name
                    )
                })?;
            let service = self
                .service(&mirror.name)
                .map_err(|e| format!("mirror {:?} {e}", mirror.name))?;
            mirrors.push(Mirror {
                service,
                percent,
                count: Default::default(),
            });
        }
        Ok(MirroringService {
            name: name.to_string(),
            main,
            mirrors: mirrors.into_boxed_slice(),
            total: Default::default(),
            mirror_body: cfg.mirror_body.unwrap_or(true),
            max_body_size: cfg.max_body_size.and_then(|size| u64::try_from(size).ok()),
        })
    }

    /// `weighted`: children picked by smooth WRR (the balancer's schedule over always-up slots).
    fn weighted(&mut self, name: &str, cfg: &WeightedConfig) -> Result<WeightedService, String> {
        if cfg.services.is_empty() {
            return Err("weighted service lists no services".to_string());
        }
        let mut children = Vec::with_capacity(cfg.services.len());
        let mut slots = Vec::with_capacity(cfg.services.len());
        for child in &cfg.services {
            let service = self
                .service(&child.name)
                .map_err(|e| format!("service {:?} {e}", child.name))?;
            if cfg.health_check.is_some() && !self.reports_health(&child.name) {
                // As Traefik: with healthCheck, every child must report its health.
                return Err(format!(
                    "child service {:?} of {name:?} has no healthCheck to report its status",
                    child.name
                ));
            }
            children.push(service);
            slots.push(Endpoint {
                url: written_name(&child.name, name).to_string(),
                weight: child.weight.unwrap_or(1),
                draining: false,
                state: Arc::new(EndpointState::new()),
            });
        }
        let sticky = cfg
            .sticky
            .as_ref()
            .and_then(|s| s.cookie.as_ref())
            .map(|cookie| StickyCookie::new(name, cookie));
        Ok(WeightedService {
            name: name.to_string(),
            balancer: Balancer::with_cursor(slots, sticky, self.ctx.endpoints.cursor(name)),
            children: children.into_boxed_slice(),
            health_check: cfg.health_check.is_some(),
        })
    }

    fn load_balancer(
        &self,
        name: &str,
        lb: &LoadBalancerConfig,
    ) -> Result<LoadBalancedService, String> {
        if let Some(mode) = lb.health_check.as_ref().and_then(|h| h.mode.as_deref()) {
            if mode != "http" && mode != "grpc" {
                // Fail closed: a health check swarmgate cannot run never leaves a server "up".
                return Err(format!("healthCheck.mode {mode:?} is not http or grpc"));
            }
        }
        let transport_cfg = match &lb.servers_transport {
            None => self.ctx.default_transport,
            Some(t) => match self.cfg.http.servers_transports.get(t) {
                Some(found) => found,
                None if self.cfg.invalid.servers_transports.contains_key(t) => {
                    return Err(format!("serversTransport {t:?} is invalid"))
                }
                None => {
                    let names: Vec<&str> = self
                        .cfg
                        .http
                        .servers_transports
                        .keys()
                        .map(String::as_str)
                        .collect();
                    let hint = crate::config::elements::nearest(t, &names)
                        .map(|n| format!(" (did you mean {n:?}?)"))
                        .unwrap_or_default();
                    return Err(format!("serversTransport {t:?} does not exist{hint}"));
                }
            },
        };
        let transport = self
            .ctx
            .transports
            .get_or_create(transport_cfg)
            .map_err(|e| match &lb.servers_transport {
                Some(t) => format!("serversTransport {t:?}: {e}"),
                None => format!("serversTransport (static default): {e}"),
            })?;
        let mut endpoints = Vec::with_capacity(lb.servers.len());
        let mut pools = Vec::with_capacity(lb.servers.len());
        for server in &lb.servers {
            let target = Target::parse(&server.url).map_err(|e| e.to_string())?;
            let state = self.ctx.endpoints.get_or_create(name, &server.url);
            endpoints.push(Endpoint {
                url: server.url.clone(),
                weight: server.weight.unwrap_or(1),
                draining: server.draining,
                state,
            });
            pools.push(self.ctx.pools.get_or_create(&target, &transport));
        }
        let sticky = lb
            .sticky
            .as_ref()
            .and_then(|s| s.cookie.as_ref())
            .map(|cookie| StickyCookie::new(name, cookie));
        let strategy = crate::balance::strategy::Strategy::parse(lb.strategy.as_deref())?;
        Ok(LoadBalancedService {
            name: name.to_string(),
            balancer: Balancer::with_cursor(endpoints, sticky, self.ctx.endpoints.cursor(name))
                .with_strategy(strategy),
            pools: pools.into_boxed_slice(),
            pass_host_header: lb.pass_host_header,
            passive: lb.passive_health_check.as_ref().map(|cfg| {
                crate::balance::passive::PassiveHealthCheck::new(
                    cfg,
                    lb.servers.len(),
                    lb.health_check.is_some(),
                )
            }),
            health_checked: lb.health_check.is_some(),
        })
    }
}
