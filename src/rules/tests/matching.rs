//! Matching tests: every matcher, positive and negative. Also hosts the table helpers `req` and `check`.

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue, Method};

use crate::rules::{RequestView, Rule};

/// A request description for table rows; turned into a `RequestView` by `check`.
#[derive(Clone)]
pub(super) struct Req {
    host: &'static str,
    path: &'static str,
    query: Option<&'static str>,
    method: Method,
    headers: Vec<(&'static str, &'static [u8])>,
    ip: &'static str,
}

pub(super) fn req(host: &'static str, path: &'static str) -> Req {
    Req {
        host,
        path,
        query: None,
        method: Method::GET,
        headers: Vec::new(),
        ip: "192.0.2.1",
    }
}

impl Req {
    pub(super) fn query(mut self, q: &'static str) -> Req {
        self.query = Some(q);
        self
    }
    pub(super) fn method(mut self, m: &str) -> Req {
        self.method = Method::from_bytes(m.as_bytes()).unwrap();
        self
    }
    pub(super) fn header(mut self, name: &'static str, value: &'static str) -> Req {
        self.headers.push((name, value.as_bytes()));
        self
    }
    pub(super) fn header_bytes(mut self, name: &'static str, value: &'static [u8]) -> Req {
        self.headers.push((name, value));
        self
    }
    pub(super) fn ip(mut self, ip: &'static str) -> Req {
        self.ip = ip;
        self
    }
}

pub(super) fn check(rule: &str, cases: &[(Req, bool)]) {
    check_with(rule, crate::rules::Syntax::V3, cases)
}

pub(super) fn check_with(rule: &str, syntax: crate::rules::Syntax, cases: &[(Req, bool)]) {
    let parsed = Rule::parse_with(rule, syntax)
        .unwrap_or_else(|e| panic!("rule {rule:?} failed to parse: {e}"));
    for (i, (r, want)) in cases.iter().enumerate() {
        let mut headers = HeaderMap::new();
        for (name, value) in &r.headers {
            headers.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        let client_ip: IpAddr = r.ip.parse().unwrap();
        let view = RequestView {
            host: r.host,
            path: r.path,
            query: r.query,
            method: &r.method,
            headers: &headers,
            client_ip,
        };
        assert_eq!(
            parsed.matches(&view),
            *want,
            "rule {rule:?}, case #{i} (host {:?}, path {:?})",
            r.host,
            r.path
        );
    }
}

#[test]
fn host() {
    check(
        "Host(`Example.com`)",
        &[
            (req("example.com", "/"), true),
            (req("example.com.", "/"), true),
            (req("www.example.com", "/"), false),
            (req("example.org", "/"), false),
            (req("", "/"), false),
        ],
    );
    check(
        "Host(`example.com.`)",
        &[
            (req("example.com", "/"), true),
            (req("example.com.", "/"), true),
        ],
    );
    check(
        "Host(`*.example.com`)",
        &[
            (req("a.example.com", "/"), true),
            (req("a.b.example.com", "/"), false),
            (req("example.com", "/"), false),
        ],
    );
    check(
        "Host(`**.example.com`)",
        &[
            (req("a.b.example.com", "/"), true),
            (req("example.com", "/"), false),
        ],
    );
}

#[test]
fn host_regexp() {
    check(
        "HostRegexp(`^[a-z]+\\.example\\.com$`)",
        &[
            (req("api.example.com", "/"), true),
            (req("api1.example.com", "/"), false),
            (req("example.com", "/"), false),
        ],
    );
    // Unanchored like Go's MatchString.
    check(
        "HostRegexp(`example`)",
        &[
            (req("www.example.org", "/"), true),
            (req("other.org", "/"), false),
        ],
    );
    check(
        "HostRegexp(`.+`)",
        &[(req("anything", "/"), true), (req("", "/"), false)],
    );
}

#[test]
fn paths() {
    check(
        "Path(`/products`)",
        &[
            (req("h", "/products"), true),
            (req("h", "/products/"), false),
            (req("h", "/Products"), false),
        ],
    );
    check(
        "PathPrefix(`/api`)",
        &[
            (req("h", "/api"), true),
            (req("h", "/api/v1"), true),
            (req("h", "/apiary"), true),
            (req("h", "/ap"), false),
        ],
    );
    check(
        "PathPrefix(`/api/`)",
        &[(req("h", "/api/v1"), true), (req("h", "/api"), false)],
    );
    check(
        "PathRegexp(`\\.(jpeg|jpg|png)$`)",
        &[
            (req("h", "/img/a.png"), true),
            (req("h", "/a.jpeg"), true),
            (req("h", "/a.gif"), false),
        ],
    );
    check(
        "PathRegexp(`^/articles/[a-z]+/[0-9]+$`)",
        &[
            (req("h", "/articles/go/42"), true),
            (req("h", "/articles/go/x"), false),
            (req("h", "/x/articles/go/42"), false),
        ],
    );
}

#[test]
fn method() {
    check(
        "Method(`GET`)",
        &[
            (req("h", "/"), true),
            (req("h", "/").method("POST"), false),
            (req("h", "/").method("get"), false),
        ],
    );
    check(
        "Method(`post`)",
        &[(req("h", "/").method("POST"), true), (req("h", "/"), false)],
    );
    check(
        "Method(`PURGE`)",
        &[
            (req("h", "/").method("PURGE"), true),
            (req("h", "/"), false),
        ],
    );
}

#[test]
fn headers() {
    check(
        "Header(`Content-Type`, `application/json`)",
        &[
            (
                req("h", "/").header("content-type", "application/json"),
                true,
            ),
            (
                req("h", "/")
                    .header("content-type", "text/html")
                    .header("content-type", "application/json"),
                true,
            ),
            (
                req("h", "/").header("content-type", "application/json; charset=utf-8"),
                false,
            ),
            (
                req("h", "/").header("content-type", "Application/JSON"),
                false,
            ),
            (req("h", "/").header("accept", "application/json"), false),
            (req("h", "/"), false),
        ],
    );
    check(
        "HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
        &[
            (
                req("h", "/").header("content-type", "application/yaml"),
                true,
            ),
            (
                req("h", "/")
                    .header("content-type", "text/plain")
                    .header("content-type", "application/json"),
                true,
            ),
            (
                req("h", "/").header("content-type", "application/xml"),
                false,
            ),
            (req("h", "/"), false),
        ],
    );
    check(
        "HeaderRegexp(`X-Bin`, `ab`)",
        &[(req("h", "/").header_bytes("x-bin", b"\xffab"), true)],
    );
}

#[test]
fn queries() {
    check(
        "Query(`mobile`, `true`)",
        &[
            (req("h", "/").query("mobile=true"), true),
            (req("h", "/").query("a=1&mobile=true"), true),
            (req("h", "/").query("mobile=false"), false),
            (req("h", "/").query("mobile"), false),
            (req("h", "/"), false),
        ],
    );
    check(
        "Query(`debug`)",
        &[
            (req("h", "/").query("debug"), true),
            (req("h", "/").query("debug="), true),
            (req("h", "/").query("debug=1"), false),
            (req("h", "/").query("x=1"), false),
            (req("h", "/"), false),
        ],
    );
    check(
        "Query(`q`, `a b`)",
        &[
            (req("h", "/").query("q=a+b"), true),
            (req("h", "/").query("q=a%20b"), true),
            (req("h", "/").query("q=ab"), false),
        ],
    );
    check(
        "QueryRegexp(`id`, `^[0-9]+$`)",
        &[
            (req("h", "/").query("id=123"), true),
            (req("h", "/").query("id=12a"), false),
            (req("h", "/").query("x=1"), false),
        ],
    );
    check(
        "QueryRegexp(`debug`)",
        &[
            (req("h", "/").query("debug"), true),
            (req("h", "/").query("debug=1"), false),
        ],
    );
}

#[test]
fn client_ip() {
    check(
        "ClientIP(`10.0.0.0/8`)",
        &[
            (req("h", "/").ip("10.1.2.3"), true),
            (req("h", "/").ip("::ffff:10.1.2.3"), true),
            (req("h", "/").ip("11.0.0.1"), false),
            (req("h", "/").ip("::1"), false),
        ],
    );
    check(
        "ClientIP(`192.0.2.7`)",
        &[
            (req("h", "/").ip("192.0.2.7"), true),
            (req("h", "/").ip("192.0.2.8"), false),
        ],
    );
    check(
        "ClientIP(`2001:db8::/32`)",
        &[
            (req("h", "/").ip("2001:db8::1"), true),
            (req("h", "/").ip("2001:db9::1"), false),
            (req("h", "/").ip("10.0.0.1"), false),
        ],
    );
    check(
        "ClientIP(`::1`)",
        &[
            (req("h", "/").ip("::1"), true),
            (req("h", "/").ip("127.0.0.1"), false),
        ],
    );
    check(
        "ClientIP(`10.1.2.3/8`)",
        &[(req("h", "/").ip("10.200.0.1"), true)],
    );
    check(
        "ClientIP(`::ffff:10.0.0.0/104`)",
        &[
            (req("h", "/").ip("10.9.9.9"), true),
            (req("h", "/").ip("11.0.0.1"), false),
        ],
    );
}
