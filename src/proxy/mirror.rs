//! `mirroring` services: each mirror gets a copy of its share of the requests, fire and forget.
//!
//! As Traefik: the percentages follow its counter (`MirroringService::active`); with
//! `mirrorBody` (default) the body is read first, up to `maxBodySize` (+1 byte to see a larger
//! one): a request whose body is larger is not mirrored and goes on to the main service whole
//! (`ProxyBody::Prefixed`); the mirrors' answers are read and dropped.
//! Differences, all so a mirror can never slow or fail the main request: copies are sent in
//! their own tasks as soon as the body is known, not after the main answer; at most
//! [`MAX_IN_FLIGHT`] copies run at once (more are dropped, logged at debug), each bounded by
//! [`MIRROR_DEADLINE`]; an unbounded `maxBodySize` (the default) copies at most
//! [`DEFAULT_MAX_BODY`] bytes (a larger request is not mirrored, never held whole in memory);
//! with `mirrorBody: false` the copy carries no body and no
//! `Content-Length` (Traefik's copy would announce a body it cannot send).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{header, Request};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use super::body::ProxyBody;
use super::error::ProxyError;
use super::forward;
use super::service::ConnInfo;
use crate::observe::Metrics;
use crate::table::{MirroringService, Service};

/// Mirrored requests in flight at most, over all services; more copies are dropped.
pub const MAX_IN_FLIGHT: usize = 512;
/// How long one mirrored exchange (request and the whole answer) may take.
pub const MIRROR_DEADLINE: Duration = Duration::from_secs(30);
/// The body size mirrored at most when `maxBodySize` is left unbounded (Traefik's default `-1`
/// would hold any upload in memory): a larger request goes to the main service only.
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;

fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| Arc::new(Semaphore::new(MAX_IN_FLIGHT)))
}

/// Sends the copies of one request for the `mirroring` services its resolution went through.
/// The body is read (bounded) when a mirror wants it; a body that fails to arrive is the
/// client's error (400).
pub async fn dispatch(
    mirrorings: &[&MirroringService],
    parts: &http::request::Parts,
    body: &mut ProxyBody,
    conn: &ConnInfo,
    metrics: Option<&Arc<Metrics>>,
) -> Result<(), ProxyError> {
    for mirroring in mirrorings {
        let mut chosen: Vec<Arc<Service>> = Vec::new();
        mirroring.active(|mirror| chosen.push(Arc::clone(&mirror.service)));
        if chosen.is_empty() {
            continue;
        }
        let copy = if mirroring.mirror_body {
            let max = mirroring.max_body_size.unwrap_or(DEFAULT_MAX_BODY);
            match read_bounded(body, Some(max)).await? {
                Some(bytes) => bytes,
                None => {
                    tracing::debug!(service = %mirroring.name, "no mirroring: request body larger than maxBodySize");
                    continue;
                }
            }
        } else {
            Bytes::new()
        };
        for service in chosen {
            send(
                service,
                copy_head(parts, mirroring.mirror_body),
                copy.clone(),
                conn.clone(),
                metrics.cloned(),
            );
        }
    }
    Ok(())
}

/// Reads the whole body into memory when it is at most `max` bytes (`None`: no limit) and puts
/// it back in `body`; `Ok(None)` when it is larger, with `body` holding what was read and the rest.
pub(super) async fn read_bounded(
    body: &mut ProxyBody,
    max: Option<u64>,
) -> Result<Option<Bytes>, ProxyError> {
    let limit = max.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    if max.is_some_and(|m| http_body::Body::size_hint(&*body).lower() > m) {
        return Ok(None);
    }
    let mut read = BytesMut::new();
    let mut source = std::mem::take(body);
    loop {
        let Some(frame) = source.frame().await else {
            break;
        };
        let frame = frame.map_err(|_| ProxyError::BadRequest("request body could not be read"))?;
        // Trailers are not copied (they are rare on requests and no mirror needs them).
        if let Ok(data) = frame.into_data() {
            read.extend_from_slice(&data);
            if read.len() > limit {
                *body = ProxyBody::Prefixed {
                    body: Box::new((Some(read.freeze()), source)),
                };
                return Ok(None);
            }
        }
    }
    let bytes = read.freeze();
    *body = ProxyBody::full(bytes.clone());
    Ok(Some(bytes))
}

/// The head of a copy: method, URI, version and headers as the main request has them.
fn copy_head(parts: &http::request::Parts, with_body: bool) -> http::request::Parts {
    let (mut head, ()) = Request::new(()).into_parts();
    head.method = parts.method.clone();
    head.uri = parts.uri.clone();
    head.version = parts.version;
    head.headers = parts.headers.clone();
    // The copy never upgrades a connection.
    head.headers.remove(header::UPGRADE);
    if !with_body {
        head.headers.remove(header::CONTENT_LENGTH);
        head.headers.remove(header::TRANSFER_ENCODING);
    }
    head
}

/// Sends one copy in its own task when a permit is free; its answer is read and dropped.
/// Its calls to servers are measured in `http.client.request.duration` when `metrics` has it.
fn send(
    service: Arc<Service>,
    head: http::request::Parts,
    body: Bytes,
    conn: ConnInfo,
    metrics: Option<Arc<Metrics>>,
) {
    let Ok(permit) = Arc::clone(permits()).try_acquire_owned() else {
        tracing::debug!(service = %service.name(), "mirror copy dropped: too many in flight");
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let exchange = async {
            let Some(Service::LoadBalancer(lb)) = service.resolve(Instant::now()) else {
                tracing::debug!(service = %service.name(), "mirror has no server to answer");
                return;
            };
            let mut served = None;
            let meter = metrics.as_deref().and_then(Metrics::semconv);
            match forward::forward(lb, head, ProxyBody::full(body), &conn, &mut served, meter).await
            {
                Ok(resp) => {
                    let mut answer = resp.into_body();
                    while let Some(Ok(_)) = answer.frame().await {}
                }
                Err(error) => {
                    tracing::debug!(service = %lb.name, %error, "mirrored request failed");
                }
            }
        };
        if tokio::time::timeout(MIRROR_DEADLINE, exchange)
            .await
            .is_err()
        {
            tracing::debug!(service = %service.name(), "mirrored request timed out");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_and_put_back() {
        let mut body = ProxyBody::full("hello");
        let copy = read_bounded(&mut body, Some(5)).await;
        assert_eq!(copy.ok().flatten(), Some(Bytes::from_static(b"hello")));
        let rest = body.collect().await.map(|c| c.to_bytes()).ok();
        assert_eq!(rest, Some(Bytes::from_static(b"hello")));
    }

    #[tokio::test]
    async fn a_larger_body_is_not_copied_and_goes_on_whole() {
        let mut body = ProxyBody::full("hello world");
        let copy = read_bounded(&mut body, Some(4)).await;
        assert_eq!(copy.ok(), Some(None));
        let rest = body.collect().await.map(|c| c.to_bytes()).ok();
        assert_eq!(rest, Some(Bytes::from_static(b"hello world")));
    }

    #[tokio::test]
    async fn no_limit_reads_everything() {
        let mut body = ProxyBody::full(vec![7u8; 100_000]);
        let copy = read_bounded(&mut body, None).await.ok().flatten();
        assert_eq!(copy.map(|b| b.len()), Some(100_000));
    }

    #[test]
    fn a_copy_without_body_announces_none() {
        let (mut parts, ()) = Request::post("/x")
            .body(())
            .unwrap_or_default()
            .into_parts();
        parts
            .headers
            .insert(header::CONTENT_LENGTH, http::HeaderValue::from_static("5"));
        let head = copy_head(&parts, false);
        assert!(head.headers.get(header::CONTENT_LENGTH).is_none());
        assert_eq!(head.method, http::Method::POST);
        assert!(copy_head(&parts, true)
            .headers
            .contains_key(header::CONTENT_LENGTH));
    }
}
