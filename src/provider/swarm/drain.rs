//! Which running tasks leave the rotation before they stop answering (issue 27 point 2). Pure.
//!
//! A task drains (never picked again, its in-flight requests finish) when:
//! - its desired state is no longer `running` (Swarm is about to stop it; `read::select_task`);
//! - its node is `down` or `drain` (node events say so at once; the tasks follow seconds later);
//! - it is being replaced under `start-first`: its slot (a global service: its node) holds a newer
//!   task that Swarm wants running and is still on its way (`new` … `starting`), so the old one
//!   gets its stop as soon as the new one runs. Never the last usable task of a service.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::read::RawTask;

/// The part of Docker's `/nodes` answer swarmgate reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawNode {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(default)]
    pub spec: RawNodeSpec,
    #[serde(default)]
    pub status: RawNodeStatus,
    #[serde(default)]
    pub description: RawNodeDescription,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawNodeDescription {
    #[serde(default)]
    pub hostname: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawNodeSpec {
    #[serde(default)]
    pub availability: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawNodeStatus {
    #[serde(default)]
    pub state: String,
}

/// Nodes whose tasks leave the rotation: `down` (or `disconnected`), or availability `drain`.
pub(super) fn unusable_nodes(nodes: &[RawNode]) -> HashSet<String> {
    nodes
        .iter()
        .filter(|n| {
            matches!(n.status.state.as_str(), "down" | "disconnected")
                || n.spec.availability == "drain"
        })
        .map(|n| n.id.clone())
        .collect()
}

/// Task states on the way to `running`.
fn on_its_way(state: &str) -> bool {
    matches!(
        state,
        "new" | "pending" | "assigned" | "accepted" | "preparing" | "ready" | "starting"
    )
}

/// Among one service's tasks, the IDs of running tasks being replaced under `start-first`.
pub(super) fn replaced<'a>(tasks: &[&'a RawTask]) -> HashSet<&'a str> {
    let slot = |t: &'a RawTask| match t.slot {
        0 => (0, t.node_id.as_str()),
        n => (n, ""),
    };
    let mut coming: HashSet<(u64, &str)> = HashSet::new();
    for t in tasks {
        if t.desired_state == "running" && on_its_way(&t.status.state) {
            coming.insert(slot(t));
        }
    }
    tasks
        .iter()
        .filter(|t| t.desired_state == "running" && t.status.state == "running")
        .filter(|t| coming.contains(&slot(t)))
        .map(|t| t.id.as_str())
        .collect()
}

/// For each task ID of one service: whether it drains for a reason of this module (its node, its
/// replacement). The replacement rule is dropped when it would leave no task in rotation.
pub(super) fn draining_tasks<'a>(
    tasks: &[&'a RawTask],
    bad_nodes: &HashSet<String>,
) -> HashMap<&'a str, bool> {
    let replaced = replaced(tasks);
    let serving = |t: &&&RawTask| t.status.state == "running" && t.desired_state == "running";
    let on_bad_node = |t: &RawTask| bad_nodes.contains(&t.node_id);
    let keep_replaced = tasks
        .iter()
        .filter(serving)
        .any(|t| !on_bad_node(t) && !replaced.contains(t.id.as_str()));
    tasks
        .iter()
        .map(|t| {
            let drains = on_bad_node(t) || (keep_replaced && replaced.contains(t.id.as_str()));
            (t.id.as_str(), drains)
        })
        .collect()
}

#[cfg(test)]
mod tests;
