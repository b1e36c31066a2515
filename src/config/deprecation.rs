//! Deprecation notices: Traefik v2 spellings swarmgate still applies (`providers.docker` with
//! `swarmMode`, the `traefik.docker.*` labels, `ipWhiteList`), each logged once for the life of
//! the process (per option, per service for labels, per middleware), not at every reload or
//! resync, naming the v3 spelling to write instead.

#![allow(clippy::disallowed_types)] // std Mutex: the notices already given, touched on reloads and resyncs only (config plane)

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

fn given() -> &'static Mutex<HashSet<String>> {
    static GIVEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    GIVEN.get_or_init(Default::default)
}

/// True the first time `key` is seen in this process: the caller then gives its notice.
pub fn first_time(key: &str) -> bool {
    let mut seen = given().lock().unwrap_or_else(|p| p.into_inner());
    seen.insert(key.to_string())
}

/// Logs `message` (a warning naming `written` and the v3 spelling `instead`) once per `key`.
/// Returns whether it was logged now.
pub fn notice(key: &str, written: &str, instead: &str, origin: &str) -> bool {
    if !first_time(key) {
        return false;
    }
    tracing::warn!(
        deprecated = %written,
        instead = %instead,
        origin = %origin,
        "deprecated Traefik v2 spelling, still applied: write `{instead}` instead"
    );
    true
}

/// The Traefik v2 Swarm labels (`traefik.docker.network`, `traefik.docker.lbswarm`, any case)
/// among `labels`, each with its v3 spelling.
pub fn v2_labels<'a>(labels: impl IntoIterator<Item = &'a String>) -> Vec<(&'a str, &'static str)> {
    labels
        .into_iter()
        .filter_map(|label| {
            let lower = label.to_ascii_lowercase();
            let v3 = match lower.as_str() {
                "traefik.docker.network" => "traefik.swarm.network",
                "traefik.docker.lbswarm" => "traefik.swarm.lbswarm",
                _ => return None,
            };
            Some((label.as_str(), v3))
        })
        .collect()
}

/// The v3 spelling of a v2 label: `traefik.docker.network`/`lbswarm` → `traefik.swarm.*`,
/// `traefik.http.middlewares.<name>.ipwhitelist.*` → `ipallowlist`; `None` when it is v3.
pub fn v3_label(label: &str) -> Option<String> {
    if let Some((_, v3)) = v2_labels([&label.to_string()]).first() {
        return Some(v3.to_string());
    }
    let parts: Vec<&str> = label.split('.').collect();
    match parts.as_slice() {
        ["traefik", "http", "middlewares", _, kind, ..]
            if kind.eq_ignore_ascii_case("ipwhitelist") =>
        {
            let mut out: Vec<&str> = parts.clone();
            out[4] = "ipallowlist";
            Some(out.join("."))
        }
        _ => None,
    }
}

/// The v3 spelling of a v2 `providers.docker.<option>` (with `swarmMode`).
pub fn v3_swarm_option(option: &str) -> String {
    match option {
        "swarmMode" => "providers.swarm".to_string(),
        "swarmModeRefreshSeconds" => "providers.swarm.refreshSeconds".to_string(),
        other => format!("providers.swarm.{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_given_once_per_key() {
        assert!(notice(
            "test|svc|traefik.docker.network",
            "traefik.docker.network",
            "traefik.swarm.network",
            "svc"
        ));
        assert!(!notice(
            "test|svc|traefik.docker.network",
            "traefik.docker.network",
            "traefik.swarm.network",
            "svc"
        ));
        assert!(notice(
            "test|other|traefik.docker.network",
            "traefik.docker.network",
            "traefik.swarm.network",
            "other"
        ));
    }

    #[test]
    fn v2_labels_and_options_have_their_v3_spelling() {
        let labels = [
            "traefik.docker.network".to_string(),
            "Traefik.Docker.LBSwarm".to_string(),
            "traefik.swarm.network".to_string(),
            "traefik.http.routers.a.rule".to_string(),
        ];
        assert_eq!(
            v2_labels(&labels),
            [
                ("traefik.docker.network", "traefik.swarm.network"),
                ("Traefik.Docker.LBSwarm", "traefik.swarm.lbswarm")
            ]
        );
        assert_eq!(
            v3_swarm_option("exposedByDefault"),
            "providers.swarm.exposedByDefault"
        );
        assert_eq!(
            v3_label("traefik.docker.lbswarm").as_deref(),
            Some("traefik.swarm.lbswarm")
        );
        assert_eq!(
            v3_label("traefik.http.middlewares.office.ipWhiteList.sourceRange").as_deref(),
            Some("traefik.http.middlewares.office.ipallowlist.sourceRange")
        );
        assert_eq!(v3_label("traefik.http.routers.a.rule"), None);
        assert_eq!(
            v3_swarm_option("swarmModeRefreshSeconds"),
            "providers.swarm.refreshSeconds"
        );
    }
}
