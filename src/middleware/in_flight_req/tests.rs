use serde_json::json;

use super::*;
use crate::middleware::tests::{compile, ctx_from, req};
use crate::middleware::{Middleware, MiddlewareError};

fn limiter(cfg: serde_json::Value) -> InFlightReq {
    let cfg: InFlightReqConfig = serde_json::from_value(cfg).unwrap();
    InFlightReq::compile(&cfg).unwrap()
}

#[test]
fn limits_concurrent_requests_per_source_and_releases_on_drop() {
    let m = limiter(json!({"amount": 2}));
    let r = req("GET", "/", &[]);
    let a = ctx_from("10.0.0.1:1000", false);
    let b = ctx_from("10.0.0.2:1000", false);
    let p1 = m.acquire(&r, &a).unwrap();
    let p2 = m.acquire(&r, &a).unwrap();
    assert!(m.acquire(&r, &a).is_none(), "third request passed");
    match InFlightReq::refusal() {
        Flow::Respond(resp) => assert_eq!(resp.status(), 429),
        Flow::Continue => panic!("refusal continues"),
    }
    // Another source has its own budget (same port, other address).
    let other = m.acquire(&r, &b).unwrap();
    drop(p1);
    let p3 = m.acquire(&r, &a).unwrap();
    drop((p2, p3, other));
    assert_eq!(m.in_flight_estimate(), 0, "every permit released");
}

#[test]
fn source_criterion_header_and_host() {
    let cases = [
        (
            json!({"amount": 1, "sourceCriterion": {"requestHeaderName": "X-Tenant"}}),
            "x-tenant",
        ),
        (
            json!({"amount": 1, "sourceCriterion": {"requestHost": true}}),
            "host",
        ),
    ];
    for (cfg, header) in cases {
        let m = limiter(cfg);
        let c = ctx_from("10.0.0.1:1", false);
        let one = req("GET", "/", &[(header, "a")]);
        let two = req("GET", "/", &[(header, "b")]);
        let held = m.acquire(&one, &c).unwrap();
        assert!(
            m.acquire(&one, &c).is_none(),
            "{header}: same source over limit"
        );
        let other = m.acquire(&two, &c).unwrap();
        drop((held, other));
    }
}

#[test]
fn bad_amount_is_a_compile_error() {
    for cfg in [
        json!({"inFlightReq": {}}),
        json!({"inFlightReq": {"amount": 0}}),
        json!({"inFlightReq": {"amount": -3}}),
    ] {
        match compile(cfg.clone()) {
            Err(MiddlewareError::Invalid {
                middleware, option, ..
            }) => {
                assert_eq!((middleware, option), ("inFlightReq", "amount"), "{cfg}")
            }
            other => panic!("{cfg}: {other:?}"),
        }
    }
    let bad_header = compile(
        json!({"inFlightReq": {"amount": 1, "sourceCriterion": {"requestHeaderName": "bad header"}}}),
    );
    assert!(matches!(
        bad_header,
        Err(MiddlewareError::HeaderName { .. })
    ));
}

#[test]
fn the_proxy_hook_holds_permits() {
    let m = compile(json!({"inFlightReq": {"amount": 1}})).unwrap();
    assert_eq!(m.kind(), "inFlightReq");
    let c = ctx_from("10.0.0.1:1", false);
    let mut r = req("GET", "/", &[]);
    let mut held = Vec::new();
    assert!(matches!(
        m.on_request_held(&mut r, &c, &mut held),
        Flow::Continue
    ));
    assert_eq!(held.len(), 1);
    let mut second = Vec::new();
    assert!(matches!(
        m.on_request_held(&mut r, &c, &mut second),
        Flow::Respond(_)
    ));
    assert!(second.is_empty());
    drop(held);
    let Middleware::InFlightReq(inner) = &m else {
        panic!()
    };
    assert_eq!(inner.in_flight_estimate(), 0);
}
