//! `redirectScheme` and `redirectRegex`: answer with a redirect instead of forwarding.
//!
//! Status codes as Traefik v3's redirect handler: `permanent` gives 301 for `GET` and 308 for
//! any other method, otherwise 302 / 307. The body is the status text.
//!
//! `redirectScheme` compares URLs as Traefik does (see [`RedirectScheme`]'s `on_request`).
//! The request's scheme is the connection's, unless a trusted hop sent `X-Forwarded-Proto`
//! (untrusted ones are gone before middlewares run): `http`/`ws` mean http, `https`/`wss` https,
//! anything else is ignored, as Traefik reads it.
//!
//! `redirectRegex` matches `scheme://host[:port]/path?query` where the scheme is `https` only
//! when the connection is TLS ([`RequestContext::conn_tls`]): Traefik ignores
//! `X-Forwarded-Proto` there. The rewritten URL goes through Go's `url.Parse` rules
//! (`go_url`): one Go refuses answers 502 `Bad Gateway` as Traefik does, a valid one is sent
//! as Go re-encodes it.

mod go_url;

use http::{header, HeaderValue, Method, StatusCode};
use regex::Regex;

use super::config::{RedirectRegexConfig, RedirectSchemeConfig};
use super::error::MiddlewareError;
use super::response::respond;
use super::{Flow, RequestContext};

/// The redirect response for `location`.
fn redirect(method: &Method, permanent: bool, location: HeaderValue) -> Flow {
    let get = method == Method::GET;
    let status = match (permanent, get) {
        (true, true) => StatusCode::MOVED_PERMANENTLY,
        (true, false) => StatusCode::PERMANENT_REDIRECT,
        (false, true) => StatusCode::FOUND,
        (false, false) => StatusCode::TEMPORARY_REDIRECT,
    };
    Flow::Respond(respond(status, [(header::LOCATION, location)]))
}

/// The request's host as the client sent it (`Host` header, else the URI authority), port included.
fn request_host(req: &http::request::Parts) -> Option<&str> {
    req.headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .filter(|h| !h.is_empty())
}

/// `host` without its `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    }
}

/// Path and query of the request target (`/` when empty).
fn target(req: &http::request::Parts) -> &str {
    req.uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// The scheme `redirectScheme` compares: a (trusted) `X-Forwarded-Proto` mapped to http or
/// https, else the connection's.
fn forwarded_scheme(req: &http::request::Parts, ctx: &RequestContext<'_>) -> &'static str {
    let proto = req
        .headers
        .get("x-forwarded-proto")
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let is = |name: &[u8]| proto.eq_ignore_ascii_case(name);
    let https = if is(b"http") || is(b"ws") {
        false
    } else {
        is(b"https") || is(b"wss") || ctx.tls
    };
    if https {
        "https"
    } else {
        "http"
    }
}

/// Compiled `redirectScheme`.
#[derive(Debug)]
pub struct RedirectScheme {
    scheme: String,
    /// `:port`, or empty when no port or the scheme's default port is configured.
    port: String,
    permanent: bool,
}

impl RedirectScheme {
    pub fn compile(cfg: &RedirectSchemeConfig) -> Result<Self, MiddlewareError> {
        let scheme = cfg
            .scheme
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if scheme.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: "redirectScheme",
                option: "scheme",
            });
        }
        if !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(MiddlewareError::invalid(
                "redirectScheme",
                "scheme",
                &scheme,
                "not a URI scheme",
            ));
        }
        let port = cfg.port.as_deref().unwrap_or("").trim();
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return Err(MiddlewareError::invalid(
                "redirectScheme",
                "port",
                port,
                "not a port number",
            ));
        }
        let default_port = matches!((scheme.as_str(), port), ("http", "80") | ("https", "443"));
        let port = if port.is_empty() || default_port {
            String::new()
        } else {
            format!(":{port}")
        };
        Ok(RedirectScheme {
            scheme,
            port,
            permanent: cfg.permanent,
        })
    }

    /// As Traefik: the request's URL (`scheme://host[:port]`, the scheme's default port
    /// dropped) is compared with the target (`<scheme>://host[:<port>]`, same path and query);
    /// a redirect is sent only when they differ, so a request already on the target scheme and
    /// port passes, and one on the right scheme but another port is redirected.
    pub(crate) fn on_request(
        &self,
        req: &mut http::request::Parts,
        ctx: &RequestContext<'_>,
    ) -> Flow {
        let Some(host) = request_host(req) else {
            return Flow::Continue;
        };
        let bare = strip_port(host);
        let current = forwarded_scheme(req, ctx);
        let port = &host[bare.len()..];
        let port = match (current, port) {
            ("http", ":80") | ("https", ":443") => "",
            (_, p) => p,
        };
        if current == self.scheme && port == self.port {
            return Flow::Continue;
        }
        let location = format!("{}://{}{}{}", self.scheme, bare, self.port, target(req));
        match HeaderValue::from_str(&location) {
            Ok(v) => redirect(&req.method, self.permanent, v),
            Err(_) => Flow::Respond(respond(StatusCode::BAD_REQUEST, [])),
        }
    }
}

thread_local! {
    /// Scratch buffer for the URL `redirectRegex` matches against.
    static URL_BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Compiled `redirectRegex`.
#[derive(Debug)]
pub struct RedirectRegex {
    regex: Regex,
    replacement: String,
    permanent: bool,
}

impl RedirectRegex {
    pub fn compile(cfg: &RedirectRegexConfig) -> Result<Self, MiddlewareError> {
        let r = cfg.regex.trim();
        let regex =
            Regex::new(r).map_err(|e| MiddlewareError::regex("redirectRegex", "regex", r, e))?;
        Ok(RedirectRegex {
            regex,
            replacement: cfg.replacement.trim().to_owned(),
            permanent: cfg.permanent,
        })
    }

    /// Matches `scheme://host[:port]/path?query` (assembled in a per-thread buffer, so a
    /// request that does not match allocates nothing); redirects when the replacement changes
    /// the URL.
    pub(crate) fn on_request(
        &self,
        req: &mut http::request::Parts,
        ctx: &RequestContext<'_>,
    ) -> Flow {
        URL_BUF.with_borrow_mut(|url| {
            url.clear();
            url.push_str(if ctx.conn_tls { "https" } else { "http" });
            url.push_str("://");
            url.push_str(request_host(req).unwrap_or(""));
            url.push_str(target(req));
            if !self.regex.is_match(url) {
                return Flow::Continue;
            }
            let new = self.regex.replace_all(url, self.replacement.as_str());
            // Go parses the new URL before comparing: even an unchanged one that does not
            // parse is refused.
            let Some(location) = go_url::location(&new) else {
                return Flow::Respond(respond(StatusCode::BAD_GATEWAY, []));
            };
            if new == url.as_str() {
                return Flow::Continue;
            }
            match HeaderValue::from_str(&location) {
                Ok(v) => redirect(&req.method, self.permanent, v),
                Err(_) => Flow::Respond(respond(StatusCode::BAD_GATEWAY, [])),
            }
        })
    }
}
