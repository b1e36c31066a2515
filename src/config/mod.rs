//! The configuration model: static (read once) and dynamic (from providers), and the issues found in them.
//!
//! No I/O beyond reading the files it is asked to read.

pub mod access_log;
pub mod deprecation;
pub mod duration;
pub mod dynamic;
pub mod elements;
pub mod issue;
pub mod load;
pub mod merge;
pub mod middleware;
pub mod negotiated;
pub mod net;
pub mod observability;
pub mod server_origin;
pub mod static_config;
pub mod tcp;
pub mod tls_names;
pub mod traefik;
pub mod udp;
pub mod yaml;

pub use duration::Duration;
pub use dynamic::DynamicConfig;
pub use issue::{ConfigIssue, Element};
pub use static_config::StaticConfig;
