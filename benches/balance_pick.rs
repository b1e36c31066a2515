//! `Balancer::pick` / `pick_sticky` cost with 3 and 100 endpoints, some of them unhealthy or ejected.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use swarmgate::balance::{Balancer, Endpoint, EndpointState, StickyCookie};
use swarmgate::config::dynamic::StickyCookieConfig;

fn balancer(n: usize, sticky: bool) -> Balancer {
    let now = Instant::now();
    let endpoints: Vec<Endpoint> = (0..n)
        .map(|i| {
            let state = Arc::new(EndpointState::new());
            // Every 5th endpoint is down, every 7th passively ejected.
            if i % 5 == 4 {
                state.set_active_up(false);
            }
            if i % 7 == 6 {
                state.report_failure(now);
            }
            Endpoint {
                weight: 1 + (i % 3) as u32,
                ..Endpoint::new(format!("http://10.0.{}.{}:8080", i / 250, i % 250), state)
            }
        })
        .collect();
    let cookie = sticky.then(|| StickyCookie::new("bench@file", &StickyCookieConfig::default()));
    Balancer::new(endpoints, cookie)
}

fn bench_pick(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick");
    for n in [3usize, 100] {
        let b = balancer(n, false);
        let now = Instant::now();
        group.bench_with_input(BenchmarkId::new("wrr", n), &b, |bench, b| {
            bench.iter(|| black_box(b.pick(black_box(now), &[])))
        });
        group.bench_with_input(BenchmarkId::new("wrr_exclude_one", n), &b, |bench, b| {
            bench.iter(|| black_box(b.pick(black_box(now), &[0])))
        });
        let s = balancer(n, true);
        let value = b.endpoints()[1].url.clone();
        let cookie = swarmgate::balance::sticky::server_cookie_value(&value);
        group.bench_with_input(BenchmarkId::new("sticky_hit", n), &s, |bench, s| {
            bench.iter(|| black_box(s.pick_sticky(black_box(now), Some(&cookie), &[])))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_pick);
criterion_main!(benches);
