use serde_json::json;

use super::*;

fn read_json(v: Value) -> Reading {
    read(v, "t.yml", &|_| None, accept)
}

#[test]
fn nearest_names_catch_misspellings_only() {
    assert_eq!(nearest("htp", TOP), Some("http"));
    assert_eq!(nearest("HTTP", TOP), Some("http"));
    assert_eq!(
        nearest("stripPrefixx", MIDDLEWARE_TYPES),
        Some("stripPrefix")
    );
    assert_eq!(nearest("ratelimit", MIDDLEWARE_TYPES), Some("rateLimit"));
    assert_eq!(nearest("version", TOP), None);
    assert_eq!(nearest("services", TOP), None);
    assert_eq!(nearest("networks", TOP), None);
}

#[test]
fn middlewares_are_read_one_by_one() {
    let r = read_json(json!({"http": {"middlewares": {
        "good": {"addPrefix": {"prefix": "/a"}},
        "typo": {"stripPrefixx": {"prefixes": ["/a"]}},
        "fa": {"plugin": {"demo": {"answer": 42}}},
        "two": {"addPrefix": {"prefix": "/a"}, "replacePath": {"path": "/"}},
        "badopt": {"addPrefix": {"prefix": "/a", "prefixx": 1}},
    }}}));
    let cfg = &r.config;
    assert_eq!(cfg.http.middlewares.keys().collect::<Vec<_>>(), ["good"]);
    let invalid: Vec<&str> = cfg.invalid.middlewares.keys().map(String::as_str).collect();
    assert_eq!(invalid, ["badopt", "fa", "two", "typo"]);
    let message = |name: &str| {
        r.issues
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.message.clone())
            .unwrap_or_default()
    };
    assert!(
        message("typo").contains("did you mean `stripPrefix`"),
        "{}",
        message("typo")
    );
    assert!(
        message("fa").contains("not supported by swarmgate"),
        "{}",
        message("fa")
    );
    assert!(
        message("two").contains("more than one"),
        "{}",
        message("two")
    );
    assert!(
        message("badopt").contains("prefixx"),
        "{}",
        message("badopt")
    );
    assert!(r
        .issues
        .iter()
        .all(|i| i.element == Element::Middleware && !i.warning));
}

/// The caller's check (the wiring passes `Middleware::validate`; `middleware/tests` covers that
/// one) rejects a middleware that deserialized: it is disabled with the check's message, at its
/// type's key and line.
#[test]
fn the_callers_check_disables_a_middleware_at_its_line() {
    fn no_add_prefix(cfg: &MiddlewareConfig) -> Result<(), String> {
        match cfg {
            MiddlewareConfig::AddPrefix(_) => Err("refused by the check".to_string()),
            _ => Ok(()),
        }
    }
    let doc = json!({"http": {"middlewares": {
        "a": {"addPrefix": {"prefix": "/a"}},
        "s": {"stripPrefix": {"prefixes": ["/a"]}},
    }}});
    let locate = |path: &[&str]| (path == ["http", "middlewares", "a", "addPrefix"]).then_some(7);
    let r = read(doc.clone(), "t.yml", &locate, no_add_prefix);
    assert_eq!(r.config.http.middlewares.keys().collect::<Vec<_>>(), ["s"]);
    assert_eq!(r.config.invalid.middlewares["a"], "is invalid");
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].message, "line 7: refused by the check");
    assert_eq!(
        r.issues[0].key.as_deref(),
        Some("http.middlewares.a.addPrefix")
    );
    assert_eq!(r.issues[0].origin.as_deref(), Some("t.yml"));

    // Read with `accept`, checked afterwards (the inline section): the same issue, no line.
    let mut cfg = read(doc, "t.yml", &|_| None, accept).config;
    assert_eq!(cfg.http.middlewares.len(), 2);
    check_middlewares(&mut cfg, "t.yml", no_add_prefix);
    assert_eq!(cfg.http.middlewares.keys().collect::<Vec<_>>(), ["s"]);
    assert_eq!(cfg.invalid.middlewares["a"], "is invalid");
    assert_eq!(cfg.invalid.issues.len(), 1);
    assert_eq!(cfg.invalid.issues[0].message, "refused by the check");
    assert_eq!(
        cfg.invalid.issues[0].key.as_deref(),
        Some("http.middlewares.a.addPrefix")
    );
}

#[test]
fn a_router_that_cannot_be_read_is_held_closed_with_what_can_be_read() {
    let r = read_json(json!({"http": {"routers": {
        "typo": {"rule": "Host(`a`)", "service": "s", "middelwares": ["auth"],
                 "entryPoints": ["websecure"], "priority": 7, "tls": {}},
        "norule": {"service": "s", "extra": 1},
        "badrule": {"rule": "Host(`a`", "service": "s"},
    }}}));
    let (held, _) = &r.config.invalid.routers["typo"];
    assert_eq!(held.rule, "Host(`a`)");
    assert_eq!(held.entry_points, ["websecure"]);
    assert_eq!(held.priority, Some(7));
    assert!(held.tls.is_some());
    assert!(held.middlewares.is_empty());
    assert_eq!(r.config.invalid.routers.len(), 1);
    assert!(r.config.http.routers.is_empty());
    assert_eq!(r.issues.len(), 3, "{:?}", r.issues);
    let typo = r.issues.iter().find(|i| i.name == "typo").unwrap();
    assert!(typo.message.contains("router closed"), "{typo}");
}

#[test]
fn tcp_is_read_beside_http() {
    let r = read_json(json!({
        "tcp": {"routers": {"db": {"rule": "HostSNI(`*`)", "service": "dbs"}},
                "services": {"dbs": {"loadBalancer": {"servers": [{"address": "10.0.0.5:5432"}]}}}},
        "http": {"routers": {"web": {"rule": "Host(`a`)", "service": "s"}}},
    }));
    assert!(r.config.http.routers.contains_key("web"));
    assert!(r.config.tcp.routers.contains_key("db"));
    assert!(r.config.tcp.services.contains_key("dbs"));
    let names: Vec<(&str, Element)> = r
        .issues
        .iter()
        .map(|i| (i.name.as_str(), i.element))
        .collect();
    assert_eq!(names, []);
}

#[test]
fn services_transports_and_tls_entries_are_read_one_by_one() {
    let r = read_json(json!({
        "http": {
            "services": {
                "ok": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}},
                "bad": {"loadBalancer": {"servers": [{"urll": "http://127.0.0.1:1"}]}},
            },
            "serversTransports": {"t": {"insecureSkipVerify": "maybe"}},
        },
        "tls": {
            "certificates": [{"certFile": "a.pem", "keyFile": "a.key"}, {"certFile": "b.pem"}],
            "options": {
                "modern": {"minVersion": "VersionTLS13", "clientAuth": {"caFiles": ["ca.pem"]}},
                "broken": "x",
                "typo": {"minVersoin": "VersionTLS13"},
                "wrongtype": {"sniStrict": "yes please"},
            },
        },
    }));
    let cfg = &r.config;
    assert!(cfg.http.services.contains_key("ok"));
    assert!(cfg.invalid.services.contains_key("bad"));
    assert!(cfg.invalid.servers_transports.contains_key("t"));
    assert_eq!(cfg.tls.certificates.len(), 1);
    assert!(cfg.tls.options.contains_key("modern"));
    assert_eq!(
        cfg.tls.options["modern"]
            .client_auth
            .as_ref()
            .unwrap()
            .ca_files,
        ["ca.pem"]
    );
    // Each options set is typed on its own: an unknown key or a wrong type disables that set.
    for name in ["broken", "typo", "wrongtype"] {
        assert!(cfg.invalid.tls_options.contains_key(name), "{name}");
        assert!(!cfg.tls.options.contains_key(name), "{name}");
    }
    let typo = r.issues.iter().find(|i| i.name == "typo").unwrap();
    assert!(typo.message.contains("minVersoin"), "{typo}");
    assert_eq!(r.issues.len(), 6, "{:?}", r.issues);
    let bad = r.issues.iter().find(|i| i.name == "bad").unwrap();
    assert_eq!(
        bad.key.as_deref(),
        Some("http.services.bad.loadBalancer.servers.0.urll")
    );
}

#[test]
fn a_document_without_any_section_is_not_a_dynamic_configuration() {
    let r = read_json(json!({"version": "3.8", "services": {"web": {"image": "nginx"}}}));
    assert!(r.not_dynamic);
    assert_eq!(r.issues.len(), 1);
    assert!(r.issues[0].warning);
    let r = read_json(json!({"htp": {"routers": {}}}));
    assert!(
        !r.not_dynamic,
        "a misspelt section is an error, not a foreign file"
    );
    assert!(!r.issues[0].warning);
    let r = read_json(Value::Null);
    assert!(!r.not_dynamic && r.issues.is_empty());
}

#[test]
fn the_inline_static_section_is_read_element_by_element() {
    let toml = r#"
[entryPoints.web]
address = ":80"

[dynamic.http.routers.good]
rule = "Host(`a`)"
service = "s"

[dynamic.http.middlewares.bad.plugin.demo]
answer = 42
"#;
    let cfg: crate::config::StaticConfig = toml::from_str(toml).unwrap();
    let dynamic = cfg.dynamic.unwrap();
    assert!(dynamic.http.routers.contains_key("good"));
    assert!(dynamic.invalid.middlewares.contains_key("bad"));
    assert_eq!(dynamic.invalid.issues.len(), 1);
    assert_eq!(dynamic.invalid.issues[0].name, "bad");
}

/// Issue 18 §3: Traefik 3.7's service options are read (strategies wrr, p2c, hrw, leasttime,
/// failover.errors, highestRandomWeight, passiveHealthCheck); a strategy Traefik does not know is
/// refused by name with the list (not "unknown field").
#[test]
fn traefik_37_service_options_are_read_and_an_unknown_strategy_refused_by_name() {
    let doc = serde_json::json!({"http": {"services": {
        "ok": {"loadBalancer": {"strategy": "wrr", "servers": [{"url": "http://127.0.0.1:9"}]}},
        "empty": {"loadBalancer": {"strategy": "", "servers": [{"url": "http://127.0.0.1:9"}]}},
        "p2c": {"loadBalancer": {"strategy": "p2c", "servers": [{"url": "http://127.0.0.1:9"}]}},
        "hrw-lb": {"loadBalancer": {"strategy": "hrw", "servers": [{"url": "http://127.0.0.1:9"}]}},
        "lt": {"loadBalancer": {"strategy": "leasttime", "servers": [{"url": "http://127.0.0.1:9"}]}},
        "typo": {"loadBalancer": {"strategy": "WRR", "servers": [{"url": "http://127.0.0.1:9"}]}},
        "hrw": {"highestRandomWeight": {"services": [{"name": "ok"}]}},
        "mw": {"middlewares": ["x"], "loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}},
        "fo": {"failover": {"service": "ok", "fallback": "ok", "errors": {"status": ["500"]}}},
        "phc": {"loadBalancer": {"passiveHealthCheck": {"maxFailedAttempts": 2},
                "servers": [{"url": "http://127.0.0.1:9"}]}},
    }}});
    let r = read(doc, "test", &|_| None, accept);
    let services = &r.config.http.services;
    assert!(services.contains_key("ok") && services.contains_key("empty"));
    let strategy = |n: &str| services[n].load_balancer.as_ref().unwrap().strategy.clone();
    assert_eq!(strategy("p2c").as_deref(), Some("p2c"));
    assert_eq!(strategy("hrw-lb").as_deref(), Some("hrw"));
    assert_eq!(strategy("lt").as_deref(), Some("leasttime"));
    // failover.errors is read (Traefik 3.7, `proxy::failover`); maxRequestBodyBytes defaults to -1.
    let errors = services["fo"]
        .failover
        .as_ref()
        .unwrap()
        .errors
        .clone()
        .unwrap();
    assert_eq!(
        (errors.status, errors.max_request_body_bytes),
        (vec!["500".to_string()], -1)
    );
    // highestRandomWeight is read (Traefik 3.7, `table::hrw_service`).
    let hrw = services["hrw"].highest_random_weight.as_ref().unwrap();
    assert_eq!(
        (hrw.services[0].name.as_str(), hrw.services[0].weight),
        ("ok", None)
    );
    // passiveHealthCheck is read (Traefik 3.7, `balance::passive`); failureWindow defaults to 10s.
    let phc = services["phc"]
        .load_balancer
        .as_ref()
        .unwrap()
        .passive_health_check
        .clone();
    let phc = phc.unwrap();
    assert_eq!(
        (phc.max_failed_attempts, phc.failure_window.get().as_secs()),
        (2, 10)
    );
    // Service middlewares are read (applied on a router's own service, see table tests).
    assert_eq!(services["mw"].middlewares, ["x"]);
    assert!(!services.contains_key("typo"));
    assert!(r.config.invalid.services.contains_key("typo"));
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    let typo = r.issues.iter().find(|i| i.name == "typo").unwrap();
    assert_eq!(
        typo.key.as_deref(),
        Some("http.services.typo.loadBalancer.strategy")
    );
    assert!(
        typo.message.contains("unsupported load-balancer strategy")
            && typo.message.contains("leasttime"),
        "{}",
        typo.message
    );
}

#[test]
fn udp_section_is_read_beside_http() {
    let r = read_json(json!({
        "udp": {
            "routers": {
                "dns": {"entryPoints": ["dns"], "service": "dns"},
                "typo": {"entryPoints": ["game"], "servise": "g"},
            },
            "services": {
                "dns": {"loadBalancer": {"servers": [{"address": "10.0.0.1:53"}, {"address": "[::1]:53"}]}},
                "split": {"weighted": {"services": [{"name": "dns", "weight": 3}, {"name": "other"}]}},
                "noport": {"loadBalancer": {"servers": [{"address": "10.0.0.1"}]}},
                "both": {"loadBalancer": {"servers": []}, "weighted": {"services": []}},
                "misspelt": {"loadBalancer": {"servers": [{"adress": "10.0.0.1:53"}]}},
            },
            "middlewares": {},
        },
        "http": {"routers": {"web": {"rule": "Host(`a`)", "service": "s"}}},
    }));
    // HTTP routers are kept whatever the UDP section holds.
    assert!(r.config.http.routers.contains_key("web"));
    let udp = &r.config.udp;
    assert_eq!(udp.routers.keys().collect::<Vec<_>>(), ["dns"]);
    assert_eq!(udp.services.keys().collect::<Vec<_>>(), ["dns", "split"]);
    assert_eq!(udp.invalid.routers["typo"].0.entry_points, ["game"]);
    let bad: Vec<&str> = udp.invalid.services.keys().map(String::as_str).collect();
    assert_eq!(bad, ["both", "misspelt", "noport"]);
    let message = |name: &str| {
        r.issues
            .iter()
            .find(|i| i.name == name)
            .map(|i| (i.element, i.message.clone()))
            .unwrap()
    };
    let (element, typo) = message("typo");
    assert_eq!(element, Element::UdpRouter);
    assert!(typo.contains("did you mean `service`?"), "{typo}");
    assert!(typo.contains("router closed"), "{typo}");
    let (element, misspelt) = message("misspelt");
    assert_eq!(element, Element::UdpService);
    assert!(misspelt.contains("did you mean `address`?"), "{misspelt}");
    assert!(message("noport").1.contains("host:port"));
    assert!(message("both").1.contains("exclusive"));
    let section = r
        .issues
        .iter()
        .find(|i| i.key.as_deref() == Some("udp.middlewares"));
    assert!(section.is_some_and(|i| i.message.contains("UDP has routers and services")));
}
