//! `traefik.udp.*` labels.

use super::*;

fn addresses(cfg: &DynamicConfig, service: &str) -> Vec<String> {
    cfg.udp.services[service]
        .load_balancer
        .as_ref()
        .unwrap()
        .servers
        .iter()
        .map(|s| s.address.clone())
        .collect()
}

#[test]
fn udp_labels_make_a_router_and_a_service_per_task() {
    let s = svc(
        "stack_dns",
        &[
            ("traefik.enable", "true"),
            ("traefik.udp.routers.dns.entrypoints", "dns, dns6"),
            ("traefik.udp.routers.dns.service", "dns"),
            ("traefik.udp.services.dns.loadbalancer.server.port", "53"),
        ],
    );
    let (cfg, issues) = translate(&s);
    assert!(issues.is_empty(), "{issues:?}");
    let router = &cfg.udp.routers["dns"];
    assert_eq!(router.entry_points, ["dns", "dns6"]);
    assert_eq!(router.service, "dns");
    // The draining task takes no new session.
    assert_eq!(addresses(&cfg, "dns"), ["10.0.1.5:53"]);
    // Only UDP labels: no default HTTP router or service (as Traefik).
    assert!(cfg.http.routers.is_empty() && cfg.http.services.is_empty());
}

#[test]
fn a_udp_router_without_service_takes_the_default_one() {
    let mut s = svc(
        "stack_game",
        &[("traefik.udp.routers.game.entrypoints", "game")],
    );
    s.ports = vec![27015, 27016];
    let (cfg, issues) = translate(&s);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(cfg.udp.routers["game"].service, "stack-game");
    assert_eq!(addresses(&cfg, "stack-game"), ["10.0.1.5:27015"]);
    // With lbswarm, the virtual IP.
    s.labels
        .insert("traefik.swarm.lbswarm".into(), "true".into());
    let (cfg, _) = translate(&s);
    assert_eq!(addresses(&cfg, "stack-game"), ["10.0.1.2:27015"]);
}

#[test]
fn bad_udp_labels_disable_only_their_element_with_the_nearest_name() {
    let s = svc(
        "stack_dns",
        &[
            ("traefik.udp.routers.dns.entrypoints", "dns"),
            ("traefik.udp.routers.dns.servise", "dns"),
            ("traefik.udp.routers.ok.service", "dns"),
            ("traefik.udp.services.dns.loadbalancer.server.prot", "53"),
            ("traefik.udp.services.other.loadbalancer.server.port", "x"),
            ("traefik.udp.services.split.weighted.services", "a"),
            ("traefik.udp.router.x", "1"),
            ("traefik.http.routers.web.rule", "Host(`a.test`)"),
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
        ],
    );
    let (cfg, issues) = translate(&s);
    let message = |name: &str| {
        issues
            .iter()
            .filter(|i| i.name == name)
            .map(|i| i.message.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    // A router with a bad key is held closed; one without its service named has too many.
    assert!(cfg.udp.invalid.routers.contains_key("dns"));
    assert!(message("dns").contains("did you mean `traefik.udp.routers.dns.service`?"));
    assert!(cfg.udp.routers.contains_key("ok"));
    assert!(
        message("dns").contains("loadbalancer.server.port"),
        "{issues:?}"
    );
    let bad: Vec<&str> = cfg
        .udp
        .invalid
        .services
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(bad, ["dns", "other", "split"]);
    assert!(message("split").contains("file provider"));
    assert!(
        message("stack_dns").contains("did you mean `traefik.udp.routers`?"),
        "{issues:?}"
    );
    // HTTP labels beside them are served.
    assert!(cfg.http.routers.contains_key("web"));
}
