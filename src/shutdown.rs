//! The shutdown signal every long-running task listens to: a `watch` flag set once by `app`.
//! Ground floor: imports nothing of the crate.

use tokio::sync::watch;

/// Resolves once the shutdown flag is set (or its sender is gone).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
