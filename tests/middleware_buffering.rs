//! buffering through a running swarmgate: a request body over `maxRequestBodyBytes` is answered
//! 413 without reaching the server; a small chunked one arrives with a Content-Length.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::Bytes;
use http_body_util::Full;
use support::{backend, client, gateway, send};

#[tokio::test]
async fn request_bodies_are_buffered_and_limited() {
    let b = backend("one").await;
    let yaml = format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [buffer]
  middlewares:
    buffer:
      buffering:
        maxRequestBodyBytes: 16
        maxResponseBodyBytes: 100000
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
    let post = |body: &'static str| {
        http::Request::post(gw.url("/upload"))
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let big = send(&c, post("this body is longer than sixteen bytes")).await;
    assert_eq!(big.status, 413);
    assert_eq!(b.hits(), 0, "the refused body reached the server");
    let small = send(&c, post("small")).await;
    assert_eq!(small.status, 200);
    let seen = b.last_seen();
    assert_eq!(seen.headers["content-length"], "5");
    assert!(small.headers.contains_key("content-length"));
    gw.stop().await;
}
