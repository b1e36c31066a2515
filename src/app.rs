//! Wiring: providers → merge → compile → swap, entrypoints, health checks, signals, shutdown.
//!
//! The compile loop is the only writer of the routing table. It owns the reload-surviving
//! registries (endpoint health, pools, transports); they lock, but only here, off the request path.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::balance::{EndpointRegistry, HealthChecker};
use crate::config::merge::merge;
use crate::config::static_config::StaticConfig;
use crate::config::{ConfigIssue, DynamicConfig};
use crate::middleware::circuit_breaker::BreakerRegistry;
use crate::observe::Observer;
use crate::provider::file::FileProvider;
use crate::provider::{ProviderSnapshot, SnapshotRx};
use crate::proxy::{EntryPoint, EntryPointOptions, ForwardedPolicy, Proxy};
use crate::table::{compile, CompileContext, EntryPointInfo, RoutingTable};
use crate::upstream::{PoolRegistry, TransportRegistry};

mod bind;
mod issues;

use self::bind::*;
use self::issues::static_entrypoint_issue;
pub use self::issues::{check, check_with, entrypoint_issues, reference_issues};

/// An entrypoint's `http.sanitizePath` (default true) and `http.encodedCharacters` (each
/// option not given allows its character, as Traefik 3.7's defaults).
fn path_policy(
    ep: &crate::config::static_config::EntryPointConfig,
) -> crate::proxy::hygiene::PathPolicy {
    let http = ep.http.as_ref();
    crate::proxy::hygiene::PathPolicy {
        sanitize: http.and_then(|h| h.sanitize_path).unwrap_or(true),
        denied: http
            .and_then(|h| h.encoded_characters.as_ref())
            .map_or(crate::middleware::EncodedCharacters::ALLOW_ALL, |c| {
                crate::middleware::EncodedCharacters::from_config(c, true)
            }),
    }
}

/// `Middleware::validate` as the configuration readers' check (`config::elements::Check`):
/// `config/` and `provider/` sit below `middleware/`, so the wiring hands it to them.
fn check_middleware(cfg: &crate::config::middleware::MiddlewareConfig) -> Result<(), String> {
    crate::middleware::Middleware::validate(cfg).map_err(|e| e.to_string())
}

/// The static configuration's inline `dynamic` section with its middlewares checked (serde read
/// it element by element but could not compile them).
fn inline_dynamic(cfg: &StaticConfig) -> Option<DynamicConfig> {
    let mut dynamic = cfg.dynamic.clone()?;
    crate::config::elements::check_middlewares(
        &mut dynamic,
        crate::config::elements::INLINE_ORIGIN,
        check_middleware,
    );
    Some(dynamic)
}

/// The default minimum time between two reloads.
const DEFAULT_THROTTLE: Duration = Duration::from_millis(100);

/// A running swarmgate. Dropping it does not stop it; call `shutdown`.
pub struct Running {
    /// Bound address of each entrypoint, by name.
    pub addresses: BTreeMap<String, SocketAddr>,
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub issues: Arc<ArcSwap<Vec<ConfigIssue>>>,
    shutdown: watch::Sender<bool>,
    entrypoints: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn address(&self, entrypoint: &str) -> Option<SocketAddr> {
        self.addresses.get(entrypoint).copied()
    }

    /// Stops accepting, lets in-flight requests finish (each entrypoint's grace period), stops
    /// providers and health checks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for handle in self.entrypoints {
            let _ = handle.await;
        }
        for handle in self.background {
            handle.abort();
        }
    }
}

/// Where relative paths in the static configuration are resolved from.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub base_dir: Option<PathBuf>,
    /// Problems of the static configuration that did not stop the start (unsupported options,
    /// e.g. `experimental.plugins.*`): listed with every reload's issues (API, `/api/errors`).
    pub static_issues: Vec<ConfigIssue>,
}

/// Traefik's default entrypoints, the ones a router without `entryPoints` attaches to: every
/// entrypoint except the internal `traefik` one and UDP ones; when any entrypoint has
/// `asDefault: true`, only those (still without `traefik` and UDP ones). Sorted by name.
pub fn default_entrypoints(cfg: &StaticConfig) -> Vec<String> {
    let marked = cfg.entry_points.values().any(|ep| ep.as_default);
    cfg.entry_points
        .iter()
        .filter(|(name, ep)| {
            (!marked || ep.as_default)
                && !ep.is_udp()
                && name.as_str() != crate::admin::internal::DEFAULT_ENTRYPOINT
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The entrypoints in a stable order; the table indexes entrypoints by position in this list.
pub fn entrypoint_infos(cfg: &StaticConfig) -> Vec<EntryPointInfo> {
    cfg.entry_points
        .iter()
        .map(|(name, ep)| {
            let http = ep.http.as_ref();
            EntryPointInfo {
                name: name.clone(),
                default_tls: http.and_then(|h| h.tls.as_ref()).map(|tls| {
                    crate::config::dynamic::RouterTlsConfig {
                        cert_resolver: tls.cert_resolver.clone(),
                        domains: tls.domains.clone(),
                        options: tls.options.clone(),
                    }
                }),
                middlewares: http.map(|h| h.middlewares.clone()).unwrap_or_default(),
                observability: ep.observability.clone(),
            }
        })
        .collect()
}

/// One provider's channel, by provider name.
struct Source {
    name: &'static str,
    rx: SnapshotRx,
    /// For providers that publish once (the inline `dynamic` section): the sender is kept here,
    /// since a closed channel would end the compile loop's wait.
    _fixed: Option<crate::provider::SnapshotTx>,
}

/// Everything the compile loop owns.
struct Compiler {
    static_cfg: Arc<StaticConfig>,
    infos: Vec<EntryPointInfo>,
    /// `default_entrypoints(static_cfg)`.
    defaults: Vec<String>,
    /// Entrypoints that could not start, reported with every reload's issues.
    startup: Vec<ConfigIssue>,
    endpoints: EndpointRegistry,
    pools: PoolRegistry,
    transports: TransportRegistry,
    breakers: BreakerRegistry,
    health: HealthChecker,
    table: Arc<ArcSwap<RoutingTable>>,
    /// TCP routers (`proxy::tcp`), compiled beside the HTTP table.
    tcp: Arc<ArcSwap<crate::proxy::tcp::TcpTable>>,
    issues: Arc<ArcSwap<Vec<ConfigIssue>>>,
    /// The `internal` provider's routers (api, dashboard, ping, prometheus).
    internal: ProviderSnapshot,
    observer: Arc<Observer>,
    tls: Arc<crate::tls::Tls>,
    /// Files the last table needed but could not read (`basicAuth.usersFile`).
    missing_files: Vec<PathBuf>,
    /// The UDP routing (`proxy::udp`), compiled beside the HTTP table.
    udp: Arc<ArcSwap<crate::proxy::udp::UdpTable>>,
}

impl Compiler {
    /// Whether a file the last table missed can now be read (then it is compiled again).
    fn missing_file_appeared(&self) -> bool {
        self.missing_files.iter().any(|p| p.is_file())
    }
}

impl Compiler {
    fn reload(&mut self, sources: &mut [Source]) {
        let started = Instant::now();
        let snapshots: Vec<(&'static str, ProviderSnapshot)> = sources
            .iter_mut()
            .map(|s| (s.name, s.rx.borrow_and_update().clone()))
            .chain(std::iter::once(("internal", self.internal.clone())))
            .collect();
        let (mut merged, mut issues) = merge(snapshots.iter().map(|(n, s)| (*n, &s.config)));
        merged.apply_default_entrypoints(&self.defaults);
        merged.apply_default_rule_syntax(self.static_cfg.default_rule_syntax());
        issues.splice(0..0, self.startup.iter().cloned());
        for (provider, snapshot) in &snapshots {
            let own = snapshot.issues.iter().cloned();
            issues.extend(own.map(|i| crate::config::merge::qualify_issue(i, provider)));
        }
        let ctx = CompileContext {
            entrypoints: &self.infos,
            endpoints: &self.endpoints,
            pools: &self.pools,
            transports: &self.transports,
            default_transport: &self.static_cfg.servers_transport,
            breakers: &self.breakers,
        };
        let (built_options, option_issues) = self.tls.prepare(&mut merged);
        issues.extend(option_issues);
        let compiled = compile(&merged, &ctx);
        issues.extend(compiled.issues);
        let (udp, udp_issues) = compile_udp(&self.static_cfg, &merged, &self.udp.load());
        issues.extend(udp_issues);
        self.udp.store(Arc::new(udp));
        // The handshakes' options before the table that checks them (see `table::tls_options`).
        self.tls.select(&compiled.sni, &built_options);
        issues.extend(reference_issues(&self.static_cfg, &merged));
        self.tls.update(&merged, &self.infos);
        self.missing_files = compiled.missing_files;
        let routers = compiled.table.routes.len();
        let services = compiled.table.services.len();
        self.table.store(Arc::new(compiled.table));
        let (tcp, tcp_issues) = crate::proxy::tcp::compile(&merged, &self.infos);
        issues.extend(tcp_issues);
        tcp.carry_health_from(&self.tcp.load());
        crate::proxy::tcp::health::spawn_checks(&tcp);
        self.tcp.store(Arc::new(tcp));
        self.health.sync(compiled.health);
        self.pools.retain_used();
        self.endpoints.prune_unreferenced();
        self.transports.retain_used();
        self.breakers.retain_used();
        // Errors at error level, as Traefik logs them (seen with `--log.level=ERROR`).
        for issue in &issues {
            if issue.warning {
                tracing::warn!(error = %issue, "configuration issue");
            } else {
                tracing::error!(error = %issue, "configuration issue");
            }
        }
        tracing::info!(
            routers,
            services,
            issues = issues.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "routing table reloaded"
        );
        self.observer.reloaded(&merged, &issues);
        self.issues.store(Arc::new(issues));
    }
}

/// Binds every entrypoint, starts the providers and the compile loop, and serves.
pub async fn start(cfg: StaticConfig, options: StartOptions) -> anyhow::Result<Running> {
    let cfg = Arc::new(cfg);
    let base = options
        .base_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let table: Arc<ArcSwap<RoutingTable>> = Arc::default();
    let udp_table: Arc<ArcSwap<crate::proxy::udp::UdpTable>> = Arc::default();
    let tcp: Arc<ArcSwap<crate::proxy::tcp::TcpTable>> = Arc::default();
    let issues: Arc<ArcSwap<Vec<ConfigIssue>>> = Arc::default();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut background = Vec::new();
    let tls = crate::tls::Tls::new(&cfg, &base)?;

    // Providers.
    let mut sources = Vec::new();
    if let Some(mut config) = inline_dynamic(&cfg) {
        // Read element by element when the static configuration was (`config::elements`).
        let issues = std::mem::take(&mut config.invalid.issues);
        let (tx, rx) = watch::channel(ProviderSnapshot { config, issues });
        sources.push(Source {
            name: "static",
            rx,
            _fixed: Some(tx),
        });
    }
    if let Some(file_cfg) = &cfg.providers.file {
        let provider = FileProvider::new(file_cfg, &base, check_middleware);
        // Load synchronously once so the first table already has the file's routes.
        let (config, issues) = provider.load();
        let initial = ProviderSnapshot { config, issues };
        let (tx, rx) = watch::channel(initial);
        background.push(tokio::spawn(provider.run(tx)));
        sources.push(Source {
            name: "file",
            rx,
            _fixed: None,
        });
    }

    if let Some(swarm_cfg) = &cfg.providers.swarm {
        let provider = crate::provider::swarm::SwarmProvider::new(swarm_cfg);
        let (tx, rx) = watch::channel(ProviderSnapshot::default());
        background.push(tokio::spawn(provider.run(tx)));
        sources.push(Source {
            name: "swarm",
            rx,
            _fixed: None,
        });
    }

    let infos = entrypoint_infos(&cfg);
    let names: Vec<String> = infos.iter().map(|i| i.name.clone()).collect();
    let tracing = crate::observe::otel::Tracer::from_config(&cfg, &names)
        .map_err(|problem| anyhow::anyhow!("tracing: {problem}"))?;
    let (otlp_metrics, statsd, influx) =
        metric_pushers(&cfg).map_err(|problem| anyhow::anyhow!(problem))?;
    if let Some(setup) = &tracing {
        background.push(setup.spawn(shutdown_rx.clone()));
    }
    let observer = Arc::new(
        Observer::new(
            &cfg,
            &base,
            infos.iter().map(|i| i.name.clone()).collect(),
            Arc::clone(&table),
            Arc::new(crate::admin::api::ApiState::new(
                &cfg,
                Arc::clone(&table),
                Arc::clone(&issues),
            )),
        )
        .context("accessLog.filePath cannot be opened")?
        .with_tracer(tracing.map(|setup| setup.tracer))
        .with_push_stats(otlp_metrics.as_ref().map(|s| Arc::clone(&s.stats))),
    );

    observer.watch_certificates(Arc::clone(&tls.store));
    // Push exporters read the registry the Prometheus endpoint reads, off the request path.
    if let Some(setup) = &otlp_metrics {
        background.push(setup.spawn(Arc::clone(&observer), shutdown_rx.clone()));
    }
    // StatsD and Datadog: one task each, the same line writer in two dialects.
    for setup in statsd {
        background.push(tokio::spawn(crate::observe::metrics::statsd::run(
            Arc::clone(&observer),
            setup,
            shutdown_rx.clone(),
        )));
    }
    if let Some(setup) = influx {
        background.push(tokio::spawn(crate::observe::metrics::influx::run(
            Arc::clone(&observer),
            setup,
            shutdown_rx.clone(),
        )));
    }
    // SIGUSR1: reopen the access log file (log rotation), as Traefik.
    if cfg.access_log.is_some() {
        if let Ok(mut usr1) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        {
            let observer = Arc::clone(&observer);
            background.push(tokio::spawn(async move {
                while usr1.recv().await.is_some() {
                    observer.reopen_logs();
                }
            }));
        }
    }

    // First compile before serving.
    let mut compiler = Compiler {
        static_cfg: Arc::clone(&cfg),
        infos,
        defaults: default_entrypoints(&cfg),
        startup: options.static_issues.clone(),
        endpoints: EndpointRegistry::default(),
        pools: PoolRegistry::default(),
        transports: TransportRegistry::default(),
        breakers: BreakerRegistry::default(),
        health: HealthChecker::new(),
        table: Arc::clone(&table),
        tcp: Arc::clone(&tcp),
        issues: Arc::clone(&issues),
        internal: ProviderSnapshot {
            config: crate::admin::internal::internal_config(&cfg),
            issues: Vec::new(),
        },
        observer: Arc::clone(&observer),
        tls: Arc::clone(&tls),
        missing_files: Vec::new(),
        udp: Arc::clone(&udp_table),
    };
    compiler.reload(&mut sources);
    background.extend(tls.spawn(&shutdown_rx));

    // Entrypoints. One that cannot be configured or bound takes down only itself: it is
    // reported (log, API, `check`) and every other entrypoint serves.
    let mut addresses = BTreeMap::new();
    let mut entrypoints = Vec::new();
    let mut failed = Vec::new();
    for (index, (name, ep)) in cfg.entry_points.iter().enumerate() {
        if ep.is_udp() {
            if ep.http3.is_some() {
                // Traefik 3.7.15 ignores it there too, silently.
                tracing::warn!(entrypoint = %name, "http3 has no effect on a UDP entrypoint: HTTP/3 is served beside a TCP (TLS) entrypoint, on its port");
            }
            match bind_udp_entrypoint(name, ep, &udp_table).await {
                Ok(bound) => {
                    let bound = bound.with_observer(Some(Arc::clone(&observer)));
                    let addr = bound.local_addr()?;
                    tracing::info!(entrypoint = %name, address = %addr, "listening (UDP)");
                    addresses.insert(name.clone(), addr);
                    entrypoints.push(tokio::spawn(bound.serve(shutdown_rx.clone())));
                }
                Err(issue) => {
                    tracing::error!(entrypoint = %name, error = %issue, "entrypoint not started; the others serve");
                    failed.push(issue);
                }
            }
            continue;
        }
        match bind_entrypoint(&cfg, &tls, &table, &observer, index, name, ep).await {
            Ok(bound) => {
                let idle = ep
                    .transport
                    .as_ref()
                    .and_then(|t| t.responding_timeouts.as_ref())
                    .and_then(|r| r.tcp_idle_timeout)
                    .map(|d| d.0);
                let tcp = crate::proxy::tcp::TcpEntry::new(Arc::clone(&tcp), index, name)
                    .with_tls(Some(tls.acceptor(index)))
                    .with_idle_timeout(idle)
                    .with_observer(Some(Arc::clone(&observer)));
                let bound = bound.with_tcp(tcp);
                let addr = bound.local_addr()?;
                let bound = match bind_http3(name, ep, bound, addr, tls.acceptor(index)) {
                    (bound, Ok(None)) => bound,
                    (bound, Ok(Some(h3))) => {
                        entrypoints.push(tokio::spawn(h3.serve(shutdown_rx.clone())));
                        bound
                    }
                    (bound, Err(issue)) => {
                        tracing::error!(entrypoint = %name, error = %issue, "HTTP/3 not started; HTTP/1.1 and HTTP/2 serve");
                        failed.push(issue);
                        bound
                    }
                };
                tracing::info!(entrypoint = %name, address = %addr, "listening");
                addresses.insert(name.clone(), addr);
                entrypoints.push(tokio::spawn(bound.serve(shutdown_rx.clone())));
            }
            Err(issue) => {
                tracing::error!(entrypoint = %name, error = %issue, "entrypoint not started; the others serve");
                failed.push(issue);
            }
        }
    }
    if entrypoints.is_empty() && !failed.is_empty() {
        let reasons: Vec<String> = failed.iter().map(ToString::to_string).collect();
        anyhow::bail!("no entrypoint could be started: {}", reasons.join("; "));
    }
    if !failed.is_empty() {
        let mut all = failed.clone();
        all.extend(compiler.issues.load().iter().cloned());
        compiler.startup.splice(0..0, failed);
        compiler.issues.store(Arc::new(all));
    }

    // Once shutdown begins, `/ping` fails (terminatingStatusCode) while entrypoints may still
    // accept for requestAcceptGraceTimeout.
    let mut terminating = shutdown_rx.clone();
    let pinged = Arc::clone(&observer);
    background.push(tokio::spawn(async move {
        crate::shutdown::stopped(&mut terminating).await;
        pinged.begin_terminating();
    }));

    // Compile loop.
    let throttle = cfg
        .providers
        .providers_throttle_duration
        .map(|d| d.0)
        .unwrap_or(DEFAULT_THROTTLE);
    let mut stop = shutdown_rx.clone();
    background.push(tokio::spawn(async move {
        loop {
            let changed = wait_any(&mut sources);
            tokio::select! {
                ok = changed => if !ok { return },
                _ = wait_for_files(&compiler) => {}
                _ = crate::shutdown::stopped(&mut stop) => return,
            }
            tokio::time::sleep(throttle).await;
            compiler.reload(&mut sources);
        }
    }));

    Ok(Running {
        addresses,
        table,
        issues,
        shutdown: shutdown_tx,
        entrypoints,
        background,
    })
}

/// How often files the table misses are looked for.
const MISSING_FILE_POLL: Duration = Duration::from_secs(1);

/// Resolves when a file the last table could not read appears; never when none is missing.
async fn wait_for_files(compiler: &Compiler) {
    if compiler.missing_files.is_empty() {
        std::future::pending::<()>().await;
    }
    loop {
        tokio::time::sleep(MISSING_FILE_POLL).await;
        if compiler.missing_file_appeared() {
            return;
        }
    }
}

/// Resolves when any provider published; `false` when every provider is gone.
async fn wait_any(sources: &mut [Source]) -> bool {
    if sources.is_empty() {
        std::future::pending::<()>().await;
    }
    let futures = sources.iter_mut().map(|s| Box::pin(s.rx.changed()));
    let (result, _, _) = futures_util::future::select_all(futures).await;
    result.is_ok()
}

/// Moved to `crate::config::net::parse_net`; this path is kept for one release.
#[doc(hidden)]
pub use crate::config::net::parse_net;

/// The push exporters `metrics.otlp`, `metrics.statsD`, `metrics.datadog` and
/// `metrics.influxDB2` ask for; `Err` names the option that cannot be applied.
type Pushers = (
    Option<crate::observe::otel::metrics::MetricsSetup>,
    Vec<crate::observe::metrics::statsd::StatsdSetup>,
    Option<crate::observe::metrics::influx::InfluxSetup>,
);

fn metric_pushers(cfg: &StaticConfig) -> Result<Pushers, String> {
    use crate::observe::metrics::{influx::InfluxSetup, statsd::StatsdSetup};
    let otlp = crate::observe::otel::metrics::MetricsSetup::from_config(cfg)?;
    let metrics = cfg.metrics.as_ref();
    let mut statsd = Vec::new();
    if let Some(c) = metrics.and_then(|m| m.stats_d.as_ref()) {
        statsd.push(StatsdSetup::from_config(c)?);
    }
    if let Some(c) = metrics.and_then(|m| m.datadog.as_ref()) {
        statsd.push(StatsdSetup::from_datadog(c)?);
    }
    let influx = metrics
        .and_then(|m| m.influx_db2.as_ref())
        .map(InfluxSetup::from_config)
        .transpose()?;
    Ok((otlp, statsd, influx))
}

#[cfg(test)]
mod tests {
    use super::issues::dns_challenge_issues;
    use super::*;

    #[test]
    fn check_reports_a_dns_challenge_that_would_stop_the_start() {
        let cfg = static_cfg(
            "certificatesResolvers:\n  a: {acme: {dnsChallenge: {provider: cloudflair}}}\n  b: {acme: {dnsChallenge: {provider: exec}}}\n  c: {acme: {dnsChallenge: {provider: exec}}}\n",
        );
        let set = |k: &str| (k == "EXEC_PATH").then(|| "/bin/true".to_string());
        let issues = dns_challenge_issues(&cfg, &|_| None);
        let names: Vec<&str> = issues.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "certificatesResolvers.a",
                "certificatesResolvers.b",
                "certificatesResolvers.c"
            ]
        );
        assert!(
            issues[0].message.contains("\"cloudflare\""),
            "{}",
            issues[0].message
        );
        assert!(
            issues[1].message.contains("EXEC_PATH"),
            "{}",
            issues[1].message
        );
        let issues = dns_challenge_issues(&cfg, &set);
        assert_eq!(issues.len(), 1, "{issues:#?}");
    }

    #[test]
    fn check_names_the_missing_variables_of_namecheap_and_gcloud() {
        let cfg = static_cfg(
            "certificatesResolvers:\n  nc: {acme: {dnsChallenge: {provider: namecheap}}}\n  gc: {acme: {dnsChallenge: {provider: gcloud}}}\n",
        );
        let set = |k: &str| {
            matches!(k, "NAMECHEAP_API_USER" | "NAMECHEAP_API_KEY").then(|| "x".to_string())
        };
        let issues = dns_challenge_issues(&cfg, &set);
        let found: Vec<(&str, &str)> = issues
            .iter()
            .map(|i| (i.name.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found
            .iter()
            .any(|(n, m)| *n == "certificatesResolvers.gc" && m.contains("GCE_SERVICE_ACCOUNT")));
        assert!(found.iter().any(|(n, m)| *n == "certificatesResolvers.nc"
            && m.contains("NAMECHEAP_CLIENT_IP")
            && !m.contains("NAMECHEAP_API_KEY")));
    }

    #[test]
    fn a_wildcard_on_a_resolver_without_dns_challenge_is_an_issue_of_its_router() {
        let cfg = static_cfg(
            "entryPoints: {websecure: {address: ':443'}}\ncertificatesResolvers:\n  http: {acme: {httpChallenge: {entryPoint: websecure}}}\n  dns: {acme: {dnsChallenge: {provider: exec}}}\n",
        );
        let merged: DynamicConfig = serde_yaml::from_str(
            r#"
http:
  routers:
    wild: { rule: "Host(`a.example.com`)", service: s, tls: { certResolver: http, domains: [{ main: example.com, sans: ["*.example.com"] }] } }
    fine: { rule: "Host(`b.example.com`)", service: s, tls: { certResolver: dns, domains: [{ main: "*.example.com" }] } }
    plain: { rule: "Host(`c.example.com`)", service: s, tls: { certResolver: http } }
"#,
        )
        .unwrap();
        let issues = reference_issues(&cfg, &merged);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].name, "wild");
        assert_eq!(issues[0].key.as_deref(), Some("tls.domains"));
        assert!(
            issues[0]
                .message
                .contains("\"*.example.com\" needs a DNS-01 challenge")
                && issues[0].message.contains("httpChallenge"),
            "{}",
            issues[0].message
        );
    }

    fn static_cfg(yaml: &str) -> StaticConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn push_exporters_that_cannot_push_stop_the_start_and_check_says_so() {
        let ok = static_cfg(
            "metrics:\n  datadog: {address: 'unixgram:///run/dd.sock'}\n  statsD: {}\n  influxDB2: {token: t, org: o, bucket: b}\n",
        );
        let (_, statsd, influx) = metric_pushers(&ok).unwrap();
        assert_eq!(statsd.len(), 2);
        assert!(influx.is_some());
        for (yaml, what) in [
            ("metrics:\n  influxDB2: {token: t, org: o}\n", "bucket"),
            (
                "metrics:\n  influxDB2: {address: 'udp://i:8086', token: t, org: o, bucket: b}\n",
                "is not http:// or https://",
            ),
            (
                "metrics:\n  datadog: {address: 'unix://'}\n",
                "metrics.datadog.address",
            ),
        ] {
            let cfg = static_cfg(yaml);
            let err = metric_pushers(&cfg).unwrap_err();
            assert!(err.contains(what), "{yaml}: {err}");
            let issues = issues::check(&cfg, std::path::Path::new("."));
            assert!(
                issues.iter().any(|i| i.message.contains(what)),
                "{yaml}: {issues:?}"
            );
        }
    }

    /// `check --stack`: `traefik.udp.*` labels are compiled against the edge's entrypoints.
    #[test]
    fn check_validates_udp_labels_against_udp_entrypoints() {
        let cfg = static_cfg("entryPoints: {web: {address: ':80'}, dns: {address: ':53/udp'}}");
        let stack = crate::stack::parse_stack(
            r#"
services:
  dns:
    image: coredns
    deploy:
      labels: [traefik.udp.routers.dns.entrypoints=dns, traefik.udp.services.dns.loadbalancer.server.port=53]
  game:
    image: game
    deploy:
      labels: [traefik.udp.routers.game.entrypoints=web, traefik.udp.services.game.loadbalancer.server.port=27015]
"#,
        )
        .unwrap();
        let (swarm, _) = crate::stack::stack_config(&stack, &cfg);
        let issues = check_with(&cfg, std::path::Path::new("."), Some(swarm));
        let udp: Vec<&ConfigIssue> = issues
            .iter()
            .filter(|i| i.element == crate::config::Element::UdpRouter)
            .collect();
        assert_eq!(udp.len(), 1, "{issues:#?}");
        assert_eq!(udp[0].name, "game@swarm");
        assert!(
            udp[0].message.contains("\"web\" is not a UDP entrypoint"),
            "{}",
            udp[0]
        );
    }

    /// The wiring hands `Middleware::validate` to the readers below `middleware/`: a middleware
    /// that reads but does not compile is reported as itself, with its file and line (file
    /// provider) or its inline key, not only as the routers it closes.
    #[test]
    fn middlewares_that_do_not_compile_are_reported_where_they_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules.yml");
        let rules = "http:\n  middlewares:\n    filebad:\n      replacePathRegex:\n        regex: \"(\"\n        replacement: /\n";
        std::fs::write(&file, rules).unwrap();
        let yaml = format!(
            "entryPoints: {{web: {{address: ':80'}}}}\nproviders: {{file: {{filename: '{}'}}}}\ndynamic: {{http: {{middlewares: {{inlinebad: {{ipAllowList: {{sourceRange: ['127.0.0.1/32'], rejectStatusCode: 700}}}}}}}}}}\n",
            file.display()
        );
        let issues = check(&static_cfg(&yaml), dir.path());
        let found = |name: &str| {
            issues
                .iter()
                .find(|i| {
                    i.name.starts_with(name) && i.element == crate::config::Element::Middleware
                })
                .unwrap_or_else(|| panic!("no middleware issue for {name}: {issues:#?}"))
        };
        let filebad = found("filebad");
        assert!(
            filebad.message.starts_with("line 4: "),
            "{}",
            filebad.message
        );
        assert!(filebad.message.contains("regex"), "{}", filebad.message);
        let inlinebad = found("inlinebad");
        assert!(inlinebad.message.contains("700"), "{}", inlinebad.message);
        assert_eq!(
            inlinebad.key.as_deref(),
            Some("http.middlewares.inlinebad.ipAllowList")
        );
    }

    /// Each case was run through Traefik 3.7.15 (`/api/http/routers` shows the entrypoints it
    /// gave a router without `entryPoints`, or "no valid entryPoint for this router").
    #[test]
    fn default_entrypoints_match_traefik() {
        let cases: [(&str, &[&str]); 5] = [
            (
                "entryPoints: {web: {address: ':80'}, websecure: {address: ':443'}, dns: {address: ':53/udp'}, traefik: {address: ':8080'}}",
                &["web", "websecure"],
            ),
            (
                "entryPoints: {web: {address: ':80'}, websecure: {address: ':443', asDefault: true}, dns: {address: ':53/udp', asDefault: true}, traefik: {address: ':8080', asDefault: true}}",
                &["websecure"],
            ),
            (
                "entryPoints: {dns: {address: ':53/udp'}, traefik: {address: ':8080'}}",
                &[],
            ),
            (
                "entryPoints: {web: {address: ':80'}, traefik: {address: ':8080', asDefault: true}}",
                &[],
            ),
            (
                "entryPoints: {dnsu: {address: ':53/udp'}, dnst: {address: ':53'}, low: {address: ':81/tcp'}, traefik: {address: ':8080'}}",
                &["dnst", "low"],
            ),
        ];
        for (yaml, expected) in cases {
            assert_eq!(default_entrypoints(&static_cfg(yaml)), expected, "{yaml}");
        }
    }

    #[test]
    fn a_router_without_entrypoints_and_no_default_one_is_reported_not_attached_everywhere() {
        let cfg = static_cfg(
            r#"
entryPoints: {web: {address: ':80'}, traefik: {address: ':8080', asDefault: true}}
dynamic:
  http:
    routers:
      app: { rule: "Host(`a.test`)", service: "demo@internal" }
      pinned: { rule: "Host(`b.test`)", service: "demo@internal", entryPoints: [traefik] }
"#,
        );
        let issues = check(&cfg, std::path::Path::new("."));
        let app: Vec<&ConfigIssue> = issues.iter().filter(|i| i.name == "app@static").collect();
        assert_eq!(app.len(), 1, "{issues:?}");
        assert!(
            app[0].message.contains("no valid entryPoint"),
            "{}",
            app[0].message
        );
        assert!(
            !issues.iter().any(|i| i.name == "pinned@static"),
            "{issues:?}"
        );
    }

    /// Traefik 3.7.15 on the same input logs "'to' entry point field references a non-existing
    /// entry point: websecure" and serves the entrypoint without its redirection; swarmgate
    /// keeps it closed (fail closed: plain HTTP instead of the redirect), with a message that
    /// names the missing entrypoint, the same for `check` and `run` (`bind_entrypoint`).
    #[test]
    fn a_redirection_to_a_missing_entrypoint_is_named_as_such() {
        let cfg = static_cfg(
            "entryPoints: {web: {address: ':80', http: {redirections: {entryPoint: {to: websecure}}}}, ok: {address: ':81', http: {redirections: {entryPoint: {to: ':443'}}}}}",
        );
        let found = entrypoint_issues(&cfg);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].name, "web");
        assert!(
            found[0].message.contains("\"websecure\"")
                && found[0].message.contains("no entrypoint has this name"),
            "{}",
            found[0].message
        );
    }

    /// Each reference was given to Traefik 3.7.15: "Router uses a nonexistent certificate
    /// resolver", "unknown TLS options: nosuch@file".
    #[test]
    fn references_to_static_names_are_checked_by_check_and_run_alike() {
        let cfg = static_cfg(
            r#"
entryPoints:
  web: {address: ':80', http: {tls: {certResolver: nope}}}
certificatesResolvers:
  le: {acme: {email: a@b.test, httpChallenge: {entryPoint: http}}}
dynamic:
  tls:
    options:
      modern: {minVersion: VersionTLS13}
  http:
    routers:
      good: { rule: "Host(`a.test`)", service: "demo@internal", tls: {certResolver: le, options: modern} }
      bad: { rule: "Host(`b.test`)", service: "demo@internal", tls: {certResolver: lets, options: nosuch} }
      bad2: { rule: "Host(`c.test`)", service: "demo@internal", tls: {certResolver: lets} }
"#,
        );
        let issues = check(&cfg, std::path::Path::new("."));
        let has = |name: &str, key: &str, words: &str| {
            issues.iter().any(|i| {
                i.name == name && i.key.as_deref() == Some(key) && i.message.contains(words)
            })
        };
        assert!(
            has("bad@static", "tls.certResolver", "\"lets\" does not exist"),
            "{issues:#?}"
        );
        assert!(
            has("bad@static", "tls.options", "nosuch@static"),
            "{issues:#?}"
        );
        assert!(
            has("web", "http.tls.certResolver", "\"nope\""),
            "{issues:#?}"
        );
        assert!(
            has(
                "certificatesResolvers.le",
                "acme.httpChallenge.entryPoint",
                "\"http\""
            ),
            "{issues:#?}"
        );
        assert!(
            !issues.iter().any(|i| i.name == "good@static"),
            "{issues:#?}"
        );
    }

    #[test]
    fn check_reports_entrypoints_that_cannot_start_before_deploy() {
        let cfg = static_cfg(
            r#"
entryPoints:
  web: {address: ':80'}
  local: {address: '127.0.0.1:80'}
  other: {address: '127.0.0.1:81'}
  six: {address: '[::]:81'}
  dns: {address: ':53/udp'}
  dnsagain: {address: '127.0.0.1:53/udp'}
  dnszero: {address: ':5353/udp', udp: {timeout: 0s}}
  dnstcp: {address: ':53'}
  broken: {address: 'nowhere'}
  ephemeral: {address: '127.0.0.1:0'}
  ephemeral2: {address: '127.0.0.1:0'}
"#,
        );
        let found: Vec<(String, String)> = entrypoint_issues(&cfg)
            .into_iter()
            .map(|i| (i.name, i.message))
            .collect();
        let named = |n: &str| found.iter().filter(|(name, _)| name == n).count();
        // BTreeMap order: broken, dns, dnstcp, ephemeral, ephemeral2, local, other, six, web.
        assert_eq!(named("broken"), 1, "{found:?}");
        // UDP entrypoints serve; one UDP port cannot be bound twice, but beside TCP it can.
        assert_eq!(named("dns"), 0, "{found:?}");
        assert_eq!(named("dnsagain"), 1, "{found:?}");
        assert_eq!(named("dnstcp"), 0, "{found:?}");
        let zero = &found.iter().find(|(n, _)| n == "dnszero").unwrap().1;
        assert!(zero.contains("udp.timeout is 0"), "{zero}");
        assert_eq!(named("ephemeral") + named("ephemeral2"), 0, "{found:?}");
        assert_eq!(named("local"), 0, "{found:?}");
        assert_eq!(named("other"), 0, "{found:?}");
        assert_eq!(named("six"), 1, "{found:?}");
        assert_eq!(named("web"), 1, "{found:?}");
        let web = &found.iter().find(|(n, _)| n == "web").unwrap().1;
        assert!(web.contains("\"local\""), "{web}");
        assert_eq!(found.len(), 5, "{found:?}");
    }
}
