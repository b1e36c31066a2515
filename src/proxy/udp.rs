//! UDP routers (Traefik's `pkg/udp` and `pkg/server/router/udp`): entrypoints whose address ends
//! in `/udp` receive datagrams, group them in sessions by client address and forward each session
//! to one server of the router's service; replies go back to the client from the entrypoint's
//! address.
//!
//! `table`: the compiled routing (pure, swapped whole on reload by `app`); `listener`: the socket,
//! the session map and its cap; `session`: one session's task (its server, replies, idle
//! timeout). Shares nothing with the HTTP path but `entrypoint::parse_address`.

pub mod listener;
mod session;
pub mod table;

pub use listener::{Counters, UdpEntryPoint, UdpOptions, DEFAULT_GRACE, DEFAULT_MAX_SESSIONS};
pub use table::{compile, UdpRoute, UdpService, UdpTable};
