//! Merging providers: every provider's elements get the `name@provider` form Traefik uses, and
//! references without an `@` are read as pointing into the same provider. Pure.

use super::dynamic::DynamicConfig;
use super::{ConfigIssue, Element};

/// `name` qualified for `provider`, unless it already names one (`api@internal`, `mw@file`).
pub fn qualify(name: &str, provider: &str) -> String {
    if let Some(base) = name.strip_suffix("@docker") {
        // Traefik v2 stacks name the Swarm provider `docker`; swarmgate's is `swarm`.
        format!("{base}@swarm")
    } else if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@{provider}")
    }
}

/// A provider's issue about one of its elements, named as the merged configuration names it
/// (`name@provider`), so the API finds it beside the element.
pub fn qualify_issue(mut issue: ConfigIssue, provider: &str) -> ConfigIssue {
    let element = matches!(
        issue.element,
        Element::Router
            | Element::Service
            | Element::Middleware
            | Element::ServersTransport
            | Element::UdpRouter
            | Element::UdpService
    );
    if element && !issue.name.contains('@') {
        issue.name = qualify(&issue.name, provider);
    }
    issue
}

/// Merges `(provider, config)` pairs into one configuration with qualified names.
pub fn merge<'a>(
    providers: impl IntoIterator<Item = (&'a str, &'a DynamicConfig)>,
) -> (DynamicConfig, Vec<ConfigIssue>) {
    let mut out = DynamicConfig::default();
    let mut issues = Vec::new();
    let mut default_providers = Vec::new();
    for (provider, cfg) in providers {
        let q = |name: &str| qualify(name, provider);
        let mut own_name = |element: Element, name: &str| {
            if name.contains('@') {
                issues.push(
                    ConfigIssue::new(element, name, "names must not contain '@'")
                        .with_origin(provider),
                );
                None
            } else {
                Some(q(name))
            }
        };
        for (name, router) in &cfg.http.routers {
            let Some(qualified) = own_name(Element::Router, name) else {
                continue;
            };
            let mut router = router.clone();
            router.service = q(&router.service);
            router.middlewares = router.middlewares.iter().map(|m| q(m)).collect();
            qualify_router_tls(&mut router, provider);
            out.http.routers.insert(qualified, router);
        }
        for (name, service) in &cfg.http.services {
            let Some(qualified) = own_name(Element::Service, name) else {
                continue;
            };
            let mut service = service.clone();
            service.middlewares = service.middlewares.iter().map(|m| q(m)).collect();
            if let Some(lb) = &mut service.load_balancer {
                lb.servers_transport = lb.servers_transport.as_deref().map(q);
            }
            if let Some(weighted) = &mut service.weighted {
                for child in &mut weighted.services {
                    child.name = q(&child.name);
                }
            }
            if let Some(mirroring) = &mut service.mirroring {
                mirroring.service = q(&mirroring.service);
                for mirror in &mut mirroring.mirrors {
                    mirror.name = q(&mirror.name);
                }
            }
            if let Some(hrw) = &mut service.highest_random_weight {
                for child in &mut hrw.services {
                    child.name = q(&child.name);
                }
            }
            if let Some(failover) = &mut service.failover {
                failover.service = q(&failover.service);
                failover.fallback = q(&failover.fallback);
            }
            out.http.services.insert(qualified, service);
        }
        for (name, middleware) in &cfg.http.middlewares {
            let Some(qualified) = own_name(Element::Middleware, name) else {
                continue;
            };
            let mut middleware = middleware.clone();
            if let crate::config::middleware::MiddlewareConfig::Chain(chain) = &mut middleware {
                chain.middlewares = chain.middlewares.iter().map(|m| q(m)).collect();
            }
            if let crate::config::middleware::MiddlewareConfig::Errors(errors) = &mut middleware {
                errors.service = q(&errors.service);
            }
            out.http.middlewares.insert(qualified, middleware);
        }
        for (name, transport) in &cfg.http.servers_transports {
            let Some(qualified) = own_name(Element::ServersTransport, name) else {
                continue;
            };
            out.http
                .servers_transports
                .insert(qualified, transport.clone());
        }
        merge_invalid(&mut out, cfg, provider);
        merge_udp(&mut out, cfg, provider, &mut issues);
        cfg.tcp.merge_into(&mut out.tcp, provider, &mut issues);
        out.tls
            .certificates
            .extend(cfg.tls.certificates.iter().cloned());
        for (name, store) in &cfg.tls.stores {
            out.tls
                .stores
                .entry(name.clone())
                .or_insert_with(|| store.clone());
        }
        for (name, options) in &cfg.tls.options {
            let qualified = qualify_tls_options(name, provider);
            if qualified == DEFAULT_TLS_OPTIONS {
                default_providers.push(provider);
            }
            out.tls
                .options
                .entry(qualified)
                .or_insert_with(|| options.clone());
        }
    }
    if default_providers.len() > 1 {
        // As Traefik: the default options defined by several providers are used by none, so
        // every router that relies on them fails (closed) instead of picking one at random.
        let reason = format!(
            "defined by several providers ({}); no default TLS options",
            default_providers.join(", ")
        );
        issues.push(
            ConfigIssue::new(Element::Tls, DEFAULT_TLS_OPTIONS, reason.clone()).with_key("options"),
        );
        out.tls.options.remove(DEFAULT_TLS_OPTIONS);
        out.invalid
            .tls_options
            .insert(DEFAULT_TLS_OPTIONS.to_string(), reason);
    }
    (out, issues)
}

/// A router's `tls.options` reference, qualified like the options it names (empty: `default`).
fn qualify_router_tls(router: &mut crate::config::dynamic::RouterConfig, provider: &str) {
    if let Some(options) = router.tls.as_mut().and_then(|t| t.options.as_mut()) {
        *options = if options.is_empty() {
            DEFAULT_TLS_OPTIONS.to_string()
        } else {
            qualify_tls_options(options, provider)
        };
    }
}

/// The name of the TLS options every TLS router without its own uses.
pub const DEFAULT_TLS_OPTIONS: &str = "default";

/// A `tls.options` name as the merged configuration holds it: `default` stays `default`
/// (whichever provider defines it replaces Traefik's defaults), others become `name@provider`.
pub fn qualify_tls_options(name: &str, provider: &str) -> String {
    if name == DEFAULT_TLS_OPTIONS {
        name.to_string()
    } else {
        qualify(name, provider)
    }
}

/// Carries a provider's invalid elements over, qualified like the good ones, so their users
/// fail closed across providers too.
fn merge_invalid(out: &mut DynamicConfig, cfg: &DynamicConfig, provider: &str) {
    let q = |name: &str| qualify(name, provider);
    let (to, from) = (&mut out.invalid, &cfg.invalid);
    for (name, (router, reason)) in &from.routers {
        let mut router = router.clone();
        if !router.service.is_empty() {
            router.service = q(&router.service);
        }
        router.middlewares = router.middlewares.iter().map(|m| q(m)).collect();
        qualify_router_tls(&mut router, provider);
        to.routers.insert(q(name), (router, reason.clone()));
    }
    for (from, to) in [
        (&from.middlewares, &mut to.middlewares),
        (&from.services, &mut to.services),
        (&from.servers_transports, &mut to.servers_transports),
    ] {
        for (name, reason) in from {
            to.insert(q(name), reason.clone());
        }
    }
    for (name, reason) in &from.tls_options {
        to.tls_options
            .insert(qualify_tls_options(name, provider), reason.clone());
    }
}

/// A provider's `udp:` section, qualified like the HTTP elements (routers' services too), its
/// invalid elements included.
fn merge_udp(
    out: &mut DynamicConfig,
    cfg: &DynamicConfig,
    provider: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    let q = |name: &str| qualify(name, provider);
    let mut own = |element: Element, name: &str| {
        if name.contains('@') {
            issues.push(
                ConfigIssue::new(element, name, "names must not contain '@'").with_origin(provider),
            );
            None
        } else {
            Some(q(name))
        }
    };
    let (to, from) = (&mut out.udp, &cfg.udp);
    for (name, router) in &from.routers {
        if let Some(qualified) = own(Element::UdpRouter, name) {
            let mut router = router.clone();
            router.service = q(&router.service);
            to.routers.insert(qualified, router);
        }
    }
    for (name, service) in &from.services {
        if let Some(qualified) = own(Element::UdpService, name) {
            let mut service = service.clone();
            if let Some(weighted) = &mut service.weighted {
                for child in &mut weighted.services {
                    child.name = q(&child.name);
                }
            }
            to.services.insert(qualified, service);
        }
    }
    for (name, (router, reason)) in &from.invalid.routers {
        let mut router = router.clone();
        if !router.service.is_empty() {
            router.service = q(&router.service);
        }
        to.invalid.routers.insert(q(name), (router, reason.clone()));
    }
    for (name, reason) in &from.invalid.services {
        to.invalid.services.insert(q(name), reason.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dynamic::{RouterConfig, ServiceConfig};

    #[test]
    fn qualifies_names_and_references() {
        let mut file = DynamicConfig::default();
        file.http.routers.insert(
            "api".into(),
            RouterConfig {
                rule: "PathPrefix(`/api`)".into(),
                service: "api".into(),
                middlewares: vec!["strip".into(), "auth@swarm".into()],
                ..Default::default()
            },
        );
        file.http
            .services
            .insert("api".into(), ServiceConfig::default());
        let mut swarm = DynamicConfig::default();
        swarm.http.routers.insert(
            "bad@x".into(),
            RouterConfig {
                rule: "Path(`/`)".into(),
                service: "s".into(),
                ..Default::default()
            },
        );
        let (merged, issues) = merge([("file", &file), ("swarm", &swarm)]);
        let router = &merged.http.routers["api@file"];
        assert_eq!(router.service, "api@file");
        assert_eq!(router.middlewares, ["strip@file", "auth@swarm"]);
        assert!(merged.http.services.contains_key("api@file"));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].name, "bad@x");
        assert_eq!(merged.http.routers.len(), 1);
    }

    #[test]
    fn tls_options_are_qualified_but_default_stays_default() {
        use crate::config::dynamic::{RouterTlsConfig, TlsOptionsConfig};
        let with_options = |names: &[&str], reference: Option<&str>| {
            let mut cfg = DynamicConfig::default();
            for name in names {
                cfg.tls
                    .options
                    .insert(name.to_string(), TlsOptionsConfig::default());
            }
            cfg.http.routers.insert(
                "r".into(),
                RouterConfig {
                    rule: "Host(`a.test`)".into(),
                    service: "s".into(),
                    tls: Some(RouterTlsConfig {
                        options: reference.map(str::to_string),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            );
            cfg
        };
        let file = with_options(&["default", "modern"], Some("modern"));
        let swarm = with_options(&[], Some("modern@file"));
        let empty = with_options(&[], Some(""));
        let (merged, issues) = merge([("file", &file), ("swarm", &swarm), ("static", &empty)]);
        assert!(issues.is_empty(), "{issues:?}");
        let options = |r: &str| merged.http.routers[r].tls.as_ref().unwrap().options.clone();
        assert_eq!(options("r@file").as_deref(), Some("modern@file"));
        assert_eq!(options("r@swarm").as_deref(), Some("modern@file"));
        assert_eq!(options("r@static").as_deref(), Some("default"));
        let names: Vec<&str> = merged.tls.options.keys().map(String::as_str).collect();
        assert_eq!(names, ["default", "modern@file"]);
        // `default` from two providers: neither is used, and the routers that need it fail.
        let other = with_options(&["default"], None);
        let (merged, issues) = merge([("file", &file), ("swarm", &other)]);
        assert!(!merged.tls.options.contains_key("default"));
        assert!(merged.invalid.tls_options["default"].contains("file, swarm"));
        assert!(issues.iter().any(|i| i.name == "default"));
    }

    #[test]
    fn udp_names_and_references_are_qualified() {
        use crate::config::udp::UdpWeightedServiceRef;
        use crate::config::udp::{UdpRouterConfig, UdpServiceConfig, UdpWeightedConfig};
        let mut file = DynamicConfig::default();
        file.udp.routers.insert(
            "dns".into(),
            UdpRouterConfig {
                entry_points: vec!["dns".into()],
                service: "split".into(),
            },
        );
        let child = |name: &str| UdpWeightedServiceRef {
            name: name.into(),
            weight: None,
        };
        file.udp.services.insert(
            "split".into(),
            UdpServiceConfig {
                load_balancer: None,
                weighted: Some(UdpWeightedConfig {
                    services: vec![child("a"), child("b@swarm")],
                }),
            },
        );
        file.udp
            .invalid
            .services
            .insert("bad".into(), "cannot be read".into());
        let (merged, issues) = merge([("file", &file)]);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(merged.udp.routers["dns@file"].service, "split@file");
        let children: Vec<&str> = merged.udp.services["split@file"]
            .weighted
            .as_ref()
            .unwrap()
            .services
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(children, ["a@file", "b@swarm"]);
        assert!(merged.udp.invalid.services.contains_key("bad@file"));
    }
}
