//! `traefik.tcp.*` labels.

use super::*;
use crate::config::tcp::{TcpElement, TcpMiddlewareConfig};

#[test]
fn a_tcp_router_gets_the_tasks_and_no_http_router_is_made_up() {
    let (cfg, issues) = translate(&svc(
        "db_postgres",
        &[
            ("traefik.enable", "true"),
            ("traefik.tcp.routers.pg.rule", "HostSNI(`db.example.test`)"),
            ("traefik.tcp.routers.pg.entrypoints", "postgres"),
            ("traefik.tcp.routers.pg.tls", "true"),
            ("traefik.tcp.routers.pg.tls.passthrough", "true"),
            ("traefik.tcp.routers.pg.middlewares", "lan"),
            (
                "traefik.tcp.middlewares.lan.ipallowlist.sourcerange",
                "10.0.0.0/8, 192.168.0.0/16",
            ),
            ("traefik.tcp.services.pg.loadbalancer.server.port", "5432"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    assert!(cfg.http.routers.is_empty() && cfg.http.services.is_empty());
    let router = &cfg.tcp.routers["pg"];
    assert_eq!(router.service, "pg");
    assert_eq!(router.entry_points, ["postgres"]);
    assert!(router.tls.as_ref().unwrap().passthrough);
    let servers: Vec<(String, bool)> = cfg.tcp.services["pg"]
        .load_balancer
        .as_ref()
        .unwrap()
        .servers
        .iter()
        .map(|s| (s.address.clone(), s.draining))
        .collect();
    assert_eq!(
        servers,
        [
            ("10.0.1.5:5432".to_string(), false),
            ("10.0.1.6:5432".to_string(), true)
        ]
    );
    match &cfg.tcp.middlewares["lan"] {
        TcpMiddlewareConfig::IpAllowList(l) => {
            assert_eq!(l.source_range, ["10.0.0.0/8", "192.168.0.0/16"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_tcp_labels_disable_only_their_element_with_the_nearest_name() {
    let (cfg, issues) = translate(&svc(
        "mixed",
        &[
            ("traefik.http.routers.web.rule", "Host(`a.test`)"),
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
            ("traefik.tcp.routers.good.rule", "HostSNI(`*`)"),
            ("traefik.tcp.routers.good.service", "redis"),
            ("traefik.tcp.routers.sni.rule", "HostSNI(`a.test`)"),
            ("traefik.tcp.routers.sni.service", "redis"),
            ("traefik.tcp.routers.typo.rule", "HostSNI(`*`)"),
            ("traefik.tcp.routers.typo.servce", "redis"),
            (
                "traefik.tcp.services.redis.loadbalancer.server.port",
                "6379",
            ),
            ("traefik.tcp.middlewares.bad.inflightconn.amout", "3"),
        ],
    ));
    assert!(cfg.http.routers.contains_key("web"));
    let routers: Vec<&str> = cfg.tcp.routers.keys().map(String::as_str).collect();
    assert_eq!(routers, ["good"]);
    let message = |name: &str| {
        issues
            .iter()
            .find(|i| i.name == name)
            .map(|i| format!("{} {}", i.key.clone().unwrap_or_default(), i.message))
            .unwrap_or_default()
    };
    assert!(
        message("typo").contains("did you mean `service`"),
        "{issues:?}"
    );
    assert!(message("sni").contains("no `tls`"), "{issues:?}");
    assert!(
        message("bad").contains("did you mean `amount`"),
        "{issues:?}"
    );
    assert!(cfg
        .tcp
        .invalid
        .contains_key(&(TcpElement::Middleware, "bad".to_string())));
}
