//! Malformed input, provider-level settings, empty services, merging and constraints.

use super::*;
use crate::provider::labels::*;
#[test]
fn malformed_input_disables_only_the_affected_element() {
    struct Case {
        label: (&'static str, &'static str),
        element: Element,
        name: &'static str,
        key: &'static str,
        gone_router: Option<&'static str>,
    }
    let cases = [
        Case {
            label: (
                "traefik.http.services.api.loadbalancer.server.port",
                "eighty",
            ),
            element: Element::Service,
            name: "api",
            key: "traefik.http.services.api.loadbalancer.server.port",
            gone_router: Some("api"),
        },
        Case {
            label: (
                "traefik.http.services.api.loadbalancer.server.port",
                "70000",
            ),
            element: Element::Service,
            name: "api",
            key: "traefik.http.services.api.loadbalancer.server.port",
            gone_router: Some("api"),
        },
        Case {
            label: (
                "traefik.http.services.api.loadbalancer.passhostheader",
                "yes",
            ),
            element: Element::Service,
            name: "api",
            key: "traefik.http.services.api.loadbalancer.passhostheader",
            gone_router: Some("api"),
        },
        Case {
            label: ("traefik.http.services.api.loadbalancer.bogus", "1"),
            element: Element::Service,
            name: "api",
            key: "traefik.http.services.api.loadbalancer.bogus",
            gone_router: Some("api"),
        },
        Case {
            label: ("traefik.http.routers.api.priority", "high"),
            element: Element::Router,
            name: "api",
            key: "traefik.http.routers.api.priority",
            gone_router: Some("api"),
        },
        Case {
            label: ("traefik.http.routers.api.colour", "red"),
            element: Element::Router,
            name: "api",
            key: "traefik.http.routers.api.colour",
            gone_router: Some("api"),
        },
        Case {
            label: ("traefik.http.middlewares.m.nosuchtype.x", "1"),
            element: Element::Middleware,
            name: "m",
            key: "traefik.http.middlewares.m.nosuchtype",
            gone_router: None,
        },
        Case {
            label: ("traefik.http.middlewares.strip.stripprefix.prefix", "/x"),
            element: Element::Middleware,
            name: "strip",
            key: "traefik.http.middlewares.strip.stripprefix.prefix",
            gone_router: Some("api"),
        },
        Case {
            label: ("traefik.frobnicate", "1"),
            element: Element::Source,
            name: "st_api",
            key: "traefik.frobnicate",
            gone_router: None,
        },
    ];
    for case in cases {
        let mut s = svc(
            "st_api",
            &[
                ("traefik.http.routers.api.rule", "PathPrefix(`/api`)"),
                ("traefik.http.routers.api.middlewares", "strip"),
                ("traefik.http.routers.other.rule", "Host(`other`)"),
                ("traefik.http.routers.other.service", "other"),
                ("traefik.http.services.other.loadbalancer.server.port", "81"),
                ("traefik.http.services.api.loadbalancer.server.port", "80"),
            ],
        );
        s.labels.insert(case.label.0.into(), case.label.1.into());
        let (cfg, issues) = translate(&s);
        let first = issues
            .first()
            .unwrap_or_else(|| panic!("no issue for {:?}", case.label));
        assert_eq!(
            (first.element, first.name.as_str()),
            (case.element, case.name),
            "{:?}",
            case.label
        );
        assert_eq!(first.key.as_deref(), Some(case.key), "{:?}", case.label);
        assert_eq!(first.origin.as_deref(), Some("st_api"));
        assert!(
            cfg.http.routers.contains_key("other"),
            "{:?}: unrelated router kept",
            case.label
        );
        assert!(cfg.http.services.contains_key("other"));
        if let Some(r) = case.gone_router {
            assert!(
                !cfg.http.routers.contains_key(r),
                "{:?}: router {r} disabled",
                case.label
            );
        }
    }
}

#[test]
fn missing_port_and_bad_enable() {
    let (cfg, issues) = translate(&svc(
        "s_np",
        &[("traefik.http.routers.r.rule", "Host(`x`)")],
    ));
    assert!(cfg.http.routers.is_empty() && cfg.http.services.is_empty());
    assert!(
        issues.iter().any(|i| i.message.contains("port is missing")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.element == Element::Router && i.name == "r"),
        "{issues:?}"
    );

    let (cfg, issues) = translate(&svc("s_be", &[("traefik.enable", "perhaps")]));
    assert_eq!(cfg, DynamicConfig::default());
    assert_eq!(issues[0].key.as_deref(), Some("traefik.enable"));
}

#[test]
fn network_and_lbswarm_settings() {
    let labels: BTreeMap<String, String> = [
        ("traefik.docker.network", "old"),
        ("traefik.swarm.network", "front"),
        ("traefik.swarm.lbswarm", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let opts = LabelOptions {
        exposed_by_default: false,
        ..LabelOptions::default()
    };
    let (settings, issues) = service_settings("s", &labels, &opts);
    assert!(issues.is_empty());
    assert_eq!(
        settings,
        ServiceSettings {
            enabled: false,
            network: Some("front".into()),
            lb_swarm: true
        }
    );

    let mut s = svc(
        "s_vip",
        &[
            ("traefik.swarm.lbswarm", "true"),
            ("traefik.http.services.v.loadbalancer.server.port", "80"),
        ],
    );
    let (cfg, _) = translate(&s);
    assert_eq!(
        urls(&cfg, "v"),
        vec![("http://10.0.1.2:80".to_string(), false)]
    );
    s.vip = None;
    let (cfg, issues) = translate(&s);
    assert!(cfg.http.services.is_empty());
    assert!(issues[0].message.contains("virtual IP"));
}

#[test]
fn no_tasks_means_no_config_unless_allowed() {
    let mut s = svc(
        "s_empty",
        &[("traefik.http.services.s.loadbalancer.server.port", "80")],
    );
    s.tasks.clear();
    assert_eq!(translate(&s).0, DynamicConfig::default());
    let opts = LabelOptions {
        allow_empty_services: true,
        ..LabelOptions::default()
    };
    let (cfg, _) = service_config(&s, &opts);
    assert_eq!(
        cfg.http.services["s"],
        ServiceConfig {
            load_balancer: Some(LoadBalancerConfig::default()),
            ..Default::default()
        }
    );
}

#[test]
fn ipv6_tasks_are_bracketed() {
    let mut s = svc(
        "s6",
        &[("traefik.http.services.s.loadbalancer.server.port", "80")],
    );
    s.tasks = vec![TaskEndpoint {
        ip: "fd00::5".parse().unwrap(),
        draining: false,
        origin: None,
    }];
    assert_eq!(urls(&translate(&s).0, "s")[0].0, "http://[fd00::5]:80");
}

#[test]
fn merge_unites_servers_and_drops_conflicts() {
    let shared = [
        ("traefik.http.routers.shared.rule", "Host(`same`)"),
        ("traefik.http.routers.shared.service", "pool"),
        ("traefik.http.services.pool.loadbalancer.server.port", "80"),
        ("traefik.http.middlewares.m.addprefix.prefix", "/a"),
    ];
    let mut a = svc("st_a", &shared);
    a.tasks = vec![TaskEndpoint {
        ip: ip(10),
        draining: false,
        origin: None,
    }];
    let mut b = svc("st_b", &shared);
    b.tasks = vec![TaskEndpoint {
        ip: ip(11),
        draining: false,
        origin: None,
    }];
    let mut c = svc(
        "st_c",
        &[
            ("traefik.http.routers.shared.rule", "Host(`different`)"),
            ("traefik.http.routers.shared.service", "pool"),
            ("traefik.http.services.pool.loadbalancer.server.port", "80"),
            ("traefik.http.middlewares.m.addprefix.prefix", "/b"),
        ],
    );
    c.tasks = vec![TaskEndpoint {
        ip: ip(12),
        draining: false,
        origin: None,
    }];

    let (cfg, issues) = build_config(&[b.clone(), a.clone()], &LabelOptions::default());
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(
        urls(&cfg, "pool"),
        vec![
            ("http://10.0.1.10:80".to_string(), false),
            ("http://10.0.1.11:80".to_string(), false)
        ]
    );

    let (cfg, issues) = build_config(&[a, b, c], &LabelOptions::default());
    assert!(!cfg.http.routers.contains_key("shared"));
    assert!(!cfg.http.middlewares.contains_key("m"));
    assert!(
        cfg.http.services.contains_key("pool"),
        "pool is identical but for servers"
    );
    assert_eq!(urls(&cfg, "pool").len(), 3);
    let conflicted: Vec<(Element, &str)> = issues
        .iter()
        .map(|i| (i.element, i.name.as_str()))
        .collect();
    assert_eq!(
        conflicted,
        vec![(Element::Router, "shared"), (Element::Middleware, "m")]
    );
    assert!(issues[0].message.contains("st_a, st_b, st_c"));
}

#[test]
fn constraints_filter_services() {
    let labels = [
        ("traefik.http.services.s.loadbalancer.server.port", "80"),
        ("env", "prod"),
    ];
    let cases = [
        (Some("Label(`env`, `prod`)"), true, false),
        (Some("Label(`env`, `dev`)"), false, false),
        (
            Some("LabelRegex(`env`, `^pr`) && !Label(`x`, `y`)"),
            true,
            false,
        ),
        (Some("Label(`env`"), false, true),
        (None, true, false),
    ];
    for (expr, exposed, issue) in cases {
        let opts = LabelOptions {
            constraints: expr.map(String::from),
            ..LabelOptions::default()
        };
        let (cfg, issues) = service_config(&svc("s_c", &labels), &opts);
        assert_eq!(!cfg.http.services.is_empty(), exposed, "{expr:?}");
        assert_eq!(!issues.is_empty(), issue, "{expr:?}: {issues:?}");
    }
}

/// dockerswarm.rocks' stacks mark services with `traefik.constraint-label=traefik-public` and
/// select them with `constraints=Label(`traefik.constraint-label`, `traefik-public`)`: that label
/// is the user's own, used by the constraints, so it is no unknown label (Traefik ignores it too);
/// without such a constraint it still is one.
#[test]
fn a_label_the_constraints_select_on_is_not_unknown() {
    let labels = [
        ("traefik.enable", "true"),
        ("traefik.constraint-label", "traefik-public"),
        ("traefik.http.services.s.loadbalancer.server.port", "80"),
    ];
    let opts = LabelOptions {
        constraints: Some("Label(`traefik.constraint-label`, `traefik-public`)".into()),
        ..LabelOptions::default()
    };
    let (cfg, issues) = service_config(&svc("s_c", &labels), &opts);
    assert!(issues.is_empty(), "{issues:?}");
    assert!(cfg.http.services.contains_key("s"));
    // Without such a constraint the label is still reported as unknown (a typo catch).
    let (_, issues) = translate(&svc("s_c", &labels));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].key.as_deref(), Some("traefik.constraint-label"));
}

#[test]
fn misspelled_label_keys_get_the_nearest_one() {
    let (_, issues) = translate(&svc(
        "s_typo",
        &[
            ("traefik.enabel", "true"),
            ("traefik.htp.routers.r.rule", "Host(`x`)"),
            ("traefik.http.router.r.rule", "Host(`x`)"),
            ("traefik.http.routers.r.rul", "Host(`x`)"),
            ("traefik.http.middlewares.m.stripprefx.prefixes", "/a"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
        ],
    ));
    let said = |key: &str, words: &str| {
        issues
            .iter()
            .any(|i| i.key.as_deref() == Some(key) && i.message.contains(words))
    };
    assert!(
        said("traefik.enabel", "did you mean `traefik.enable`?"),
        "{issues:#?}"
    );
    assert!(
        said("traefik.htp", "did you mean `traefik.http`?"),
        "{issues:#?}"
    );
    assert!(
        said(
            "traefik.http.router",
            "did you mean `traefik.http.routers`?"
        ),
        "{issues:#?}"
    );
    assert!(
        said("traefik.http.routers.r.rul", "did you mean `rule`?"),
        "{issues:#?}"
    );
    assert!(
        said(
            "traefik.http.middlewares.m.stripprefx",
            "did you mean `stripPrefix`?"
        ),
        "{issues:#?}"
    );
}

#[test]
fn servers_say_where_they_came_from() {
    use crate::config::server_origin::ServerOrigin;
    let origins = |cfg: &DynamicConfig| -> Vec<Option<ServerOrigin>> {
        cfg.http.services["web"]
            .load_balancer
            .as_ref()
            .unwrap()
            .servers
            .iter()
            .map(|s| s.origin.as_deref().cloned())
            .collect()
    };
    let port = ("traefik.http.services.web.loadbalancer.server.port", "80");
    // The service's virtual IP (lbswarm).
    let (cfg, _) = translate(&svc("st_web", &[port, ("traefik.swarm.lbswarm", "true")]));
    assert_eq!(
        origins(&cfg),
        [Some(ServerOrigin::Vip {
            service: "st_web".into()
        })]
    );
    // URLs written in labels.
    let (cfg, _) = translate(&svc(
        "st_web",
        &[(
            "traefik.http.services.web.loadbalancer.servers[0].url",
            "http://elsewhere:81",
        )],
    ));
    assert_eq!(
        origins(&cfg),
        [Some(ServerOrigin::Label {
            service: "st_web".into()
        })]
    );
    // Tasks: each keeps the origin its provider gave it.
    let mut s = svc("st_web", &[port]);
    s.tasks[0].origin = Some(std::sync::Arc::new(
        crate::config::server_origin::TaskOrigin {
            task: "t1".into(),
            service: "st_web".into(),
            slot: Some(1),
            node: "n".into(),
            ..Default::default()
        },
    ));
    let (cfg, _) = translate(&s);
    let got = origins(&cfg);
    assert!(
        matches!(&got[..], [Some(ServerOrigin::Task(t)), None] if t.task == "t1" && t.slot == Some(1)),
        "{got:?}"
    );
}
