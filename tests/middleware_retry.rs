//! retry through a running swarmgate: a request to a server that refuses connections is tried
//! `attempts` times with backoff, then answered with the upstream error.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{client, gateway, get};

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
