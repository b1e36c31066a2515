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

use bollard::query_parameters::{ListContainersOptions, ListServicesOptions};
use bollard::Docker;
use serde::Deserialize;

use super::raw::{get_json, DockerEndpoint};
use super::SwarmError;
use crate::config::{ConfigIssue, Element};
use crate::provider::labels::{service_settings, LabelOptions, SwarmService, TaskEndpoint};

/// The part of Docker's `/tasks` answer swarmgate reads (PascalCase as the API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawTask {
    #[serde(rename = "ServiceID", default)]
    pub service_id: String,
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

/// The address of a task to route to: only `running` tasks; on network `wanted` when given, else
/// the first non-ingress network. Draining when the task's desired state is no longer `running`
/// or its container is unhealthy. Returns the endpoint and the chosen network's ID.
pub(super) fn select_task(
    task: &RawTask,
    wanted: Option<&str>,
    stack: Option<&str>,
    unhealthy: &HashSet<String>,
) -> Option<(TaskEndpoint, String)> {
    if task.status.state != "running" {
        return None;
    }
    let attachment = task.networks_attachments.iter().find(|a| match wanted {
        Some(w) => network_matches(&a.network, w, stack),
        None => !a.network.spec.ingress,
    })?;
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
    Some((TaskEndpoint { ip, draining }, attachment.network.id.clone()))
}

/// Reads every service and its running tasks. Issues: services whose running tasks are not attached
/// to the selected network (they get no servers).
pub(super) async fn read_state(
    docker: &Docker,
    endpoint: &DockerEndpoint,
    network: Option<&str>,
    opts: &LabelOptions,
) -> Result<(Vec<SwarmService>, Vec<ConfigIssue>), SwarmError> {
    let services = docker
        .list_services(None::<ListServicesOptions>)
        .await
        .map_err(SwarmError::Docker)?;
    let version = docker.client_version();
    let tasks: Vec<RawTask> = get_json(
        endpoint,
        &format!(
            "/v{}.{}/tasks",
            version.major_version, version.minor_version
        ),
    )
    .await?;
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

    let mut out = Vec::new();
    let mut issues = Vec::new();
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
        for task in by_service.get(id.as_str()).into_iter().flatten() {
            running += usize::from(task.status.state == "running");
            if let Some((ep, net)) = select_task(task, wanted, stack, &unhealthy) {
                endpoints.push(ep);
                chosen_network.get_or_insert(net);
            }
        }
        if running > 0 && endpoints.is_empty() {
            let msg = match wanted {
                Some(n) => format!("no running task is attached to network {n:?}"),
                None => "no running task is attached to a non-ingress network".to_string(),
            };
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
    Ok((out, issues))
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
            ("running", "running", Some("other"), &none, None),
            ("running", "shutdown", None, &none, Some(("10.0.1.5", true))),
            ("running", "running", None, &sick, Some(("10.0.1.5", true))),
            ("starting", "running", None, &none, None),
        ];
        for (state, desired, wanted, unhealthy, want) in cases {
            let got = select_task(&task(state, desired, &nets), wanted, Some("st"), unhealthy);
            let got = got.map(|(ep, _)| (ep.ip.to_string(), ep.draining));
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
        let (ep, net) = select_task(&tasks[0], None, None, &HashSet::new()).unwrap();
        assert_eq!(
            (ep.ip.to_string(), ep.draining, net.as_str()),
            ("10.0.9.3".to_string(), false, "nid")
        );
    }
}
