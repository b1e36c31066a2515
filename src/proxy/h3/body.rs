//! The body of an HTTP/3 request, streamed from its QUIC stream as the request path reads it:
//! DATA frames, then the trailers (a HEADERS frame after the data), then the end.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame};

use crate::body::{BoxError, ProxyBody};

/// The receiving half of a request stream.
pub type RecvStream = h3::server::RequestStream<h3_quinn::RecvStream, Bytes>;

/// A request body read from its stream; ends after the trailers, if any.
pub struct RequestBody {
    stream: RecvStream,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Trailers,
    Done,
}

impl RequestBody {
    pub fn new(stream: RecvStream) -> Self {
        RequestBody {
            stream,
            state: State::Data,
        }
    }
}

impl From<RequestBody> for ProxyBody {
    /// A streamed body of unknown length, like the other bodies built upstairs.
    fn from(body: RequestBody) -> Self {
        ProxyBody::Counted {
            body: Box::new(body),
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            match this.state {
                State::Data => match this.stream.poll_recv_data(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(Some(mut chunk))) => {
                        let data = chunk.copy_to_bytes(chunk.remaining());
                        if data.is_empty() {
                            continue;
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    Poll::Ready(Ok(None)) => this.state = State::Trailers,
                    Poll::Ready(Err(error)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(error.into())));
                    }
                },
                State::Trailers => {
                    let polled = this.stream.poll_recv_trailers(cx);
                    if polled.is_ready() {
                        this.state = State::Done;
                    }
                    return match polled {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(Ok(Some(trailers))) => {
                            Poll::Ready(Some(Ok(Frame::trailers(trailers))))
                        }
                        Poll::Ready(Ok(None)) => Poll::Ready(None),
                        Poll::Ready(Err(error)) => Poll::Ready(Some(Err(error.into()))),
                    };
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }
}
