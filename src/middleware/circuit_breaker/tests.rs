use std::time::{Duration, Instant};

use super::expr::{self, Cmp, Expr, Metric, Values};
use super::*;
use crate::config::duration::Duration as CfgDuration;

struct Fixed {
    net: f64,
    codes: Vec<u64>,
    latency: f64,
}

impl Values for Fixed {
    fn network_error_ratio(&self) -> f64 {
        self.net
    }
    fn codes_in(&self, index: usize) -> u64 {
        self.codes[index]
    }
    fn latency_ms_at(&self, _: f64) -> f64 {
        self.latency
    }
}

#[test]
fn traefik_expressions_parse() {
    let (e, needs) = expr::parse("NetworkErrorRatio() > 0.5").unwrap();
    assert_eq!(e, Expr::Compare(Metric::NetworkErrorRatio, Cmp::Gt, 0.5));
    assert!(needs.code_ranges.is_empty() && !needs.latency);

    let (e, needs) = expr::parse("ResponseCodeRatio(500, 600, 0, 600) > 0.25").unwrap();
    assert_eq!(
        e,
        Expr::Compare(Metric::ResponseCodeRatio { num: 0, den: 1 }, Cmp::Gt, 0.25)
    );
    assert_eq!(needs.code_ranges, vec![(500, 600), (0, 600)]);

    let (_, needs) = expr::parse("LatencyAtQuantileMS(50.0) > 100").unwrap();
    assert!(needs.latency);

    for ok in [
        "NetworkErrorRatio() > 0.30 || ResponseCodeRatio(500, 600, 0, 600) > 0.25",
        "(NetworkErrorRatio() >= 0.1 && LatencyAtQuantileMS(99) <= 50) || NetworkErrorRatio() != 0",
        "ResponseCodeRatio(500,600,0,600)==1",
        "LatencyAtQuantileMS(50.0) < 100",
    ] {
        assert!(expr::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn and_binds_tighter_than_or() {
    let (e, _) = expr::parse(
        "NetworkErrorRatio() > 0.5 || NetworkErrorRatio() < 0.1 && LatencyAtQuantileMS(50) > 10",
    )
    .unwrap();
    assert!(matches!(e, Expr::Or(_, _)));
    // 0.05 < 0.1 but latency is low: the && part is false, the || part too.
    let v = Fixed {
        net: 0.05,
        codes: vec![],
        latency: 1.0,
    };
    assert!(!e.eval(&v));
    let v = Fixed { latency: 20.0, ..v };
    assert!(e.eval(&v));
}

#[test]
fn response_code_ratio_divides_ranges() {
    let (e, _) = expr::parse("ResponseCodeRatio(500, 600, 0, 600) > 0.25").unwrap();
    let v = |bad, all| Fixed {
        net: 0.0,
        codes: vec![bad, all],
        latency: 0.0,
    };
    assert!(e.eval(&v(3, 10)));
    assert!(!e.eval(&v(2, 10)));
    assert!(!e.eval(&v(0, 0)), "no traffic is not a failure");
}

#[test]
fn invalid_expressions_report_a_column() {
    let cases = [
        ("", 1, "expected a function"),
        ("NetworkErrorRatio > 0.5", 19, "expected `(`"),
        ("NetworkErrorRatio() 0.5", 21, "expected a comparison"),
        ("NetworkErrorRatio() > ", 23, "expected a number"),
        ("Foo() > 1", 1, "unknown function"),
        ("ResponseCodeRatio(500, 600) > 1", 1, "takes 4 argument"),
        ("NetworkErrorRatio() > 0.5 &&", 29, "expected a function"),
        ("(NetworkErrorRatio() > 0.5", 27, "expected `)`"),
        ("NetworkErrorRatio() > 0.5 $", 27, "unexpected character"),
        ("NetworkErrorRatio() > 0.5 0.3", 27, "unexpected number"),
        ("LatencyAtQuantileMS(150) > 1", 21, "quantile"),
    ];
    for (src, column, text) in cases {
        let e = expr::parse(src).unwrap_err();
        assert_eq!(e.column, column, "{src:?}: {e}");
        assert!(e.message.contains(text), "{src:?}: {e}");
    }
}

fn cfg(expression: &str) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        expression: expression.into(),
        check_period: Some(CfgDuration(Duration::from_millis(100))),
        fallback_duration: Some(CfgDuration(Duration::from_secs(10))),
        recovery_duration: Some(CfgDuration(Duration::from_secs(10))),
        response_code: None,
    }
}

#[test]
fn bad_config_is_an_error_naming_the_option() {
    let e = CircuitBreaker::compile(&cfg("NetworkErrorRatio() >")).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("circuitBreaker") && text.contains("expression"));
    assert!(text.contains("column 22"), "{text}");
    assert!(CircuitBreaker::compile(&cfg("  ")).is_err());
    let mut c = cfg("NetworkErrorRatio() > 0.5");
    c.response_code = Some(42);
    assert!(CircuitBreaker::compile(&c).is_err());
}

#[test]
fn trips_answers_fallback_recovers_gradually_then_stands_by() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let b =
        CircuitBreaker::compile_at(&cfg("ResponseCodeRatio(500, 600, 0, 600) > 0.5"), t0).unwrap();
    assert_eq!(b.state(), State::Standby);
    assert!(b.admit(at(0)));
    b.record(at(0), 200, Duration::from_millis(1));
    assert_eq!(b.state(), State::Standby);

    // Errors within the check period are counted but only evaluated after it.
    for _ in 0..3 {
        assert!(b.admit(at(50)));
        b.record(at(50), 500, Duration::from_millis(1));
    }
    assert_eq!(b.state(), State::Standby, "checked again only after 100 ms");
    b.record(at(120), 500, Duration::from_millis(1));
    assert_eq!(b.state(), State::Tripped);

    // Fallback: nothing is let through for 10 s, and the answer is responseCode.
    for ms in [120, 5_000, 10_100] {
        assert!(!b.admit(at(ms)), "at {ms} ms");
    }
    assert_eq!(b.fallback().status(), StatusCode::SERVICE_UNAVAILABLE);

    // Recovery starts with the first request after the fallback (10.2 s) and lasts 10 s; the
    // share let through grows with the elapsed time (oxy's ratio controller keeps the share
    // passed so far below elapsed / recoveryDuration, so with steady traffic everything passes
    // from half-way on). One request every 10 ms, counted per quarter:
    let mut quarters = [0usize; 4];
    for i in 0..1000u64 {
        if b.admit(at(10_200 + i * 10)) {
            quarters[(i / 250) as usize] += 1;
        }
    }
    assert_eq!(b.state(), State::Recovering);
    assert!((30..=100).contains(&quarters[0]), "{quarters:?}");
    assert!(quarters[1] > quarters[0] + 50, "{quarters:?}");
    assert_eq!(quarters[3], 250, "{quarters:?}");
    // Good answers during recovery do not trip it.
    b.record(at(20_150), 200, Duration::from_millis(1));
    assert_eq!(b.state(), State::Recovering);

    // After the recovery duration: standby, everything passes.
    assert!(b.admit(at(20_200)));
    assert_eq!(b.state(), State::Standby);
    assert!((0..50).all(|i| b.admit(at(20_300 + i))));
}

#[test]
fn failures_during_recovery_trip_again() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let b = CircuitBreaker::compile_at(&cfg("NetworkErrorRatio() > 0.5"), t0).unwrap();
    b.record(at(0), 502, Duration::from_millis(1));
    assert_eq!(b.state(), State::Tripped);
    assert!(!b.admit(at(5_000)));
    // Recovering from 10 s; a request late in recovery passes and fails again.
    assert!(!b.admit(at(10_000)));
    assert_eq!(b.state(), State::Recovering);
    let passed = (0..20).any(|i| b.admit(at(19_000 + i)));
    assert!(passed);
    b.record(at(19_100), 504, Duration::from_millis(1));
    assert_eq!(b.state(), State::Tripped);
    assert!(!b.admit(at(19_200)));
}

#[test]
fn latency_quantile_trips() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let b = CircuitBreaker::compile_at(&cfg("LatencyAtQuantileMS(50.0) > 100"), t0).unwrap();
    b.record(at(0), 200, Duration::from_millis(20));
    for i in 0..3 {
        b.record(at(10 + i), 200, Duration::from_millis(20));
    }
    b.record(at(200), 200, Duration::from_millis(20));
    assert_eq!(b.state(), State::Standby);
    for i in 0..10 {
        b.record(at(300 + i), 200, Duration::from_millis(400));
    }
    b.record(at(450), 200, Duration::from_millis(400));
    assert_eq!(b.state(), State::Tripped, "median is now ~400 ms");
}

#[test]
fn custom_response_code() {
    let mut c = cfg("NetworkErrorRatio() > 0.5");
    c.response_code = Some(429);
    let b = CircuitBreaker::compile(&c).unwrap();
    assert_eq!(b.fallback().status(), StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn the_registry_keeps_a_breaker_while_its_config_is_unchanged() {
    let reg = BreakerRegistry::default();
    let c = cfg("NetworkErrorRatio() > 0.5");
    let a = reg.get_or_compile("r@file", "cb@file", &c).unwrap();
    a.record(Instant::now(), 502, Duration::from_millis(1));
    assert_eq!(a.state(), State::Tripped);
    let again = reg.get_or_compile("r@file", "cb@file", &c).unwrap();
    assert!(Arc::ptr_eq(&a, &again));
    assert_eq!(again.state(), State::Tripped, "a reload keeps the state");
    let other_router = reg.get_or_compile("s@file", "cb@file", &c).unwrap();
    assert_eq!(other_router.state(), State::Standby);
    let changed = reg
        .get_or_compile("r@file", "cb@file", &cfg("NetworkErrorRatio() > 0.9"))
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &changed));
    drop((a, again, other_router));
    reg.retain_used();
    let map = reg.breakers.lock().unwrap();
    assert_eq!(map.len(), 1, "only the breaker still held survives");
}
