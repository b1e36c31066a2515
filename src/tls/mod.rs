//! TLS termination and certificates: the SNI certificate store, per-connection TLS detection,
//! static certificate files (watched), ACME resolvers (HTTP-01 and TLS-ALPN-01) and the pending
//! HTTP-01 challenges (`challenges`), which `proxy::edge` answers before routing.
//!
//! Owns no routing and imports nothing of `proxy/`; the compile loop hands every merged dynamic
//! configuration to `Tls::update`.

pub mod accept;
pub mod acme;
pub mod certs;
pub mod challenges;
/// Moved to `crate::proxy::edge` (a request phase); this path is kept for one release.
#[doc(hidden)]
pub use crate::proxy::edge;
pub mod files;
#[doc(hidden)]
pub use crate::config::negotiated;
pub mod options;
pub mod quic;
pub mod runtime;
pub mod store;

#[doc(hidden)]
pub use crate::proxy::edge::{EdgeHooks, Redirect};
pub use accept::{client_certs, detect, Accepted, Acceptor, Chosen, EntrySni, SniPlan};
pub use challenges::HttpChallenges;
pub use runtime::{Tls, TlsError};
pub use store::{CertStatus, CertStore};
