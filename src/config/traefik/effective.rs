//! What Traefik does to a static configuration after reading it: v2 `providers.docker` with
//! `swarmMode` becomes `providers.swarm`, default entrypoints are created, and lego's
//! `LEGO_CA_CERTIFICATES` is applied to every ACME resolver.
//!
//! Pure. After this, the rest of swarmgate reads only `providers.swarm`.

use serde_json::Value;

use super::canon::Canon;
use crate::config::static_config::{EntryPointConfig, StaticConfig};

/// Moves `providers.docker` onto `providers.swarm` when it has `swarmMode: true`; otherwise
/// reports it as unsupported (swarmgate only serves Swarm) and removes it.
pub(crate) fn fold_docker_into_swarm(tree: &mut Value, canon: &mut Canon<'_>) {
    let Some(providers) = tree.get_mut("providers").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(mut docker) = providers.remove("docker") else {
        return;
    };
    let swarm_mode = docker
        .as_object_mut()
        .and_then(|d| d.remove("swarmMode"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let key = ["providers".to_string(), "docker".to_string()];
    let raw = ["providers".to_string(), "docker".to_string()];
    let reason = if !swarm_mode {
        "swarmgate only serves Docker Swarm: use providers.swarm (or providers.docker.swarmMode=true)"
    } else if providers.contains_key("swarm") {
        "providers.swarm is also set; providers.docker is not read"
    } else {
        // Applied under the v3 names, each option with one deprecation notice.
        let mut options = vec!["swarmMode".to_string()];
        if let Some(d) = docker.as_object() {
            options.extend(d.keys().cloned());
        }
        for option in options {
            // `swarmModeRefreshSeconds` was already read as `refreshSeconds`.
            let v2 = match option.as_str() {
                "refreshSeconds" => "swarmModeRefreshSeconds".to_string(),
                _ => option.clone(),
            };
            let path = ["providers".to_string(), "docker".to_string(), v2.clone()];
            let instead = crate::config::deprecation::v3_swarm_option(&v2);
            let why =
                format!("deprecated (Traefik v2), applied as `{instead}`: write that instead");
            let report = canon.report(&path, &path, &why);
            canon.deprecated.push(report);
        }
        providers.insert("swarm".to_string(), docker);
        return;
    };
    let report = canon.report(&key, &raw, reason);
    canon.unsupported.push(report);
}

/// Traefik's effective configuration: an `http` entrypoint on `:80` when none is defined, and
/// the internal `traefik` entrypoint on `:8080` when `api.insecure`, ping or Prometheus metrics
/// use it (their default, unless `manualRouting`) and it is not defined.
pub fn apply_traefik_defaults(config: &mut StaticConfig) {
    let ep = |address: &str| EntryPointConfig {
        address: address.to_string(),
        ..Default::default()
    };
    if config.entry_points.is_empty() {
        config.entry_points.insert("http".to_string(), ep(":80"));
    }
    let on_traefik = |e: &Option<String>| e.as_deref().is_none_or(|e| e == "traefik");
    let needs_internal = config.api.as_ref().is_some_and(|a| a.insecure)
        || config
            .ping
            .as_ref()
            .is_some_and(|p| !p.manual_routing && on_traefik(&p.entry_point))
        || config
            .metrics
            .as_ref()
            .and_then(|m| m.prometheus.as_ref())
            .is_some_and(|p| !p.manual_routing && on_traefik(&p.entry_point));
    if needs_internal && !config.entry_points.contains_key("traefik") {
        config
            .entry_points
            .insert("traefik".to_string(), ep(":8080"));
    }
}

/// Adds the paths of `LEGO_CA_CERTIFICATES` (separated by `:` or `,`, as lego accepts) to the
/// `caCertificates` of every ACME resolver, keeping those already listed.
pub fn apply_lego_ca_certificates(config: &mut StaticConfig, env: &[(String, String)]) {
    let Some((_, value)) = env.iter().find(|(k, _)| k == "LEGO_CA_CERTIFICATES") else {
        return;
    };
    let paths: Vec<&str> = value
        .split([':', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    for resolver in config.certificates_resolvers.values_mut() {
        if let Some(acme) = resolver.acme.as_mut() {
            for p in &paths {
                if !acme.ca_certificates.iter().any(|c| c == p) {
                    acme.ca_certificates.push(p.to_string());
                }
            }
        }
    }
}
