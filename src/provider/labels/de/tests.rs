//! Deserializer tests: typed values, case-insensitive names, lists, enums, error paths.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;
use crate::config::dynamic::{HealthCheckConfig, RouterTlsConfig};
use crate::config::middleware::MiddlewareConfig;

fn tree(pairs: &[(&str, &str)]) -> Node {
    let mut root = Node::default();
    for (k, v) in pairs {
        root.insert(&crate::provider::labels::tree::split_key(k), v.to_string());
    }
    root
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Sample {
    #[serde(default)]
    max_age: Option<i64>,
    #[serde(default)]
    http_only: bool,
    #[serde(default)]
    list: Vec<String>,
}

#[test]
fn struct_fields_case_insensitive_and_typed() {
    let s: Sample = from_node(&tree(&[
        ("MAXAGE", "10"),
        ("httponly", "true"),
        ("list", "a, b,c"),
    ]))
    .unwrap();
    assert_eq!(
        s,
        Sample {
            max_age: Some(10),
            http_only: true,
            list: vec!["a".into(), "b".into(), "c".into()]
        }
    );
}

#[test]
fn errors_carry_the_path() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (&[("maxage", "ten")], "maxage", "expected i64"),
        (&[("httponly", "maybe")], "httponly", "expected a boolean"),
        (
            &[("bogus", "1")],
            "bogus",
            "unknown label key `bogus`, expected one of",
        ),
        (
            &[("maxAg", "1")],
            "maxAg",
            "unknown label key `maxAg`; did you mean `maxAge`?",
        ),
    ];
    for (pairs, path, msg) in cases {
        let err = from_node::<Sample>(&tree(pairs)).unwrap_err();
        assert_eq!(err.path(), *path);
        assert!(err.message.contains(msg), "{}", err.message);
    }
}

#[test]
fn indexed_lists_and_maps() {
    let tls: RouterTlsConfig = from_node(&tree(&[
        ("certresolver", "le"),
        ("domains[1].main", "b.org"),
        ("domains[0].main", "a.org"),
        ("domains[0].sans", "x.a.org,y.a.org"),
    ]))
    .unwrap();
    assert_eq!(tls.cert_resolver.as_deref(), Some("le"));
    assert_eq!(tls.domains[0].main, "a.org");
    assert_eq!(tls.domains[0].sans, vec!["x.a.org", "y.a.org"]);
    assert_eq!(tls.domains[1].main, "b.org");

    let hc: HealthCheckConfig = from_node(&tree(&[
        ("path", "/health"),
        ("interval", "10s"),
        ("headers.X-Probe", "1"),
    ]))
    .unwrap();
    assert_eq!(hc.interval.map(|d| d.get().as_secs()), Some(10));
    assert_eq!(
        hc.headers,
        BTreeMap::from([("X-Probe".to_string(), "1".to_string())])
    );
}

#[test]
fn enums_by_tag_ignoring_case() {
    let m: MiddlewareConfig = from_node(&tree(&[("stripprefix.prefixes", "/api,/v2")])).unwrap();
    assert_eq!(m.kind(), "stripPrefix");
    let err = from_node::<MiddlewareConfig>(&tree(&[("nosuch.x", "1")])).unwrap_err();
    assert!(
        err.message.contains("unknown kind `nosuch`"),
        "{}",
        err.message
    );
    let err = from_node::<MiddlewareConfig>(&tree(&[("stripprefx.prefixes", "/a")])).unwrap_err();
    assert!(
        err.message.contains("did you mean `stripPrefix`?"),
        "{}",
        err.message
    );
    let err = from_node::<MiddlewareConfig>(&tree(&[
        ("addprefix.prefix", "/a"),
        ("stripprefix.prefixes", "/b"),
    ]))
    .unwrap_err();
    assert!(err.message.contains("exactly one type"), "{}", err.message);
}

#[test]
fn digest_auth_from_labels() {
    let m: MiddlewareConfig = from_node(&tree(&[
        (
            "digestauth.users",
            "test:traefik:a2688e031edb4be6a3797f3882655c05,test2:traefik:518845800f9e2bfb1f1f740ec24f074e",
        ),
        ("digestauth.realm", "traefik"),
        ("digestauth.headerfield", "X-WebAuth-User"),
        ("digestauth.removeheader", "true"),
        ("digestauth.usersfile", "/run/secrets/htdigest"),
    ]))
    .unwrap();
    let MiddlewareConfig::DigestAuth(c) = m else {
        panic!("{m:?}")
    };
    assert_eq!(c.users.len(), 2);
    assert_eq!(c.realm, "traefik");
    assert_eq!(c.header_field, "X-WebAuth-User");
    assert!(c.remove_header);
    assert_eq!(c.users_file, "/run/secrets/htdigest");
}
