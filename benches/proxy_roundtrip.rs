//! One full request through swarmgate, in process: client → swarmgate (`app::start`, inline
//! `dynamic` config: `PathPrefix(`/api`)` + stripPrefix) → hyper backend on 127.0.0.1, over
//! HTTP/1.1 keep-alive and HTTP/2 (h2c); the direct path (client → backend) is the baseline in the
//! same group. Also `reload/swap_1000_routers_under_traffic`: a 1 000-router config parsed,
//! compiled and swapped into the running gateway while requests flow.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use swarmgate::app::StartOptions;
use swarmgate::balance::EndpointRegistry;
use swarmgate::config::merge::merge;
use swarmgate::config::{DynamicConfig, StaticConfig};
use swarmgate::provider::file::from_yaml;
use swarmgate::table::{compile, CompileContext, EntryPointInfo};
use swarmgate::upstream::{PoolRegistry, TransportRegistry};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

const BODY: &[u8] = b"hello from the backend\n";

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// A minimal h1 + h2c backend answering a fixed body.
async fn backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY))))
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn static_config(backend: SocketAddr, extra_routers: usize) -> StaticConfig {
    let mut toml = format!(
        r#"[entryPoints.web]
address = "127.0.0.1:0"

[log]
level = "ERROR"

[dynamic.http.routers.api]
rule = "PathPrefix(`/api`)"
service = "backend"
middlewares = ["strip"]

[dynamic.http.middlewares.strip.stripPrefix]
prefixes = ["/api"]

[[dynamic.http.services.backend.loadBalancer.servers]]
url = "http://{backend}"
"#
    );
    for i in 0..extra_routers {
        toml.push_str(&format!(
            "\n[dynamic.http.routers.r{i}]\nrule = \"Host(`svc{i}.example.com`) && PathPrefix(`/v{}`)\"\nservice = \"backend\"\n",
            i % 3
        ));
    }
    toml::from_str(&toml).unwrap()
}

async fn get(client: &HttpClient, url: &str) {
    let resp = client.get(url.parse().unwrap()).await.unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], BODY);
}

fn clients() -> (HttpClient, HttpClient) {
    let h1 = Client::builder(TokioExecutor::new()).build_http();
    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    (h1, h2)
}

fn roundtrip(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (backend_addr, gateway) = rt.block_on(async {
        let backend_addr = backend().await;
        let running =
            swarmgate::app::start(static_config(backend_addr, 0), StartOptions::default())
                .await
                .unwrap();
        (backend_addr, running)
    });
    let proxy_addr = gateway.address("web").unwrap();
    let (h1, h2) = clients();
    let direct = format!("http://{backend_addr}/hello");
    let proxied = format!("http://{proxy_addr}/api/hello");

    let mut group = c.benchmark_group("proxy_roundtrip");
    for (name, client, url) in [
        ("direct/h1", &h1, &direct),
        ("swarmgate/h1", &h1, &proxied),
        ("direct/h2c", &h2, &direct),
        ("swarmgate/h2c", &h2, &proxied),
    ] {
        rt.block_on(get(client, url)); // warm the connection and the upstream pool
        group.bench_function(name, |b| b.to_async(&rt).iter(|| get(client, url)));
    }
    group.finish();
    rt.block_on(gateway.shutdown());
}

/// A reload of 1 000 routers swapped in end to end, while a client keeps sending requests through
/// the running gateway (none may fail): provider text → `DynamicConfig` (the file provider's YAML
/// parse) → `merge` →
/// `compile` → `ArcSwap::store` into the gateway's live table. The file provider's poll interval
/// and `providersThrottleDuration` are deliberate delays, not reload work, and are not included.
fn reload(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (backend_addr, gateway) = rt.block_on(async {
        let backend_addr = backend().await;
        let running =
            swarmgate::app::start(static_config(backend_addr, 0), StartOptions::default())
                .await
                .unwrap();
        (backend_addr, running)
    });
    let url = format!("http://{}/api/hello", gateway.address("web").unwrap());
    let (h1, _) = clients();
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
    let texts: Vec<String> = (0..2)
        .map(|g| dynamic_yaml(backend_addr, 1000, g))
        .collect();

    // Traffic through the gateway for the whole measurement; every request must succeed.
    let sent = Arc::new(AtomicUsize::new(0));
    let traffic = {
        let (client, url, sent) = (h1.clone(), url.clone(), Arc::clone(&sent));
        rt.spawn(async move {
            loop {
                get(&client, &url).await;
                sent.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let mut group = c.benchmark_group("reload");
    group.sample_size(20);
    let mut generation = 0usize;
    group.bench_function("swap_1000_routers_under_traffic", |b| {
        b.iter(|| {
            generation += 1;
            let text = &texts[generation % 2];
            let parsed: DynamicConfig = from_yaml(text).unwrap();
            let (mut merged, issues) = merge([("file", &parsed)]);
            merged.apply_default_entrypoints(&["web".into()]);
            assert!(issues.is_empty(), "{issues:?}");
            let compiled = compile(&merged, &ctx);
            assert!(compiled.issues.is_empty(), "{:?}", compiled.issues);
            assert_eq!(compiled.table.routes.len(), 1001);
            gateway.table.store(Arc::new(compiled.table));
        })
    });
    group.finish();
    assert!(
        !traffic.is_finished(),
        "a request failed during the reloads"
    );
    traffic.abort();
    assert!(sent.load(Ordering::Relaxed) > 0, "no traffic flowed");
    rt.block_on(gateway.shutdown());
}

fn dynamic_yaml(backend: SocketAddr, routers: usize, generation: usize) -> String {
    let mut y = String::from("http:\n  routers:\n    api:\n      rule: \"PathPrefix(`/api`)\"\n      service: backend\n      middlewares: [strip]\n");
    for i in 0..routers {
        let name = if i == 0 {
            format!("g{generation}")
        } else {
            format!("r{i}")
        };
        y.push_str(&format!(
            "    {name}:\n      rule: \"Host(`svc{i}.example.com`) && PathPrefix(`/v{}`)\"\n      service: backend\n",
            i % 3
        ));
    }
    y.push_str(&format!("  middlewares:\n    strip:\n      stripPrefix:\n        prefixes: [\"/api\"]\n  services:\n    backend:\n      loadBalancer:\n        servers:\n          - url: \"http://{backend}\"\n"));
    y
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = roundtrip, reload
}
criterion_main!(benches);
