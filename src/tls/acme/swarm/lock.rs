//! The order lock of one domain: a config created by one replica (a name conflict means held),
//! labelled with owner and expiry, extended by its holder every `lockTtl / 3` with the object's
//! version as compare-and-swap; an expired lock is deleted by id and created again.

use std::sync::Arc;
use std::time::SystemTime;

use bollard::query_parameters::UpdateConfigOptions;
use tokio::task::JoinHandle;

use super::objects::{self, Holder, LockState, Object};
use super::{status, SwarmStore, SwarmStoreError};

/// Result of `try_lock`.
pub enum LockOutcome {
    Acquired(Lease),
    Busy { owner: String, expires: u64 },
}

impl SwarmStore {
    /// Tries to take the order lock of (resolver, domain); see the module docs.
    pub async fn try_lock(
        self: &Arc<Self>,
        resolver: &str,
        domain: &str,
    ) -> Result<LockOutcome, SwarmStoreError> {
        let name = self.naming.lock(resolver, domain);
        let holder = Holder {
            owner: &self.owner,
            resolver,
            domain,
        };
        for _ in 0..3 {
            let labels =
                objects::lock_labels(&self.naming, holder, SystemTime::now(), self.lock_ttl);
            match self.create(&name, labels, b"lock").await {
                Ok(id) => {
                    tracing::debug!(lock = %name, owner = %self.owner, "ACME order lock taken");
                    return Ok(LockOutcome::Acquired(Lease::start(
                        Arc::clone(self),
                        id,
                        name,
                    )));
                }
                Err(SwarmStoreError::Docker { source, .. }) if status(&source) == Some(409) => {}
                Err(e) => return Err(e),
            }
            let held = match self.docker().await?.inspect_config(&name).await {
                Ok(config) => config,
                Err(e) if status(&e) == Some(404) => continue,
                Err(e) => return Err(self.error("inspect", &name, e)),
            };
            let Some(object) = Object::from_config(&held) else {
                continue;
            };
            match objects::lock_state(&object.labels, SystemTime::now()) {
                LockState::Held { owner, expires } => {
                    return Ok(LockOutcome::Busy { owner, expires })
                }
                LockState::Expired { owner } => {
                    tracing::warn!(lock = %name, %owner, "ACME order lock expired (its holder stopped); taking it over");
                    self.remove(&object.id).await?;
                }
            }
        }
        // Lost every race: someone else holds it now.
        Ok(LockOutcome::Busy {
            owner: String::new(),
            expires: 0,
        })
    }

    /// Extends a lock we hold; `false` when it is no longer ours.
    async fn extend(&self, id: &str) -> Result<bool, SwarmStoreError> {
        let docker = self.docker().await?;
        let config = docker
            .inspect_config(id)
            .await
            .map_err(|e| self.error("inspect", id, e))?;
        let Some(object) = Object::from_config(&config) else {
            return Ok(false);
        };
        if object.label(objects::LABEL_OWNER) != Some(self.owner.as_str()) {
            return Ok(false);
        }
        let version = config.version.and_then(|v| v.index).unwrap_or(0);
        let holder = Holder {
            owner: &self.owner,
            resolver: object.label(objects::LABEL_RESOLVER).unwrap_or_default(),
            domain: object.label(objects::LABEL_DOMAIN).unwrap_or_default(),
        };
        let labels = objects::lock_labels(&self.naming, holder, SystemTime::now(), self.lock_ttl);
        let mut spec = config.spec.unwrap_or_default();
        spec.labels = Some(labels);
        docker
            .update_config(
                id,
                spec,
                UpdateConfigOptions {
                    version: i64::try_from(version).unwrap_or(i64::MAX),
                },
            )
            .await
            .map_err(|e| self.error("extend", id, e))?;
        Ok(true)
    }
}

/// An order lock held: extended in the background until `release`.
pub struct Lease {
    store: Arc<SwarmStore>,
    id: String,
    name: String,
    heartbeat: JoinHandle<()>,
}

impl Lease {
    fn start(store: Arc<SwarmStore>, id: String, name: String) -> Lease {
        let heartbeat = {
            let store = Arc::clone(&store);
            let id = id.clone();
            let name = name.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(store.lock_ttl / 3).await;
                    match store.extend(&id).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(lock = %name, "ACME order lock was taken over; another replica may order too");
                            return;
                        }
                        Err(error) => {
                            tracing::warn!(lock = %name, %error, "cannot extend the ACME order lock")
                        }
                    }
                }
            })
        };
        Lease {
            store,
            id,
            name,
            heartbeat,
        }
    }

    /// Stops extending and removes the lock.
    pub async fn release(self) {
        self.heartbeat.abort();
        if let Err(error) = self.store.remove(&self.id).await {
            tracing::warn!(lock = %self.name, %error, "cannot remove the ACME order lock; it expires by itself");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}
