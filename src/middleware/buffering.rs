//! `buffering`: reads the whole request body before forwarding and the whole response body
//! before answering (Traefik's `maxRequestBodyBytes` → 413, `maxResponseBodyBytes` → 500;
//! 0 means no limit).
//!
//! It wraps forwarding: the proxy calls [`before_forward`] and [`after_forward`] around the
//! upstream call; both return at once when the route has no `buffering` middleware.
//! Differences from Traefik: bodies stay in memory (`memRequestBodyBytes` and
//! `memResponseBodyBytes` are accepted and ignored: nothing spills to disk); `retryExpression` is
//! refused at compile time.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use super::config::BufferingConfig;
use super::error::MiddlewareError;
use super::Middleware;
use crate::proxy::body::ProxyBody;

const M: &str = "buffering";

/// Compiled `buffering`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// `None` = no limit.
    pub max_request: Option<u64>,
    pub max_response: Option<u64>,
}

fn limit(option: &'static str, value: i64) -> Result<Option<u64>, MiddlewareError> {
    match u64::try_from(value) {
        Ok(0) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(MiddlewareError::invalid(
            M,
            option,
            value,
            "must not be negative",
        )),
    }
}

impl Buffering {
    pub fn compile(cfg: &BufferingConfig) -> Result<Self, MiddlewareError> {
        if !cfg.retry_expression.is_empty() {
            return Err(MiddlewareError::invalid(
                M,
                "retryExpression",
                &cfg.retry_expression,
                "is not supported (use the retry middleware)",
            ));
        }
        limit("memRequestBodyBytes", cfg.mem_request_body_bytes)?;
        limit("memResponseBodyBytes", cfg.mem_response_body_bytes)?;
        Ok(Buffering {
            max_request: limit("maxRequestBodyBytes", cfg.max_request_body_bytes)?,
            max_response: limit("maxResponseBodyBytes", cfg.max_response_body_bytes)?,
        })
    }
}

fn first(middlewares: &[std::sync::Arc<Middleware>]) -> Option<Buffering> {
    middlewares.iter().find_map(|m| match &**m {
        Middleware::Buffering(b) => Some(*b),
        _ => None,
    })
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn status_only(status: StatusCode) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(Bytes::from_static(
        status.canonical_reason().unwrap_or("").as_bytes(),
    )));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Reads the request body into memory when the route buffers; `Err` is the 413 answer.
pub async fn before_forward(
    middlewares: &[std::sync::Arc<Middleware>],
    parts: &mut http::request::Parts,
    body: ProxyBody,
) -> Result<ProxyBody, Response<ProxyBody>> {
    let Some(b) = first(middlewares) else {
        return Ok(body);
    };
    // An upgrade has no body to buffer.
    if parts.headers.contains_key(header::UPGRADE) {
        return Ok(body);
    }
    let too_large = || status_only(StatusCode::PAYLOAD_TOO_LARGE);
    let max = b.max_request.unwrap_or(u64::MAX);
    if declared_length(&parts.headers).is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(_) => return Err(status_only(StatusCode::BAD_REQUEST)),
    };
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Ok(ProxyBody::full(bytes))
}

/// Reads the response body into memory when the route buffers; over the limit the client gets
/// a 500 instead (Traefik).
pub async fn after_forward(
    middlewares: &[std::sync::Arc<Middleware>],
    resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    let Some(b) = first(middlewares) else {
        return resp;
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return resp;
    }
    let max = b.max_response.unwrap_or(u64::MAX);
    if declared_length(resp.headers()).is_some_and(|n| n > max) {
        return status_only(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let (mut head, body) = resp.into_parts();
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return status_only(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Err(_) => return status_only(StatusCode::BAD_GATEWAY),
    };
    head.headers.remove(header::TRANSFER_ENCODING);
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Response::from_parts(head, ProxyBody::full(bytes))
}

#[cfg(test)]
mod tests;
