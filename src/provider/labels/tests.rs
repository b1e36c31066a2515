//! Label translation tests: Traefik's documented examples, defaults, malformed input, merging.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::config::dynamic::{LoadBalancerConfig, ServiceConfig};
use crate::middleware::MiddlewareConfig;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, last))
}

fn svc(name: &str, labels: &[(&str, &str)]) -> SwarmService {
    SwarmService {
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        tasks: vec![
            TaskEndpoint {
                ip: ip(5),
                draining: false,
            },
            TaskEndpoint {
                ip: ip(6),
                draining: true,
            },
        ],
        ports: Vec::new(),
        vip: Some(ip(2)),
    }
}

fn translate(s: &SwarmService) -> (DynamicConfig, Vec<ConfigIssue>) {
    service_config(s, &LabelOptions::default())
}

fn urls(cfg: &DynamicConfig, service: &str) -> Vec<(String, bool)> {
    cfg.http.services[service]
        .load_balancer
        .as_ref()
        .unwrap()
        .servers
        .iter()
        .map(|s| (s.url.clone(), s.draining))
        .collect()
}

#[test]
fn whoami_example() {
    // Traefik docs: router rule + service port; the router gets the only service.
    let (cfg, issues) = translate(&svc(
        "mystack_whoami",
        &[
            (
                "traefik.http.routers.my-container.rule",
                "Host(`example.com`)",
            ),
            (
                "traefik.http.services.my-container-service.loadbalancer.server.port",
                "8080",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let r = &cfg.http.routers["my-container"];
    assert_eq!(r.rule, "Host(`example.com`)");
    assert_eq!(r.service, "my-container-service");
    assert!(r.entry_points.is_empty() && r.tls.is_none() && r.priority.is_none());
    assert_eq!(
        urls(&cfg, "my-container-service"),
        vec![
            ("http://10.0.1.5:8080".to_string(), false),
            ("http://10.0.1.6:8080".to_string(), true)
        ]
    );
    assert!(
        cfg.http.services["my-container-service"]
            .load_balancer
            .as_ref()
            .unwrap()
            .pass_host_header
    );
}

#[test]
fn seed_stack_api_with_strip_prefix() {
    let (cfg, issues) = translate(&svc(
        "mystack_api",
        &[
            ("traefik.enable", "true"),
            ("traefik.http.routers.api.rule", "PathPrefix(`/api`)"),
            ("traefik.http.routers.api.entrypoints", "web,websecure"),
            ("traefik.http.routers.api.middlewares", "api-strip"),
            (
                "traefik.http.middlewares.api-strip.stripprefix.prefixes",
                "/api",
            ),
            ("traefik.http.services.api.loadbalancer.server.port", "8000"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let r = &cfg.http.routers["api"];
    assert_eq!(r.entry_points, vec!["web", "websecure"]);
    assert_eq!(r.middlewares, vec!["api-strip"]);
    assert_eq!(r.service, "api");
    match &cfg.http.middlewares["api-strip"] {
        MiddlewareConfig::StripPrefix(s) => assert_eq!(s.prefixes, vec!["/api"]),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn healthcheck_sticky_and_lb_options() {
    let (cfg, issues) = translate(&svc(
        "s_web",
        &[
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
            (
                "traefik.http.services.web.loadbalancer.server.scheme",
                "https",
            ),
            ("traefik.http.services.web.loadbalancer.server.weight", "3"),
            (
                "traefik.http.services.web.loadbalancer.passhostheader",
                "false",
            ),
            (
                "traefik.http.services.web.loadbalancer.serverstransport",
                "insecure@file",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.path",
                "/health",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.interval",
                "5s",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.timeout",
                "2s",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.port",
                "8081",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.method",
                "HEAD",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.status",
                "204",
            ),
            (
                "traefik.http.services.web.loadbalancer.healthcheck.headers.X-Probe",
                "yes",
            ),
            (
                "traefik.http.services.web.loadbalancer.sticky.cookie.name",
                "srv",
            ),
            (
                "traefik.http.services.web.loadbalancer.sticky.cookie.secure",
                "true",
            ),
            (
                "traefik.http.services.web.loadbalancer.sticky.cookie.httponly",
                "true",
            ),
            (
                "traefik.http.services.web.loadbalancer.sticky.cookie.samesite",
                "lax",
            ),
            (
                "traefik.http.services.web.loadbalancer.sticky.cookie.maxage",
                "60",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let lb = cfg.http.services["web"].load_balancer.clone().unwrap();
    assert!(!lb.pass_host_header);
    assert_eq!(lb.servers_transport.as_deref(), Some("insecure@file"));
    assert_eq!(lb.servers[0].url, "https://10.0.1.5:80");
    assert_eq!(lb.servers[0].weight, Some(3));
    let hc = lb.health_check.unwrap();
    assert_eq!(hc.path.as_deref(), Some("/health"));
    assert_eq!(hc.interval.map(|d| d.get().as_secs()), Some(5));
    assert_eq!(
        (hc.port, hc.status, hc.method.as_deref()),
        (Some(8081), Some(204), Some("HEAD"))
    );
    assert_eq!(hc.headers["X-Probe"], "yes");
    let cookie = lb.sticky.unwrap().cookie.unwrap();
    assert_eq!(cookie.name.as_deref(), Some("srv"));
    assert!(cookie.secure && cookie.http_only);
    assert_eq!(
        (cookie.same_site.as_deref(), cookie.max_age),
        (Some("lax"), Some(60))
    );
    // No router label: a default router named after the service, with the default rule.
    assert_eq!(cfg.http.routers["s-web"].rule, "Host(`s-web`)");
    assert_eq!(cfg.http.routers["s-web"].service, "web");
}

#[test]
fn sticky_cookie_true_means_defaults() {
    let (cfg, issues) = translate(&svc(
        "s_web",
        &[
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
            (
                "traefik.http.services.web.loadbalancer.sticky.cookie",
                "true",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let lb = cfg.http.services["web"].load_balancer.clone().unwrap();
    assert_eq!(lb.sticky.unwrap().cookie.unwrap().name, None);
}

#[test]
fn multiple_routers_and_services() {
    // Traefik docs: two ports of one container, each router naming its service.
    let (cfg, issues) = translate(&svc(
        "s_multi",
        &[
            (
                "traefik.http.routers.www-router.rule",
                "Host(`example-a.com`)",
            ),
            ("traefik.http.routers.www-router.service", "www-service"),
            (
                "traefik.http.services.www-service.loadbalancer.server.port",
                "8000",
            ),
            (
                "traefik.http.routers.admin-router.rule",
                "Host(`example-b.com`)",
            ),
            ("traefik.http.routers.admin-router.service", "admin-service"),
            ("traefik.http.routers.admin-router.priority", "42"),
            ("traefik.http.routers.admin-router.tls", "true"),
            ("traefik.http.routers.admin-router.tls.certresolver", "le"),
            (
                "traefik.http.routers.admin-router.tls.domains[0].main",
                "example-b.com",
            ),
            (
                "traefik.http.routers.admin-router.tls.domains[0].sans",
                "a.example-b.com,b.example-b.com",
            ),
            (
                "traefik.http.routers.admin-router.tls.options",
                "modern@file",
            ),
            (
                "traefik.http.services.admin-service.loadbalancer.server.port",
                "9000",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(cfg.http.routers.len(), 2);
    assert_eq!(urls(&cfg, "www-service")[0].0, "http://10.0.1.5:8000");
    assert_eq!(urls(&cfg, "admin-service")[0].0, "http://10.0.1.5:9000");
    let admin = &cfg.http.routers["admin-router"];
    assert_eq!(admin.priority, Some(42));
    let tls = admin.tls.clone().unwrap();
    assert_eq!(tls.cert_resolver.as_deref(), Some("le"));
    assert_eq!(tls.options.as_deref(), Some("modern@file"));
    assert_eq!(
        tls.domains[0].sans,
        vec!["a.example-b.com", "b.example-b.com"]
    );
}

#[test]
fn router_without_service_among_several_is_dropped() {
    let (cfg, issues) = translate(&svc(
        "s_x",
        &[
            ("traefik.http.routers.r.rule", "Host(`a`)"),
            ("traefik.http.services.a.loadbalancer.server.port", "1"),
            ("traefik.http.services.b.loadbalancer.server.port", "2"),
        ],
    ));
    assert!(cfg.http.routers.is_empty());
    assert_eq!(cfg.http.services.len(), 2);
    assert_eq!(issues.len(), 1);
    assert!(issues[0].message.contains("too many services"));
}

#[test]
fn tls_flag_values() {
    for (value, want) in [("true", true), ("false", false)] {
        let (cfg, issues) = translate(&svc(
            "s_t",
            &[
                ("traefik.http.routers.r.tls", value),
                ("traefik.http.services.s.loadbalancer.server.port", "80"),
            ],
        ));
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.http.routers["r"].tls.is_some(), want, "{value}");
    }
}

#[test]
fn enable_and_exposed_by_default() {
    let port = ("traefik.http.services.s.loadbalancer.server.port", "80");
    let cases: &[(bool, Option<&str>, bool)] = &[
        (true, None, true),
        (false, None, false),
        (false, Some("true"), true),
        (true, Some("false"), false),
    ];
    for (exposed, enable, want) in cases {
        let mut labels = vec![port];
        if let Some(e) = enable {
            labels.push(("traefik.enable", e));
        }
        let opts = LabelOptions {
            exposed_by_default: *exposed,
            ..LabelOptions::default()
        };
        let (cfg, issues) = service_config(&svc("s_e", &labels), &opts);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            !cfg.http.services.is_empty(),
            *want,
            "exposed={exposed} enable={enable:?}"
        );
    }
}

#[test]
fn swarmgate_prefix_and_case_insensitive_keys() {
    let (cfg, issues) = translate(&svc(
        "s_p",
        &[
            ("Traefik.HTTP.Routers.R.Rule", "Host(`from-traefik`)"),
            ("swarmgate.http.routers.R.rule", "Host(`from-swarmgate`)"),
            ("swarmgate.http.routers.R.EntryPoints", "web"),
            ("SWARMGATE.http.services.s.LoadBalancer.Server.Port", "81"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let r = &cfg.http.routers["R"];
    assert_eq!(r.rule, "Host(`from-swarmgate`)");
    assert_eq!(r.entry_points, vec!["web"]);
    assert_eq!(urls(&cfg, "s")[0].0, "http://10.0.1.5:81");
}

#[test]
fn default_rule_and_auto_service() {
    let mut s = svc("my_stack.Web", &[]);
    s.ports = vec![8080, 80];
    let opts = LabelOptions {
        default_rule:
            "Host(`{{ .Name }}.{{ index .Labels \"com.docker.stack.namespace\" }}.local`)".into(),
        ..LabelOptions::default()
    };
    s.labels
        .insert("com.docker.stack.namespace".into(), "prod".into());
    let (cfg, issues) = service_config(&s, &opts);
    assert!(issues.is_empty(), "{issues:?}");
    let r = &cfg.http.routers["my-stack-Web"];
    assert_eq!(r.rule, "Host(`my-stack-Web.prod.local`)");
    assert_eq!(r.service, "my-stack-Web");
    // No port label: the lowest published port.
    assert_eq!(urls(&cfg, "my-stack-Web")[0].0, "http://10.0.1.5:80");
}

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
            weighted: None
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
    }];
    let mut b = svc("st_b", &shared);
    b.tasks = vec![TaskEndpoint {
        ip: ip(11),
        draining: false,
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
