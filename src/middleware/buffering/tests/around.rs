//! `around`: the buffered request is sent again per `retryExpression`, whole each time.
#![allow(clippy::disallowed_types)] // std Mutex: test

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use serde_json::json;

use super::{chain, request};
use crate::body::ProxyBody;
use crate::error::ProxyError;
use crate::middleware::buffering::around;
use crate::middleware::retry::Sent;
use crate::middleware::Middleware;

/// What the fake upstream answers to attempt n (1-based): a status, or `None` = unreachable.
type Script = fn(usize) -> Option<u16>;

/// Runs `around` with a fake sender; returns the final status, the bodies each attempt carried.
async fn run(mws: &[Arc<Middleware>], script: Script) -> (u16, Vec<Bytes>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let parts = request(&[("content-length", "7")]);
    let body = ProxyBody::full("payload");
    let sent = around(mws, parts, body, |p, b| {
        let seen = Arc::clone(&seen);
        async move {
            assert_eq!(p.headers["content-length"], "7");
            let bytes = b.collect().await.unwrap().to_bytes();
            let n = {
                let mut seen = seen.lock().unwrap();
                seen.push(bytes);
                seen.len()
            };
            let result = match script(n) {
                Some(code) => {
                    let mut resp = Response::new(ProxyBody::full(format!("attempt {n}")));
                    *resp.status_mut() = http::StatusCode::from_u16(code).unwrap();
                    Ok(resp)
                }
                None => Err(ProxyError::Connect {
                    endpoint: "127.0.0.1:9".into(),
                    source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
                }),
            };
            let sent: Sent<()> = (result, None);
            sent
        }
    })
    .await
    .0
    .map_or_else(|e| e.status().as_u16(), |r| r.status().as_u16());
    let seen = seen.lock().unwrap().clone();
    (sent, seen)
}

#[tokio::test]
async fn sends_again_while_the_expression_holds() {
    let mws = chain(json!({"retryExpression": "IsNetworkError() && Attempts() <= 2"}));
    // Unreachable twice, then an answer: three attempts, each with the whole body.
    let (status, seen) = run(&mws, |n| (n >= 3).then_some(200)).await;
    assert_eq!(status, 200);
    assert_eq!(seen, vec![Bytes::from_static(b"payload"); 3]);
    // Unreachable every time: attempts 1 and 2 are retried, the third answer (502) is final.
    let (status, seen) = run(&mws, |_| None).await;
    assert_eq!((status, seen.len()), (502, 3));
    // A server's own 504 is a "network error" too (oxy looks at the status only).
    let (status, seen) = run(&mws, |n| Some(if n == 1 { 504 } else { 201 })).await;
    assert_eq!((status, seen.len()), (201, 2));
}

#[tokio::test]
async fn retries_on_a_response_code_and_stops_at_eleven_attempts() {
    let mws = chain(json!({"retryExpression": "ResponseCode() == 503"}));
    let (status, seen) = run(&mws, |n| Some(if n < 3 { 503 } else { 200 })).await;
    assert_eq!((status, seen.len()), (200, 3));
    // Always true: oxy stops after 10 retries and answers the last response.
    let (status, seen) = run(&mws, |_| Some(503)).await;
    assert_eq!((status, seen.len()), (503, 11));
}

#[tokio::test]
async fn without_an_expression_or_buffering_it_sends_once() {
    for mws in [chain(json!({})), Vec::new()] {
        let (status, seen) = run(&mws, |_| None).await;
        assert_eq!((status, seen.len()), (502, 1));
    }
}

#[tokio::test]
async fn a_response_over_the_limit_is_final() {
    let mws = chain(json!({"retryExpression": "Attempts() < 5", "maxResponseBodyBytes": 3}));
    let (status, seen) = run(&mws, |_| Some(200)).await;
    assert_eq!((status, seen.len()), (500, 1));
}
