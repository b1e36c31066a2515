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
        Element::Router | Element::Service | Element::Middleware | Element::ServersTransport
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
            out.http.routers.insert(qualified, router);
        }
        for (name, service) in &cfg.http.services {
            let Some(qualified) = own_name(Element::Service, name) else {
                continue;
            };
            let mut service = service.clone();
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
            if let crate::middleware::MiddlewareConfig::Chain(chain) = &mut middleware {
                chain.middlewares = chain.middlewares.iter().map(|m| q(m)).collect();
            }
            if let crate::middleware::MiddlewareConfig::Errors(errors) = &mut middleware {
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
            out.tls
                .options
                .entry(qualify(name, provider))
                .or_insert_with(|| options.clone());
        }
    }
    (out, issues)
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
        to.routers.insert(q(name), (router, reason.clone()));
    }
    for (from, to) in [
        (&from.middlewares, &mut to.middlewares),
        (&from.services, &mut to.services),
        (&from.servers_transports, &mut to.servers_transports),
        (&from.tls_options, &mut to.tls_options),
    ] {
        for (name, reason) in from {
            to.insert(q(name), reason.clone());
        }
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
}
