//! The request path, in the order a request meets it: `entrypoint` accepts and speaks HTTP,
//! `service` looks the route up and runs middlewares, `forward` rewrites and sends upstream,
//! `upgrade` tunnels WebSockets, `error` is the only place failures become HTTP statuses.

pub mod body;
pub mod entrypoint;
pub mod error;
mod error_pages;
mod failover;
mod forward;
pub mod forward_auth;
pub mod framing;
pub mod hygiene;
mod internal;
pub mod limits;
mod mirror;
pub mod proxy_protocol;
mod service;
mod upgrade;

pub use entrypoint::{EntryPoint, EntryPointOptions};
pub use forward::ForwardedPolicy;
pub use service::{ConnInfo, Proxy};
