//! `UpstreamPool`: keep-alive connections to one server.
//!
//! HTTP/1.1 senders wait in a lock-free `ArrayQueue` between requests; an HTTP/2 (h2c) server gets
//! one shared multiplexed sender behind an `ArcSwapOption`. A request that could not be written
//! (connect failed, pooled connection closed under us) is handed back in `SendError::request`, so
//! the caller can retry it on another server without having sent a byte.
//!
//! An HTTP/1 connection returns to the idle queue when its response body has been read to the end
//! (`Reuse::release`, called by `ProxyBody::Upstream`): no task per request waits for that. A
//! sender released a moment before hyper's connection task has caught up is awaited when popped.
//!
//! `SendError` carries the request back by value (as hyper's `TrySendError` does), hence the
//! `result_large_err` allowance: boxing it would cost an allocation on every retry path.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use crossbeam_queue::ArrayQueue;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use tokio::sync::Notify;

use super::connect::{connect, Sender};
use super::{Target, Transport, UpstreamScheme};
use crate::body::{BoxError, IdleQueue, ProxyBody};
use crate::error::ProxyError;

struct Idle {
    sender: http1::SendRequest<ProxyBody>,
    since: Instant,
}

/// A response head and, for a pooled HTTP/1 connection, the way back to the idle queue.
pub struct Upstreamed {
    pub response: Response<Incoming>,
    pub reuse: Option<Reuse>,
}

/// `Reuse` moved to the ground floor (`crate::body::Reuse`); the pool is its `IdleQueue`.
pub use crate::body::Reuse;

impl IdleQueue for UpstreamPool {
    fn put_back(&self, sender: http1::SendRequest<ProxyBody>) {
        // A negative `maxIdleConnsPerHost`: no connection is reused.
        if !self.transport.reuse {
            return;
        }
        let _ = self.idle.push(Idle {
            sender,
            since: Instant::now(),
        });
    }

    fn target_url(&self) -> &str {
        &self.target.url
    }
}

/// A failed send. `request` is `Some` when nothing was written upstream (safe to retry elsewhere).
pub struct SendError {
    pub error: ProxyError,
    pub request: Option<Request<ProxyBody>>,
}

pub struct UpstreamPool {
    target: Target,
    transport: Arc<Transport>,
    /// The transport's connect timeout, or its `task_connect_timeout` for a Swarm task.
    connect_timeout: Duration,
    /// `TCP_USER_TIMEOUT` on this server's connections (Swarm tasks: `Transport::task_user_timeout`).
    user_timeout: Option<Duration>,
    idle: ArrayQueue<Idle>,
    h2: ArcSwapOption<http2::SendRequest<ProxyBody>>,
    /// Woken when a connect to this server fails: the connects in flight to it give up at once
    /// (they would wait out the same timeout against a task that is gone) and their requests go
    /// to another server. Only the connection-opening path (already boxed, rare) touches it.
    connect_failed: Notify,
}

impl std::fmt::Debug for UpstreamPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamPool")
            .field("target", &self.target.url)
            .field("idle", &self.idle.len())
            .finish()
    }
}

impl UpstreamPool {
    pub fn new(target: Target, transport: Arc<Transport>) -> Self {
        let idle = ArrayQueue::new(transport.max_idle);
        UpstreamPool {
            target,
            connect_timeout: transport.connect_timeout,
            user_timeout: None,
            transport,
            idle,
            h2: ArcSwapOption::empty(),
            connect_failed: Notify::new(),
        }
    }

    /// The same pool with another connect timeout (Swarm tasks: `Transport::task_connect_timeout`).
    pub fn with_connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// The same pool whose connections error once written bytes stay unacknowledged this long
    /// (Swarm tasks: a request over a pooled connection to a vanished node fails fast).
    pub fn with_user_timeout(mut self, limit: Duration) -> Self {
        self.user_timeout = Some(limit);
        self
    }

    /// The `TCP_USER_TIMEOUT` set on this server's connections, if any.
    pub fn user_timeout(&self) -> Option<Duration> {
        self.user_timeout
    }

    /// How long a connect to this server may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Opens a connection within the connect timeout; a failure makes every other connect in
    /// flight to this server give up too (see `connect_failed`).
    async fn open(&self, h1_only: bool) -> Result<Sender, ProxyError> {
        let failed_elsewhere = self.connect_failed.notified();
        tokio::select! {
            biased;
            opened = connect(
                &self.target,
                &self.transport,
                self.connect_timeout,
                self.user_timeout,
                h1_only,
            ) => {
                if opened.is_err() {
                    self.connect_failed.notify_waiters();
                }
                opened
            }
            () = failed_elsewhere => Err(ProxyError::Connect {
                endpoint: self.target.url.clone(),
                source: BoxError::from("another connection to this server just failed"),
            }),
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Number of idle HTTP/1 connections (for tests and metrics).
    pub fn idle_count(&self) -> usize {
        self.idle.len()
    }

    /// Sends `req` and waits for the response head, within the response-header timeout if one is
    /// set. `upgrade` requests get a fresh connection that is never pooled.
    pub async fn send(
        self: &Arc<Self>,
        req: Request<ProxyBody>,
        upgrade: bool,
    ) -> Result<Upstreamed, SendError> {
        match self.transport.response_header_timeout {
            None => self.exchange(req, upgrade).await,
            Some(limit) => tokio::time::timeout(limit, self.exchange(req, upgrade))
                .await
                .unwrap_or_else(|_| {
                    Err(SendError {
                        error: ProxyError::ResponseTimeout {
                            endpoint: self.target.url.clone(),
                        },
                        request: None,
                    })
                }),
        }
    }

    async fn exchange(
        self: &Arc<Self>,
        req: Request<ProxyBody>,
        upgrade: bool,
    ) -> Result<Upstreamed, SendError> {
        match self.target.scheme {
            UpstreamScheme::H2c => self.send_h2(req).await,
            // A server that chose HTTP/2 in ALPN keeps one shared connection (upgrades excepted).
            UpstreamScheme::Https if !upgrade && self.h2_alive() => {
                self.send_h2(to_h2(req, &self.target)).await
            }
            UpstreamScheme::Http | UpstreamScheme::Https => self.send_h1(req, upgrade).await,
        }
    }

    async fn send_h1(
        self: &Arc<Self>,
        mut req: Request<ProxyBody>,
        upgrade: bool,
    ) -> Result<Upstreamed, SendError> {
        if !upgrade {
            while let Some(idle) = self.idle.pop() {
                if idle.since.elapsed() > self.transport.idle_timeout || idle.sender.is_closed() {
                    continue;
                }
                let mut sender = idle.sender;
                // Released at body end, the connection task may not have caught up yet.
                if !sender.is_ready() && sender.ready().await.is_err() {
                    continue;
                }
                match sender.try_send_request(req).await {
                    Ok(response) => {
                        return Ok(self.reusable(response, sender));
                    }
                    Err(mut e) => match e.take_message() {
                        // Closed between the check and the write: nothing sent, try the next.
                        Some(back) => req = back,
                        None => {
                            self.forget_idle();
                            return Err(self.exchange_failed(e.into_error().into(), None));
                        }
                    },
                }
            }
        }
        let mut sender = match Box::pin(self.open(upgrade)).await {
            Ok(Sender::H1(sender)) => sender,
            Ok(Sender::H2(mut sender)) => {
                // ALPN chose HTTP/2: the connection is shared by the requests that follow.
                self.h2.store(Some(Arc::new(sender.clone())));
                return match sender.try_send_request(to_h2(req, &self.target)).await {
                    Ok(response) => Ok(Upstreamed {
                        response,
                        reuse: None,
                    }),
                    Err(mut e) => {
                        let back = e.take_message();
                        Err(self.exchange_failed(e.into_error().into(), back))
                    }
                };
            }
            Err(error) => {
                return Err(SendError {
                    error,
                    request: Some(req),
                })
            }
        };
        match sender.try_send_request(req).await {
            Ok(response) => {
                if upgrade || response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    return Ok(Upstreamed {
                        response,
                        reuse: None,
                    });
                }
                Ok(self.reusable(response, sender))
            }
            Err(mut e) => {
                let back = e.take_message();
                Err(self.exchange_failed(e.into_error().into(), back))
            }
        }
    }

    async fn send_h2(self: &Arc<Self>, req: Request<ProxyBody>) -> Result<Upstreamed, SendError> {
        self.send_h2_shared(req).await.map(|response| Upstreamed {
            response,
            reuse: None,
        })
    }

    async fn send_h2_shared(
        self: &Arc<Self>,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, SendError> {
        if let Some(shared) = self.h2.load_full() {
            if !shared.is_closed() {
                let mut sender = (*shared).clone();
                match sender.try_send_request(req).await {
                    Ok(resp) => return Ok(resp),
                    Err(mut e) => match e.take_message() {
                        Some(back) => req = back,
                        None => return Err(self.exchange_failed(e.into_error().into(), None)),
                    },
                }
            }
            self.h2.store(None);
        }
        let mut sender = match Box::pin(self.open(false)).await {
            Ok(Sender::H2(sender)) => sender,
            Ok(Sender::H1(_)) => {
                let source = BoxError::from("expected an HTTP/2 connection");
                return Err(self.exchange_failed(source, Some(req)));
            }
            Err(error) => {
                return Err(SendError {
                    error,
                    request: Some(req),
                })
            }
        };
        self.h2.store(Some(Arc::new(sender.clone())));
        match sender.try_send_request(req).await {
            Ok(resp) => Ok(resp),
            Err(mut e) => {
                let back = e.take_message();
                Err(self.exchange_failed(e.into_error().into(), back))
            }
        }
    }

    /// A pooled connection failed after the request was written (reset, or `TCP_USER_TIMEOUT`
    /// when the server's node vanished): its idle siblings most likely share its fate, so none is
    /// reused; the next request opens a fresh connection (within the connect timeout).
    fn forget_idle(&self) {
        while self.idle.pop().is_some() {}
    }

    /// A shared HTTP/2 connection is open (an `https` server that chose `h2`).
    fn h2_alive(&self) -> bool {
        self.h2.load().as_ref().is_some_and(|s| !s.is_closed())
    }

    fn exchange_failed(&self, source: BoxError, request: Option<Request<ProxyBody>>) -> SendError {
        SendError {
            error: ProxyError::Upstream {
                endpoint: self.target.url.clone(),
                source,
            },
            request,
        }
    }

    fn reusable(
        self: &Arc<Self>,
        response: Response<Incoming>,
        sender: http1::SendRequest<ProxyBody>,
    ) -> Upstreamed {
        Upstreamed {
            response,
            reuse: Some(Reuse::new(Arc::clone(self) as Arc<dyn IdleQueue>, sender)),
        }
    }
}

/// An HTTP/1.1-form request (origin-form URI, `Host`) for an HTTP/2 connection to an `https`
/// server: version 2, `https://<host><path>` (the `Host` header becomes `:authority`).
fn to_h2(mut req: Request<ProxyBody>, target: &Target) -> Request<ProxyBody> {
    *req.version_mut() = http::Version::HTTP_2;
    let authority = req
        .headers_mut()
        .remove(http::header::HOST)
        .and_then(|h| h.to_str().ok().and_then(|h| h.parse().ok()))
        .unwrap_or_else(|| target.authority.clone());
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(http::uri::Scheme::HTTPS);
    parts.authority = Some(authority);
    parts.path_and_query = req
        .uri()
        .path_and_query()
        .cloned()
        .or_else(|| Some(http::uri::PathAndQuery::from_static("/")));
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req
}

#[cfg(test)]
mod tests;
