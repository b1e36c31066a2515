//! The request path, in the order a request meets it: `entrypoint` accepts and speaks HTTP,
//! `service` looks the route up and runs middlewares, `forward` rewrites and sends upstream,
//! `upgrade` tunnels WebSockets, `error` is the only place failures become HTTP statuses.
//!
//! The forward wrappers of `buffering` and `retry` (`middleware::buffering::around`,
//! `middleware::retry::around`) stay with their middlewares: each takes the forward step as a
//! closure from `service` and names nothing of `proxy/`, so they import only downward and
//! `service.rs` is the one place that nests them. (A `proxy/wrap.rs` would split each
//! middleware's options from its behaviour for no import gained.)
//!
//! `h3/` is HTTP/3: a QUIC listener beside a TLS entrypoint, the third front end of this one
//! request path (its requests go to the same `Proxy::handle`).
//!
//! `udp/` holds the UDP routers (datagram sessions on `/udp` entrypoints; it shares only
//! `entrypoint::parse_address` with the HTTP path). Homes for the request paths still to come,
//! beside this HTTP one and sharing `conn`, `entrypoint` (listeners, PROXY protocol, limits) and
//! `tls/`: `proxy/tcp/` (TCP routers, `HostSNI`, passthrough), as Traefik's
//! `pkg/server/router/tcp`. When they land, the HTTP-only files here (`service`, `forward*`,
//! `framing`, `upgrade`, `mirror`, `error_pages`, `internal`) move under `proxy/http/` by
//! `git mv`, with `pub use` for the public paths.

pub mod conn;
pub mod edge;
pub mod entrypoint;
mod error_pages;
mod failover;
mod forward;
pub mod forward_auth;
mod forwarded;
pub mod framing;
pub mod h3;
pub mod hygiene;
mod internal;
pub mod limits;
mod mirror;
pub mod proxy_protocol;
mod service;
pub mod tcp;
pub mod udp;
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
