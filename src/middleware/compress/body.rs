//! The compressed response body: streams the inner body through an encoder, one output frame
//! per input frame (each flushed, so a slow stream is not held back), and finishes the encoder
//! at the end. Also serves, without an encoder, a body whose first bytes were already read.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use super::Encoding;
use crate::body::{BoxError, ProxyBody};

/// gzip level (flate2's default, as Go's).
const GZIP_LEVEL: u32 = 6;
/// Brotli quality and window (2^20 bytes): a dynamic-content setting, a few MB per stream.
const BROTLI_QUALITY: u32 = 5;
const BROTLI_LGWIN: u32 = 20;
/// zstd's default level.
const ZSTD_LEVEL: i32 = 3;

/// One streaming encoder writing into its own buffer, drained after every flush.
enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(encoding: Encoding) -> std::io::Result<Self> {
        Ok(match encoding {
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(GZIP_LEVEL),
            )),
            Encoding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                BROTLI_QUALITY,
                BROTLI_LGWIN,
            ))),
            Encoding::Zstd => {
                Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?)
            }
        })
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Brotli(e) => e.get_mut(),
            Encoder::Zstd(e) => e.get_mut(),
        }
    }

    /// Compresses `data` and flushes: the returned bytes decode to everything written so far.
    fn encode(&mut self, data: &[u8]) -> std::io::Result<Bytes> {
        match self {
            Encoder::Gzip(e) => {
                e.write_all(data)?;
                e.flush()?;
            }
            Encoder::Brotli(e) => {
                e.write_all(data)?;
                e.flush()?;
            }
            Encoder::Zstd(e) => {
                e.write_all(data)?;
                e.flush()?;
            }
        }
        Ok(Bytes::from(std::mem::take(self.output())))
    }

    /// Ends the stream (trailer, checksum); returns the last bytes.
    fn finish(self) -> std::io::Result<Bytes> {
        let out = match self {
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Brotli(e) => e.into_inner(),
            Encoder::Zstd(e) => e.finish()?,
        };
        Ok(Bytes::from(out))
    }
}

/// A response body re-emitted after `compress` looked at it: `prefix` (bytes already read),
/// then the rest of `inner`, then `trailers`; compressed when there is an encoder.
pub struct CompressedBody {
    pub(super) prefix: Option<Bytes>,
    inner: Option<ProxyBody>,
    trailers: Option<HeaderMap>,
    encoder: Option<Encoder>,
    /// The encoder could not be built: the body fails on first poll.
    broken: bool,
}

impl std::fmt::Debug for CompressedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompressedBody")
            .field("encoded", &self.encoder.is_some())
            .finish_non_exhaustive()
    }
}

impl CompressedBody {
    /// `prefix` then `inner`, compressed with `encoding`.
    pub fn encoded(encoding: Encoding, prefix: Bytes, inner: ProxyBody) -> Self {
        let encoder = Encoder::new(encoding).ok();
        CompressedBody {
            prefix: (!prefix.is_empty()).then_some(prefix),
            inner: Some(inner),
            trailers: None,
            broken: encoder.is_none(),
            encoder,
        }
    }

    /// `prefix` then `inner` (if any) then `trailers`, as they are.
    pub fn identity(prefix: Bytes, inner: Option<ProxyBody>, trailers: Option<HeaderMap>) -> Self {
        CompressedBody {
            prefix: (!prefix.is_empty()).then_some(prefix),
            inner,
            trailers,
            encoder: None,
            broken: false,
        }
    }

    /// The next frame to send, or `None` at the end.
    fn next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.broken {
            self.broken = false;
            self.inner = None;
            self.prefix = None;
            return Poll::Ready(Some(Err("compress: cannot create the encoder".into())));
        }
        loop {
            if let Some(data) = self.prefix.take() {
                let Some(encoder) = self.encoder.as_mut() else {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                };
                match encoder.encode(&data) {
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                    Err(error) => return Poll::Ready(Some(Err(self.fail(error)))),
                }
            }
            if let Some(inner) = self.inner.as_mut() {
                match Pin::new(inner).poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => {
                            self.prefix = (!data.is_empty()).then_some(data);
                        }
                        Err(frame) => {
                            self.trailers = frame.into_trailers().ok();
                            self.inner = None;
                        }
                    },
                    Poll::Ready(Some(Err(error))) => {
                        self.inner = None;
                        self.encoder = None;
                        self.trailers = None;
                        return Poll::Ready(Some(Err(error)));
                    }
                    Poll::Ready(None) => self.inner = None,
                }
                continue;
            }
            if let Some(encoder) = self.encoder.take() {
                match encoder.finish() {
                    Ok(out) if out.is_empty() => {}
                    Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                    Err(error) => return Poll::Ready(Some(Err(self.fail(error)))),
                }
            }
            return Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
    }

    fn fail(&mut self, error: std::io::Error) -> BoxError {
        self.inner = None;
        self.encoder = None;
        self.trailers = None;
        self.prefix = None;
        Box::new(error)
    }
}

impl Body for CompressedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.get_mut().next_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        !self.broken
            && self.prefix.is_none()
            && self.inner.is_none()
            && self.encoder.is_none()
            && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.encoder, &self.inner, &self.prefix) {
            // Identity with nothing left to read: the prefix is all.
            (None, None, prefix) if !self.broken => {
                SizeHint::with_exact(prefix.as_ref().map_or(0, |p| p.len() as u64))
            }
            _ => SizeHint::default(),
        }
    }
}

impl From<CompressedBody> for ProxyBody {
    fn from(body: CompressedBody) -> Self {
        ProxyBody::Compressed {
            body: Box::new(body),
        }
    }
}
