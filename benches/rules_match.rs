//! Criterion bench for `Rule::matches`: a simple prefix rule, a host-and-prefix rule and a regex
//! rule, each against a matching and a missing request.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method};
use swarmgate::rules::{RequestView, Rule};

fn bench_rules(c: &mut Criterion) {
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", HeaderValue::from_static("bench/1.0"));
    headers.insert("accept", HeaderValue::from_static("*/*"));
    let method = Method::GET;
    let view = |host: &'static str, path: &'static str| RequestView {
        host,
        path,
        query: Some("page=2&sort=asc"),
        method: &method,
        headers: &headers,
        client_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)),
    };

    let cases = [
        (
            "prefix",
            "PathPrefix(`/api`)",
            view("example.com", "/api/users"),
            view("example.com", "/web/index.html"),
        ),
        (
            "host_and_prefix",
            "Host(`example.com`) && PathPrefix(`/api`)",
            view("example.com", "/api/users"),
            view("other.example.org", "/api/users"),
        ),
        (
            "regex",
            "HostRegexp(`^[a-z0-9-]+\\.example\\.com$`) && PathRegexp(`^/v[0-9]+/items/[0-9]+$`)",
            view("shop.example.com", "/v2/items/12345"),
            view("shop.example.com", "/v2/items/abc"),
        ),
    ];

    let mut group = c.benchmark_group("rules_match");
    for (name, source, hit, miss) in &cases {
        let rule = match Rule::parse(source) {
            Ok(rule) => rule,
            Err(e) => panic!("bench rule {source:?} does not parse: {e}"),
        };
        assert!(rule.matches(hit), "{name}: hit case must match");
        assert!(!rule.matches(miss), "{name}: miss case must not match");
        group.bench_function(format!("{name}/match"), |b| {
            b.iter(|| rule.matches(black_box(hit)))
        });
        group.bench_function(format!("{name}/miss"), |b| {
            b.iter(|| rule.matches(black_box(miss)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
