//! Load balancing: per-service balancers (smooth weighted round robin, sticky cookies, draining), the
//! reload-surviving endpoint state (active health + passive ejection + in-flight count) and the active health
//! checker.
//!
//! The table compiler builds one [`Balancer`] per service at each reload from [`Endpoint`]s whose
//! [`EndpointState`] comes from the long-lived [`EndpointRegistry`], so health survives reloads. The data plane
//! only calls [`Balancer::pick`] / [`Balancer::pick_sticky`] and the atomics of [`EndpointState`]; nothing here
//! locks or allocates per request (the registry and the health checker are config-plane only).

mod balancer;
pub mod failover_errors;
pub mod health;
pub mod hrw_service;
pub mod least_time;
pub mod passive;
pub mod service;
mod state;
pub mod sticky;
pub mod strategy;
mod wrr;

pub use balancer::{Balancer, Endpoint};
pub use health::{HealthChecker, HealthTarget};
pub use service::Service;
pub use state::{
    passive_backoff, EndpointRegistry, EndpointState, InflightGuard, PASSIVE_BACKOFF_BASE,
    PASSIVE_BACKOFF_MAX,
};
pub use sticky::StickyCookie;
pub use wrr::SCHEDULE_CAP;
