//! ACME certificate resolvers (`certificatesResolvers.<name>.acme`): which certificates the
//! routers need, the background loop that obtains and renews them, and the account.
//!
//! Contract: certificates are ordered in the background, never on a handshake; a still-valid
//! certificate is never removed because a renewal failed; failures back off exponentially
//! (10 s doubling to 1 h); until a certificate arrives the store's default certificate serves.
//!
//! With the Swarm store (`storage = "swarm://…"`, several replicas): no order before the store
//! has been read; one order per domain across replicas (the store's lock; a replica that finds it
//! held waits and picks the certificate up from the store); after taking the lock the store is
//! read again, so a certificate another replica just obtained or renewed is used, not re-ordered.
#![allow(clippy::disallowed_types)] // std Mutex: ACME resolvers: config plane (orders, renewals)

pub mod attempts;
pub mod backend;
pub mod chain;
pub mod dns;
pub mod order;
mod replicas;
pub mod storage;
pub mod swarm;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use instant_acme::{Account, AccountCredentials, NewAccount};
use tokio::sync::watch;

use self::backend::{Backend, BackendError, Opened};
use self::order::{ChallengeKind, Responders};
use self::replicas::Issued;
use self::storage::StoredCert;
use self::swarm::{Snapshot, SwarmStore};
use crate::config::dynamic::TlsDomain;
use crate::config::static_config::{AcmeConfig, StaticConfig};
use crate::tls::certs;
use crate::tls::challenges::HttpChallenges;
use crate::tls::store::CertStore;

/// Let's Encrypt production, Traefik's default `caServer`.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
const FIRST_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Minimum time between two successful orders for the same domains.
const HOLD_OFF: Duration = Duration::from_secs(10);
const TICK: Duration = Duration::from_secs(2);

/// A certificate some router needs: resolver name, main domain, SANs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Want {
    pub resolver: String,
    pub main: String,
    pub sans: Vec<String>,
}

impl Want {
    pub fn from_domain(resolver: &str, domain: &TlsDomain) -> Want {
        let main = domain.main.to_ascii_lowercase();
        let mut sans: Vec<String> = domain
            .sans
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| *s != main)
            .collect();
        sans.sort();
        sans.dedup();
        Want {
            resolver: resolver.to_string(),
            main,
            sans,
        }
    }

    /// Whether a name is a wildcard (`*.example.com`), which only DNS-01 can prove.
    pub fn has_wildcard(&self) -> bool {
        self.names().iter().any(|n| n.starts_with("*."))
    }

    fn names(&self) -> Vec<String> {
        std::iter::once(self.main.clone())
            .chain(self.sans.iter().cloned())
            .collect()
    }
}

impl Resolver {
    fn preferred_chain(&self) -> Option<&str> {
        self.cfg
            .preferred_chain
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

struct Resolver {
    name: String,
    cfg: AcmeConfig,
    base: std::path::PathBuf,
    kind: ChallengeKind,
    dns: Option<Arc<dns::Dns01>>,
    key: order::KeyKind,
    /// `eab`: the key id and the decoded MAC key.
    eab: Option<(String, Vec<u8>)>,
    renew_before: Duration,
    storage: Backend,
    account: tokio::sync::Mutex<Option<Account>>,
}

pub struct Manager {
    resolvers: BTreeMap<String, Arc<Resolver>>,
    swarm_stores: Vec<Arc<SwarmStore>>,
    store: Arc<CertStore>,
    http: Arc<HttpChallenges>,
    wanted: watch::Sender<BTreeSet<Want>>,
    /// TLS-ALPN-01 answers taken from the Swarm store: name → key authorization.
    shared_alpn: std::sync::Mutex<HashMap<String, String>>,
}

impl Manager {
    /// Opens every resolver's storage and loads its stored certificates into `store`.
    /// `None` when no ACME resolver is configured.
    pub fn new(
        cfg: &StaticConfig,
        base: &Path,
        store: &Arc<CertStore>,
        http: &Arc<HttpChallenges>,
    ) -> Result<Option<Manager>, BackendError> {
        let docker = cfg
            .providers
            .swarm
            .as_ref()
            .or(cfg.providers.docker.as_ref())
            .map_or(backend::DEFAULT_DOCKER, |s| s.endpoint.as_str());
        let mut opened = Opened::default();
        let mut resolvers = BTreeMap::new();
        let lookup = |k: &str| std::env::var(k).ok();
        let env = dns::Env::new(&lookup);
        for (name, resolver) in &cfg.certificates_resolvers {
            let Some(acme) = &resolver.acme else { continue };
            let storage = opened.open(acme, base, docker)?;
            let dns = match &acme.dns_challenge {
                Some(dns) => Some(Arc::new(dns::Dns01::new(dns, &env).map_err(|source| {
                    BackendError::Dns {
                        resolver: name.clone(),
                        source,
                    }
                })?)),
                None => None,
            };
            let config_error = |message: String| BackendError::Config {
                resolver: name.clone(),
                message,
            };
            let key = order::KeyKind::parse(acme.key_type.as_deref()).map_err(config_error)?;
            let eab = match &acme.eab {
                Some(eab) => Some(eab_key(eab).map_err(config_error)?),
                None => None,
            };
            let kind = if dns.is_some() {
                ChallengeKind::Dns01
            } else if acme.http_challenge.is_some() {
                ChallengeKind::Http01
            } else {
                ChallengeKind::TlsAlpn01
            };
            if let Backend::File(file) = &storage {
                load_stored(name, file, store);
            }
            resolvers.insert(
                name.clone(),
                Arc::new(Resolver {
                    name: name.clone(),
                    cfg: acme.clone(),
                    base: base.to_path_buf(),
                    kind,
                    dns,
                    key,
                    eab,
                    renew_before: renew_before(acme),
                    storage,
                    account: tokio::sync::Mutex::new(None),
                }),
            );
        }
        if resolvers.is_empty() {
            return Ok(None);
        }
        Ok(Some(Manager {
            resolvers,
            swarm_stores: opened.swarm_stores(),
            store: Arc::clone(store),
            http: Arc::clone(http),
            wanted: watch::Sender::new(BTreeSet::new()),
            shared_alpn: std::sync::Mutex::new(HashMap::new()),
        }))
    }

    /// Replaces the set of certificates the routers need.
    pub fn want(&self, wanted: BTreeSet<Want>) {
        let mut wanted = wanted;
        wanted.retain(|want| match self.resolvers.get(&want.resolver) {
            None => {
                tracing::warn!(resolver = %want.resolver, domain = %want.main, "router names an unknown certificate resolver");
                true
            }
            // Reported for the router by `app::reference_issues`; never ordered.
            Some(r) => r.kind == ChallengeKind::Dns01 || !want.has_wildcard(),
        });
        self.wanted.send_if_modified(|current| {
            let changed = *current != wanted;
            *current = wanted;
            changed
        });
    }

    /// Obtains and renews until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        for store in &self.swarm_stores {
            let this = Arc::clone(&self);
            let watched = Arc::clone(store);
            let apply = move |snapshot: Snapshot| this.apply(&watched, &snapshot);
            tokio::spawn(Arc::clone(store).watch(apply, shutdown.clone()));
        }
        let mut rx = self.wanted.subscribe();
        let mut schedule: HashMap<Want, (Instant, Duration)> = HashMap::new();
        loop {
            let wanted = rx.borrow_and_update().clone();
            for want in &wanted {
                let Some(resolver) = self.resolvers.get(&want.resolver) else {
                    continue;
                };
                if schedule
                    .get(want)
                    .is_some_and(|(at, _)| *at > Instant::now())
                {
                    continue;
                }
                if resolver.storage.swarm().is_some_and(|s| !s.is_synced()) {
                    continue;
                }
                let Some(reason) = self.needs(resolver, want) else {
                    continue;
                };
                let backoff = schedule.get(want).map_or(FIRST_BACKOFF, |(_, b)| *b);
                let note = |state, error, next| {
                    self.store
                        .note_acme(&resolver.name, &want.main, state, error, next)
                };
                note("ordering", None, None);
                match self.issue(resolver, want, reason).await {
                    Ok(issued @ (Issued::Done | Issued::FromStore)) => {
                        let attempts = &self.store.acme_attempts;
                        note("valid", None, None);
                        match issued {
                            Issued::Done => attempts.issued(&resolver.name, &want.main),
                            _ => attempts.settled(&resolver.name, &want.main),
                        }
                        schedule.insert(want.clone(), (Instant::now() + HOLD_OFF, FIRST_BACKOFF));
                    }
                    Ok(Issued::Busy) => {
                        schedule.insert(want.clone(), (Instant::now() + TICK, backoff));
                    }
                    Err(error) => {
                        let error = error_chain(&error);
                        tracing::error!(resolver = %resolver.name, domain = %want.main, %error, retry_in_s = backoff.as_secs(), "unable to obtain ACME certificate");
                        let retry_at = SystemTime::now() + backoff;
                        note("failed", Some(error.clone()), Some(retry_at));
                        self.store.acme_attempts.failed(
                            &resolver.name,
                            &want.main,
                            &error,
                            retry_at,
                        );
                        let next = (backoff * 2).min(MAX_BACKOFF);
                        schedule.insert(want.clone(), (Instant::now() + backoff, next));
                    }
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(TICK) => {}
                _ = crate::shutdown::stopped(&mut shutdown) => return,
            }
        }
    }

    /// Why `want` needs an order now, if it does.
    fn needs(&self, resolver: &Resolver, want: &Want) -> Option<&'static str> {
        let Some(current) = self.store.acme(&resolver.name, &want.main) else {
            return Some("obtain");
        };
        if !want.names().iter().all(|n| current.names.contains(n)) {
            return Some("domains changed");
        }
        if current.remaining(SystemTime::now()) < resolver.renew_before {
            return Some("renew");
        }
        None
    }

    /// Orders a certificate; with the Swarm store, under the domain's lock and only when the
    /// store, read again once the lock is held, has no certificate that serves.
    async fn issue(
        &self,
        resolver: &Resolver,
        want: &Want,
        reason: &str,
    ) -> Result<Issued, AcmeError> {
        let Some(shared) = resolver.storage.swarm() else {
            return self.order(resolver, want, reason, None).await;
        };
        self.issue_shared(shared, resolver, want).await
    }

    async fn order(
        &self,
        resolver: &Resolver,
        want: &Want,
        reason: &str,
        shared: Option<&SwarmStore>,
    ) -> Result<Issued, AcmeError> {
        tracing::info!(resolver = %resolver.name, domain = %want.main, sans = ?want.sans, reason, "ordering ACME certificate");
        let account = self.account(resolver).await?;
        let responders = Responders {
            http: &self.http,
            store: &self.store,
            shared,
            dns: resolver.dns.as_deref(),
        };
        let names = want.names();
        let (chain, key, cert_url) = order::obtain(
            &account,
            &names,
            resolver.kind,
            resolver.key,
            resolver.cfg.profile.as_deref().filter(|p| !p.is_empty()),
            &responders,
        )
        .await?;
        let chain = match (resolver.preferred_chain(), cert_url) {
            (Some(preferred), Some(url)) => {
                self.preferred_chain(resolver, preferred, chain, &url).await
            }
            _ => chain,
        };
        let loaded = certs::parse_pair(chain.as_bytes(), key.as_bytes(), "ACME certificate")?;
        let domain = TlsDomain {
            main: want.main.clone(),
            sans: want.sans.clone(),
        };
        resolver
            .storage
            .put_certificate(&resolver.name, StoredCert::new(domain, &chain, &key))
            .await?;
        let not_after = humantime_utc(loaded.not_after);
        let soon = loaded.remaining(SystemTime::now()) < resolver.renew_before;
        self.store.set_acme(&resolver.name, &want.main, loaded);
        let event = if reason == "renew" {
            "renewed"
        } else {
            "obtained"
        };
        tracing::info!(resolver = %resolver.name, domain = %want.main, %not_after, "ACME certificate {event}");
        if soon {
            tracing::warn!(resolver = %resolver.name, domain = %want.main, "renewBefore is longer than the certificate's lifetime; it will be renewed again");
        }
        Ok(Issued::Done)
    }

    /// `preferredChain`: the CA's chain whose top issuer is `preferred` (see `chain.rs`); any
    /// failure to fetch the alternates keeps the default chain, with a warning.
    async fn preferred_chain(
        &self,
        resolver: &Resolver,
        preferred: &str,
        default: String,
        cert_url: &str,
    ) -> String {
        let credentials = match resolver.storage.account(&resolver.name).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                tracing::warn!(resolver = %resolver.name, "preferredChain: no stored account; using the default chain");
                return default;
            }
            Err(error) => {
                tracing::warn!(resolver = %resolver.name, %error, "preferredChain: cannot read the account; using the default chain");
                return default;
            }
        };
        let mut roots = Vec::new();
        for pem in &resolver.cfg.ca_certificates {
            let path = resolver.base.join(pem);
            match std::fs::read(&path) {
                Ok(data) => {
                    roots.extend(rustls_pemfile::certs(&mut data.as_slice()).filter_map(Result::ok))
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "preferredChain: cannot read caCertificates")
                }
            }
        }
        let tls = dns::http::tls_config_with(&roots);
        match chain::choose(preferred, default.clone(), cert_url, &credentials, tls).await {
            Ok(chain) => chain,
            Err(error) => {
                tracing::warn!(resolver = %resolver.name, %preferred, %error, "preferredChain: cannot fetch the CA's alternate chains; using the default chain");
                default
            }
        }
    }

    async fn account(&self, resolver: &Resolver) -> Result<Account, AcmeError> {
        let mut slot = resolver.account.lock().await;
        if let Some(account) = slot.as_ref() {
            return Ok(account.clone());
        }
        let builder = || match resolver.cfg.ca_certificates.first() {
            Some(pem) => Account::builder_with_root(resolver.base.join(pem)),
            None => Account::builder(),
        };
        let stored = resolver.storage.account(&resolver.name).await?;
        if let Some(credentials) =
            stored.and_then(|v| serde_json::from_value::<AccountCredentials>(v).ok())
        {
            match builder()?.from_credentials(credentials).await {
                Ok(account) => {
                    *slot = Some(account.clone());
                    return Ok(account);
                }
                Err(error) => {
                    tracing::warn!(resolver = %resolver.name, %error, "stored ACME account unusable; creating a new one")
                }
            }
        }
        let contact = resolver.cfg.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let server = resolver
            .cfg
            .ca_server
            .clone()
            .unwrap_or_else(|| LETS_ENCRYPT.to_string());
        let eab = resolver
            .eab
            .as_ref()
            .map(|(kid, hmac)| instant_acme::ExternalAccountKey::new(kid.clone(), hmac));
        let (account, credentials) = builder()?
            .create(
                &NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                server,
                eab.as_ref(),
            )
            .await?;
        let value = serde_json::to_value(&credentials).map_err(AcmeError::Credentials)?;
        let kept = resolver
            .storage
            .save_account(&resolver.name, value.clone())
            .await?;
        let account = if kept == value {
            tracing::info!(resolver = %resolver.name, "ACME account registered");
            account
        } else {
            // Another replica stored its account first: use that one, so all share it.
            let credentials = serde_json::from_value::<AccountCredentials>(kept)
                .map_err(AcmeError::Credentials)?;
            builder()?.from_credentials(credentials).await?
        };
        *slot = Some(account.clone());
        Ok(account)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("ACME: {0}")]
    Acme(#[from] instant_acme::Error),
    #[error("{0}")]
    Order(#[from] order::OrderError),
    #[error("certificate from the CA: {0}")]
    Cert(#[from] certs::CertError),
    #[error("{0}")]
    Storage(#[from] BackendError),
    #[error("account credentials: {0}")]
    Credentials(serde_json::Error),
}

impl From<swarm::SwarmStoreError> for AcmeError {
    fn from(error: swarm::SwarmStoreError) -> AcmeError {
        AcmeError::Storage(BackendError::Swarm(error))
    }
}

/// How long before expiry a certificate is renewed: `renewBefore` when set, else Traefik's
/// period for `certificatesDuration` (hours): 4 months from a year, 30 days from 90 days, 1 day
/// from 7 days, 6 hours from a day, 20 minutes below; 30 days when neither is set.
pub fn renew_before(acme: &AcmeConfig) -> Duration {
    if let Some(d) = acme.renew_before {
        return d.0;
    }
    let Some(hours) = acme.cert_duration else {
        return DEFAULT_RENEW_BEFORE;
    };
    const HOUR: u64 = 3600;
    Duration::from_secs(match hours {
        h if h >= 365 * 24 => 4 * 30 * 24 * HOUR,
        h if h >= 3 * 30 * 24 => 30 * 24 * HOUR,
        h if h >= 7 * 24 => 24 * HOUR,
        h if h >= 24 => 6 * HOUR,
        _ => 20 * 60,
    })
}

/// `eab.kid` and `eab.hmacEncoded` (base64url, padded or not, as Traefik reads it).
fn eab_key(eab: &crate::config::static_config::EabConfig) -> Result<(String, Vec<u8>), String> {
    use base64::Engine as _;
    if eab.kid.trim().is_empty() || eab.hmac_encoded.trim().is_empty() {
        return Err("eab needs both kid and hmacEncoded".into());
    }
    let text = eab.hmac_encoded.trim().trim_end_matches('=');
    let hmac = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("eab.hmacEncoded is not base64url: {e}"))?;
    Ok((eab.kid.trim().to_string(), hmac))
}

/// Puts the stored, still-valid certificates of `resolver` into the store.
fn load_stored(resolver: &str, storage: &storage::Storage, store: &CertStore) {
    for stored in storage.resolver(resolver).certificates {
        let main = stored.domain.main.to_ascii_lowercase();
        let parsed = stored.pem().and_then(|(cert, key)| {
            certs::parse_pair(&cert, &key, &format!("stored certificate {main}")).ok()
        });
        match parsed {
            Some(loaded) if loaded.remaining(SystemTime::now()) > Duration::ZERO => {
                tracing::info!(resolver, domain = %main, not_after = %humantime_utc(loaded.not_after), "loaded stored ACME certificate");
                store.set_acme(resolver, &main, loaded);
            }
            Some(_) => {
                tracing::warn!(resolver, domain = %main, "stored ACME certificate has expired")
            }
            None => {
                tracing::warn!(resolver, domain = %main, "stored ACME certificate does not parse")
            }
        }
    }
}

/// `error: source: source…`, so the CA's or the connection's reason reaches the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// Seconds since the epoch, for logs.
fn humantime_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("@{secs}")
}

#[cfg(test)]
mod tests;
