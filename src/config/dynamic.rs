//! Dynamic configuration: routers, services, middlewares and TLS, in Traefik v3's shape.
//!
//! Plain serde data, provider-agnostic. Providers emit one `DynamicConfig` each; `merge` qualifies names as
//! `name@provider`; `table::compile` turns the merged value into a `RoutingTable`. Pure: no I/O here.
//! Field names follow Traefik's file provider (camelCase), so a Traefik dynamic file reads unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;
use crate::config::middleware::MiddlewareConfig;

/// The whole dynamic configuration of one provider (or the merge of all of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicConfig {
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default, skip_serializing_if = "TlsConfig::is_empty")]
    pub tls: TlsConfig,
    /// `udp:` routers and services (`config::udp`).
    #[serde(default, skip_serializing_if = "super::udp::UdpConfig::is_empty")]
    pub udp: super::udp::UdpConfig,
    /// `tcp:` (see `config::tcp`).
    #[serde(default, skip_serializing_if = "super::tcp::TcpConfig::is_empty")]
    pub tcp: super::tcp::TcpConfig,
    /// Elements a provider found invalid. They are not served, but their names stay known so
    /// whatever uses them fails closed (`table::compile`); never read from or written to a file.
    #[serde(skip)]
    pub invalid: Invalid,
}

impl DynamicConfig {
    /// Gives every router without `entryPoints` the default ones, as Traefik does when it merges
    /// providers, so the API, ACME and the table all see the same list; the invalid routers too,
    /// so their closed routes hold the places they would have had. With no default entrypoint
    /// the list stays empty, and `table::compile` reports the router.
    pub fn apply_default_entrypoints(&mut self, defaults: &[String]) {
        let invalid = self.invalid.routers.values_mut().map(|(router, _)| router);
        for router in self.http.routers.values_mut().chain(invalid) {
            if router.entry_points.is_empty() {
                router.entry_points = defaults.to_vec();
            }
        }
        self.tcp.apply_default_entrypoints(defaults);
    }
}

impl DynamicConfig {
    /// Gives every router without `ruleSyntax` the static `core.defaultRuleSyntax`, as Traefik's
    /// entrypoint models do, except routers whose rule came from `defaultRule` (Traefik leaves
    /// those on v3).
    pub fn apply_default_rule_syntax(&mut self, default: Option<crate::rules::Syntax>) {
        let Some(default) = default else {
            return;
        };
        let invalid = self.invalid.routers.values_mut().map(|(router, _)| router);
        for router in self.http.routers.values_mut().chain(invalid) {
            if router.rule_syntax.is_none() && !router.default_rule {
                router.rule_syntax = Some(default.as_str().to_string());
            }
        }
    }
}

/// The invalid elements of a provider's configuration (see `config::elements`), each with the
/// short reason shown to the routers that use it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invalid {
    /// Routers that cannot be served but whose rule is known (as far as it could be read, with
    /// priority, entrypoints and TLS mode): compiled as closed routes answering 503, so their
    /// requests never reach a lower-priority router. `reason` by router name.
    pub routers: BTreeMap<String, (RouterConfig, String)>,
    pub middlewares: BTreeMap<String, String>,
    pub services: BTreeMap<String, String>,
    pub servers_transports: BTreeMap<String, String>,
    /// `tls.options` entries that could not be read.
    pub tls_options: BTreeMap<String, String>,
    /// What the reader found (for the inline `dynamic` section of the static configuration, which
    /// has no provider loop to report them); a provider moves them into its snapshot.
    pub issues: Vec<super::ConfigIssue>,
}

impl Invalid {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty()
            && self.middlewares.is_empty()
            && self.services.is_empty()
            && self.servers_transports.is_empty()
            && self.tls_options.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default)]
    pub routers: BTreeMap<String, RouterConfig>,
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
    #[serde(default)]
    pub middlewares: BTreeMap<String, MiddlewareConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers_transports: BTreeMap<String, ServersTransportConfig>,
}

/// `http.routers.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterConfig {
    /// Entrypoints this router listens on; empty means every entrypoint (Traefik's default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    pub rule: String,
    /// Explicit priority; when absent the rule's length is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    pub service: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// Present (even empty) means the router only matches on TLS entrypoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTlsConfig>,
    /// `ruleSyntax`: `v2` or `v3` (Traefik 3's transition option); unset means the static
    /// `core.defaultRuleSyntax`, given at merge by [`DynamicConfig::apply_default_rule_syntax`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<String>,
    /// The rule was made from the provider's `defaultRule` (Traefik's `DefaultRule`): such a
    /// router keeps the v3 syntax whatever `core.defaultRuleSyntax` says, as in Traefik.
    #[serde(skip)]
    pub default_rule: bool,
    /// `observability`: this router's access-log, metrics and tracing switches (an unset one
    /// takes its entrypoint's value, `config::observability::Switches::resolve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<super::observability::RouterObservability>,
}

impl RouterConfig {
    /// The syntax the rule is written in: `ruleSyntax` when set, else v3.
    pub fn syntax(&self) -> Result<crate::rules::Syntax, String> {
        let explicit = match self.rule_syntax.as_deref() {
            Some(value) => crate::rules::Syntax::from_option(value)?,
            None => None,
        };
        Ok(explicit.unwrap_or_default())
    }

    /// Parses the rule under [`RouterConfig::syntax`]; the error reads
    /// `invalid rule "...": column N: ...` (or names the bad `ruleSyntax`).
    pub fn parse_rule(&self) -> Result<crate::rules::Rule, String> {
        let syntax = self.syntax()?;
        crate::rules::Rule::parse_with(&self.rule, syntax).map_err(|e| {
            let under = match syntax {
                crate::rules::Syntax::V2 => " (ruleSyntax v2)",
                crate::rules::Syntax::V3 => "",
            };
            format!("invalid rule {:?}{under}: {e}", self.rule)
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterTlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_resolver: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<TlsDomain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsDomain {
    pub main: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
}

/// `http.services.<name>`: exactly one of the kinds must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConfig {
    /// Traefik 3.7's service middlewares: applied after the router's, around this service.
    /// Only on a router's own service (a child of a weighted, mirroring or failover service
    /// with middlewares is refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<WeightedConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirroring: Option<MirroringConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverConfig>,
    /// Traefik 3.7's `highestRandomWeight` kind: each client IP sticks to one child service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_random_weight: Option<HighestRandomWeightConfig>,
}

/// `highestRandomWeight` service: the child with the highest `weight / -ln(FNV-1a(client IP +
/// child name) / 2^64)` answers (Traefik's `hrw` balancer over services).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HighestRandomWeightConfig {
    #[serde(default)]
    pub services: Vec<HrwServiceRef>,
    /// Present (even empty): children that are down are skipped, and the service reports its
    /// own health (any child up) to its parents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<EmptyHealthCheck>,
}

/// One child of a `highestRandomWeight` service; `weight` defaults to 1, 0 or less leaves the
/// child out (Traefik).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HrwServiceRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

/// `mirroring` service: `service` answers; each mirror gets a copy of `percent` % of the requests
/// (fire and forget). Traefik's defaults: `mirrorBody: true`, `maxBodySize: -1` (unbounded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MirroringConfig {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_body: Option<bool>,
    /// Largest body copied to the mirrors; a larger request is not mirrored. Negative: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<MirrorRef>,
    /// Present (even empty): the service reports its main service's health to its parents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<EmptyHealthCheck>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MirrorRef {
    pub name: String,
    #[serde(default)]
    pub percent: i64,
}

/// `failover` service: `service` while it has a healthy server, else `fallback`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverConfig {
    pub service: String,
    pub fallback: String,
    /// Present (even empty): the service reports its health (main or fallback up) to its parents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<EmptyHealthCheck>,
    /// `errors`: the main service's answers whose status is in `status` are dropped and the
    /// request is sent again to the fallback (see `proxy::failover`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<FailoverErrorsConfig>,
}

/// `failover.errors` (Traefik 3.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverErrorsConfig {
    /// Status codes or ranges (`"500"`, `"502-504"`).
    #[serde(default)]
    pub status: Vec<String>,
    /// Largest request body kept to send again; `-1` (Traefik's default): no limit.
    #[serde(default = "unlimited_body")]
    pub max_request_body_bytes: i64,
}

impl Default for FailoverErrorsConfig {
    fn default() -> Self {
        FailoverErrorsConfig {
            status: Vec::new(),
            max_request_body_bytes: -1,
        }
    }
}

fn unlimited_body() -> i64 {
    -1
}

/// The `healthCheck: {}` of a service made of services: it has no options, only presence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyHealthCheck {}

/// `loadBalancer.responseForwarding`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseForwardingConfig {
    /// Accepted for compatibility: swarmgate writes each response chunk as it arrives
    /// (as Traefik with a negative interval), so there is nothing to flush later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_interval: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerConfig {
    #[serde(default)]
    pub servers: Vec<ServerConfig>,
    #[serde(default = "default_true")]
    pub pass_host_header: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<StickyConfig>,
    /// Name of a `serversTransports` entry (or `name@provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers_transport: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_forwarding: Option<ResponseForwardingConfig>,
    /// Traefik 3.7's `wrr` (default), `p2c` or `hrw` (`leasttime` is refused when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// `passiveHealthCheck` (Traefik 3.7): servers failing in live traffic leave the rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_health_check: Option<PassiveHealthCheckConfig>,
}

/// `loadBalancer.passiveHealthCheck`: a server whose answers fail (no answer, or a status of 500
/// or more) `maxFailedAttempts` times within `failureWindow` is out of rotation for `failureWindow`
/// (with an active `healthCheck`: until its next passing probe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassiveHealthCheckConfig {
    /// Default 10s (Traefik's).
    #[serde(default = "default_failure_window")]
    pub failure_window: Duration,
    /// Default 1 (Traefik's).
    #[serde(default = "default_max_failed_attempts")]
    pub max_failed_attempts: i64,
}

impl Default for PassiveHealthCheckConfig {
    fn default() -> Self {
        PassiveHealthCheckConfig {
            failure_window: default_failure_window(),
            max_failed_attempts: default_max_failed_attempts(),
        }
    }
}

fn default_failure_window() -> Duration {
    Duration(std::time::Duration::from_secs(10))
}

fn default_max_failed_attempts() -> i64 {
    1
}

impl Default for LoadBalancerConfig {
    fn default() -> Self {
        LoadBalancerConfig {
            servers: Vec::new(),
            pass_host_header: true,
            health_check: None,
            sticky: None,
            servers_transport: None,
            response_forwarding: None,
            strategy: None,
            passive_health_check: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerConfig {
    /// `http://10.0.1.5:8080`, `https://…`, `h2c://…`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Swarm provider: the task is shutting down or unhealthy; kept out of rotation but its
    /// in-flight requests finish. Not a Traefik field.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draining: bool,
    /// Swarm provider: a task's address on an overlay network, connected within
    /// `dialTimeout` or swarmgate's short default for tasks (a gone task blackholes SYNs). Not a
    /// Traefik field.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overlay: bool,
    /// Where the server came from (a Swarm task, a file, …), set by its provider for the API and
    /// the dashboard. Never read from or written to a file; not read on the request path.
    #[serde(skip)]
    pub origin: Option<std::sync::Arc<super::server_origin::ServerOrigin>>,
}

impl ServerConfig {
    pub fn new(url: impl Into<String>) -> Self {
        ServerConfig {
            url: url.into(),
            weight: None,
            draining: false,
            overlay: false,
            origin: None,
        }
    }

    /// The same server, marked as coming from `origin`.
    pub fn with_origin(mut self, origin: super::server_origin::ServerOrigin) -> Self {
        self.origin = Some(std::sync::Arc::new(origin));
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Interval while the server is down (Traefik 3.3+); `interval` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// `http` (default) or `grpc` (the gRPC health protocol); anything else is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Follow redirects and judge the final answer (Traefik's default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Expected status; any 2xx/3xx when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Consecutive successes needed to come back up (swarmgate extension; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    /// Consecutive failures needed to go down (swarmgate extension; default 1, as Traefik).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StickyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<StickyCookieConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StickyCookieConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub http_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Cookie `Domain` attribute (Traefik v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// `weighted` service: splits traffic across other services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedConfig {
    #[serde(default)]
    pub services: Vec<WeightedServiceRef>,
    /// Sticky sessions across the children (the cookie names a child service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<StickyConfig>,
    /// Present (even empty): children without a healthy server are skipped, and the service
    /// reports its own health (any child up) to its parents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<EmptyHealthCheck>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedServiceRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// `http.serversTransports.<name>`: how swarmgate talks to upstream servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServersTransportConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// PEM files with extra CA certificates for `https` servers.
    /// Traefik spells it `rootCAs`.
    #[serde(
        default,
        rename = "rootCAs",
        alias = "rootCas",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub root_cas: Vec<String>,
    /// Negative: no connection reuse (as Traefik/Go); 0 or absent: the default (200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_conns_per_host: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding_timeouts: Option<ForwardingTimeoutsConfig>,
    /// Client certificates presented to `https` servers (mTLS), files or inline PEM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<TransportCertificateConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suites: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// Speak HTTP/1.1 only to `https` servers (no `h2` offered in ALPN).
    #[serde(default, rename = "disableHTTP2", alias = "disableHttp2")]
    pub disable_http2: bool,
    /// Deprecated in Traefik for `peerCertSANs`: the server certificate must carry this URI SAN.
    #[serde(
        default,
        rename = "peerCertURI",
        alias = "peerCertUri",
        skip_serializing_if = "Option::is_none"
    )]
    pub peer_cert_uri: Option<String>,
    /// The server certificate must carry one of these SANs (`type: URI|DNSName`, `value`).
    #[serde(
        default,
        rename = "peerCertSANs",
        alias = "peerCertSans",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub peer_cert_sans: Vec<PeerCertSanConfig>,
    /// SPIFFE workload identity: not implemented; a transport that sets it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe: Option<serde_json::Value>,
}

/// `serversTransports.<n>.certificates[]`: a client certificate and its key, each a file path
/// or the PEM itself (Traefik's `FileOrContent`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransportCertificateConfig {
    pub cert_file: String,
    pub key_file: String,
}

/// `serversTransports.<n>.peerCertSANs[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerCertSanConfig {
    /// `URI` or `DNSName`.
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardingTimeoutsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_header_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_conn_timeout: Option<Duration>,
    /// HTTP/2 servers: a PING is sent after this long without a frame received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_idle_timeout: Option<Duration>,
    /// HTTP/2 servers: the connection is closed when the PING is not answered in this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_timeout: Option<Duration>,
}

/// Top-level `tls` section of the dynamic configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stores: BTreeMap<String, TlsStoreConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, TlsOptionsConfig>,
}

/// `tls.options.<name>`, Traefik's `tls.Options`. Values are checked when the options are built
/// (`tls::options`): a name swarmgate cannot honour makes the whole set invalid (fail closed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsOptionsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suites: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_preferences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuthConfig>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sni_strict: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn_protocols: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_session_tickets: bool,
    /// Deprecated and ineffective in Traefik (Go ignores it); accepted with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefer_server_cipher_suites: Option<bool>,
}

/// `tls.options.<name>.clientAuth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientAuthConfig {
    /// Each a file path or the PEM itself (Traefik's `FileOrContent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth_type: Option<String>,
}

impl TlsConfig {
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.stores.is_empty() && self.options.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateConfig {
    pub cert_file: String,
    pub key_file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsStoreConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_certificate: Option<CertificateConfig>,
}

fn default_true() -> bool {
    true
}
