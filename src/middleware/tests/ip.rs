//! ipAllowList and ipStrategy.

use serde_json::json;

use super::{compile, ctx_from, req, responded};
use crate::middleware::{Flow, MiddlewareError};

fn allowed(cfg: &serde_json::Value, client: &str, xff: Option<&str>) -> bool {
    let m = compile(cfg.clone()).unwrap();
    let headers: Vec<(&str, &str)> = xff.iter().map(|x| ("x-forwarded-for", *x)).collect();
    let mut r = req("GET", "/", &headers);
    match m.on_request(&mut r, &ctx_from(client, false)) {
        Flow::Continue => true,
        flow => {
            assert_eq!(responded(flow).status(), 403);
            false
        }
    }
}

#[test]
fn ip_allow_list_table() {
    let plain =
        json!({"ipAllowList": {"sourceRange": ["127.0.0.1/32", "192.168.1.7", "fd00::/8"]}});
    let depth2 =
        json!({"ipAllowList": {"sourceRange": ["10.1.0.0/16"], "ipStrategy": {"depth": 2}}});
    let excluded = json!({"ipAllowList": {
        "sourceRange": ["10.1.0.0/16"],
        "ipStrategy": {"excludedIPs": ["172.16.0.0/12", "10.9.9.9"]}
    }});
    let subnet = json!({"ipAllowList": {
        "sourceRange": ["2001:db8:1:2::/128", "10.1.0.1"],
        "ipStrategy": {"ipv6Subnet": 64}
    }});
    let negative_depth =
        json!({"ipAllowList": {"sourceRange": ["10.1.0.0/16"], "ipStrategy": {"depth": -1}}});
    let cases = [
        (&negative_depth, "10.1.0.1:1", Some("8.8.8.8"), true), // depth <= 0 is ignored
        (&plain, "127.0.0.1:1", None, true),
        (&plain, "192.168.1.7:1", None, true),
        (&plain, "192.168.1.8:1", None, false),
        (&plain, "[fd12::1]:1", None, true),
        (&plain, "[::ffff:127.0.0.1]:1", None, true), // v4-mapped v6
        (&plain, "8.8.8.8:1", Some("127.0.0.1"), false), // XFF ignored without a strategy
        (
            &depth2,
            "8.8.8.8:1",
            Some("1.1.1.1, 10.1.2.3, 172.16.0.1"),
            true,
        ),
        (
            &depth2,
            "8.8.8.8:1",
            Some("10.1.2.3, 1.1.1.1, 172.16.0.1"),
            false,
        ),
        (&depth2, "10.1.0.1:1", Some("172.16.0.1"), false), // too few entries
        (&depth2, "10.1.0.1:1", None, false),
        (
            &excluded,
            "8.8.8.8:1",
            Some("10.1.0.5, 172.16.0.2, 10.9.9.9"),
            true,
        ),
        (
            &excluded,
            "8.8.8.8:1",
            Some("10.1.0.5, 8.8.4.4, 172.16.0.2"),
            false,
        ),
        (&excluded, "10.1.0.1:1", Some("172.16.0.2"), false), // all excluded
        (&excluded, "8.8.8.8:1", Some("garbage, 172.16.0.2"), false),
        (&subnet, "[2001:db8:1:2::99]:1", None, true), // -> 2001:db8:1:2::
        (&subnet, "[2001:db8:1:3::1]:1", None, false), // -> 2001:db8:1:3::
        (&subnet, "10.1.0.1:1", None, true),           // IPv4 untouched
    ];
    for (cfg, client, xff, want) in cases {
        assert_eq!(allowed(cfg, client, xff), want, "{cfg} {client} {xff:?}");
    }
}

#[test]
fn reject_status_code() {
    let m =
        compile(json!({"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 404}}))
            .unwrap();
    let mut r = req("GET", "/", &[]);
    let resp = responded(m.on_request(&mut r, &ctx_from("8.8.8.8:1", false)));
    assert_eq!(resp.status(), 404);
}

/// The codes the real Traefik 3.7.15 accepts and refuses (`invalid HTTP status code N`); 0 is
/// its default (403). 1xx, which Traefik takes but cannot answer with, are refused.
#[test]
fn reject_status_codes_as_traefik_validates_them() {
    let reject = |code: u16| {
        compile(json!({"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": code}}))
            .map(|m| {
                let mut r = req("GET", "/", &[]);
                responded(m.on_request(&mut r, &ctx_from("8.8.8.8:1", false))).status()
            })
    };
    assert_eq!(reject(0).unwrap(), 403);
    assert_eq!(reject(418).unwrap(), 418);
    assert_eq!(reject(503).unwrap(), 503);
    for bad in [99, 100, 299, 599, 600, 700, 999] {
        let err = reject(bad).unwrap_err();
        assert!(err.to_string().contains("rejectStatusCode"), "{bad}: {err}");
    }
}

#[test]
fn bad_ip_allow_list_configs_are_errors() {
    let cases = [
        (json!({"sourceRange": []}), "sourceRange"),
        (json!({"sourceRange": ["10.0.0.0/33"]}), "10.0.0.0/33"),
        (json!({"sourceRange": ["not-an-ip"]}), "not-an-ip"),
        (
            json!({"sourceRange": ["10.0.0.1", "300.1.1.1"]}),
            "300.1.1.1",
        ),
        (
            json!({"sourceRange": ["10.0.0.0/8"], "ipStrategy": {"excludedIPs": ["1.2.3/8"]}}),
            "1.2.3/8",
        ),
        (
            json!({"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 42}),
            "rejectStatusCode",
        ),
    ];
    for (cfg, needle) in cases {
        let err = compile(json!({"ipAllowList": cfg})).unwrap_err();
        assert!(err.to_string().contains(needle), "{cfg}: {err}");
        assert!(
            matches!(
                err,
                MiddlewareError::Invalid { .. } | MiddlewareError::Missing { .. }
            ),
            "{err:?}"
        );
    }
}

/// `ipWhiteList`, Traefik's deprecated name: the same checks, always 403, no
/// `rejectStatusCode` (an unknown option of that type), an empty `sourceRange` refused.
#[test]
fn ip_white_list_is_ip_allow_list_without_reject_status() {
    let plain = json!({"ipWhiteList": {"sourceRange": ["127.0.0.1/32", "fd00::/8"]}});
    let depth1 =
        json!({"ipWhiteList": {"sourceRange": ["10.1.0.0/16"], "ipStrategy": {"depth": 1}}});
    let cases = [
        (&plain, "127.0.0.1:1", None, true),
        (&plain, "127.0.0.2:1", None, false),
        (&plain, "[fd12::1]:1", None, true),
        (&depth1, "8.8.8.8:1", Some("1.1.1.1, 10.1.2.3"), true),
        (&depth1, "10.1.0.1:1", Some("10.1.2.3, 8.8.8.8"), false),
    ];
    for (cfg, client, xff, want) in cases {
        assert_eq!(allowed(cfg, client, xff), want, "{cfg} {client} {xff:?}");
    }
    let err = compile(json!({"ipWhiteList": {"sourceRange": []}})).unwrap_err();
    assert!(
        matches!(
            err,
            MiddlewareError::Missing {
                option: "sourceRange",
                ..
            }
        ),
        "{err}"
    );
    let unknown: Result<crate::middleware::MiddlewareConfig, _> = serde_json::from_value(
        json!({"ipWhiteList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 404}}),
    );
    assert!(unknown.is_err());
}
