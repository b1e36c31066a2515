//! Matching tests: every matcher positive and negative, precedence, and Traefik's documented examples.

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue, Method};

use super::{RequestView, Rule};

/// A request description for table rows; turned into a `RequestView` by `check`.
#[derive(Clone)]
struct Req {
    host: &'static str,
    path: &'static str,
    query: Option<&'static str>,
    method: Method,
    headers: Vec<(&'static str, &'static [u8])>,
    ip: &'static str,
}

fn req(host: &'static str, path: &'static str) -> Req {
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
    fn query(mut self, q: &'static str) -> Req {
        self.query = Some(q);
        self
    }
    fn method(mut self, m: &str) -> Req {
        self.method = Method::from_bytes(m.as_bytes()).unwrap();
        self
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Req {
        self.headers.push((name, value.as_bytes()));
        self
    }
    fn header_bytes(mut self, name: &'static str, value: &'static [u8]) -> Req {
        self.headers.push((name, value));
        self
    }
    fn ip(mut self, ip: &'static str) -> Req {
        self.ip = ip;
        self
    }
}

fn check(rule: &str, cases: &[(Req, bool)]) {
    let parsed = Rule::parse(rule).unwrap_or_else(|e| panic!("rule {rule:?} failed to parse: {e}"));
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

#[test]
fn precedence() {
    // a || b && c  ==  a || (b && c)
    let rule = "Host(`a`) || Host(`b`) && Path(`/c`)";
    check(
        rule,
        &[
            (req("a", "/x"), true),
            (req("b", "/x"), false),
            (req("b", "/c"), true),
        ],
    );
    // (a || b) && c
    check(
        "(Host(`a`) || Host(`b`)) && Path(`/c`)",
        &[
            (req("a", "/x"), false),
            (req("a", "/c"), true),
            (req("b", "/c"), true),
        ],
    );
    // !a && b  ==  (!a) && b
    check(
        "!Host(`a`) && Path(`/c`)",
        &[
            (req("a", "/c"), false),
            (req("b", "/c"), true),
            (req("b", "/x"), false),
        ],
    );
    // !(a && b)
    check(
        "!(Host(`a`) && Path(`/c`))",
        &[
            (req("a", "/c"), false),
            (req("a", "/x"), true),
            (req("b", "/c"), true),
        ],
    );
    // a && b || c  ==  (a && b) || c
    check(
        "Host(`a`) && Path(`/x`) || Path(`/c`)",
        &[
            (req("b", "/c"), true),
            (req("a", "/x"), true),
            (req("a", "/y"), false),
        ],
    );
    check(
        "!!Host(`a`)",
        &[(req("a", "/"), true), (req("b", "/"), false)],
    );
    check(
        "((Host(`a`) || (Host(`b`))) && !(Path(`/x`) || Path(`/y`)))",
        &[
            (req("a", "/z"), true),
            (req("b", "/x"), false),
            (req("b", "/y"), false),
            (req("c", "/z"), false),
        ],
    );
}

#[test]
fn documented_examples() {
    check(
        "Host(`example.com`) && PathPrefix(`/api`)",
        &[
            (req("example.com", "/api/x"), true),
            (req("example.com", "/web"), false),
            (req("other.com", "/api"), false),
        ],
    );
    check(
        "Host(`example.com`) || (Host(`example.org`) && Path(`/traefik`))",
        &[
            (req("example.com", "/"), true),
            (req("example.org", "/traefik"), true),
            (req("example.org", "/"), false),
        ],
    );
    check(
        "Host(`example.com`) && !Path(`/traefik`)",
        &[
            (req("example.com", "/"), true),
            (req("example.com", "/traefik"), false),
        ],
    );
    check(
        "HostRegexp(`^.+\\.example\\.com$`)",
        &[
            (req("a.example.com", "/"), true),
            (req("example.com", "/"), false),
        ],
    );
    check(
        "PathRegexp(`^/products/(shoes|socks)/[0-9]+$`)",
        &[
            (req("h", "/products/shoes/123"), true),
            (req("h", "/products/hats/123"), false),
        ],
    );
    check(
        "Method(`GET`) || Method(`POST`)",
        &[
            (req("h", "/"), true),
            (req("h", "/").method("POST"), true),
            (req("h", "/").method("PUT"), false),
        ],
    );
    check(
        "ClientIP(`10.76.105.11`)",
        &[(req("h", "/").ip("10.76.105.11"), true)],
    );
    check(
        "ClientIP(`::1`) || ClientIP(`192.168.0.0/16`)",
        &[(req("h", "/").ip("192.168.3.4"), true)],
    );
    check(
        "Header(`Content-Type`, `application/yaml`)",
        &[(
            req("h", "/").header("content-type", "application/yaml"),
            true,
        )],
    );
    check(
        "HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
        &[(
            req("h", "/").header("content-type", "application/json"),
            true,
        )],
    );
    check(
        "QueryRegexp(`mobile`, `^(true|yes)$`)",
        &[
            (req("h", "/").query("mobile=yes"), true),
            (req("h", "/").query("mobile=no"), false),
        ],
    );
    check(
        "host(`example.com`) && PATHPREFIX(`/a`)",
        &[(req("example.com", "/a"), true)],
    );
    check(
        "Host(\"example.com\") && PathPrefix(\"/a\")",
        &[
            (req("example.com", "/a"), true),
            (req("example.com", "/b"), false),
        ],
    );
}
