//! Which `tls.options` each TLS route needs and which one each handshake gets, by SNI.
//!
//! As Traefik (pkg/server/router/tcp/manager.go): on each entrypoint a TLS router's `Host`
//! names select its options at ClientHello time; any other SNI (or none) gets the `default`
//! options. A request is served only by a route whose options are the ones its connection was
//! handshaken with, else 421 (Traefik's `snicheck`), so a route is never reached through a
//! connection negotiated under other (weaker) options.
//!
//! Where Traefik falls back to the default options, swarmgate refuses instead: a host whose
//! routers name different options on one entrypoint, or options that are invalid or missing,
//! gets its handshakes refused (Traefik serves it with the default options and logs an error),
//! and a TLS router without a `Host` keeps its own options (reached only through an SNI that
//! selects them; Traefik serves it with the default options).
#![allow(clippy::disallowed_types)] // std Mutex: the tls.options key interning runs while compiling

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use crate::config::dynamic::TlsOptionsConfig;
use crate::config::merge::DEFAULT_TLS_OPTIONS;

/// One options set a route needs or a handshake gets: its name and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsRef {
    pub name: String,
    /// Stable for a name and content across reloads (see [`key`]); never 0.
    pub key: u32,
}

/// The options a handshake gets on one entrypoint, by SNI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SniOptions {
    /// Lowercase host → its options; `None`: the handshake is refused.
    pub hosts: HashMap<String, Option<OptionsRef>>,
    /// Any other SNI, or none: the `default` options; `None` when they are invalid.
    pub default: Option<OptionsRef>,
}

/// The key of an options set: one small number per (name, content) ever seen by this process,
/// so a route compiled after a reload and a connection handshaken before it agree exactly when
/// they mean the same options, and changed options are a new key (421 on older connections).
/// Config plane only (`compile`); the request path compares two integers.
pub fn key(name: &str, cfg: Option<&TlsOptionsConfig>) -> u32 {
    static KEYS: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    let content = cfg.map_or_else(String::new, |c| {
        serde_json::to_string(c).unwrap_or_default()
    });
    let id = format!("{name}\n{content}");
    let mut keys = KEYS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let next = u32::try_from(keys.len() + 1).unwrap_or(u32::MAX);
    *keys.entry(id).or_insert(next)
}

/// Router → the options it asks for (Err: invalid or missing).
type Asked = BTreeMap<String, Result<OptionsRef, String>>;

/// Collects, per entrypoint, the hosts TLS routers name and the options each asks for.
#[derive(Debug, Default)]
pub(super) struct SniCollector {
    /// Per entrypoint: host → router → its options (Err: invalid or missing).
    hosts: Vec<BTreeMap<String, Asked>>,
}

impl SniCollector {
    pub(super) fn new(entrypoints: usize) -> SniCollector {
        SniCollector {
            hosts: vec![BTreeMap::new(); entrypoints],
        }
    }

    pub(super) fn add(
        &mut self,
        entrypoint: usize,
        router: &str,
        hosts: &[String],
        options: &Result<OptionsRef, String>,
    ) {
        let Some(map) = self.hosts.get_mut(entrypoint) else {
            return;
        };
        for host in hosts {
            map.entry(host.to_ascii_lowercase())
                .or_default()
                .insert(router.to_string(), options.clone());
        }
    }

    /// The per-entrypoint selection, and a message per router whose host is refused because the
    /// routers on it disagree.
    pub(super) fn finish(
        self,
        entrypoints: &[super::EntryPointInfo],
        default: &Result<OptionsRef, String>,
    ) -> (Vec<SniOptions>, Vec<(String, String)>) {
        let mut conflicts = Vec::new();
        let mut out = Vec::new();
        for (index, hosts) in self.hosts.into_iter().enumerate() {
            let ep = entrypoints.get(index).map_or("", |e| e.name.as_str());
            let mut sni = SniOptions {
                hosts: HashMap::new(),
                default: default.clone().ok(),
            };
            for (host, routers) in hosts {
                let names: BTreeSet<&str> = routers
                    .values()
                    .filter_map(|o| o.as_ref().ok())
                    .map(|o| o.name.as_str())
                    .collect();
                let invalid = routers.values().any(Result::is_err);
                let chosen = match routers.values().next() {
                    Some(Ok(first)) if names.len() == 1 && !invalid => Some(first.clone()),
                    _ => None,
                };
                if names.len() > 1 {
                    let list = routers
                        .iter()
                        .filter_map(|(r, o)| o.as_ref().ok().map(|o| format!("{r}: {}", o.name)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let message = format!(
                        "on entrypoint {ep:?}, host {host:?} is served by routers with different TLS options ({list}): its TLS handshakes are refused (Traefik would fall back to the default options)"
                    );
                    for router in routers.keys() {
                        conflicts.push((router.clone(), message.clone()));
                    }
                }
                sni.hosts.insert(host, chosen);
            }
            out.push(sni);
        }
        (out, conflicts)
    }
}

/// The name of the options a router uses on an entrypoint (already qualified by the merge for
/// the router's own `tls.options`; the entrypoint's `http.tls.options` is qualified here with
/// the router's provider, as Traefik does).
pub(super) fn options_name(router_name: &str, own: Option<&str>, from_entrypoint: bool) -> String {
    match own {
        None | Some("") => DEFAULT_TLS_OPTIONS.to_string(),
        Some(name) if !from_entrypoint => name.to_string(),
        Some(name) => match router_name.rsplit_once('@') {
            Some((_, provider)) => crate::config::merge::qualify_tls_options(name, provider),
            None => name.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_name_and_content() {
        let strict = TlsOptionsConfig {
            sni_strict: true,
            ..Default::default()
        };
        let a = key("k-test-a@file", None);
        assert_ne!(a, 0);
        assert_eq!(a, key("k-test-a@file", None));
        assert_ne!(a, key("k-test-b@file", None));
        assert_ne!(a, key("k-test-a@file", Some(&strict)));
        assert_eq!(
            key("k-test-a@file", Some(&strict)),
            key("k-test-a@file", Some(&strict))
        );
    }

    #[test]
    fn options_names_are_qualified_like_traefik() {
        assert_eq!(options_name("r@file", None, false), "default");
        assert_eq!(options_name("r@file", Some(""), false), "default");
        assert_eq!(options_name("r@file", Some("x@swarm"), false), "x@swarm");
        assert_eq!(options_name("r@swarm", Some("x"), true), "x@swarm");
        assert_eq!(options_name("r@swarm", Some("default"), true), "default");
    }
}
