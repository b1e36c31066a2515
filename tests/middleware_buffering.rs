//! buffering through a running swarmgate: a request body over `maxRequestBodyBytes` is answered
//! 413 without reaching the server; a small chunked one arrives with a Content-Length;
//! `retryExpression` sends the buffered request again (whole) while it holds.
#![allow(clippy::disallowed_types)] // std Mutex: test
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use support::{backend, client, gateway, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// A raw HTTP/1 server that answers its n-th connection (0-based) per `script(n)`: a status, or
/// `None` to read the request and close without answering. Records every request body it read.
async fn scripted(script: fn(usize) -> Option<u16>) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then Content-Length bytes of body.
            let body = loop {
                let Ok(read) = stream.read(&mut chunk).await else {
                    break None;
                };
                if read == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..read]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if buf.len() >= end + 4 + length {
                    break Some(buf[end + 4..end + 4 + length].to_vec());
                }
            };
            let Some(body) = body else { continue };
            seen.lock().unwrap().push(body);
            if let Some(status) = script(n) {
                let text = format!("answer {n}");
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            }
            n += 1;
            // Dropping the stream closes the connection (unanswered when the script said so).
        }
    });
    (addr, bodies)
}

fn retry_yaml(expression: &str, server: SocketAddr) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [buffer]
  middlewares:
    buffer:
      buffering:
        retryExpression: "{expression}"
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://{server}"
"#
    )
}

const PAYLOAD: &str = "a body that must reach the server whole on every attempt";

async fn post(gw: &support::Gateway) -> support::Reply {
    let req = http::Request::post(gw.url("/upload"))
        .body(Full::new(Bytes::from_static(PAYLOAD.as_bytes())))
        .unwrap();
    send(&client(), req).await
}

#[tokio::test]
async fn retry_expression_sends_the_whole_body_again_after_network_errors() {
    // The first two connections are dropped unanswered, the third answers.
    let (addr, bodies) = scripted(|n| (n >= 2).then_some(200)).await;
    let gw = gateway(&retry_yaml("IsNetworkError() && Attempts() <= 2", addr)).await;
    let reply = post(&gw).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "answer 2")
    );
    assert_eq!(
        *bodies.lock().unwrap(),
        vec![PAYLOAD.as_bytes().to_vec(); 3]
    );
    gw.stop().await;
}

#[tokio::test]
async fn retry_expression_exhausted_answers_the_last_failure() {
    // Never answers: attempts 1 and 2 are retried, the third failure is the answer (502).
    let (addr, bodies) = scripted(|_| None).await;
    let gw = gateway(&retry_yaml("IsNetworkError() && Attempts() <= 2", addr)).await;
    let reply = post(&gw).await;
    assert_eq!(reply.status, 502);
    assert_eq!(bodies.lock().unwrap().len(), 3);
    gw.stop().await;
}

#[tokio::test]
async fn retry_expression_on_a_response_code() {
    let (addr, bodies) = scripted(|n| Some(if n < 2 { 503 } else { 200 })).await;
    let gw = gateway(&retry_yaml("ResponseCode() == 503", addr)).await;
    let reply = post(&gw).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "answer 2")
    );
    assert_eq!(
        *bodies.lock().unwrap(),
        vec![PAYLOAD.as_bytes().to_vec(); 3]
    );
    gw.stop().await;
    // Always 503: 11 attempts in all (oxy's 10 retries), then the server's last 503 as it is.
    let (addr, bodies) = scripted(|_| Some(503)).await;
    let gw = gateway(&retry_yaml("ResponseCode() == 503", addr)).await;
    let reply = post(&gw).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (503, "answer 10")
    );
    assert_eq!(bodies.lock().unwrap().len(), 11);
    gw.stop().await;
}

#[tokio::test]
async fn without_retry_expression_a_network_error_is_answered_at_once() {
    let (addr, bodies) = scripted(|_| None).await;
    let gw = gateway(&retry_yaml("", addr)).await;
    assert_eq!(post(&gw).await.status, 502);
    assert_eq!(bodies.lock().unwrap().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn a_bad_retry_expression_closes_the_router() {
    let (addr, bodies) = scripted(|_| Some(200)).await;
    let gw = gateway(&retry_yaml("!IsNetworkError()", addr)).await;
    assert_eq!(post(&gw).await.status, 503);
    assert!(bodies.lock().unwrap().is_empty());
    gw.stop().await;
}
