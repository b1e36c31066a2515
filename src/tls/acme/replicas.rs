//! The manager's side of the Swarm store: ordering under the domain's lock (after reading the
//! store again), and taking each snapshot of the store — certificates newer than the ones served,
//! other replicas' challenge answers.

use std::collections::HashMap;
use std::sync::Arc;

use super::swarm::{LockOutcome, Snapshot, SwarmStore};
use super::{humantime_utc, order, AcmeError, Manager, Resolver, Want, HOLD_OFF};

/// Serves the TLS-ALPN-01 answers of other replicas' orders: builds the challenge certificate
/// of each new one, clears those no longer in the store.
impl Manager {
    fn apply_alpn(&self, alpn: &HashMap<String, String>) {
        let mut applied = self.shared_alpn.lock().unwrap_or_else(|p| p.into_inner());
        applied.retain(|name, key_auth| {
            let keep = alpn.get(name) == Some(key_auth);
            if !keep {
                self.store.clear_challenge(name);
            }
            keep
        });
        for (name, key_auth) in alpn {
            if applied.contains_key(name) {
                continue;
            }
            let digest = ring::digest::digest(&ring::digest::SHA256, key_auth.as_bytes());
            match order::alpn_certificate(name, digest.as_ref()) {
                Ok(cert) => {
                    self.store.set_challenge(name, cert);
                    applied.insert(name.clone(), key_auth.clone());
                }
                Err(error) => {
                    tracing::warn!(domain = %name, %error, "cannot build a TLS-ALPN-01 certificate from the Swarm store")
                }
            }
        }
    }
}

/// What `issue` did.
pub(super) enum Issued {
    Done,
    /// Another replica holds the order lock.
    Busy,
    /// The store already had a certificate that serves.
    FromStore,
}

impl Manager {
    /// `issue` with the Swarm store: under the domain's lock, and only when the store, read
    /// again once the lock is held, has no certificate that serves.
    pub(super) async fn issue_shared(
        &self,
        shared: &Arc<SwarmStore>,
        resolver: &Resolver,
        want: &Want,
    ) -> Result<Issued, AcmeError> {
        let lease = match shared.try_lock(&resolver.name, &want.main).await? {
            LockOutcome::Acquired(lease) => lease,
            LockOutcome::Busy { owner, expires } => {
                tracing::debug!(resolver = %resolver.name, domain = %want.main, %owner, expires, "another replica is ordering this certificate");
                return Ok(Issued::Busy);
            }
        };
        let result = async {
            let snapshot = shared.snapshot().await?;
            self.apply(shared, &snapshot);
            let fresh = snapshot
                .certs
                .get(&(resolver.name.clone(), want.main.clone()))
                .and_then(|c| c.issued)
                .is_some_and(|t| t.elapsed().unwrap_or_default() < HOLD_OFF);
            let Some(reason) = self.needs(resolver, want).filter(|_| !fresh) else {
                tracing::info!(resolver = %resolver.name, domain = %want.main, "certificate taken from the Swarm store (another replica obtained it)");
                return Ok(Issued::FromStore);
            };
            self.order(resolver, want, reason, Some(shared)).await
        }
        .await;
        lease.release().await;
        result
    }

    /// Takes a snapshot of `shared`: its pending HTTP-01 tokens, and each certificate of a
    /// resolver using it that is newer than the one served (never an older one).
    pub(super) fn apply(&self, shared: &Arc<SwarmStore>, snapshot: &Snapshot) {
        self.http.set_shared(snapshot.tokens.clone());
        self.apply_alpn(&snapshot.alpn);
        for ((resolver, domain), cert) in &snapshot.certs {
            let ours = self
                .resolvers
                .get(resolver)
                .and_then(|r| r.storage.swarm())
                .is_some_and(|s| Arc::ptr_eq(s, shared));
            if !ours {
                continue;
            }
            let newer = self
                .store
                .acme(resolver, domain)
                .is_none_or(|current| current.not_after < cert.loaded.not_after);
            if newer {
                tracing::info!(resolver = %resolver, %domain, object = %cert.object_id, not_after = %humantime_utc(cert.loaded.not_after), "loaded ACME certificate from the Swarm store");
                self.store.set_acme(resolver, domain, cert.loaded.clone());
            }
        }
    }
}
