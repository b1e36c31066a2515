//! `forwardAuth` (Traefik v3): each request is first sent to an authentication server; a 2xx
//! answer lets it through (with `authResponseHeaders` copied onto it), any other answer goes back
//! to the client as it is (status, headers, body), and an unreachable server is a 500.
//!
//! This module is the pure part, as Traefik's `pkg/middlewares/auth/forward.go` does it: the
//! authentication request's head ([`ForwardAuth::auth_request`]) and what an answer does to the
//! request or the client ([`ForwardAuth::decide`]). The call itself (pooled keep-alive
//! connection, body, timeout, cache) is `proxy::forward_auth`.
//!
//! `trustForwardHeader` has three behaviours in Traefik 3.7:
//! - unset: the request's headers are copied and `X-Forwarded-For/-Proto/-Method/-Host/-Uri`
//!   overwritten with this request's values (other `X-Forwarded-*` pass);
//! - `false`: every `X-Forwarded-*` (and `X-Real-Ip`) is dropped, then those five are set;
//! - `true`: the `X-Forwarded-*` the request carries pass and only the missing ones are set
//!   (`X-Forwarded-For` gets the client appended). Client-sent values only survive where the
//!   entrypoint's `forwardedHeaders.trustedIPs` covers the client: the proxy drops them from
//!   other clients before asking (`untrusted_peer`).
//!
//! Compile reads the `tls` PEM files (or inline PEM); nothing else does I/O here.

mod answer;
pub mod cache;
mod client_tls;
mod head;
#[cfg(test)]
mod tests;

pub use answer::apply_cookies;
use answer::{cookie_name, found, resolve};
use client_tls::client_tls;
pub(crate) use client_tls::client_tls_for;
pub use head::{canonical, remove_x_headers};
use head::{
    entrypoint_headers, forwarded_port, remove_connection_listed, request_host, HOP, NOT_SENT,
    X_HEADERS,
};

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Uri};
use regex::Regex;

use super::config::ForwardAuthConfig;
use super::error::{header_name, MiddlewareError};
use super::RequestContext;
use crate::upstream::{PoolRegistry, Target, Transport, TransportRegistry, UpstreamPool};

const M: &str = "forwardAuth";
/// Traefik's http.Client timeout for the whole authentication call.
pub const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the authentication server answered (kept whole: it may be replayed from the cache).
#[derive(Debug, Clone)]
pub struct AuthAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What an answer does.
#[derive(Debug)]
pub enum Decision {
    /// Let the request through; `cookies` (`Set-Cookie` values named by
    /// `addAuthCookiesToResponse`) go onto the response, replacing the service's of the same name.
    Allow { cookies: Vec<HeaderValue> },
    /// Answer the client with this.
    Deny(Response<Bytes>),
}

/// Compiled `forwardAuth`.
#[derive(Debug)]
pub struct ForwardAuth {
    /// The middleware's qualified name (metrics).
    pub name: String,
    address: Uri,
    pool: Arc<UpstreamPool>,
    trust: Option<bool>,
    response_headers: Vec<HeaderName>,
    response_regex: Option<Regex>,
    /// Empty: every header goes.
    request_headers: Vec<HeaderName>,
    auth_cookies: Vec<String>,
    header_field: Option<HeaderName>,
    forward_body: bool,
    max_body: Option<usize>,
    max_response_body: Option<usize>,
    preserve_location: bool,
    preserve_method: bool,
    signin_url: Option<HeaderValue>,
    cache: Option<cache::AuthCache>,
    /// Bound on the first call (`Metrics::record_auth`).
    pub metrics: crate::observe::series::AuthSlot,
}

/// Where compile gets the connection pool: the reload-surviving registries (table compiler) or
/// a pool of its own (validation, tests).
pub type Pools<'a> = Option<(&'a PoolRegistry, &'a TransportRegistry)>;

impl ForwardAuth {
    pub fn compile(
        cfg: &ForwardAuthConfig,
        name: &str,
        pools: Pools<'_>,
    ) -> Result<ForwardAuth, MiddlewareError> {
        let address_str = cfg.address.trim();
        if address_str.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "address",
            });
        }
        let address: Uri = address_str
            .parse()
            .map_err(|_| MiddlewareError::invalid(M, "address", address_str, "not a URL"))?;
        let target = match address.scheme_str() {
            Some("http") | Some("https") => Target::parse(address_str)
                .map_err(|e| MiddlewareError::invalid(M, "address", address_str, e.reason))?,
            _ => {
                return Err(MiddlewareError::invalid(
                    M,
                    "address",
                    address_str,
                    "the scheme must be http or https",
                ))
            }
        };
        let pool = match (&cfg.tls, pools) {
            (None, Some((pools, transports))) => {
                let transport = transports
                    .get_or_create(&Default::default())
                    .map_err(|_| MiddlewareError::invalid(M, "tls", "", "no default transport"))?;
                pools.get_or_create(&target, &transport)
            }
            (tls, _) => {
                let transport = match tls {
                    Some(tls) => Transport {
                        tls: Arc::new(client_tls(tls)?),
                        ..Transport::default()
                    },
                    None => Transport::default(),
                };
                Arc::new(UpstreamPool::new(target, Arc::new(transport)))
            }
        };
        let names = |option: &'static str, list: &[String]| {
            list.iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| header_name(M, option, v))
                .collect::<Result<Vec<_>, _>>()
        };
        let response_regex = match cfg.auth_response_headers_regex.as_str() {
            "" => None,
            re => Some(
                Regex::new(re)
                    .map_err(|e| MiddlewareError::regex(M, "authResponseHeadersRegex", re, e))?,
            ),
        };
        let mut request_headers = names("authRequestHeaders", &cfg.auth_request_headers)?;
        if cfg.trust_forward_header == Some(true) && !request_headers.is_empty() {
            request_headers.extend(X_HEADERS.iter().map(|h| HeaderName::from_static(h)));
        }
        let limit = |option: &'static str, v: Option<i64>| match v {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None),
            Some(n) => usize::try_from(n)
                .map(Some)
                .map_err(|_| MiddlewareError::invalid(M, option, n, "too large")),
        };
        let header_field = match cfg.header_field.trim() {
            "" => None,
            h => Some(header_name(M, "headerField", h)?),
        };
        let signin_url = match cfg.auth_signin_url.trim() {
            "" => None,
            url => Some(HeaderValue::from_str(url).map_err(|_| {
                MiddlewareError::invalid(M, "authSigninURL", url, "not a valid URL")
            })?),
        };
        let cache = match &cfg.auth_response_cache {
            None => None,
            Some(c) if cfg.forward_body => {
                let _ = c;
                return Err(MiddlewareError::invalid(
                    M,
                    "authResponseCache",
                    "",
                    "cannot be used with forwardBody (the body may change the answer)",
                ));
            }
            Some(c) => Some(cache::AuthCache::compile(c)?),
        };
        Ok(ForwardAuth {
            name: name.to_string(),
            address,
            pool,
            trust: cfg.trust_forward_header,
            response_headers: names("authResponseHeaders", &cfg.auth_response_headers)?,
            response_regex,
            request_headers,
            auth_cookies: cfg
                .add_auth_cookies_to_response
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
            header_field,
            forward_body: cfg.forward_body,
            max_body: limit("maxBodySize", cfg.max_body_size)?,
            max_response_body: limit("maxResponseBodySize", cfg.max_response_body_size)?,
            preserve_location: cfg.preserve_location_header,
            preserve_method: cfg.preserve_request_method,
            signin_url,
            cache,
            metrics: Default::default(),
        })
    }

    pub fn pool(&self) -> &Arc<UpstreamPool> {
        &self.pool
    }

    pub fn forward_body(&self) -> bool {
        self.forward_body
    }

    /// Request body bytes sent with `forwardBody`; `None` = no limit.
    pub fn max_body(&self) -> Option<usize> {
        self.max_body
    }

    /// Answer body bytes read; `None` = no limit.
    pub fn max_response_body(&self) -> Option<usize> {
        self.max_response_body
    }

    pub fn cache(&self) -> Option<&cache::AuthCache> {
        self.cache.as_ref()
    }

    /// The user the answer names (`headerField`), for the access log.
    pub fn user(&self, answer: &AuthAnswer) -> Option<String> {
        let field = self.header_field.as_ref()?;
        answer
            .headers
            .get(field)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The authentication request's head for `req`; `ctx.tls` is the connection's own TLS (Go's
    /// `req.TLS`), not what a trusted hop said. `untrusted_peer`: the entrypoint's
    /// `forwardedHeaders` does not trust the client, so no client-sent `X-*` header survives
    /// (Traefik's entrypoint strips them before any middleware).
    pub fn auth_request(
        &self,
        req: &http::request::Parts,
        ctx: &RequestContext<'_>,
        untrusted_peer: bool,
    ) -> http::request::Parts {
        let (mut head, ()) = http::Request::new(()).into_parts();
        head.method = if self.preserve_method {
            req.method.clone()
        } else {
            Method::GET
        };
        let mut uri = http::uri::Parts::default();
        uri.path_and_query = Some(
            self.address
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        head.uri = Uri::from_parts(uri).unwrap_or_default();
        head.headers = self.auth_headers(req, ctx, untrusted_peer);
        head.headers
            .insert(header::HOST, self.pool.target().host_header.clone());
        head
    }

    fn auth_headers(
        &self,
        req: &http::request::Parts,
        ctx: &RequestContext<'_>,
        untrusted_peer: bool,
    ) -> HeaderMap {
        let host = request_host(req);
        let mut h = req.headers.clone();
        if untrusted_peer {
            // The proxy already dropped an untrusted `X-Forwarded-Prefix` before the
            // middlewares (`forward::sanitize_forwarded`), so one present now was set by an
            // earlier middleware (stripPrefix) and goes, as in Traefik.
            let prefix = h.remove("x-forwarded-prefix");
            remove_x_headers(&mut h);
            if let Some(prefix) = prefix {
                h.insert(HeaderName::from_static("x-forwarded-prefix"), prefix);
            }
        }
        entrypoint_headers(&mut h, req, ctx, host);
        remove_connection_listed(&mut h);
        for name in NOT_SENT {
            h.remove(name);
        }
        if self.trust == Some(false) {
            remove_x_headers(&mut h);
        }
        if !self.request_headers.is_empty() {
            let mut kept = HeaderMap::new();
            for name in &self.request_headers {
                for v in h.get_all(name) {
                    kept.append(name.clone(), v.clone());
                }
            }
            h = kept;
        }
        let client = HeaderValue::from_str(&ctx.client_addr.ip().to_string())
            .unwrap_or(HeaderValue::from_static(""));
        let uri = req
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_string();
        let uri = HeaderValue::from_str(&uri).unwrap_or(HeaderValue::from_static("/"));
        let method =
            HeaderValue::from_str(req.method.as_str()).unwrap_or(HeaderValue::from_static("GET"));
        let host_value = HeaderValue::from_str(host).unwrap_or(HeaderValue::from_static(""));
        let proto = HeaderValue::from_static(if ctx.tls { "https" } else { "http" });
        let xff = HeaderName::from_static("x-forwarded-for");
        let xf = |n: &'static str| HeaderName::from_static(n);
        match self.trust {
            None => {
                h.insert(xff, client);
                h.insert(xf("x-forwarded-proto"), proto);
                h.insert(xf("x-forwarded-method"), method);
                h.insert(xf("x-forwarded-host"), host_value);
                h.insert(xf("x-forwarded-uri"), uri);
            }
            Some(_) => {
                let prior: Vec<&str> = h
                    .get_all(&xff)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                let value = if prior.is_empty() {
                    client
                } else {
                    let joined = format!("{}, {}", prior.join(", "), ctx.client_addr.ip());
                    HeaderValue::from_str(&joined).unwrap_or(client)
                };
                h.insert(xff, value);
                let missing = |h: &HeaderMap, n: &str| !h.contains_key(n);
                if missing(&h, "x-forwarded-method") {
                    h.insert(xf("x-forwarded-method"), method);
                }
                if missing(&h, "x-forwarded-proto") {
                    h.insert(xf("x-forwarded-proto"), proto);
                }
                if missing(&h, "x-forwarded-port") {
                    let port = forwarded_port(host, &h, ctx.tls);
                    h.insert(xf("x-forwarded-port"), HeaderValue::from_static(port.0));
                    if let Some(p) = port.1 {
                        h.insert(xf("x-forwarded-port"), p);
                    }
                }
                if missing(&h, "x-forwarded-host") {
                    h.insert(xf("x-forwarded-host"), host_value);
                }
                if missing(&h, "x-forwarded-uri") {
                    h.insert(xf("x-forwarded-uri"), uri);
                }
            }
        }
        h
    }

    /// What the answer does to the request (2xx: copies headers onto `req`) or to the client.
    pub fn decide(&self, answer: &AuthAnswer, req: &mut http::request::Parts) -> Decision {
        if answer.status == StatusCode::UNAUTHORIZED {
            if let Some(url) = &self.signin_url {
                return Decision::Deny(found(url, &req.method));
            }
        }
        if !answer.status.is_success() {
            return Decision::Deny(self.deny(answer));
        }
        for name in &self.response_headers {
            req.headers.remove(name);
            for v in answer.headers.get_all(name) {
                req.headers.append(name.clone(), v.clone());
            }
        }
        if let Some(re) = &self.response_regex {
            let matching = |n: &HeaderName| re.is_match(&canonical(n.as_str()));
            let gone: Vec<HeaderName> = req
                .headers
                .keys()
                .filter(|n| matching(n))
                .cloned()
                .collect();
            for name in gone {
                req.headers.remove(name);
            }
            for (name, v) in &answer.headers {
                if matching(name) {
                    req.headers.append(name.clone(), v.clone());
                }
            }
        }
        let cookies = answer
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter(|v| cookie_name(v).is_some_and(|n| self.auth_cookies.iter().any(|c| c == n)))
            .cloned()
            .collect();
        Decision::Allow { cookies }
    }

    /// The non-2xx answer as the client gets it.
    fn deny(&self, answer: &AuthAnswer) -> Response<Bytes> {
        let mut resp = Response::new(answer.body.clone());
        *resp.status_mut() = answer.status;
        let headers = resp.headers_mut();
        for (name, v) in &answer.headers {
            if !HOP.contains(&name.as_str()) {
                headers.append(name.clone(), v.clone());
            }
        }
        if !self.preserve_location {
            if let Some(loc) = answer.headers.get(header::LOCATION) {
                match loc.to_str().ok().and_then(|l| resolve(&self.address, l)) {
                    Some(abs) => {
                        headers.insert(header::LOCATION, abs);
                    }
                    None => {
                        let mut resp = Response::new(Bytes::new());
                        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                        return resp;
                    }
                }
            }
        }
        resp
    }
}
