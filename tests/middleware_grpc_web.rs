//! grpcWeb through a running swarmgate to a gRPC-style h2c backend (hyper HTTP/2 server answering
//! one message and `grpc-status`/`grpc-message` trailers): binary and `-text` requests are
//! translated to gRPC over HTTP/2 and the answers back, trailers as a trailer frame; CORS
//! preflights are answered for allowed origins; other requests pass untouched.
#![allow(clippy::disallowed_types)] // std Mutex: test
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use support::{client, gateway, send, serve_fn};

/// A gRPC message frame (uncompressed).
fn message(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// What the backend saw: version, content-type, content-length, body.
type Seen = Arc<Mutex<Vec<(http::Version, String, bool, Vec<u8>)>>>;

async fn grpc_backend(seen: Seen) -> std::net::SocketAddr {
    serve_fn(move |req: Request<hyper::body::Incoming>| {
        let seen = seen.clone();
        async move {
            let version = req.version();
            let ct = req
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let has_len = req.headers().contains_key("content-length");
            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
            seen.lock()
                .unwrap()
                .push((version, ct, has_len, body.clone()));
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", "0".parse().unwrap());
            trailers.insert("grpc-message", "OK".parse().unwrap());
            // Echo the request message back, then the trailers.
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = vec![
                Ok(Frame::data(Bytes::from(body))),
                Ok(Frame::trailers(trailers)),
            ];
            let mut resp = http::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
            resp.headers_mut()
                .insert("content-type", "application/grpc+proto".parse().unwrap());
            resp
        }
    })
    .await
}

fn stack(addr: std::net::SocketAddr) -> String {
    format!(
        r#"http:
  routers:
    grpc:
      rule: "PathPrefix(`/`)"
      service: grpc
      middlewares: [web]
  middlewares:
    web:
      grpcWeb:
        allowOrigins: ["https://app.example"]
  services:
    grpc:
      loadBalancer:
        servers:
          - url: "h2c://{addr}"
"#
    )
}

const TRAILER: &[u8] = b"\x80\x00\x00\x00\x22grpc-message: OK\r\ngrpc-status: 0\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_binary_and_text_reach_an_h2c_backend_and_trailers_come_back_framed() {
    let seen: Seen = Arc::default();
    let gw = gateway(&stack(grpc_backend(seen.clone()).await)).await;
    let c = client();
    let msg = message(b"hello");

    // Binary.
    let req = Request::post(gw.url("/pkg.Greeter/SayHello"))
        .header("content-type", "application/grpc-web+proto")
        .header("origin", "https://app.example")
        .header("x-grpc-web", "1")
        .body(Full::new(Bytes::from(msg.clone())))
        .unwrap();
    let r = send(&c, req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/grpc-web+proto");
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    let expose = r.headers["access-control-expose-headers"].to_str().unwrap();
    assert!(
        expose.contains("Content-Type") && expose.ends_with("grpc-status, grpc-message"),
        "{expose}"
    );
    let mut want = msg.clone();
    want.extend_from_slice(TRAILER);
    // `Reply::body` is lossy UTF-8: the 0x80 flag reads as U+FFFD.
    assert_eq!(r.body, String::from_utf8_lossy(&want));
    {
        let seen = seen.lock().unwrap();
        // (An HTTP/2 client may state the length of a body it knows; it is the same body.)
        let (version, ct, _, body) = &seen[0];
        assert_eq!(*version, http::Version::HTTP_2);
        assert_eq!(ct, "application/grpc+proto");
        assert_eq!(body, &msg);
    }

    // Text: base64 in, base64 out (one padded part per frame).
    let b64 = base64::engine::general_purpose::STANDARD;
    let req = Request::post(gw.url("/pkg.Greeter/SayHello"))
        .header("content-type", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .body(Full::new(Bytes::from(b64.encode(&msg))))
        .unwrap();
    let r = send(&c, req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/grpc-web-text+proto");
    assert!(!r.headers.contains_key("access-control-allow-origin"));
    let mut decoded = Vec::new();
    for part in r
        .body
        .split_inclusive('=')
        .filter(|p| !p.chars().all(|c| c == '='))
    {
        let mut part = part.to_owned();
        while part.len() % 4 != 0 {
            part.push('=');
        }
        decoded.extend(b64.decode(part).unwrap());
    }
    assert_eq!(decoded, want);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[1].1, "application/grpc");
        assert!(!seen[1].2, "the decoded body has no Content-Length");
        assert_eq!(seen[1].3, msg);
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_are_answered_and_other_requests_pass_untouched() {
    let seen: Seen = Arc::default();
    let gw = gateway(&stack(grpc_backend(seen.clone()).await)).await;
    let c = client();
    let preflight = |origin: &str| {
        Request::options(gw.url("/pkg.Greeter/SayHello"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-grpc-web,content-type")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let r = send(&c, preflight("https://app.example")).await;
    assert_eq!(r.status, 200);
    let h = &r.headers;
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "X-Grpc-Web, Content-Type"
    );
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    let r = send(&c, preflight("https://evil.example")).await;
    assert_eq!(r.status, 200);
    assert!(!r.headers.contains_key("access-control-allow-origin"));
    assert_eq!(r.headers.get_all("vary").iter().count(), 3);

    // A plain gRPC request is forwarded as it is.
    let req = Request::post(gw.url("/pkg.Greeter/SayHello"))
        .header("content-type", "application/grpc")
        .body(Full::new(Bytes::from(message(b"x"))))
        .unwrap();
    let r = send(&c, req).await;
    assert_eq!(r.headers["content-type"], "application/grpc+proto");
    assert!(!r.headers.contains_key("access-control-expose-headers"));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "preflights never reach the backend");
        assert_eq!(seen[0].1, "application/grpc");
    }
    gw.stop().await;
}
