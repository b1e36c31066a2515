use serde_json::json;

use crate::config::elements::{accept, read};
use crate::config::tcp::TcpElement;
use crate::config::Element;

#[test]
fn a_bad_tcp_element_is_reported_alone_with_the_nearest_name() {
    let r = read(
        json!({
            "http": {"routers": {"web": {"rule": "Host(`a`)", "service": "s"}}},
            "tcp": {
                "routers": {
                    "good": {"rule": "HostSNI(`*`)", "service": "redis"},
                    "typo": {"rule": "HostSNI(`*`)", "servce": "redis"},
                    "badrule": {"rule": "Host(`a`)", "service": "redis"},
                },
                "services": {
                    "redis": {"loadBalancer": {"servers": [{"address": "127.0.0.1:6379"}]}},
                    "noport": {"loadBalancer": {"servers": [{"address": "127.0.0.1"}]}},
                },
                "middlewares": {"mw": {"ipAllowLst": {"sourceRange": ["10.0.0.0/8"]}}},
                "serversTransports": {"t": {"dialTimeout": "2s", "terminationDelay": "100ms"}},
                "routrs": {},
            }
        }),
        "dyn.yml",
        &|_| None,
        accept,
    );
    let cfg = &r.config;
    assert!(cfg.http.routers.contains_key("web"));
    assert_eq!(cfg.tcp.routers.keys().collect::<Vec<_>>(), ["good"]);
    assert_eq!(cfg.tcp.services.keys().collect::<Vec<_>>(), ["redis"]);
    assert!(cfg.tcp.servers_transports.contains_key("t"));
    let find = |name: &str| {
        r.issues
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.to_string())
            .unwrap_or_default()
    };
    assert!(find("typo").contains("servce"), "{:?}", r.issues);
    assert!(
        find("badrule").contains("unknown TCP matcher `Host`"),
        "{:?}",
        r.issues
    );
    assert!(
        find("noport").contains("expected host:port"),
        "{:?}",
        r.issues
    );
    assert!(
        find("mw").contains("did you mean `ipAllowList`"),
        "{:?}",
        r.issues
    );
    assert!(
        find("dyn.yml").contains("did you mean `routers`"),
        "{:?}",
        r.issues
    );
    assert!(cfg
        .tcp
        .invalid
        .contains_key(&(TcpElement::Service, "noport".into())));
    assert!(r
        .issues
        .iter()
        .all(|i| i.element != Element::Source || i.name == "dyn.yml"));
}

#[test]
fn merge_qualifies_tcp_names_and_references() {
    let r = read(
        json!({"tcp": {
            "routers": {"pg": {"rule": "HostSNI(`db.test`)", "service": "pg",
                               "middlewares": ["lan", "x@swarm"], "tls": {"passthrough": true}}},
            "services": {"pg": {"loadBalancer": {"servers": [{"address": "127.0.0.1:5432"}],
                                                  "serversTransport": "t"}}},
        }}),
        "f",
        &|_| None,
        accept,
    );
    let (merged, issues) = crate::config::merge::merge([("file", &r.config)]);
    assert!(issues.is_empty(), "{issues:?}");
    let router = &merged.tcp.routers["pg@file"];
    assert_eq!(router.service, "pg@file");
    assert_eq!(router.middlewares, ["lan@file", "x@swarm"]);
    let lb = merged.tcp.services["pg@file"]
        .load_balancer
        .as_ref()
        .unwrap();
    assert_eq!(lb.servers_transport.as_deref(), Some("t@file"));
}

#[test]
fn what_swarmgate_cannot_honour_is_refused_by_name() {
    let r = read(
        json!({"tcp": {
            "services": {"hc": {"loadBalancer": {
                "servers": [{"address": "127.0.0.1:5432", "tls": true}],
                "healthCheck": {"interval": "5s", "send": "PING", "expect": "PONG"}}}},
            "serversTransports": {"sp": {"tls": {"spiffe": {"ids": ["x"]}}}},
        }}),
        "f",
        &|_| None,
        accept,
    );
    assert!(r.config.tcp.services.is_empty());
    assert!(r.config.tcp.servers_transports.is_empty());
    let text: Vec<String> = r.issues.iter().map(|i| i.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("healthCheck.send/expect with `tls: true`")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.contains("spiffe")), "{text:?}");
}
