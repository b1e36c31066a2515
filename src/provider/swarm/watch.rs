//! The services in flight, polled often until they settle (issue 27 point 1). Pure apart from
//! the clock values passed in.
//!
//! On a multi-node swarm the manager emits no container events for tasks on other nodes, so an
//! event (service created/updated/scaled, a node changed, a local task container) puts the
//! services it concerns under watch: their tasks are read every [`POLL`] with one filtered
//! `/tasks` call, and only a change of what routing depends on (task set, state, desired state,
//! node) triggers a full read. A service leaves the watch once its tasks have converged (each
//! either running as desired or finished), it is not being updated, and nothing changed for
//! [`SETTLE`]; or after [`WATCH_MAX`] whatever happens (a crash loop). An idle swarm costs no
//! call besides the periodic resync.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::time::Instant;

use super::read::RawTask;

/// How often the tasks of watched services are read.
pub(super) const POLL: Duration = Duration::from_millis(250);
/// How long a converged service stays watched without change.
pub(super) const SETTLE: Duration = Duration::from_secs(2);
/// The longest a service stays watched.
pub(super) const WATCH_MAX: Duration = Duration::from_secs(600);

/// Services under watch, since when, and the fingerprint of their tasks at the last poll.
#[derive(Debug, Default)]
pub(super) struct Watch {
    since: HashMap<String, Instant>,
    prints: HashMap<String, u64>,
    last_change: Option<Instant>,
}

impl Watch {
    /// Puts `service` under watch at `now` (a service already watched keeps its start).
    pub fn add(&mut self, service: &str, now: Instant) {
        if service.is_empty() {
            return;
        }
        self.since.entry(service.to_string()).or_insert(now);
        self.last_change = Some(now);
    }

    pub fn is_empty(&self) -> bool {
        self.since.is_empty()
    }

    /// The watched service IDs, sorted.
    pub fn services(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.since.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// Takes one poll's answer (the watched services' tasks). True when a service's tasks differ
    /// from the previous poll's, or a service is polled for the first time (what happened
    /// between the full read and this poll is unknown): a full read is due.
    pub fn observe(&mut self, tasks: &[RawTask], now: Instant) -> bool {
        let mut changed = false;
        for id in self.since.keys() {
            let own: Vec<&RawTask> = tasks.iter().filter(|t| &t.service_id == id).collect();
            let print = fingerprint(&own);
            if self.prints.insert(id.clone(), print) != Some(print) {
                changed = true;
            }
        }
        if changed {
            self.last_change = Some(now);
        }
        changed
    }

    /// Drops the services that settled (converged, not updating, unchanged for [`SETTLE`]) or were
    /// watched longer than [`WATCH_MAX`].
    pub fn settle(&mut self, tasks: &[RawTask], updating: &HashSet<String>, now: Instant) {
        let quiet = self
            .last_change
            .is_none_or(|at| now.saturating_duration_since(at) >= SETTLE);
        self.since.retain(|id, since| {
            if now.saturating_duration_since(*since) >= WATCH_MAX {
                return false;
            }
            let settled = quiet
                && !updating.contains(id)
                && tasks.iter().filter(|t| &t.service_id == id).all(converged);
            !settled
        });
        let since = &self.since;
        self.prints.retain(|id, _| since.contains_key(id));
    }
}

/// A task needs no more attention: running as desired, or in a final state.
pub(super) fn converged(task: &RawTask) -> bool {
    let state = task.status.state.as_str();
    let done = matches!(
        state,
        "complete" | "shutdown" | "failed" | "rejected" | "remove" | "orphaned"
    );
    done || (state == "running" && task.desired_state == "running")
}

/// What routing depends on in a task list, order-independent.
pub(super) fn fingerprint(tasks: &[&RawTask]) -> u64 {
    let mut rows: Vec<(&str, &str, &str, &str)> = tasks
        .iter()
        .map(|t| {
            (
                t.id.as_str(),
                t.status.state.as_str(),
                t.desired_state.as_str(),
                t.node_id.as_str(),
            )
        })
        .collect();
    rows.sort_unstable();
    let mut h = DefaultHasher::new();
    rows.hash(&mut h);
    h.finish()
}

/// `GET` path of the tasks of `services` (`filters={"service":[…]}`, URL-encoded).
pub(super) fn tasks_path(prefix: &str, services: &[&str]) -> String {
    let filters = serde_json::json!({ "service": services }).to_string();
    let mut encoded = String::with_capacity(filters.len() * 2);
    for b in filters.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{prefix}/tasks?filters={encoded}")
}

#[cfg(test)]
mod tests;
