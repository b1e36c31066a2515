//! Where each server of an HTTP service came from: swarmgate's own, not Traefik's. The provider
//! that writes a server sets it (`ServerConfig::origin`); it is never read from or written to a
//! configuration file, and nothing on the request path reads it. The admin API shows it as
//! `serverOrigins` (beside Traefik's `serverStatus`), the dashboard on the service page.

use serde::Serialize;

/// One server's origin; serialised with its `kind` (`task`, `vip`, `label`, `file`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ServerOrigin {
    /// A running Swarm task's address on the chosen network.
    Task(TaskOrigin),
    /// A Swarm service's virtual IP (`traefik.docker.lbswarm=true`).
    Vip { service: String },
    /// A `loadbalancer.servers[n].url` label of a Swarm service, used as written.
    Label { service: String },
    /// A server listed in a file of the file provider.
    File { file: String },
}

/// The Swarm task a server is the address of.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOrigin {
    /// The task's ID (full; `docker service ps` shows its first 12 characters).
    pub task: String,
    /// The Swarm service's name (`mystack_api`).
    pub service: String,
    /// A replicated service's slot (1…n); none for a global service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<u64>,
    /// The node's hostname, else its ID.
    pub node: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node_id: String,
    /// The task's container, once Docker reported it (full ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}
