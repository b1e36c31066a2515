//! Where a resolver keeps its ACME state: the local `acme.json` file (one replica) or the Swarm
//! store (several replicas sharing certificates, locks and HTTP-01 tokens through Docker configs).
//! A closed enum: the manager asks the same questions of both; only the Swarm store has locks and
//! shared tokens, and the manager takes that path when `swarm()` is `Some`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::storage::{Storage, StorageError, StoredCert};
use super::swarm::{SwarmStore, SwarmStoreError, SCHEME};
use crate::config::static_config::AcmeConfig;

/// The Docker API used by the Swarm store when `providers.swarm.endpoint` is not set.
pub const DEFAULT_DOCKER: &str = "unix:///var/run/docker.sock";

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    File(#[from] StorageError),
    #[error(transparent)]
    Swarm(#[from] SwarmStoreError),
    /// An option of the resolver that cannot work (`keyType`, `eab`).
    #[error("certificatesResolvers.{resolver}.acme: {message}")]
    Config { resolver: String, message: String },
    /// A `dnsChallenge` that cannot work: unknown provider, missing variable.
    #[error("certificatesResolvers.{resolver}.acme.dnsChallenge: {source}")]
    Dns {
        resolver: String,
        #[source]
        source: super::dns::SetupError,
    },
}

#[derive(Debug, Clone)]
pub enum Backend {
    File(Arc<Storage>),
    Swarm(Arc<SwarmStore>),
}

/// Opened stores, shared by the resolvers that name the same file or prefix.
#[derive(Default)]
pub struct Opened {
    files: HashMap<PathBuf, Arc<Storage>>,
    swarm: HashMap<String, Arc<SwarmStore>>,
}

impl Opened {
    /// The store named by `acme.storage` (`acme.json` by default; `swarm://<prefix>[?…]`).
    pub fn open(
        &mut self,
        acme: &AcmeConfig,
        base: &Path,
        docker: &str,
    ) -> Result<Backend, BackendError> {
        let storage = acme.storage.as_deref().unwrap_or("acme.json");
        if storage.starts_with(SCHEME) {
            let store = SwarmStore::open(storage, docker)?;
            let store = Arc::clone(
                self.swarm
                    .entry(store.naming.prefix.clone())
                    .or_insert_with(|| Arc::new(store)),
            );
            return Ok(Backend::Swarm(store));
        }
        let path = base.join(storage);
        if let Some(s) = self.files.get(&path) {
            return Ok(Backend::File(Arc::clone(s)));
        }
        let s = Arc::new(Storage::open(&path)?);
        self.files.insert(path, Arc::clone(&s));
        Ok(Backend::File(s))
    }

    pub fn swarm_stores(&self) -> Vec<Arc<SwarmStore>> {
        self.swarm.values().cloned().collect()
    }
}

impl Backend {
    pub fn swarm(&self) -> Option<&Arc<SwarmStore>> {
        match self {
            Backend::Swarm(s) => Some(s),
            Backend::File(_) => None,
        }
    }

    /// The stored account credentials of `resolver`.
    pub async fn account(&self, resolver: &str) -> Result<Option<serde_json::Value>, BackendError> {
        match self {
            Backend::File(s) => Ok(s.resolver(resolver).account),
            Backend::Swarm(s) => Ok(s.account(resolver).await?),
        }
    }

    /// Stores new credentials; returns the ones to use (another replica's when it stored first).
    pub async fn save_account(
        &self,
        resolver: &str,
        account: serde_json::Value,
    ) -> Result<serde_json::Value, BackendError> {
        match self {
            Backend::File(s) => {
                s.set_account(resolver, account.clone())?;
                Ok(account)
            }
            Backend::Swarm(s) => Ok(s.save_account(resolver, account).await?),
        }
    }

    /// Stores a certificate; on error the store still holds the previous one.
    pub async fn put_certificate(
        &self,
        resolver: &str,
        cert: StoredCert,
    ) -> Result<(), BackendError> {
        match self {
            Backend::File(s) => Ok(s.put_certificate(resolver, cert)?),
            Backend::Swarm(s) => Ok(s.put_certificate(resolver, &cert).await?),
        }
    }
}
