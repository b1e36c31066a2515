use super::*;
use crate::config::udp::{
    UdpLoadBalancerConfig, UdpRouterConfig, UdpServerConfig, UdpWeightedConfig,
    UdpWeightedServiceRef,
};

fn servers(addresses: &[&str]) -> UdpServiceConfig {
    UdpServiceConfig {
        load_balancer: Some(UdpLoadBalancerConfig {
            servers: addresses
                .iter()
                .map(|a| UdpServerConfig {
                    address: a.to_string(),
                })
                .collect(),
        }),
        weighted: None,
    }
}

fn weighted(children: &[(&str, i64)]) -> UdpServiceConfig {
    UdpServiceConfig {
        load_balancer: None,
        weighted: Some(UdpWeightedConfig {
            services: children
                .iter()
                .map(|(name, weight)| UdpWeightedServiceRef {
                    name: name.to_string(),
                    weight: Some(*weight),
                })
                .collect(),
        }),
    }
}

fn router(entry_points: &[&str], service: &str) -> UdpRouterConfig {
    UdpRouterConfig {
        entry_points: entry_points.iter().map(|e| e.to_string()).collect(),
        service: service.to_string(),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sessions_go_round_robin_and_by_weight() {
    let mut cfg = DynamicConfig::default();
    cfg.udp
        .routers
        .insert("dns".into(), router(&["dns"], "split"));
    cfg.udp
        .services
        .insert("two".into(), servers(&["10.0.0.1:53", "10.0.0.2:53"]));
    cfg.udp
        .services
        .insert("one".into(), servers(&["10.0.0.3:53"]));
    cfg.udp.services.insert(
        "split".into(),
        weighted(&[("two", 2), ("one", 1), ("none", 0)]),
    );
    cfg.udp
        .services
        .insert("none".into(), servers(&["10.0.0.9:53"]));
    let (table, issues) = compile(
        &cfg,
        &names(&["dns"]),
        &names(&["dns", "web"]),
        &UdpTable::default(),
    );
    assert!(issues.is_empty(), "{issues:?}");
    let route = table.route("dns").unwrap();
    let picks: Vec<&str> = (0..6).map(|_| route.pick().unwrap()).collect();
    let count = |a: &str| picks.iter().filter(|p| **p == a).count();
    assert_eq!(count("10.0.0.3:53"), 2, "{picks:?}");
    assert_eq!(count("10.0.0.1:53"), 2, "{picks:?}");
    assert_eq!(count("10.0.0.2:53"), 2, "{picks:?}");
    assert_eq!(count("10.0.0.9:53"), 0, "{picks:?}");
}

#[test]
fn schedule_interleaves_weights() {
    assert_eq!(&*schedule(&[2, 1]), &[0, 1, 0]);
    assert_eq!(&*schedule(&[4, 2]), &[0, 1, 0]);
    assert_eq!(&*schedule(&[0, 0]), &[] as &[u16]);
    assert_eq!(schedule(&[1_000_000, 1]).len() as u64, MAX_SCHEDULE);
}

#[test]
fn bad_routers_hold_their_entrypoint_closed_and_only_it() {
    let mut cfg = DynamicConfig::default();
    cfg.udp
        .routers
        .insert("a".into(), router(&["dns"], "missing"));
    cfg.udp.routers.insert("b".into(), router(&["dns"], "good"));
    cfg.udp
        .routers
        .insert("c".into(), router(&["game"], "good"));
    cfg.udp
        .routers
        .insert("d".into(), router(&["web", "dnss"], "good"));
    cfg.udp
        .routers
        .insert("e".into(), router(&["voip"], "loop"));
    cfg.udp
        .services
        .insert("good".into(), servers(&["10.0.0.1:53"]));
    cfg.udp
        .services
        .insert("loop".into(), weighted(&[("loop", 1)]));
    let udp = names(&["dns", "game", "voip"]);
    let (table, issues) = compile(
        &cfg,
        &udp,
        &names(&["dns", "game", "voip", "web"]),
        &UdpTable::default(),
    );
    // `a` holds `dns` closed: its datagrams never reach `b`.
    let dns = table.route("dns").unwrap();
    assert_eq!(dns.router, "a");
    assert!(dns.pick().is_none());
    assert_eq!(table.route("game").unwrap().pick(), Some("10.0.0.1:53"));
    assert!(table.route("voip").unwrap().pick().is_none());
    let message = |name: &str| -> Vec<String> {
        issues
            .iter()
            .filter(|i| i.name == name)
            .map(|i| i.message.clone())
            .collect()
    };
    assert!(message("a")[0].contains("does not exist"), "{issues:?}");
    assert!(
        message("b")[0].contains("already has UDP router \"a\""),
        "{issues:?}"
    );
    let d = message("d");
    assert!(
        d.iter()
            .any(|m| m.contains("\"web\" is not a UDP entrypoint")),
        "{d:?}"
    );
    assert!(
        d.iter().any(|m| m.contains("did you mean \"dns\"")),
        "{d:?}"
    );
    assert!(message("e")[0].contains("refers to itself"), "{issues:?}");
}

#[test]
fn routers_without_entrypoints_take_every_udp_entrypoint() {
    let mut cfg = DynamicConfig::default();
    cfg.udp.routers.insert("all".into(), router(&[], "s"));
    cfg.udp
        .services
        .insert("s".into(), servers(&["10.0.0.1:53"]));
    let (table, issues) = compile(
        &cfg,
        &names(&["a", "b"]),
        &names(&["a", "b", "web"]),
        &UdpTable::default(),
    );
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(table.routes.keys().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn unreadable_routers_and_services_close_their_users() {
    let mut cfg = DynamicConfig::default();
    cfg.udp.invalid.routers.insert(
        "typo".into(),
        (router(&["dns"], ""), "cannot be read".into()),
    );
    cfg.udp
        .routers
        .insert("uses".into(), router(&["game"], "bad"));
    cfg.udp
        .invalid
        .services
        .insert("bad".into(), "cannot be read".into());
    let udp = names(&["dns", "game"]);
    let (table, issues) = compile(&cfg, &udp, &udp, &UdpTable::default());
    assert!(table.route("dns").unwrap().pick().is_none());
    assert!(table.route("game").unwrap().pick().is_none());
    assert!(issues
        .iter()
        .any(|i| i.name == "uses" && i.message.contains("cannot be read")));
}

#[test]
fn cursors_survive_a_reload() {
    let mut cfg = DynamicConfig::default();
    cfg.udp.routers.insert("r".into(), router(&["dns"], "s"));
    cfg.udp
        .services
        .insert("s".into(), servers(&["10.0.0.1:53", "10.0.0.2:53"]));
    let udp = names(&["dns"]);
    let (first, _) = compile(&cfg, &udp, &udp, &UdpTable::default());
    assert_eq!(first.route("dns").unwrap().pick(), Some("10.0.0.1:53"));
    let (second, _) = compile(&cfg, &udp, &udp, &first);
    assert_eq!(second.route("dns").unwrap().pick(), Some("10.0.0.2:53"));
}
