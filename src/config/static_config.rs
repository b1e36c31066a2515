//! Static configuration: entrypoints, providers, certificate resolvers, api, metrics, logs.
//!
//! The shape is Traefik v3's static configuration (camelCase keys), so `traefik.toml`/`traefik.yml`
//! map onto it directly; swarmgate-only options are marked as such. Read once at start.
//! Pipeline: file / CLI arguments / environment → `serde_json::Value` tree → `StaticConfig`
//! (see `config::traefik` for the Traefik-compatible sources). Pure: no I/O here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::access_log::{AccessLogFields, AccessLogFilters, FieldMode, HeaderFields};
use super::duration::Duration;
use super::dynamic::{DynamicConfig, ServersTransportConfig};
use super::net::IpRange;
pub use super::observability::{EntryPointObservability, TraceVerbosity, TracingConfig};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub entry_points: BTreeMap<String, EntryPointConfig>,
    #[serde(default)]
    pub providers: ProvidersConfig,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub certificates_resolvers: BTreeMap<String, CertResolverConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<PingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogConfig>,
    /// `tracing`: OpenTelemetry traces (`config::observability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfig>,
    #[serde(default)]
    pub log: LogConfig,
    /// Default transport to upstream servers (Traefik's static `serversTransport`).
    #[serde(default)]
    pub servers_transport: ServersTransportConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalConfig>,
    /// `core.defaultRuleSyntax`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<CoreConfig>,
    /// swarmgate extension: dynamic configuration written inline in the static file
    /// (provider name `static`), handy for small setups and the embedded demo.
    /// Read element by element (`config::elements`): a bad element is reported and closed, the
    /// rest served.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::elements::deserialize_inline"
    )]
    pub dynamic: Option<DynamicConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointConfig {
    /// `:80`, `127.0.0.1:8080`, `[::]:443`; `/tcp` or `/udp` may follow (Traefik's form).
    pub address: String,
    /// `asDefault`: routers without `entryPoints` attach to the entrypoints marked so (when any is).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<EntryPointHttpConfig>,
    /// `http2.maxConcurrentStreams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2: Option<EntryPointHttp2Config>,
    /// `http3`: also serve HTTP/3 over QUIC on the same address (UDP), and advertise it with
    /// `Alt-Svc` on the TLS responses of this entrypoint (`proxy::h3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http3: Option<EntryPointHttp3Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<EntryPointTransportConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_headers: Option<ForwardedHeadersConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocolConfig>,
    /// `observability`: what this entrypoint reports (tracing, metrics, access logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<EntryPointObservability>,
    /// `reusePort`: bind with `SO_REUSEPORT`, so another process (a new edge task on the host
    /// network) can listen on the same port while this one drains.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reuse_port: bool,
    /// `udp.timeout`: how long a UDP session lives without a datagram either way (default 3s,
    /// as Traefik). Read on `/udp` entrypoints only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<EntryPointUdpConfig>,
}

/// `entryPoints.<name>.udp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointUdpConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// Traefik's default `udp.timeout`.
pub const DEFAULT_UDP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl EntryPointConfig {
    /// Whether the address names UDP (`:53/udp`); Traefik's default protocol is TCP.
    pub fn is_udp(&self) -> bool {
        self.address
            .rsplit_once('/')
            .is_some_and(|(_, proto)| proto.eq_ignore_ascii_case("udp"))
    }

    /// `udp.timeout`, or Traefik's default (3s); `Err` when it is zero (a session would end
    /// before its answer).
    pub fn udp_timeout(&self) -> Result<std::time::Duration, String> {
        match self.udp.as_ref().and_then(|u| u.timeout) {
            None => Ok(DEFAULT_UDP_TIMEOUT),
            Some(d) if d.0.is_zero() => Err(
                "udp.timeout is 0: every UDP session would end before its answer (Traefik's \
                 default is 3s)"
                    .to_string(),
            ),
            Some(d) => Ok(d.0),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointHttpConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirections: Option<RedirectionsConfig>,
    /// Default TLS for the routers on this entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<EntryPointTlsConfig>,
    /// Default middlewares for the routers on this entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// Encoded characters refused in the path of a request a router matched; an option not
    /// given allows its character (Traefik 3.7's defaults allow all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_characters: Option<crate::config::middleware::EncodedCharactersConfig>,
    /// Remove `.`/`..` segments and duplicate slashes from the path on arrival (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanitize_path: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectionsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<EntryPointRedirectConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointRedirectConfig {
    /// Target entrypoint name (its port is used) or a port (`:443`).
    pub to: String,
    #[serde(default = "default_https")]
    pub scheme: String,
    #[serde(default = "default_true")]
    pub permanent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointTlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_resolver: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<super::dynamic::TlsDomain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointHttp2Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_streams: Option<u32>,
}

/// `entryPoints.<name>.http3`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointHttp3Config {
    /// The UDP port announced in `Alt-Svc` when it differs from the one listened on (a port
    /// published elsewhere, as Traefik's `http3.advertisedPort`); 0 or none: the listening port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised_port: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointTransportConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responding_timeouts: Option<RespondingTimeoutsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub life_cycle: Option<LifeCycleConfig>,
    /// swarmgate extension: maximum concurrent connections on this entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// swarmgate extension: maximum request header size in bytes (431 beyond).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_header_bytes: Option<usize>,
    /// swarmgate extension: time allowed to receive the request head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_read_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RespondingTimeoutsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Duration>,
    /// swarmgate extension: close a TCP router's session after this long without a byte either
    /// way (both sides closed). None or zero: never, as Traefik (which has no idle timeout for
    /// routed TCP sessions; `idleTimeout` is HTTP keep-alive only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_idle_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifeCycleConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_accept_grace_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_time_out: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardedHeadersConfig {
    #[serde(default)]
    pub insecure: bool,
    /// Traefik spells it `trustedIPs`.
    #[serde(
        default,
        rename = "trustedIPs",
        alias = "trustedIps",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub trusted_ips: Vec<IpRange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyProtocolConfig {
    #[serde(default)]
    pub insecure: bool,
    /// Traefik spells it `trustedIPs`.
    #[serde(
        default,
        rename = "trustedIPs",
        alias = "trustedIps",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub trusted_ips: Vec<IpRange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvidersConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers_throttle_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileProviderConfig>,
    /// Traefik v3 `providers.swarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmProviderConfig>,
    /// Traefik v2 `providers.docker` (with `swarmMode = true`); mapped onto `swarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<SwarmProviderConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileProviderConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    #[serde(default = "default_true")]
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SwarmProviderConfig {
    #[serde(default = "default_docker_endpoint")]
    pub endpoint: String,
    #[serde(default = "default_true")]
    pub exposed_by_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default = "default_rule_template")]
    pub default_rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<String>,
    /// Accepted for compatibility; swarmgate is event-driven (used as the resync period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<Duration>,
    #[serde(default = "default_true")]
    pub watch: bool,
    /// v2 `providers.docker.swarmMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm_mode: Option<bool>,
    /// Traefik spells it `useBindPortIP`.
    #[serde(
        default,
        rename = "useBindPortIP",
        alias = "useBindPortIp",
        skip_serializing_if = "Option::is_none"
    )]
    pub use_bind_port_ip: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty_services: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_client_timeout: Option<Duration>,
}

impl Default for SwarmProviderConfig {
    fn default() -> Self {
        SwarmProviderConfig {
            endpoint: default_docker_endpoint(),
            exposed_by_default: true,
            network: None,
            default_rule: default_rule_template(),
            constraints: None,
            refresh_seconds: None,
            watch: true,
            swarm_mode: None,
            use_bind_port_ip: None,
            allow_empty_services: None,
            http_client_timeout: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertResolverConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_chain: Option<String>,
    /// `profile`: the ACME profile asked for in each order (draft-aaron-acme-profiles); the CA's
    /// directory must offer it, else no order is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `certificatesDuration` (hours, Traefik 3; `certDuration` is its v2 name): how long the
    /// CA's certificates last, which sets when they are renewed (`tls::acme::renew_before`).
    #[serde(
        default,
        alias = "certificatesDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub cert_duration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_challenge: Option<HttpChallengeConfig>,
    /// Present (even empty) enables TLS-ALPN-01.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_challenge: Option<serde_json::Value>,
    /// External Account Binding (ZeroSSL, Google Trust Services, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eab: Option<EabConfig>,
    /// DNS-01 through a lego provider (`tls::acme::dns`); takes precedence over the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_challenge: Option<DnsChallengeConfig>,
    /// swarmgate extension: PEM file(s) with the CA roots of the ACME directory
    /// (Traefik reads `LEGO_CA_CERTIFICATES` for this).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certificates: Vec<String>,
    /// swarmgate extension: renew when less than this remains (default 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<Duration>,
}

/// `certificatesResolvers.<r>.acme.eab`: the CA's key id and base64url MAC key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EabConfig {
    #[serde(default)]
    pub kid: String,
    #[serde(default)]
    pub hmac_encoded: String,
}

/// `certificatesResolvers.<r>.acme.dnsChallenge`, Traefik 3.7's names (the older
/// `delayBeforeCheck` / `disablePropagationCheck` and the newer `propagation.*` both read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsChallengeConfig {
    /// A lego provider name (`rfc2136`, `exec`, `httpreq`, `manual`, `cloudflare`, ...).
    #[serde(default)]
    pub provider: String,
    /// Recursive resolvers (`host[:port]`) used to find the zone and, with
    /// `propagation.disableANSChecks`, to check propagation; default: `/etc/resolv.conf`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_before_check: Option<Duration>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_propagation_check: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<PropagationConfig>,
}

/// `dnsChallenge.propagation` (Traefik 3.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PropagationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_before_checks: Option<Duration>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_checks: bool,
    #[serde(
        default,
        rename = "requireAllRNS",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub require_all_rns: bool,
    #[serde(
        default,
        rename = "disableANSChecks",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub disable_ans_checks: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpChallengeConfig {
    pub entry_point: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiConfig {
    /// `api.dashboard` (default true, as Traefik): with `false`, `api.insecure` serves the API
    /// without the dashboard router.
    #[serde(default = "default_true")]
    pub dashboard: bool,
    /// Serve the API on the `traefik` entrypoint (port 8080) without a router, as Traefik does.
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub debug: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// Status `/ping` answers once shutdown has begun (Traefik's default 503), so load
    /// balancers in front stop sending during `requestAcceptGraceTimeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating_status_code: Option<u16>,
    /// `manualRouting`: no `ping` router is made; `/ping` is served only by a router of the
    /// user's with `service: ping@internal`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual_routing: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusConfig>,
    /// `metrics.addInternals`: also count requests to swarmgate's own routers
    /// (`prometheus@internal`, `api@internal`…); off by default, as in Traefik 3.7.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub add_internals: bool,
    /// `metrics.otlp`: pushed to an OpenTelemetry collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp: Option<super::observability::OtlpMetricsConfig>,
    /// `metrics.statsD`: pushed over UDP in Go-kit's StatsD lines.
    #[serde(
        default,
        rename = "statsD",
        alias = "statsd",
        skip_serializing_if = "Option::is_none"
    )]
    pub stats_d: Option<StatsdConfig>,
    /// `metrics.datadog`: pushed in DogStatsD datagrams (UDP or a Unix socket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datadog: Option<DatadogConfig>,
    /// `metrics.influxDB2`: InfluxDB line protocol POSTed to `/api/v2/write`.
    #[serde(
        default,
        rename = "influxDB2",
        alias = "influxdb2",
        skip_serializing_if = "Option::is_none"
    )]
    pub influx_db2: Option<InfluxDb2Config>,
}

/// `metrics.datadog` (Traefik's defaults: `$DD_AGENT_HOST:$DD_DOGSTATSD_PORT`, else
/// `localhost:8125`; every 10s; prefix `traefik`; entrypoint and service labels on, router
/// labels off). `address` may be `unix://`, `unixgram://` or `unixstream://` and a path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatadogConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entry_points_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_routers_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_services_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// `metrics.influxDB2` (Traefik's defaults: `http://localhost:8086`, every 10s, entrypoint and
/// service labels on, router labels off). `token` (a value or a file holding it), `org` and
/// `bucket` are required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InfluxDb2Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entry_points_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_routers_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_services_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub additional_labels: std::collections::BTreeMap<String, String>,
}

/// `metrics.statsD` (Traefik's defaults: `localhost:8125`, every 10s, prefix `traefik`,
/// entrypoint and service labels on, router labels off; StatsD itself carries no labels, the
/// switches decide which families are sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatsdConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entry_points_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_routers_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_services_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entry_points_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_routers_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_services_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<f64>,
    /// `manualRouting`: no `prometheus` router on `entryPoint`; `/metrics` is served only by a
    /// router of the user's with `service: prometheus@internal` (often behind basicAuth).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual_routing: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessLogConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(default)]
    pub format: AccessLogFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffering_size: Option<usize>,
    /// Which requests are written (`config/access_log.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<AccessLogFilters>,
    /// Which fields and headers each line holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<AccessLogFields>,
    /// Also log requests to swarmgate's own routers (`api@internal`, `ping@internal`…).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub add_internals: bool,
    /// swarmgate extension: one line per TCP router session (Traefik writes none); on unless
    /// `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_sessions: Option<bool>,
    /// swarmgate extension: one line per UDP session, when it ends (Traefik writes none); on
    /// unless `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_sessions: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    #[default]
    Common,
    Json,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogConfig {
    /// `DEBUG`, `INFO`, `WARN`, `ERROR` (any case) or a tracing filter directive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default)]
    pub format: LogFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Common,
    Json,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_new_version: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_anonymous_usage: Option<bool>,
}

/// Traefik's `core` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoreConfig {
    /// `v2` or `v3`: the syntax of router rules that set no `ruleSyntax` (Traefik's default v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rule_syntax: Option<String>,
}

impl StaticConfig {
    /// `core.defaultRuleSyntax` when set (and valid; the schema admits only `v2` and `v3`).
    pub fn default_rule_syntax(&self) -> Option<crate::rules::Syntax> {
        let value = self.core.as_ref()?.default_rule_syntax.as_deref()?;
        crate::rules::Syntax::from_option(value).ok().flatten()
    }
}

fn default_true() -> bool {
    true
}

fn default_https() -> String {
    "https".to_string()
}

fn default_docker_endpoint() -> String {
    "unix:///var/run/docker.sock".to_string()
}

fn default_rule_template() -> String {
    "Host(`{{ normalize .Name }}`)".to_string()
}
