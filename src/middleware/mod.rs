//! Middlewares: configuration (Traefik shape) and their compiled, closed-enum runtime form.

pub mod config;

pub use config::MiddlewareConfig;
