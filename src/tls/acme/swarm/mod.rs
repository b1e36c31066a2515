//! The Swarm store (`storage = "swarm://<prefix>"`): the ACME account, certificates, pending
//! HTTP-01 tokens and per-domain order locks kept as Docker configs, which Swarm replicates to
//! every manager through its Raft log. Needs the Docker socket of a manager.
//!
//! - Objects are immutable: each certificate is a new object `<prefix>-cert-…-<version>`; the
//!   writer removes versions older than the previous one (which stays for a replica reading
//!   meanwhile). Replicas serve from memory, so removing an object never stops a certificate.
//! - Lock: `<prefix>-lock-<resolver>-<hash>` is created (a name conflict means held), labelled
//!   with owner and expiry; the holder extends the expiry every `lockTtl / 3` (configs' labels
//!   can be updated, with the object's version as a compare-and-swap); an expired lock is deleted
//!   by id (never a newer lock of the same name) and created again — of two replicas racing, one
//!   create wins.
//! - `watch` follows Docker's config events (plus a resync every 30 s) and hands each new
//!   snapshot (newest valid certificate per domain, pending tokens) to the manager.
//!
//! Private keys sit in configs, which Swarm keeps in its Raft log (encrypted at rest on managers,
//! sent over mutual TLS) and which only the API of a manager can read back — the same boundary as
//! secrets, which the same API can mount into any service. See docs/acme-ha.md.
#![allow(clippy::disallowed_types)] // std Mutex: ACME Swarm store: config plane

mod follow;
mod lock;
pub mod objects;

pub use lock::{Lease, LockOutcome};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bollard::errors::Error as DockerError;
use bollard::models::ConfigSpec;
use bollard::query_parameters::ListConfigsOptions;
use bollard::Docker;
use tokio::sync::{watch, OnceCell};

use self::objects::{Kind, Naming, Object, TokenData, ValidCert};
use crate::provider::swarm::DockerEndpoint;
use crate::tls::acme::storage::StoredCert;

pub const SCHEME: &str = "swarm://";
const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(60);
const DEFAULT_CHALLENGE_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SwarmStoreError {
    #[error("ACME storage {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("ACME Swarm store: {0}")]
    Endpoint(#[from] crate::provider::swarm::SwarmError),
    #[error("ACME Swarm store: {op} {name}: {source}")]
    Docker {
        op: &'static str,
        name: String,
        #[source]
        source: DockerError,
    },
    #[error("ACME Swarm store: cannot serialize: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// What the store holds now, validated.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub certs: BTreeMap<(String, String), ValidCert>,
    /// HTTP-01: token → key authorization.
    pub tokens: HashMap<String, String>,
    /// TLS-ALPN-01: name → key authorization.
    pub alpn: HashMap<String, String>,
}

pub struct SwarmStore {
    pub naming: Naming,
    endpoint: String,
    docker: OnceCell<Docker>,
    pub lock_ttl: Duration,
    /// Wait between publishing a token and telling the CA to validate, so every replica's watch
    /// has it.
    pub challenge_delay: Duration,
    /// `<hostname>/<pid>`: who holds a lock.
    pub owner: String,
    reported: Mutex<HashSet<String>>,
    synced: watch::Sender<bool>,
}

impl std::fmt::Debug for SwarmStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmStore")
            .field("prefix", &self.naming.prefix)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl SwarmStore {
    /// `url` is `swarm://<prefix>[?lockTtl=60s&challengeDelay=2s]`; `endpoint` the Docker API
    /// (a manager's). No I/O yet.
    pub fn open(url: &str, endpoint: &str) -> Result<SwarmStore, SwarmStoreError> {
        let bad = |reason: String| SwarmStoreError::Url {
            url: url.to_string(),
            reason,
        };
        let rest = url
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad(format!("does not start with {SCHEME}")))?;
        let (prefix, query) = rest.split_once('?').unwrap_or((rest, ""));
        let prefix = if prefix.is_empty() {
            "swarmgate"
        } else {
            prefix
        };
        let mut lock_ttl = DEFAULT_LOCK_TTL;
        let mut challenge_delay = DEFAULT_CHALLENGE_DELAY;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let duration = || {
                value
                    .parse::<crate::config::Duration>()
                    .map(|d| d.get())
                    .map_err(|e| bad(e.to_string()))
            };
            match key {
                "lockTtl" => lock_ttl = duration()?,
                "challengeDelay" => challenge_delay = duration()?,
                other => {
                    return Err(bad(format!(
                        "unknown option {other:?} (lockTtl, challengeDelay)"
                    )))
                }
            }
        }
        if lock_ttl < Duration::from_secs(3) {
            return Err(bad("lockTtl must be at least 3s".to_string()));
        }
        DockerEndpoint::parse(endpoint)?;
        Ok(SwarmStore {
            naming: Naming::new(prefix),
            endpoint: endpoint.to_string(),
            docker: OnceCell::new(),
            lock_ttl,
            challenge_delay,
            owner: format!("{}/{}", hostname(), std::process::id()),
            reported: Mutex::new(HashSet::new()),
            synced: watch::Sender::new(false),
        })
    }

    /// Whether a snapshot has been read since start (no order is placed before).
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    async fn docker(&self) -> Result<&Docker, SwarmStoreError> {
        self.docker
            .get_or_try_init(|| async {
                let endpoint = DockerEndpoint::parse(&self.endpoint)?;
                crate::provider::swarm::connect(&endpoint)?
                    .negotiate_version()
                    .await
                    .map_err(|source| self.error("connect to", &self.endpoint, source))
            })
            .await
    }

    fn error(&self, op: &'static str, name: &str, source: DockerError) -> SwarmStoreError {
        SwarmStoreError::Docker {
            op,
            name: name.to_string(),
            source,
        }
    }

    /// Every object of this store.
    pub async fn list(&self) -> Result<Vec<Object>, SwarmStoreError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={}", objects::LABEL_STORE, self.naming.prefix)],
        )]);
        let configs = self
            .docker()
            .await?
            .list_configs(Some(ListConfigsOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| self.error("list", &self.naming.prefix, e))?;
        Ok(configs.iter().filter_map(Object::from_config).collect())
    }

    /// Reads the store; each corrupt object is reported once and skipped.
    pub async fn snapshot(&self) -> Result<Snapshot, SwarmStoreError> {
        let objects = self.list().await?;
        Ok(self.read(&objects))
    }

    fn read(&self, objects: &[Object]) -> Snapshot {
        let (certs, corrupt) = objects::select_certs(objects, SystemTime::now());
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        for c in corrupt {
            if reported.insert(c.id.clone()) {
                tracing::error!(object = %c.name, id = %c.id, reason = %c.reason, "ACME Swarm store: skipping an unusable certificate object");
            }
        }
        let (tokens, alpn) = objects::challenges(objects);
        Snapshot {
            certs,
            tokens,
            alpn,
        }
    }

    async fn create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
        data: &[u8],
    ) -> Result<String, SwarmStoreError> {
        let spec = ConfigSpec {
            name: Some(name.to_string()),
            labels: Some(labels),
            data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
            templating: None,
        };
        let created = self
            .docker()
            .await?
            .create_config(spec)
            .await
            .map_err(|e| self.error("create", name, e))?;
        Ok(created.id)
    }

    /// Removes an object by id; one already gone is fine.
    pub async fn remove(&self, id: &str) -> Result<(), SwarmStoreError> {
        match self.docker().await?.delete_config(id).await {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.error("remove", id, e)),
        }
    }

    /// The stored account credentials of `resolver`.
    pub async fn account(
        &self,
        resolver: &str,
    ) -> Result<Option<serde_json::Value>, SwarmStoreError> {
        let name = self.naming.account(resolver);
        let objects = self.list().await?;
        let Some(object) = objects.iter().find(|o| o.name == name) else {
            return Ok(None);
        };
        match object.data.as_deref().map(serde_json::from_slice) {
            Some(Ok(value)) => Ok(Some(value)),
            _ => {
                tracing::error!(object = %name, "ACME Swarm store: account object does not parse; ignoring it");
                Ok(None)
            }
        }
    }

    /// Stores new account credentials; when another replica stored one first, returns theirs.
    pub async fn save_account(
        &self,
        resolver: &str,
        account: serde_json::Value,
    ) -> Result<serde_json::Value, SwarmStoreError> {
        let name = self.naming.account(resolver);
        let labels = self
            .naming
            .labels(Kind::Account, &[(objects::LABEL_RESOLVER, resolver)]);
        match self
            .create(&name, labels, &serde_json::to_vec(&account)?)
            .await
        {
            Ok(_) => Ok(account),
            Err(SwarmStoreError::Docker { source, .. }) if status(&source) == Some(409) => {
                Ok(self.account(resolver).await?.unwrap_or(account))
            }
            Err(e) => Err(e),
        }
    }

    /// Writes a certificate as a new object, then removes superseded versions (best effort).
    pub async fn put_certificate(
        &self,
        resolver: &str,
        cert: &StoredCert,
    ) -> Result<(), SwarmStoreError> {
        let now = SystemTime::now();
        let version = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let domain = cert.domain.main.to_ascii_lowercase();
        let name = self.naming.cert(resolver, &domain, version);
        let issued = objects::unix(now).to_string();
        let labels = self.naming.labels(
            Kind::Cert,
            &[
                (objects::LABEL_RESOLVER, resolver),
                (objects::LABEL_DOMAIN, &domain),
                (objects::LABEL_ISSUED, &issued),
            ],
        );
        self.create(&name, labels, &serde_json::to_vec(cert)?)
            .await?;
        match self.list().await {
            Ok(all) => {
                for id in objects::superseded(&all, resolver, &domain, version) {
                    if let Err(error) = self.remove(&id).await {
                        tracing::warn!(%error, "ACME Swarm store: cannot remove a superseded certificate");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "ACME Swarm store: cannot list superseded certificates")
            }
        }
        Ok(())
    }

    /// Publishes a challenge answer for every replica (HTTP-01 `token`, or TLS-ALPN-01 for
    /// `alpn_name`); returns the object id.
    pub async fn publish_token(
        &self,
        token: &str,
        key_authorization: &str,
        alpn_name: Option<&str>,
    ) -> Result<String, SwarmStoreError> {
        let data = serde_json::to_vec(&TokenData {
            token: token.to_string(),
            key_authorization: key_authorization.to_string(),
            alpn_name: alpn_name.map(str::to_string),
        })?;
        let created = objects::unix(SystemTime::now()).to_string();
        let labels = self
            .naming
            .labels(Kind::Token, &[(objects::LABEL_CREATED, &created)]);
        let name = self.naming.token(token);
        match self.create(&name, labels.clone(), &data).await {
            Err(SwarmStoreError::Docker { source, .. }) if status(&source) == Some(409) => {
                // A leftover of the same token (an earlier attempt): replace it.
                if let Some(old) = self.list().await?.into_iter().find(|o| o.name == name) {
                    self.remove(&old.id).await?;
                }
                self.create(&name, labels, &data).await
            }
            other => other,
        }
    }
}

pub(super) fn status(error: &DockerError) -> Option<u16> {
    match error {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "swarmgate".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_url_options() {
        let store = SwarmStore::open(
            "swarm://edge?lockTtl=10s&challengeDelay=500ms",
            "unix:///var/run/docker.sock",
        )
        .unwrap();
        assert_eq!(store.naming.prefix, "edge");
        assert_eq!(store.lock_ttl, Duration::from_secs(10));
        assert_eq!(store.challenge_delay, Duration::from_millis(500));
        let store = SwarmStore::open("swarm://", "/var/run/docker.sock").unwrap();
        assert_eq!(store.naming.prefix, "swarmgate");
        assert_eq!(store.lock_ttl, DEFAULT_LOCK_TTL);
        assert!(store.owner.ends_with(&format!("/{}", std::process::id())));
        for bad in [
            "swarm://x?lockTtl=1s",
            "swarm://x?ttl=10s",
            "swarm://x?lockTtl=soon",
            "file://x",
        ] {
            let err = SwarmStore::open(bad, "/var/run/docker.sock")
                .unwrap_err()
                .to_string();
            assert!(err.contains(bad), "{err}");
        }
        assert!(SwarmStore::open("swarm://x", "ftp://nowhere").is_err());
    }
}
