//! Middleware tests: one file per middleware family, table-driven, configs written as Traefik's
//! dynamic configuration (JSON here) so the option names are tested too.

mod auth;
mod headers;
mod ip;
mod path;
mod rate;
mod redirect;

use std::net::SocketAddr;

use super::{Flow, Middleware, MiddlewareConfig, MiddlewareError, RequestContext};

/// Compiles a middleware from its Traefik JSON config (`{"stripPrefix": {...}}`).
pub(super) fn compile(cfg: serde_json::Value) -> Result<Middleware, MiddlewareError> {
    let cfg: MiddlewareConfig = serde_json::from_value(cfg).unwrap();
    Middleware::compile(&cfg)
}

/// A request head.
pub(super) fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

pub(super) fn ctx_from(addr: &str, tls: bool) -> RequestContext<'static> {
    RequestContext {
        client_addr: addr.parse::<SocketAddr>().unwrap(),
        tls,
        entrypoint: "web",
    }
}

pub(super) fn ctx(tls: bool) -> RequestContext<'static> {
    ctx_from("10.0.0.1:40000", tls)
}

/// A response head with the given headers.
pub(super) fn resp(headers: &[(&str, &str)]) -> http::response::Parts {
    let mut b = http::Response::builder().status(200);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

/// All values of header `name`, joined with `|` (empty string when absent).
pub(super) fn values(h: &http::HeaderMap, name: &str) -> String {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect::<Vec<_>>()
        .join("|")
}

/// The response of a `Flow::Respond`, panicking on `Continue`.
pub(super) fn responded(flow: Flow) -> http::Response<bytes::Bytes> {
    match flow {
        Flow::Respond(r) => r,
        Flow::Continue => panic!("expected a response, got Continue"),
    }
}

#[test]
fn chain_is_not_compiled_here() {
    let err = compile(serde_json::json!({"chain": {"middlewares": ["a", "b"]}})).unwrap_err();
    assert!(matches!(err, MiddlewareError::ChainNotCompiled));
}

#[test]
fn kind_matches_config_kind() {
    let cases = [
        serde_json::json!({"stripPrefix": {"prefixes": ["/a"]}}),
        serde_json::json!({"addPrefix": {"prefix": "/a"}}),
        serde_json::json!({"redirectScheme": {"scheme": "https"}}),
        serde_json::json!({"headers": {"frameDeny": true}}),
        serde_json::json!({"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}}),
        serde_json::json!({"rateLimit": {"average": 10}}),
        serde_json::json!({"basicAuth": {"users": []}}),
    ];
    for c in cases {
        let cfg: MiddlewareConfig = serde_json::from_value(c).unwrap();
        assert_eq!(Middleware::compile(&cfg).unwrap().kind(), cfg.kind());
    }
}
