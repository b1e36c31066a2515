//! The configuration issues `app` reports before and after a compile: entrypoints that cannot be
//! bound, references to elements that do not exist, wildcards without DNS-01, `dnsChallenge`
//! setups that would stop `run`, and `check`/`check --stack`, which load every provider once and
//! return every issue. Moved out of `app.rs` as is.

use super::*;

/// What makes an entrypoint unusable before anything is bound: an address that does not parse,
/// a `udp.timeout` of zero on a UDP entrypoint.
pub(super) fn static_entrypoint_issue(
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
) -> Option<ConfigIssue> {
    let issue = |message: String| {
        Some(
            ConfigIssue::new(crate::config::Element::EntryPoint, name, message).with_key("address"),
        )
    };
    if ep.is_udp() {
        if let Err(e) = ep.udp_timeout() {
            return Some(
                ConfigIssue::new(
                    crate::config::Element::EntryPoint,
                    name,
                    format!("{e}; entrypoint not started"),
                )
                .with_key("udp.timeout"),
            );
        }
    }
    if let Err(e) = crate::proxy::entrypoint::parse_address(&ep.address) {
        return issue(format!(
            "address {:?} is not an address: {e}; entrypoint not started",
            ep.address
        ));
    }
    None
}

/// Problems `check` can know before deploy for the entrypoints: each unusable entrypoint, and
/// two TCP entrypoints that would listen on the same port of overlapping addresses (the second
/// would fail to bind).
pub fn entrypoint_issues(cfg: &StaticConfig) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    let mut listening: Vec<(&str, (SocketAddr, bool))> = Vec::new();
    for (name, ep) in &cfg.entry_points {
        if let Some(found) = static_entrypoint_issue(name, ep) {
            out.push(found);
            continue;
        }
        let issue = |key: &str, message: String| {
            ConfigIssue::new(crate::config::Element::EntryPoint, name.as_str(), message)
                .with_key(key)
        };
        if let Err(e) = forwarded_policy(ep.forwarded_headers.as_ref()) {
            out.push(issue(
                "forwardedHeaders.trustedIPs",
                format!("{e:#}; entrypoint not started"),
            ));
        }
        if let Err(e) = crate::proxy::EdgeHooks::for_entrypoint(cfg, name, None) {
            out.push(issue(
                "http.redirections",
                format!("{e}; entrypoint not started"),
            ));
        }
        let Ok(addr) = crate::proxy::entrypoint::parse_address(&ep.address) else {
            continue;
        };
        if addr.port() == 0 {
            continue;
        }
        // A TCP and a UDP entrypoint may share a port (`:53` and `:53/udp`).
        let udp = ep.is_udp();
        let overlapping = |(other, other_udp): &(SocketAddr, bool)| {
            *other_udp == udp
                && other.port() == addr.port()
                && (other.ip() == addr.ip()
                    || other.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        };
        if let Some((first, (other, _))) = listening.iter().find(|(_, other)| overlapping(other)) {
            out.push(issue(
                "address",
                format!(
                    "{:?} ({addr}) is also the address of entrypoint {first:?} ({other}): only one can listen there, so this one will not start",
                    ep.address
                ),
            ));
        }
        listening.push((name.as_str(), (addr, udp)));
    }
    out
}

/// References from the dynamic configuration (and entrypoints) into the static one, and between
/// the static options, that `table::compile` cannot see: a router's or entrypoint's
/// `tls.certResolver` that no `certificatesResolvers` defines, an ACME `httpChallenge.entryPoint`
/// that is no entrypoint (a router's `tls.options` that do not exist are the compiler's: it
/// closes the router). Shared by `check` and every compile of `run`, so both report the same.
pub fn reference_issues(cfg: &StaticConfig, merged: &DynamicConfig) -> Vec<ConfigIssue> {
    use crate::config::Element;
    let mut out = Vec::new();
    let resolvers = || {
        let names: Vec<&str> = cfg
            .certificates_resolvers
            .keys()
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            "none is defined".to_string()
        } else {
            format!("defined: {}", names.join(", "))
        }
    };
    for (name, ep) in &cfg.entry_points {
        let tls = ep.http.as_ref().and_then(|h| h.tls.as_ref());
        if let Some(r) = tls.and_then(|t| t.cert_resolver.as_deref()) {
            if !r.is_empty() && !cfg.certificates_resolvers.contains_key(r) {
                out.push(
                    ConfigIssue::new(
                        Element::EntryPoint,
                        name.as_str(),
                        format!(
                            "certificate resolver {r:?} does not exist ({}): no certificate is requested for it",
                            resolvers()
                        ),
                    )
                    .with_key("http.tls.certResolver"),
                );
            }
        }
    }
    for (name, resolver) in &cfg.certificates_resolvers {
        let challenge = resolver
            .acme
            .as_ref()
            .and_then(|a| a.http_challenge.as_ref());
        if let Some(ch) = challenge {
            if !cfg.entry_points.contains_key(&ch.entry_point) {
                out.push(
                    ConfigIssue::new(
                        Element::Static,
                        format!("certificatesResolvers.{name}"),
                        format!(
                            "httpChallenge.entryPoint {:?} is not an entrypoint (entrypoints: {}): the HTTP-01 challenge cannot be answered",
                            ch.entry_point,
                            cfg.entry_points.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .with_key("acme.httpChallenge.entryPoint"),
                );
            }
        }
    }
    for (name, router) in &merged.http.routers {
        let Some(tls) = &router.tls else {
            continue;
        };
        if let Some(r) = tls.cert_resolver.as_deref() {
            if !r.is_empty() && !cfg.certificates_resolvers.contains_key(r) {
                out.push(
                    ConfigIssue::new(
                        Element::Router,
                        name.as_str(),
                        format!(
                            "certificate resolver {r:?} does not exist ({}): no certificate is requested for its domains",
                            resolvers()
                        ),
                    )
                    .with_key("tls.certResolver"),
                );
            }
            if let Some(issue) = wildcard_issue(cfg, r, &tls.domains) {
                out.push(
                    ConfigIssue::new(Element::Router, name.as_str(), issue).with_key("tls.domains"),
                );
            }
        }
    }
    for (name, ep) in &cfg.entry_points {
        let Some(tls) = ep.http.as_ref().and_then(|h| h.tls.as_ref()) else {
            continue;
        };
        if let Some(r) = tls.cert_resolver.as_deref() {
            if let Some(issue) = wildcard_issue(cfg, r, &tls.domains) {
                out.push(
                    ConfigIssue::new(Element::EntryPoint, name.as_str(), issue)
                        .with_key("http.tls.domains"),
                );
            }
        }
    }
    out
}

/// A wildcard domain asked of a resolver without `dnsChallenge`: only DNS-01 proves a wildcard
/// (RFC 8555 §7.1.3), so no certificate is ordered for it (`tls::acme::Manager::want`).
pub(super) fn wildcard_issue(
    cfg: &StaticConfig,
    resolver: &str,
    domains: &[crate::config::dynamic::TlsDomain],
) -> Option<String> {
    let acme = cfg.certificates_resolvers.get(resolver)?.acme.as_ref()?;
    if acme.dns_challenge.is_some() {
        return None;
    }
    let wildcard = domains
        .iter()
        .flat_map(|d| std::iter::once(&d.main).chain(&d.sans))
        .find(|n| n.starts_with("*."))?;
    let has = if acme.http_challenge.is_some() {
        "httpChallenge"
    } else {
        "tlsChallenge"
    };
    Some(format!(
        "wildcard domain {wildcard:?} needs a DNS-01 challenge, but certificate resolver {resolver:?} has only {has} (add certificatesResolvers.{resolver}.acme.dnsChallenge): no certificate is requested for these domains"
    ))
}

/// `dnsChallenge` setups that would stop `run` (unknown provider, missing or malformed
/// variable), read from `env` as `run` reads the process environment.
pub(super) fn dns_challenge_issues(
    cfg: &StaticConfig,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Vec<ConfigIssue> {
    let env = crate::tls::acme::dns::Env::new(env);
    cfg.certificates_resolvers
        .iter()
        .filter_map(|(name, r)| Some((name, r.acme.as_ref()?.dns_challenge.as_ref()?)))
        .filter_map(|(name, dns)| {
            let error = crate::tls::acme::dns::Dns01::new(dns, &env).err()?;
            Some(
                ConfigIssue::new(
                    crate::config::Element::Static,
                    format!("certificatesResolvers.{name}"),
                    format!("{error}: swarmgate does not start"),
                )
                .with_key("acme.dnsChallenge"),
            )
        })
        .collect()
}

/// Loads every provider once, merges and compiles, and returns every issue (for `swarmgate check`).
pub fn check(cfg: &StaticConfig, base: &std::path::Path) -> Vec<ConfigIssue> {
    check_with(cfg, base, None)
}

/// [`check`], with the Swarm provider's configuration given offline (`check --stack`).
pub fn check_with(
    cfg: &StaticConfig,
    base: &std::path::Path,
    swarm: Option<DynamicConfig>,
) -> Vec<ConfigIssue> {
    let mut snapshots: Vec<(&str, DynamicConfig)> = Vec::new();
    let mut issues = entrypoint_issues(cfg);
    if let Err(problem) = metric_pushers(cfg) {
        // `run` refuses to start on it (fail closed).
        issues.push(
            ConfigIssue::new(
                crate::config::Element::Static,
                "metrics",
                format!("{problem}; swarmgate does not start"),
            )
            .with_key("metrics"),
        );
    }
    if let Err(problem) = crate::observe::otel::Tracer::from_config(cfg, &[]) {
        // `run` refuses to start on it (fail closed: no half-configured tracing).
        issues.push(
            ConfigIssue::new(
                crate::config::Element::Static,
                "tracing",
                format!("{problem}; swarmgate does not start"),
            )
            .with_key("tracing"),
        );
    }
    issues.extend(dns_challenge_issues(cfg, &|k| std::env::var(k).ok()));
    let qualify = crate::config::merge::qualify_issue;
    if let Some(dynamic) = inline_dynamic(cfg) {
        issues.extend(
            dynamic
                .invalid
                .issues
                .iter()
                .map(|i| qualify(i.clone(), "static")),
        );
        snapshots.push(("static", dynamic));
    }
    if let Some(file_cfg) = &cfg.providers.file {
        let (config, found) = FileProvider::new(file_cfg, base, check_middleware).load();
        issues.extend(found.into_iter().map(|i| qualify(i, "file")));
        snapshots.push(("file", config));
    }
    if let Some(swarm) = swarm {
        snapshots.push(("swarm", swarm));
    }
    snapshots.push(("internal", crate::admin::internal::internal_config(cfg)));
    let (mut merged, merge_issues) = merge(snapshots.iter().map(|(n, c)| (*n, c)));
    merged.apply_default_entrypoints(&default_entrypoints(cfg));
    merged.apply_default_rule_syntax(cfg.default_rule_syntax());
    issues.extend(merge_issues);
    issues.extend(crate::tls::runtime::check_options(&mut merged));
    let infos = entrypoint_infos(cfg);
    let ctx = CompileContext {
        entrypoints: &infos,
        endpoints: &EndpointRegistry::default(),
        pools: &PoolRegistry::default(),
        transports: &TransportRegistry::default(),
        default_transport: &cfg.servers_transport,
        breakers: &BreakerRegistry::default(),
    };
    let compiled = compile(&merged, &ctx);
    for issue in compiled.issues {
        if !issues
            .iter()
            .any(|i: &ConfigIssue| i.element == issue.element && i.message == issue.message)
        {
            issues.push(issue);
        }
    }
    issues.extend(compile_udp(cfg, &merged, &Default::default()).1);
    issues.extend(reference_issues(cfg, &merged));
    issues.extend(crate::proxy::tcp::compile(&merged, &infos).1);
    issues
}
