//! The authentication request's head as Traefik builds it: the `X-*` headers it manages, the
//! headers never sent, the hop headers dropped from an answer, and the `X-Forwarded-*` its
//! entrypoint would have set. Pure apart from reading the host name once.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::middleware::RequestContext;

/// The `X-*` headers Traefik manages (its `forwardedheaders.XHeadersSet`), lowercase.
pub(super) const X_HEADERS: [&str; 13] = [
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
pub(super) const NOT_SENT: [&str; 10] = [
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
pub(super) const HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` (lowercase, `_` read as `-`) is one of Traefik's managed `X-*` headers.
pub(super) fn is_x_header(name: &str) -> bool {
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

/// Traefik's entrypoint sets these before any middleware (`forwardedheaders.XForwarded`);
/// swarmgate sets them when forwarding, so the authentication request gets them here.
pub(super) fn entrypoint_headers(
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
pub(super) fn forwarded_port(
    host: &str,
    h: &HeaderMap,
    tls: bool,
) -> (&'static str, Option<HeaderValue>) {
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
pub(super) fn request_host(req: &http::request::Parts) -> &str {
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
pub(super) fn has_token(h: &HeaderMap, name: HeaderName, token: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Go's `RemoveConnectionHeaders`: names listed in `Connection` go (an `Upgrade` stays).
pub(super) fn remove_connection_listed(h: &mut HeaderMap) {
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
pub(super) fn hostname() -> Option<&'static HeaderValue> {
    static NAME: std::sync::OnceLock<Option<HeaderValue>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()?;
        HeaderValue::from_str(name.trim()).ok()
    })
    .as_ref()
}
