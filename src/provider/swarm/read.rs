//! One full read of the Swarm state the labels need: services (labels, VIPs, ports), their running
//! tasks' addresses on the selected network, and which local containers are unhealthy.
//!
//! Selection rules live in pure functions (`select_task`) so they are unit-tested; the I/O is a
//! handful of list calls. Never publishes anything itself.
//! Task addresses come from the manager's `/tasks` (cluster-wide, `NetworksAttachments`), read raw
//! because bollard's `Task` model lacks that field. Health: Swarm keeps a task with a health check
//! in `starting` until it is healthy, so only `running` tasks are servers; a running task whose
//! container turned unhealthy is found through `/containers?filters=health=unhealthy`, which only
//! sees this node's containers (on other nodes Swarm replaces the task within seconds anyway).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use bollard::query_parameters::{ListContainersOptions, ListServicesOptions};
use bollard::Docker;
use serde::Deserialize;

use super::drain::{draining_tasks, unusable_nodes, RawNode};
use super::raw::{get_json, DockerEndpoint};
use super::SwarmError;
use crate::config::server_origin::TaskOrigin;
use crate::config::{ConfigIssue, Element};
use crate::provider::labels::{service_settings, LabelOptions, SwarmService, TaskEndpoint};

/// The part of Docker's `/tasks` answer swarmgate reads (PascalCase as the API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawTask {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "ServiceID", default)]
    pub service_id: String,
    #[serde(rename = "NodeID", default)]
    pub node_id: String,
    /// Replicated services: the replica's slot (1…n); global services have none (0).
    #[serde(default)]
    pub slot: u64,
    #[serde(default)]
    pub status: RawTaskStatus,
    #[serde(default)]
    pub desired_state: String,
    #[serde(default)]
    pub networks_attachments: Vec<RawAttachment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawTaskStatus {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub container_status: Option<RawContainerStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawContainerStatus {
    #[serde(rename = "ContainerID", default)]
    pub container_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawAttachment {
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawNetwork {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(default)]
    pub spec: RawNetworkSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawNetworkSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ingress: bool,
}

/// Whether attachment network `net` is the one named `wanted` (by name, `<stack>_<name>`, or ID).
fn network_matches(net: &RawNetwork, wanted: &str, stack: Option<&str>) -> bool {
    net.spec.name == wanted
        || net.id == wanted
        || stack.is_some_and(|s| net.spec.name == format!("{s}_{wanted}"))
}

/// How a task's network was chosen (see [`choose_network`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NetworkChoice {
    /// The network named by the label or the provider's `network`.
    Named,
    /// None named: a network the edge itself is attached to.
    Edge,
    /// None named and none shared with the edge: the task's first non-ingress network.
    First,
    /// The named network is not among the task's: its first non-ingress network, as Traefik
    /// falls back (with a warning naming the network).
    Fallback,
}

/// The attachment to route a task through, as Traefik chooses it, made deterministic: the named
/// network when the task is on it; otherwise (none named, or the named one missing: Traefik warns
/// and defaults to "the first available network", in Go map order) a non-ingress network the
/// edge shares with the task, else the task's first non-ingress network. The ingress network is
/// never chosen (its addresses belong to the routing mesh).
pub(super) fn choose_network<'a>(
    attachments: &'a [RawAttachment],
    wanted: Option<&str>,
    stack: Option<&str>,
    edge_networks: &HashSet<String>,
) -> Option<(&'a RawAttachment, NetworkChoice)> {
    if let Some(w) = wanted {
        if let Some(a) = attachments
            .iter()
            .find(|a| network_matches(&a.network, w, stack))
        {
            return Some((a, NetworkChoice::Named));
        }
    }
    let usable = || attachments.iter().filter(|a| !a.network.spec.ingress);
    if let Some(a) = usable().find(|a| edge_networks.contains(&a.network.id)) {
        let choice = if wanted.is_some() {
            NetworkChoice::Fallback
        } else {
            NetworkChoice::Edge
        };
        return Some((a, choice));
    }
    let a = usable().next()?;
    let choice = if wanted.is_some() {
        NetworkChoice::Fallback
    } else {
        NetworkChoice::First
    };
    Some((a, choice))
}

/// The address of a task to route to: only `running` tasks, on the network [`choose_network`]
/// picks. Draining when the task's desired state is no longer `running` or its container is
/// unhealthy. Returns the endpoint, the chosen network's ID and name, and how it was chosen.
pub(super) fn select_task(
    task: &RawTask,
    wanted: Option<&str>,
    stack: Option<&str>,
    unhealthy: &HashSet<String>,
    edge_networks: &HashSet<String>,
) -> Option<(TaskEndpoint, String, String, NetworkChoice)> {
    if task.status.state != "running" {
        return None;
    }
    let (attachment, choice) =
        choose_network(&task.networks_attachments, wanted, stack, edge_networks)?;
    let ip: IpAddr = attachment
        .addresses
        .iter()
        .find_map(|a| a.split('/').next()?.parse().ok())?;
    let unhealthy = task
        .status
        .container_status
        .as_ref()
        .is_some_and(|c| unhealthy.contains(&c.container_id));
    let draining = task.desired_state != "running" || unhealthy;
    Some((
        TaskEndpoint {
            ip,
            draining,
            origin: None,
        },
        attachment.network.id.clone(),
        attachment.network.spec.name.clone(),
        choice,
    ))
}

/// Where a task's server comes from, for the API and the dashboard: the task, its service's name,
/// its slot (replicated services), its node (the hostname `hostnames` gives for its ID, else the
/// ID) and its container once Docker reported one.
pub(super) fn task_origin(
    task: &RawTask,
    service: &str,
    hostnames: &HashMap<String, String>,
) -> TaskOrigin {
    let node = hostnames
        .get(&task.node_id)
        .filter(|h| !h.is_empty())
        .unwrap_or(&task.node_id);
    TaskOrigin {
        task: task.id.clone(),
        service: service.to_string(),
        slot: (task.slot > 0).then_some(task.slot),
        node: node.clone(),
        node_id: task.node_id.clone(),
        container: task
            .status
            .container_status
            .as_ref()
            .map(|c| c.container_id.clone())
            .filter(|c| !c.is_empty()),
    }
}

/// The networks (IDs) of the task whose container is `own_container` (swarmgate's own, when it
/// runs as a Swarm task): a full ID or a prefix of at least 12 characters (a hostname).
pub(super) fn edge_networks(tasks: &[RawTask], own_container: Option<&str>) -> HashSet<String> {
    let Some(own) = own_container.filter(|o| o.len() >= 12) else {
        return HashSet::new();
    };
    tasks
        .iter()
        .filter(|t| {
            t.status
                .container_status
                .as_ref()
                .is_some_and(|c| !c.container_id.is_empty() && c.container_id.starts_with(own))
        })
        .flat_map(|t| t.networks_attachments.iter().map(|a| a.network.id.clone()))
        .collect()
}

/// swarmgate's own container ID, when it runs in a Docker container: from `/proc/self/mountinfo`
/// (`.../containers/<64 hex>/...`), else the hostname when it is 12 hex digits (Docker's default).
pub(super) fn own_container_id() -> Option<String> {
    if let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") {
        if let Some(id) = container_id_in_mountinfo(&info) {
            return Some(id);
        }
    }
    let host = std::env::var("HOSTNAME").ok()?;
    (host.len() == 12 && host.bytes().all(|b| b.is_ascii_hexdigit())).then_some(host)
}

fn container_id_in_mountinfo(info: &str) -> Option<String> {
    info.split(['/', ' ', '\n'])
        .collect::<Vec<_>>()
        .windows(2)
        .find_map(|w| {
            (w[0] == "containers"
                && w[1].len() == 64
                && w[1].bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| w[1].to_string())
        })
}

/// What one full read found: the services to publish, their issues and network notes, and what
/// the provider's watch needs (services being updated, the services with tasks on each node).
#[derive(Debug, Default)]
pub(super) struct Read {
    pub services: Vec<SwarmService>,
    pub issues: Vec<ConfigIssue>,
    pub notes: Vec<NetworkNote>,
    /// IDs of services whose update (or rollback) is in progress.
    pub updating: HashSet<String>,
    /// Node ID → IDs of the services with a task on it.
    pub on_node: HashMap<String, HashSet<String>>,
}

/// Docker API requests one [`read_state`] makes.
pub(super) const FULL_READ_CALLS: u64 = 4;

/// The API version prefix bollard negotiated (`/v1.47`).
pub(super) fn api_prefix(docker: &Docker) -> String {
    let version = docker.client_version();
    format!("/v{}.{}", version.major_version, version.minor_version)
}

/// Reads every service and its running tasks. Issues: services whose running tasks are not attached
/// to the selected network (they get no servers). Four API calls: services, tasks, unhealthy
/// containers, nodes.
pub(super) async fn read_state(
    docker: &Docker,
    endpoint: &DockerEndpoint,
    network: Option<&str>,
    opts: &LabelOptions,
    own_container: Option<&str>,
) -> Result<Read, SwarmError> {
    let services = docker
        .list_services(None::<ListServicesOptions>)
        .await
        .map_err(SwarmError::Docker)?;
    let prefix = api_prefix(docker);
    let tasks: Vec<RawTask> = get_json(endpoint, &format!("{prefix}/tasks")).await?;
    let nodes: Vec<RawNode> = get_json(endpoint, &format!("{prefix}/nodes")).await?;
    let bad_nodes = unusable_nodes(&nodes);
    let hostnames: HashMap<String, String> = nodes
        .iter()
        .map(|n| (n.id.clone(), n.description.hostname.clone()))
        .collect();
    let mut on_node: HashMap<String, HashSet<String>> = HashMap::new();
    for t in &tasks {
        if !t.node_id.is_empty() && t.desired_state == "running" {
            on_node
                .entry(t.node_id.clone())
                .or_default()
                .insert(t.service_id.clone());
        }
    }
    let updating = services
        .iter()
        .filter(|s| {
            use bollard::models::ServiceUpdateStatusStateEnum as U;
            s.update_status
                .as_ref()
                .and_then(|u| u.state)
                .is_some_and(|st| matches!(st, U::UPDATING | U::ROLLBACK_STARTED))
        })
        .filter_map(|s| s.id.clone())
        .collect();
    let unhealthy: HashSet<String> = docker
        .list_containers(Some(ListContainersOptions {
            filters: Some(HashMap::from([(
                "health".to_string(),
                vec!["unhealthy".to_string()],
            )])),
            ..Default::default()
        }))
        .await
        .map_err(SwarmError::Docker)?
        .into_iter()
        .filter_map(|c| c.id)
        .collect();
    let mut by_service: HashMap<&str, Vec<&RawTask>> = HashMap::new();
    for task in &tasks {
        by_service
            .entry(task.service_id.as_str())
            .or_default()
            .push(task);
    }

    let edge = edge_networks(&tasks, own_container);
    let mut out = Vec::new();
    let mut issues = Vec::new();
    let mut notes = Vec::new();
    for service in services {
        let Some(spec) = service.spec.as_ref() else {
            continue;
        };
        let name = spec.name.clone().unwrap_or_default();
        let labels: BTreeMap<String, String> = spec
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let (settings, _) = service_settings(&name, &labels, opts);
        if !settings.enabled {
            continue;
        }
        let wanted = settings.network.as_deref().or(network);
        let stack = labels.get("com.docker.stack.namespace").map(String::as_str);
        let id = service.id.clone().unwrap_or_default();
        let mut endpoints = Vec::new();
        let mut chosen_network = None;
        let mut running = 0usize;
        let mut fallback = None;
        let own_tasks: &[&RawTask] = by_service.get(id.as_str()).map_or(&[], Vec::as_slice);
        let drains = draining_tasks(own_tasks, &bad_nodes);
        for task in own_tasks {
            running += usize::from(task.status.state == "running");
            if let Some((mut ep, net, net_name, choice)) =
                select_task(task, wanted, stack, &unhealthy, &edge)
            {
                ep.draining |= drains.get(task.id.as_str()).copied().unwrap_or(false);
                ep.origin = Some(Arc::new(task_origin(task, &name, &hostnames)));
                endpoints.push(ep);
                if choice == NetworkChoice::Fallback {
                    fallback.get_or_insert(net_name.clone());
                }
                if chosen_network.is_none() {
                    notes.push(NetworkNote {
                        service: name.clone(),
                        network: net_name,
                        choice,
                    });
                }
                chosen_network.get_or_insert(net);
            }
        }
        if let (Some(w), Some(used)) = (wanted, &fallback) {
            let msg = format!(
                "network {w:?} is not among the networks of this service's tasks (maybe the \
                 stack's prefix is missing); routed through {used:?} instead, as Traefik falls \
                 back to the task's first network"
            );
            issues.push(
                ConfigIssue::new(Element::Service, name.clone(), msg)
                    .with_origin(name.clone())
                    .as_warning(),
            );
        }
        if running > 0 && endpoints.is_empty() {
            let msg = "no running task is attached to a non-ingress network".to_string();
            issues.push(
                ConfigIssue::new(Element::Service, name.clone(), msg).with_origin(name.clone()),
            );
        }
        let endpoint = service.endpoint.as_ref();
        let vip = endpoint
            .and_then(|e| e.virtual_ips.as_ref())
            .and_then(|vips| {
                vips.iter().find(|v| match &chosen_network {
                    Some(n) => v.network_id.as_deref() == Some(n.as_str()),
                    None => true,
                })
            })
            .and_then(|v| v.addr.as_deref()?.split('/').next()?.parse().ok());
        let ports = endpoint
            .and_then(|e| e.ports.as_ref())
            .map(|ports| {
                ports
                    .iter()
                    .filter_map(|p| u16::try_from(p.target_port?).ok())
                    .collect()
            })
            .unwrap_or_default();
        out.push(SwarmService {
            name,
            labels,
            tasks: endpoints,
            ports,
            vip,
        });
    }
    Ok(Read {
        services: out,
        issues,
        notes,
        updating,
        on_node,
    })
}

/// Which network a service is routed through and why (logged once per service by the provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NetworkNote {
    pub service: String,
    pub network: String,
    pub choice: NetworkChoice,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: &str, desired: &str, nets: &[(&str, &str, bool, &str)]) -> RawTask {
        RawTask {
            service_id: "s1".into(),
            status: RawTaskStatus {
                state: state.into(),
                container_status: Some(RawContainerStatus {
                    container_id: "c1".into(),
                }),
            },
            desired_state: desired.into(),
            id: String::new(),
            node_id: String::new(),
            slot: 0,
            networks_attachments: nets
                .iter()
                .map(|(id, name, ingress, addr)| RawAttachment {
                    network: RawNetwork {
                        id: id.to_string(),
                        spec: RawNetworkSpec {
                            name: name.to_string(),
                            ingress: *ingress,
                        },
                    },
                    addresses: vec![addr.to_string()],
                })
                .collect(),
        }
    }

    #[test]
    fn task_selection() {
        let nets = [
            ("n0", "ingress", true, "10.0.0.5/24"),
            ("n1", "st_front", false, "10.0.1.5/24"),
            ("n2", "back", false, "10.0.2.5/24"),
        ];
        let none = HashSet::new();
        let sick = HashSet::from(["c1".to_string()]);
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            &'a HashSet<String>,
            Option<(&'a str, bool)>,
        );
        let cases: [Case<'_>; 8] = [
            ("running", "running", None, &none, Some(("10.0.1.5", false))),
            (
                "running",
                "running",
                Some("back"),
                &none,
                Some(("10.0.2.5", false)),
            ),
            (
                "running",
                "running",
                Some("front"),
                &none,
                Some(("10.0.1.5", false)),
            ),
            (
                "running",
                "running",
                Some("n2"),
                &none,
                Some(("10.0.2.5", false)),
            ),
            // A named network the task is not on: Traefik's fallback to the task's first one.
            (
                "running",
                "running",
                Some("other"),
                &none,
                Some(("10.0.1.5", false)),
            ),
            ("running", "shutdown", None, &none, Some(("10.0.1.5", true))),
            ("running", "running", None, &sick, Some(("10.0.1.5", true))),
            ("starting", "running", None, &none, None),
        ];
        for (state, desired, wanted, unhealthy, want) in cases {
            let got = select_task(
                &task(state, desired, &nets),
                wanted,
                Some("st"),
                unhealthy,
                &HashSet::new(),
            );
            let got = got.map(|(ep, ..)| (ep.ip.to_string(), ep.draining));
            assert_eq!(
                got,
                want.map(|(ip, d)| (ip.to_string(), d)),
                "{state}/{desired}/{wanted:?}"
            );
        }
    }

    #[test]
    fn decodes_docker_task_json() {
        let json = r#"[{"ID":"abc","ServiceID":"svc","DesiredState":"running",
            "Status":{"State":"running","ContainerStatus":{"ContainerID":"cid","PID":1}},
            "NetworksAttachments":[{"Network":{"ID":"nid","Spec":{"Name":"web","Driver":"overlay"}},"Addresses":["10.0.9.3/24"]}],
            "Spec":{"ContainerSpec":{"Image":"x"}}}]"#;
        let tasks: Vec<RawTask> = serde_json::from_str(json).unwrap();
        let (ep, net, ..) =
            select_task(&tasks[0], None, None, &HashSet::new(), &HashSet::new()).unwrap();
        assert_eq!(
            (ep.ip.to_string(), ep.draining, net.as_str()),
            ("10.0.9.3".to_string(), false, "nid")
        );
    }

    #[test]
    fn a_task_s_server_carries_its_task_service_slot_node_and_container() {
        use crate::config::server_origin::ServerOrigin;
        use crate::provider::labels::build_config;
        // As Docker 27 answers `/tasks` and `/nodes` (fields swarmgate does not read left in).
        let tasks = r#"[{"ID":"t0sk1d0123456789abcdefghi","ServiceID":"svc","NodeID":"n0de1",
            "Slot":2,"DesiredState":"running",
            "Status":{"State":"running","ContainerStatus":{"ContainerID":"c0ffee0123456789","PID":7}},
            "NetworksAttachments":[{"Network":{"ID":"nid","Spec":{"Name":"web"}},"Addresses":["10.0.9.3/24"]}]},
            {"ID":"gl0bal","ServiceID":"svc","NodeID":"unknown-node","DesiredState":"running",
            "Status":{"State":"running","ContainerStatus":{"ContainerID":""}},
            "NetworksAttachments":[{"Network":{"ID":"nid","Spec":{"Name":"web"}},"Addresses":["10.0.9.4/24"]}]}]"#;
        let nodes = r#"[{"ID":"n0de1","Description":{"Hostname":"worker-1","Platform":{"OS":"linux"}},
            "Spec":{"Availability":"active"},"Status":{"State":"ready"}}]"#;
        let tasks: Vec<RawTask> = serde_json::from_str(tasks).unwrap();
        let nodes: Vec<RawNode> = serde_json::from_str(nodes).unwrap();
        let hostnames: HashMap<String, String> = nodes
            .iter()
            .map(|n| (n.id.clone(), n.description.hostname.clone()))
            .collect();
        let none = HashSet::new();
        let endpoints: Vec<TaskEndpoint> = tasks
            .iter()
            .map(|t| {
                let (mut ep, ..) = select_task(t, None, None, &none, &none).unwrap();
                ep.origin = Some(Arc::new(task_origin(t, "st_web", &hostnames)));
                ep
            })
            .collect();
        let labels = BTreeMap::from([
            ("traefik.enable".to_string(), "true".to_string()),
            (
                "traefik.http.services.web.loadbalancer.server.port".to_string(),
                "8080".to_string(),
            ),
        ]);
        let svc = SwarmService {
            name: "st_web".into(),
            labels,
            tasks: endpoints,
            ..Default::default()
        };
        let opts = LabelOptions::from_config(&Default::default());
        let (config, issues) = build_config(&[svc], &opts);
        assert!(issues.is_empty(), "{issues:?}");
        let servers = &config.http.services["web"]
            .load_balancer
            .as_ref()
            .unwrap()
            .servers;
        let origins: Vec<(&str, Option<&ServerOrigin>)> = servers
            .iter()
            .map(|s| (s.url.as_str(), s.origin.as_deref()))
            .collect();
        assert_eq!(
            origins,
            [
                (
                    "http://10.0.9.3:8080",
                    Some(&ServerOrigin::Task(TaskOrigin {
                        task: "t0sk1d0123456789abcdefghi".into(),
                        service: "st_web".into(),
                        slot: Some(2),
                        node: "worker-1".into(),
                        node_id: "n0de1".into(),
                        container: Some("c0ffee0123456789".into()),
                    }))
                ),
                // A global service's task (no slot) on a node `/nodes` did not list, its container
                // not reported yet: the node's ID, no container.
                (
                    "http://10.0.9.4:8080",
                    Some(&ServerOrigin::Task(TaskOrigin {
                        task: "gl0bal".into(),
                        service: "st_web".into(),
                        slot: None,
                        node: "unknown-node".into(),
                        node_id: "unknown-node".into(),
                        container: None,
                    }))
                ),
            ]
        );
        // What the API shows of it.
        assert_eq!(
            serde_json::to_value(servers[0].origin.as_deref().unwrap()).unwrap(),
            serde_json::json!({"kind": "task", "task": "t0sk1d0123456789abcdefghi",
                "service": "st_web", "slot": 2, "node": "worker-1", "nodeId": "n0de1",
                "container": "c0ffee0123456789"})
        );
    }

    #[test]
    fn network_choice_prefers_the_named_then_the_edge_s_own_then_the_first() {
        let t = task(
            "running",
            "running",
            &[
                ("n0", "ingress", true, "10.0.0.5/24"),
                ("n1", "st_db", false, "10.0.1.5/24"),
                ("n2", "proxy", false, "10.0.2.5/24"),
            ],
        );
        let edge = HashSet::from(["n2".to_string(), "n0".to_string()]);
        let none = HashSet::new();
        let pick = |wanted: Option<&str>, edge: &HashSet<String>| {
            choose_network(&t.networks_attachments, wanted, Some("st"), edge)
                .map(|(a, c)| (a.network.spec.name.as_str(), c))
        };
        // Named and present: that one, even if the edge shares another.
        assert_eq!(
            pick(Some("db"), &edge),
            Some(("st_db", NetworkChoice::Named))
        );
        // None named: the one the edge is attached to (never ingress), not the first.
        assert_eq!(pick(None, &edge), Some(("proxy", NetworkChoice::Edge)));
        // None named, nothing shared: the first non-ingress network.
        assert_eq!(pick(None, &none), Some(("st_db", NetworkChoice::First)));
        // Named but absent: fall back (preferring the edge's network), marked for a warning.
        assert_eq!(
            pick(Some("public"), &edge),
            Some(("proxy", NetworkChoice::Fallback))
        );
        assert_eq!(
            pick(Some("public"), &none),
            Some(("st_db", NetworkChoice::Fallback))
        );
        // Only on ingress: nothing to route to.
        let only_ingress = task(
            "running",
            "running",
            &[("n0", "ingress", true, "10.0.0.5/24")],
        );
        assert_eq!(
            choose_network(&only_ingress.networks_attachments, Some("x"), None, &edge)
                .map(|(_, c)| c),
            None
        );
    }

    #[test]
    fn the_edge_finds_its_own_networks() {
        let mut own = task(
            "running",
            "running",
            &[("n2", "proxy", false, "10.0.2.9/24")],
        );
        if let Some(c) = own.status.container_status.as_mut() {
            c.container_id = "0123456789abcdef".repeat(4);
        }
        let other = task("running", "running", &[("n1", "db", false, "10.0.1.5/24")]);
        let tasks = [own, other];
        assert_eq!(
            edge_networks(&tasks, Some("0123456789ab")),
            HashSet::from(["n2".to_string()])
        );
        assert!(edge_networks(&tasks, Some("0123")).is_empty());
        assert!(edge_networks(&tasks, None).is_empty());
        let id = "0123456789abcdef".repeat(4);
        let mountinfo = format!(
            "1 2 0:1 / / rw - overlay overlay rw\n3 1 8:1 /var/lib/docker/containers/{id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"
        );
        assert_eq!(container_id_in_mountinfo(&mountinfo), Some(id));
        assert_eq!(container_id_in_mountinfo("1 2 0:1 / / rw\n"), None);
    }
}
