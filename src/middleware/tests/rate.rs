//! rateLimit.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{compile, ctx_from, req, responded, values};
use crate::config::middleware::RateLimitConfig;
use crate::middleware::rate_limit::{RateLimit, MAX_SOURCES};
use crate::middleware::{Flow, Middleware, MiddlewareError};

fn limiter(cfg: serde_json::Value) -> RateLimit {
    let cfg: RateLimitConfig = serde_json::from_value(cfg).unwrap();
    RateLimit::compile(&cfg).unwrap()
}

/// Sends `n` requests from `client` at `at`; returns how many passed.
fn passed(rl: &RateLimit, client: &str, headers: &[(&str, &str)], n: usize, at: Instant) -> usize {
    (0..n)
        .filter(|_| {
            let r = req("GET", "/", headers);
            matches!(rl.check(&r, &ctx_from(client, false), at), Flow::Continue)
        })
        .count()
}

#[test]
fn burst_then_refill() {
    let rl = limiter(json!({"average": 10, "burst": 5}));
    let t0 = Instant::now();
    let cases = [
        // (offset ms, requests, expected passed)
        (0, 8, 5),     // burst of 5
        (50, 1, 0),    // 0.5 token
        (100, 2, 1),   // one token after 100 ms at 10/s
        (1100, 20, 5), // refills to burst, never beyond
    ];
    for (ms, n, want) in cases {
        let got = passed(&rl, "10.0.0.1:1", &[], n, t0 + Duration::from_millis(ms));
        assert_eq!(got, want, "at {ms} ms");
    }
}

#[test]
fn period_and_retry_after() {
    // 1 request per minute, burst 1.
    let rl = limiter(json!({"average": 1, "period": "1m", "burst": 1}));
    let t0 = Instant::now();
    let r = req("GET", "/", &[]);
    let c = ctx_from("10.0.0.1:1", false);
    assert!(matches!(rl.check(&r, &c, t0), Flow::Continue));
    let resp = responded(rl.check(&r, &c, t0 + Duration::from_secs(10)));
    assert_eq!(resp.status(), 429);
    assert_eq!(values(resp.headers(), "retry-after"), "50");
    assert!(matches!(
        rl.check(&r, &c, t0 + Duration::from_secs(61)),
        Flow::Continue
    ));
}

#[test]
fn sources_are_separate() {
    let t0 = Instant::now();
    let cases = [
        // (config, requests as (client, headers), expected passed per request)
        (
            json!({"average": 1, "burst": 1}),
            vec![
                ("10.0.0.1:1", None),
                ("10.0.0.2:1", None),
                ("10.0.0.1:2", None),
            ],
            vec![true, true, false],
        ),
        (
            json!({"average": 1, "burst": 1, "sourceCriterion": {"ipStrategy": {"depth": 1}}}),
            vec![
                ("10.0.0.1:1", Some(("x-forwarded-for", "1.1.1.1"))),
                ("10.0.0.1:1", Some(("x-forwarded-for", "2.2.2.2"))),
                ("10.0.0.9:1", Some(("x-forwarded-for", "1.1.1.1"))),
            ],
            vec![true, true, false],
        ),
        (
            json!({"average": 1, "burst": 1, "sourceCriterion": {"requestHeaderName": "X-Api-Key"}}),
            vec![
                ("10.0.0.1:1", Some(("x-api-key", "a"))),
                ("10.0.0.1:1", Some(("x-api-key", "b"))),
                ("10.0.0.2:1", Some(("x-api-key", "a"))),
            ],
            vec![true, true, false],
        ),
        (
            json!({"average": 1, "burst": 1, "sourceCriterion": {"requestHost": true}}),
            vec![
                ("10.0.0.1:1", Some(("host", "a.example"))),
                ("10.0.0.2:1", Some(("host", "b.example"))),
                ("10.0.0.3:1", Some(("host", "a.example"))),
            ],
            vec![true, true, false],
        ),
    ];
    for (cfg, requests, want) in cases {
        let rl = limiter(cfg.clone());
        let got: Vec<bool> = requests
            .iter()
            .map(|(client, h)| {
                let headers: Vec<(&str, &str)> = h.iter().copied().collect();
                passed(&rl, client, &headers, 1, t0) == 1
            })
            .collect();
        assert_eq!(got, want, "{cfg}");
    }
}

#[test]
fn average_zero_means_no_limit() {
    let m = compile(json!({"rateLimit": {"average": 0, "burst": 1}})).unwrap();
    let Middleware::RateLimit(rl) = &m else {
        panic!("not a rateLimit")
    };
    assert_eq!(passed(rl, "10.0.0.1:1", &[], 1000, Instant::now()), 1000);
    assert_eq!(rl.tracked_sources(), 0);
}

#[test]
fn state_is_bounded() {
    let rl = limiter(json!({"average": 1, "period": "1h", "burst": 2}));
    let t0 = Instant::now();
    for i in 0..(MAX_SOURCES + 5000) {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000u32 + u32::try_from(i).unwrap());
        passed(&rl, &format!("{ip}:1"), &[], 1, t0);
    }
    assert!(
        rl.tracked_sources() <= MAX_SOURCES,
        "{}",
        rl.tracked_sources()
    );
}

#[test]
fn bad_rate_limit_configs_are_errors() {
    let cases = [
        (json!({"average": -1}), "average"),
        (
            json!({"average": 1, "sourceCriterion": {"requestHeaderName": "bad header"}}),
            "bad header",
        ),
        (
            json!({"average": 1, "sourceCriterion": {"ipStrategy": {"excludedIPs": ["x/8"]}}}),
            "x/8",
        ),
    ];
    for (cfg, needle) in cases {
        let err = compile(json!({"rateLimit": cfg})).unwrap_err();
        assert!(err.to_string().contains(needle), "{cfg}: {err}");
    }
    let err = compile(json!({"rateLimit": {"average": -5}})).unwrap_err();
    assert!(
        matches!(
            err,
            MiddlewareError::Invalid {
                option: "average",
                ..
            }
        ),
        "{err:?}"
    );
}
