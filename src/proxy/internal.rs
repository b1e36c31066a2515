//! Services swarmgate answers itself (`demo@internal`, `ping@internal`, `noop@internal`).

use std::fmt::Write as _;

use http::{header, HeaderValue, Response, StatusCode};

use super::body::ProxyBody;
use super::service::ConnInfo;
use crate::table::InternalService;

pub fn respond(
    service: InternalService,
    req: &http::request::Parts,
    conn: &ConnInfo,
) -> Response<ProxyBody> {
    let (status, text) = match service {
        InternalService::Ping => (StatusCode::OK, "OK".to_string()),
        InternalService::Noop => (StatusCode::IM_A_TEAPOT, String::new()),
        InternalService::Demo => (StatusCode::OK, describe(req, conn)),
        // Answered by `observe` when enabled; reaching here means the feature is off.
        InternalService::Api | InternalService::Dashboard | InternalService::Prometheus => {
            (StatusCode::NOT_FOUND, "not enabled".to_string())
        }
    };
    let mut resp = Response::new(ProxyBody::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A whoami-style page: what swarmgate saw of the request.
fn describe(req: &http::request::Parts, conn: &ConnInfo) -> String {
    let mut out = String::with_capacity(512);
    let _ = writeln!(out, "swarmgate {} is running.", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "This is the built-in demo service (demo@internal).\n");
    let _ = writeln!(out, "RemoteAddr: {}", conn.peer);
    let _ = writeln!(out, "{} {} {:?}", req.method, req.uri, req.version);
    for (name, value) in &req.headers {
        let _ = writeln!(
            out,
            "{}: {}",
            name,
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    out
}
