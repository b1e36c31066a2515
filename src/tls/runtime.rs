//! `Tls`: the TLS side of a running swarmgate, built once at start from the static config.
//! Holds the certificate store, the acceptor every entrypoint shares, the HTTP-01 answers and
//! the ACME manager; `update` takes each merged dynamic configuration from the compile loop.
#![allow(clippy::disallowed_types)] // std Mutex: certificate and options caches rebuilt before each compile, not during a handshake

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::accept::{Chosen, EntrySni, SniPlan};
use super::acme::backend::BackendError;
use super::acme::{Manager, Want};
use super::certs::{self, CertError};
use super::challenges::HttpChallenges;
use super::files::FileCerts;
use super::{options, Acceptor, CertStore};
use crate::config::dynamic::{DynamicConfig, TlsConfig, TlsDomain, TlsOptionsConfig};
use crate::config::merge::DEFAULT_TLS_OPTIONS;
use crate::config::static_config::StaticConfig;
use crate::config::{ConfigIssue, Element};
use crate::table::tls_options::SniOptions;
use crate::table::EntryPointInfo;

/// How often certificate files are re-read.
const FILE_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("default certificate: {0}")]
    Default(#[from] CertError),
    #[error("TLS server configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error(transparent)]
    Storage(#[from] BackendError),
}

/// The options sets built so far, by name, reused while their configuration and CA material
/// stay the same (so their session caches survive reloads).
type BuiltCache = HashMap<String, (TlsOptionsConfig, Vec<Vec<u8>>, Arc<rustls::ServerConfig>)>;

/// The rustls configuration of each usable options set, by qualified name (`Tls::prepare`).
pub type BuiltOptions = HashMap<String, Arc<rustls::ServerConfig>>;

pub struct Tls {
    pub store: Arc<CertStore>,
    /// What every entrypoint's handshakes choose from (`SniPlan`), replaced on each reload.
    plan: Arc<ArcSwap<SniPlan>>,
    built: Mutex<BuiltCache>,
    pub challenges: Arc<HttpChallenges>,
    acme: Option<Arc<Manager>>,
    files: Mutex<FileCerts>,
    config: ArcSwap<TlsConfig>,
}

impl Tls {
    /// Generates the default certificate, opens the ACME storage (refusing open permissions)
    /// and loads the stored certificates.
    pub fn new(cfg: &StaticConfig, base: &Path) -> Result<Arc<Tls>, TlsError> {
        let default = certs::self_signed(
            &["swarmgate.default.invalid".to_string()],
            "SWARMGATE DEFAULT CERT",
        )?;
        let store = Arc::new(CertStore::new(default));
        let challenges = Arc::new(HttpChallenges::default());
        let acme = Manager::new(cfg, base, &store, &challenges)?.map(Arc::new);
        let fallback = options::builtin_default(&store).map_err(|e| {
            TlsError::Rustls(rustls::Error::General(format!("default TLS options: {e}")))
        })?;
        let plan = SniPlan {
            entrypoints: Vec::new(),
            fallback: Some(Chosen {
                config: fallback,
                key: crate::table::tls_options::key(DEFAULT_TLS_OPTIONS, None),
            }),
        };
        Ok(Arc::new(Tls {
            plan: Arc::new(ArcSwap::from_pointee(plan)),
            built: Mutex::new(HashMap::new()),
            store,
            challenges,
            acme,
            files: Mutex::new(FileCerts::default()),
            config: ArcSwap::default(),
        }))
    }

    /// Whether HTTP-01 answers are needed on entrypoints (any resolver uses `httpChallenge`).
    pub fn has_acme(&self) -> bool {
        self.acme.is_some()
    }

    /// The TLS side of entrypoint `index` (its place in the table's entrypoint list).
    pub fn acceptor(&self, index: usize) -> Acceptor {
        Acceptor::new(Arc::clone(&self.plan), index)
    }

    /// Builds every `tls.options` set of `merged` (and Traefik's default one when no provider
    /// defines `default`), before the table is compiled: a set that cannot be built is moved to
    /// `merged.invalid.tls_options`, so its routers are closed. Reads CA files.
    pub fn prepare(&self, merged: &mut DynamicConfig) -> (BuiltOptions, Vec<ConfigIssue>) {
        let mut cache = self.built.lock().unwrap_or_else(|p| p.into_inner());
        prepare_with(merged, &self.store, &mut cache)
    }

    /// Publishes the SNI selection `table::compile` made (`sni`, per entrypoint) with the
    /// options `prepare` built; a name without a built set refuses its handshakes.
    pub fn select(&self, sni: &[SniOptions], built: &BuiltOptions) {
        let chosen = |o: &Option<crate::table::tls_options::OptionsRef>| {
            let o = o.as_ref()?;
            built.get(&o.name).map(|config| Chosen {
                config: Arc::clone(config),
                key: o.key,
            })
        };
        let entrypoints = sni
            .iter()
            .map(|ep| EntrySni {
                hosts: ep
                    .hosts
                    .iter()
                    .map(|(host, o)| (host.clone(), chosen(o)))
                    .collect(),
                default: chosen(&ep.default),
            })
            .collect();
        let fallback = self.plan.load().fallback.clone();
        self.plan.store(Arc::new(SniPlan {
            entrypoints,
            fallback,
        }));
    }

    /// Takes a new merged dynamic configuration: certificate files and ACME domains.
    pub fn update(&self, merged: &DynamicConfig, entrypoints: &[EntryPointInfo]) {
        self.config.store(Arc::new(merged.tls.clone()));
        self.refresh_files();
        if let Some(acme) = &self.acme {
            acme.want(wanted(merged, entrypoints));
        }
    }

    fn refresh_files(&self) {
        let cfg = self.config.load();
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((certs, default)) = files.refresh(&cfg) {
            self.store.set_files(certs, default);
        }
    }

    /// Starts the certificate file poller and the ACME loop.
    pub fn spawn(self: &Arc<Self>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        let this = Arc::clone(self);
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(FILE_POLL).await;
                let this = Arc::clone(&this);
                let _ = tokio::task::spawn_blocking(move || this.refresh_files()).await;
            }
        }));
        if let Some(acme) = &self.acme {
            tasks.push(tokio::spawn(Arc::clone(acme).run(shutdown.clone())));
        }
        tasks
    }
}

/// What `swarmgate check` reports about `tls.options`: `Tls::prepare` without a running TLS side
/// (a throwaway certificate store); invalid sets move to `merged.invalid.tls_options`.
pub fn check_options(merged: &mut DynamicConfig) -> Vec<ConfigIssue> {
    match certs::self_signed(&["swarmgate.check.invalid".to_string()], "check") {
        Ok(default) => {
            let store = Arc::new(CertStore::new(default));
            prepare_with(merged, &store, &mut BuiltCache::new()).1
        }
        Err(e) => vec![ConfigIssue::new(
            Element::Tls,
            "options",
            format!("cannot check TLS options: {e}"),
        )],
    }
}

fn prepare_with(
    merged: &mut DynamicConfig,
    store: &Arc<CertStore>,
    cache: &mut BuiltCache,
) -> (BuiltOptions, Vec<ConfigIssue>) {
    let mut issues = Vec::new();
    let mut out = HashMap::new();
    let mut wanted: Vec<(String, TlsOptionsConfig)> = merged
        .tls
        .options
        .iter()
        .map(|(name, cfg)| (name.clone(), cfg.clone()))
        .collect();
    let default_defined = merged.tls.options.contains_key(DEFAULT_TLS_OPTIONS)
        || merged.invalid.tls_options.contains_key(DEFAULT_TLS_OPTIONS);
    if !default_defined {
        wanted.push((DEFAULT_TLS_OPTIONS.to_string(), TlsOptionsConfig::default()));
    }
    let mut kept = BuiltCache::new();
    for (name, cfg) in wanted {
        let issue = |message: String| {
            ConfigIssue::new(Element::Tls, name.clone(), message).with_key("options")
        };
        let built = options::read_cas(&cfg).and_then(|cas| match cache.remove(&name) {
            Some((old, old_cas, config)) if old == cfg && old_cas == cas => {
                Ok((config, cas, Vec::new()))
            }
            _ => options::build(&cfg, &cas, store).map(|b| (b.config, cas, b.warnings)),
        });
        match built {
            Ok((config, cas, warnings)) => {
                issues.extend(warnings.into_iter().map(|w| issue(w).as_warning()));
                out.insert(name.clone(), Arc::clone(&config));
                kept.insert(name, (cfg, cas, config));
            }
            Err(reason) => {
                issues.push(issue(format!(
                    "{reason}; TLS options not used: their routers are closed and their hosts' TLS handshakes refused"
                )));
                merged.tls.options.remove(&name);
                merged.invalid.tls_options.insert(name, reason);
            }
        }
    }
    *cache = kept;
    (out, issues)
}

/// The certificates routers ask for: routers with `tls.certResolver` (their own or their
/// entrypoint's), for `tls.domains` when given, else for the `Host(...)` names of the rule.
pub fn wanted(merged: &DynamicConfig, entrypoints: &[EntryPointInfo]) -> BTreeSet<Want> {
    let mut out = BTreeSet::new();
    for router in merged.http.routers.values() {
        // Defaults were applied at merge (`DynamicConfig::apply_default_entrypoints`).
        let on = |ep: &EntryPointInfo| router.entry_points.contains(&ep.name);
        let tls_configs = match &router.tls {
            Some(tls) => vec![tls],
            None => entrypoints
                .iter()
                .filter(|ep| on(ep))
                .filter_map(|ep| ep.default_tls.as_ref())
                .collect(),
        };
        for tls in tls_configs {
            let Some(resolver) = tls.cert_resolver.as_deref().filter(|r| !r.is_empty()) else {
                continue;
            };
            if !tls.domains.is_empty() {
                out.extend(tls.domains.iter().map(|d| Want::from_domain(resolver, d)));
                continue;
            }
            let Ok(rule) = router.parse_rule() else {
                continue;
            };
            let names: Vec<String> = rule
                .host_names()
                .into_iter()
                .filter(|n| !n.is_empty() && !n.contains(['^', '$', '{', '(', '\\']))
                .collect();
            if let Some((main, sans)) = names.split_first() {
                out.insert(Want::from_domain(
                    resolver,
                    &TlsDomain {
                        main: main.clone(),
                        sans: sans.to_vec(),
                    },
                ));
            }
        }
    }
    // TCP routers that terminate TLS: `tls.domains`, else their `HostSNI` names.
    for router in merged.tcp.routers.values() {
        let Some(tls) = router.tls.as_ref().filter(|t| !t.passthrough) else {
            continue;
        };
        let Some(resolver) = tls.cert_resolver.as_deref().filter(|r| !r.is_empty()) else {
            continue;
        };
        if !tls.domains.is_empty() {
            out.extend(tls.domains.iter().map(|d| Want::from_domain(resolver, d)));
            continue;
        }
        let Ok(rule) = crate::rules::tcp::TcpRule::parse(&router.rule) else {
            continue;
        };
        let names: Vec<String> = rule.host_snis().into_iter().filter(|n| n != "*").collect();
        if let Some((main, sans)) = names.split_first() {
            let domain = TlsDomain {
                main: main.clone(),
                sans: sans.to_vec(),
            };
            out.insert(Want::from_domain(resolver, &domain));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminating_tcp_routers_want_their_host_sni_names() {
        let merged: DynamicConfig = serde_yaml::from_str(
            r#"
tcp:
  routers:
    db: { rule: "HostSNI(`db.test`) || HostSNI(`*`)", service: s, tls: { certResolver: le } }
    pass: { rule: "HostSNI(`pass.test`)", service: s, tls: { certResolver: le, passthrough: true } }
"#,
        )
        .unwrap();
        let names: Vec<String> = wanted(&merged, &[])
            .into_iter()
            .map(|w| format!("{w:?}"))
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].contains("db.test"), "{names:?}");
    }

    #[test]
    fn wanted_domains_come_from_tls_domains_or_host_rules() {
        let mut merged: DynamicConfig = serde_yaml::from_str(
            r#"
http:
  routers:
    a: { rule: "Host(`A.test`) || Host(`b.test`)", service: s, tls: { certResolver: le } }
    b: { rule: "Host(`c.test`)", service: s, tls: { certResolver: le, domains: [{ main: d.test, sans: [e.test] }] } }
    c: { rule: "Host(`plain.test`)", service: s }
    d: { rule: "Host(`ep.test`)", service: s, entryPoints: [websecure] }
    e: { rule: "PathPrefix(`/x`)", service: s, tls: { certResolver: le } }
"#,
        )
        .unwrap();
        merged.apply_default_entrypoints(&["web".into(), "websecure".into()]);
        let entrypoints = vec![
            EntryPointInfo {
                name: "web".into(),
                default_tls: None,
                middlewares: Vec::new(),
                observability: None,
            },
            EntryPointInfo {
                name: "websecure".into(),
                default_tls: Some(crate::config::dynamic::RouterTlsConfig {
                    cert_resolver: Some("other".into()),
                    ..Default::default()
                }),
                middlewares: Vec::new(),
                observability: None,
            },
        ];
        let got: Vec<(String, String, Vec<String>)> = wanted(&merged, &entrypoints)
            .into_iter()
            .map(|w| (w.resolver, w.main, w.sans))
            .collect();
        let s = |v: &str| v.to_string();
        assert_eq!(
            got,
            vec![
                (s("le"), s("a.test"), vec![s("b.test")]),
                (s("le"), s("d.test"), vec![s("e.test")]),
                (s("other"), s("ep.test"), vec![]),
                (s("other"), s("plain.test"), vec![]),
            ]
        );
    }
}
