//! One request of a probe (`Hop`) and the redirects Go's client follows for a health check:
//! relative to the current URL, 301/302/303 turning the method into GET.

use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode, Uri};
use rustls::pki_types::ServerName;

use super::{insecure_tls_config, ProbeError};

/// Where one request of a probe goes (the server, or where a redirect pointed).
pub(super) struct Hop {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) host_header: HeaderValue,
}

/// Redirect statuses Go's client follows.
pub(super) fn is_followed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

impl Hop {
    /// The next hop after a redirect to `location`, as Go's client: relative to the current URL;
    /// 301/302/303 turn the method into GET (HEAD stays); a relative target keeps the `Host`.
    pub(super) fn redirected(self, status: StatusCode, location: &str) -> Result<Hop, ProbeError> {
        let bad = || ProbeError::InvalidTarget {
            url: location.to_string(),
            reason: "unusable redirect location",
        };
        let method = match status.as_u16() {
            301..=303 if self.method != Method::HEAD => Method::GET,
            _ => self.method.clone(),
        };
        let absolute = location
            .split_once("://")
            .is_some_and(|(scheme, _)| scheme.bytes().all(|b| b.is_ascii_alphabetic()));
        if !absolute {
            // Relative: same server; a path relative to the current one is resolved against it.
            let path = if location.starts_with('/') {
                location.to_string()
            } else {
                let current = self.uri.path();
                let dir = current.rfind('/').map_or("/", |i| &current[..=i]);
                format!("{dir}{location}")
            };
            return Ok(Hop {
                method,
                uri: path.parse().map_err(|_| bad())?,
                ..self
            });
        }
        let target: Uri = location.parse().map_err(|_| bad())?;
        let authority = target.authority().ok_or_else(bad)?;
        let https = match target.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad()),
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match (https, self.tls) {
            (false, _) => None,
            (true, current) => {
                let config = match current {
                    Some((config, _)) => config,
                    None => insecure_tls_config()?,
                };
                let name = ServerName::try_from(host.clone()).map_err(|_| bad())?;
                Some((config, name))
            }
        };
        let path = target
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse()
            .map_err(|_| bad())?;
        Ok(Hop {
            host_header: HeaderValue::from_str(authority.as_str()).map_err(|_| bad())?,
            host,
            port,
            tls,
            method,
            uri: path,
        })
    }
}
