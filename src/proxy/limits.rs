//! Connection-level limits of one entrypoint: the connection cap (`transport.maxConnections`), the
//! idle keep-alive timeout (`respondingTimeouts.idleTimeout`) and the bookkeeping they need
//! (activity of the socket, requests in flight).
//!
//! This module owns no HTTP parsing and never reads request bytes; the entrypoint wires it around
//! the accepted stream (`TrackedIo`), the service (`Activity::begin`) and the response body
//! (`TrackedBody`).
//!
//! Refusal over the cap: the connection is accepted, answered with a fixed
//! `503 Service Unavailable` + `Connection: close` + `Retry-After: 1` (what nginx's `limit_conn`
//! answers by default) and closed, all within [`REFUSAL_DEADLINE`]; the accept loop never waits.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long a refused connection may take to receive its 503 before it is dropped.
pub const REFUSAL_DEADLINE: Duration = Duration::from_secs(1);

/// The response a connection over the cap receives.
pub const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 29\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many connections, retry\r\n";

/// Counts open connections of one entrypoint against an optional cap.
#[derive(Debug, Clone)]
pub struct ConnectionGate {
    permits: Option<Arc<Semaphore>>,
}

/// Held by an admitted connection for its whole life.
#[derive(Debug)]
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

impl ConnectionGate {
    /// `None` (or 0) means unlimited.
    pub fn new(max: Option<usize>) -> Self {
        let permits = max
            .filter(|m| *m > 0)
            .map(|m| Arc::new(Semaphore::new(m.min(Semaphore::MAX_PERMITS))));
        ConnectionGate { permits }
    }

    /// Admits one more connection, or `None` when the cap is reached. Never waits.
    pub fn admit(&self) -> Option<Admission> {
        match &self.permits {
            None => Some(Admission { _permit: None }),
            Some(sem) => Arc::clone(sem)
                .try_acquire_owned()
                .ok()
                .map(|p| Admission { _permit: Some(p) }),
        }
    }
}

/// Answers a connection over the cap with [`REFUSAL`] and closes it, within [`REFUSAL_DEADLINE`].
/// Spawns; never blocks the caller.
pub fn refuse(mut stream: TcpStream) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_DEADLINE, async {
            stream.write_all(REFUSAL).await?;
            stream.shutdown().await
        })
        .await;
    });
}

/// Pending-accept resets per HTTP/2 connection before it is closed with GOAWAY
/// `ENHANCE_YOUR_CALM` (rapid-reset guard, CVE-2023-44487).
pub const H2_MAX_PENDING_ACCEPT_RESETS: usize = 20;
/// Streams the server itself may reset on protocol errors before closing the connection.
pub const H2_MAX_LOCAL_ERROR_RESETS: usize = 256;

/// The hyper builder for one entrypoint: HTTP/1 head timeout and size, HTTP/2 stream and reset
/// caps. An idle HTTP/1 keep-alive connection is also closed by hyper's head timeout (its timer
/// starts when hyper waits for the next request head), so its idle limit is
/// `min(idleTimeout, headerReadTimeout)`.
pub fn http_builder(
    options: &super::EntryPointOptions,
) -> hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.h2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(H2_MAX_PENDING_ACCEPT_RESETS)
        .max_local_error_reset_streams(H2_MAX_LOCAL_ERROR_RESETS);
    builder
}

/// Resolves when the connection has been idle for `limit`; never when `limit` is `None` or zero.
pub async fn idle_expired(activity: &Activity, limit: Option<Duration>) {
    match limit.filter(|l| !l.is_zero()) {
        Some(limit) => activity.idle_expired(limit).await,
        None => std::future::pending().await,
    }
}

/// Resolves when a request has been in flight longer than `limit` (`respondingTimeouts.writeTimeout`,
/// measured from the request head to the end of the response); never when `limit` is `None` or zero.
pub async fn write_expired(activity: &Activity, limit: Option<Duration>) {
    match limit.filter(|l| !l.is_zero()) {
        Some(limit) => activity.write_expired(limit).await,
        None => std::future::pending().await,
    }
}

/// Activity of one connection: when bytes last moved and how many requests are in flight.
#[derive(Debug)]
pub struct Activity {
    origin: Instant,
    /// Milliseconds since `origin` of the last read or write.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// Milliseconds since `origin` when the latest request began (its head was read).
    began_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            began_ms: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Bytes moved. While a request is in flight the connection is not idle anyway and the end of
    /// the request touches, so the clock is read only between requests (and in upgraded tunnels).
    /// A TCP router's session (`proxy::tcp::session`) calls it for every write either way.
    pub(crate) fn moved(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            self.touch();
        }
    }

    /// Marks one request in flight until the returned guard (moved into the response body) drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.began_ms.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Resolves once a request is in flight and `limit` has passed since the latest one began.
    /// (On HTTP/2 the deadline follows the latest stream of the connection.)
    pub async fn write_expired(&self, limit: Duration) {
        let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        loop {
            let wait = if self.in_flight.load(Ordering::Acquire) == 0 {
                limit_ms
            } else {
                let deadline = self
                    .began_ms
                    .load(Ordering::Relaxed)
                    .saturating_add(limit_ms);
                let now = self.now_ms();
                if now >= deadline {
                    return;
                }
                deadline - now
            };
            tokio::time::sleep(Duration::from_millis(wait.max(10))).await;
        }
    }

    /// How long the connection has been idle: zero while a request is in flight.
    pub fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }

    /// Resolves once the connection has been idle (no request in flight, no bytes moving) for
    /// `limit`. Checks at most a few times per `limit`.
    pub async fn idle_expired(&self, limit: Duration) {
        loop {
            let idle = self.idle_for();
            if idle >= limit {
                return;
            }
            let wait = (limit - idle).max(Duration::from_millis(50));
            tokio::time::sleep(wait).await;
        }
    }
}

/// One request in flight; dropping it ends the request for idle accounting.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project_lite::pin_project! {
    /// A stream that records activity on every read and write.
    pub struct TrackedIo<T> {
        #[pin]
        inner: T,
        activity: Arc<Activity>,
    }
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        TrackedIo { inner, activity }
    }
}

impl<T: AsyncRead> AsyncRead for TrackedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let res = this.inner.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.moved();
        }
        res
    }
}

impl<T: AsyncWrite> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let res = this.inner.poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.moved();
        }
        res
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let res = this.inner.poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.moved();
        }
        res
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

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as in flight until it is done or dropped.
    pub struct TrackedBody<B> {
        #[pin]
        inner: B,
        guard: Option<InFlight>,
    }
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, guard: InFlight) -> Self {
        TrackedBody {
            inner,
            guard: Some(guard),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let res = this.inner.poll_frame(cx);
        if matches!(res, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.guard.take();
        }
        res
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_caps_and_releases() {
        let gate = ConnectionGate::new(Some(2));
        let a = gate.admit();
        let b = gate.admit();
        assert!(a.is_some() && b.is_some());
        assert!(gate.admit().is_none(), "third connection over a cap of 2");
        drop(a);
        assert!(gate.admit().is_some(), "a closed connection frees its slot");
    }

    #[test]
    fn gate_without_cap_admits_everyone() {
        for max in [None, Some(0)] {
            let gate = ConnectionGate::new(max);
            let held: Vec<_> = (0..10_000).map(|_| gate.admit()).collect();
            assert!(held.iter().all(Option::is_some), "{max:?}");
        }
    }

    #[test]
    fn refusal_is_a_complete_response() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
    }

    #[tokio::test]
    async fn idle_counts_only_without_requests_in_flight() {
        let step = Duration::from_millis(120);
        let activity = Activity::new();
        tokio::time::sleep(step).await;
        assert!(activity.idle_for() >= step);
        let guard = activity.begin();
        tokio::time::sleep(step).await;
        assert_eq!(activity.idle_for(), Duration::ZERO);
        drop(guard);
        assert!(activity.idle_for() < step);
        let started = Instant::now();
        activity.idle_expired(step * 2).await;
        assert!(started.elapsed() >= step * 2);
        let never = idle_expired(&activity, Some(Duration::ZERO));
        assert!(tokio::time::timeout(step, never).await.is_err());
    }
}
