//! `ProxyBody`: the one body type on the request path, both directions.
//!
//! A closed enum instead of a boxed body, so forwarding a request or response costs no allocation:
//! bodies from the other side stream through as `Incoming`; synthetic answers are `Full`; an
//! upstream HTTP/1 response is `Upstream`, which hands its keep-alive connection back to the pool
//! the moment its last frame has been read (no task per request waits for that). A response the
//! `compress` middleware re-encodes is `Compressed` (boxed, so the other variants stay small). A request body read in part to
//! decide on mirroring goes on as `Prefixed` (the bytes read, then the rest).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use http_body::{Body, Frame, SizeHint};

mod reuse;
pub use reuse::{IdleQueue, Reuse};

/// Error type of `ProxyBody`: whatever the streamed side failed with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body built upstairs (the `compress` and `grpcWeb` middlewares' re-encoded bodies), named here
/// only by what it does, so this floor imports nothing of the crate.
pub type DynBody = dyn Body<Data = Bytes, Error = BoxError> + Send + Sync + Unpin;

pin_project_lite::pin_project! {
    /// A streamed (`Incoming`) or in-memory (`Full`) body, or none.
    #[project = ProxyBodyProj]
    pub enum ProxyBody {
        Incoming { #[pin] body: hyper::body::Incoming },
        Upstream { #[pin] body: hyper::body::Incoming, reuse: Option<Reuse> },
        Full { data: Option<Bytes> },
        // Boxed: the common variants stay small; only `compress` responses pay the allocation.
        Compressed { body: Box<DynBody> },
        // Bytes already read, then the rest of the body (a request too large to mirror).
        Prefixed { body: Box<(Option<Bytes>, ProxyBody)> },
        // A `grpcWeb` translation (decoded request or framed response).
        GrpcWeb { body: Box<DynBody> },
        // A response of unknown length whose bytes are counted as they go out (the access log
        // and metrics record it at its end); or the origin's bytes of a re-encoded response.
        Counted { body: Box<DynBody> },
    }
}

impl ProxyBody {
    pub fn empty() -> Self {
        ProxyBody::Full { data: None }
    }

    pub fn full(data: impl Into<Bytes>) -> Self {
        let data: Bytes = data.into();
        ProxyBody::Full {
            data: (!data.is_empty()).then_some(data),
        }
    }
}

impl ProxyBody {
    /// An upstream response body whose connection goes back to its pool once the body is done.
    /// A body that is already complete (no content) releases the connection at once.
    pub fn upstream(body: hyper::body::Incoming, reuse: Option<Reuse>) -> Self {
        if body.is_end_stream() {
            if let Some(reuse) = reuse {
                reuse.release();
            }
            return ProxyBody::Incoming { body };
        }
        ProxyBody::Upstream { body, reuse }
    }
}

impl From<hyper::body::Incoming> for ProxyBody {
    fn from(body: hyper::body::Incoming) -> Self {
        ProxyBody::Incoming { body }
    }
}

impl From<Bytes> for ProxyBody {
    fn from(data: Bytes) -> Self {
        ProxyBody::full(data)
    }
}

impl Default for ProxyBody {
    fn default() -> Self {
        ProxyBody::empty()
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            ProxyBodyProj::Incoming { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|r| r.map_err(BoxError::from))),
            ProxyBodyProj::Upstream { mut body, reuse } => {
                let polled = body.as_mut().poll_frame(cx);
                // Done cleanly (end of stream, not an error): the connection can serve another request.
                let done = match &polled {
                    Poll::Ready(None) => true,
                    Poll::Ready(Some(Ok(_))) => body.is_end_stream(),
                    _ => false,
                };
                if done {
                    if let Some(reuse) = reuse.take() {
                        reuse.release();
                    }
                }
                polled.map(|frame| frame.map(|r| r.map_err(BoxError::from)))
            }
            ProxyBodyProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            ProxyBodyProj::Compressed { body } => Pin::new(&mut **body).poll_frame(cx),
            ProxyBodyProj::Prefixed { body } => match body.0.take() {
                Some(head) => Poll::Ready(Some(Ok(Frame::data(head)))),
                None => Pin::new(&mut body.1).poll_frame(cx),
            },
            ProxyBodyProj::GrpcWeb { body } | ProxyBodyProj::Counted { body } => {
                Pin::new(&mut **body).poll_frame(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Incoming { body } | ProxyBody::Upstream { body, .. } => body.is_end_stream(),
            ProxyBody::Full { data } => data.is_none(),
            ProxyBody::Compressed { body } => body.is_end_stream(),
            ProxyBody::Prefixed { body } => body.0.is_none() && body.1.is_end_stream(),
            ProxyBody::GrpcWeb { body } | ProxyBody::Counted { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Incoming { body } | ProxyBody::Upstream { body, .. } => body.size_hint(),
            ProxyBody::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            ProxyBody::Compressed { body } => body.size_hint(),
            ProxyBody::Prefixed { body } => {
                let head = body.0.as_ref().map_or(0, |d| d.len() as u64);
                let rest = body.1.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower().saturating_add(head));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(head));
                }
                hint
            }
            ProxyBody::GrpcWeb { body } | ProxyBody::Counted { body } => body.size_hint(),
        }
    }
}
