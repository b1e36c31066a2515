//! inFlightReq through a running swarmgate: a second concurrent request from the same client is
//! refused while the first is in flight, and admitted once it finished; bad config is reported.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{backend, client, eventually, gateway, get};

#[tokio::test]
async fn concurrent_requests_over_amount_get_429() {
    let b = backend("one").await;
    let yaml = format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [one-at-a-time]
  middlewares:
    one-at-a-time:
      inFlightReq:
        amount: 1
  services:
    app:
      loadBalancer:
        servers:
          - url: "{}"
"#,
        b.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let slow_url = gw.url("/slow");
    let slow = tokio::spawn({
        let c = c.clone();
        async move { get(&c, &slow_url, None).await.status }
    });
    // Wait until the slow request reached the backend, then try a second one.
    assert!(eventually(Duration::from_secs(5), || async { b.hits() >= 1 }).await);
    let refused = get(&c, &gw.url("/fast"), None).await;
    assert_eq!(refused.status, 429);
    assert_eq!(slow.await.unwrap(), 200);
    assert_eq!(get(&c, &gw.url("/fast"), None).await.status, 200);
    gw.stop().await;
}

#[tokio::test]
async fn bad_amount_is_reported_and_nothing_routes_through_it() {
    let b = backend("one").await;
    let yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      middlewares: [limit]\n  middlewares:\n    limit:\n      inFlightReq:\n        amount: 0\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
        b.url()
    );
    let gw = gateway(&yaml).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("inFlightReq: option `amount`")
                && i.message.contains("must be a positive integer")),
        "{issues:?}"
    );
    // The router is held closed: 503, and the backend is never reached.
    assert_eq!(get(&client(), &gw.url("/"), None).await.status, 503);
    gw.stop().await;
}
