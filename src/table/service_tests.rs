//! compile() and resolve() of the services made of services: failover, mirroring, weighted
//! with health propagation.

use std::time::Instant;

use super::*;
use crate::balance::EndpointRegistry;
use crate::config::DynamicConfig;
use crate::upstream::{PoolRegistry, TransportRegistry};

fn compile_yaml(yaml: &str, endpoints: &EndpointRegistry) -> Compiled {
    let mut cfg: DynamicConfig = match serde_yaml::from_str(yaml) {
        Ok(cfg) => cfg,
        Err(e) => panic!("bad test config: {e}"),
    };
    let entrypoints = vec![EntryPointInfo {
        name: "web".into(),
        ..Default::default()
    }];
    cfg.apply_default_entrypoints(&["web".to_string()]);
    let (pools, transports) = (PoolRegistry::default(), TransportRegistry::default());
    let default_transport = Default::default();
    let ctx = CompileContext {
        entrypoints: &entrypoints,
        endpoints,
        pools: &pools,
        transports: &transports,
        default_transport: &default_transport,
        breakers: &Default::default(),
    };
    compile(&cfg, &ctx)
}

const SERVICES: &str = r#"
http:
  routers:
    r:
      rule: PathPrefix(`/`)
      service: front
  services:
    main:
      loadBalancer:
        servers: [{url: "http://10.0.0.1"}]
        healthCheck: {path: /health}
    spare:
      loadBalancer:
        servers: [{url: "http://10.0.0.2"}]
        healthCheck: {path: /health}
    plain:
      loadBalancer:
        servers: [{url: "http://10.0.0.3"}]
"#;

fn with_front(front: &str) -> String {
    format!("{SERVICES}    front:\n{front}")
}

fn resolved_name(c: &Compiled, service: &str) -> Option<String> {
    let service = c.table.services.get(service)?;
    service
        .resolve(Instant::now())
        .map(|s| s.name().to_string())
}

#[test]
fn failover_uses_the_fallback_while_the_main_service_is_down() {
    let endpoints = EndpointRegistry::default();
    let c = compile_yaml(
        &with_front("      failover: {service: main, fallback: spare}\n"),
        &endpoints,
    );
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    assert_eq!(resolved_name(&c, "front").as_deref(), Some("main"));
    endpoints
        .get_or_create("main", "http://10.0.0.1")
        .set_active_up(false);
    assert_eq!(resolved_name(&c, "front").as_deref(), Some("spare"));
    endpoints
        .get_or_create("spare", "http://10.0.0.2")
        .set_active_up(false);
    assert_eq!(resolved_name(&c, "front"), None);
    endpoints
        .get_or_create("main", "http://10.0.0.1")
        .set_active_up(true);
    assert_eq!(resolved_name(&c, "front").as_deref(), Some("main"));
}

#[test]
fn failover_needs_a_main_service_that_reports_its_health() {
    let c = compile_yaml(
        &with_front("      failover: {service: plain, fallback: spare}\n"),
        &EndpointRegistry::default(),
    );
    assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    assert!(c.issues[0].message.contains("has no healthCheck"));
    assert!(c.table.routes["r"].closed.is_some());
    // With its own healthCheck, the fallback must report too.
    let c = compile_yaml(
        &with_front("      failover: {service: main, fallback: plain, healthCheck: {}}\n"),
        &EndpointRegistry::default(),
    );
    assert!(c.table.routes["r"].closed.is_some(), "{:?}", c.issues);
}

#[test]
fn weighted_with_health_check_skips_children_that_are_down() {
    let endpoints = EndpointRegistry::default();
    let front = "      weighted:\n        healthCheck: {}\n        services: [{name: main}, {name: spare}]\n";
    let c = compile_yaml(&with_front(front), &endpoints);
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    endpoints
        .get_or_create("main", "http://10.0.0.1")
        .set_active_up(false);
    for _ in 0..4 {
        assert_eq!(resolved_name(&c, "front").as_deref(), Some("spare"));
    }
    // The weighted service reports itself down once every child is.
    let front_service = &c.table.services["front"];
    assert!(front_service.is_up());
    endpoints
        .get_or_create("spare", "http://10.0.0.2")
        .set_active_up(false);
    assert!(!front_service.is_up());
    assert_eq!(resolved_name(&c, "front"), None);
}

#[test]
fn weighted_with_health_check_needs_children_that_report_their_health() {
    let front = "      weighted:\n        healthCheck: {}\n        services: [{name: main}, {name: plain}]\n";
    let c = compile_yaml(&with_front(front), &EndpointRegistry::default());
    assert!(c.table.routes["r"].closed.is_some());
    assert!(
        c.issues[0].message.contains("has no healthCheck"),
        "{:?}",
        c.issues
    );
}

#[test]
fn weighted_without_health_check_keeps_picking_every_child() {
    let endpoints = EndpointRegistry::default();
    let front = "      weighted:\n        services: [{name: main}, {name: spare}]\n";
    let c = compile_yaml(&with_front(front), &endpoints);
    endpoints
        .get_or_create("main", "http://10.0.0.1")
        .set_active_up(false);
    let picks: Vec<_> = (0..4).filter_map(|_| resolved_name(&c, "front")).collect();
    assert!(picks.iter().any(|p| p == "main"), "{picks:?}");
}

#[test]
fn mirroring_answers_with_its_main_service_and_counts_percentages_as_traefik() {
    let front = "      mirroring:\n        service: main\n        mirrors: [{name: spare, percent: 50}, {name: plain, percent: 100}]\n";
    let c = compile_yaml(&with_front(front), &EndpointRegistry::default());
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    let front_service = &c.table.services["front"];
    let mut walk = Walk::default();
    let answering = front_service.walk(Instant::now(), None, &mut walk);
    assert_eq!(answering.map(|s| s.name()), Some("main"));
    let Some(mirroring) = walk.mirrors.first() else {
        panic!("mirroring not met");
    };
    let mut copies = Vec::new();
    for _ in 0..10 {
        mirroring.active(|m| copies.push(m.service.name().to_string()));
    }
    assert_eq!(copies.iter().filter(|n| *n == "spare").count(), 5);
    assert_eq!(copies.iter().filter(|n| *n == "plain").count(), 10);
}

#[test]
fn mirror_percent_out_of_range_and_unknown_mirrors_close_the_router() {
    for mirrors in [
        "[{name: spare, percent: 101}]",
        "[{name: nope, percent: 10}]",
    ] {
        let front =
            format!("      mirroring:\n        service: main\n        mirrors: {mirrors}\n");
        let c = compile_yaml(&with_front(&front), &EndpointRegistry::default());
        assert!(c.table.routes["r"].closed.is_some(), "{mirrors}");
        assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
    }
}

#[test]
fn an_unknown_health_check_mode_is_refused_not_skipped() {
    let yaml = r#"
http:
  routers:
    r: {rule: PathPrefix(`/`), service: s}
  services:
    s:
      loadBalancer:
        servers: [{url: "http://10.0.0.1"}]
        healthCheck: {mode: tcp}
"#;
    let c = compile_yaml(yaml, &EndpointRegistry::default());
    assert!(c.table.routes["r"].closed.is_some());
    assert!(c.issues[0].message.contains("mode"), "{:?}", c.issues);
}

#[test]
fn a_service_with_two_kinds_is_refused() {
    let front =
        "      failover: {service: main, fallback: spare}\n      mirroring: {service: main}\n";
    let c = compile_yaml(&with_front(front), &EndpointRegistry::default());
    assert!(c.table.routes["r"].closed.is_some());
}

#[test]
fn sticky_weighted_pins_a_child_by_its_written_name() {
    let front = "      weighted:\n        sticky: {cookie: {name: pin}}\n        services: [{name: main}, {name: spare}]\n";
    let c = compile_yaml(&with_front(front), &EndpointRegistry::default());
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    let front_service = &c.table.services["front"];
    // No cookie: a pick, and the cookie naming it (16 hex digits of SHA-256 of "main").
    let mut walk = Walk::default();
    let first = front_service.walk(Instant::now(), Some(&http::HeaderMap::new()), &mut walk);
    assert_eq!(first.map(|s| s.name()), Some("main"));
    let main_value = crate::balance::sticky::server_cookie_value("main");
    assert_eq!(
        walk.cookies.first().and_then(|v| v.to_str().ok()),
        Some(format!("pin={main_value}; Path=/").as_str())
    );
    // The cookie of `spare` keeps the client there, without a new Set-Cookie.
    let mut headers = http::HeaderMap::new();
    let spare_value = crate::balance::sticky::server_cookie_value("spare");
    headers.insert(
        http::header::COOKIE,
        http::HeaderValue::from_str(&format!("pin={spare_value}"))
            .unwrap_or_else(|_| unreachable!()),
    );
    for _ in 0..3 {
        let mut walk = Walk::default();
        let picked = front_service.walk(Instant::now(), Some(&headers), &mut walk);
        assert_eq!(picked.map(|s| s.name()), Some("spare"));
        assert!(walk.cookies.is_empty());
    }
}
