//! Host expressions of the `Host` matcher: exact names and Traefik's wildcard forms.
//!
//! `*.example.com` matches the direct subdomains of example.com (exactly one label);
//! `**.example.com` matches all its subdomains (one or more labels); neither matches example.com.
//! `*` alone matches every request, even one without a host (Traefik 3.7).
//! Comparison is ASCII case-insensitive; a single trailing dot on the rule's name or on the request
//! host is ignored, as Traefik does. Matching never allocates.
//!
//! [`routing_host`] turns the request's `Host` (or URI authority) into the name rules see, as
//! Traefik's request decorator does: port removed, IPv6 brackets removed (`[10::10]:80` → `10::10`).

/// A lowercased host expression from a `Host` matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostExpr {
    /// The name as written, lowercased.
    pub(crate) name: Box<str>,
}

impl HostExpr {
    pub(crate) fn new(name: &str) -> HostExpr {
        HostExpr {
            name: name.to_ascii_lowercase().into_boxed_str(),
        }
    }

    /// Whether this is a wildcard (`*`, `*.` or `**.`) expression.
    pub(crate) fn is_wildcard(&self) -> bool {
        self.name.starts_with('*')
    }

    /// Whether the request host (lowercase, no port) matches, following Traefik's trailing-dot rules.
    pub(crate) fn matches(&self, req_host: &str) -> bool {
        // Traefik 3.7: `Host(`*`)` matches everything, as `HostSNI(`*`)` does on the TCP side.
        if &*self.name == "*" {
            return true;
        }
        if req_host.is_empty() {
            return false;
        }
        let expr: &str = &self.name;
        if domain_matches(req_host, expr) {
            return true;
        }
        if let Some(trimmed) = expr.strip_suffix('.') {
            if domain_matches(req_host, trimmed) {
                return true;
            }
        }
        if let Some(trimmed) = req_host.strip_suffix('.') {
            if domain_matches(trimmed, expr) {
                return true;
            }
        }
        false
    }
}

/// Traefik's `DomainMatchHostExpression`, byte-wise and allocation free.
fn domain_matches(domain: &str, expr: &str) -> bool {
    if let Some(suffix) = expr.strip_prefix("**.") {
        let (d, s) = (domain.as_bytes(), suffix.as_bytes());
        if d.len() <= s.len() + 1 {
            return false;
        }
        let dot = d.len() - s.len() - 1;
        return d[dot] == b'.' && d[dot + 1..].eq_ignore_ascii_case(s);
    }
    if let Some(rest) = expr.strip_prefix('*') {
        // Go replaces the first label of the domain by "*" and compares.
        let domain_rest = domain.find('.').map_or("", |i| &domain[i..]);
        return rest.eq_ignore_ascii_case(domain_rest);
    }
    domain.eq_ignore_ascii_case(expr)
}

/// The key under which a request host should be looked up in an index built from
/// [`super::Rule::required_hosts`]: the host with every trailing dot removed.
///
/// Every request host a `Host` expression matches has the expression's key: the two are equal
/// up to case and one trailing dot on either side, and stripping all trailing dots maps both to
/// the same string. (One host may share a key with names it does not match, such as `a.com..`
/// and `a.com`; the rule itself decides.)
pub fn host_index_key(host: &str) -> &str {
    host.trim_end_matches('.')
}

/// `name` with at most one trailing dot removed (how `Host` names are reported).
pub(crate) fn without_trailing_dot(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

/// The host rules see for a request whose `Host` header (or URI authority) is `authority`:
/// Traefik's `parseHost` then `CanonicalDomain` without the lowercasing (the caller lowercases).
/// The port goes (`example.com:8080` → `example.com`), so do the brackets of an IPv6 literal
/// (`[10::10]:80` and `[10::10]` → `10::10`); a value Go's `net.SplitHostPort` refuses is kept as
/// it is (`10::10` stays `10::10`). Surrounding spaces are trimmed. Never allocates.
pub fn routing_host(authority: &str) -> &str {
    if !authority.contains(':') {
        return authority.trim();
    }
    let host = match split_host_port(authority) {
        Some(host) => host,
        None if authority.len() >= 2 && authority.starts_with('[') && authority.ends_with(']') => {
            &authority[1..authority.len() - 1]
        }
        None => authority,
    };
    host.trim()
}

/// Go's `net.SplitHostPort`, the host part only; `None` where Go returns an error.
fn split_host_port(hostport: &str) -> Option<&str> {
    let last_colon = hostport.rfind(':')?;
    let (host, from_open, from_close) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        // The closing bracket must be followed by the last colon.
        if end + 1 != last_colon {
            return None;
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..last_colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[from_open..].contains('[') || hostport[from_close..].contains(']') {
        return None;
    }
    Some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_expressions() {
        let cases: &[(&str, &str, bool)] = &[
            ("example.com", "example.com", true),
            ("Example.COM", "example.com", true),
            ("example.com", "EXAMPLE.com", true),
            ("example.com", "example.com.", true),
            ("example.com.", "example.com", true),
            ("example.com.", "example.com.", true),
            ("example.com", "example.com..", false),
            ("example.com", "www.example.com", false),
            ("example.com", "example.org", false),
            ("example.com", "", false),
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "A.Example.com", true),
            ("*.example.com", "a.example.com.", true),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", "example.com", false),
            ("**.example.com", "a.example.com", true),
            ("**.example.com", "a.b.example.com", true),
            ("**.example.com", "example.com", false),
            ("**.example.com", "xexample.com", false),
            ("**.example.com", ".example.com", false),
            ("**.example.com", "a.example.com.", true),
            ("*", "example.com", true),
            ("*", "a.b.example.com", true),
            ("*", "localhost", true),
            ("*", "", true),
            ("example.com..", "example.com.", true),
            ("example.com..", "example.com...", true),
            ("10::10", "10::10", true),
        ];
        for (expr, host, want) in cases {
            assert_eq!(
                HostExpr::new(expr).matches(host),
                *want,
                "Host({expr}) vs {host:?}"
            );
        }
    }

    #[test]
    fn index_key_strips_every_trailing_dot() {
        assert_eq!(host_index_key("a.com."), "a.com");
        assert_eq!(host_index_key("a.com"), "a.com");
        assert_eq!(host_index_key("a.com.."), "a.com");
    }

    /// Every (expression, host) pair that matches shares one index key, or the index would hide it.
    #[test]
    fn matching_hosts_share_the_index_key() {
        let names = [
            "a.com", "a.com.", "a.com..", "a.com...", "b.a.com", "b.a.com.",
        ];
        for expr in names {
            for host in names {
                if HostExpr::new(expr).matches(host) {
                    assert_eq!(
                        host_index_key(expr),
                        host_index_key(host),
                        "{expr} vs {host}"
                    );
                }
            }
        }
    }

    #[test]
    fn routing_host_follows_traefik_parse_host() {
        let cases: &[(&str, &str)] = &[
            ("example.com", "example.com"),
            ("example.com:8080", "example.com"),
            ("example.com:", "example.com"),
            ("example.com.", "example.com."),
            ("example.com.:80", "example.com."),
            ("127.0.0.1:80", "127.0.0.1"),
            ("[10::10]", "10::10"),
            ("[10::10]:80", "10::10"),
            ("[::1]:8443", "::1"),
            // Go's SplitHostPort refuses these: kept as they are.
            ("10::10", "10::10"),
            ("[10::10]x", "[10::10]x"),
            // Refused, but bracketed at both ends: Traefik's parseHost drops the outer brackets.
            ("[10::10]:80]", "10::10]:80"),
            ("a[b:80", "a[b:80"),
            ("", ""),
            ("[]", "[]"),
            ("[", "["),
            (" example.com ", "example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(routing_host(input), *want, "{input:?}");
        }
    }
}
