//! compile() and lookup(): priority order, overlapping routers, entrypoints, TLS, bad elements.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::balance::EndpointRegistry;
use crate::config::dynamic::{RouterConfig, RouterTlsConfig, ServiceConfig};
use crate::config::{DynamicConfig, Element};
use crate::upstream::{PoolRegistry, TransportRegistry};

fn router(rule: &str, priority: Option<i64>) -> RouterConfig {
    RouterConfig {
        rule: rule.into(),
        service: "demo@internal".into(),
        priority,
        ..Default::default()
    }
}

fn build(routers: &[(&str, RouterConfig)], entrypoints: &[EntryPointInfo]) -> Compiled {
    let mut cfg = DynamicConfig::default();
    for (name, r) in routers {
        cfg.http.routers.insert(name.to_string(), r.clone());
    }
    build_cfg(&cfg, entrypoints)
}

/// Compiles `cfg` as the app does after merging: routers without `entryPoints` are on every
/// one of `entrypoints` (all of them default ones here).
fn build_cfg(cfg: &DynamicConfig, entrypoints: &[EntryPointInfo]) -> Compiled {
    let mut cfg = cfg.clone();
    let names: Vec<String> = entrypoints.iter().map(|ep| ep.name.clone()).collect();
    cfg.apply_default_entrypoints(&names);
    let (endpoints, pools, transports) = (
        EndpointRegistry::default(),
        PoolRegistry::default(),
        TransportRegistry::default(),
    );
    let default_transport = Default::default();
    let ctx = CompileContext {
        entrypoints,
        endpoints: &endpoints,
        pools: &pools,
        transports: &transports,
        default_transport: &default_transport,
        breakers: &Default::default(),
    };
    compile(&cfg, &ctx)
}

fn web() -> Vec<EntryPointInfo> {
    vec![EntryPointInfo {
        name: "web".into(),
        ..Default::default()
    }]
}

fn matched<'t>(table: &'t RoutingTable, tls: bool, host: &str, path: &str) -> Option<&'t str> {
    let headers = http::HeaderMap::new();
    let view = crate::rules::RequestView {
        host,
        path,
        query: None,
        method: &http::Method::GET,
        headers: &headers,
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    table.lookup(0, tls, &view).map(|r| r.name.as_str())
}

#[test]
fn longer_rules_win_and_explicit_priority_overrides_length() {
    let c = build(
        &[
            ("catchall", router("PathPrefix(`/`)", None)),
            ("api", router("PathPrefix(`/api`)", None)),
            (
                "host-api",
                router("Host(`a.com`) && PathPrefix(`/api`)", None),
            ),
            ("host", router("Host(`a.com`)", None)),
            ("urgent", router("Path(`/api/urgent`)", Some(1000))),
        ],
        &web(),
    );
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    let t = &c.table;
    assert_eq!(matched(t, false, "a.com", "/api/x"), Some("host-api"));
    // `Host(`a.com`)` and `PathPrefix(`/`)` are both 15 long: equal priorities break by name.
    assert_eq!(matched(t, false, "a.com", "/other"), Some("catchall"));
    assert_eq!(matched(t, false, "b.com", "/api/x"), Some("api"));
    assert_eq!(matched(t, false, "b.com", "/z"), Some("catchall"));
    assert_eq!(matched(t, false, "a.com", "/api/urgent"), Some("urgent"));
    assert_eq!(matched(t, false, "b.com", "/api/urgent"), Some("urgent"));
}

#[test]
fn host_less_router_with_higher_priority_beats_host_router() {
    let c = build(
        &[
            ("host", router("Host(`a.com`)", Some(10))),
            ("maintenance", router("PathPrefix(`/`)", Some(100))),
        ],
        &web(),
    );
    assert_eq!(matched(&c.table, false, "a.com", "/"), Some("maintenance"));
}

#[test]
fn priority_zero_means_rule_length() {
    let c = build(
        &[
            ("short", router("Path(`/a`)", Some(0))),
            ("long", router("PathPrefix(`/a`)", None)),
        ],
        &web(),
    );
    assert_eq!(matched(&c.table, false, "x", "/a"), Some("long"));
}

#[test]
fn or_hosts_are_indexed_under_each_host() {
    let c = build(
        &[("both", router("Host(`a.com`) || Host(`b.com`)", None))],
        &web(),
    );
    assert_eq!(matched(&c.table, false, "a.com", "/"), Some("both"));
    assert_eq!(matched(&c.table, false, "b.com", "/"), Some("both"));
    assert_eq!(matched(&c.table, false, "c.com", "/"), None);
}

/// Traefik issue-16 point 5: a trailing dot on either side, an IPv6 literal, and wildcard /
/// regex / catch-all routers beside host buckets for the same name.
#[test]
fn host_buckets_follow_traefik_host_matching() {
    let c = build(
        &[
            ("exact", router("Host(`example.com`)", None)),
            ("dotted", router("Host(`dotted.com.`)", None)),
            ("v6", router("Host(`10::10`)", None)),
            ("wild", router("Host(`*.example.com`)", None)),
            (
                "wild-pinned",
                router("Host(`a.example.com`) && Path(`/pinned`)", None),
            ),
            ("regex", router("HostRegexp(`^b\\.example\\.com$`)", None)),
            ("all", router("Host(`*`) && PathPrefix(`/all`)", None)),
            ("catchall", router("PathPrefix(`/`)", Some(1))),
        ],
        &web(),
    );
    let t = &c.table;
    let host = |authority: &str, path: &str| {
        let h = crate::rules::routing_host(authority).to_ascii_lowercase();
        matched(t, false, &h, path).map(str::to_owned)
    };
    assert_eq!(host("example.com.", "/").as_deref(), Some("exact"));
    assert_eq!(host("example.com.:80", "/").as_deref(), Some("exact"));
    assert_eq!(host("EXAMPLE.com", "/").as_deref(), Some("exact"));
    assert_eq!(host("dotted.com", "/").as_deref(), Some("dotted"));
    assert_eq!(host("dotted.com.", "/").as_deref(), Some("dotted"));
    assert_eq!(host("[10::10]", "/").as_deref(), Some("v6"));
    assert_eq!(host("[10::10]:8080", "/").as_deref(), Some("v6"));
    // a.example.com has its own bucket: the wildcard, regex and catch-all routers are in it too.
    assert_eq!(
        host("a.example.com", "/pinned").as_deref(),
        Some("wild-pinned")
    );
    assert_eq!(host("a.example.com", "/").as_deref(), Some("wild"));
    assert_eq!(host("a.example.com.", "/").as_deref(), Some("wild"));
    // Longer rules first (Traefik priority): the regex router outranks the wildcard.
    assert_eq!(host("b.example.com", "/").as_deref(), Some("regex"));
    assert_eq!(host("c.example.com", "/").as_deref(), Some("wild"));
    assert_eq!(host("example.com", "/all").as_deref(), Some("all"));
    assert_eq!(host("other.org", "/all").as_deref(), Some("all"));
    assert_eq!(host("", "/all").as_deref(), Some("all"));
    assert_eq!(host("other.org", "/").as_deref(), Some("catchall"));
}

#[test]
fn routers_bind_to_their_entrypoints_and_tls_mode() {
    let eps = vec![
        EntryPointInfo {
            name: "web".into(),
            ..Default::default()
        },
        EntryPointInfo {
            name: "websecure".into(),
            default_tls: Some(RouterTlsConfig::default()),
            ..Default::default()
        },
    ];
    let mut only_secure = router("PathPrefix(`/s`)", None);
    only_secure.entry_points = vec!["websecure".into()];
    let mut tls = router("PathPrefix(`/t`)", None);
    tls.tls = Some(RouterTlsConfig::default());
    let c = build(
        &[
            ("all", router("PathPrefix(`/`)", None)),
            ("s", only_secure),
            ("t", tls),
        ],
        &eps,
    );
    let t = &c.table;
    let on = |ep: usize, tls: bool, path: &str| {
        let headers = http::HeaderMap::new();
        let view = crate::rules::RequestView {
            host: "x",
            path,
            query: None,
            method: &http::Method::GET,
            headers: &headers,
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        t.lookup(ep, tls, &view).map(|r| r.name.clone())
    };
    assert_eq!(
        on(0, false, "/s").as_deref(),
        Some("all"),
        "s is not on web"
    );
    assert_eq!(on(1, true, "/s").as_deref(), Some("s"));
    assert_eq!(
        on(1, false, "/s"),
        None,
        "websecure routers are TLS routers"
    );
    assert_eq!(
        on(0, false, "/t").as_deref(),
        Some("all"),
        "a tls router is not a plain route"
    );
    assert_eq!(on(0, true, "/t").as_deref(), Some("t"));
}

#[test]
fn a_bad_router_is_reported_and_the_rest_compiles() {
    let mut missing_service = router("PathPrefix(`/m`)", None);
    missing_service.service = "nowhere".into();
    let mut missing_mw = router("PathPrefix(`/w`)", None);
    missing_mw.middlewares = vec!["ghost".into()];
    let mut bad_ep = router("PathPrefix(`/e`)", None);
    bad_ep.entry_points = vec!["nope".into()];
    let c = build(
        &[
            ("good", router("PathPrefix(`/`)", None)),
            ("bad-rule", router("PathPrefix(`/x`", None)),
            ("missing-service", missing_service),
            ("missing-mw", missing_mw),
            ("bad-ep", bad_ep),
        ],
        &web(),
    );
    let names: Vec<&str> = c.issues.iter().map(|i| i.name.as_str()).collect();
    for bad in ["bad-rule", "missing-service", "missing-mw", "bad-ep"] {
        assert!(names.contains(&bad), "{bad} reported: {names:?}");
    }
    assert!(c.issues.iter().all(|i| i.element == Element::Router));
    // A router that cannot be built holds its rule as a closed route (503), so `/m` and `/w`
    // never fall through to `good`; a bad rule or no entrypoint has nothing to hold.
    let names: Vec<&str> = c.table.routes.keys().map(String::as_str).collect();
    assert_eq!(names, ["good", "missing-mw", "missing-service"]);
    assert_eq!(matched(&c.table, false, "x", "/m"), Some("missing-service"));
    assert_eq!(matched(&c.table, false, "x", "/w"), Some("missing-mw"));
    assert_eq!(matched(&c.table, false, "x", "/x"), Some("good"));
    for closed in ["missing-mw", "missing-service"] {
        let route = &c.table.routes[closed];
        assert!(route.closed.is_some(), "{closed}");
        assert!(route.middlewares.is_empty());
        assert!(matches!(&*route.service, Service::Closed(_)));
        let issue = c.issues.iter().find(|i| i.name == closed).unwrap();
        assert!(issue.message.contains("router closed"), "{issue}");
    }
    assert!(c.table.routes["good"].closed.is_none());
}

#[test]
fn chains_flatten_in_order_and_cycles_are_reported() {
    let yaml = r#"
http:
  routers:
    r:
      rule: "PathPrefix(`/`)"
      service: demo@internal
      middlewares: [outer]
    loop:
      rule: "PathPrefix(`/loop`)"
      service: demo@internal
      middlewares: [a]
  middlewares:
    outer:
      chain:
        middlewares: [strip, add]
    strip:
      stripPrefix:
        prefixes: [/x]
    add:
      addPrefix:
        prefix: /y
    a:
      chain:
        middlewares: [b]
    b:
      chain:
        middlewares: [a]
"#;
    let cfg: DynamicConfig = crate::config::yaml::from_yaml(yaml).unwrap();
    let c = build_cfg(&cfg, &web());
    let r = &c.table.routes["r"];
    let kinds: Vec<&str> = r.middlewares.iter().map(|m| m.kind()).collect();
    assert_eq!(kinds, ["stripPrefix", "addPrefix"]);
    let issue = c
        .issues
        .iter()
        .find(|i| i.name == "loop")
        .expect("cycle reported");
    assert!(issue.message.contains("cycle"), "{}", issue.message);
}

#[test]
fn a_bad_service_disables_only_the_routers_using_it() {
    let mut cfg = DynamicConfig::default();
    cfg.http
        .routers
        .insert("ok".into(), router("PathPrefix(`/`)", None));
    let mut uses_bad = router("PathPrefix(`/b`)", None);
    uses_bad.service = "bad".into();
    cfg.http.routers.insert("uses-bad".into(), uses_bad);
    cfg.http.services.insert(
        "bad".into(),
        ServiceConfig {
            load_balancer: Some(crate::config::dynamic::LoadBalancerConfig {
                servers: vec![crate::config::dynamic::ServerConfig::new("ftp://nope")],
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let c = build_cfg(&cfg, &web());
    assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    assert_eq!(c.issues[0].name, "uses-bad");
    assert!(
        c.issues[0].message.contains("scheme"),
        "{}",
        c.issues[0].message
    );
    assert!(c.table.routes.contains_key("ok"));
}

#[test]
fn weighted_cycles_are_reported() {
    let yaml = r#"
http:
  routers:
    r:
      rule: "PathPrefix(`/`)"
      service: a
  services:
    a:
      weighted:
        services: [{name: b}]
    b:
      weighted:
        services: [{name: a}]
"#;
    let cfg: DynamicConfig = crate::config::yaml::from_yaml(yaml).unwrap();
    let c = build_cfg(&cfg, &web());
    assert!(c.table.routes["r"].closed.is_some(), "held closed");
    assert!(
        c.issues[0].message.contains("cycle"),
        "{}",
        c.issues[0].message
    );
}

fn with_middleware(cfg: &mut DynamicConfig, router_name: &str, rule: &str, mw: &str) {
    let mut r = router(rule, None);
    r.middlewares = vec![mw.to_string()];
    cfg.http.routers.insert(router_name.to_string(), r);
}

#[test]
fn circuit_breakers_are_per_router_and_a_bad_one_disables_its_routers() {
    let mut cfg = DynamicConfig::default();
    let breaker = |expr: &str| -> crate::middleware::MiddlewareConfig {
        serde_json::from_value(serde_json::json!({"circuitBreaker": {"expression": expr}})).unwrap()
    };
    cfg.http
        .middlewares
        .insert("cb".into(), breaker("NetworkErrorRatio() > 0.5"));
    cfg.http
        .middlewares
        .insert("bad".into(), breaker("NetworkErrorRatio() >"));
    with_middleware(&mut cfg, "a", "PathPrefix(`/a`)", "cb");
    with_middleware(&mut cfg, "b", "PathPrefix(`/b`)", "cb");
    with_middleware(&mut cfg, "c", "PathPrefix(`/c`)", "bad");
    cfg.http
        .routers
        .insert("d".into(), router("PathPrefix(`/d`)", None));
    let out = build_cfg(&cfg, &web());
    let names: Vec<_> = out.table.routes.keys().cloned().collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert!(out.table.routes["c"].closed.is_some(), "c is held closed");
    assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
    let issue = &out.issues[0];
    assert_eq!((issue.element, issue.name.as_str()), (Element::Router, "c"));
    assert!(issue.message.contains("column 22"), "{}", issue.message);
    // Routers a and b each have their own breaker state.
    let a = &out.table.routes["a"].middlewares[0];
    let b = &out.table.routes["b"].middlewares[0];
    assert!(!Arc::ptr_eq(a, b));
}

#[test]
fn a_v2_regexp_group_is_served_with_a_warning() {
    let c = build(
        &[("css", router("PathRegexp(`^/{path:css}$`)", None))],
        &web(),
    );
    assert_eq!(matched(&c.table, false, "a", "/{path:css}"), Some("css"));
    assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    let issue = &c.issues[0];
    assert!(issue.warning && issue.name == "css" && issue.key.as_deref() == Some("rule"));
    assert!(issue.message.contains("Traefik v2"), "{}", issue.message);
}

#[test]
fn tls_options_close_routers_and_select_handshakes_by_sni() {
    let cfg: DynamicConfig = serde_yaml::from_str(
        r#"
http:
  routers:
    strong: { rule: "Host(`strong.test`)", service: demo@internal, tls: { options: mtls@file } }
    weak: { rule: "Host(`weak.test`)", service: demo@internal, tls: {} }
    missing: { rule: "Host(`missing.test`)", service: demo@internal, tls: { options: nosuch@file } }
    broken: { rule: "Host(`broken.test`)", service: demo@internal, tls: { options: bad@file } }
    c1: { rule: "Host(`both.test`) && Path(`/a`)", service: demo@internal, tls: { options: mtls@file } }
    c2: { rule: "Host(`both.test`)", service: demo@internal, tls: {} }
    nohost: { rule: "PathPrefix(`/n`)", service: demo@internal, tls: { options: mtls@file } }
tls:
  options:
    mtls@file: { sniStrict: true }
"#,
    )
    .unwrap();
    let mut cfg = cfg;
    cfg.invalid
        .tls_options
        .insert("bad@file".into(), "cipherSuites: nope".into());
    let c = build_cfg(&cfg, &web());
    let mtls = tls_options::key("mtls@file", cfg.tls.options.get("mtls@file"));
    let default = tls_options::key("default", None);
    // Missing or invalid options: closed route, reason in the issue.
    for (name, reason) in [("missing", "do not exist"), ("broken", "are invalid")] {
        assert!(c.table.routes[name].closed.is_some(), "{name}");
        let issue = c.issues.iter().find(|i| i.name == name).unwrap();
        assert!(
            issue.message.contains(reason) && issue.message.contains("router closed"),
            "{issue}"
        );
    }
    assert_eq!(c.table.routes["strong"].tls_options, mtls);
    assert_eq!(c.table.routes["weak"].tls_options, default);
    // A router without Host keeps its own options (421 through any other).
    assert_eq!(c.table.routes["nohost"].tls_options, mtls);
    let sni = &c.sni[0];
    let name = |host: &str| sni.hosts[host].as_ref().map(|o| o.name.as_str());
    assert_eq!(name("strong.test"), Some("mtls@file"));
    assert_eq!(name("weak.test"), Some("default"));
    assert_eq!(name("missing.test"), None);
    assert_eq!(name("broken.test"), None);
    // Two routers, one host, different options: the host's handshakes are refused.
    assert_eq!(name("both.test"), None);
    for router in ["c1", "c2"] {
        assert!(c
            .issues
            .iter()
            .any(|i| i.name == router && i.message.contains("different TLS options")));
    }
    assert_eq!(sni.default.as_ref().map(|o| o.key), Some(default));
    // Invalid default options: unknown SNIs are refused too.
    cfg.invalid
        .tls_options
        .insert("default".into(), "bad".into());
    let c = build_cfg(&cfg, &web());
    assert!(c.sni[0].default.is_none());
    assert!(c.table.routes["weak"].closed.is_some());
}

#[test]
fn entrypoint_tls_options_are_qualified_with_the_router_provider() {
    let cfg: DynamicConfig = serde_yaml::from_str(
        r#"
http:
  routers:
    r@swarm: { rule: "Host(`r.test`)", service: demo@internal }
    own@swarm: { rule: "Host(`own.test`)", service: demo@internal, tls: {} }
tls:
  options:
    modern@swarm: { minVersion: VersionTLS13 }
"#,
    )
    .unwrap();
    let eps = vec![EntryPointInfo {
        name: "websecure".into(),
        default_tls: Some(RouterTlsConfig {
            options: Some("modern".into()),
            ..Default::default()
        }),
        ..Default::default()
    }];
    let c = build_cfg(&cfg, &eps);
    let modern = tls_options::key("modern@swarm", cfg.tls.options.get("modern@swarm"));
    // The entrypoint's options apply to routers without their own `tls`.
    let route = c.table.routes.get("r@swarm").unwrap();
    assert!(route.closed.is_none());
    let sni = &c.sni[0];
    assert_eq!(sni.hosts["r.test"].as_ref().map(|o| o.key), Some(modern));
    // A router with its own `tls` (no options) uses `default`, as Traefik.
    assert_eq!(
        sni.hosts["own.test"].as_ref().map(|o| o.name.as_str()),
        Some("default")
    );
}

#[test]
fn routes_carry_their_observability_switches_per_entrypoint_and_middleware_spans() {
    use crate::config::observability::{EntryPointObservability, Switches, TraceVerbosity};
    let eps = vec![
        EntryPointInfo {
            name: "web".into(),
            observability: Some(EntryPointObservability {
                access_logs: Some(false),
                trace_verbosity: Some(TraceVerbosity::Detailed),
                ..Default::default()
            }),
            ..Default::default()
        },
        EntryPointInfo {
            name: "admin".into(),
            ..Default::default()
        },
    ];
    let cfg: DynamicConfig = crate::config::yaml::from_yaml(
        r#"
http:
  routers:
    own:
      rule: "PathPrefix(`/own`)"
      service: demo@internal
      middlewares: [both]
      observability:
        metrics: false
        accessLogs: true
    plain:
      rule: "PathPrefix(`/`)"
      service: demo@internal
  middlewares:
    both:
      chain:
        middlewares: [team, again, redirect]
    team:
      headers:
        customRequestHeaders: {X-A: "1"}
    again:
      retry:
        attempts: 2
    redirect:
      redirectRegex:
        regex: "^/old"
        replacement: "/new"
"#,
    )
    .unwrap();
    let c = build_cfg(&cfg, &eps);
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    let own = &c.table.routes["own"];
    let plain = &c.table.routes["plain"];
    // The router's switches over the entrypoint's; an unset one takes the entrypoint's.
    let s = own.switches(0);
    assert!(
        s.access_logs && !s.metrics && s.tracing && s.detailed,
        "{s:?}"
    );
    let s = own.switches(1);
    assert!(
        s.access_logs && !s.metrics && s.tracing && !s.detailed,
        "{s:?}"
    );
    let s = plain.switches(0);
    assert!(
        !s.access_logs && s.metrics && s.tracing && s.detailed,
        "{s:?}"
    );
    assert_eq!(plain.switches(1), Switches::default());
    // The chain is flattened; each middleware keeps its name and Traefik's span name.
    let traces: Vec<(Option<&str>, &str)> = own.traces.iter().map(|t| (t.span, &*t.name)).collect();
    assert_eq!(
        traces,
        vec![
            (Some("Headers"), "team"),
            (None, "again"),
            (Some("Redirect"), "redirect")
        ]
    );
    assert_eq!(own.traces.len(), own.middlewares.len());
    assert!(own.is_internal());
}
