//! `failover.errors` (Traefik 3.7): the request goes to the main service; when its answer's
//! status is in `errors.status`, that answer is dropped and the same request (head and body,
//! kept up to `maxRequestBodyBytes`) is sent to the fallback, or 503 when the fallback is down.
//!
//! As Traefik: a body larger than `maxRequestBodyBytes` is refused with 413 before anything is
//! sent. One difference: with no limit (`-1`, the default) a body larger than
//! [`UNBOUNDED_KEEP`] is not held in memory; that request goes to the main service only.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

use super::body::ProxyBody;
use super::error::go_http_error;
use super::mirror::read_bounded;
use crate::table::FailoverService;

/// The most kept of a request body when `maxRequestBodyBytes` sets no limit.
pub const UNBOUNDED_KEEP: u64 = 16 * 1024 * 1024;

/// What to do with one request before it goes to the main service.
pub enum Plan {
    /// Send it; on a matching status send `Bytes` again (with the same head) to the fallback.
    Keep(Bytes),
    /// Too large to keep without a limit: main service only.
    MainOnly,
    /// Answer this (413, or 400 for a body that could not be read).
    Answer(Response<ProxyBody>),
}

/// Reads the request body as `failover.errors` needs it; `body` holds it again afterwards.
pub async fn plan(failover: &FailoverService, body: &mut ProxyBody) -> Plan {
    let limit = failover
        .errors
        .as_ref()
        .and_then(|e| e.max_request_body_bytes);
    match read_bounded(body, Some(limit.unwrap_or(UNBOUNDED_KEEP))).await {
        Ok(Some(bytes)) => Plan::Keep(bytes),
        Ok(None) if limit.is_none() => Plan::MainOnly,
        Ok(None) => Plan::Answer(go_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large\n",
        )),
        Err(error) => Plan::Answer(error.into_response()),
    }
}

/// Whether the main service's answer is dropped for the fallback's.
pub fn falls_back(failover: &FailoverService, resp: &Response<ProxyBody>) -> bool {
    failover
        .errors
        .as_ref()
        .is_some_and(|e| e.falls_back_on(resp.status().as_u16()))
}

/// Traefik's answer when the fallback is down too (`http.Error(w, "Service Unavailable", 503)`).
pub fn unavailable() -> Response<ProxyBody> {
    go_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
}

fn go_error(status: StatusCode, text: &'static str) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    go_http_error(resp)
}

/// The head sent again to the fallback: the request as the main service got it.
pub fn copy_head(parts: &http::request::Parts) -> http::request::Parts {
    let (mut head, ()) = http::Request::new(()).into_parts();
    head.method = parts.method.clone();
    head.uri = parts.uri.clone();
    head.version = parts.version;
    head.headers = parts.headers.clone();
    head.extensions = parts.extensions.clone();
    head
}
