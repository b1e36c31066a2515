//! The Swarm provider: watches the Docker API and publishes the label-derived `DynamicConfig`.
//!
//! Owns the connection to Docker (bollard, API version negotiated so Docker 20.10 … 29 work), the
//! event subscription, debouncing, periodic resync and reconnect back-off. Translating labels is
//! `provider::labels`' job; this module never interprets a label beyond what selects task addresses.
//!
//! Loop: subscribe to events → full read → publish if changed → on a relevant event wait ~100 ms for
//! the burst to end, re-read, and put the services the events concern under watch (`watch.rs`:
//! their tasks polled every 250 ms with one filtered call until they settle, since tasks on other
//! nodes send no events here; a full read only when the poll sees a change) → full resync every
//! 60 s (or `refreshSeconds`). Tasks leave the rotation before they go (`drain.rs`). When Docker is unreachable or the
//! stream breaks, nothing is published (the last snapshot stays in force) and the connection is
//! retried with exponential back-off (100 ms → 5 s).

#![allow(clippy::disallowed_types)] // std Mutex: the networks already logged per service, touched once per resync (control plane)

mod drain;
mod raw;
mod read;
mod watch;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use bollard::{Docker, API_DEFAULT_VERSION};
use futures_util::StreamExt;
use tokio::time::{sleep, sleep_until, Instant};

pub use raw::DockerEndpoint;
use watch::Watch;

use super::labels::{build_config, LabelOptions};
use super::{ProviderSnapshot, SnapshotTx};
use crate::config::static_config::SwarmProviderConfig;

/// Why a session with Docker ended.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error("unsupported Docker endpoint {endpoint:?} (use unix://, tcp:// or http://)")]
    Endpoint { endpoint: String },
    #[error("Docker API: {0}")]
    Docker(#[source] bollard::errors::Error),
    #[error("Docker API GET {path}: {reason}")]
    Raw { path: String, reason: String },
    #[error("Docker event stream ended")]
    StreamEnded,
}

const DEBOUNCE: Duration = Duration::from_millis(100);
const DEFAULT_RESYNC: Duration = Duration::from_secs(60);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Watches one Docker endpoint; see the module docs.
#[derive(Debug, Clone)]
pub struct SwarmProvider {
    endpoint: String,
    network: Option<String>,
    labels: LabelOptions,
    resync: Duration,
    watch: bool,
    refresh_given: bool,
    /// swarmgate's own container, to prefer the networks it shares with a task.
    own_container: Option<String>,
    /// The network each service was last routed through (its choice is logged when it changes).
    logged_networks: std::sync::Arc<std::sync::Mutex<HashMap<String, String>>>,
    /// Docker API requests made so far (the event subscription counts one per session).
    calls: std::sync::Arc<AtomicU64>,
}

/// What the last full read found that the watch needs.
#[derive(Debug, Default)]
struct Observed {
    /// Services being updated (or rolled back).
    updating: HashSet<String>,
    /// Node ID → services with a task on it.
    on_node: HashMap<String, HashSet<String>>,
}

impl SwarmProvider {
    pub fn new(cfg: &SwarmProviderConfig) -> Self {
        let resync = cfg
            .refresh_seconds
            .map(|d| d.get())
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_RESYNC);
        SwarmProvider {
            endpoint: cfg.endpoint.clone(),
            network: cfg.network.clone(),
            labels: LabelOptions::from_config(cfg),
            resync,
            watch: cfg.watch,
            refresh_given: cfg.refresh_seconds.is_some(),
            own_container: read::own_container_id(),
            logged_networks: Default::default(),
            calls: Default::default(),
        }
    }

    /// The count of Docker API requests this provider makes (shared: keeps counting once the
    /// provider runs). For measurements and tests.
    pub fn api_calls(&self) -> std::sync::Arc<AtomicU64> {
        std::sync::Arc::clone(&self.calls)
    }

    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets swarmgate's own container ID (by default read from the process: its mounts, else a
    /// 12-hex-digit hostname), whose task's networks are preferred when no network is named.
    /// For an edge whose container the process cannot see, and for tests.
    pub fn with_own_container(mut self, id: Option<String>) -> Self {
        self.own_container = id;
        self
    }

    /// Runs until the task is dropped; publishes on `tx` only when the snapshot changes.
    pub async fn run(self, tx: SnapshotTx) {
        if self.refresh_given {
            tracing::info!(
                resync = ?self.resync,
                "swarm provider is event-driven; refreshSeconds is used as the full-resync period"
            );
        }
        let mut backoff = BACKOFF_MIN;
        let mut connected: Option<bool> = None;
        loop {
            let err = self.session(&tx, &mut connected, &mut backoff).await;
            if connected != Some(false) {
                tracing::warn!(endpoint = %self.endpoint, error = %err, "swarm provider: Docker unreachable; keeping the last configuration, retrying");
                connected = Some(false);
            } else {
                tracing::debug!(error = %err, retry_in = ?backoff, "swarm provider: still unreachable");
            }
            sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: returns only when it breaks.
    async fn session(
        &self,
        tx: &SnapshotTx,
        connected: &mut Option<bool>,
        backoff: &mut Duration,
    ) -> SwarmError {
        match self.session_inner(tx, connected, backoff).await {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    async fn session_inner(
        &self,
        tx: &SnapshotTx,
        connected: &mut Option<bool>,
        backoff: &mut Duration,
    ) -> Result<std::convert::Infallible, SwarmError> {
        let endpoint = DockerEndpoint::parse(&self.endpoint)?;
        let docker = connect(&endpoint)?
            .negotiate_version()
            .await
            .map_err(SwarmError::Docker)?;
        self.count_call();
        // Subscribe before the first read, so nothing that happens during it is missed.
        let mut events = if self.watch {
            let filters = [("type", vec!["service", "container", "network", "node"])]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
                .collect();
            self.count_call();
            // bollard sends the request when the stream is first polled (after the first read):
            // `since` makes Docker replay what happened from now on, so nothing in between is lost.
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
                .ok();
            Some(docker.events(Some(EventsOptions {
                since,
                filters: Some(filters),
                ..Default::default()
            })))
        } else {
            None
        };
        let mut last = self.refresh(&docker, &endpoint, tx).await?;
        if *connected != Some(true) {
            let v = docker.client_version();
            tracing::info!(endpoint = %self.endpoint, api = %format!("{}.{}", v.major_version, v.minor_version), "swarm provider: connected to Docker");
            *connected = Some(true);
        }
        *backoff = BACKOFF_MIN;

        let mut next_resync = Instant::now() + self.resync;
        let mut watch = Watch::default();
        let mut next_poll = Instant::now();
        let prefix = read::api_prefix(&docker);
        loop {
            let event = async {
                match events.as_mut() {
                    Some(ev) => ev.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = event => {
                    let first = match ev {
                        None => return Err(SwarmError::StreamEnded),
                        Some(Err(e)) => return Err(SwarmError::Docker(e)),
                        Some(Ok(msg)) if relevant(&msg) => msg,
                        Some(Ok(_)) => continue,
                    };
                    // Debounce: let the burst finish (bounded), then read once.
                    let mut burst = vec![first];
                    let deadline = Instant::now() + DEBOUNCE;
                    if let Some(ev) = events.as_mut() {
                        loop {
                            tokio::select! {
                                more = ev.next() => match more {
                                    None => return Err(SwarmError::StreamEnded),
                                    Some(Err(e)) => return Err(SwarmError::Docker(e)),
                                    Some(Ok(msg)) if relevant(&msg) => burst.push(msg),
                                    Some(Ok(_)) => {}
                                },
                                _ = sleep_until(deadline) => break,
                            }
                        }
                    }
                    last = self.refresh(&docker, &endpoint, tx).await?;
                    // What the events concern is watched until it settles (tasks on other
                    // nodes send no events here).
                    let now = Instant::now();
                    let was_idle = watch.is_empty();
                    for msg in &burst {
                        for id in concerned_services(msg, &last.on_node) {
                            watch.add(&id, now);
                        }
                    }
                    if was_idle && !watch.is_empty() {
                        next_poll = now + watch::POLL;
                    }
                }
                _ = sleep_until(next_poll), if !watch.is_empty() => {
                    let path = watch::tasks_path(&prefix, &watch.services());
                    let tasks: Vec<read::RawTask> = raw::get_json(&endpoint, &path).await?;
                    self.count_call();
                    if watch.observe(&tasks, Instant::now()) {
                        last = self.refresh(&docker, &endpoint, tx).await?;
                    }
                    watch.settle(&tasks, &last.updating, Instant::now());
                    next_poll = Instant::now() + watch::POLL;
                }
                _ = sleep_until(next_resync) => {
                    last = self.refresh(&docker, &endpoint, tx).await?;
                    next_resync = Instant::now() + self.resync;
                }
            }
        }
    }

    /// Full read → labels → publish when different from the current snapshot.
    async fn refresh(
        &self,
        docker: &Docker,
        endpoint: &DockerEndpoint,
        tx: &SnapshotTx,
    ) -> Result<Observed, SwarmError> {
        let read = read::read_state(
            docker,
            endpoint,
            self.network.as_deref(),
            &self.labels,
            self.own_container.as_deref(),
        )
        .await?;
        self.calls
            .fetch_add(read::FULL_READ_CALLS, Ordering::Relaxed);
        let read::Read {
            services,
            issues: network_issues,
            notes,
            updating,
            on_node,
        } = read;

        if let Ok(mut logged) = self.logged_networks.lock() {
            for note in notes {
                if logged.get(&note.service) == Some(&note.network) {
                    continue;
                }
                let why = match note.choice {
                    read::NetworkChoice::Named => "the network named for it",
                    read::NetworkChoice::Edge => "no network named; one swarmgate is attached to",
                    read::NetworkChoice::First => {
                        "no network named and none shared with swarmgate; the task's first non-ingress network"
                    }
                    read::NetworkChoice::Fallback => {
                        "the named network is not among the task's; Traefik's fallback"
                    }
                };
                tracing::info!(service = %note.service, network = %note.network, "swarm provider: routing through network ({why})");
                logged.insert(note.service, note.network);
            }
        }
        // v2 labels: one notice per service and label for the life of the process.
        for svc in &services {
            for (label, instead) in crate::config::deprecation::v2_labels(svc.labels.keys()) {
                let key = format!("label|{}|{}", svc.name, label.to_ascii_lowercase());
                crate::config::deprecation::notice(&key, label, instead, &svc.name);
            }
        }
        let (config, mut issues) = build_config(&services, &self.labels);
        issues.extend(network_issues);
        let snapshot = ProviderSnapshot { config, issues };
        let mut fresh_issues = Vec::new();
        let changed = tx.send_if_modified(|current| {
            if *current == snapshot {
                return false;
            }
            fresh_issues = snapshot
                .issues
                .iter()
                .filter(|i| !current.issues.contains(i))
                .cloned()
                .collect();
            *current = snapshot;
            true
        });
        if changed {
            let cur = tx.borrow();
            tracing::debug!(
                routers = cur.config.http.routers.len(),
                services = cur.config.http.services.len(),
                issues = cur.issues.len(),
                "swarm provider: configuration changed"
            );
        }
        // Each issue is logged once, when it first appears.
        for issue in &fresh_issues {
            tracing::warn!(%issue, "swarm provider: label issue");
        }
        Ok(Observed { updating, on_node })
    }
}

/// A bollard client for `endpoint` (default API version, to be negotiated).
pub(crate) fn connect(endpoint: &DockerEndpoint) -> Result<Docker, SwarmError> {
    const TIMEOUT_SECS: u64 = 30;
    match endpoint {
        DockerEndpoint::Unix(path) => {
            Docker::connect_with_unix(&path.to_string_lossy(), TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        DockerEndpoint::Tcp(addr) => {
            Docker::connect_with_http(addr, TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
    }
    .map_err(SwarmError::Docker)
}

/// The services an event puts under watch: a service event's service, a local task container's
/// service, every service with a task on a node that changed.
fn concerned_services(
    msg: &bollard::models::EventMessage,
    on_node: &HashMap<String, HashSet<String>>,
) -> Vec<String> {
    use bollard::models::EventMessageTypeEnum as T;
    let actor = msg.actor.as_ref();
    let id = actor.and_then(|a| a.id.clone()).unwrap_or_default();
    match msg.typ {
        Some(T::SERVICE) => vec![id],
        Some(T::NODE) => on_node
            .get(&id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default(),
        Some(T::CONTAINER) => actor
            .and_then(|a| a.attributes.as_ref())
            .and_then(|a| a.get("com.docker.swarm.service.id"))
            .cloned()
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Events that can change routing: any service/network/node event; container events of Swarm tasks
/// that start, stop or change health (`kill`/`stop` come before a task stops answering).
fn relevant(msg: &bollard::models::EventMessage) -> bool {
    use bollard::models::EventMessageTypeEnum as T;
    match msg.typ {
        Some(T::SERVICE) | Some(T::NETWORK) | Some(T::NODE) => true,
        Some(T::CONTAINER) => {
            let action = msg.action.as_deref().unwrap_or("");
            let is_task = msg
                .actor
                .as_ref()
                .and_then(|a| a.attributes.as_ref())
                .is_some_and(|a| a.contains_key("com.docker.swarm.task.id"));
            is_task
                && (matches!(action, "start" | "die" | "kill" | "stop" | "destroy")
                    || action.starts_with("health_status"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::{EventActor, EventMessage, EventMessageTypeEnum as T};

    use super::*;

    fn event(typ: T, action: &str, task: bool) -> EventMessage {
        let mut attributes = HashMap::new();
        if task {
            attributes.insert("com.docker.swarm.task.id".to_string(), "t".to_string());
        }
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some("x".into()),
                attributes: Some(attributes),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn relevant_events() {
        let cases = [
            (event(T::SERVICE, "update", false), true),
            (event(T::NODE, "update", false), true),
            (event(T::CONTAINER, "start", true), true),
            (event(T::CONTAINER, "kill", true), true),
            (event(T::CONTAINER, "health_status: unhealthy", true), true),
            (event(T::CONTAINER, "exec_start: sh", true), false),
            (event(T::CONTAINER, "start", false), false),
            (event(T::IMAGE, "pull", false), false),
        ];
        for (msg, want) in cases {
            assert_eq!(relevant(&msg), want, "{:?} {:?}", msg.typ, msg.action);
        }
    }

    #[test]
    fn resync_period_from_config() {
        let mut cfg = SwarmProviderConfig::default();
        assert_eq!(SwarmProvider::new(&cfg).resync, DEFAULT_RESYNC);
        cfg.refresh_seconds = Some(crate::config::Duration::from_secs(15));
        assert_eq!(SwarmProvider::new(&cfg).resync, Duration::from_secs(15));
    }
}
