//! `swarmgate check --stack FILE`: a Compose/stack file's `deploy.labels` checked offline, before
//! `docker stack deploy`, with the label compiler the Swarm provider uses (`provider::labels`),
//! merged and compiled against the edge's static configuration as `run` would.
//!
//! Offline there is no Docker: every service is given one made-up task so that its labels are
//! compiled (a service without running tasks is otherwise left out), and its published target
//! ports stand in for the ports the Swarm API reports. An image's `EXPOSE` cannot be seen, so a
//! service with neither a `loadbalancer.server.port` label nor a published port is reported:
//! the Swarm provider has no port detection. Pure apart from what the caller reads.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::config::{ConfigIssue, DynamicConfig, Element, StaticConfig};
use crate::provider::labels::{self, LabelOptions, SwarmService, TaskEndpoint};

/// One service of a stack file, as far as the labels need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackService {
    pub name: String,
    pub image: Option<String>,
    /// `deploy.labels`: the labels the Swarm provider reads.
    pub labels: BTreeMap<String, String>,
    /// `traefik.*` keys written under the service's own `labels:` (container labels), which the
    /// Swarm provider never reads.
    pub container_labels: Vec<String>,
    /// Published target ports.
    pub ports: Vec<u16>,
    /// Published ports with their protocol (`ports` is their targets).
    pub published: Vec<PublishedPort>,
    /// The service's `command:` (for the edge service's own static configuration).
    pub command: Option<Vec<String>>,
    /// Bind mounts `(host source, container target)` of `volumes:` (named volumes left out).
    pub mounts: Vec<(String, String)>,
}

/// One entry of a service's `ports:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishedPort {
    /// The port inside the containers.
    pub target: u16,
    /// The port published on the nodes, when written.
    pub published: Option<u16>,
    /// `/udp` or `protocol: udp` (else TCP).
    pub udp: bool,
}

impl StackService {
    /// The edge itself: an image named `traefik` or `swarmgate` (any registry, any tag).
    pub fn is_edge(&self) -> bool {
        let Some(image) = &self.image else {
            return false;
        };
        let repo = image.split(['@']).next().unwrap_or(image);
        let last = repo.rsplit('/').next().unwrap_or(repo);
        let name = last.split(':').next().unwrap_or(last);
        name == "traefik" || name == "swarmgate"
    }

    /// Where a path inside this service's containers is on the host, through its bind mounts
    /// (the longest target that contains it); a relative source is relative to `stack_dir`, the
    /// directory of the stack file, as Compose reads it.
    pub fn host_path(&self, inside: &Path, stack_dir: &Path) -> Option<PathBuf> {
        self.mounts
            .iter()
            .filter_map(|(source, target)| {
                let rest = inside.strip_prefix(target).ok()?;
                Some((target.len(), source, rest))
            })
            .max_by_key(|(len, _, _)| *len)
            .map(|(_, source, rest)| {
                let source = Path::new(source.strip_prefix("./").unwrap_or(source));
                let base = if source.is_absolute() {
                    source.to_path_buf()
                } else {
                    stack_dir.join(source)
                };
                if rest.as_os_str().is_empty() {
                    base
                } else {
                    base.join(rest)
                }
            })
    }
}

/// A bind mount of `volumes:`: short syntax `./src:/target[:ro]` (a source that is a path), or
/// long syntax with `type: bind`.
fn bind_mount(v: &Value) -> Option<(String, String)> {
    match v {
        Value::String(s) => {
            let mut parts = s.splitn(3, ':');
            let source = parts.next()?;
            let target = parts.next()?;
            let is_path = source.starts_with(['/', '.', '~']);
            is_path.then(|| (source.to_string(), target.to_string()))
        }
        Value::Mapping(_) => {
            let kind = v.get("type").and_then(Value::as_str)?;
            (kind == "bind").then_some(())?;
            let source = v.get("source").and_then(scalar)?;
            let target = v.get("target").and_then(scalar)?;
            Some((source, target))
        }
        _ => None,
    }
}

/// Reads the services of a stack file (YAML as written, or `docker stack config` output).
pub fn parse_stack(text: &str) -> Result<Vec<StackService>, String> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return Err("no `services:` section".to_string());
    };
    let mut out = Vec::new();
    for (name, svc) in services {
        let name = scalar(name).ok_or("a service name is not a string")?;
        let labels = svc
            .get("deploy")
            .and_then(|d| d.get("labels"))
            .map(label_map)
            .transpose()
            .map_err(|e| format!("service {name:?}: deploy.labels: {e}"))?
            .unwrap_or_default();
        let container_labels = svc
            .get("labels")
            .map(label_map)
            .transpose()
            .map_err(|e| format!("service {name:?}: labels: {e}"))?
            .unwrap_or_default()
            .into_keys()
            .filter(|k| is_traefik_key(k))
            .collect();
        let published: Vec<PublishedPort> = svc
            .get("ports")
            .and_then(Value::as_sequence)
            .map(|ports| ports.iter().filter_map(published_port).collect())
            .unwrap_or_default();
        let ports = published.iter().map(|p| p.target).collect();
        let command = match svc.get("command") {
            Some(Value::Sequence(items)) => Some(items.iter().filter_map(scalar).collect()),
            Some(Value::String(s)) => Some(s.split_whitespace().map(str::to_string).collect()),
            _ => None,
        };
        let mounts = svc
            .get("volumes")
            .and_then(Value::as_sequence)
            .map(|items| items.iter().filter_map(bind_mount).collect())
            .unwrap_or_default();
        out.push(StackService {
            mounts,
            name,
            image: svc.get("image").and_then(scalar),
            labels,
            container_labels,
            ports,
            published,
            command,
        });
    }
    Ok(out)
}

fn is_traefik_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.starts_with("traefik.") || lower.starts_with("swarmgate.")
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A label value as `docker stack deploy` passes it: Compose's `$$` is one `$` (a basicAuth hash
/// is written `$$apr1$$…`). Variables (`${X}`) are left as written: offline there is no
/// environment to take them from.
fn unescape(value: &str) -> String {
    value.replace("$$", "$")
}

/// Labels as a mapping (`key: value`) or a list (`- key=value`).
fn label_map(v: &Value) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    match v {
        Value::Mapping(map) => {
            for (k, v) in map {
                let k = scalar(k).ok_or("a label key is not a string")?;
                let v = match v {
                    Value::Null => String::new(),
                    other => scalar(other).ok_or(format!("label {k:?}: not a scalar value"))?,
                };
                out.insert(k, unescape(&v));
            }
        }
        Value::Sequence(items) => {
            for item in items {
                let item = scalar(item).ok_or("a label is not a string")?;
                let (k, v) = item.split_once('=').unwrap_or((item.as_str(), ""));
                out.insert(k.to_string(), unescape(v));
            }
        }
        Value::Null => {}
        _ => return Err("expected a mapping or a list of key=value".to_string()),
    }
    Ok(out)
}

/// `"8080:80"`, `"80"`, `"127.0.0.1:8080:80/tcp"`, `"443:443/udp"`, `{target: 80, published:
/// 8080, protocol: udp}` → target 80 (published 8080, UDP or not).
fn published_port(v: &Value) -> Option<PublishedPort> {
    match v {
        Value::Mapping(_) => Some(PublishedPort {
            target: v.get("target").and_then(scalar)?.parse().ok()?,
            published: v
                .get("published")
                .and_then(scalar)
                .and_then(|p| p.parse().ok()),
            udp: v
                .get("protocol")
                .and_then(scalar)
                .is_some_and(|p| p.eq_ignore_ascii_case("udp")),
        }),
        other => {
            let text = scalar(other)?;
            let (ports, protocol) = text.split_once('/').unwrap_or((&text, "tcp"));
            let mut parts = ports.rsplit(':');
            // A range (`8000-8010`) names no single port.
            let target = parts.next()?.parse().ok()?;
            Some(PublishedPort {
                target,
                published: parts.next().and_then(|p| p.parse().ok()),
                udp: protocol.eq_ignore_ascii_case("udp"),
            })
        }
    }
}

/// `http3` on an entrypoint of the stack's edge service whose port it publishes as TCP only:
/// QUIC never reaches it (browsers still see `Alt-Svc`, try, and fall back after a delay). A
/// warning per such port, naming the line to add.
pub fn http3_ports(services: &[StackService], cfg: &StaticConfig) -> Vec<StackIssue> {
    let mut out = Vec::new();
    for edge in services.iter().filter(|s| s.is_edge()) {
        for (name, ep) in &cfg.entry_points {
            if ep.http3.is_none() {
                continue;
            }
            let address = ep.address.split('/').next().unwrap_or(&ep.address);
            let Some(port) = address
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
            else {
                continue;
            };
            let same = |p: &&PublishedPort| p.target == port;
            let Some(tcp) = edge.published.iter().filter(same).find(|p| !p.udp) else {
                continue;
            };
            if edge.published.iter().filter(same).any(|p| p.udp) {
                continue;
            }
            let published = tcp.published.unwrap_or(port);
            let issue = ConfigIssue::new(
                Element::EntryPoint,
                name,
                format!(
                    "http3 is on, but port {port} is published as TCP only: QUIC (UDP) never \
                     reaches the edge. Publish it as UDP too: `- \"{published}:{port}/udp\"` (or \
                     `target: {port}, published: {published}, protocol: udp, mode: host`)"
                ),
            )
            .with_key("http3")
            .as_warning();
            out.push(StackIssue {
                service: Some(edge.name.clone()),
                label: None,
                issue,
            });
        }
    }
    out
}

/// One problem of a stack, with the service (and label) it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct StackIssue {
    /// The stack service the problem is in, when it is in one.
    pub service: Option<String>,
    /// The label it is written in, when known (`traefik.http.routers.blog.rule`).
    pub label: Option<String>,
    pub issue: ConfigIssue,
}

impl StackIssue {
    /// A problem found by the label compiler or `table::compile`: the label is the issue's key
    /// when that is a full label, else the label its element and key are written in.
    pub fn from_issue(services: &[StackService], issue: ConfigIssue) -> StackIssue {
        let service = issue
            .origin
            .clone()
            .filter(|o| services.iter().any(|s| &s.name == o))
            .or_else(|| defined_by(services, issue.element, &issue.name));
        let label = match issue.key.as_deref() {
            Some(k) if is_traefik_key(k) => Some(k.to_string()),
            // A TCP element's issue from the compiler: `tcp.routers.<name>@swarm`.
            Some(k) if k.starts_with("tcp.") && service.is_some() => {
                Some(format!("traefik.{}", k.replace("@swarm", "")))
            }
            Some(k) if service.is_some() => {
                let bare = issue.name.strip_suffix("@swarm").unwrap_or(&issue.name);
                let section = match issue.element {
                    Element::Router => Some("routers"),
                    Element::Middleware => Some("middlewares"),
                    Element::Service => Some("services"),
                    _ => None,
                };
                section.map(|sec| format!("traefik.http.{sec}.{bare}.{}", k.to_ascii_lowercase()))
            }
            _ => None,
        };
        StackIssue {
            service,
            label,
            issue,
        }
    }
}

impl std::fmt::Display for StackIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.issue.warning {
            f.write_str("warning: ")?;
        }
        match (&self.service, &self.label) {
            (Some(s), Some(l)) => write!(f, "service {s:?}, label {l}: {}", self.issue.message),
            (Some(s), None) => {
                let mut issue = self.issue.clone();
                issue.origin = None;
                issue.warning = false;
                write!(f, "service {s:?}: {issue}")
            }
            (None, _) => {
                let mut issue = self.issue.clone();
                issue.warning = false;
                write!(f, "{issue}")
            }
        }
    }
}

/// The label configuration of a stack, as the Swarm provider would build it, and every problem
/// the labels alone show.
pub fn stack_config(
    services: &[StackService],
    cfg: &StaticConfig,
) -> (DynamicConfig, Vec<StackIssue>) {
    let swarm_cfg = cfg.providers.swarm.clone().unwrap_or_default();
    let opts = LabelOptions::from_config(&swarm_cfg);
    let mut issues = Vec::new();
    let mut at = |service: &str, issue: ConfigIssue| {
        issues.push(StackIssue {
            service: Some(service.to_string()),
            label: issue.key.clone(),
            issue,
        })
    };
    let mut swarm = Vec::new();
    for (i, svc) in services.iter().enumerate() {
        for key in &svc.container_labels {
            at(
                &svc.name,
                ConfigIssue::new(
                    Element::Source,
                    &svc.name,
                    "a container label: the Swarm provider reads only `deploy.labels`, so \
                     Traefik and swarmgate ignore it; move it under `deploy:`",
                )
                .with_key(key.clone())
                .as_warning(),
            );
        }
        let has_traefik = svc.labels.keys().any(|k| is_traefik_key(k));
        if !has_traefik {
            continue;
        }
        let (settings, _) = labels::service_settings(&svc.name, &svc.labels, &opts);
        let enable_written = svc
            .labels
            .keys()
            .any(|k| k.eq_ignore_ascii_case("traefik.enable"));
        if !settings.enabled && !enable_written && !opts.exposed_by_default {
            at(
                &svc.name,
                ConfigIssue::new(
                    Element::Source,
                    &svc.name,
                    "has traefik labels but no `traefik.enable=true`, and the edge runs with \
                     `providers.swarm.exposedByDefault=false`: Traefik ignores the whole service",
                )
                .with_key("traefik.enable")
                .as_warning(),
            );
        }
        let port_written = svc.labels.keys().any(|k| {
            k.to_ascii_lowercase()
                .ends_with(".loadbalancer.server.port")
        });
        let url_written = svc
            .labels
            .keys()
            .any(|k| k.to_ascii_lowercase().contains(".loadbalancer.servers"));
        if settings.enabled && !port_written && !url_written && svc.ports.is_empty() {
            at(
                &svc.name,
                ConfigIssue::new(
                    Element::Service,
                    &svc.name,
                    "no `traefik.http.services.<name>.loadbalancer.server.port` label and no \
                     published port: the Swarm provider has no port detection, and an image's \
                     EXPOSE cannot be seen offline; Traefik drops the service. Set the port label",
                )
                .with_key("traefik.http.services.<name>.loadbalancer.server.port"),
            );
        }
        // One made-up task per service so its labels are compiled (10.0.x.y).
        let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let [hi, lo] = n.to_be_bytes();
        swarm.push(SwarmService {
            name: svc.name.clone(),
            labels: svc.labels.clone(),
            tasks: vec![TaskEndpoint {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, hi, lo)),
                draining: false,
                origin: None,
            }],
            ports: svc.ports.clone(),
            vip: Some(IpAddr::V4(Ipv4Addr::new(10, 1, hi, lo))),
        });
    }
    let (config, found) = labels::build_config(&swarm, &opts);
    for issue in found {
        // The "no port" case is already said above, with what to do offline.
        if issue.message.starts_with("port is missing") {
            continue;
        }
        issues.push(StackIssue::from_issue(services, issue));
    }
    issues.extend(undefined_middlewares(services, &config));
    (config, issues)
}

/// Routers' references to `@swarm` middlewares that no service of the stack defines, whatever
/// else is wrong with the router (`table::compile` stops at a router's first problem).
fn undefined_middlewares(services: &[StackService], config: &DynamicConfig) -> Vec<StackIssue> {
    let mut out = Vec::new();
    let routers = config
        .http
        .routers
        .iter()
        .chain(config.invalid.routers.iter().map(|(n, (r, _))| (n, r)));
    for (name, router) in routers {
        for m in &router.middlewares {
            let bare = match m.split_once('@') {
                None => m.as_str(),
                Some((bare, "swarm")) => bare,
                Some(_) => continue,
            };
            let prefix = format!("traefik.http.middlewares.{}.", bare.to_ascii_lowercase());
            let defined = config.http.middlewares.contains_key(bare)
                || services.iter().any(|s| {
                    s.labels
                        .keys()
                        .any(|k| k.to_ascii_lowercase().starts_with(&prefix))
                });
            if defined {
                continue;
            }
            let issue = ConfigIssue::new(
                Element::Router,
                format!("{name}@swarm"),
                format!(
                    "middleware {bare:?} is defined nowhere: no service of the stack has \
                     `traefik.http.middlewares.{bare}.*` labels (one of another provider is \
                     written `{bare}@file`); router closed (answers 503)"
                ),
            )
            .with_key("middlewares");
            out.push(StackIssue::from_issue(services, issue));
        }
    }
    out
}

/// Which stack service defines router/middleware/service `name` (`name@swarm` or bare).
pub fn defined_by(services: &[StackService], element: Element, name: &str) -> Option<String> {
    let bare = name
        .strip_suffix("@swarm")
        .unwrap_or(name)
        .to_ascii_lowercase();
    let section = match element {
        Element::Router => "routers",
        Element::Middleware => "middlewares",
        Element::Service => "services",
        _ => return None,
    };
    let prefix = format!("traefik.http.{section}.{bare}.");
    services
        .iter()
        .find(|s| {
            s.labels
                .keys()
                .any(|k| k.to_ascii_lowercase().starts_with(&prefix))
        })
        .map(|s| s.name.clone())
        .or_else(|| {
            // A router or service named after its Swarm service (no explicit router labels).
            services
                .iter()
                .find(|s| labels::normalize(&s.name) == bare)
                .map(|s| s.name.clone())
        })
}

#[cfg(test)]
mod tests;
