//! Host expressions of the `Host` matcher: exact names and Traefik's wildcard forms.
//!
//! `*.example.com` matches the direct subdomains of example.com (exactly one label);
//! `**.example.com` matches all its subdomains (one or more labels); neither matches example.com.
//! Comparison is ASCII case-insensitive; a single trailing dot on the rule's name or on the request
//! host is ignored, as Traefik does. Matching never allocates.

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

    /// Whether this is a wildcard (`*.` or `**.`) expression.
    pub(crate) fn is_wildcard(&self) -> bool {
        self.name.starts_with('*')
    }

    /// Whether the request host (lowercase, no port) matches, following Traefik's trailing-dot rules.
    pub(crate) fn matches(&self, req_host: &str) -> bool {
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
/// [`super::Rule::required_hosts`]: the host with one trailing dot removed.
pub fn host_index_key(host: &str) -> &str {
    host.strip_suffix('.').unwrap_or(host)
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
    fn index_key_strips_one_dot() {
        assert_eq!(host_index_key("a.com."), "a.com");
        assert_eq!(host_index_key("a.com"), "a.com");
        assert_eq!(host_index_key("a.com.."), "a.com.");
    }
}
