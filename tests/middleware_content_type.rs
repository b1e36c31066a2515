//! contentType through a running swarmgate: a streamed response without Content-Type gets the
//! type detected from its first bytes and arrives whole; without the middleware (or with
//! `autoDetect: false`) it stays without one, as behind Traefik.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use support::{client, gateway, get, serve_fn};

fn stack(app: &str) -> String {
    format!(
        r#"http:
  routers:
    on:
      rule: "PathPrefix(`/on`)"
      service: app
      middlewares: [detect]
    off:
      rule: "PathPrefix(`/off`)"
      service: app
      middlewares: [no-detect]
    none:
      rule: "PathPrefix(`/none`)"
      service: app
  middlewares:
    detect:
      contentType: {{}}
    no-detect:
      contentType:
        autoDetect: false
  services:
    app:
      loadBalancer:
        servers:
          - url: "{app}"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_without_content_type_gets_the_detected_one() {
    // Streamed in three frames (an empty one first), no Content-Type, no Content-Length.
    let addr = serve_fn(|req| async move {
        let typed = req.uri().path().ends_with("/typed");
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = vec![
            Ok(Frame::data(Bytes::new())),
            Ok(Frame::data(Bytes::from_static(
                b"<!DOCTYPE html><title>x</title>",
            ))),
            Ok(Frame::data(Bytes::from_static(b"<p>rest</p>"))),
        ];
        let mut resp = http::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
        if typed {
            resp.headers_mut()
                .insert("content-type", "application/x-mine".parse().unwrap());
        }
        resp
    })
    .await;
    let gw = gateway(&stack(&format!("http://{addr}"))).await;
    let c = client();
    let cases = [
        ("/on", Some("text/html; charset=utf-8")),
        ("/on/typed", Some("application/x-mine")),
        ("/off", None),
        ("/none", None),
    ];
    for (path, want) in cases {
        let r = get(&c, &gw.url(path), None).await;
        assert_eq!(r.status, 200, "{path}");
        let got = r.headers.get("content-type").map(|v| v.to_str().unwrap());
        assert_eq!(got, want, "{path}");
        assert_eq!(
            r.body, "<!DOCTYPE html><title>x</title><p>rest</p>",
            "{path}"
        );
    }
    gw.stop().await;
}
