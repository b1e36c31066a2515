//! swarmgate: an edge reverse proxy and load balancer for Docker Swarm, a drop-in for Traefik v3.
//!
//! Data flows one way: providers → `DynamicConfig` → `table::compile()` (pure) → `ArcSwap<RoutingTable>`
//! → request path (`proxy`). See ARCHITECTURE.md.
#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod balance;
pub mod body;
pub mod config;
pub mod error;
pub mod healthcheck;
pub mod middleware;
pub mod observe;
pub mod provider;
pub mod proxy;
pub mod rules;
pub mod shutdown;
pub mod stack;
pub mod table;
pub mod tls;
pub mod upstream;
