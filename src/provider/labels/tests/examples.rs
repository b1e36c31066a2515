//! Traefik's documented label examples and defaults.

use super::*;
use crate::provider::labels::*;
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
fn traefik_options_swarmgate_lacks_refuse_the_service() {
    let (cfg, issues) = translate(&svc(
        "s_u",
        &[
            ("traefik.http.routers.r.rule", "Host(`u`)"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            ("traefik.http.services.s.loadbalancer.strategy", "fastest"),
            (
                "traefik.http.services.s.loadbalancer.healthcheck.path",
                "/h",
            ),
        ],
    ));
    // A strategy Traefik 3.7 does not know refuses the service (fail closed: its router is
    // closed, answers 503).
    assert!(!cfg.http.services.contains_key("s"));
    assert!(cfg.invalid.routers.contains_key("r"));
    let keys: Vec<&str> = issues.iter().filter_map(|i| i.key.as_deref()).collect();
    assert_eq!(
        keys,
        vec![
            "traefik.http.services.s.loadbalancer.strategy",
            "traefik.http.routers.r",
        ]
    );
    assert!(
        issues[0].message.contains("fastest") && issues[0].message.contains("leasttime"),
        "{}",
        issues[0].message
    );
}

#[test]
fn wrr_strategy_label_is_the_default_and_passive_health_checks_are_read() {
    let (cfg, issues) = translate(&svc(
        "s_w",
        &[
            ("traefik.http.routers.r.rule", "Host(`w`)"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            ("traefik.http.services.s.loadbalancer.strategy", "hrw"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let lb = cfg.http.services["s"].load_balancer.clone().unwrap();
    assert_eq!(lb.strategy.as_deref(), Some("hrw"));
    let (cfg, issues) = translate(&svc(
        "s_l",
        &[
            ("traefik.http.routers.r.rule", "Host(`l`)"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            ("traefik.http.services.s.loadbalancer.strategy", "leasttime"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let lb = cfg.http.services["s"].load_balancer.clone().unwrap();
    assert_eq!(lb.strategy.as_deref(), Some("leasttime"));
    let (cfg, issues) = translate(&svc(
        "s_p",
        &[
            ("traefik.http.routers.r.rule", "Host(`p`)"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            (
                "traefik.http.services.s.loadbalancer.passivehealthcheck.maxfailedattempts",
                "3",
            ),
            (
                "traefik.http.services.s.loadbalancer.passivehealthcheck.failurewindow",
                "30s",
            ),
        ],
    ));
    // passiveHealthCheck (Traefik 3.7) is read from labels.
    assert!(issues.is_empty(), "{issues:?}");
    let lb = cfg.http.services["s"].load_balancer.clone().unwrap();
    let passive = lb.passive_health_check.unwrap();
    assert_eq!(passive.max_failed_attempts, 3);
    assert_eq!(
        passive.failure_window.get(),
        std::time::Duration::from_secs(30)
    );
}

#[test]
fn load_balancer_options_from_labels() {
    let lb = "traefik.http.services.s.loadbalancer";
    let labels: Vec<(String, &str)> = [
        ("server.port", "80"),
        ("passhostheader", "false"),
        ("responseforwarding.flushinterval", "10ms"),
        ("healthcheck.path", "/h"),
        ("healthcheck.followredirects", "false"),
        ("healthcheck.mode", "http"),
        ("healthcheck.unhealthyinterval", "3s"),
        ("healthcheck.method", "HEAD"),
        ("healthcheck.status", "204"),
        ("healthcheck.hostname", "probe.local"),
        ("healthcheck.headers.X-Probe", "1"),
        ("sticky.cookie.name", "pin"),
        ("sticky.cookie.domain", "example.com"),
        ("sticky.cookie.samesite", "strict"),
        ("sticky.cookie.maxage", "60"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{lb}.{k}"), v))
    .collect();
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let (cfg, issues) = translate(&svc("s_lb", &labels));
    assert!(issues.is_empty(), "{issues:?}");
    let Some(lb) = cfg.http.services["s"].load_balancer.clone() else {
        panic!("no load balancer");
    };
    assert!(!lb.pass_host_header);
    let flush = lb.response_forwarding.and_then(|r| r.flush_interval);
    assert_eq!(
        flush.map(|d| d.get()),
        Some(std::time::Duration::from_millis(10))
    );
    let Some(hc) = lb.health_check else {
        panic!("no health check");
    };
    assert_eq!(hc.follow_redirects, Some(false));
    assert_eq!(hc.mode.as_deref(), Some("http"));
    assert_eq!(hc.unhealthy_interval.map(|d| d.get().as_secs()), Some(3));
    assert_eq!(hc.status, Some(204));
    assert_eq!(hc.headers.get("X-Probe").map(String::as_str), Some("1"));
    let cookie = lb.sticky.and_then(|s| s.cookie);
    assert_eq!(
        cookie.and_then(|c| c.domain).as_deref(),
        Some("example.com")
    );
}

#[test]
fn mirroring_and_failover_cannot_come_from_labels() {
    for kind in ["mirroring.service", "failover.service"] {
        let key = format!("traefik.http.services.s.{kind}");
        let (cfg, issues) = translate(&svc(
            "s_k",
            &[
                ("traefik.http.routers.r.rule", "Host(`k`)"),
                (&key, "other"),
            ],
        ));
        assert!(!cfg.http.services.contains_key("s"), "{kind}");
        assert!(
            issues.iter().any(|i| i.message.contains("file provider")),
            "{issues:?}"
        );
    }
}

#[test]
fn explicit_server_urls_are_kept() {
    let (cfg, issues) = translate(&svc(
        "s_x",
        &[(
            "traefik.http.services.ext.loadbalancer.servers[0].url",
            "http://10.9.9.9:81/",
        )],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(
        urls(&cfg, "ext"),
        vec![("http://10.9.9.9:81/".to_string(), false)]
    );
}

#[test]
fn middlewares_map_generically_onto_their_types() {
    let (cfg, issues) = translate(&svc(
        "s_m",
        &[
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            (
                "traefik.http.middlewares.hdr.headers.customrequestheaders.X-Script-Name",
                "test",
            ),
            (
                "traefik.http.middlewares.hdr.headers.customResponseHeaders.X-Custom",
                "v",
            ),
            (
                "traefik.http.middlewares.https.redirectscheme.scheme",
                "https",
            ),
            (
                "traefik.http.middlewares.https.redirectscheme.permanent",
                "true",
            ),
            (
                "traefik.http.middlewares.both.chain.middlewares",
                "hdr,https",
            ),
            (
                "traefik.http.middlewares.re.replacepathregex.regex",
                "^/foo/(.*)",
            ),
            (
                "traefik.http.middlewares.re.replacepathregex.replacement",
                "/bar/$1",
            ),
            ("traefik.http.middlewares.sp.stripprefix.prefixes[0]", "/a"),
            ("traefik.http.middlewares.sp.stripprefix.prefixes[1]", "/b"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let m = &cfg.http.middlewares;
    match &m["hdr"] {
        MiddlewareConfig::Headers(h) => {
            assert_eq!(h.custom_request_headers["X-Script-Name"], "test");
            assert_eq!(h.custom_response_headers["X-Custom"], "v");
        }
        other => panic!("{other:?}"),
    }
    match &m["https"] {
        MiddlewareConfig::RedirectScheme(r) => {
            assert_eq!((r.scheme.as_deref(), r.permanent), (Some("https"), true))
        }
        other => panic!("{other:?}"),
    }
    match &m["both"] {
        MiddlewareConfig::Chain(c) => assert_eq!(c.middlewares, vec!["hdr", "https"]),
        other => panic!("{other:?}"),
    }
    match &m["re"] {
        MiddlewareConfig::ReplacePathRegex(r) => assert_eq!(r.replacement, "/bar/$1"),
        other => panic!("{other:?}"),
    }
    match &m["sp"] {
        MiddlewareConfig::StripPrefix(s) => assert_eq!(s.prefixes, vec!["/a", "/b"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsupported_sections_and_bad_default_rule() {
    let (cfg, issues) = translate(&svc(
        "s_tls",
        &[
            ("traefik.tls.options.t.minversion", "VersionTLS12"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
        ],
    ));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].key.as_deref(), Some("traefik.tls"));
    assert!(cfg.http.services.contains_key("s"));

    let opts = LabelOptions {
        default_rule: "Host(`{{ .Nope }}`)".into(),
        ..LabelOptions::default()
    };
    let (cfg, issues) = service_config(
        &svc(
            "s_r",
            &[("traefik.http.services.s.loadbalancer.server.port", "80")],
        ),
        &opts,
    );
    assert!(cfg.http.routers.is_empty());
    assert_eq!(issues[0].element, Element::Router);
    assert_eq!(
        issues[0].key.as_deref(),
        Some("traefik.http.routers.s-r.rule")
    );
}

#[test]
fn compress_true_and_options() {
    let (cfg, issues) = translate(&svc(
        "s_web",
        &[
            ("traefik.http.routers.web.middlewares", "gz,gz2"),
            ("traefik.http.middlewares.gz.compress", "true"),
            (
                "traefik.http.middlewares.gz2.compress.excludedcontenttypes",
                "text/event-stream,image/png",
            ),
            ("traefik.http.middlewares.gz2.compress.encodings", "zstd,br"),
            (
                "traefik.http.middlewares.gz2.compress.minresponsebodybytes",
                "1200",
            ),
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(
        cfg.http.middlewares["gz"],
        MiddlewareConfig::Compress(Default::default())
    );
    match &cfg.http.middlewares["gz2"] {
        MiddlewareConfig::Compress(c) => {
            assert_eq!(
                c.excluded_content_types,
                vec!["text/event-stream", "image/png"]
            );
            assert_eq!(c.encodings, Some(vec!["zstd".into(), "br".into()]));
            assert_eq!(c.min_response_body_bytes, 1200);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn circuit_breaker_and_errors_labels() {
    let (cfg, issues) = translate(&svc(
        "s_cb",
        &[
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            (
                "traefik.http.middlewares.cb.circuitbreaker.expression",
                "LatencyAtQuantileMS(50.0) > 100",
            ),
            (
                "traefik.http.middlewares.cb.circuitbreaker.fallbackDuration",
                "3s",
            ),
            (
                "traefik.http.middlewares.cb.circuitbreaker.responsecode",
                "429",
            ),
            (
                "traefik.http.middlewares.test-errors.errors.status",
                "500,501,503,505-599",
            ),
            (
                "traefik.http.middlewares.test-errors.errors.statusRewrites.502-504",
                "500",
            ),
            (
                "traefik.http.middlewares.test-errors.errors.service",
                "serviceError",
            ),
            (
                "traefik.http.middlewares.test-errors.errors.query",
                "/{status}.html",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let MiddlewareConfig::CircuitBreaker(cb) = &cfg.http.middlewares["cb"] else {
        panic!("{:?}", cfg.http.middlewares["cb"]);
    };
    assert_eq!(cb.expression, "LatencyAtQuantileMS(50.0) > 100");
    assert_eq!(
        cb.fallback_duration.map(|d| d.get()),
        Some(std::time::Duration::from_secs(3))
    );
    assert_eq!(cb.response_code, Some(429));
    let MiddlewareConfig::Errors(e) = &cfg.http.middlewares["test-errors"] else {
        panic!("{:?}", cfg.http.middlewares["test-errors"]);
    };
    assert_eq!(e.status, ["500", "501", "503", "505-599"]);
    assert_eq!(e.status_rewrites["502-504"], 500);
    assert_eq!(e.service, "serviceError");
    assert_eq!(e.query.as_deref(), Some("/{status}.html"));
    crate::middleware::Middleware::validate(&cfg.http.middlewares["cb"]).unwrap();
    crate::middleware::Middleware::validate(&cfg.http.middlewares["test-errors"]).unwrap();
}

#[test]
fn forward_auth_labels() {
    let (cfg, issues) = translate(&svc(
        "s_fa",
        &[
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            (
                "traefik.http.middlewares.fa.forwardauth.address",
                "https://auth:9091/api/verify?rd=https://login",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.trustForwardHeader",
                "true",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.authresponseheaders",
                "X-User,X-Email",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.authResponseHeadersRegex",
                "^X-Group",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.addauthcookiestoresponse",
                "sess",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.tls.insecureSkipVerify",
                "true",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.forwardBody",
                "true",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.maxBodySize",
                "1024",
            ),
            (
                "traefik.http.middlewares.fa.forwardauth.authSigninURL",
                "https://login/",
            ),
            (
                "traefik.http.middlewares.cached.forwardauth.address",
                "http://auth/",
            ),
            (
                "traefik.http.middlewares.cached.forwardauth.authResponseCache.keyHeaders",
                "Cookie,Authorization",
            ),
            (
                "traefik.http.middlewares.cached.forwardauth.authResponseCache.ttl",
                "30s",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let MiddlewareConfig::ForwardAuth(fa) = &cfg.http.middlewares["fa"] else {
        panic!("{:?}", cfg.http.middlewares["fa"]);
    };
    assert_eq!(fa.address, "https://auth:9091/api/verify?rd=https://login");
    assert_eq!(fa.trust_forward_header, Some(true));
    assert_eq!(fa.auth_response_headers, ["X-User", "X-Email"]);
    assert_eq!(fa.auth_response_headers_regex, "^X-Group");
    assert_eq!(fa.add_auth_cookies_to_response, ["sess"]);
    assert!(fa.tls.as_ref().is_some_and(|t| t.insecure_skip_verify));
    assert!(fa.forward_body);
    assert_eq!(fa.max_body_size, Some(1024));
    assert_eq!(fa.auth_signin_url, "https://login/");
    let MiddlewareConfig::ForwardAuth(cached) = &cfg.http.middlewares["cached"] else {
        panic!("{:?}", cfg.http.middlewares["cached"]);
    };
    let cache = cached.auth_response_cache.as_ref().unwrap();
    assert_eq!(cache.key_headers, ["Cookie", "Authorization"]);
    for name in ["fa", "cached"] {
        crate::middleware::Middleware::validate(&cfg.http.middlewares[name]).unwrap();
    }
}

/// Issue 16 point 3: Traefik 3.7's `encodedCharacters` middleware reads from labels.
#[test]
fn encoded_characters_middleware_from_labels() {
    let (cfg, issues) = translate(&svc(
        "s_enc",
        &[
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            (
                "traefik.http.middlewares.enc.encodedcharacters.allowencodedslash",
                "true",
            ),
            (
                "traefik.http.middlewares.enc.encodedCharacters.allowEncodedHash",
                "false",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    match &cfg.http.middlewares["enc"] {
        MiddlewareConfig::EncodedCharacters(c) => {
            assert_eq!(c.allow_encoded_slash, Some(true));
            assert_eq!(c.allow_encoded_hash, Some(false));
            assert_eq!(c.allow_encoded_percent, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn content_type_digest_auth_ip_white_list_and_grpc_web_labels() {
    let (cfg, issues) = translate(&svc(
        "s_web",
        &[
            ("traefik.http.routers.web.middlewares", "ct,ct2,da,wl,gw"),
            (
                "traefik.http.middlewares.gw.grpcweb.alloworigins",
                "https://a.example,https://b.example",
            ),
            ("traefik.http.middlewares.ct.contenttype", "true"),
            (
                "traefik.http.middlewares.ct2.contenttype.autodetect",
                "false",
            ),
            (
                "traefik.http.middlewares.da.digestauth.users",
                "test:traefik:a2688e031edb4be6a3797f3882655c05",
            ),
            (
                "traefik.http.middlewares.wl.ipwhitelist.sourcerange",
                "10.0.0.0/8",
            ),
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(
        cfg.http.middlewares["ct"],
        MiddlewareConfig::ContentType(Default::default())
    );
    assert_eq!(
        cfg.http.middlewares["ct2"],
        MiddlewareConfig::ContentType(crate::config::middleware::ContentTypeConfig {
            auto_detect: Some(false)
        })
    );
    assert_eq!(cfg.http.middlewares["da"].kind(), "digestAuth");
    assert_eq!(cfg.http.middlewares["wl"].kind(), "ipWhiteList");
    assert_eq!(
        cfg.http.middlewares["gw"],
        MiddlewareConfig::GrpcWeb(crate::config::middleware::GrpcWebConfig {
            allow_origins: vec!["https://a.example".into(), "https://b.example".into()]
        })
    );
}

#[test]
fn names_differing_only_in_case_describe_one_element_as_in_traefik() {
    // paerser sorts the label keys and keeps the first spelling: "Mixed" < "mixed" in byte order.
    let (cfg, issues) = translate(&svc(
        "mystack_app",
        &[
            ("traefik.http.routers.Mixed.rule", "Host(`a.example.com`)"),
            ("traefik.http.routers.mixed.middlewares", "Strip"),
            ("traefik.http.routers.MIXED.entrypoints", "web"),
            ("traefik.http.middlewares.strip.stripprefix.prefixes", "/a"),
            (
                "traefik.http.middlewares.Strip.stripprefix.forceSlash",
                "false",
            ),
            ("traefik.http.services.App.loadbalancer.server.port", "8080"),
            (
                "traefik.http.services.app.loadbalancer.passhostheader",
                "false",
            ),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(cfg.http.routers.len(), 1, "{:?}", cfg.http.routers.keys());
    let r = &cfg.http.routers["MIXED"];
    assert_eq!(r.rule, "Host(`a.example.com`)");
    assert_eq!(r.entry_points, vec!["web"]);
    assert_eq!(r.middlewares, vec!["Strip"]);
    assert_eq!(r.service, "App");
    assert_eq!(cfg.http.middlewares.len(), 1);
    assert!(cfg.http.middlewares.contains_key("Strip"));
    assert_eq!(cfg.http.services.len(), 1);
    let lb = cfg.http.services["App"].load_balancer.as_ref().unwrap();
    assert!(!lb.pass_host_header);
    // A field written twice in different case: the last in byte order wins, as in paerser.
    let (cfg, _) = translate(&svc(
        "mystack_app",
        &[
            ("traefik.http.routers.r.rule", "Host(`first.example.com`)"),
            ("traefik.http.routers.R.Rule", "Host(`second.example.com`)"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
        ],
    ));
    assert_eq!(cfg.http.routers.len(), 1);
    assert_eq!(cfg.http.routers["R"].rule, "Host(`first.example.com`)");
}

#[test]
fn pass_tls_client_cert_labels() {
    let (cfg, issues) = translate(&svc(
        "s_web",
        &[
            ("traefik.http.routers.web.middlewares", "ptc"),
            ("traefik.http.middlewares.ptc.passtlsclientcert.pem", "true"),
            (
                "traefik.http.middlewares.ptc.passtlsclientcert.info.notafter",
                "true",
            ),
            (
                "traefik.http.middlewares.ptc.passtlsclientcert.info.subject.commonname",
                "true",
            ),
            (
                "traefik.http.middlewares.ptc.passtlsclientcert.info.subject.organizationalunit",
                "true",
            ),
            (
                "traefik.http.middlewares.ptc.passtlsclientcert.info.issuer.domaincomponent",
                "true",
            ),
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    match &cfg.http.middlewares["ptc"] {
        MiddlewareConfig::PassTlsClientCert(c) => {
            assert!(c.pem);
            let info = c.info.as_ref().unwrap();
            assert!(info.not_after && !info.not_before);
            let subject = info.subject.as_ref().unwrap();
            assert!(subject.common_name && subject.organizational_unit && !subject.country);
            assert!(info.issuer.as_ref().unwrap().domain_component);
        }
        other => panic!("{other:?}"),
    }
}

/// Issue 18 §3: `rateLimit.redis` from labels, as from the file provider.
#[test]
fn rate_limit_redis_from_labels() {
    let rl = "traefik.http.middlewares.rl.ratelimit";
    let labels: Vec<(String, &str)> = [
        ("average", "10"),
        ("burst", "20"),
        ("redis.endpoints", "redis:6379"),
        ("redis.username", "edge"),
        ("redis.password", "secret"),
        ("redis.db", "2"),
        ("redis.poolsize", "4"),
        ("redis.maxactiveconns", "8"),
        ("redis.readtimeout", "2s"),
        ("redis.dialtimeout", "1s"),
        ("redis.tls.insecureskipverify", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{rl}.{k}"), v))
    .chain([(
        "traefik.http.services.web.loadbalancer.server.port".to_string(),
        "80",
    )])
    .collect();
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let (cfg, issues) = translate(&svc("s_rl", &labels));
    assert!(issues.is_empty(), "{issues:?}");
    let MiddlewareConfig::RateLimit(c) = &cfg.http.middlewares["rl"] else {
        panic!("not a rateLimit")
    };
    let redis = c.redis.as_ref().unwrap();
    assert_eq!(redis.endpoints, ["redis:6379"]);
    assert_eq!(
        (redis.username.as_str(), redis.password.as_str()),
        ("edge", "secret")
    );
    assert_eq!(
        (redis.db, redis.pool_size, redis.max_active_conns),
        (2, 4, 8)
    );
    assert!(redis.tls.as_ref().unwrap().insecure_skip_verify);
    assert!(crate::middleware::Middleware::validate(&cfg.http.middlewares["rl"]).is_ok());
}

#[test]
fn router_observability_labels_are_read_and_a_typo_leaves_the_router_out() {
    let (cfg, issues) = translate(&svc(
        "s_o",
        &[
            ("traefik.http.routers.r.rule", "Host(`o`)"),
            ("traefik.http.routers.r.observability.accesslogs", "false"),
            ("traefik.http.routers.r.observability.metrics", "false"),
            ("traefik.http.routers.r.observability.tracing", "true"),
            (
                "traefik.http.routers.r.observability.traceverbosity",
                "detailed",
            ),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
        ],
    ));
    assert!(issues.is_empty(), "{issues:?}");
    let obs = cfg.http.routers["r"].observability.clone().unwrap();
    assert_eq!(obs.access_logs, Some(false));
    assert_eq!(obs.metrics, Some(false));
    assert_eq!(obs.tracing, Some(true));
    assert_eq!(
        obs.trace_verbosity,
        Some(crate::config::observability::TraceVerbosity::Detailed)
    );

    // An unknown key under `observability` leaves the router out, as any router label that
    // does not read, naming the nearest valid key.
    let (cfg, issues) = translate(&svc(
        "s_t",
        &[
            ("traefik.http.routers.r.rule", "Host(`t`)"),
            ("traefik.http.routers.r.observability.accesslog", "false"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
        ],
    ));
    assert!(!cfg.http.routers.contains_key("r"));
    let issue = issues
        .iter()
        .find(|i| i.key.as_deref() == Some("traefik.http.routers.r.observability.accesslog"))
        .unwrap_or_else(|| panic!("{issues:?}"));
    assert!(issue.message.contains("accessLogs"), "{}", issue.message);
}
