//! Compiling the merged `tcp:` configuration into a [`TcpTable`]: per entrypoint the plain and the
//! TLS TCP routes in Traefik's priority order, and what the HTTPS routers on it claim (their
//! `Host` names, or a catch-all), which decides precedence (see `route.rs`). A router that cannot
//! be built is left out with an issue; one whose service or middleware is invalid is kept closed
//! (its connections are closed), so they never reach a lower-priority router.
//!
//! Reads the CA and certificate files of TCP serversTransports (once per compile); otherwise pure.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::config::dynamic::{DynamicConfig, ServersTransportConfig};
use crate::config::tcp::{TcpElement, TcpServiceConfig};
use crate::config::{ConfigIssue, Element};
use crate::rules::tcp::TcpRule;
use crate::table::EntryPointInfo;

use super::balance::{Balancer, Server, TcpService};
use super::middleware::TcpMiddleware;

/// Traefik's default dial timeout for TCP servers.
const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Traefik's default `dialKeepAlive`.
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Everything a TCP connection is routed by; replaced whole on each reload.
#[derive(Default)]
pub struct TcpTable {
    /// Indexed like the routing table's entrypoints.
    pub entrypoints: Vec<EntryTcp>,
    /// Every TCP router by qualified name.
    pub routers: BTreeMap<String, Arc<TcpRoute>>,
    /// Every service that compiled (their active health checks run from here).
    pub services: Vec<Arc<TcpService>>,
}

/// One entrypoint's TCP routes and its HTTPS claims.
#[derive(Default)]
pub struct EntryTcp {
    /// Routers without `tls`, highest priority first.
    pub plain: Vec<Arc<TcpRoute>>,
    /// Routers with `tls` (passthrough or terminated), highest priority first.
    pub tls: Vec<Arc<TcpRoute>>,
    /// The exact `Host` names of the HTTPS routers here (lowercased): such an SNI goes to HTTPS
    /// before any TCP router (Traefik 3.7).
    pub https_hosts: HashSet<String>,
    /// Wildcard `Host` names (`*.example.com`) of HTTPS routers, without the `*`.
    pub https_suffixes: Vec<String>,
    /// An HTTPS router here names no host: it takes what no specific TCP router took.
    pub https_catch_all: bool,
    /// Any HTTPS router here.
    pub has_https: bool,
}

impl EntryTcp {
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.tls.is_empty()
    }

    /// Whether an HTTPS router names this server name exactly (or by wildcard).
    pub fn https_claims(&self, server_name: &str) -> bool {
        !server_name.is_empty()
            && (self.https_hosts.contains(server_name)
                || self
                    .https_suffixes
                    .iter()
                    .any(|s| server_name.ends_with(s.as_str()) && server_name.len() > s.len()))
    }
}

/// How a TLS TCP route treats the TLS layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// The bytes go through as they are; the backend terminates TLS.
    Passthrough,
    /// swarmgate terminates TLS (certificate store, TLS options) and sends plaintext.
    Terminate,
}

/// One compiled TCP router.
pub struct TcpRoute {
    /// Qualified name (`pg@file`).
    pub name: String,
    pub rule: TcpRule,
    pub priority: i64,
    pub catch_all: bool,
    /// `None`: a plain TCP router.
    pub tls: Option<TlsMode>,
    /// With [`TlsMode::Terminate`]: the key of the `tls.options` its handshakes must have been
    /// made with (`table::tls_options::key`); a connection handshaken with others is closed.
    pub tls_options: u32,
    pub middlewares: Vec<Arc<TcpMiddleware>>,
    /// `Err`: the router is closed, with the reason.
    pub service: Result<Arc<TcpService>, String>,
}

impl std::fmt::Debug for TcpRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpRoute")
            .field("name", &self.name)
            .field("rule", &self.rule.source())
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

/// A compiled TCP serversTransport.
#[derive(Clone)]
pub struct TcpTransport {
    pub dial_timeout: Duration,
    /// TCP keep-alive probes to the servers (`dialKeepAlive`, Traefik's default 15s; zero: off).
    pub keep_alive: Duration,
    /// How long the other direction may go on after one side closed (`None`: until it ends).
    pub termination_delay: Option<Duration>,
    /// PROXY protocol version sent to the servers first.
    pub proxy_protocol: Option<u8>,
    /// TLS to servers with `tls: true`.
    pub tls: Option<(Arc<rustls::ClientConfig>, Option<String>)>,
}

impl Default for TcpTransport {
    fn default() -> Self {
        TcpTransport {
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            termination_delay: None,
            proxy_protocol: None,
            tls: None,
        }
    }
}

impl TcpTable {
    /// Carries the servers' health (passive back-off, active verdict) from the table this one
    /// replaces, by service name and server address, so a reload (a Swarm event) does not send
    /// connections to a server already known down until its next probe.
    pub fn carry_health_from(&self, previous: &TcpTable) {
        let old: BTreeMap<&str, &Balancer> = previous
            .services
            .iter()
            .filter_map(|s| match &**s {
                TcpService::Servers(b) => Some((b.name.as_str(), b)),
                TcpService::Weighted { .. } => None,
            })
            .collect();
        for service in &self.services {
            let TcpService::Servers(b) = &**service else {
                continue;
            };
            let Some(before) = old.get(b.name.as_str()) else {
                continue;
            };
            for server in &b.servers {
                if let Some(prev) = before.servers.iter().find(|p| p.address == server.address) {
                    server.carry_from(prev, b.health.is_some() && before.health.is_some());
                }
            }
        }
    }
}

/// The key of the `tls.options` a terminating TCP router asks for (`default` when it names
/// none). Other options than `default` need `HostSNI` names: the ClientHello's server name is
/// what selects them (`table::compile` maps the names to the options as it does HTTPS hosts).
fn tls_options_key(cfg: &DynamicConfig, rule: &TcpRule, own: Option<&str>) -> Result<u32, String> {
    use crate::config::merge::DEFAULT_TLS_OPTIONS;
    let name = own.filter(|o| !o.is_empty()).unwrap_or(DEFAULT_TLS_OPTIONS);
    if let Some(reason) = cfg.invalid.tls_options.get(name) {
        return Err(format!("its TLS options {name:?} are invalid ({reason})"));
    }
    let options = cfg.tls.options.get(name);
    if options.is_none() && name != DEFAULT_TLS_OPTIONS {
        return Err(format!("its TLS options {name:?} do not exist"));
    }
    if name != DEFAULT_TLS_OPTIONS && !rule.host_snis().iter().any(|h| h != "*") {
        return Err(format!(
            "tls.options {name:?} need a HostSNI naming the server (the ClientHello's server \
             name selects the options; HostSNI(`*`) and HostSNIRegexp get the default ones)"
        ));
    }
    Ok(crate::table::tls_options::key(name, options))
}

/// Builds the table from the merged configuration; `entrypoints` in the routing table's order.
pub fn compile(
    cfg: &DynamicConfig,
    entrypoints: &[EntryPointInfo],
) -> (TcpTable, Vec<ConfigIssue>) {
    let mut issues = Vec::new();
    let tcp = &cfg.tcp;
    let mut table = TcpTable {
        entrypoints: entrypoints.iter().map(|_| EntryTcp::default()).collect(),
        routers: BTreeMap::new(),
        services: Vec::new(),
    };
    let index_of = |name: &str| entrypoints.iter().position(|e| e.name == name);

    // HTTPS claims, per entrypoint.
    for router in cfg.http.routers.values() {
        for ep in &router.entry_points {
            let Some(i) = index_of(ep) else { continue };
            let tls = router.tls.is_some() || entrypoints[i].default_tls.is_some();
            if !tls {
                continue;
            }
            let Ok(rule) = router.parse_rule() else {
                continue;
            };
            let entry = &mut table.entrypoints[i];
            entry.has_https = true;
            let hosts = rule.host_names();
            if hosts.is_empty() {
                entry.https_catch_all = true;
            }
            for host in hosts {
                match host.strip_prefix('*') {
                    Some(suffix) => entry
                        .https_suffixes
                        .push(suffix.trim_start_matches('*').to_string()),
                    None => {
                        entry.https_hosts.insert(host);
                    }
                }
            }
        }
    }

    // Transports, services, middlewares.
    let mut transports: BTreeMap<&str, Result<TcpTransport, String>> = BTreeMap::new();
    for (name, t) in &tcp.servers_transports {
        let built = transport(t);
        if let Err(message) = &built {
            issues.push(
                ConfigIssue::new(Element::ServersTransport, name, message.clone())
                    .with_key(format!("tcp.serversTransports.{name}")),
            );
        }
        transports.insert(name, built);
    }
    let mut services: BTreeMap<String, Result<Arc<TcpService>, String>> = BTreeMap::new();
    for name in tcp.services.keys() {
        let built = service(name, tcp, &transports, &mut services, 0);
        if let Err(reason) = &built {
            issues.push(
                ConfigIssue::new(
                    Element::Service,
                    name,
                    format!("TCP service not built: {reason}"),
                )
                .with_key(format!("tcp.services.{name}")),
            );
        }
    }
    let mut middlewares: BTreeMap<&str, Result<Arc<TcpMiddleware>, String>> = BTreeMap::new();
    for (name, m) in &tcp.middlewares {
        middlewares.insert(name, TcpMiddleware::build(m).map(Arc::new));
    }

    for (name, router) in &tcp.routers {
        let key = format!("tcp.routers.{name}");
        let report = |issues: &mut Vec<ConfigIssue>, message: String| {
            issues.push(ConfigIssue::new(Element::Router, name, message).with_key(key.clone()));
        };
        if let Err(message) = crate::config::tcp::check_router(router) {
            report(&mut issues, message);
            continue;
        }
        let Ok(rule) = TcpRule::parse(&router.rule) else {
            continue;
        };
        let mut closed = None;
        let target = match services.get(&router.service) {
            Some(Ok(s)) => Ok(Arc::clone(s)),
            Some(Err(reason)) => Err(format!("its service {:?} {reason}", router.service)),
            None => match tcp.invalid_reason(TcpElement::Service, &router.service) {
                Some(reason) => Err(format!("its service {:?} {reason}", router.service)),
                None => Err(format!("its service {:?} does not exist", router.service)),
            },
        };
        if let Err(reason) = &target {
            closed = Some(reason.clone());
        }
        let mut mws = Vec::new();
        for m in &router.middlewares {
            match middlewares.get(m.as_str()) {
                Some(Ok(mw)) => mws.push(Arc::clone(mw)),
                Some(Err(reason)) => {
                    closed.get_or_insert(format!("its middleware {m:?} is invalid: {reason}"));
                }
                None => {
                    let reason = tcp
                        .invalid_reason(TcpElement::Middleware, m)
                        .map(|r| format!("its middleware {m:?} {r}"))
                        .unwrap_or_else(|| match cfg.http.middlewares.contains_key(m) {
                            true => format!("its middleware {m:?} is an HTTP middleware"),
                            false => format!("its middleware {m:?} does not exist"),
                        });
                    closed.get_or_insert(reason);
                }
            }
        }
        let terminated = router.tls.as_ref().filter(|t| !t.passthrough);
        let tls_options = match terminated {
            None => 0,
            Some(t) => match tls_options_key(cfg, &rule, t.options.as_deref()) {
                Ok(key) => key,
                Err(reason) => {
                    closed.get_or_insert(reason);
                    0
                }
            },
        };
        if let Some(reason) = &closed {
            report(
                &mut issues,
                format!("closed (its connections are closed): {reason}"),
            );
        }
        let tls = router.tls.as_ref().map(|t| match t.passthrough {
            true => TlsMode::Passthrough,
            false => TlsMode::Terminate,
        });
        let route = Arc::new(TcpRoute {
            name: name.clone(),
            priority: router.priority.unwrap_or_else(|| rule.default_priority()),
            catch_all: rule.is_catch_all(),
            rule,
            tls,
            tls_options,
            middlewares: mws,
            service: match closed {
                Some(reason) => Err(reason),
                None => target,
            },
        });
        let mut placed = false;
        for ep in &router.entry_points {
            let Some(i) = index_of(ep) else {
                report(&mut issues, format!("entrypoint {ep:?} does not exist"));
                continue;
            };
            placed = true;
            let entry = &mut table.entrypoints[i];
            match route.tls {
                None => entry.plain.push(Arc::clone(&route)),
                Some(_) => entry.tls.push(Arc::clone(&route)),
            }
        }
        if !placed && router.entry_points.is_empty() {
            report(&mut issues, "the router is on no entrypoint".to_string());
        }
        table.routers.insert(name.clone(), route);
    }
    table.services = services.into_values().filter_map(Result::ok).collect();
    for entry in &mut table.entrypoints {
        for list in [&mut entry.plain, &mut entry.tls] {
            list.sort_by(|a, b| {
                b.priority
                    .cmp(&a.priority)
                    .then_with(|| a.name.cmp(&b.name))
            });
        }
    }
    (table, issues)
}

fn transport(t: &crate::config::tcp::TcpServersTransportConfig) -> Result<TcpTransport, String> {
    crate::config::tcp::check_transport(t)?;
    let tls = match &t.tls {
        None => None,
        Some(tls) => {
            let http = ServersTransportConfig {
                server_name: tls.server_name.clone(),
                insecure_skip_verify: tls.insecure_skip_verify,
                root_cas: tls.root_cas.clone(),
                certificates: tls.certificates.clone(),
                peer_cert_uri: tls.peer_cert_uri.clone(),
                disable_http2: true,
                ..Default::default()
            };
            let built =
                crate::upstream::Transport::from_config(&http).map_err(|e| format!("tls: {e}"))?;
            let mut client = (*built.tls_h1).clone();
            client.alpn_protocols.clear();
            Some((Arc::new(client), tls.server_name.clone()))
        }
    };
    Ok(TcpTransport {
        dial_timeout: t.dial_timeout.map_or(DEFAULT_DIAL_TIMEOUT, |d| d.0),
        keep_alive: t.dial_keep_alive.map_or(DEFAULT_KEEP_ALIVE, |d| d.0),
        // Traefik: a negative delay waits for ever; our duration type has no sign, so a
        // zero-length delay is read as "close both at once", as Traefik's 0.
        termination_delay: t.termination_delay.map(|d| d.0),
        proxy_protocol: t.proxy_protocol.as_ref().map(|p| p.version.unwrap_or(2)),
        tls,
    })
}

/// Builds (and memoises) service `name`; weighted services nest up to a small depth.
fn service(
    name: &str,
    tcp: &crate::config::tcp::TcpConfig,
    transports: &BTreeMap<&str, Result<TcpTransport, String>>,
    built: &mut BTreeMap<String, Result<Arc<TcpService>, String>>,
    depth: usize,
) -> Result<Arc<TcpService>, String> {
    if let Some(done) = built.get(name) {
        return done.clone();
    }
    if depth > 8 {
        return Err("is nested too deeply (a loop of weighted services?)".to_string());
    }
    let result = match tcp.services.get(name) {
        None => Err(match tcp.invalid_reason(TcpElement::Service, name) {
            Some(reason) => reason.to_string(),
            None => "does not exist".to_string(),
        }),
        Some(cfg) => build_service(name, cfg, tcp, transports, built, depth),
    };
    built.insert(name.to_string(), result.clone());
    result
}

fn build_service(
    name: &str,
    cfg: &TcpServiceConfig,
    tcp: &crate::config::tcp::TcpConfig,
    transports: &BTreeMap<&str, Result<TcpTransport, String>>,
    built: &mut BTreeMap<String, Result<Arc<TcpService>, String>>,
    depth: usize,
) -> Result<Arc<TcpService>, String> {
    crate::config::tcp::check_service(cfg)?;
    if let Some(lb) = &cfg.load_balancer {
        let mut transport = match lb.servers_transport.as_deref() {
            None => TcpTransport::default(),
            Some(t) => match transports.get(t) {
                Some(Ok(t)) => t.clone(),
                Some(Err(e)) => return Err(format!("its serversTransport {t:?} is invalid: {e}")),
                None => match tcp.invalid_reason(TcpElement::ServersTransport, t) {
                    Some(r) => return Err(format!("its serversTransport {t:?} {r}")),
                    None => return Err(format!("its serversTransport {t:?} does not exist")),
                },
            },
        };
        if let Some(pp) = &lb.proxy_protocol {
            transport.proxy_protocol = Some(pp.version.unwrap_or(2));
        }
        if let Some(ms) = lb.termination_delay {
            transport.termination_delay = u64::try_from(ms).ok().map(Duration::from_millis);
        }
        let servers = lb
            .servers
            .iter()
            .map(|s| Server::new(&s.address, s.tls, s.weight.unwrap_or(1), s.draining))
            .collect();
        let mut balancer = Balancer::new(name, servers, transport);
        balancer.health = lb.health_check.clone();
        return Ok(Arc::new(TcpService::Servers(balancer)));
    }
    let Some(weighted) = &cfg.weighted else {
        return Err("defines no kind".to_string());
    };
    let mut children = Vec::new();
    for child in &weighted.services {
        let s = service(&child.name, tcp, transports, built, depth + 1)
            .map_err(|e| format!("its child {:?} {e}", child.name))?;
        children.push((s, child.weight.unwrap_or(1)));
    }
    Ok(Arc::new(TcpService::weighted(name, children)))
}

#[cfg(test)]
mod tests;
