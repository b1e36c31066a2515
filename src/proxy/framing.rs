//! Request framing guard: every HTTP/1 request head is checked before hyper reads it.
//!
//! hyper accepts a request carrying both `Content-Length` and `Transfer-Encoding` (it drops the
//! length, frames by chunked and closes afterwards, as RFC 9112 §6.1 allows) and a repeated
//! identical `Content-Length`. An edge should refuse both: they are the raw material of request
//! smuggling between proxies that disagree. Once hyper has parsed a head the evidence is gone,
//! so `Framing` sits between the connection and hyper and looks at the bytes:
//!
//! * at each request boundary it holds the bytes back until the head is complete, parses it with
//!   `httparse`, and checks the framing headers;
//! * a good head is handed on, then its body is passed through while a small scanner follows the
//!   framing (`Content-Length` countdown or chunked syntax) to find the next boundary — body bytes
//!   are read straight into hyper's buffer, never copied;
//! * a bad head never reaches hyper: a synthetic request takes its place (an unforgeable method
//!   token, see [`rejected`]) that the service answers with 400 and `Connection: close`, so earlier
//!   pipelined requests are still answered in order; the connection then reads as closed.
//!
//! Anything it does not frame — HTTP/2 (the preface does not parse as HTTP/1), upgrades and
//! `CONNECT`, heads bigger than the limit, malformed heads hyper will refuse itself — switches the
//! connection to pass-through. An upgrade the server does not switch gets `Connection: close`
//! from the service (`keep_guard_honest` in service.rs), so no unchecked request can follow it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use self::body::{scan_body, Chunk, State};

/// Headers a head may carry before httparse gives up (hyper's own limit is 100).
const MAX_HEADERS: usize = 128;
/// Small: most heads fit, and every open connection keeps one (it grows for bigger heads).
const INITIAL_BUFFER: usize = 2 * 1024;

/// Why a head was refused; the service answers 400 with this text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ContentLengthAndTransferEncoding,
    DuplicateContentLength,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::ContentLengthAndTransferEncoding => {
                "both Content-Length and Transfer-Encoding"
            }
            Refusal::DuplicateContentLength => "more than one Content-Length",
        }
    }

    fn from_str(text: &str) -> Option<Refusal> {
        [
            Refusal::ContentLengthAndTransferEncoding,
            Refusal::DuplicateContentLength,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// The method token of the synthetic request that replaces a refused head: random per process,
/// so a client cannot send it (and if one guessed it, it would only get its own 400).
fn marker_method() -> &'static str {
    static MARKER: OnceLock<String> = OnceLock::new();
    MARKER.get_or_init(|| {
        let mut random = [0u8; 12];
        let filled = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
        let seed = if filled.is_ok() {
            random
        } else {
            // No system randomness: still unguessable enough for a token that only yields a 400.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let mut fallback = [0u8; 12];
            fallback.copy_from_slice(&nanos.to_le_bytes()[..12]);
            fallback
        };
        let hex: String = seed.iter().map(|b| format!("{b:02X}")).collect();
        format!("SWARMGATE-REFUSED-{hex}")
    })
}

/// The refusal carried by a synthetic request, if `req` is one.
pub fn rejected<B>(req: &http::Request<B>) -> Option<Refusal> {
    if req.method().as_str() != marker_method() {
        return None;
    }
    req.headers()
        .get("x-refusal")
        .and_then(|v| v.to_str().ok())
        .and_then(Refusal::from_str)
        .or(Some(Refusal::ContentLengthAndTransferEncoding))
}

fn synthetic(refusal: Refusal) -> Vec<u8> {
    format!(
        "{} / HTTP/1.1\r\nhost: refused.invalid\r\nx-refusal: {}\r\nconnection: close\r\n\r\n",
        marker_method(),
        refusal.as_str()
    )
    .into_bytes()
}

// === the scanner (pure) ===

/// What a complete head says about the bytes after it.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Not complete yet.
    Partial,
    /// Good: `len` bytes of head, then `next`.
    Pass {
        len: usize,
        next: State,
    },
    Refuse(Refusal),
}

fn check_head(bytes: &[u8]) -> Verdict {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(bytes) {
        Ok(httparse::Status::Partial) => return Verdict::Partial,
        Ok(httparse::Status::Complete(len)) => len,
        // Malformed (or HTTP/2's preface): hyper refuses or handles it; stop following.
        Err(_) => {
            return Verdict::Pass {
                len: bytes.len(),
                next: State::Passthrough,
            }
        }
    };
    let mut lengths = 0usize;
    let mut length_value: &[u8] = b"";
    let mut transfer_encoding = false;
    let mut chunked_last = false;
    let mut upgrade = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            length_value = h.value;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            chunked_last = h
                .value
                .rsplit(|b| *b == b',')
                .next()
                .map(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
                .unwrap_or(false);
        } else if h.name.eq_ignore_ascii_case("upgrade") {
            // hyper only honours Upgrade on HTTP/1.1; on 1.0 the head is an ordinary request.
            upgrade = req.version == Some(1);
        }
    }
    if transfer_encoding && lengths > 0 {
        return Verdict::Refuse(Refusal::ContentLengthAndTransferEncoding);
    }
    if lengths > 1 {
        return Verdict::Refuse(Refusal::DuplicateContentLength);
    }
    let next = if upgrade || req.method == Some("CONNECT") {
        State::Passthrough
    } else if transfer_encoding {
        if chunked_last {
            State::Chunked(Chunk::Size {
                size: 0,
                digits: 0,
                in_ext: false,
            })
        } else {
            State::Passthrough // hyper answers 400
        }
    } else if lengths == 1 {
        match parse_length(length_value) {
            Some(0) => State::Head,
            Some(n) => State::Body(n),
            None => State::Passthrough, // hyper answers 400
        }
    } else {
        State::Head
    };
    Verdict::Pass { len, next }
}

fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

// === the IO wrapper ===

pin_project_lite::pin_project! {
    /// A connection whose request heads are checked before the HTTP/1 server reads them.
    pub struct Framing<T> {
        #[pin]
        inner: T,
        state: State,
        // Bytes read but not yet handed on: `buf[start..end]`; the first `released` of them are
        // checked and may be handed on. `buf` stays fully initialised (no unsafe), grown on demand.
        buf: Vec<u8>,
        start: usize,
        end: usize,
        released: usize,
        max_head: usize,
        // Started when part of a head has arrived and the rest is awaited (slowloris guard; hyper's
        // own head timer cannot see bytes held back here).
        head_timeout: Duration,
        head_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<T> Framing<T> {
    /// `max_head`: a head bigger than this is left to hyper (which answers 431); `head_timeout`:
    /// time allowed for the rest of a head once its first bytes have arrived.
    pub fn new(inner: T, max_head: usize, head_timeout: Duration) -> Self {
        Framing {
            inner,
            state: State::Head,
            buf: Vec::new(),
            start: 0,
            end: 0,
            released: 0,
            max_head,
            head_timeout,
            head_timer: None,
        }
    }
}

impl<T: AsyncRead> AsyncRead for Framing<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut this = self.project();
        loop {
            // 1. Bytes already checked go first.
            if *this.released > 0 {
                let n = (*this.released).min(out.remaining());
                out.put_slice(&this.buf[*this.start..*this.start + n]);
                *this.start += n;
                *this.released -= n;
                if *this.start == *this.end {
                    *this.start = 0;
                    *this.end = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let pending = *this.end - *this.start;
            match *this.state {
                // Nothing more is read: hyper answers the synthetic request (`Connection: close`)
                // and closes. (An end of stream here would make hyper drop the request unanswered.)
                State::Refused => return Poll::Pending,
                State::Passthrough => {
                    if pending > 0 {
                        *this.released = pending;
                        continue;
                    }
                    return this.inner.poll_read(cx, out);
                }
                State::Head => {
                    if pending > 0 {
                        match check_head(&this.buf[*this.start..*this.end]) {
                            Verdict::Pass { len, next } => {
                                *this.released = len;
                                *this.state = next;
                                *this.head_timer = None;
                                continue;
                            }
                            Verdict::Refuse(refusal) => {
                                *this.head_timer = None;
                                tracing::debug!(
                                    reason = refusal.as_str(),
                                    "request refused before parsing"
                                );
                                let replacement = synthetic(refusal);
                                *this.start = 0;
                                *this.end = replacement.len();
                                *this.released = replacement.len();
                                *this.buf = replacement;
                                *this.state = State::Refused;
                                continue;
                            }
                            Verdict::Partial if pending > *this.max_head => {
                                *this.state = State::Passthrough; // hyper answers 431
                                continue;
                            }
                            Verdict::Partial => {}
                        }
                    }
                    // Read more of the head into our buffer.
                    if *this.end == this.buf.len() {
                        if *this.start > 0 {
                            this.buf.copy_within(*this.start..*this.end, 0);
                            *this.end -= *this.start;
                            *this.start = 0;
                        } else {
                            let grown = (this.buf.len() * 2).max(INITIAL_BUFFER);
                            this.buf.resize(grown, 0);
                        }
                    }
                    let mut room = ReadBuf::new(&mut this.buf[*this.end..]);
                    match this.inner.as_mut().poll_read(cx, &mut room) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {
                            if pending > 0 {
                                let limit = *this.head_timeout;
                                let timer = this
                                    .head_timer
                                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                                if timer.as_mut().poll(cx).is_ready() {
                                    return Poll::Ready(Err(io::Error::new(
                                        io::ErrorKind::TimedOut,
                                        "request head not complete within headerReadTimeout",
                                    )));
                                }
                            }
                            return Poll::Pending;
                        }
                    }
                    let n = room.filled().len();
                    if n == 0 {
                        // End of stream: hand on a partial head as it is; hyper reports it.
                        if pending == 0 {
                            return Poll::Ready(Ok(()));
                        }
                        *this.state = State::Passthrough;
                        continue;
                    }
                    *this.end += n;
                }
                State::Body(_) | State::Chunked(_) => {
                    if pending > 0 {
                        let (used, next) =
                            scan_body(*this.state, &this.buf[*this.start..*this.end]);
                        *this.state = next;
                        *this.released = used;
                        continue;
                    }
                    // Body bytes go straight into the reader's buffer; anything after the end
                    // of the body is taken back to be checked as the next head.
                    let before = out.filled().len();
                    ready!(this.inner.as_mut().poll_read(cx, out))?;
                    let after = out.filled().len();
                    if after == before {
                        return Poll::Ready(Ok(()));
                    }
                    let (used, next) = scan_body(*this.state, &out.filled()[before..after]);
                    *this.state = next;
                    if before + used < after {
                        let rest = &out.filled()[before + used..after];
                        if this.buf.len() < rest.len() {
                            this.buf.resize(rest.len().max(INITIAL_BUFFER), 0);
                        }
                        this.buf[..rest.len()].copy_from_slice(rest);
                        *this.start = 0;
                        *this.end = rest.len();
                        out.set_filled(before + used);
                    }
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl<T: AsyncWrite> AsyncWrite for Framing<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// The guard driven over bytes in memory, for tests and the `framing` fuzz target.
#[doc(hidden)]
pub mod in_memory {
    use super::*;

    /// A reader yielding `chunks` one per read (never empty: an empty read is an end of stream).
    struct Chunks(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            out: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if let Some(mut chunk) = self.0.pop_front() {
                let n = chunk.len().min(out.remaining());
                out.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.0.push_front(chunk.split_off(n));
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    /// What came out of the guard.
    #[derive(Debug)]
    pub struct Outcome {
        /// What the HTTP server read.
        pub bytes: Vec<u8>,
        /// A head was refused (the bytes end with the replacement request).
        pub refused: bool,
        /// The guard followed the stream to its end (did not switch to pass-through).
        pub followed: bool,
    }

    /// What the HTTP server would read through the guard when the client's bytes arrive as
    /// `chunks` and the server reads `read_size` bytes at a time.
    pub fn run(chunks: &[&[u8]], read_size: usize) -> Outcome {
        let chunks = chunks
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| c.to_vec())
            .collect();
        let mut guard = Box::pin(Framing::new(
            Chunks(chunks),
            64 * 1024,
            Duration::from_secs(30),
        ));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        let mut space = vec![0u8; read_size.max(1)];
        loop {
            let mut buf = ReadBuf::new(&mut space);
            match guard.as_mut().poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    out.extend_from_slice(buf.filled())
                }
                // An end of stream, or (only for a refused stream: the reader never waits) a wait.
                _ => {
                    return Outcome {
                        bytes: out,
                        refused: guard.state == State::Refused,
                        followed: guard.state != State::Passthrough,
                    }
                }
            }
        }
    }

    /// The synthetic request that replaces a refused head (to check outputs against).
    pub fn replacement(refusal: Refusal) -> Vec<u8> {
        synthetic(refusal)
    }
}

mod body;
#[cfg(test)]
mod tests;
