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

pub mod cache;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Uri};
use regex::Regex;

use super::config::{ForwardAuthConfig, ForwardAuthTlsConfig};
use super::error::{header_name, MiddlewareError};
use super::RequestContext;
use crate::upstream::{PoolRegistry, Target, Transport, TransportRegistry, UpstreamPool};

const M: &str = "forwardAuth";
/// Traefik's http.Client timeout for the whole authentication call.
pub const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The `X-*` headers Traefik manages (its `forwardedheaders.XHeadersSet`), lowercase.
const X_HEADERS: [&str; 13] = [
    "x-forwarded-proto",
    "x-forwarded-scheme",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-forwarded-uri",
    "x-forwarded-method",
    "x-forwarded-prefix",
    "x-forwarded-tls-client-cert",
    "x-forwarded-tls-client-cert-info",
    "x-scheme",
    "x-real-ip",
];

/// Headers Traefik never sends to the authentication server (oxy's hop headers; note that
/// `Proxy-Authorization` does go, RFC 7235 §4.4). `Host` and the body framing are the auth
/// request's own.
const NOT_SENT: [&str; 10] = [
    "connection",
    "keep-alive",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "trailer",
    "expect",
];

/// Hop headers removed from an answer passed back to the client.
const HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` (lowercase, `_` read as `-`) is one of Traefik's managed `X-*` headers.
fn is_x_header(name: &str) -> bool {
    if !name.starts_with('x') {
        return false;
    }
    if X_HEADERS.contains(&name) {
        return true;
    }
    name.contains('_') && X_HEADERS.contains(&name.replace('_', "-").as_str())
}

/// Drops every managed `X-*` header (and its underscore spellings).
pub fn remove_x_headers(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_x_header(n.as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// Go's `http.CanonicalHeaderKey` (`x-auth-user` → `X-Auth-User`), which Traefik's
/// `authResponseHeadersRegex` is matched against.
pub fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

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

/// Applies `addAuthCookiesToResponse` to the service's response: its cookies of those names go,
/// the authentication server's take their place.
pub fn apply_cookies(headers: &mut HeaderMap, cookies: &[HeaderValue], names: &ForwardAuth) {
    if cookies.is_empty() {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !cookie_name(v).is_some_and(|n| names.auth_cookies.iter().any(|c| c == n)))
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for v in kept.into_iter().chain(cookies.iter().cloned()) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The name of a `Set-Cookie` value.
fn cookie_name(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let (name, _) = s.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then_some(name)
}

/// Go's `http.Redirect(rw, req, url, 302)`.
fn found(url: &HeaderValue, method: &Method) -> Response<Bytes> {
    let body = if *method == Method::GET || *method == Method::HEAD {
        let href = url.to_str().unwrap_or("");
        Bytes::from(format!("<a href=\"{}\">Found</a>.\n\n", html_escape(href)))
    } else {
        Bytes::new()
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::FOUND;
    resp.headers_mut().insert(header::LOCATION, url.clone());
    if *method == Method::GET || *method == Method::HEAD {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    resp
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// A `Location` resolved against the authentication server's URL (Go's `Response.Location`).
fn resolve(base: &Uri, loc: &str) -> Option<HeaderValue> {
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    let abs = if loc.contains("://") && loc.parse::<Uri>().is_ok_and(|u| u.scheme().is_some()) {
        loc.to_string()
    } else if let Some(rest) = loc.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if loc.starts_with('/') {
        format!("{scheme}://{authority}{loc}")
    } else if loc.is_empty() {
        format!(
            "{scheme}://{authority}{}",
            base.path_and_query().map_or("", |p| p.as_str())
        )
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{scheme}://{authority}{dir}/{loc}")
    };
    HeaderValue::from_str(&abs).ok()
}

/// Traefik's entrypoint sets these before any middleware (`forwardedheaders.XForwarded`);
/// swarmgate sets them when forwarding, so the authentication request gets them here.
fn entrypoint_headers(
    h: &mut HeaderMap,
    req: &http::request::Parts,
    ctx: &RequestContext<'_>,
    host: &str,
) {
    let set_if_missing = |h: &mut HeaderMap, name: &'static str, v: HeaderValue| {
        if !h.contains_key(name) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    if let Ok(ip) = HeaderValue::from_str(&ctx.client_addr.ip().to_string()) {
        set_if_missing(h, "x-real-ip", ip);
    }
    let websocket = has_token(&req.headers, header::CONNECTION, "upgrade")
        && has_token(&req.headers, header::UPGRADE, "websocket");
    let proto = match (websocket, ctx.tls) {
        (true, true) => "wss",
        (true, false) => "ws",
        (false, true) => "https",
        (false, false) => "http",
    };
    set_if_missing(h, "x-forwarded-proto", HeaderValue::from_static(proto));
    if !h.contains_key("x-forwarded-port") {
        let (fixed, from_host) = forwarded_port(host, h, ctx.tls);
        h.insert(
            HeaderName::from_static("x-forwarded-port"),
            from_host.unwrap_or(HeaderValue::from_static(fixed)),
        );
    }
    if !host.is_empty() {
        if let Ok(v) = HeaderValue::from_str(host) {
            set_if_missing(h, "x-forwarded-host", v);
        }
    }
    let xff: Vec<&str> = h
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if xff.len() > 1 {
        if let Ok(v) = HeaderValue::from_str(&xff.join(", ")) {
            h.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
    }
    if let Some(name) = hostname() {
        h.insert(HeaderName::from_static("x-forwarded-server"), name.clone());
    }
}

/// Traefik's `forwardedPort`: the Host's port, else 443 for https/wss (or TLS), else 80.
/// The port from the Host comes back as a value; the fixed ones as a static string.
fn forwarded_port(host: &str, h: &HeaderMap, tls: bool) -> (&'static str, Option<HeaderValue>) {
    let port = if host.starts_with('[') {
        host.rsplit_once("]:").map(|(_, p)| p)
    } else {
        host.rsplit_once(':').map(|(_, p)| p)
    };
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        if let Ok(v) = HeaderValue::from_str(p) {
            return ("80", Some(v));
        }
    }
    let xfp = h.get("x-forwarded-proto").map(HeaderValue::as_bytes);
    if xfp == Some(b"https") || xfp == Some(b"wss") || tls {
        return ("443", None);
    }
    ("80", None)
}

/// The request's host as the client gave it (URI authority, else `Host`): Go's `req.Host`.
fn request_host(req: &http::request::Parts) -> &str {
    match req.uri.authority() {
        Some(a) => a.as_str(),
        None => req
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    }
}

/// Whether the first `name` header lists `token` (Go's `containsHeader` in forwardedheaders).
fn has_token(h: &HeaderMap, name: HeaderName, token: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Go's `RemoveConnectionHeaders`: names listed in `Connection` go (an `Upgrade` stays).
fn remove_connection_listed(h: &mut HeaderMap) {
    let listed: Vec<String> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && t != "upgrade")
        .collect();
    for name in listed {
        h.remove(name.as_str());
    }
}

/// This machine's name (Traefik's `X-Forwarded-Server`), read once.
fn hostname() -> Option<&'static HeaderValue> {
    static NAME: std::sync::OnceLock<Option<HeaderValue>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()?;
        HeaderValue::from_str(name.trim()).ok()
    })
    .as_ref()
}

/// Root CAs, client certificate and verification for an `https` authentication server.
fn client_tls(tls: &ForwardAuthTlsConfig) -> Result<rustls::ClientConfig, MiddlewareError> {
    client_tls_for(M, tls)
}

/// A TLS client configuration from Traefik's `ClientTLS` (`ca`, `cert`, `key`,
/// `insecureSkipVerify`); errors name middleware `m`. Also used by `rateLimit.redis.tls`.
pub(crate) fn client_tls_for(
    m: &'static str,
    tls: &ForwardAuthTlsConfig,
) -> Result<rustls::ClientConfig, MiddlewareError> {
    let bad = |option: &'static str, value: &str, reason: &'static str| {
        MiddlewareError::invalid(m, option, value, reason)
    };
    let builder = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| bad("tls", "", "no TLS protocol version available"))
    };
    let mut config = if tls.insecure_skip_verify {
        crate::upstream::insecure_client_config()
            .map_err(|_| bad("tls.insecureSkipVerify", "true", "cannot build"))?
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if tls.ca.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            let pem = pem_text(&tls.ca).map_err(|r| bad("tls.ca", &tls.ca, r))?;
            let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(bad("tls.ca", &tls.ca, "holds no certificate"));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|_| bad("tls.ca", &tls.ca, "unusable certificate"))?;
            }
        }
        builder()?
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    match (tls.cert.is_empty(), tls.key.is_empty()) {
        (true, true) => {}
        (false, false) => {
            let cert_pem = pem_text(&tls.cert).map_err(|r| bad("tls.cert", &tls.cert, r))?;
            let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() {
                return Err(bad("tls.cert", &tls.cert, "holds no certificate"));
            }
            let key_pem = pem_text(&tls.key).map_err(|r| bad("tls.key", "(hidden)", r))?;
            let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
                .ok()
                .flatten()
                .ok_or_else(|| bad("tls.key", "(hidden)", "holds no private key"))?;
            // The client certificate is the same whichever way the server is verified.
            let with_cert = builder()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_client_auth_cert(certs, key)
                .map_err(|_| bad("tls.key", "(hidden)", "does not match tls.cert"))?;
            config.client_auth_cert_resolver = with_cert.client_auth_cert_resolver;
        }
        (true, false) => return Err(bad("tls.cert", "", "is required with tls.key")),
        (false, true) => return Err(bad("tls.key", "", "is required with tls.cert")),
    }
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// PEM text given inline or as a file path (Traefik's `types.FileOrContent`).
fn pem_text(value: &str) -> Result<Vec<u8>, &'static str> {
    if value.contains("-----BEGIN") {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|_| "cannot read the file")
}
