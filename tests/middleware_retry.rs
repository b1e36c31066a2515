//! retry through a running swarmgate: a request to a server that refuses connections is tried
//! `attempts` times with backoff, then answered with the upstream error.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{client, gateway, gateway_with, get};

fn yaml(middlewares: &str) -> String {
    // Nothing listens on port 1.
    format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n{middlewares}  middlewares:\n    again:\n      retry:\n        attempts: 3\n        initialInterval: 100ms\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:1\"\n"
    )
}

#[tokio::test]
async fn failed_exchanges_are_retried_with_backoff() {
    let c = client();
    let gw = gateway(&yaml("      middlewares: [again]\n")).await;
    let started = Instant::now();
    let r = get(&c, &gw.url("/"), None).await;
    let with_retry = started.elapsed();
    assert!(r.status.is_server_error(), "{}", r.status);
    gw.stop().await;

    let gw = gateway(&yaml("")).await;
    let started = Instant::now();
    let r = get(&c, &gw.url("/"), None).await;
    let without = started.elapsed();
    assert!(r.status.is_server_error(), "{}", r.status);
    gw.stop().await;
    eprintln!("with retry {with_retry:?}, without {without:?}");
    assert!(
        with_retry >= Duration::from_millis(300),
        "100ms + 200ms of backoff: {with_retry:?}"
    );
    assert!(without < Duration::from_millis(300), "{without:?}");
}

/// Each new attempt counts once on `traefik_service_retries_total{service}` (summed over the
/// routers of the service) and in the access log's `RetryAttempts`. Traefik 3.7.15 declares
/// both but wires no retry listener (`retry.Listeners{}`), so it writes no series and always
/// `RetryAttempts: 0` (seen live); swarmgate counts, as the metric's documentation says.
#[tokio::test]
async fn retries_are_counted_per_service_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.json");
    let dynamic = yaml("      middlewares: [again]\n").replace(
        "  middlewares:\n",
        "    other:\n      rule: \"PathPrefix(`/other`)\"\n      service: app\n      middlewares: [again]\n  middlewares:\n",
    ).replace("100ms", "1ms");
    let extra = format!(
        "[metrics.prometheus]\nentryPoint = \"web\"\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let c = client();
    let gw = gateway_with(&dynamic, &extra).await;
    for path in ["/", "/other"] {
        assert!(get(&c, &gw.url(path), None).await.status.is_server_error());
    }
    let m = get(&c, &gw.url("/metrics"), None).await;
    let line = r#"traefik_service_retries_total{service="app@file"} 4"#;
    assert!(m.body.contains(line), "missing {line:?} in\n{}", m.body);
    assert!(m
        .body
        .contains("# TYPE traefik_service_retries_total counter"));
    gw.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let attempts: Vec<u64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["RequestPath"] != "/metrics")
        .map(|v| v["RetryAttempts"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [2, 2], "{text}");
}
