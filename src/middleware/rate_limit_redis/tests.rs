//! Unit tests of the redis rate limiter's pure parts (the end-to-end test with a real
//! redis-server is `tests/middleware_rate_limit_redis.rs`).

use super::*;
use crate::middleware::config::RateLimitRedisConfig;

fn cfg(v: serde_json::Value) -> RateLimitRedisConfig {
    serde_json::from_value(v).unwrap()
}

#[test]
fn commands_are_resp_arrays_of_bulk_strings() {
    assert_eq!(
        encode(&[b"EVALSHA", b"ab", b"1", b"rate:x"]),
        b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$6\r\nrate:x\r\n".to_vec()
    );
}

#[tokio::test]
async fn replies_parse() {
    let mut r: &[u8] = b"*3\r\n$4\r\ntrue\r\n$9\r\n123456.75\r\n$2\r\n-1\r\n";
    let reply = read_reply(&mut r).await.unwrap();
    assert_eq!(
        parse_verdict(&reply).unwrap(),
        Duration::from_micros(123_456) + Duration::from_nanos(750)
    );
    let mut r: &[u8] = b"-NOSCRIPT No matching script\r\n";
    assert_eq!(
        read_reply(&mut r).await.unwrap(),
        Reply::Error("NOSCRIPT No matching script".into())
    );
    let mut r: &[u8] = b":42\r\n+OK\r\n$-1\r\n";
    assert_eq!(read_reply(&mut r).await.unwrap(), Reply::Int(42));
    assert_eq!(
        read_reply(&mut r).await.unwrap(),
        Reply::Simple("OK".into())
    );
    assert_eq!(read_reply(&mut r).await.unwrap(), Reply::Bulk(None));
    // Lua's tostring may use an exponent.
    let mut r: &[u8] = b"*3\r\n$4\r\ntrue\r\n$5\r\n1e+06\r\n$1\r\n0\r\n";
    let reply = read_reply(&mut r).await.unwrap();
    assert_eq!(parse_verdict(&reply).unwrap(), Duration::from_secs(1));
}

#[tokio::test]
async fn malformed_replies_are_errors_not_panics() {
    for bad in [
        &b"*3\r\n$4\r\ntrue\r\n"[..],
        b"$5\r\nab\r\n",
        b"?what\r\n",
        b"$99999999\r\n",
        b"*-5\r\n",
        b":x\r\n",
        b"+OK",
        b"",
        b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
    ] {
        let mut r: &[u8] = bad;
        assert!(read_reply(&mut r).await.is_err(), "{bad:?}");
    }
    for odd in [
        Reply::Simple("OK".into()),
        Reply::Error("ERR x".into()),
        Reply::Array(Some(vec![Reply::Bulk(Some(b"false".to_vec()))])),
        Reply::Array(Some(vec![
            Reply::Bulk(Some(b"true".to_vec())),
            Reply::Bulk(Some(b"-3".to_vec())),
        ])),
    ] {
        assert!(parse_verdict(&odd).is_err(), "{odd:?}");
    }
}

#[test]
fn go_duration_strings() {
    for (d, s) in [
        (Duration::ZERO, "0s"),
        (Duration::from_nanos(500), "500ns"),
        (Duration::from_micros(1500), "1.5ms"),
        (Duration::from_millis(999), "999ms"),
        (Duration::from_millis(1500), "1.5s"),
        (Duration::from_secs(90), "1m30s"),
        (Duration::from_micros(2_000_001), "2.000001s"),
        (Duration::from_nanos(1_234), "1.234µs"),
    ] {
        assert_eq!(go_duration(d), s);
    }
}

#[test]
fn traefik_max_delay_and_ttl() {
    let c = cfg(serde_json::json!({"endpoints": ["127.0.0.1:1"]}));
    let l = RedisLimiter::compile(&c, "rl@file", 10.0, 1).unwrap();
    assert_eq!(l.max_delay(), Duration::from_millis(50));
    assert_eq!(l.ttl, 2);
    assert_eq!(l.prefix, "rate:rl@file:");
    let l = RedisLimiter::compile(&c, "rl@file", 0.1, 1).unwrap();
    assert_eq!(l.max_delay(), Duration::from_millis(500));
    assert_eq!(l.ttl, 11);
    // The SHA-1 go-redis computes for the same script text.
    assert_eq!(l.sha.len(), 40);
}

#[test]
fn bad_redis_options_are_errors_naming_them() {
    for (v, option) in [
        (
            serde_json::json!({"endpoints": ["a:1", "b:2"]}),
            "redis.endpoints",
        ),
        (
            serde_json::json!({"endpoints": ["nohost"]}),
            "redis.endpoints",
        ),
        (serde_json::json!({"db": -1}), "redis.db"),
        (serde_json::json!({"poolSize": -1}), "redis.poolSize"),
        (
            serde_json::json!({"maxActiveConns": -2}),
            "redis.maxActiveConns",
        ),
        (
            serde_json::json!({"tls": {"ca": "/nonexistent/ca.pem"}}),
            "tls.ca",
        ),
    ] {
        let err = RedisLimiter::compile(&cfg(v.clone()), "x", 1.0, 1).unwrap_err();
        assert!(err.to_string().contains(option), "{v}: {err}");
        assert!(err.to_string().contains("rateLimit"), "{v}: {err}");
    }
    let unknown: Result<RateLimitRedisConfig, _> =
        serde_json::from_value(serde_json::json!({"endpoint": ["a:1"]}));
    assert!(unknown.unwrap_err().to_string().contains("endpoint"));
}

#[tokio::test]
async fn unreachable_redis_is_a_500_never_a_pass() {
    // A port nothing listens on (bound then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c =
        cfg(serde_json::json!({"endpoints": [format!("127.0.0.1:{port}")], "dialTimeout": "1s"}));
    let l = RedisLimiter::compile(&c, "x", 1.0, 1).unwrap();
    let outcome = l.allow("10.0.0.1").await;
    assert!(outcome.is_err());
    let Some(Flow::Respond(resp)) = refusal(&outcome) else {
        panic!("passed")
    };
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(&resp.body()[..], b"Could not insert/update bucket\n");
}

#[test]
fn a_long_wait_is_a_429_with_traefiks_headers() {
    let Some(Flow::Respond(resp)) = refusal(&Ok(Verdict::Wait(Duration::from_millis(1500)))) else {
        panic!("passed")
    };
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(resp.headers()["x-retry-in"], "1.5s");
    assert!(refusal(&Ok(Verdict::Pass(Duration::from_millis(3)))).is_none());
}
