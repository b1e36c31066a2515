//! Label translation tests: Traefik's documented examples and defaults (`examples`), malformed
//! input, settings and merging (`errors`). Shared fixtures here.

mod errors;
mod examples;
mod tcp;
mod udp;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::config::dynamic::{LoadBalancerConfig, ServiceConfig};
use crate::config::middleware::MiddlewareConfig;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, last))
}

fn svc(name: &str, labels: &[(&str, &str)]) -> SwarmService {
    SwarmService {
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        tasks: vec![
            TaskEndpoint {
                ip: ip(5),
                draining: false,
                origin: None,
            },
            TaskEndpoint {
                ip: ip(6),
                draining: true,
                origin: None,
            },
        ],
        ports: Vec::new(),
        vip: Some(ip(2)),
    }
}

fn translate(s: &SwarmService) -> (DynamicConfig, Vec<ConfigIssue>) {
    service_config(s, &LabelOptions::default())
}

fn urls(cfg: &DynamicConfig, service: &str) -> Vec<(String, bool)> {
    cfg.http.services[service]
        .load_balancer
        .as_ref()
        .unwrap()
        .servers
        .iter()
        .map(|s| (s.url.clone(), s.draining))
        .collect()
}
