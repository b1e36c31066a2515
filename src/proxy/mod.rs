//! The request path, in the order a request meets it: `entrypoint` accepts and speaks HTTP,
//! `service` looks the route up and runs middlewares, `forward` rewrites and sends upstream,
//! `upgrade` tunnels WebSockets, `error` is the only place failures become HTTP statuses.

pub mod conn;
pub mod edge;
pub mod entrypoint;
mod error_pages;
mod failover;
mod forward;
pub mod forward_auth;
mod forwarded;
pub mod framing;
pub mod hygiene;
mod internal;
pub mod limits;
mod mirror;
pub mod proxy_protocol;
mod service;
mod upgrade;

/// Moved to `crate::body` (the ground floor); this path is kept for one release.
#[doc(hidden)]
pub use crate::body;
/// Moved to `crate::error` (the ground floor); this path is kept for one release.
#[doc(hidden)]
pub use crate::error;

pub use conn::ConnInfo;
pub use edge::{EdgeHooks, Redirect};
pub use entrypoint::{EntryPoint, EntryPointOptions};
pub use forward::ForwardedPolicy;
pub use service::Proxy;
