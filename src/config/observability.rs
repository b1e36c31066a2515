//! OpenTelemetry configuration: Traefik's static `tracing` section (OTLP over HTTP or gRPC) and
//! the entrypoint `observability` switches. Pure serde data; `observe::otel` applies it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// Traefik's default collector for `tracing: {}` / `tracing.otlp.http` without an endpoint.
pub const DEFAULT_OTLP_HTTP_TRACES: &str = "http://localhost:4318/v1/traces";
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
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtlpGrpcConfig {
    /// `host:port` of the collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Plain-text HTTP/2 (the only transport swarmgate offers for gRPC: without it the
    /// exporter is refused rather than sent in clear while TLS was asked for).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `entryPoints.<e>.observability`: what the entrypoint reports (all on by default).
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

/// `traceVerbosity`: `minimal` (entrypoint and proxy spans) or `detailed` (also router,
/// service and middleware spans).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceVerbosity {
    #[default]
    Minimal,
    Detailed,
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
        let otlp = self.otlp.as_ref();
        let http = otlp.and_then(|o| o.http.as_ref());
        let grpc = otlp.and_then(|o| o.grpc.as_ref());
        if http.is_some() && grpc.is_some() {
            return Some(
                "tracing.otlp.http and tracing.otlp.grpc are both set: choose one exporter"
                    .to_string(),
            );
        }
        if let Some(http) = http {
            let endpoint = http.endpoint.as_deref().unwrap_or(DEFAULT_OTLP_HTTP_TRACES);
            match endpoint.parse::<http::Uri>() {
                Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {}
                Ok(uri) if uri.scheme_str() == Some("https") => {
                    return Some(format!(
                        "tracing.otlp.http.endpoint {endpoint}: https collectors are not \
                         supported by swarmgate yet (use http:// on a trusted network)"
                    ))
                }
                _ => {
                    return Some(format!(
                        "tracing.otlp.http.endpoint {endpoint:?} is not an http:// URL"
                    ))
                }
            }
        }
        if let Some(grpc) = grpc {
            if !grpc.insecure {
                return Some(
                    "tracing.otlp.grpc without insecure=true: swarmgate sends gRPC to the \
                     collector only in clear text (set tracing.otlp.grpc.insecure=true)"
                        .to_string(),
                );
            }
            let endpoint = grpc.endpoint.as_deref().unwrap_or(DEFAULT_OTLP_GRPC);
            if endpoint.parse::<http::uri::Authority>().is_err() {
                return Some(format!(
                    "tracing.otlp.grpc.endpoint {endpoint:?} is not host:port"
                ));
            }
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
