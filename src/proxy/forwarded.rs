//! The request and response heads as a proxy rewrites them, as Traefik's forwardedheaders handler
//! and Go's reverse proxy do: untrusted `X-Forwarded-*`/`X-Real-Ip` dropped, `X-Forwarded-*` and
//! `X-Real-Ip` set from the connection, hop-by-hop headers removed. Pure header work; `forward`
//! uses it around sending.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::OnceLock;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use ipnet::IpNet;

use super::service::ConnInfo;
use crate::middleware::headers::ForwardedOverrides;

pub(super) static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(super) static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(super) static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub(super) static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub(super) static X_FORWARDED_SERVER: HeaderName = HeaderName::from_static("x-forwarded-server");
pub(super) static X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
pub(super) static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
pub(super) static X_FORWARDED_TLS_CLIENT_CERT: HeaderName =
    HeaderName::from_static("x-forwarded-tls-client-cert");
pub(super) static X_FORWARDED_TLS_CLIENT_CERT_INFO: HeaderName =
    HeaderName::from_static("x-forwarded-tls-client-cert-info");
pub(super) static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
pub(super) static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The headers an untrusted peer may not set (`sanitize_forwarded`).
pub(super) static FORWARDED: [&HeaderName; 9] = [
    &X_FORWARDED_FOR,
    &X_FORWARDED_PROTO,
    &X_FORWARDED_HOST,
    &X_FORWARDED_PORT,
    &X_FORWARDED_SERVER,
    &X_FORWARDED_PREFIX,
    &X_REAL_IP,
    &X_FORWARDED_TLS_CLIENT_CERT,
    &X_FORWARDED_TLS_CLIENT_CERT_INFO,
];

/// Which peers may send `X-Forwarded-*` headers that swarmgate keeps (`forwardedHeaders`).
#[derive(Debug, Clone, Default)]
pub struct ForwardedPolicy {
    pub insecure: bool,
    pub trusted: Vec<IpNet>,
}

impl ForwardedPolicy {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.insecure || self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// The request's host as the client gave it: the URI authority (HTTP/2, absolute-form) or `Host`.
pub fn request_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    match uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    }
}

/// The client's host as a header value: the `Host` header itself when the URI has no authority
/// (a cheap shared clone of what hyper parsed), else the URI authority copied once.
pub(super) fn original_host(uri: &Uri, headers: &HeaderMap) -> Option<HeaderValue> {
    match uri.authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => headers
            .get(header::HOST)
            .filter(|h| h.to_str().is_ok())
            .cloned(),
    }
}

/// `X-Forwarded-For` / `X-Real-Ip` value for `ip`. Keep-alive connections send many requests from
/// one address, so each worker thread remembers the last address it formatted: a hit costs a
/// reference-count increment instead of a `to_string` and a header copy.
pub(super) fn ip_header(ip: IpAddr) -> HeaderValue {
    thread_local! {
        static LAST: RefCell<Option<(IpAddr, HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((cached, value)) = last.as_ref() {
            if *cached == ip {
                return value.clone();
            }
        }
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(ip.to_string()))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        *last = Some((ip, value.clone()));
        value
    })
}

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones Go's proxy strips); `TE` is handled
/// apart because `TE: trailers` may travel.
pub(super) static HOP_BY_HOP: [&HeaderName; 8] = [
    &header::CONNECTION,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
    &header::PROXY_AUTHENTICATE,
    &header::PROXY_AUTHORIZATION,
    &header::TRAILER,
    &header::TRANSFER_ENCODING,
    &header::UPGRADE,
];

/// Removes hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones Go's proxy strips).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the names finds which are present: a hashed removal of an absent name costs
    // more than the whole pass, and most messages carry none or only `Connection`.
    let mut present = 0u16;
    let mut te = false;
    for name in headers.keys() {
        match HOP_BY_HOP.iter().position(|h| *h == name) {
            Some(i) => present |= 1 << i,
            None => te |= name == header::TE,
        }
    }
    if present == 0 && !te {
        return;
    }
    // Names listed in `Connection` go too; its usual tokens are no header of their own.
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| {
            !["close", "keep-alive", "upgrade"]
                .iter()
                .any(|u| t.eq_ignore_ascii_case(u))
        })
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(*name);
        }
    }
    if !te {
        return;
    }
    // `TE: trailers` is the one TE value that may travel (gRPC needs it).
    let te_trailers = headers
        .get(header::TE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
        });
    headers.remove(header::TE);
    if te_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Drops `X-Forwarded-*` and `X-Real-Ip` sent by a peer that `forwardedHeaders` does not trust.
/// Runs before the middlewares, so they (ipAllowList, rateLimit, redirectScheme) see only
/// trustworthy values and may add their own (`X-Forwarded-Prefix`).
pub fn sanitize_forwarded(headers: &mut HeaderMap, conn: &ConnInfo, policy: &ForwardedPolicy) {
    if policy.trusts(conn.peer.ip()) {
        return;
    }
    let present = |name: &HeaderName| name.as_str().starts_with("x-") && FORWARDED.contains(&name);
    if !headers.keys().any(present) {
        return;
    }
    for name in FORWARDED {
        headers.remove(name);
    }
}

/// True when the request came over TLS, or through a trusted proxy that says it did.
pub fn effective_tls(headers: &HeaderMap, conn: &ConnInfo, policy: &ForwardedPolicy) -> bool {
    conn.tls
        || (policy.trusts(conn.peer.ip())
            && headers
                .get(&X_FORWARDED_PROTO)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")))
}

/// `X-Forwarded-Server`: this machine's host name, read once, as Traefik's `os.Hostname()`
/// (`/proc/sys/kernel/hostname`; `localhost` when it cannot be read). [`crate::proxy::Proxy::new`]
/// reads it, so requests never do.
pub fn server_name() -> &'static HeaderValue {
    static NAME: OnceLock<HeaderValue> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .and_then(|name| HeaderValue::from_str(name.trim_end_matches('\n')).ok())
            .filter(|name| !name.is_empty())
            .unwrap_or(HeaderValue::from_static("localhost"))
    })
}

/// What Traefik's `forwardedheaders` handler does before routing: `X-Forwarded-*` from a peer
/// that is not trusted are dropped ([`sanitize_forwarded`]), then `X-Real-Ip`,
/// `X-Forwarded-Proto` (`ws`/`wss` for a WebSocket upgrade), `X-Forwarded-Host` and
/// `X-Forwarded-Port` are set from the connection where absent. Runs before the router, so no
/// rule (`Header(`X-Forwarded-Proto`, `https`)`) or middleware sees a spoofed value.
pub fn prepare_forwarded(
    headers: &mut HeaderMap,
    uri: &Uri,
    conn: &ConnInfo,
    policy: &ForwardedPolicy,
) {
    sanitize_forwarded(headers, conn, policy);
    let host = original_host(uri, headers);
    set_absent_forwarded(headers, conn, host.as_ref(), &ForwardedOverrides::default());
}

/// Whether the request asks for a WebSocket (`Connection: upgrade` and `Upgrade: websocket`).
pub(super) fn is_websocket(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// Sets `X-Real-Ip`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Port` where absent
/// (after `sanitize_forwarded` ran, so what is present came from a trusted peer or from us).
pub(super) fn set_absent_forwarded(
    headers: &mut HeaderMap,
    conn: &ConnInfo,
    original_host: Option<&HeaderValue>,
    overrides: &ForwardedOverrides,
) {
    // Which of them the request already has (or a `headers` middleware decided about), in one
    // pass (a miss costs a hash each).
    let (mut real_ip, mut proto, mut fwd_host, mut fwd_port) = (
        overrides.real_ip,
        overrides.proto,
        overrides.host,
        overrides.port,
    );
    for name in headers.keys().filter(|n| n.as_str().starts_with("x-")) {
        real_ip |= name == X_REAL_IP;
        proto |= name == X_FORWARDED_PROTO;
        fwd_host |= name == X_FORWARDED_HOST;
        fwd_port |= name == X_FORWARDED_PORT;
    }
    if real_ip && proto && fwd_host && fwd_port {
        return;
    }
    if !real_ip {
        headers.insert(X_REAL_IP.clone(), ip_header(conn.peer.ip()));
    }
    if !proto {
        let proto = match (is_websocket(headers), conn.tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    }
    if let Some(host) = original_host {
        if !fwd_host && !host.is_empty() {
            headers.insert(X_FORWARDED_HOST.clone(), host.clone());
        }
    }
    if !fwd_port {
        let port = original_host
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit_once(':'))
            .map(|(_, p)| p)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        let port = match port {
            Some(port) => port_header(port),
            None => {
                let secure = headers
                    .get(&X_FORWARDED_PROTO)
                    .is_some_and(|v| v.as_bytes() == b"https" || v.as_bytes() == b"wss");
                HeaderValue::from_static(if secure { "443" } else { "80" })
            }
        };
        headers.insert(X_FORWARDED_PORT.clone(), port);
    }
}

/// Hop-by-hop headers out, `X-Forwarded-*` in (after `sanitize_forwarded` ran). What a
/// `headers` middleware decided (`overrides`) stands, as in Traefik, which writes these before
/// its middlewares: a header it set or removed is not written again, `X-Forwarded-For: ""` sends
/// none, and after a custom `Host` the client's own host stays in `X-Forwarded-Host`/`-Port`.
pub(super) fn rewrite_request_headers(
    headers: &mut HeaderMap,
    conn: &ConnInfo,
    original_host: Option<&HeaderValue>,
    overrides: Option<&ForwardedOverrides>,
) {
    let none = ForwardedOverrides::default();
    let overrides = overrides.unwrap_or(&none);
    let original_host = overrides.client_host.as_ref().or(original_host);
    remove_hop_by_hop(headers);
    let prior = headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok());
    let client_ip = conn.peer.ip();
    let ip_value = ip_header(client_ip);
    let xff = match prior {
        Some(prior) => {
            HeaderValue::from_str(&format!("{prior}, {client_ip}")).unwrap_or(ip_value.clone())
        }
        None => ip_value,
    };
    let had_prior = prior.is_some();
    // Room for the headers below at once rather than growing the map on the way.
    headers.reserve(6);
    if had_prior || !overrides.omit_for {
        headers.insert(X_FORWARDED_FOR.clone(), xff);
    }
    // Replaces whatever a client or a trusted hop sent, as Traefik does.
    if !overrides.server {
        headers.insert(X_FORWARDED_SERVER.clone(), server_name().clone());
    }
    set_absent_forwarded(headers, conn, original_host, overrides);
}

/// A port as a header value; the usual ones are static (no allocation).
pub(super) fn port_header(port: &str) -> HeaderValue {
    match port {
        "80" => HeaderValue::from_static("80"),
        "443" => HeaderValue::from_static("443"),
        "8080" => HeaderValue::from_static("8080"),
        "8443" => HeaderValue::from_static("8443"),
        other => HeaderValue::from_str(other).unwrap_or(HeaderValue::from_static("80")),
    }
}

#[cfg(test)]
mod tests;
