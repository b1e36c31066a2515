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
    let (otlp_metrics, statsd) =
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
    if let Some(setup) = statsd {
        background.push(tokio::spawn(crate::observe::metrics::statsd::run(
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

/// Configures and binds one entrypoint; an error is the issue that names it.
async fn bind_entrypoint(
    cfg: &Arc<StaticConfig>,
    tls: &Arc<crate::tls::Tls>,
    table: &Arc<ArcSwap<RoutingTable>>,
    observer: &Arc<Observer>,
    index: usize,
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
) -> Result<EntryPoint, ConfigIssue> {
    let issue = |key: &str, message: String| {
        ConfigIssue::new(crate::config::Element::EntryPoint, name, message).with_key(key)
    };
    if let Some(found) = static_entrypoint_issue(name, ep) {
        return Err(found);
    }
    let forwarded = forwarded_policy(ep.forwarded_headers.as_ref()).map_err(|e| {
        issue(
            "forwardedHeaders.trustedIPs",
            format!("{e:#}; entrypoint not started"),
        )
    })?;
    let edge = crate::proxy::EdgeHooks::for_entrypoint(
        cfg,
        name,
        tls.has_acme().then_some(&tls.challenges),
    )
    .map_err(|e| issue("http.redirections", format!("{e}; entrypoint not started")))?;
    let proxy = Proxy::new(Arc::clone(table), index, name, forwarded)
        .with_observer(Arc::clone(observer))
        .with_edge(edge)
        .with_path_policy(path_policy(ep));
    let bound = EntryPoint::bind(&ep.address, Arc::new(proxy), entrypoint_options(ep))
        .await
        .map_err(|e| {
            issue(
                "address",
                format!(
                    "cannot listen on {:?}: {e}; entrypoint not started",
                    ep.address
                ),
            )
        })?;
    Ok(bound.with_tls(tls.acceptor(index)))
}

/// `http3`: binds the QUIC listener on the UDP side of the entrypoint's address (`addr`, where
/// its TCP listener is bound) and has the entrypoint announce it (`Alt-Svc`, with
/// `advertisedPort` when set). Without `http3`, nothing; when the UDP port cannot be bound, the
/// issue, and the entrypoint serves TCP without announcing HTTP/3.
fn bind_http3(
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
    bound: EntryPoint,
    addr: std::net::SocketAddr,
    tls: crate::tls::Acceptor,
) -> (
    EntryPoint,
    Result<Option<crate::proxy::h3::H3EntryPoint>, ConfigIssue>,
) {
    let Some(http3) = &ep.http3 else {
        return (bound, Ok(None));
    };
    let options = crate::proxy::h3::H3Options::from_entrypoint(bound.options());
    let proxy = Arc::clone(bound.proxy());
    match crate::proxy::h3::H3EntryPoint::bind(addr, proxy, tls, options, bound.gate()) {
        Ok(h3) => {
            let port = http3
                .advertised_port
                .filter(|p| *p > 0)
                .or_else(|| h3.local_addr().ok().map(|a| a.port()))
                .unwrap_or(addr.port());
            tracing::info!(entrypoint = %name, address = %addr, advertised = port, "listening (HTTP/3, UDP)");
            (bound.with_alt_svc(port), Ok(Some(h3)))
        }
        Err(e) => {
            let issue = ConfigIssue::new(
                crate::config::Element::EntryPoint,
                name,
                format!("http3: cannot listen on UDP {addr}: {e}; HTTP/3 not served"),
            )
            .with_key("http3");
            (bound, Err(issue))
        }
    }
}

/// The UDP routing of `merged` for the static configuration's `/udp` entrypoints.
fn compile_udp(
    cfg: &StaticConfig,
    merged: &DynamicConfig,
    previous: &crate::proxy::udp::UdpTable,
) -> (crate::proxy::udp::UdpTable, Vec<ConfigIssue>) {
    let all: Vec<String> = cfg.entry_points.keys().cloned().collect();
    let udp: Vec<String> = cfg
        .entry_points
        .iter()
        .filter(|(_, ep)| ep.is_udp())
        .map(|(name, _)| name.clone())
        .collect();
    crate::proxy::udp::compile(merged, &udp, &all, previous)
}

/// Binds one `/udp` entrypoint; an error is the issue that names it.
async fn bind_udp_entrypoint(
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
    table: &Arc<ArcSwap<crate::proxy::udp::UdpTable>>,
) -> Result<crate::proxy::udp::UdpEntryPoint, ConfigIssue> {
    if let Some(found) = static_entrypoint_issue(name, ep) {
        return Err(found);
    }
    let options = crate::proxy::udp::UdpOptions {
        timeout: ep
            .udp_timeout()
            .unwrap_or(crate::config::static_config::DEFAULT_UDP_TIMEOUT),
        // `transport.maxConnections` (a swarmgate extension) caps sessions on a UDP entrypoint.
        max_sessions: ep
            .transport
            .as_ref()
            .and_then(|t| t.max_connections)
            .filter(|n| *n > 0)
            .unwrap_or(crate::proxy::udp::DEFAULT_MAX_SESSIONS),
        grace: ep
            .transport
            .as_ref()
            .and_then(|t| t.life_cycle.as_ref())
            .and_then(|l| l.grace_time_out)
            .map_or(crate::proxy::udp::DEFAULT_GRACE, |g| g.0),
    };
    crate::proxy::udp::UdpEntryPoint::bind(&ep.address, name, Arc::clone(table), options)
        .await
        .map_err(|e| {
            ConfigIssue::new(
                crate::config::Element::EntryPoint,
                name,
                format!(
                    "cannot listen on {:?}: {e}; entrypoint not started",
                    ep.address
                ),
            )
            .with_key("address")
        })
}

/// What makes an entrypoint unusable before anything is bound: an address that does not parse,
/// a `udp.timeout` of zero on a UDP entrypoint.
fn static_entrypoint_issue(
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
) -> Option<ConfigIssue> {
    let issue = |message: String| {
        Some(
            ConfigIssue::new(crate::config::Element::EntryPoint, name, message).with_key("address"),
        )
    };
    if ep.is_udp() {
        if let Err(e) = ep.udp_timeout() {
            return Some(
                ConfigIssue::new(
                    crate::config::Element::EntryPoint,
                    name,
                    format!("{e}; entrypoint not started"),
                )
                .with_key("udp.timeout"),
            );
        }
    }
    if let Err(e) = crate::proxy::entrypoint::parse_address(&ep.address) {
        return issue(format!(
            "address {:?} is not an address: {e}; entrypoint not started",
            ep.address
        ));
    }
    None
}

/// Problems `check` can know before deploy for the entrypoints: each unusable entrypoint, and
/// two TCP entrypoints that would listen on the same port of overlapping addresses (the second
/// would fail to bind).
pub fn entrypoint_issues(cfg: &StaticConfig) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    let mut listening: Vec<(&str, (SocketAddr, bool))> = Vec::new();
    for (name, ep) in &cfg.entry_points {
        if let Some(found) = static_entrypoint_issue(name, ep) {
            out.push(found);
            continue;
        }
        let issue = |key: &str, message: String| {
            ConfigIssue::new(crate::config::Element::EntryPoint, name.as_str(), message)
                .with_key(key)
        };
        if let Err(e) = forwarded_policy(ep.forwarded_headers.as_ref()) {
            out.push(issue(
                "forwardedHeaders.trustedIPs",
                format!("{e:#}; entrypoint not started"),
            ));
        }
        if let Err(e) = crate::proxy::EdgeHooks::for_entrypoint(cfg, name, None) {
            out.push(issue(
                "http.redirections",
                format!("{e}; entrypoint not started"),
            ));
        }
        let Ok(addr) = crate::proxy::entrypoint::parse_address(&ep.address) else {
            continue;
        };
        if addr.port() == 0 {
            continue;
        }
        // A TCP and a UDP entrypoint may share a port (`:53` and `:53/udp`).
        let udp = ep.is_udp();
        let overlapping = |(other, other_udp): &(SocketAddr, bool)| {
            *other_udp == udp
                && other.port() == addr.port()
                && (other.ip() == addr.ip()
                    || other.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        };
        if let Some((first, (other, _))) = listening.iter().find(|(_, other)| overlapping(other)) {
            out.push(issue(
                "address",
                format!(
                    "{:?} ({addr}) is also the address of entrypoint {first:?} ({other}): only one can listen there, so this one will not start",
                    ep.address
                ),
            ));
        }
        listening.push((name.as_str(), (addr, udp)));
    }
    out
}

/// References from the dynamic configuration (and entrypoints) into the static one, and between
/// the static options, that `table::compile` cannot see: a router's or entrypoint's
/// `tls.certResolver` that no `certificatesResolvers` defines, an ACME `httpChallenge.entryPoint`
/// that is no entrypoint (a router's `tls.options` that do not exist are the compiler's: it
/// closes the router). Shared by `check` and every compile of `run`, so both report the same.
pub fn reference_issues(cfg: &StaticConfig, merged: &DynamicConfig) -> Vec<ConfigIssue> {
    use crate::config::Element;
    let mut out = Vec::new();
    let resolvers = || {
        let names: Vec<&str> = cfg
            .certificates_resolvers
            .keys()
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            "none is defined".to_string()
        } else {
            format!("defined: {}", names.join(", "))
        }
    };
    for (name, ep) in &cfg.entry_points {
        let tls = ep.http.as_ref().and_then(|h| h.tls.as_ref());
        if let Some(r) = tls.and_then(|t| t.cert_resolver.as_deref()) {
            if !r.is_empty() && !cfg.certificates_resolvers.contains_key(r) {
                out.push(
                    ConfigIssue::new(
                        Element::EntryPoint,
                        name.as_str(),
                        format!(
                            "certificate resolver {r:?} does not exist ({}): no certificate is requested for it",
                            resolvers()
                        ),
                    )
                    .with_key("http.tls.certResolver"),
                );
            }
        }
    }
    for (name, resolver) in &cfg.certificates_resolvers {
        let challenge = resolver
            .acme
            .as_ref()
            .and_then(|a| a.http_challenge.as_ref());
        if let Some(ch) = challenge {
            if !cfg.entry_points.contains_key(&ch.entry_point) {
                out.push(
                    ConfigIssue::new(
                        Element::Static,
                        format!("certificatesResolvers.{name}"),
                        format!(
                            "httpChallenge.entryPoint {:?} is not an entrypoint (entrypoints: {}): the HTTP-01 challenge cannot be answered",
                            ch.entry_point,
                            cfg.entry_points.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .with_key("acme.httpChallenge.entryPoint"),
                );
            }
        }
    }
    for (name, router) in &merged.http.routers {
        let Some(tls) = &router.tls else {
            continue;
        };
        if let Some(r) = tls.cert_resolver.as_deref() {
            if !r.is_empty() && !cfg.certificates_resolvers.contains_key(r) {
                out.push(
                    ConfigIssue::new(
                        Element::Router,
                        name.as_str(),
                        format!(
                            "certificate resolver {r:?} does not exist ({}): no certificate is requested for its domains",
                            resolvers()
                        ),
                    )
                    .with_key("tls.certResolver"),
                );
            }
            if let Some(issue) = wildcard_issue(cfg, r, &tls.domains) {
                out.push(
                    ConfigIssue::new(Element::Router, name.as_str(), issue).with_key("tls.domains"),
                );
            }
        }
    }
    for (name, ep) in &cfg.entry_points {
        let Some(tls) = ep.http.as_ref().and_then(|h| h.tls.as_ref()) else {
            continue;
        };
        if let Some(r) = tls.cert_resolver.as_deref() {
            if let Some(issue) = wildcard_issue(cfg, r, &tls.domains) {
                out.push(
                    ConfigIssue::new(Element::EntryPoint, name.as_str(), issue)
                        .with_key("http.tls.domains"),
                );
            }
        }
    }
    out
}

/// A wildcard domain asked of a resolver without `dnsChallenge`: only DNS-01 proves a wildcard
/// (RFC 8555 §7.1.3), so no certificate is ordered for it (`tls::acme::Manager::want`).
fn wildcard_issue(
    cfg: &StaticConfig,
    resolver: &str,
    domains: &[crate::config::dynamic::TlsDomain],
) -> Option<String> {
    let acme = cfg.certificates_resolvers.get(resolver)?.acme.as_ref()?;
    if acme.dns_challenge.is_some() {
        return None;
    }
    let wildcard = domains
        .iter()
        .flat_map(|d| std::iter::once(&d.main).chain(&d.sans))
        .find(|n| n.starts_with("*."))?;
    let has = if acme.http_challenge.is_some() {
        "httpChallenge"
    } else {
        "tlsChallenge"
    };
    Some(format!(
        "wildcard domain {wildcard:?} needs a DNS-01 challenge, but certificate resolver {resolver:?} has only {has} (add certificatesResolvers.{resolver}.acme.dnsChallenge): no certificate is requested for these domains"
    ))
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

fn forwarded_policy(
    cfg: Option<&crate::config::static_config::ForwardedHeadersConfig>,
) -> anyhow::Result<ForwardedPolicy> {
    let Some(cfg) = cfg else {
        return Ok(ForwardedPolicy::default());
    };
    let trusted = cfg
        .trusted_ips
        .iter()
        .map(|r| {
            r.net()
                .with_context(|| format!("invalid IP or CIDR {:?}", r.as_str()))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(ForwardedPolicy {
        insecure: cfg.insecure,
        trusted,
    })
}

/// Moved to `crate::config::net::parse_net`; this path is kept for one release.
#[doc(hidden)]
pub use crate::config::net::parse_net;

fn entrypoint_options(ep: &crate::config::static_config::EntryPointConfig) -> EntryPointOptions {
    let mut options = EntryPointOptions {
        reuse_port: ep.reuse_port,
        ..EntryPointOptions::default()
    };
    if let Some(transport) = &ep.transport {
        if let Some(t) = transport.header_read_timeout {
            options.header_read_timeout = t.0;
        } else if let Some(t) = transport
            .responding_timeouts
            .as_ref()
            .and_then(|r| r.read_timeout)
        {
            if !t.0.is_zero() {
                options.header_read_timeout = t.0;
            }
        }
        if let Some(life) = &transport.life_cycle {
            if let Some(grace) = life.grace_time_out {
                options.grace = grace.0;
            }
            if let Some(accept) = life.request_accept_grace_timeout {
                options.accept_grace = accept.0;
            }
        }
        if let Some(max) = transport.max_header_bytes {
            options.max_header_bytes = max;
        }
        if let Some(idle) = transport
            .responding_timeouts
            .as_ref()
            .and_then(|r| r.idle_timeout)
        {
            options.idle_timeout = Some(idle.0); // 0 disables, as in Traefik
        }
        options.write_timeout = transport
            .responding_timeouts
            .as_ref()
            .and_then(|r| r.write_timeout)
            .map(|t| t.0)
            .filter(|t| !t.is_zero());
        options.max_connections = transport.max_connections;
    }
    options.proxy_protocol = ep
        .proxy_protocol
        .as_ref()
        .map(|cfg| Arc::new(crate::proxy::proxy_protocol::ProxyProtocolPolicy::from_config(cfg)));
    if let Some(streams) = ep.http2.as_ref().and_then(|h| h.max_concurrent_streams) {
        options.h2_max_concurrent_streams = streams;
    }
    options
}

/// `dnsChallenge` setups that would stop `run` (unknown provider, missing or malformed
/// variable), read from `env` as `run` reads the process environment.
fn dns_challenge_issues(
    cfg: &StaticConfig,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Vec<ConfigIssue> {
    let env = crate::tls::acme::dns::Env::new(env);
    cfg.certificates_resolvers
        .iter()
        .filter_map(|(name, r)| Some((name, r.acme.as_ref()?.dns_challenge.as_ref()?)))
        .filter_map(|(name, dns)| {
            let error = crate::tls::acme::dns::Dns01::new(dns, &env).err()?;
            Some(
                ConfigIssue::new(
                    crate::config::Element::Static,
                    format!("certificatesResolvers.{name}"),
                    format!("{error}: swarmgate does not start"),
                )
                .with_key("acme.dnsChallenge"),
            )
        })
        .collect()
}

/// Loads every provider once, merges and compiles, and returns every issue (for `swarmgate check`).
pub fn check(cfg: &StaticConfig, base: &std::path::Path) -> Vec<ConfigIssue> {
    check_with(cfg, base, None)
}

/// The push exporters `metrics.otlp` and `metrics.statsD` ask for; `Err` names the option that
/// cannot be applied.
type Pushers = (
    Option<crate::observe::otel::metrics::MetricsSetup>,
    Option<crate::observe::metrics::statsd::StatsdSetup>,
);

fn metric_pushers(cfg: &StaticConfig) -> Result<Pushers, String> {
    let otlp = crate::observe::otel::metrics::MetricsSetup::from_config(cfg)?;
    let statsd = cfg
        .metrics
        .as_ref()
        .and_then(|m| m.stats_d.as_ref())
        .map(crate::observe::metrics::statsd::StatsdSetup::from_config)
        .transpose()?;
    Ok((otlp, statsd))
}

/// [`check`], with the Swarm provider's configuration given offline (`check --stack`).
pub fn check_with(
    cfg: &StaticConfig,
    base: &std::path::Path,
    swarm: Option<DynamicConfig>,
) -> Vec<ConfigIssue> {
    let mut snapshots: Vec<(&str, DynamicConfig)> = Vec::new();
    let mut issues = entrypoint_issues(cfg);
    if let Err(problem) = metric_pushers(cfg) {
        // `run` refuses to start on it (fail closed).
        issues.push(
            ConfigIssue::new(
                crate::config::Element::Static,
                "metrics",
                format!("{problem}; swarmgate does not start"),
            )
            .with_key("metrics"),
        );
    }
    if let Err(problem) = crate::observe::otel::Tracer::from_config(cfg, &[]) {
        // `run` refuses to start on it (fail closed: no half-configured tracing).
        issues.push(
            ConfigIssue::new(
                crate::config::Element::Static,
                "tracing",
                format!("{problem}; swarmgate does not start"),
            )
            .with_key("tracing"),
        );
    }
    issues.extend(dns_challenge_issues(cfg, &|k| std::env::var(k).ok()));
    let qualify = crate::config::merge::qualify_issue;
    if let Some(dynamic) = inline_dynamic(cfg) {
        issues.extend(
            dynamic
                .invalid
                .issues
                .iter()
                .map(|i| qualify(i.clone(), "static")),
        );
        snapshots.push(("static", dynamic));
    }
    if let Some(file_cfg) = &cfg.providers.file {
        let (config, found) = FileProvider::new(file_cfg, base, check_middleware).load();
        issues.extend(found.into_iter().map(|i| qualify(i, "file")));
        snapshots.push(("file", config));
    }
    if let Some(swarm) = swarm {
        snapshots.push(("swarm", swarm));
    }
    snapshots.push(("internal", crate::admin::internal::internal_config(cfg)));
    let (mut merged, merge_issues) = merge(snapshots.iter().map(|(n, c)| (*n, c)));
    merged.apply_default_entrypoints(&default_entrypoints(cfg));
    merged.apply_default_rule_syntax(cfg.default_rule_syntax());
    issues.extend(merge_issues);
    issues.extend(crate::tls::runtime::check_options(&mut merged));
    let infos = entrypoint_infos(cfg);
    let ctx = CompileContext {
        entrypoints: &infos,
        endpoints: &EndpointRegistry::default(),
        pools: &PoolRegistry::default(),
        transports: &TransportRegistry::default(),
        default_transport: &cfg.servers_transport,
        breakers: &BreakerRegistry::default(),
    };
    let compiled = compile(&merged, &ctx);
    for issue in compiled.issues {
        if !issues
            .iter()
            .any(|i: &ConfigIssue| i.element == issue.element && i.message == issue.message)
        {
            issues.push(issue);
        }
    }
    issues.extend(compile_udp(cfg, &merged, &Default::default()).1);
    issues.extend(reference_issues(cfg, &merged));
    issues.extend(crate::proxy::tcp::compile(&merged, &infos).1);
    issues
}

#[cfg(test)]
mod tests {
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
