//! The request path's cost of the semantic-convention histograms (`metrics.otlp` on): one
//! `SemConv::server` call (hash the attribute set, find its slot, four atomic adds), for a set
//! already kept, over 1 000 hosts, and once the cap is full (a new set goes to the overflow series).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http::Version;
use swarmgate::observe::metrics::semconv::{Attrs, SemConv, SERIES_CAP};

fn attrs(host: &str) -> Attrs<'_> {
    Attrs {
        method: "GET",
        status: 200,
        version: Version::HTTP_11,
        address: host.as_bytes(),
        port: None,
        scheme: b"https",
    }
}

fn bench_server(c: &mut Criterion) {
    let bounds = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ];
    let elapsed = Duration::from_micros(1_234);
    let mut group = c.benchmark_group("semconv_server");

    let sc = SemConv::new(&bounds);
    group.bench_function("one_set", |b| {
        b.iter(|| sc.server(black_box(attrs("shop.example.com")), black_box(elapsed)))
    });

    let hosts: Vec<String> = (0..1000).map(|i| format!("shop{i}.example.com")).collect();
    let sc = SemConv::new(&bounds);
    let mut i = 0;
    group.bench_function("1000_sets", |b| {
        b.iter(|| {
            i = (i + 1) % hosts.len();
            sc.server(black_box(attrs(&hosts[i])), black_box(elapsed))
        })
    });

    let sc = SemConv::new(&bounds);
    for i in 0..SERIES_CAP {
        sc.server(attrs(&format!("kept{i}.example")), elapsed);
    }
    let fresh: Vec<String> = (0..1000).map(|i| format!("new{i}.attacker")).collect();
    let mut i = 0;
    group.bench_function("past_the_cap", |b| {
        b.iter(|| {
            i = (i + 1) % fresh.len();
            sc.server(black_box(attrs(&fresh[i])), black_box(elapsed))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_server);
criterion_main!(benches);
