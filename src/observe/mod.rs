//! Observability: log setup (and, later, access log, metrics, admin API).

pub mod log;
