//! Calling a `forwardAuth` middleware's authentication server, in router order among the
//! middlewares: the request head (and with `forwardBody` its body, read within `maxBodySize`)
//! goes through the middleware's keep-alive `UpstreamPool`; the answer (read within
//! `maxResponseBodySize`, the whole call within Traefik's 30 s) either lets the request on or
//! answers the client. The decisions are `middleware::forward_auth`'s; this is the I/O.
//!
//! Failures answer as Traefik's: server unreachable or answer unreadable → 500, request body
//! over `maxBodySize` or answer over `maxResponseBodySize` → 401, all with an empty body. The
//! request never reaches the service then.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use super::body::ProxyBody;
use crate::middleware::forward_auth::{apply_cookies, AuthAnswer, Decision, AUTH_TIMEOUT};
use crate::middleware::{Flow, ForwardAuth, RequestContext};
use crate::observe::metrics::Metrics;

/// What the `forwardAuth` middlewares of one request did, for the response and the logs.
#[derive(Default)]
pub(super) struct Passed<'a> {
    /// Cookies each passed middleware adds to the response (`addAuthCookiesToResponse`).
    cookies: Vec<(&'a ForwardAuth, Vec<HeaderValue>)>,
    log: AuthLog,
}

pub use crate::observe::access::AuthLog;

impl Passed<'_> {
    /// Adds the authentication cookies and the log facts to the response head.
    pub(super) fn finish(self, head: &mut http::response::Parts) {
        for (fa, cookies) in &self.cookies {
            apply_cookies(&mut head.headers, cookies, fa);
        }
        if self.log.calls > 0 {
            head.extensions.insert(self.log);
        }
    }
}

/// Asks `fa`'s authentication server about the request. `untrusted_peer`: the entrypoint's
/// `forwardedHeaders` does not trust the client.
pub(super) async fn check<'a>(
    fa: &'a ForwardAuth,
    parts: &mut http::request::Parts,
    body: &mut ProxyBody,
    ctx: &RequestContext<'_>,
    untrusted_peer: bool,
    metrics: Option<&Metrics>,
    passed: &mut Passed<'a>,
) -> Flow {
    let started = Instant::now();
    let key = fa.cache().and_then(|c| c.key(parts));
    let cached = match (fa.cache(), &key) {
        (Some(cache), Some(key)) => cache.get(key, started),
        _ => None,
    };
    let answer = match cached {
        Some(answer) => answer,
        None => {
            let fetched = match ask(fa, parts, body, ctx, untrusted_peer).await {
                Ok(answer) => Arc::new(answer),
                Err(status) => {
                    passed.log.calls += 1;
                    passed.log.elapsed += started.elapsed();
                    if let Some(m) = metrics {
                        m.record_auth(&fa.metrics, &fa.name, status.as_u16(), started.elapsed());
                    }
                    let mut resp = Response::new(Bytes::new());
                    *resp.status_mut() = status;
                    return Flow::Respond(resp);
                }
            };
            if let (Some(cache), Some(key)) = (fa.cache(), key) {
                cache.put(key, Arc::clone(&fetched), Instant::now());
            }
            if let Some(m) = metrics {
                m.record_auth(
                    &fa.metrics,
                    &fa.name,
                    fetched.status.as_u16(),
                    started.elapsed(),
                );
            }
            fetched
        }
    };
    passed.log.calls += 1;
    passed.log.elapsed += started.elapsed();
    if let Some(user) = fa.user(&answer) {
        passed.log.user = Some(user);
    }
    match fa.decide(&answer, parts) {
        Decision::Allow { cookies } => {
            if !cookies.is_empty() {
                passed.cookies.push((fa, cookies));
            }
            Flow::Continue
        }
        Decision::Deny(resp) => Flow::Respond(resp),
    }
}

/// One call to the authentication server; `Err` is the status the client gets.
async fn ask(
    fa: &ForwardAuth,
    parts: &http::request::Parts,
    body: &mut ProxyBody,
    ctx: &RequestContext<'_>,
    untrusted_peer: bool,
) -> Result<AuthAnswer, StatusCode> {
    let mut head = fa.auth_request(parts, ctx, untrusted_peer);
    // A CONNECT body of unknown length is tunnel data, not something to authenticate.
    let unknown_length = !parts.headers.contains_key(header::CONTENT_LENGTH);
    let forward_body = fa.forward_body() && !(parts.method == Method::CONNECT && unknown_length);
    let auth_body = if forward_body {
        let taken = std::mem::take(body);
        let read = match fa.max_body() {
            Some(limit) => Limited::new(taken, limit).collect().await,
            None => taken.collect().await,
        };
        let bytes = match read {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                tracing::debug!(middleware = %fa.name, "request body over forwardAuth maxBodySize");
                return Err(StatusCode::UNAUTHORIZED);
            }
            Err(error) => {
                tracing::debug!(middleware = %fa.name, %error, "cannot read the request body");
                return Err(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        *body = ProxyBody::full(bytes.clone());
        if !bytes.is_empty() {
            head.headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        }
        ProxyBody::full(bytes)
    } else {
        ProxyBody::empty()
    };
    // Go's client asks for gzip itself when nothing else was asked, and unpacks the answer.
    let asked_gzip = !head.headers.contains_key(header::ACCEPT_ENCODING)
        && !head.headers.contains_key(header::RANGE)
        && head.method != Method::HEAD;
    if asked_gzip {
        head.headers
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let req = Request::from_parts(head, auth_body);
    let pool = fa.pool();
    let call = async {
        let upstreamed = pool.send(req, false).await.map_err(|failed| {
            tracing::error!(middleware = %fa.name, endpoint = %pool.target().url, error = %failed.error, "forwardAuth: cannot reach the authentication server");
            StatusCode::INTERNAL_SERVER_ERROR
        })?;
        let (head, incoming) = upstreamed.response.into_parts();
        let read = match fa.max_response_body() {
            Some(limit) => Limited::new(incoming, limit).collect().await,
            None => incoming.collect().await.map_err(Into::into),
        };
        let bytes = match read {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                tracing::debug!(middleware = %fa.name, "answer over forwardAuth maxResponseBodySize");
                return Err(StatusCode::UNAUTHORIZED);
            }
            Err(error) => {
                tracing::debug!(middleware = %fa.name, %error, "cannot read the authentication answer");
                return Err(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        // Read to the end: the connection goes back to the pool.
        if let Some(reuse) = upstreamed.reuse {
            reuse.release();
        }
        let mut headers = head.headers;
        let gzipped = headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let bytes = if asked_gzip && gzipped {
            headers.remove(header::CONTENT_ENCODING);
            headers.remove(header::CONTENT_LENGTH);
            gunzip(&bytes, fa.max_response_body())?
        } else {
            bytes
        };
        Ok(AuthAnswer {
            status: head.status,
            headers,
            body: bytes,
        })
    };
    match tokio::time::timeout(AUTH_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(middleware = %fa.name, "forwardAuth: the authentication server did not answer within 30s");
            Err(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Unpacks a gzip answer body (within `maxResponseBodySize`, 401 past it; 500 when corrupt).
fn gunzip(bytes: &[u8], limit: Option<usize>) -> Result<Bytes, StatusCode> {
    use std::io::Read;
    let cap = limit.map_or(u64::MAX, |l| l as u64 + 1);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    if limit.is_some_and(|l| out.len() > l) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    Ok(Bytes::from(out))
}
