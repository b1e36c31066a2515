//! The `tcp:` section of the dynamic configuration (and `traefik.tcp.*` labels), in Traefik v3's
//! shape: routers (`HostSNI`, `HostSNIRegexp`, `ClientIP`, `ALPN` rules; TLS passthrough or
//! termination), services (`loadBalancer.servers[].address`, `weighted`), middlewares
//! (`ipAllowList`, `inFlightConn`) and serversTransports (dial timeout, termination delay, TLS,
//! PROXY protocol). Plain serde data: `proxy::tcp` compiles it. Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::dynamic::TlsDomain;
use super::merge::{qualify, qualify_tls_options, DEFAULT_TLS_OPTIONS};
use super::{ConfigIssue, Element};

/// `tcp:`: the TCP routers, services, middlewares and serversTransports of one provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routers: BTreeMap<String, TcpRouterConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, TcpServiceConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub middlewares: BTreeMap<String, TcpMiddlewareConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers_transports: BTreeMap<String, TcpServersTransportConfig>,
    /// Elements a provider found invalid, by name with the reason: their users are closed
    /// (a router whose service or middleware is invalid accepts and closes its connections, so
    /// they never reach a lower-priority router). Never read from or written to a file.
    #[serde(skip)]
    pub invalid: BTreeMap<(TcpElement, String), String>,
}

/// The kinds of TCP elements, to name the invalid ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpElement {
    Router,
    Service,
    Middleware,
    ServersTransport,
}

impl TcpConfig {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
            && self.services.is_empty()
            && self.middlewares.is_empty()
            && self.servers_transports.is_empty()
            && self.invalid.is_empty()
    }

    /// Whether `name` (of `kind`) is known to be invalid, with the reason.
    pub fn invalid_reason(&self, kind: TcpElement, name: &str) -> Option<&str> {
        self.invalid
            .get(&(kind, name.to_string()))
            .map(String::as_str)
    }

    /// Gives every router without `entryPoints` the default ones, as for HTTP routers.
    pub fn apply_default_entrypoints(&mut self, defaults: &[String]) {
        for router in self.routers.values_mut() {
            if router.entry_points.is_empty() {
                router.entry_points = defaults.to_vec();
            }
        }
    }

    /// Adds one provider's TCP elements to `out` under `name@provider`; references without an
    /// `@` point into the same provider. A name holding an `@` is refused.
    pub fn merge_into(&self, out: &mut TcpConfig, provider: &str, issues: &mut Vec<ConfigIssue>) {
        let q = |name: &str| qualify(name, provider);
        let mut own = |element: Element, name: &str| {
            if name.contains('@') {
                issues.push(
                    ConfigIssue::new(element, name, "names must not contain '@'")
                        .with_key(format!("tcp.{element}s.{name}"))
                        .with_origin(provider),
                );
                None
            } else {
                Some(q(name))
            }
        };
        for (name, router) in &self.routers {
            let Some(qualified) = own(Element::Router, name) else {
                continue;
            };
            let mut router = router.clone();
            router.service = q(&router.service);
            router.middlewares = router.middlewares.iter().map(|m| q(m)).collect();
            if let Some(options) = router.tls.as_mut().and_then(|t| t.options.as_mut()) {
                *options = if options.is_empty() {
                    DEFAULT_TLS_OPTIONS.to_string()
                } else {
                    qualify_tls_options(options, provider)
                };
            }
            out.routers.insert(qualified, router);
        }
        for (name, service) in &self.services {
            let Some(qualified) = own(Element::Service, name) else {
                continue;
            };
            let mut service = service.clone();
            if let Some(lb) = &mut service.load_balancer {
                lb.servers_transport = lb.servers_transport.as_deref().map(q);
            }
            if let Some(weighted) = &mut service.weighted {
                for child in &mut weighted.services {
                    child.name = q(&child.name);
                }
            }
            out.services.insert(qualified, service);
        }
        for (name, middleware) in &self.middlewares {
            if let Some(qualified) = own(Element::Middleware, name) {
                out.middlewares.insert(qualified, middleware.clone());
            }
        }
        for (name, transport) in &self.servers_transports {
            if let Some(qualified) = own(Element::ServersTransport, name) {
                out.servers_transports.insert(qualified, transport.clone());
            }
        }
        for ((kind, name), reason) in &self.invalid {
            out.invalid.insert((*kind, q(name)), reason.clone());
        }
    }
}

/// `tcp.routers.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpRouterConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// `HostSNI`, `HostSNIRegexp`, `ClientIP`, `ALPN` combined with `&&`, `||`, `!`.
    pub rule: String,
    /// Accepted as Traefik 3 accepts it; only `v3` (or unset) is implemented for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<String>,
    /// Explicit priority; when absent the rule's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    pub service: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// Present (even empty): the router matches TLS connections (by their ClientHello).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TcpRouterTlsConfig>,
}

/// `tcp.routers.<name>.tls`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpRouterTlsConfig {
    /// Forward the TLS bytes as they are: the backend terminates TLS with its own certificate.
    #[serde(default)]
    pub passthrough: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_resolver: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<TlsDomain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// `tcp.services.<name>`: exactly one of the kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpServiceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<TcpLoadBalancerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<TcpWeightedConfig>,
}

/// `tcp.services.<name>.loadBalancer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpLoadBalancerConfig {
    #[serde(default)]
    pub servers: Vec<TcpServerConfig>,
    /// Name of a `tcp.serversTransports` entry (or `name@provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers_transport: Option<String>,
    /// Deprecated in Traefik 3 for the serversTransport's; still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocolConfig>,
    /// Deprecated in Traefik 3 for the serversTransport's; still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_delay: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<TcpHealthCheckConfig>,
}

/// `loadBalancer.servers[n]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpServerConfig {
    /// `host:port`.
    pub address: String,
    /// Speak TLS to this server (with the serversTransport's `tls`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Swarm provider: the task is leaving; never picked. Not a Traefik field.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draining: bool,
}

/// `proxyProtocol`: send a PROXY header (v1 text or v2 binary) to the server first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyProtocolConfig {
    /// 1 or 2; Traefik's default is 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
}

/// `loadBalancer.healthCheck` of a TCP service (Traefik 3.4): connect (and optionally send
/// `send`, expect `expect`) every `interval`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpHealthCheckConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// `tcp.services.<name>.weighted`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpWeightedConfig {
    #[serde(default)]
    pub services: Vec<TcpWeightedServiceRef>,
    /// Present (even empty): children without a live server are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<super::dynamic::EmptyHealthCheck>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpWeightedServiceRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// `tcp.middlewares.<name>`: exactly one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum TcpMiddlewareConfig {
    IpAllowList(TcpIpAllowListConfig),
    /// Traefik's deprecated name of `ipAllowList`.
    IpWhiteList(TcpIpAllowListConfig),
    InFlightConn(InFlightConnConfig),
}

/// The TCP middleware types, as Traefik names them (for suggestions).
pub const TCP_MIDDLEWARE_TYPES: &[&str] = &["ipAllowList", "ipWhiteList", "inFlightConn"];

/// `ipAllowList`: connections from other addresses are closed at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpIpAllowListConfig {
    #[serde(default)]
    pub source_range: Vec<String>,
}

/// `inFlightConn`: at most `amount` simultaneous connections per client IP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InFlightConnConfig {
    #[serde(default)]
    pub amount: i64,
}

/// `tcp.serversTransports.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpServersTransportConfig {
    /// Default 30s (Traefik's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_keep_alive: Option<Duration>,
    /// How long the other direction may still run after one side closed. Traefik's default is
    /// 100ms; swarmgate forwards each half-close and waits for both sides whatever it says
    /// unless it is set (then it bounds the wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TcpClientTlsConfig>,
}

/// `tcp.serversTransports.<name>.tls`: TLS to the servers marked `tls: true`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpClientTlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(
        default,
        rename = "rootCAs",
        alias = "rootCas",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub root_cas: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<super::dynamic::TransportCertificateConfig>,
    #[serde(
        default,
        rename = "peerCertURI",
        alias = "peerCertUri",
        skip_serializing_if = "Option::is_none"
    )]
    /// A URI SAN the server's certificate must carry (checked as HTTP's serversTransports do).
    pub peer_cert_uri: Option<String>,
    /// SPIFFE: not implemented; a transport that sets it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe: Option<serde_json::Value>,
}

// === checks shared by the file provider and the labels ===

/// What `table` cannot tell from the types: the rule parses (under `ruleSyntax` v3, the only one
/// TCP routers have here), and a router without `tls` names no `HostSNI` but `*` (Traefik refuses
/// it: without TLS there is no server name to match). `Err` is the issue's message.
pub fn check_router(router: &TcpRouterConfig) -> Result<(), String> {
    match router.rule_syntax.as_deref() {
        None | Some("" | "v3" | "default") => {}
        Some(other) => {
            return Err(format!(
                "ruleSyntax {other:?} is not supported for TCP routers (write `v3` or leave it out)"
            ))
        }
    }
    let rule = crate::rules::tcp::TcpRule::parse(&router.rule)
        .map_err(|e| format!("invalid rule {:?}: {e}", router.rule))?;
    if router.tls.is_none() && rule.host_snis().iter().any(|h| h != "*") {
        return Err(format!(
            "invalid rule {:?}: HostSNI names a server name but the router has no `tls` (only \
             HostSNI(`*`) matches plain TCP)",
            router.rule
        ));
    }
    if router.service.trim().is_empty() {
        return Err("the router has no service".to_string());
    }
    Ok(())
}

/// A service names exactly one kind; servers are `host:port`; weights and children make sense.
pub fn check_service(service: &TcpServiceConfig) -> Result<(), String> {
    match (&service.load_balancer, &service.weighted) {
        (Some(lb), None) => {
            for (i, server) in lb.servers.iter().enumerate() {
                if !address_has_port(&server.address) {
                    return Err(format!(
                        "loadBalancer.servers[{i}].address {:?}: expected host:port",
                        server.address
                    ));
                }
            }
            if let Some(pp) = &lb.proxy_protocol {
                check_proxy_protocol(pp).map_err(|e| format!("loadBalancer.proxyProtocol: {e}"))?;
            }
            if let Some(hc) = &lb.health_check {
                let probes = hc.send.is_some() || hc.expect.is_some();
                if probes && lb.servers.iter().any(|s| s.tls) {
                    return Err(concat!(
                        "loadBalancer.healthCheck.send/expect with `tls: true` servers is not ",
                        "supported by swarmgate (a connect check is); the service is refused"
                    )
                    .to_string());
                }
            }
            Ok(())
        }
        (None, Some(w)) if w.services.is_empty() => Err("weighted.services is empty".to_string()),
        (None, Some(_)) => Ok(()),
        (None, None) => Err("the service defines no kind (loadBalancer or weighted)".to_string()),
        (Some(_), Some(_)) => {
            Err("the service defines more than one kind (loadBalancer and weighted)".to_string())
        }
    }
}

fn check_proxy_protocol(pp: &ProxyProtocolConfig) -> Result<(), String> {
    match pp.version {
        None | Some(1) | Some(2) => Ok(()),
        Some(v) => Err(format!("version {v}: only 1 and 2 exist")),
    }
}

fn address_has_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// `ipAllowList.sourceRange` parses; `inFlightConn.amount` is positive.
pub fn check_middleware(middleware: &TcpMiddlewareConfig) -> Result<(), String> {
    match middleware {
        TcpMiddlewareConfig::IpAllowList(list) | TcpMiddlewareConfig::IpWhiteList(list) => {
            if list.source_range.is_empty() {
                return Err("sourceRange is empty".to_string());
            }
            for range in &list.source_range {
                if super::net::parse_net(range).is_none() {
                    return Err(format!("sourceRange {range:?} is no IP or CIDR"));
                }
            }
            Ok(())
        }
        TcpMiddlewareConfig::InFlightConn(c) if c.amount <= 0 => Err(format!(
            "inFlightConn.amount {}: must be at least 1",
            c.amount
        )),
        TcpMiddlewareConfig::InFlightConn(_) => Ok(()),
    }
}

/// What swarmgate cannot honour in a TCP serversTransport is refused (fail closed).
pub fn check_transport(transport: &TcpServersTransportConfig) -> Result<(), String> {
    if let Some(pp) = &transport.proxy_protocol {
        check_proxy_protocol(pp).map_err(|e| format!("proxyProtocol: {e}"))?;
    }
    if let Some(tls) = &transport.tls {
        if tls.spiffe.is_some() {
            return Err("tls.spiffe is not supported by swarmgate".to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
