//! Following the store: Docker's `config` events for this prefix (debounced), a full re-read
//! every 30 s (which also removes stale challenge answers), reconnection with back-off.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bollard::errors::Error as DockerError;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::objects::{self, Kind};
use super::{Snapshot, SwarmStore, SwarmStoreError};

const RESYNC: Duration = Duration::from_secs(30);
const DEBOUNCE: Duration = Duration::from_millis(100);
/// Challenge answers left behind by a replica that died mid-order are removed after this.
const TOKEN_MAX_AGE: Duration = Duration::from_secs(3600);

impl SwarmStore {
    /// Follows the store until `shutdown`: calls `apply` with each new snapshot (first one at
    /// start), removes stale tokens on resync, reconnects with back-off when Docker is unreachable
    /// (what is served stays).
    pub async fn watch(
        self: Arc<Self>,
        mut apply: impl FnMut(Snapshot) + Send,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_secs(1);
        loop {
            tokio::select! {
                error = self.follow(&mut apply) => {
                    tracing::warn!(%error, retry_in_s = backoff.as_secs(), "ACME Swarm store unreachable; serving what was loaded");
                }
                _ = crate::shutdown::stopped(&mut shutdown) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = crate::shutdown::stopped(&mut shutdown) => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    async fn follow(&self, apply: &mut (impl FnMut(Snapshot) + Send)) -> SwarmStoreError {
        match self.follow_inner(apply).await {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    async fn follow_inner(
        &self,
        apply: &mut (impl FnMut(Snapshot) + Send),
    ) -> Result<std::convert::Infallible, SwarmStoreError> {
        let docker = self.docker().await?;
        let filters = HashMap::from([("type".to_string(), vec!["config".to_string()])]);
        let mut events = docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        let ours = format!("{}-", self.naming.prefix);
        let mut next_resync = tokio::time::Instant::now();
        loop {
            let read = tokio::select! {
                ev = events.next() => match ev {
                    None => return Err(self.error("follow events of", &self.naming.prefix, DockerError::DockerStreamError { error: "event stream ended".to_string() })),
                    Some(Err(e)) => return Err(self.error("follow events of", &self.naming.prefix, e)),
                    Some(Ok(msg)) => {
                        let name = msg.actor.as_ref().and_then(|a| a.attributes.as_ref()).and_then(|a| a.get("name"));
                        // Older dockerd omit the name: read on any config event then.
                        name.is_none_or(|n| n.starts_with(&ours))
                    }
                },
                _ = tokio::time::sleep_until(next_resync) => {
                    next_resync = tokio::time::Instant::now() + RESYNC;
                    self.remove_stale_tokens().await;
                    true
                }
            };
            if !read {
                continue;
            }
            tokio::time::sleep(DEBOUNCE).await;
            let snapshot = self.snapshot().await?;
            apply(snapshot);
            self.synced.send_replace(true);
        }
    }

    async fn remove_stale_tokens(&self) {
        let Ok(all) = self.list().await else { return };
        let now = objects::unix(SystemTime::now());
        for object in all.iter().filter(|o| o.kind() == Some(Kind::Token)) {
            let created = object
                .label(objects::LABEL_CREATED)
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or(0);
            if now.saturating_sub(created) > TOKEN_MAX_AGE.as_secs() {
                let _ = self.remove(&object.id).await;
            }
        }
    }
}
