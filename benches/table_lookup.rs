//! Routing-table lookup at 10, 1 000 and 10 000 routers, and compile() of 1 000 routers.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use swarmgate::balance::EndpointRegistry;
use swarmgate::config::dynamic::{LoadBalancerConfig, RouterConfig, ServerConfig, ServiceConfig};
use swarmgate::config::DynamicConfig;
use swarmgate::rules::RequestView;
use swarmgate::table::{compile, CompileContext, EntryPointInfo};
use swarmgate::upstream::{PoolRegistry, TransportRegistry};

/// `n` routers over `n / 2` hosts, two path prefixes each, plus one catch-all.
fn config(n: usize) -> DynamicConfig {
    let mut cfg = DynamicConfig::default();
    let mut routers = BTreeMap::new();
    for i in 0..n {
        let host = i / 2;
        routers.insert(
            format!("r{i}"),
            RouterConfig {
                rule: format!(
                    "Host(`svc{host}.example.com`) && PathPrefix(`/api{}`)",
                    i % 2
                ),
                service: "s".into(),
                ..Default::default()
            },
        );
    }
    routers.insert(
        "catchall".into(),
        RouterConfig {
            rule: "PathPrefix(`/`)".into(),
            service: "s".into(),
            ..Default::default()
        },
    );
    cfg.http.routers = routers;
    // As the app does after merging the providers: routers without `entryPoints` are on the
    // default ones.
    cfg.apply_default_entrypoints(&["web".into()]);
    cfg.http.services.insert(
        "s".into(),
        ServiceConfig {
            load_balancer: Some(LoadBalancerConfig {
                servers: vec![ServerConfig::new("http://10.0.0.1:80")],
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    cfg
}

fn bench(c: &mut Criterion) {
    let infos = [EntryPointInfo {
        name: "web".into(),
        ..Default::default()
    }];
    let (endpoints, pools, transports) = (
        EndpointRegistry::default(),
        PoolRegistry::default(),
        TransportRegistry::default(),
    );
    let default_transport = Default::default();
    let ctx = CompileContext {
        entrypoints: &infos,
        endpoints: &endpoints,
        pools: &pools,
        transports: &transports,
        default_transport: &default_transport,
        breakers: &Default::default(),
    };
    let headers = http::HeaderMap::new();
    let method = http::Method::GET;

    let mut group = c.benchmark_group("table_lookup");
    for n in [10usize, 1_000, 10_000] {
        let compiled = compile(&config(n), &ctx);
        assert!(compiled.issues.is_empty(), "{:?}", compiled.issues);
        let table = compiled.table;
        let host = format!("svc{}.example.com", n / 4);
        let view = RequestView {
            host: &host,
            path: "/api1/items",
            query: None,
            method: &method,
            headers: &headers,
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        assert!(table.lookup(0, false, &view).is_some());
        group.bench_with_input(BenchmarkId::from_parameter(n), &view, |b, view| {
            b.iter(|| black_box(table.lookup(0, false, black_box(view))))
        });
    }
    group.finish();

    let cfg = config(1_000);
    c.bench_function("compile_1000_routers", |b| {
        b.iter(|| black_box(compile(&cfg, &ctx)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
