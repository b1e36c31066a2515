//! TLS termination and certificates: the SNI certificate store, per-connection TLS detection,
//! static certificate files (watched), ACME resolvers (HTTP-01 and TLS-ALPN-01), and the HTTP
//! hooks that must run before routing (ACME challenge answers, entrypoint redirections).
//!
//! Owns no routing: the proxy asks `EdgeHooks` before and after its table lookup, and the
//! compile loop hands every merged dynamic configuration to `Tls::update`.

pub mod accept;
pub mod acme;
pub mod certs;
pub mod edge;
pub mod files;
pub mod negotiated;
pub mod options;
pub mod runtime;
pub mod store;

pub use accept::{detect, Accepted, Acceptor, Chosen, EntrySni, SniPlan};
pub use edge::{EdgeHooks, HttpChallenges, Redirect};
pub use runtime::{Tls, TlsError};
pub use store::{CertStatus, CertStore};
