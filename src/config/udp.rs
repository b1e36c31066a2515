//! `udp:` of the dynamic configuration (Traefik's `UDPConfiguration`): routers that send every
//! datagram of an entrypoint whose address ends in `/udp` to a service, and services that balance
//! sessions over server addresses (`loadBalancer`) or over other UDP services (`weighted`).
//!
//! Plain serde data in Traefik's file shape; read element by element by `config::elements`
//! (`read_udp` below), qualified by `config::merge`, compiled by `proxy::udp::table`. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `udp` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routers: BTreeMap<String, UdpRouterConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, UdpServiceConfig>,
    /// Routers and services a provider could not read, with the short reason shown to their
    /// users: a router naming one is closed (its datagrams are dropped), so its entrypoint never
    /// falls to another router. Never read from or written to a file.
    #[serde(skip)]
    pub invalid: UdpInvalid,
}

impl UdpConfig {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty() && self.services.is_empty() && self.invalid.is_empty()
    }
}

/// The UDP elements a provider found invalid (see [`UdpConfig::invalid`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UdpInvalid {
    /// Routers that cannot be read but whose entrypoints are known: held closed.
    pub routers: BTreeMap<String, (UdpRouterConfig, String)>,
    pub services: BTreeMap<String, String>,
}

impl UdpInvalid {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty() && self.services.is_empty()
    }
}

/// `udp.routers.<name>`: no rule (a datagram carries no host); the router takes every datagram of
/// its entrypoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpRouterConfig {
    /// UDP entrypoints; empty means every UDP entrypoint (Traefik's default for UDP routers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    pub service: String,
}

/// `udp.services.<name>`: exactly one of the kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpServiceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<UdpLoadBalancerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<UdpWeightedConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpLoadBalancerConfig {
    #[serde(default)]
    pub servers: Vec<UdpServerConfig>,
}

/// One server: `host:port` (an IP or a name resolved when a session opens).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpServerConfig {
    pub address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpWeightedConfig {
    #[serde(default)]
    pub services: Vec<UdpWeightedServiceRef>,
}

/// A child of a `weighted` UDP service; `weight` defaults to 1 (Traefik's `SetDefaults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdpWeightedServiceRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

impl UdpServiceConfig {
    /// What makes a service that deserialized unusable: no kind or two kinds, a server address
    /// that is not `host:port`, a weight below zero. `Err` is the message of its issue.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.load_balancer, &self.weighted) {
            (Some(_), Some(_)) => Err("loadBalancer and weighted are exclusive: a UDP service \
                                       has one kind (declare two services)"
                .to_string()),
            (None, None) => {
                Err("the UDP service has no kind (expected loadBalancer or weighted)".to_string())
            }
            (Some(lb), None) => {
                for (i, server) in lb.servers.iter().enumerate() {
                    split_address(&server.address).map_err(|e| {
                        format!(
                            "loadBalancer.servers[{i}].address {:?}: {e}",
                            server.address
                        )
                    })?;
                }
                Ok(())
            }
            (None, Some(w)) => {
                for (i, child) in w.services.iter().enumerate() {
                    if child.weight.is_some_and(|w| w < 0) {
                        return Err(format!(
                            "weighted.services[{i}].weight {}: a weight is 0 or more",
                            child.weight.unwrap_or_default()
                        ));
                    }
                    if child.name.is_empty() {
                        return Err(format!("weighted.services[{i}].name is empty"));
                    }
                }
                Ok(())
            }
        }
    }
}

/// `host:port` → (host, port); `[::1]:53` gives `::1`. The port is 1 to 65535.
pub fn split_address(address: &str) -> Result<(&str, u16), String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| "expected host:port".to_string())?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err("the host is missing (expected host:port)".to_string());
    }
    if host.contains(':') && !address.starts_with('[') {
        return Err("an IPv6 address is written in brackets ([::1]:53)".to_string());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((host, p)),
        _ => Err(format!("port {port:?} is not a port (1 to 65535)")),
    }
}

/// The keys of a UDP router, service, and of a service's kinds (for "did you mean").
pub const ROUTER_KEYS: &[&str] = &["entryPoints", "service"];
pub const SERVICE_KEYS: &[&str] = &["loadBalancer", "weighted"];
pub const SECTIONS: &[&str] = &["routers", "services"];

/// What can be read of a router that does not deserialize: its entrypoints, to hold them closed.
/// Missing or malformed entrypoints mean every UDP entrypoint (the widest closing).
pub fn lenient_router(value: &Value) -> UdpRouterConfig {
    let entry_points = value
        .get("entryPoints")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let service = value
        .get("service")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    UdpRouterConfig {
        entry_points,
        service,
    }
}

#[cfg(test)]
mod tests;
