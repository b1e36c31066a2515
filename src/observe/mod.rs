//! Observability: log setup, Prometheus metrics and the access log, the hooks of the request path.
//!
//! `Observer` is what the proxy calls: `begin` before routing, `finish` after the response head,
//! `respond_internal` for `api@internal`, `dashboard@internal` and `prometheus@internal`, and the
//! compile loop calls `reloaded`. The admin API and dashboard live in `admin/` (a floor up); the
//! observer reaches them through [`AdminApi`], handed in by the wiring. The request path does atomic increments and, only when the
//! access log is on, builds one entry; it never locks or waits on I/O.

pub mod access;
pub mod clock;
pub mod counted;
pub mod log;
pub mod metrics;
pub mod otel;
pub mod series;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use http::{header, Method, Request, Response};

pub use metrics::{CertInfo, ConnectionGuard, Metrics, Protocol, RouteSlot, Sample};

use self::access::{AccessLog, Entry};
use crate::body::ProxyBody;
use crate::config::observability::Switches;
use crate::config::static_config::StaticConfig;
use crate::config::{ConfigIssue, DynamicConfig};
use crate::proxy::conn::ConnInfo;
use crate::table::{InternalService, Route, RoutingTable};

/// Moved to `crate::admin::api`; this path is kept for one release.
#[doc(hidden)]
pub use crate::admin::api;
/// Moved to `crate::admin::internal`; this path is kept for one release.
#[doc(hidden)]
pub use crate::admin::internal;

/// The admin API and dashboard as the observer answers them (`admin::api::ApiState` implements
/// it; `observe/` sits below `admin/` and never names it).
pub trait AdminApi: Send + Sync + std::fmt::Debug {
    /// Answers `api@internal` / `dashboard@internal` (`tls`: the request came over TLS, which
    /// Traefik's dashboard redirect leaves alone).
    fn respond(&self, req: &http::request::Parts, tls: bool) -> Response<ProxyBody>;
    /// Answers a JSON value the way the API answers (`/api/tls/certificates`).
    fn respond_json(&self, value: serde_json::Value) -> Response<ProxyBody>;
    /// The merged configuration of the last reload.
    fn set_config(&self, merged: &DynamicConfig);
    /// The live traffic registry the observer counts into (when the API is on).
    fn watch_traffic(&self, _live: Arc<series::live::Live>) {}
}

/// Metrics, access log and API state of one running swarmgate, shared by every entrypoint.
#[derive(Debug)]
pub struct Observer {
    entrypoints: Box<[Arc<str>]>,
    /// Each entrypoint's `observability` switches (by index): what a request no router matched
    /// reports, and what is captured before routing.
    switches: Box<[Switches]>,
    metrics: Option<Arc<Metrics>>,
    access: Option<AccessLog>,
    /// Live traffic for the dashboard; only when the API is on.
    live: Option<Arc<series::live::Live>>,
    api: Arc<dyn AdminApi>,
    /// The TLS certificate store, once TLS is set up: read for `/api/tls/certificates` and the
    /// certificate expiry metric.
    certs: std::sync::OnceLock<Arc<crate::tls::CertStore>>,
    /// Set when shutdown begins: `/ping` then answers `terminating_status`.
    terminating: std::sync::atomic::AtomicBool,
    terminating_status: http::StatusCode,
    /// OpenTelemetry tracing, when `tracing` is configured.
    tracer: Option<Arc<otel::Tracer>>,
    /// The `metrics.otlp` push task's counters, when it runs.
    push_stats: Option<Arc<otel::metrics::PushStats>>,
}

/// The service's response headers, for `origin_<Header>` fields (put in the response's
/// extensions by the proxy when `Observer::wants_headers`).
#[derive(Debug, Clone)]
pub struct OriginHeaders(pub Box<http::HeaderMap>);

/// When the request was handed to a server (the last attempt's, when retried or failed over):
/// put in the response's extensions by the proxy, read for the access log's `OriginDuration`
/// and `Overhead` (Traefik times its per-server handler).
#[derive(Debug, Clone, Copy)]
pub struct OriginStart(pub Instant);

/// What the response head says, kept for `record` (which may run when the body ends).
#[derive(Debug)]
pub(crate) struct Outcome {
    status: u16,
    /// Traefik's `code` label: the status, or for gRPC the `grpc-status` header.
    code: u16,
    /// Requests the `retry` middleware sent again.
    retries: Option<u32>,
    auth: Option<self::access::AuthLog>,
    reached_service: bool,
    origin: Option<counted::OriginBytes>,
    origin_start: Option<Instant>,
    /// Only when the access log writes headers.
    origin_headers: Option<Box<http::HeaderMap>>,
    downstream_headers: Option<Box<http::HeaderMap>>,
}

impl Outcome {
    fn of(resp: &Response<ProxyBody>, protocol: metrics::Protocol, headers: bool) -> Outcome {
        let status = resp.status().as_u16();
        let code = match protocol {
            // Traefik counts gRPC calls by their `grpc-status` header (2, Unknown, when absent:
            // a status sent only in trailers is not read, as Traefik's `rw.Header()`).
            metrics::Protocol::Grpc | metrics::Protocol::GrpcWeb => resp
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(2),
            _ => status,
        };
        let ext = resp.extensions();
        Outcome {
            status,
            code,
            retries: ext.get::<crate::middleware::retry::Retries>().map(|r| r.0),
            auth: ext.get::<self::access::AuthLog>().cloned(),
            reached_service: ext.get::<metrics::NotServed>().is_none(),
            origin: ext.get::<counted::OriginBytes>().cloned(),
            origin_start: ext.get::<OriginStart>().map(|o| o.0),
            origin_headers: ext
                .get::<OriginHeaders>()
                .filter(|_| headers)
                .map(|h| h.0.clone()),
            downstream_headers: headers.then(|| Box::new(resp.headers().clone())),
        }
    }
}

/// What `begin` captured about a request, for `finish`.
#[derive(Debug)]
pub struct Pending {
    started: Instant,
    method: Method,
    entrypoint: usize,
    /// Traefik's `protocol` label.
    protocol: metrics::Protocol,
    /// The request's `Content-Length` (0 when unknown).
    request_bytes: u64,
    /// Only when the access log is on.
    request: Option<Box<RequestInfo>>,
    /// The connection's TLS version and cipher (`*_requests_tls_total`).
    negotiated: Option<crate::config::negotiated::Negotiated>,
    /// The request is counted in the metrics: its router's (else its entrypoint's) `metrics`
    /// switch, and `metrics.addInternals` for internal services.
    metered: bool,
    /// The entrypoint's span, while the request is traced and sampled.
    span: Option<otel::ServerSpan>,
    /// Only with `metrics.otlp`: what `http.server.request.duration` is keyed by.
    semconv: Option<ServerSide>,
}

/// The request's side of `http.server.request.duration`: its host as the client sent it (Go's
/// `req.Host`), HTTP version and, once the forwarded headers are prepared, `X-Forwarded-Proto`.
/// Shared copies of the request's bytes, so keeping them allocates nothing.
#[derive(Debug)]
struct ServerSide {
    host: Option<HostOf>,
    version: http::Version,
    scheme: Option<http::HeaderValue>,
}

#[derive(Debug)]
enum HostOf {
    Authority(http::uri::Authority),
    Header(http::HeaderValue),
}

impl HostOf {
    fn as_bytes(&self) -> &[u8] {
        match self {
            HostOf::Authority(a) => a.as_str().as_bytes(),
            HostOf::Header(h) => h.as_bytes(),
        }
    }
}

impl Pending {
    /// Notes the request's `X-Forwarded-Proto` once the forwarded headers are prepared (before
    /// routing): `url.scheme` of `http.server.request.duration`, as Traefik reads it.
    pub fn forwarded(&mut self, headers: &http::HeaderMap) {
        if let Some(side) = &mut self.semconv {
            side.scheme = headers.get("x-forwarded-proto").cloned();
        }
    }
}

#[derive(Debug)]
struct RequestInfo {
    wall: SystemTime,
    client: std::net::SocketAddr,
    path: String,
    proto: &'static str,
    host: String,
    tls: bool,
    /// The certificates a mutual-TLS client sent (an `Arc` clone).
    client_certs: Option<Arc<[rustls::pki_types::CertificateDer<'static>]>>,
    /// Only when the access log writes headers.
    headers: Option<Box<http::HeaderMap>>,
    request_size: u64,
    /// The user named by a Basic or Digest `Authorization` header, as received.
    auth_user: Option<String>,
}

impl Observer {
    /// Builds what the static configuration enables. `entrypoints` is the table's entrypoint
    /// order; `api` answers the admin API and dashboard (`admin::api::ApiState`). Fails only
    /// when the access log file cannot be opened.
    pub fn new(
        cfg: &StaticConfig,
        base: &Path,
        entrypoints: Vec<String>,
        table: Arc<ArcSwap<RoutingTable>>,
        api: Arc<dyn AdminApi>,
    ) -> std::io::Result<Observer> {
        let metrics = cfg.metrics.as_ref().and_then(|metrics| {
            // One registry, read by every exporter configured: the Prometheus endpoint, the
            // OTLP push (`metrics.otlp`), StatsD (`metrics.statsD`), Datadog (`metrics.datadog`)
            // and InfluxDB (`metrics.influxDB2`).
            if metrics.prometheus.is_none()
                && metrics.otlp.is_none()
                && metrics.stats_d.is_none()
                && metrics.datadog.is_none()
                && metrics.influx_db2.is_none()
            {
                return None;
            }
            let default = crate::config::static_config::PrometheusConfig::default();
            let p = metrics.prometheus.as_ref().unwrap_or(&default);
            let udp: Vec<bool> = entrypoints
                .iter()
                .map(|e| cfg.entry_points.get(e).is_some_and(|ep| ep.is_udp()))
                .collect();
            let mut registry = Metrics::new(p, entrypoints.clone(), Some(Arc::clone(&table)))
                .with_udp_entrypoints(&udp)
                .with_internals(metrics.add_internals);
            if let Some(otlp) = &metrics.otlp {
                let boundaries: &[f64] = if otlp.explicit_boundaries.is_empty() {
                    &crate::config::observability::DEFAULT_OTLP_BOUNDARIES
                } else {
                    &otlp.explicit_boundaries
                };
                registry = registry
                    .with_boundaries(boundaries)
                    .with_semconv(boundaries);
            }
            if metrics.influx_db2.is_some() {
                // InfluxDB's quantiles are interpolated within the buckets: finer ones.
                registry = registry
                    .with_boundaries(&crate::config::observability::DEFAULT_OTLP_BOUNDARIES);
            }
            Some(Arc::new(registry))
        });
        let access = match &cfg.access_log {
            Some(a) => Some(AccessLog::start(a, base)?),
            None => None,
        };
        let live = cfg.api.is_some().then(|| {
            let live = Arc::new(series::live::Live::new(entrypoints.clone()));
            api.watch_traffic(Arc::clone(&live));
            live
        });
        Ok(Observer {
            switches: entrypoints
                .iter()
                .map(|e| {
                    let ep = cfg.entry_points.get(e);
                    Switches::resolve(None, ep.and_then(|ep| ep.observability.as_ref()))
                })
                .collect(),
            entrypoints: entrypoints.iter().map(|e| Arc::from(e.as_str())).collect(),
            metrics,
            access,
            live,
            api,
            certs: std::sync::OnceLock::new(),
            terminating: std::sync::atomic::AtomicBool::new(false),
            terminating_status: cfg
                .ping
                .as_ref()
                .and_then(|p| p.terminating_status_code)
                .and_then(|code| http::StatusCode::from_u16(code).ok())
                .unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE),
            tracer: None,
            push_stats: None,
        })
    }

    /// Traces requests with `tracer` (built by `otel::Tracer::from_config`).
    pub fn with_tracer(mut self, tracer: Option<Arc<otel::Tracer>>) -> Self {
        self.tracer = tracer;
        self
    }

    /// Reports the `metrics.otlp` push task's counters on the Prometheus endpoint.
    pub fn with_push_stats(mut self, stats: Option<Arc<otel::metrics::PushStats>>) -> Self {
        self.push_stats = stats;
        self
    }

    /// The tracer, when tracing is on.
    pub fn tracer(&self) -> Option<&Arc<otel::Tracer>> {
        self.tracer.as_ref()
    }

    /// Whether the access log writes headers (then the proxy keeps the service's response
    /// headers in an `OriginHeaders` extension).
    pub fn wants_headers(&self) -> bool {
        self.access
            .as_ref()
            .is_some_and(|log| log.policy().wants_headers())
    }

    /// Whether a TCP (`protocol` `TCP`) or UDP (`UDP`) session's end is written to the access
    /// log (`accessLog` on and `accessLog.tcpSessions`/`udpSessions` not `false`): only then
    /// does the TCP or UDP path build an [`access::Session`].
    pub fn logs_sessions(&self, protocol: &str) -> bool {
        self.access
            .as_ref()
            .is_some_and(|log| log.logs_sessions(protocol))
    }

    /// Writes a finished TCP or UDP session's line, unless `accessLog.filters` leave it out
    /// (`statusCodes` match its status, `minDuration` its duration; `retryAttempts` never holds).
    pub fn session(&self, session: access::Session) {
        let Some(log) = self
            .access
            .as_ref()
            .filter(|log| log.logs_sessions(session.protocol))
        else {
            return;
        };
        if log.policy().keeps(session.status, 0, session.duration) {
            log.submit_session(session);
        }
    }

    /// SIGUSR1: the access log file is closed and opened again (log rotation), as Traefik.
    pub fn reopen_logs(&self) {
        if let Some(log) = &self.access {
            log.reopen();
        }
    }

    /// Shutdown has begun: health checks of swarmgate itself (`/ping`) start failing while the
    /// entrypoints still accept for `requestAcceptGraceTimeout`.
    pub fn begin_terminating(&self) {
        self.terminating
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Lets the API and the metrics report the certificates of `store`.
    pub fn watch_certificates(&self, store: Arc<crate::tls::CertStore>) {
        let _ = self.certs.set(store);
    }

    fn cert_status(&self) -> Vec<crate::tls::CertStatus> {
        self.certs
            .get()
            .map(|store| store.status())
            .unwrap_or_default()
    }

    /// Copies the certificate store's expiries into the registry
    /// (`traefik_tls_certs_not_after`); run before each scrape and push.
    pub fn refresh_cert_metrics(&self) {
        let Some(m) = &self.metrics else { return };
        for cert in self.cert_status() {
            let key = format!("{}|{}", cert.source, cert.names.join(","));
            let info = metrics::CertInfo {
                cn: cert.labels.cn.clone(),
                sans: cert.labels.sans.clone(),
                serial: cert.labels.serial.clone(),
                not_after: cert.not_after,
            };
            m.set_tls_cert(&key, info);
        }
    }

    pub fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }

    /// Counts an open connection on an entrypoint until the guard drops (when metrics are on).
    pub fn connection_opened(&self, entrypoint: usize) -> Option<ConnectionGuard> {
        self.metrics
            .as_ref()
            .map(|m| m.connection_opened(entrypoint))
    }

    /// Captures the start of a request, as its entrypoint's switches ask (the router's, known
    /// after routing, may still change them: [`Observer::routed`]); starts its span.
    pub fn begin<B>(&self, entrypoint: usize, req: &mut Request<B>, conn: &ConnInfo) -> Pending {
        let switches = self.switches.get(entrypoint).copied().unwrap_or_default();
        let span = self
            .tracer
            .as_ref()
            .filter(|_| switches.tracing)
            .and_then(|t| otel::ServerSpan::start(t, entrypoint, req, conn));
        let started = Instant::now();
        let request = switches
            .access_logs
            .then(|| self.request_info(req, conn, SystemTime::now()))
            .flatten();
        Pending {
            started,
            method: req.method().clone(),
            entrypoint,
            protocol: metrics::Protocol::of(req.headers()),
            request_bytes: content_length(req.headers()),
            request,
            negotiated: conn.negotiated,
            metered: switches.metrics,
            span,
            semconv: self
                .metrics
                .as_ref()
                .and_then(|m| m.semconv())
                .map(|_| ServerSide {
                    host: req
                        .uri()
                        .authority()
                        .map(|a| HostOf::Authority(a.clone()))
                        .or_else(|| req.headers().get(header::HOST).cloned().map(HostOf::Header)),
                    version: req.version(),
                    scheme: None,
                }),
        }
    }

    /// The router is known: its switches (resolved at compile time for this entrypoint) decide
    /// what the request reports. An internal service reports only with its `addInternals`.
    /// What the entrypoint did not capture but the router wants is captured now; the trace
    /// context is dropped when the router does not trace, so the backend gets the caller's
    /// `traceparent` untouched (as Traefik).
    pub fn routed<B>(
        &self,
        pending: &mut Pending,
        req: &mut Request<B>,
        conn: &ConnInfo,
        route: &Route,
    ) {
        let switches = route.switches(pending.entrypoint);
        let internal = route.is_internal();
        pending.metered = switches.metrics
            && self
                .metrics
                .as_ref()
                .is_some_and(|m| !internal || m.internals());
        let logged = switches.access_logs
            && self
                .access
                .as_ref()
                .is_some_and(|log| !internal || log.policy().logs_internal());
        match (logged, pending.request.is_some()) {
            (false, _) => pending.request = None,
            (true, false) => {
                let wall = SystemTime::now()
                    .checked_sub(pending.started.elapsed())
                    .unwrap_or_else(SystemTime::now);
                pending.request = self.request_info(req, conn, wall);
            }
            (true, true) => {}
        }
        if let Some(tracer) = &self.tracer {
            let traced = switches.tracing && (!internal || tracer.adds_internals());
            otel::ServerSpan::routed(
                &mut pending.span,
                tracer,
                (pending.entrypoint, traced, switches.detailed),
                req,
                conn,
            );
        }
    }

    /// What the access log keeps of the request head (`None` without an access log).
    fn request_info<B>(
        &self,
        req: &Request<B>,
        conn: &ConnInfo,
        wall: SystemTime,
    ) -> Option<Box<RequestInfo>> {
        self.access.as_ref().map(|log| {
            let header = |name: header::HeaderName| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let host = req
                .uri()
                .authority()
                .map(|a| a.as_str().to_string())
                .or_else(|| header(header::HOST))
                .unwrap_or_default();
            Box::new(RequestInfo {
                wall,
                client: conn.peer,
                path: req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".to_string()),
                proto: proto(req.version()),
                host,
                tls: conn.tls,
                client_certs: conn.client_certs.clone(),
                headers: log
                    .policy()
                    .wants_headers()
                    .then(|| Box::new(req.headers().clone())),
                request_size: content_length(req.headers()),
                auth_user: authorization_user(req.headers()),
            })
        })
    }

    /// Records a finished request: metrics, then the access log entry. `served` is the pool of
    /// the server that answered (of the route's service, or of the service a `weighted` one
    /// picked). A response of known length is recorded now; one without (compressed, chunked,
    /// streamed) when its body has been sent, with the bytes the client was sent
    /// (`counted.rs`).
    pub fn finish(
        self: &Arc<Self>,
        mut pending: Pending,
        route: Option<&Arc<Route>>,
        served: Option<Arc<crate::upstream::UpstreamPool>>,
        resp: Response<ProxyBody>,
    ) -> Response<ProxyBody> {
        if let Some(span) = pending.span.take() {
            span.end(route, &resp);
        }
        let headers = self
            .access
            .as_ref()
            .is_some_and(|log| log.policy().wants_headers());
        let outcome = Outcome::of(&resp, pending.protocol, headers);
        match known_size(&resp) {
            Some(size) => {
                self.record(pending, route, served, outcome, size);
                resp
            }
            None => counted::defer(
                resp,
                counted::Deferred {
                    observer: Arc::clone(self),
                    pending,
                    route: route.cloned(),
                    served,
                    outcome,
                },
            ),
        }
    }

    /// Counts the request in the metrics and hands its access log entry to the writer;
    /// `size`: the response body bytes sent.
    fn record(
        &self,
        pending: Pending,
        route: Option<&Arc<Route>>,
        served: Option<Arc<crate::upstream::UpstreamPool>>,
        outcome: Outcome,
        size: u64,
    ) {
        let elapsed = pending.started.elapsed();
        let status = outcome.status;
        let retries = outcome.retries;
        // The service's bytes: what a re-encoding middleware read, else what was sent.
        let origin = outcome.origin.as_ref().map_or(size, |o| o.get());
        if let Some(m) = self.metrics.as_ref().filter(|_| pending.metered) {
            let series = route.map(|r| m.bind(&r.metrics, &r.name, r.service.name()));
            let sample = metrics::Sample {
                method: &pending.method,
                protocol: pending.protocol,
                code: outcome.code,
                elapsed,
                request_bytes: pending.request_bytes,
                response_bytes: size,
                origin_bytes: origin,
                reached_service: outcome.reached_service,
            };
            m.record(series, pending.entrypoint, sample);
            if let (Some(semconv), Some(side)) = (m.semconv(), &pending.semconv) {
                let attrs = metrics::semconv::Attrs {
                    method: pending.method.as_str(),
                    status,
                    version: side.version,
                    address: side.host.as_ref().map_or(&[][..], HostOf::as_bytes),
                    port: None,
                    scheme: side.scheme.as_ref().map_or(&[][..], |s| s.as_bytes()),
                };
                semconv.server(attrs, elapsed);
            }
            if let Some(tls) = pending.negotiated {
                m.record_tls(series, pending.entrypoint, tls, sample.reached_service);
            }
            if let (Some(series), Some(r)) = (series, retries) {
                series.retried(r);
            }
        }
        if let Some(live) = &self.live {
            let sample = series::live::LiveSample {
                at: pending.started + elapsed,
                elapsed,
                status,
                bytes_in: pending.request_bytes,
                bytes_out: size,
            };
            live.record(
                route.map(|r| (&r.live, r.name.as_str())),
                pending.entrypoint,
                sample,
            );
        }
        let (Some(log), Some(info)) = (&self.access, pending.request) else {
            return;
        };
        // `pending.request` is there only when the switches (and `addInternals`) log it.
        if !log.policy().keeps(status, retries.unwrap_or(0), elapsed) {
            return;
        }
        let info = *info;
        let auth = outcome.auth;
        // From the server's start to the same end as `elapsed` (Traefik's per-server handler
        // ends when the body was copied; ours when it was sent or its length known).
        let origin_duration = outcome
            .origin_start
            .filter(|_| outcome.reached_service)
            .map_or(Duration::ZERO, |at| {
                elapsed.saturating_sub(at.saturating_duration_since(pending.started))
            });
        log.submit(Entry {
            start: info.wall,
            duration: elapsed,
            origin_duration,
            client: info.client,
            method: pending.method,
            path: info.path,
            proto: info.proto,
            host: info.host,
            tls: info.tls,
            negotiated: pending.negotiated,
            client_certs: info.client_certs,
            entrypoint: self
                .entrypoints
                .get(pending.entrypoint)
                .cloned()
                .unwrap_or_else(|| Arc::from("")),
            status,
            size,
            origin_size: origin,
            request_size: info.request_size,
            request_headers: info.headers,
            origin_headers: outcome.origin_headers,
            downstream_headers: outcome.downstream_headers,
            // Traefik's `ClientUsername`: the user a forwardAuth server named, else the user the
            // route's basicAuth/digestAuth checked (also when the check failed, as Traefik).
            user: auth.as_ref().and_then(|a| a.user.clone()).or_else(|| {
                let checks = route.is_some_and(|r| {
                    r.middlewares.iter().any(|m| {
                        matches!(
                            &**m,
                            crate::middleware::Middleware::BasicAuth(_)
                                | crate::middleware::Middleware::DigestAuth(_)
                        )
                    })
                });
                if checks {
                    info.auth_user
                } else {
                    None
                }
            }),
            auth_duration: auth.map(|a| a.elapsed),
            route: route.cloned(),
            reached_service: outcome.reached_service,
            served,
            count: log.next_count(),
            retries: retries.unwrap_or(0),
        });
    }

    /// Answers the observability internal services; `None` for the others.
    pub fn respond_internal(
        &self,
        service: InternalService,
        req: &http::request::Parts,
        tls: bool,
    ) -> Option<Response<ProxyBody>> {
        match service {
            InternalService::Ping
                if self.terminating.load(std::sync::atomic::Ordering::Relaxed) =>
            {
                let mut resp = Response::new(ProxyBody::full("terminating"));
                *resp.status_mut() = self.terminating_status;
                Some(resp)
            }
            InternalService::Prometheus => Some(match &self.metrics {
                Some(m) => {
                    self.refresh_cert_metrics();
                    let mut text = m.render();
                    if let Some(store) = self.certs.get() {
                        text.push_str(&Metrics::render_acme(&store.acme_attempts.snapshot()));
                    }
                    if let Some(log) = &self.access {
                        text.push_str(&format!(
                            "# HELP swarmgate_accesslog_dropped_total Access log lines dropped because the writer was behind.\n# TYPE swarmgate_accesslog_dropped_total counter\nswarmgate_accesslog_dropped_total {}\n",
                            log.dropped()
                        ));
                    }
                    if let Some(tracer) = &self.tracer {
                        text.push_str(&tracer.exporter.stats.render());
                    }
                    if let Some(stats) = &self.push_stats {
                        text.push_str(&stats.render());
                    }
                    plain_text(
                        http::StatusCode::OK,
                        "text/plain; version=0.0.4; charset=utf-8",
                        text,
                    )
                }
                None => plain_text(
                    http::StatusCode::NOT_FOUND,
                    "text/plain",
                    "metrics are not enabled".to_string(),
                ),
            }),
            InternalService::Api | InternalService::Dashboard
                if req.uri.path().trim_end_matches('/') == "/api/tls/certificates" =>
            {
                Some(
                    self.api
                        .respond_json(serde_json::to_value(self.cert_status()).unwrap_or_default()),
                )
            }
            InternalService::Api | InternalService::Dashboard => Some(self.api.respond(req, tls)),
            _ => None,
        }
    }

    /// After each reload: the merged configuration (for the API) and the reload metric.
    pub fn reloaded(&self, merged: &DynamicConfig, issues: &[ConfigIssue]) {
        self.api.set_config(merged);
        if let Some(m) = &self.metrics {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            m.reloaded(issues.is_empty(), now);
        }
    }
}

/// A complete response with a content type, not cached (as the API's).
fn plain_text(
    status: http::StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn proto(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The user of a `Basic` (base64 `user:password`) or `Digest` (`username="user"`)
/// `Authorization` header.
fn authorization_user(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, _) = decoded.split_once(':')?;
        Some(user.to_string())
    } else if scheme.eq_ignore_ascii_case("digest") {
        rest.split(',').find_map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("username")
                .then(|| v.trim().trim_matches('"').to_string())
        })
    } else {
        None
    }
}

/// Bytes of the response body when known at its head: its `Content-Length`, else the body's
/// exact size (internal and middleware answers, which get their length only when written).
fn known_size(resp: &Response<ProxyBody>) -> Option<u64> {
    use http_body::Body as _;
    content_length_of(resp.headers()).or_else(|| resp.body().size_hint().exact())
}

fn content_length_of(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn content_length(headers: &http::HeaderMap) -> u64 {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
