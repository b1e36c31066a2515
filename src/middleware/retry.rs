//! `retry`: re-sends a request whose upstream exchange failed (no response: connection refused,
//! timeout, reset), up to `attempts` tries in all, waiting `initialInterval` (default 100 ms)
//! and doubling it between tries, as Traefik's exponential backoff.
//!
//! "No server available" (all servers passively ejected or down) is retried too, after the
//! backoff. It wraps forwarding: the proxy hands [`around`] a function that forwards once. Only
//! replayable requests are retried: an in-memory or empty body (put `buffering` before `retry`
//! to make any body replayable) and no protocol upgrade; others are sent once. An HTTP error
//! status from the server is a response, not a failure, and is never retried (Traefik).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response};
use http_body::Body;

use super::config::RetryConfig;
use super::error::MiddlewareError;
use super::Middleware;
use crate::body::ProxyBody;
use crate::error::{ProxyError, Side};

const M: &str = "retry";
const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// Compiled `retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all (≥ 1).
    pub attempts: u32,
    pub initial_interval: Duration,
}

impl Retry {
    pub fn compile(cfg: &RetryConfig) -> Result<Self, MiddlewareError> {
        let attempts = u32::try_from(cfg.attempts)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| {
                MiddlewareError::invalid(M, "attempts", cfg.attempts, "must be a positive integer")
            })?;
        Ok(Retry {
            attempts,
            initial_interval: cfg.initial_interval.map_or(DEFAULT_INTERVAL, |d| d.get()),
        })
    }
}

/// One forwarding outcome and the server that handled it (`S`: whatever the sender names it by).
pub type Sent<S> = (Result<Response<ProxyBody>, ProxyError>, Option<S>);

/// The body's bytes when it can be sent again.
pub(crate) fn replayable(body: &ProxyBody) -> Option<Bytes> {
    match body {
        ProxyBody::Full { data } => Some(data.clone().unwrap_or_default()),
        ProxyBody::Incoming { body } | ProxyBody::Upstream { body, .. } if body.is_end_stream() => {
            Some(Bytes::new())
        }
        ProxyBody::Incoming { .. }
        | ProxyBody::Upstream { .. }
        | ProxyBody::Compressed { .. }
        | ProxyBody::Prefixed { .. }
        | ProxyBody::GrpcWeb { .. }
        | ProxyBody::Counted { .. } => None,
    }
}

/// Upstream failures, and "no server available" (a failed server is passively ejected for a
/// while, so the next try may find none, or find it back after the backoff).
fn retriable(error: &ProxyError) -> bool {
    error.side() == Side::Upstream || matches!(error, ProxyError::NoEndpoint { .. })
}

/// A copy of a request head, without extensions but the forwarded-header overrides.
pub(crate) fn copy_head(p: &http::request::Parts) -> http::request::Parts {
    let (mut head, ()) = Request::new(()).into_parts();
    head.method = p.method.clone();
    head.uri = p.uri.clone();
    head.version = p.version;
    head.headers = p.headers.clone();
    // What a headers middleware decided about the forwarded headers (see `headers`).
    if let Some(decided) = p.extensions.get::<super::headers::ForwardedOverrides>() {
        head.extensions.insert(decided.clone());
    }
    head
}

/// How many times the `retry` middleware sent a request again (Traefik's retry listener:
/// `traefik_service_retries_total`, the access log's `RetryAttempts`); on the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries(pub u32);

/// Forwards through `send`, retrying per the route's first `retry` middleware (if any); adds
/// each retry to `retries`.
pub async fn around<F, Fut, S>(
    middlewares: &[Arc<Middleware>],
    parts: http::request::Parts,
    body: ProxyBody,
    retries: &std::sync::atomic::AtomicU32,
    mut send: F,
) -> Sent<S>
where
    F: FnMut(http::request::Parts, ProxyBody) -> Fut,
    Fut: Future<Output = Sent<S>>,
{
    let policy = middlewares.iter().find_map(|m| match &**m {
        Middleware::Retry(r) => Some(*r),
        _ => None,
    });
    let Some(policy) = policy.filter(|p| p.attempts > 1) else {
        return send(parts, body).await;
    };
    let data = match replayable(&body) {
        Some(data) if !parts.headers.contains_key(header::UPGRADE) => data,
        _ => return send(parts, body).await,
    };
    let mut interval = policy.initial_interval;
    let mut attempt = 1;
    loop {
        let (result, served) = send(copy_head(&parts), ProxyBody::full(data.clone())).await;
        match result {
            Err(error) if retriable(&error) && attempt < policy.attempts => {
                tracing::debug!(%error, attempt, "retrying");
                retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(interval).await;
                interval = interval.saturating_mul(2);
                attempt += 1;
            }
            result => return (result, served),
        }
    }
}

#[cfg(test)]
mod tests;
