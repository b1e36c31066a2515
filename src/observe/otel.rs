//! OpenTelemetry tracing as Traefik 3.7 sends it: W3C trace context in and out, a SERVER span per
//! request named after its method, a CLIENT span `ReverseProxy` per upstream call, and with
//! `traceVerbosity: detailed` `Router`, one span per middleware (named after its type) and
//! `Service` spans; each switched per router and entrypoint (`observability.tracing`,
//! `traceVerbosity`: `config::observability::Switches`, applied by `Observer::routed`);
//! exported as OTLP protobuf over HTTP or gRPC by one background task.
//!
//! Owns: `context` (traceparent, ids), `span` (the span model and its OTLP form), `export`
//! (bounded queue, batches, the collector call), `request` (the spans of one request).
//! Lock policy: none on the request path (a lock-free bounded queue; a full one drops spans and
//! counts them); the exporter task is the only one that waits on the collector.

pub mod context;
pub mod export;
pub mod metrics;
pub mod request;
pub mod span;
pub mod transport;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderName;
use tokio::sync::watch;

use crate::config::observability::{
    ClientTlsConfig, OtlpGrpcConfig, OtlpHttpConfig, TracingConfig, DEFAULT_OTLP_GRPC,
    DEFAULT_OTLP_HTTP_TRACES,
};
use crate::config::static_config::StaticConfig;

pub use export::{ExportStats, Exporter, Target};
pub use request::{ClientSpan, ServerSpan, Traced};
pub use span::ResourceInfo;

/// The tracer shared by every entrypoint: settings read once, and the exporter's queue.
#[derive(Debug)]
pub struct Tracer {
    pub exporter: Arc<Exporter>,
    sample_rate: f64,
    entrypoint_names: Box<[Arc<str>]>,
    /// Header and its attribute key (`http.request.header.<lowercase name>`).
    captured_request: Box<[(HeaderName, String)]>,
    captured_response: Box<[(HeaderName, String)]>,
    safe_query_params: Box<[String]>,
    add_internals: bool,
}

/// A tracer and what its exporter task needs.
pub struct Setup {
    pub tracer: Arc<Tracer>,
    pub target: Target,
    pub resource: ResourceInfo,
}

impl Tracer {
    /// The tracer `cfg.tracing` asks for (`None` when tracing is off); `Err` names the option
    /// that cannot be applied. `entrypoints` is the table's entrypoint order.
    pub fn from_config(
        cfg: &StaticConfig,
        entrypoints: &[String],
    ) -> Result<Option<Setup>, String> {
        let Some(tracing) = &cfg.tracing else {
            return Ok(None);
        };
        if let Some(problem) = tracing.problem() {
            return Err(problem);
        }
        let target = target(tracing)?;
        let captured = |names: &[String], side: &str| -> Result<Box<[_]>, String> {
            names
                .iter()
                .map(|name| {
                    let header = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("tracing.captured{side}Headers: {name:?}"))?;
                    let key = format!("http.{}.header.{}", side.to_ascii_lowercase(), header);
                    Ok((header, key))
                })
                .collect()
        };
        let tracer = Tracer {
            exporter: Arc::new(Exporter::new(export::QUEUE)),
            sample_rate: tracing.sample_rate.unwrap_or(1.0),
            entrypoint_names: entrypoints.iter().map(|e| Arc::from(e.as_str())).collect(),
            captured_request: captured(&tracing.captured_request_headers, "Request")?,
            captured_response: captured(&tracing.captured_response_headers, "Response")?,
            safe_query_params: tracing.safe_query_params.clone().into_boxed_slice(),
            add_internals: tracing.add_internals,
        };
        Ok(Some(Setup {
            tracer: Arc::new(tracer),
            target,
            resource: resource(tracing),
        }))
    }

    /// `tracing.addInternals`: requests to internal services (`api@internal`…) are traced.
    pub fn adds_internals(&self) -> bool {
        self.add_internals
    }

    fn entrypoint_name(&self, index: usize) -> Cow<'static, str> {
        self.entrypoint_names
            .get(index)
            .map(|n| Cow::Owned(n.to_string()))
            .unwrap_or(Cow::Borrowed(""))
    }
}

impl Setup {
    /// Starts the exporter task; it ends (after a last flush) when `stop` is set.
    pub fn spawn(&self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(export::run(
            Arc::clone(&self.tracer.exporter),
            self.target.clone(),
            self.resource.clone(),
            stop,
        ))
    }
}

fn target(tracing: &TracingConfig) -> Result<Target, String> {
    let otlp = tracing.otlp.as_ref();
    otlp_target(
        "tracing.otlp",
        otlp.and_then(|o| o.http.as_ref()),
        otlp.and_then(|o| o.grpc.as_ref()),
        DEFAULT_OTLP_HTTP_TRACES,
        "/v1/traces",
    )
}

/// Where an OTLP exporter configured under `section` sends: gRPC when `grpc` is set, else HTTP
/// to `http.endpoint` (default `default_http`; `implied_path` added to a URL without a path).
/// TLS for an `https` endpoint and for gRPC without `insecure` (or with a `tls` block), its
/// files read here: one that cannot be read or holds no usable PEM is refused by its option.
pub fn otlp_target(
    section: &str,
    http: Option<&OtlpHttpConfig>,
    grpc: Option<&OtlpGrpcConfig>,
    default_http: &str,
    implied_path: &'static str,
) -> Result<Target, String> {
    if let Some(grpc) = grpc {
        let tls = match grpc.uses_tls() {
            true => Some(client_tls(&format!("{section}.grpc"), grpc.tls.as_ref())?),
            false => None,
        };
        return Ok(Target::Grpc {
            authority: grpc
                .endpoint
                .clone()
                .unwrap_or_else(|| DEFAULT_OTLP_GRPC.to_string()),
            headers: export::headers(&format!("{section}.grpc"), &grpc.headers)?,
            tls,
        });
    }
    let endpoint = http
        .and_then(|h| h.endpoint.as_deref())
        .unwrap_or(default_http);
    let mut uri: http::Uri = endpoint
        .parse()
        .map_err(|_| format!("{section}.http.endpoint {endpoint:?} is not a URL"))?;
    if uri.path() == "/" && !endpoint.ends_with('/') {
        // `http://collector:4318`: the OTLP path is implied.
        let mut parts = uri.into_parts();
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static(implied_path));
        uri = http::Uri::from_parts(parts)
            .map_err(|_| format!("{section}.http.endpoint {endpoint:?} is not a URL"))?;
    }
    let headers = match http {
        Some(h) => export::headers(&format!("{section}.http"), &h.headers)?,
        None => http::HeaderMap::new(),
    };
    let tls = match uri.scheme_str() {
        Some("https") => Some(client_tls(
            &format!("{section}.http"),
            http.and_then(|h| h.tls.as_ref()),
        )?),
        _ => None,
    };
    Ok(Target::Http { uri, headers, tls })
}

/// The TLS client configuration of the exporter under `option` (`tracing.otlp.grpc`…): Traefik's
/// `ClientTLS` through `upstream::client_tls_config`; without a `tls` block, the built-in roots.
fn client_tls(
    option: &str,
    tls: Option<&ClientTlsConfig>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let tls = tls.cloned().unwrap_or_default();
    crate::upstream::client_tls_config(crate::upstream::ClientTls {
        ca: &tls.ca,
        cert: &tls.cert,
        key: &tls.key,
        insecure_skip_verify: tls.insecure_skip_verify,
    })
    .map(Arc::new)
    .map_err(|e| format!("{option}.{e}"))
}

fn resource(tracing: &TracingConfig) -> ResourceInfo {
    // Traefik 3.7 sends the deprecated `globalAttributes` as resource attributes too (seen in
    // tests/differential_tracing.rs); `resourceAttributes` wins on the same key.
    resource_of(
        tracing.service_name.as_deref(),
        tracing
            .global_attributes
            .iter()
            .chain(&tracing.resource_attributes),
    )
}

/// `service.name` (default `traefik`), `service.version`, the SDK's attributes, then `extra`
/// (a later key replaces an earlier one).
pub fn resource_of<'a>(
    service_name: Option<&str>,
    extra: impl Iterator<Item = (&'a String, &'a String)>,
) -> ResourceInfo {
    let mut attributes = vec![
        (
            "service.name".to_string(),
            service_name.unwrap_or("traefik").to_string(),
        ),
        (
            "service.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("telemetry.sdk.language".to_string(), "rust".to_string()),
        ("telemetry.sdk.name".to_string(), "swarmgate".to_string()),
        (
            "telemetry.sdk.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ];
    // What the Go SDK's host, OS and process detectors give Traefik's resource, apart from
    // `process.command_args` (arguments may hold secrets), `process.owner`, `container.id`
    // and the Go runtime's description.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if !host.is_empty() {
        attributes.push(("host.name".to_string(), host));
    }
    attributes.push(("os.type".to_string(), std::env::consts::OS.to_string()));
    attributes.push(("process.pid".to_string(), std::process::id().to_string()));
    if let Ok(exe) = std::env::current_exe() {
        if let Some(name) = exe.file_name().and_then(|n| n.to_str()) {
            attributes.push(("process.executable.name".to_string(), name.to_string()));
        }
        attributes.push((
            "process.executable.path".to_string(),
            exe.display().to_string(),
        ));
    }
    for (k, v) in extra {
        match attributes.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => attributes.push((k.clone(), v.clone())),
        }
    }
    ResourceInfo { attributes }
}
