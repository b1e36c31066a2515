use std::sync::Arc;

use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::middleware::tests::compile;

fn chain(cfg: serde_json::Value) -> Vec<Arc<Middleware>> {
    vec![Arc::new(compile(json!({ "buffering": cfg })).unwrap())]
}

fn request(headers: &[(&str, &str)]) -> http::request::Parts {
    crate::middleware::tests::req("POST", "/upload", headers)
}

#[tokio::test]
async fn request_limits() {
    let mws = chain(json!({"maxRequestBodyBytes": 10}));
    // (declared length, body, expected status or None for passed)
    let cases: [(Option<&str>, &str, Option<u16>); 4] = [
        (None, "short", None),
        (None, "this is too long", Some(413)),
        (Some("5000"), "tiny", Some(413)), // refused from the header alone
        (Some("10"), "0123456789", None),
    ];
    for (declared, body, want) in cases {
        let mut headers = vec![("transfer-encoding", "chunked")];
        if let Some(n) = declared {
            headers = vec![("content-length", n)];
        }
        let mut parts = request(&headers);
        let got = before_forward(&mws, &mut parts, ProxyBody::full(body.to_string())).await;
        match (got, want) {
            (Ok(b), None) => {
                assert_eq!(b.collect().await.unwrap().to_bytes(), body.as_bytes());
                assert_eq!(
                    parts.headers["content-length"],
                    body.len().to_string().as_str()
                );
                assert!(!parts.headers.contains_key("transfer-encoding"));
            }
            (Err(resp), Some(status)) => assert_eq!(resp.status(), status, "{body}"),
            (Ok(_), Some(s)) => panic!("{body}: passed, wanted {s}"),
            (Err(r), None) => panic!("{body}: refused with {}", r.status()),
        }
    }
}

#[tokio::test]
async fn response_limits_and_pass_through() {
    let mws = chain(json!({"maxResponseBodyBytes": 4}));
    let resp = |body: &'static str| Response::new(ProxyBody::full(body));
    assert_eq!(after_forward(&mws, resp("12345")).await.status(), 500);
    let ok = after_forward(&mws, resp("1234")).await;
    assert_eq!(ok.headers()["content-length"], "4");
    assert_eq!(ok.into_body().collect().await.unwrap().to_bytes(), "1234");
    // A route without buffering is untouched (no content-length added).
    let none: Vec<Arc<Middleware>> = Vec::new();
    let untouched = after_forward(&none, resp("123456789")).await;
    assert!(!untouched.headers().contains_key("content-length"));
}

#[test]
fn bad_config_is_a_compile_error() {
    for (cfg, option) in [
        (json!({"maxRequestBodyBytes": -1}), "maxRequestBodyBytes"),
        (json!({"maxResponseBodyBytes": -5}), "maxResponseBodyBytes"),
        (json!({"memRequestBodyBytes": -5}), "memRequestBodyBytes"),
    ] {
        match compile(json!({ "buffering": cfg })) {
            Err(MiddlewareError::Invalid {
                middleware,
                option: got,
                ..
            }) => {
                assert_eq!((middleware, got), ("buffering", option))
            }
            other => panic!("{cfg}: {other:?}"),
        }
    }
    assert_eq!(
        Buffering::compile(&BufferingConfig::default()).unwrap(),
        Buffering {
            max_request: None,
            max_response: None,
            retry: None,
        }
    );
}

#[test]
fn a_bad_retry_expression_names_the_option_and_column() {
    match compile(json!({"buffering": {"retryExpression": "IsNetworkError() && Attempts() <= x"}}))
    {
        Err(e @ MiddlewareError::Expression { .. }) => {
            let text = e.to_string();
            assert!(text.contains("retryExpression"), "{text}");
            assert!(text.contains("column 35"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let b = Buffering::compile(&BufferingConfig {
        retry_expression: "IsNetworkError() && Attempts() <= 2".into(),
        ..BufferingConfig::default()
    })
    .unwrap();
    assert!(b.retry.is_some());
}

mod around;
mod retry_expr;
