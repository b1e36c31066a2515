//! Connections to upstream servers: parsed targets, transports (timeouts, TLS) and per-server pools.
//!
//! Pools live outside the routing table, in a `PoolRegistry` keyed by server URL and transport, so a
//! reload keeps open connections. The registry locks (config plane only); the request path only
//! touches a pool's lock-free idle queue.
#![allow(clippy::disallowed_types)] // std Mutex: `PoolRegistry` and `TransportRegistry` are config plane: touched only while compiling

mod client_cert;
mod client_tls;
mod connect;
mod pool;
mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use client_tls::{client_tls_config, ClientTls, ClientTlsError};
pub use pool::{Reuse, SendError, UpstreamPool, Upstreamed};
pub use transport::{
    insecure_client_config, read_certs, Transport, TransportError, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TASK_CONNECT_TIMEOUT, MIN_TASK_USER_TIMEOUT,
};

/// How swarmgate speaks to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpstreamScheme {
    Http,
    Https,
    /// HTTP/2 with prior knowledge over cleartext (gRPC backends).
    H2c,
}

/// A server URL, parsed once at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: UpstreamScheme,
    pub authority: http::uri::Authority,
    pub host: String,
    pub port: u16,
    /// Path prefix of the server URL (Traefik allows `http://host:port/prefix`), without trailing `/`.
    pub base_path: String,
    pub url: String,
    /// `Host` header value for this server (the authority), built once so requests don't.
    pub host_header: http::HeaderValue,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server url {url:?}: {reason}")]
pub struct TargetError {
    pub url: String,
    pub reason: &'static str,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let err = |reason| TargetError {
            url: url.to_string(),
            reason,
        };
        let uri: http::Uri = url.parse().map_err(|_| err("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some("http") => UpstreamScheme::Http,
            Some("https") => UpstreamScheme::Https,
            Some("h2c") => UpstreamScheme::H2c,
            Some(_) => return Err(err("scheme must be http, https or h2c")),
            None => return Err(err("missing scheme (http://, https:// or h2c://)")),
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| err("missing host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(err("missing host"));
        }
        let port = authority.port_u16().unwrap_or(match scheme {
            UpstreamScheme::Https => 443,
            UpstreamScheme::Http | UpstreamScheme::H2c => 80,
        });
        let base_path = uri.path().trim_end_matches('/').to_string();
        let host_header = http::HeaderValue::from_str(authority.as_str())
            .map_err(|_| err("host is not a valid header value"))?;
        Ok(Target {
            scheme,
            authority,
            host,
            port,
            base_path,
            url: url.to_string(),
            host_header,
        })
    }
}

/// Pools by (server URL, transport), surviving reloads. Config plane: locks.
#[derive(Default)]
pub struct PoolRegistry {
    pools: Mutex<HashMap<(String, usize, bool), Arc<UpstreamPool>>>,
}

impl PoolRegistry {
    /// The pool for `target` over `transport`; the same `Arc` while both stay the same.
    pub fn get_or_create(&self, target: &Target, transport: &Arc<Transport>) -> Arc<UpstreamPool> {
        self.get_or_create_for(target, transport, false)
    }

    /// As [`PoolRegistry::get_or_create`]; `overlay`: the server is a Swarm task's overlay address,
    /// connected within the transport's `task_connect_timeout`.
    pub fn get_or_create_for(
        &self,
        target: &Target,
        transport: &Arc<Transport>,
        overlay: bool,
    ) -> Arc<UpstreamPool> {
        let key = (target.url.clone(), Arc::as_ptr(transport) as usize, overlay);
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(pools.entry(key).or_insert_with(|| {
            let pool = UpstreamPool::new(target.clone(), Arc::clone(transport));
            Arc::new(match overlay {
                true => pool
                    .with_connect_timeout(transport.task_connect_timeout)
                    .with_user_timeout(transport.task_user_timeout),
                false => pool,
            })
        }))
    }

    /// Drop pools that no compiled table uses any more.
    pub fn retain_used(&self) {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.retain(|_, pool| Arc::strong_count(pool) > 1);
    }
}

/// Transports by configuration, surviving reloads so their pools do too. Config plane: locks.
#[derive(Default)]
pub struct TransportRegistry {
    transports: Mutex<HashMap<String, Arc<Transport>>>,
}

impl TransportRegistry {
    pub fn get_or_create(
        &self,
        cfg: &crate::config::dynamic::ServersTransportConfig,
    ) -> Result<Arc<Transport>, TransportError> {
        let key = serde_json::to_string(cfg).unwrap_or_default();
        let mut map = self.transports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(&key) {
            return Ok(Arc::clone(t));
        }
        let transport = Arc::new(Transport::from_config(cfg)?);
        map.insert(key, Arc::clone(&transport));
        Ok(transport)
    }

    pub fn retain_used(&self) {
        let mut map = self.transports.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, t| Arc::strong_count(t) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_urls() {
        let t = Target::parse("http://10.0.1.5:8080").unwrap();
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port),
            (UpstreamScheme::Http, "10.0.1.5", 8080)
        );
        let t = Target::parse("https://api.internal").unwrap();
        assert_eq!((t.scheme, t.port), (UpstreamScheme::Https, 443));
        let t = Target::parse("h2c://[::1]:50051/").unwrap();
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port),
            (UpstreamScheme::H2c, "::1", 50051)
        );
        let t = Target::parse("http://b:80/base/").unwrap();
        assert_eq!(t.base_path, "/base");
        assert_eq!(t.host_header, "b:80");
        for bad in ["10.0.0.1:80", "ftp://x", "http://", "not a url"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
