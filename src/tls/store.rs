//! The certificate store: which certificate a TLS handshake gets, by SNI.
//!
//! Readers (every handshake) load an immutable `CertSet` through `ArcSwap`; writers (the static
//! file watcher, the ACME manager) hold a mutex only to rebuild and publish a new set. A swap
//! never touches established connections. Selection: exact name, then a one-label wildcard
//! (`*.example.com` covers `a.example.com`, not `a.b.example.com`), then the default certificate.
//! TLS-ALPN-01 handshakes (ALPN `acme-tls/1`) get only the challenge certificate for their name.
#![allow(clippy::disallowed_types)] // std Mutex: the certificate sources change on reload; handshakes read an ArcSwap

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::Loaded;

/// ALPN protocol of TLS-ALPN-01 (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// One immutable view of every certificate.
#[derive(Debug)]
struct CertSet {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the parent domain: `*.example.com` is stored under `example.com`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

/// What the writers contributed; rebuilt into a `CertSet` on every change.
struct Sources {
    default: Loaded,
    /// `tls.stores.default.defaultCertificate`, replacing the generated default.
    configured_default: Option<Loaded>,
    /// `tls.certificates`, in configuration order.
    files: Vec<Loaded>,
    /// ACME certificates by (resolver, main domain).
    acme: BTreeMap<(String, String), Loaded>,
}

/// One certificate the store holds, as `CertStore::status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertStatus {
    /// `default` (generated), `tls.stores.default`, `file`, or `acme:<resolver>`.
    pub source: String,
    pub names: Vec<String>,
    /// Expiry as Unix seconds.
    #[serde(rename = "notAfter")]
    pub not_after: i64,
    /// CN, decimal serial and DNS SANs for `traefik_tls_certs_not_after`.
    #[serde(skip)]
    pub labels: super::certs::CertLabels,
    /// The issuer's CN (swarmgate, for the dashboard).
    pub issuer: String,
    /// The certificate resolver of an ACME certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    /// What the ACME manager last did for it (none yet: loaded from storage, or not ACME).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal: Option<Renewal>,
}

/// The ACME manager's last step for one (resolver, main domain), for the API and dashboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Renewal {
    /// `ordering`, `valid` (obtained or renewed) or `failed`.
    pub state: &'static str,
    /// The error of the last failed order (kept until an order succeeds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Unix seconds of this step.
    pub at: i64,
    /// Unix seconds of the next attempt after a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<i64>,
}

pub struct CertStore {
    current: ArcSwap<CertSet>,
    challenges: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
    sources: Mutex<Sources>,
    /// The ACME manager's last step per (resolver, main domain).
    renewals: Mutex<BTreeMap<(String, String), Renewal>>,
    /// ACME orders per resolver and pending retries (`swarmgate_acme_*` metrics).
    pub acme_attempts: super::acme::attempts::Attempts,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore").finish_non_exhaustive()
    }
}

impl CertStore {
    /// A store that serves `default` to everyone until certificates are added.
    pub fn new(default: Loaded) -> CertStore {
        let sources = Sources {
            default,
            configured_default: None,
            files: Vec::new(),
            acme: BTreeMap::new(),
        };
        CertStore {
            current: ArcSwap::from_pointee(build(&sources)),
            challenges: ArcSwap::default(),
            sources: Mutex::new(sources),
            renewals: Mutex::default(),
            acme_attempts: Default::default(),
        }
    }

    /// Records the ACME manager's step for `main` of `resolver` (`error` on a failure, with the
    /// time of the next attempt); a failure's error stays until a later step succeeds.
    pub fn note_acme(
        &self,
        resolver: &str,
        main: &str,
        state: &'static str,
        error: Option<String>,
        next_attempt: Option<std::time::SystemTime>,
    ) {
        let secs = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let mut renewals = self.renewals.lock().unwrap_or_else(|p| p.into_inner());
        let key = (resolver.to_string(), main.to_string());
        let last_error = match (&error, state) {
            (Some(_), _) => error,
            (None, "valid") => None,
            (None, _) => renewals.get(&key).and_then(|r| r.last_error.clone()),
        };
        renewals.insert(
            key,
            Renewal {
                state,
                last_error,
                at: secs(std::time::SystemTime::now()),
                next_attempt: next_attempt.map(secs),
            },
        );
    }

    /// Replaces the certificates from `tls.certificates` and the configured default.
    pub fn set_files(&self, files: Vec<Loaded>, configured_default: Option<Loaded>) {
        self.update(|s| {
            s.files = files;
            s.configured_default = configured_default;
        });
    }

    /// Adds or replaces the ACME certificate of `(resolver, main)`.
    pub fn set_acme(&self, resolver: &str, main: &str, cert: Loaded) {
        self.update(|s| {
            s.acme
                .insert((resolver.to_string(), main.to_string()), cert);
        });
    }

    /// The ACME certificate currently held for `(resolver, main)`.
    pub fn acme(&self, resolver: &str, main: &str) -> Option<Loaded> {
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        sources
            .acme
            .get(&(resolver.to_string(), main.to_string()))
            .cloned()
    }

    /// Serves `cert` to TLS-ALPN-01 handshakes for `name` until `clear_challenge`.
    pub fn set_challenge(&self, name: &str, cert: Arc<CertifiedKey>) {
        let mut map = HashMap::clone(&self.challenges.load());
        map.insert(name.to_ascii_lowercase(), cert);
        self.challenges.store(Arc::new(map));
    }

    pub fn clear_challenge(&self, name: &str) {
        let mut map = HashMap::clone(&self.challenges.load());
        map.remove(&name.to_ascii_lowercase());
        self.challenges.store(Arc::new(map));
    }

    /// The certificate a handshake for `server_name` (None: no SNI) gets.
    pub fn select(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        server_name
            .and_then(|name| self.select_named(name))
            .unwrap_or_else(|| Arc::clone(&self.current.load().default))
    }

    /// The certificate that names `server_name` (exactly, else by a one-label wildcard); never
    /// the default one (`sniStrict`).
    pub fn select_named(&self, server_name: &str) -> Option<Arc<CertifiedKey>> {
        let set = self.current.load();
        let name = server_name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(cert) = set.exact.get(&name) {
            return Some(Arc::clone(cert));
        }
        let (_, parent) = name.split_once('.')?;
        set.wildcard.get(parent).map(Arc::clone)
    }

    /// Every certificate held (for the admin API and the expiry metric): where it came from, its
    /// names and its expiry. Config plane: takes the sources lock.
    pub fn status(&self) -> Vec<CertStatus> {
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let renewals = self.renewals.lock().unwrap_or_else(|p| p.into_inner());
        let entry = |source: String, cert: &Loaded| CertStatus {
            source,
            names: cert.names.clone(),
            not_after: cert
                .not_after
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            labels: cert.labels.clone(),
            issuer: cert.labels.issuer.clone(),
            resolver: None,
            renewal: None,
        };
        let mut out = vec![entry("default".to_string(), &sources.default)];
        if let Some(configured) = &sources.configured_default {
            out.push(entry("tls.stores.default".to_string(), configured));
        }
        out.extend(sources.files.iter().map(|c| entry("file".to_string(), c)));
        out.extend(sources.acme.iter().map(|((resolver, main), c)| CertStatus {
            resolver: Some(resolver.clone()),
            renewal: renewals.get(&(resolver.clone(), main.clone())).cloned(),
            ..entry(format!("acme:{resolver}"), c)
        }));
        // Names the ACME manager tried for and holds no certificate of (yet).
        for ((resolver, main), renewal) in renewals.iter() {
            if !sources.acme.contains_key(&(resolver.clone(), main.clone())) {
                out.push(CertStatus {
                    source: format!("acme:{resolver}"),
                    names: vec![main.clone()],
                    not_after: 0,
                    labels: Default::default(),
                    issuer: String::new(),
                    resolver: Some(resolver.clone()),
                    renewal: Some(renewal.clone()),
                });
            }
        }
        out
    }

    fn update(&self, change: impl FnOnce(&mut Sources)) {
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut sources);
        self.current.store(Arc::new(build(&sources)));
    }
}

/// Static files first (configuration order), then ACME certificates; the first holder of a name wins.
fn build(s: &Sources) -> CertSet {
    let mut exact = HashMap::new();
    let mut wildcard = HashMap::new();
    for loaded in s.files.iter().chain(s.acme.values()) {
        for name in &loaded.names {
            let (map, key) = match name.strip_prefix("*.") {
                Some(parent) => (&mut wildcard, parent.to_string()),
                None => (&mut exact, name.clone()),
            };
            map.entry(key).or_insert_with(|| Arc::clone(&loaded.key));
        }
    }
    let default = s.configured_default.as_ref().unwrap_or(&s.default);
    CertSet {
        exact,
        wildcard,
        default: Arc::clone(&default.key),
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            let name = hello.server_name()?.to_ascii_lowercase();
            return self.challenges.load().get(&name).cloned();
        }
        Some(self.select(hello.server_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::certs::self_signed;

    fn cert(names: &[&str]) -> Loaded {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        self_signed(&names, "test").unwrap()
    }

    #[test]
    fn status_reports_issuer_resolver_and_the_acme_managers_last_step() {
        let store = CertStore::new(cert(&["default.invalid"]));
        let soon =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000);
        store.note_acme("le", "a.test", "ordering", None, None);
        store.note_acme(
            "le",
            "a.test",
            "failed",
            Some("rate limited".into()),
            Some(soon),
        );
        let status = store.status();
        let a = status.iter().find(|c| c.names == ["a.test"]).unwrap();
        // No certificate yet: listed with its failure, so the dashboard shows why.
        assert_eq!((a.source.as_str(), a.not_after), ("acme:le", 0));
        assert_eq!(a.resolver.as_deref(), Some("le"));
        let r = a.renewal.clone().unwrap();
        assert_eq!(
            (r.state, r.last_error.as_deref()),
            ("failed", Some("rate limited"))
        );
        assert_eq!(r.next_attempt, Some(2_000_000_000));
        // The next try keeps the last error until an order succeeds.
        store.note_acme("le", "a.test", "ordering", None, None);
        let r = store.status()[1].renewal.clone().unwrap();
        assert_eq!(
            (r.state, r.last_error.as_deref()),
            ("ordering", Some("rate limited"))
        );
        store.set_acme("le", "a.test", cert(&["a.test"]));
        store.note_acme("le", "a.test", "valid", None, None);
        let status = store.status();
        assert_eq!(status.len(), 2);
        let a = &status[1];
        assert_eq!(a.issuer, "test");
        assert!(a.not_after > 0);
        let r = a.renewal.clone().unwrap();
        assert_eq!((r.state, r.last_error), ("valid", None));
        let json = serde_json::to_value(a).unwrap();
        assert_eq!(json["renewal"]["state"], "valid");
        assert_eq!(json["resolver"], "le");
        assert_eq!(status[0].issuer, "test");
        assert!(status[0].renewal.is_none());
    }

    #[test]
    fn selection_prefers_exact_then_one_label_wildcard_then_default() {
        let default = cert(&["default.invalid"]);
        let a = cert(&["a.example.com"]);
        let wild = cert(&["*.example.com"]);
        let acme = cert(&["acme.test", "a.example.com"]);
        let store = CertStore::new(default.clone());
        store.set_files(vec![a.clone(), wild.clone()], None);
        store.set_acme("le", "acme.test", acme.clone());
        let cases: [(Option<&str>, &Loaded); 7] = [
            (Some("a.example.com"), &a),
            (Some("A.Example.COM."), &a),
            (Some("b.example.com"), &wild),
            (Some("x.b.example.com"), &default),
            (Some("example.com"), &default),
            (Some("acme.test"), &acme),
            (None, &default),
        ];
        for (sni, expected) in cases {
            assert!(
                Arc::ptr_eq(&store.select(sni), &expected.key),
                "{sni:?} should get {:?}",
                expected.names
            );
        }
    }

    #[test]
    fn configured_default_replaces_the_generated_one_and_can_be_removed() {
        let generated = cert(&["generated.invalid"]);
        let configured = cert(&["configured.invalid"]);
        let store = CertStore::new(generated.clone());
        store.set_files(Vec::new(), Some(configured.clone()));
        assert!(Arc::ptr_eq(&store.select(Some("x")), &configured.key));
        store.set_files(Vec::new(), None);
        assert!(Arc::ptr_eq(&store.select(Some("x")), &generated.key));
    }
}
