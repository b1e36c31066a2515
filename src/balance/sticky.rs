//! Sticky sessions as Traefik v3's `sticky.cookie`: cookie name, per-server cookie values, `Set-Cookie` rendering
//! and `Cookie` header lookup. Built on the config plane; lookups on the hot path do not allocate.
//!
//! Traefik compatibility:
//! - default name: `_` + the first 5 hex digits of SHA-1(`_TRAEFIK_BACKEND_` + service name) (e.g. `_1d52e`); a
//!   configured name is sanitized to RFC 2616 token characters (others become `_`);
//! - value: the first 16 hex digits of SHA-256(server URL), never the raw address. Cookies written by older Traefik
//!   versions (raw URL, FNV-64 hex of the URL, or FNV-64 of that) are still honoured, and rewritten;
//! - attributes in Go's `http.SetCookie` order: `Path` (default `/`), `Domain`, `Max-Age` (omitted when 0, `0` when
//!   negative), `HttpOnly`, `Secure`, `SameSite` (`none`/`lax`/`strict`, anything else omitted).

use http::HeaderMap;
use ring::digest;

use crate::config::dynamic::StickyCookieConfig;

/// Precomputed parts of the sticky cookie of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyCookie {
    name: String,
    /// Everything after `name=value`, starting with `; ` (e.g. `; Path=/; HttpOnly`).
    attributes: String,
}

impl StickyCookie {
    /// Builds the cookie of `service` (its qualified name, e.g. `web@swarm`, used for the default name).
    pub fn new(service: &str, config: &StickyCookieConfig) -> Self {
        let name = match config.name.as_deref() {
            Some(name) if !name.is_empty() => sanitize_name(name),
            _ => default_cookie_name(service),
        };
        let mut attributes = String::new();
        let path = config.path.as_deref().unwrap_or("/");
        if is_valid_attribute_value(path) {
            attributes.push_str("; Path=");
            attributes.push_str(path);
        } else {
            tracing::warn!(service = %service, path = %path, "sticky cookie path is invalid; omitted");
        }
        if let Some(domain) = config.domain.as_deref().filter(|d| !d.is_empty()) {
            let domain = domain.strip_prefix('.').unwrap_or(domain);
            if is_valid_attribute_value(domain) && !domain.contains(' ') {
                attributes.push_str("; Domain=");
                attributes.push_str(domain);
            } else {
                tracing::warn!(service = %service, domain = %domain, "sticky cookie domain is invalid; omitted");
            }
        }
        match config.max_age {
            Some(age) if age > 0 => attributes.push_str(&format!("; Max-Age={age}")),
            Some(age) if age < 0 => attributes.push_str("; Max-Age=0"),
            _ => {}
        }
        if config.http_only {
            attributes.push_str("; HttpOnly");
        }
        if config.secure {
            attributes.push_str("; Secure");
        }
        match config
            .same_site
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("none") => attributes.push_str("; SameSite=None"),
            Some("lax") => attributes.push_str("; SameSite=Lax"),
            Some("strict") => attributes.push_str("; SameSite=Strict"),
            _ => {}
        }
        StickyCookie { name, attributes }
    }

    /// The cookie name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The attributes appended after `name=value` (starting with `; `, or empty).
    pub fn attributes(&self) -> &str {
        &self.attributes
    }

    /// The full `Set-Cookie` value for `value`.
    pub fn set_cookie(&self, value: &str) -> String {
        format!("{}={}{}", self.name, value, self.attributes)
    }

    /// This cookie's value in the request's `Cookie` headers (first occurrence), without allocating.
    pub fn value_in<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|line| cookie_value(line, &self.name))
    }
}

/// The value of cookie `name` in one `Cookie` header line (`a=1; b=2`), surrounding quotes removed.
pub fn cookie_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        if k.trim() != name {
            return None;
        }
        let v = v.trim();
        Some(
            v.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v),
        )
    })
}

/// Traefik's default sticky cookie name for a service: `_` + 5 hex digits of a SHA-1.
pub fn default_cookie_name(service: &str) -> String {
    let input = format!("_TRAEFIK_BACKEND_{service}");
    let hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, input.as_bytes());
    let mut name = String::from("_");
    name.push_str(&hex(hash.as_ref())[..5]);
    name
}

/// The sticky cookie value for a server: 16 hex digits of SHA-256(url).
pub fn server_cookie_value(url: &str) -> String {
    let hash = digest::digest(&digest::SHA256, url.as_bytes());
    hex(&hash.as_ref()[..8])
}

/// Values older Traefik versions wrote for a server, still accepted (and then rewritten).
pub fn legacy_cookie_values(url: &str) -> [String; 3] {
    let fnv = format!("{:x}", fnv64(url.as_bytes()));
    let double = format!("{:x}", fnv64(fnv.as_bytes()));
    [url.to_string(), fnv, double]
}

/// FNV-1 64-bit (Go's `hash/fnv.New64`).
fn fnv64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        h.wrapping_mul(0x0000_0100_0000_01b3) ^ u64::from(b)
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '!' | '#' | '$' | '%' | '&' | '\'' | '*' | '+' | '-' | '.' | '^' | '`' | '|' | '~' => c,
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect()
}

fn is_valid_attribute_value(v: &str) -> bool {
    v.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';')
}

#[cfg(test)]
mod tests;
