//! circuitBreaker through a running swarmgate: a backend answering 500 trips the breaker, which
//! then answers 503 without forwarding; once the backend heals, after fallback + recovery, the
//! requests are served again.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use support::{client, eventually, gateway, get, serve_fn};

/// A backend answering `status` (changeable) and counting the requests it sees.
struct Flippable {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
}

async fn flippable(status: u16) -> Flippable {
    let status = Arc::new(AtomicU16::new(status));
    let hits = Arc::new(AtomicUsize::new(0));
    let (s, h) = (status.clone(), hits.clone());
    let addr = serve_fn(move |_req| {
        h.fetch_add(1, Ordering::SeqCst);
        let code = StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap();
        async move {
            Response::builder()
                .status(code)
                .body(Full::new(Bytes::from("backend")))
                .unwrap()
        }
    })
    .await;
    Flippable { addr, status, hits }
}

fn yaml(server: SocketAddr, expression: &str) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [cb]
  middlewares:
    cb:
      circuitBreaker:
        expression: "{expression}"
        checkPeriod: 100ms
        fallbackDuration: 1s
        recoveryDuration: 1s
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://{server}"
"#
    )
}

#[tokio::test]
async fn failing_backend_trips_the_breaker_until_it_heals() {
    let backend = flippable(500).await;
    let gw = gateway(&yaml(
        backend.addr,
        "ResponseCodeRatio(500, 600, 0, 600) > 0.5",
    ))
    .await;
    let c = client();

    // The first failures go through; within a check period the breaker trips.
    let tripped = eventually(Duration::from_secs(5), || async {
        get(&c, &gw.url("/"), None).await.status == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert!(tripped, "the breaker never answered 503");
    assert!(backend.hits.load(Ordering::SeqCst) >= 1);

    // Tripped: answered by the breaker, the backend sees nothing.
    let before = backend.hits.load(Ordering::SeqCst);
    for _ in 0..10 {
        let r = get(&c, &gw.url("/"), None).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.body, "Service Unavailable");
    }
    assert_eq!(backend.hits.load(Ordering::SeqCst), before);

    // Heal: after fallback (1 s) and recovery (1 s) everything is served again.
    backend.status.store(200, Ordering::SeqCst);
    let healed_at = std::time::Instant::now();
    // Still within fallbackDuration: refused although the backend is fine now.
    assert_eq!(
        get(&c, &gw.url("/"), None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(backend.hits.load(Ordering::SeqCst), before);
    let served = eventually(Duration::from_secs(6), || async {
        let mut ok = true;
        for _ in 0..5 {
            ok &= get(&c, &gw.url("/"), None).await.status == StatusCode::OK;
        }
        ok
    })
    .await;
    eprintln!("healed after {:?}", healed_at.elapsed());
    assert!(served, "still refused after healing");
    let after = backend.hits.load(Ordering::SeqCst);
    assert!(after > before);
    gw.stop().await;
}

/// A bad middleware is reported with the column in the issue, and the router that uses it is
/// held closed: it answers 503 and never reaches the backend.
#[tokio::test]
async fn a_bad_expression_is_reported_with_its_column() {
    let backend = flippable(200).await;
    let gw = gateway(&yaml(backend.addr, "ResponseCodeRatio(500, 600) > 0.5")).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(
        issues.iter().any(|i| i.message.contains("circuitBreaker")
            && i.message.contains("expression")
            && i.message.contains("column 1")
            && i.message.contains("takes 4 argument")),
        "{issues:?}"
    );
    assert_eq!(
        get(&client(), &gw.url("/"), None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(backend.hits.load(Ordering::SeqCst), 0);
    gw.stop().await;
}
