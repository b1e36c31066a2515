use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use serde_json::json;

use super::*;
use crate::middleware::tests::{compile, req};

fn route(cfg: serde_json::Value) -> Vec<Arc<Middleware>> {
    vec![Arc::new(compile(json!({ "retry": cfg })).unwrap())]
}

fn refused() -> ProxyError {
    ProxyError::ConnectTimeout {
        endpoint: "http://10.0.0.1".into(),
    }
}

/// Runs `around` with a sender failing the first `failures` tries; returns (status or error, tries).
async fn run(
    mws: &[Arc<Middleware>],
    failures: u32,
    body: ProxyBody,
) -> (Result<u16, String>, u32) {
    let tries = AtomicU32::new(0);
    let retries = AtomicU32::new(0);
    let (result, served) = around(mws, req("POST", "/", &[]), body, &retries, |_, b| {
        let n = tries.fetch_add(1, Ordering::SeqCst);
        async move {
            drop(b);
            if n < failures {
                (Err(refused()), Some(0))
            } else {
                (Ok(Response::new(ProxyBody::empty())), Some(1))
            }
        }
    })
    .await;
    let result = result
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string());
    if result.is_ok() {
        assert_eq!(served, Some(1));
    }
    let tries = tries.load(Ordering::SeqCst);
    // Traefik's listener counts each new attempt: one less than the tries.
    assert_eq!(retries.load(Ordering::SeqCst), tries - 1);
    (result, tries)
}

#[tokio::test]
async fn retries_upstream_failures_up_to_attempts() {
    let mws = route(json!({"attempts": 3, "initialInterval": "1ms"}));
    // (failures before success, expected outcome, expected tries)
    for (failures, ok, tries) in [(0, true, 1), (2, true, 3), (5, false, 3)] {
        let (got, n) = run(&mws, failures, ProxyBody::full("payload")).await;
        assert_eq!(
            (got.is_ok(), n),
            (ok, tries),
            "{failures} failures: {got:?}"
        );
    }
}

#[tokio::test]
async fn backoff_doubles_and_no_retry_without_the_middleware() {
    let mws = route(json!({"attempts": 3, "initialInterval": "20ms"}));
    let started = Instant::now();
    let (_, n) = run(&mws, 5, ProxyBody::empty()).await;
    assert_eq!(n, 3);
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "20ms + 40ms of backoff"
    );
    let (got, n) = run(&[], 5, ProxyBody::empty()).await;
    assert_eq!((got.is_err(), n), (true, 1));
}

#[test]
fn bad_attempts_is_a_compile_error() {
    for cfg in [json!({}), json!({"attempts": 0}), json!({"attempts": -2})] {
        match compile(json!({ "retry": cfg })) {
            Err(MiddlewareError::Invalid {
                middleware, option, ..
            }) => {
                assert_eq!((middleware, option), ("retry", "attempts"))
            }
            other => panic!("{cfg}: {other:?}"),
        }
    }
    let m = compile(json!({"retry": {"attempts": 2}})).unwrap();
    assert!(
        matches!(m, Middleware::Retry(Retry { attempts: 2, initial_interval }) if initial_interval == DEFAULT_INTERVAL)
    );
}
