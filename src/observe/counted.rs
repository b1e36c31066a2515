//! Bytes of responses whose length is not known when the head goes out (compressed, chunked,
//! streamed): counted frame by frame as the client is sent them, and recorded (metrics, access
//! log) when the body ends, fails or is dropped (the client went away), as Traefik counts what
//! it wrote. `Origin` counts what the service sent when a middleware re-encodes it (`compress`),
//! Traefik's `OriginContentSize`.
//!
//! One addition per data frame; the wrapper (one allocation) is only put around responses
//! without `Content-Length` or exact size, so a response of known length costs nothing more.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};

use super::{Observer, Outcome, Pending};
use crate::body::{BoxError, ProxyBody};
use crate::table::Route;
use crate::upstream::UpstreamPool;

/// What `Observer::record` needs once the body is done.
#[derive(Debug)]
pub(super) struct Deferred {
    pub(super) observer: Arc<Observer>,
    pub(super) pending: Pending,
    pub(super) route: Option<Arc<Route>>,
    pub(super) served: Option<Arc<UpstreamPool>>,
    pub(super) outcome: Outcome,
}

/// A response body counted on its way to the client.
struct Downstream {
    inner: ProxyBody,
    bytes: u64,
    deferred: Option<Deferred>,
}

impl Downstream {
    fn done(&mut self) {
        if let Some(d) = self.deferred.take() {
            d.observer
                .record(d.pending, d.route.as_ref(), d.served, d.outcome, self.bytes);
        }
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        // The client went away (or hyper dropped the body after its last frame): record what
        // was sent.
        self.done();
    }
}

impl Body for Downstream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                }
                if this.inner.is_end_stream() {
                    this.done();
                }
            }
            Poll::Ready(_) => this.done(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Wraps `resp`'s body so that the request is recorded when it ends.
pub(super) fn defer(resp: Response<ProxyBody>, deferred: Deferred) -> Response<ProxyBody> {
    resp.map(|inner| ProxyBody::Counted {
        body: Box::new(Downstream {
            inner,
            bytes: 0,
            deferred: Some(deferred),
        }),
    })
}

/// The service's bytes of a response a middleware re-encodes (in the response's extensions).
#[derive(Debug, Clone)]
pub struct OriginBytes(Arc<AtomicU64>);

impl OriginBytes {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A service's body counted as the re-encoding middleware reads it.
struct Origin {
    inner: ProxyBody,
    bytes: Arc<AtomicU64>,
}

impl Body for Origin {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts the service's body bytes of `resp` before a middleware re-encodes it: a known
/// `Content-Length` is taken as it is, otherwise the body is counted as it is read.
pub fn count_origin(resp: Response<ProxyBody>) -> Response<ProxyBody> {
    let (mut head, body) = resp.into_parts();
    let known = super::content_length_of(&head.headers).or_else(|| body.size_hint().exact());
    let bytes = Arc::new(AtomicU64::new(known.unwrap_or(0)));
    head.extensions.insert(OriginBytes(Arc::clone(&bytes)));
    let body = match known {
        Some(_) => body,
        None => ProxyBody::Counted {
            body: Box::new(Origin { inner: body, bytes }),
        },
    };
    Response::from_parts(head, body)
}
