//! `Reuse`: the way an upstream HTTP/1 connection goes back to its keep-alive pool once its
//! response body has been read to the end (`ProxyBody::Upstream` calls `release`).
//!
//! The pool itself lives upstairs (`upstream::UpstreamPool`); this floor knows it only through the
//! small `IdleQueue` trait the pool implements, so `body/` never names `upstream/`.

use std::sync::Arc;

use hyper::client::conn::http1;

use super::ProxyBody;

/// Where a finished HTTP/1 connection goes back to (implemented by `upstream::UpstreamPool`).
pub trait IdleQueue: Send + Sync {
    /// Puts an open connection back in the idle queue; a full queue drops it.
    fn put_back(&self, sender: http1::SendRequest<ProxyBody>);
    /// The server the connection goes to (for `Debug`).
    fn target_url(&self) -> &str;
}

/// An HTTP/1 connection that goes back to its pool once its response body is done.
pub struct Reuse {
    pool: Arc<dyn IdleQueue>,
    sender: http1::SendRequest<ProxyBody>,
}

impl Reuse {
    pub fn new(pool: Arc<dyn IdleQueue>, sender: http1::SendRequest<ProxyBody>) -> Self {
        Reuse { pool, sender }
    }

    /// Puts the connection back in the idle queue; a full queue drops it (`maxIdleConnsPerHost`).
    pub fn release(self) {
        if self.sender.is_closed() {
            return;
        }
        self.pool.put_back(self.sender);
    }
}

impl std::fmt::Debug for Reuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reuse")
            .field("target", &self.pool.target_url())
            .finish()
    }
}
