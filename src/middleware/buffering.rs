//! `buffering`: reads the whole request body before forwarding and the whole response body
//! before answering (Traefik's `maxRequestBodyBytes` → 413, `maxResponseBodyBytes` → 500;
//! 0 means no limit).
//!
//! It wraps forwarding: the proxy hands [`around`] a function that forwards once; without a
//! `buffering` middleware on the route it is called once, untouched.
//!
//! `retryExpression` ([`retry_expr`], oxy's language): after each attempt, once its response is
//! buffered, the expression is evaluated on it (`Attempts()` = attempts so far); true → the
//! buffered request (head and whole body) is sent again, at once, up to 11 attempts in all
//! (oxy's `DefaultMaxRetryAttempts` = 10 retries). When it says stop, or the attempts run out,
//! the client gets the last attempt's answer (a server's response, or the proxy's own 502/504 when
//! the server could not be reached). Nothing reaches the client before that decision, so a retry
//! never follows a response already sent. A response over `maxResponseBodyBytes` (500) or whose
//! body fails is final, and a protocol upgrade is sent once (as oxy).
//!
//! Differences from Traefik: bodies stay in memory (`memRequestBodyBytes` and
//! `memResponseBodyBytes` are accepted and ignored: nothing spills to disk); behind a `weighted`
//! service every attempt goes to the child service picked for the first (Traefik picks again).

pub mod retry_expr;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use self::retry_expr::{Outcome, RetryExpr};
use super::config::BufferingConfig;
use super::error::MiddlewareError;
use super::retry::{copy_head, replayable, Sent};
use super::Middleware;
use crate::body::ProxyBody;

const M: &str = "buffering";

/// oxy's `DefaultMaxRetryAttempts`: after this many attempts the answer is final.
const MAX_RETRIED_ATTEMPT: u32 = 10;

/// Compiled `buffering`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffering {
    /// `None` = no limit.
    pub max_request: Option<u64>,
    pub max_response: Option<u64>,
    /// `retryExpression`, when set.
    pub retry: Option<Arc<RetryExpr>>,
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
        let retry = if cfg.retry_expression.is_empty() {
            None
        } else {
            let expr = retry_expr::parse(&cfg.retry_expression).map_err(|e| {
                MiddlewareError::Expression {
                    middleware: M,
                    option: "retryExpression",
                    value: cfg.retry_expression.clone(),
                    error: e.to_string(),
                }
            })?;
            Some(Arc::new(expr))
        };
        limit("memRequestBodyBytes", cfg.mem_request_body_bytes)?;
        limit("memResponseBodyBytes", cfg.mem_response_body_bytes)?;
        Ok(Buffering {
            max_request: limit("maxRequestBodyBytes", cfg.max_request_body_bytes)?,
            max_response: limit("maxResponseBodyBytes", cfg.max_response_body_bytes)?,
            retry,
        })
    }
}

fn first(middlewares: &[Arc<Middleware>]) -> Option<&Buffering> {
    middlewares.iter().find_map(|m| match &**m {
        Middleware::Buffering(b) => Some(b),
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

/// Forwards through `send` with the route's first `buffering` middleware (if any): the request
/// body read first (413 over the limit), each response buffered, and the request sent again while
/// its `retryExpression` says so (see the module doc).
pub async fn around<F, Fut, S>(
    middlewares: &[Arc<Middleware>],
    parts: http::request::Parts,
    body: ProxyBody,
    mut send: F,
) -> Sent<S>
where
    F: FnMut(http::request::Parts, ProxyBody) -> Fut,
    Fut: Future<Output = Sent<S>>,
{
    match first(middlewares) {
        None => send(parts, body).await,
        // Boxed: routes without buffering do not carry its states in their request future.
        Some(b) => Box::pin(buffered(b, parts, body, send)).await,
    }
}

async fn buffered<F, Fut, S>(
    b: &Buffering,
    mut parts: http::request::Parts,
    body: ProxyBody,
    mut send: F,
) -> Sent<S>
where
    F: FnMut(http::request::Parts, ProxyBody) -> Fut,
    Fut: Future<Output = Sent<S>>,
{
    let body = match read_request(b, &mut parts, body).await {
        Ok(body) => body,
        Err(refused) => return (Ok(refused), None),
    };
    let replay = match (&b.retry, replayable(&body)) {
        (Some(expr), Some(data)) if !parts.headers.contains_key(header::UPGRADE) => {
            Some((expr, data))
        }
        _ => None,
    };
    let Some((expr, data)) = replay else {
        let (result, by) = send(parts, body).await;
        return match result {
            Ok(resp) => (Ok(read_response(b, resp).await.unwrap_or_else(|e| e)), by),
            Err(error) => (Err(error), by),
        };
    };
    let mut attempts = 1;
    loop {
        let (result, by) = send(copy_head(&parts), ProxyBody::full(data.clone())).await;
        let (result, code) = match result {
            Ok(resp) => match read_response(b, resp).await {
                Ok(resp) => {
                    let code = resp.status().as_u16();
                    (Ok(resp), code)
                }
                // Over the limit or a failed body: answered at once, as oxy.
                Err(answer) => return (Ok(answer), by),
            },
            Err(error) => {
                let code = error.status().as_u16();
                (Err(error), code)
            }
        };
        let outcome = Outcome {
            attempts,
            code,
            method: &parts.method,
        };
        if attempts > MAX_RETRIED_ATTEMPT || !expr.eval(&outcome) {
            return (result, by);
        }
        tracing::debug!(
            attempts,
            status = code,
            "buffering: retryExpression sends again"
        );
        attempts += 1;
    }
}

/// Reads the request body into memory when the route buffers; `Err` is the 413 answer.
pub async fn before_forward(
    middlewares: &[Arc<Middleware>],
    parts: &mut http::request::Parts,
    body: ProxyBody,
) -> Result<ProxyBody, Response<ProxyBody>> {
    match first(middlewares) {
        Some(b) => read_request(b, parts, body).await,
        None => Ok(body),
    }
}

async fn read_request(
    b: &Buffering,
    parts: &mut http::request::Parts,
    body: ProxyBody,
) -> Result<ProxyBody, Response<ProxyBody>> {
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
    middlewares: &[Arc<Middleware>],
    resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    match first(middlewares) {
        Some(b) => read_response(b, resp).await.unwrap_or_else(|e| e),
        None => resp,
    }
}

/// The response with its body in memory; `Err` is the answer that replaces it (500 over the
/// limit, 502 when its body fails), never retried.
async fn read_response(
    b: &Buffering,
    resp: Response<ProxyBody>,
) -> Result<Response<ProxyBody>, Response<ProxyBody>> {
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(resp);
    }
    let max = b.max_response.unwrap_or(u64::MAX);
    if declared_length(resp.headers()).is_some_and(|n| n > max) {
        return Err(status_only(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let (mut head, body) = resp.into_parts();
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(status_only(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Err(_) => return Err(status_only(StatusCode::BAD_GATEWAY)),
    };
    head.headers.remove(header::TRANSFER_ENCODING);
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Ok(Response::from_parts(head, ProxyBody::full(bytes)))
}

#[cfg(test)]
mod tests;
