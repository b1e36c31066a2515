//! OpenTelemetry configuration: Traefik's static `tracing` section (OTLP over HTTP or gRPC) and
//! the entrypoint `observability` switches. Pure serde data; `observe::otel` applies it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// Traefik's default collector for `tracing: {}` / `tracing.otlp.http` without an endpoint.
pub const DEFAULT_OTLP_HTTP_TRACES: &str = "https://localhost:4318/v1/traces";
/// Traefik's default collector for `metrics.otlp` / `metrics.otlp.http` without an endpoint.
pub const DEFAULT_OTLP_HTTP_METRICS: &str = "https://localhost:4318/v1/metrics";
/// Traefik's default `metrics.otlp.explicitBoundaries` (seconds).
pub const DEFAULT_OTLP_BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Traefik's default gRPC collector (`host:port`).
pub const DEFAULT_OTLP_GRPC: &str = "localhost:4317";

/// `tracing`: present (even empty) means on, as in Traefik.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TracingConfig {
    /// `serviceName` (Traefik's default `traefik`, kept so dashboards built for Traefik match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `sampleRate`, 0.0 to 1.0 (default 1.0), applied to traces that start here; an incoming
    /// `traceparent`'s sampled flag is obeyed (parent-based, as Traefik).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,
    /// `globalAttributes` (deprecated by Traefik): resource attributes, as Traefik 3.7 sends them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub global_attributes: BTreeMap<String, String>,
    /// Request headers recorded as `http.request.header.<name>` on the entrypoint span.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captured_request_headers: Vec<String>,
    /// Response headers recorded as `http.response.header.<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captured_response_headers: Vec<String>,
    /// Query parameters whose values are kept in `url.query`/`url.full`; others read `REDACTED`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub safe_query_params: Vec<String>,
    /// `addInternals`: also trace `api@internal`, `ping@internal`… (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub add_internals: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp: Option<OtlpConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtlpConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<OtlpHttpConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<OtlpGrpcConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtlpHttpConfig {
    /// Full URL the protobuf batches are POSTed to (`http://collector:4318/v1/traces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// TLS to an `https://` collector (without it: the built-in roots, no client certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTlsConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtlpGrpcConfig {
    /// `host:port` of the collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Clear-text HTTP/2 (h2c). Without it gRPC goes over TLS (ALPN `h2`), as in Traefik; with
    /// a `tls` block it is refused ("mutually exclusive", as Traefik 3.7 refuses it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTlsConfig>,
}

impl OtlpGrpcConfig {
    /// Whether calls go over TLS: a `tls` block, or `insecure` not set (both: refused by
    /// `problem`).
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some() || !self.insecure
    }
}

/// Traefik's `types.ClientTLS` (`tracing.otlp.*.tls`, `metrics.otlp.*.tls`): `ca`, `cert` and
/// `key` are each a file path or the PEM text itself; read when the exporter is set up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// CA certificates the collector's certificate is verified against (replacing the
    /// built-in roots).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Client certificate (mTLS), with `key`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
}

/// `metrics.otlp`: present (even empty) means on, as in Traefik. Pushed every `pushInterval`
/// from the registry the Prometheus endpoint reads (`observe::otel::metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtlpMetricsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<OtlpHttpConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<OtlpGrpcConfig>,
    /// Defaults true, false, true as in Traefik.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entry_points_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_routers_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_services_labels: Option<bool>,
    /// Histogram boundaries in seconds (default `DEFAULT_OTLP_BOUNDARIES`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explicit_boundaries: Vec<f64>,
    /// Default 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_interval: Option<super::duration::Duration>,
    /// Resource `service.name` (default `traefik`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,
}

/// `entryPoints.<e>.observability` (static) and a router's `observability` (dynamic): what the
/// requests it handles report. Every switch unset means on (and `minimal` traces); a router's
/// unset switch takes its entrypoint's value ([`Switches::resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointObservability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_verbosity: Option<TraceVerbosity>,
}

/// A router's `observability` (Traefik's `RouterObservabilityConfig`): the same four switches.
pub type RouterObservability = EntryPointObservability;

/// What one request reports, resolved once per (router, entrypoint) pair when the table is
/// compiled (and per entrypoint for requests no router matched): the request path reads these
/// flags and does no other work to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    pub access_logs: bool,
    pub metrics: bool,
    pub tracing: bool,
    /// `traceVerbosity: detailed` (and `tracing` on): Router, middleware and Service spans.
    pub detailed: bool,
}

impl Default for Switches {
    /// Traefik's defaults: everything on, `minimal` traces.
    fn default() -> Self {
        Switches {
            access_logs: true,
            metrics: true,
            tracing: true,
            detailed: false,
        }
    }
}

impl Switches {
    /// As Traefik 3.7 resolves them (`applyModel` then `applyDefaultObservabilityModel` in
    /// `pkg/server/aggregator.go`): each of the router's switches when set, else its
    /// entrypoint's, else on (`minimal` for the verbosity). `router` is `None` for a request
    /// no router matched (the entrypoint's own switches).
    pub fn resolve(
        router: Option<&RouterObservability>,
        entrypoint: Option<&EntryPointObservability>,
    ) -> Switches {
        let pick = |f: fn(&EntryPointObservability) -> Option<bool>| {
            router
                .and_then(f)
                .or_else(|| entrypoint.and_then(f))
                .unwrap_or(true)
        };
        let verbosity = router
            .and_then(|r| r.trace_verbosity)
            .or_else(|| entrypoint.and_then(|e| e.trace_verbosity))
            .unwrap_or_default();
        let tracing = pick(|o| o.tracing);
        Switches {
            access_logs: pick(|o| o.access_logs),
            metrics: pick(|o| o.metrics),
            tracing,
            detailed: tracing && verbosity == TraceVerbosity::Detailed,
        }
    }
}

/// `traceVerbosity`: `minimal` (entrypoint and proxy spans) or `detailed` (also router,
/// service and middleware spans).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceVerbosity {
    #[default]
    Minimal,
    Detailed,
}

impl OtlpConfig {
    /// Why these exporters cannot be applied, naming the option under `section`
    /// (`tracing.otlp`, `metrics.otlp`); `default_http` is the endpoint when none is set.
    pub fn problem(&self, section: &str, default_http: &str) -> Option<String> {
        otlp_problem(
            section,
            self.http.as_ref(),
            self.grpc.as_ref(),
            default_http,
        )
    }
}

fn otlp_problem(
    section: &str,
    http: Option<&OtlpHttpConfig>,
    grpc: Option<&OtlpGrpcConfig>,
    default_http: &str,
) -> Option<String> {
    if http.is_some() && grpc.is_some() {
        return Some(format!(
            "{section}.http and {section}.grpc are both set: choose one exporter"
        ));
    }
    if let Some(http) = http {
        let endpoint = http.endpoint.as_deref().unwrap_or(default_http);
        match endpoint.parse::<http::Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {
                // Traefik sends in clear text then, ignoring `tls`: refused rather than
                // sending spans or metrics unencrypted while TLS was asked for.
                if http.tls.is_some() {
                    return Some(format!(
                        "{section}.http.tls is set but {section}.http.endpoint {endpoint} is \
                         http://: use https:// (Traefik would send in clear text)"
                    ));
                }
            }
            Ok(uri) if uri.scheme_str() == Some("https") && uri.host().is_some() => {}
            _ => {
                return Some(format!(
                    "{section}.http.endpoint {endpoint:?} is not an http:// or https:// URL"
                ))
            }
        }
    }
    if let Some(grpc) = grpc {
        if grpc.insecure && grpc.tls.is_some() {
            // Traefik 3.7's static-configuration check, same words.
            return Some(format!(
                "{section}.grpc: the tls and insecure options are mutually exclusive"
            ));
        }
        let endpoint = grpc.endpoint.as_deref().unwrap_or(DEFAULT_OTLP_GRPC);
        if endpoint.parse::<http::uri::Authority>().is_err() {
            return Some(format!(
                "{section}.grpc.endpoint {endpoint:?} is not host:port"
            ));
        }
    }
    None
}

impl OtlpMetricsConfig {
    /// Why this configuration cannot be applied, naming the option (fail closed: nothing is
    /// started half-configured).
    pub fn problem(&self) -> Option<String> {
        if let Some(p) = otlp_problem(
            "metrics.otlp",
            self.http.as_ref(),
            self.grpc.as_ref(),
            DEFAULT_OTLP_HTTP_METRICS,
        ) {
            return Some(p);
        }
        if let Some(b) = self
            .explicit_boundaries
            .iter()
            .find(|b| !b.is_finite() || **b < 0.0)
        {
            return Some(format!(
                "metrics.otlp.explicitBoundaries: {b} is not a duration in seconds"
            ));
        }
        if self.push_interval.is_some_and(|d| d.get().is_zero()) {
            return Some("metrics.otlp.pushInterval must be more than 0".to_string());
        }
        None
    }
}

impl TracingConfig {
    /// Why this configuration cannot be applied, naming the option (fail closed: tracing is
    /// not started half-configured).
    pub fn problem(&self) -> Option<String> {
        if let Some(rate) = self.sample_rate {
            if !(0.0..=1.0).contains(&rate) || rate.is_nan() {
                return Some(format!(
                    "tracing.sampleRate is {rate}: it must be between 0.0 and 1.0"
                ));
            }
        }
        if let Some(p) = self
            .otlp
            .as_ref()
            .and_then(|o| o.problem("tracing.otlp", DEFAULT_OTLP_HTTP_TRACES))
        {
            return Some(p);
        }
        for name in self
            .captured_request_headers
            .iter()
            .chain(&self.captured_response_headers)
        {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Some(format!(
                    "tracing.capturedRequestHeaders/capturedResponseHeaders: {name:?} is not a \
                     header name"
                ));
            }
        }
        None
    }
}
