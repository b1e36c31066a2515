//! The v2 rule syntax: Traefik 3.7's `matcher_v2_test.go` tables (requests reduced to what
//! swarmgate's [`super::RequestView`] holds: lowercased host without port, routing path), and
//! what sets v2 apart from v3.

use super::matching::{check_with, req};
use crate::rules::{Rule, Syntax};

fn v2(rule: &str, cases: &[(super::matching::Req, bool)]) {
    check_with(rule, Syntax::V2, cases)
}

fn refused_v2(rule: &str) -> String {
    match Rule::parse_with(rule, Syntax::V2) {
        Ok(_) => panic!("{rule:?} was accepted under v2"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_v2_rules_are_refused() {
    for rule in [
        "ClientIP(`1`)",
        "ClientIP()",
        "ClientIP(``)",
        "Method()",
        "Method(``)",
        "Host()",
        "Host(``)",
        "Host(`🦭.com`)",
        "HostRegexp()",
        "HostRegexp(``)",
        "HostRegexp(`🦭.com`)",
        "Path()",
        "Path(``)",
        "Path(`css`)",
        "PathPrefix()",
        "PathPrefix(``)",
        "PathPrefix(`css`)",
        "Headers()",
        "Headers(`X-Forwarded-Host`)",
        "Headers(`X-Forwarded-Host`, ``)",
        "Headers(``, `example.com`)",
        "Headers(`X-Forwarded-Host`, `example.com`, `example.org`)",
        "HeadersRegexp()",
        "HeadersRegexp(`X-Forwarded-Host`)",
        "HeadersRegexp(`X-Forwarded-Host`, ``)",
        "HeadersRegexp(``, `example.com`)",
        "HeadersRegexp(`X-Forwarded-Host`,`(example.com`)",
        "HeadersRegexp(`X-Forwarded-Host`, `example.com`, `example.org`)",
        "Query()",
        "Query(``)",
        "Query(`foo`)",
        "Query(`foo=bar`, `baz`)",
        "Path(`/{id`)",
        "Path(`/{:x}`)",
    ] {
        refused_v2(rule);
    }
}

#[test]
fn v3_only_matchers_are_unknown_under_v2_and_v2_only_ones_under_v3() {
    for (rule, hint) in [
        ("Header(`X-A`, `1`)", "Headers"),
        ("HeaderRegexp(`X-A`, `1`)", "HeadersRegexp"),
        ("PathRegexp(`^/a`)", "Path("),
        ("QueryRegexp(`a`, `1`)", "Query("),
    ] {
        let e = refused_v2(rule);
        assert!(
            e.contains("unknown matcher") && e.contains(hint),
            "{rule}: {e}"
        );
    }
    for rule in [
        "Headers(`X-A`, `1`)",
        "HeadersRegexp(`X-A`, `1`)",
        "HostHeader(`a`)",
        "Host(`a`, `b`)",
        "Query(`a=b`)",
    ] {
        assert!(Rule::parse(rule).is_err(), "{rule} accepted under v3");
        assert!(
            Rule::parse_with(rule, Syntax::V2).is_ok(),
            "{rule} refused under v2"
        );
    }
}

#[test]
fn client_ip_v2() {
    v2(
        "ClientIP(`127.0.0.1`, `192.168.1.0/24`)",
        &[
            (req("a", "/").ip("127.0.0.1"), true),
            (req("a", "/").ip("192.168.1.1"), true),
            (req("a", "/").ip("192.168.2.1"), false),
        ],
    );
    v2(
        "ClientIP(`192.168.1.0/24`)",
        &[
            (req("a", "/").ip("192.168.1.100"), true),
            (req("a", "/").ip("192.168.2.1"), false),
        ],
    );
}

#[test]
fn method_v2() {
    v2(
        "Method(`GET`, `POST`)",
        &[
            (req("a", "/").method("GET"), true),
            (req("a", "/").method("POST"), true),
            (req("a", "/").method("PUT"), false),
        ],
    );
    v2(
        "Method(`get`)",
        &[
            (req("a", "/").method("GET"), true),
            (req("a", "/").method("POST"), false),
        ],
    );
}

#[test]
fn host_v2() {
    v2(
        "Host(`example.com`, `example.org`)",
        &[
            (req("example.com", "/"), true),
            (req("example.org", "/path"), true),
            (req("example.net", "/"), false),
        ],
    );
    v2(
        "Host(`example.com.`)",
        &[
            (req("example.com", "/"), true),
            (req("example.com.", "/"), true),
            (req("example.org.", "/"), false),
        ],
    );
    v2(
        "Host(`example.com`)",
        &[
            (req("example.com.", "/"), true),
            (req("example.org.", "/"), false),
        ],
    );
    v2("Host(`EXAMPLE.COM`)", &[(req("example.com", "/"), true)]);
    v2(
        "Host(`xn--9t9h.com`)",
        &[
            (req("xn--9t9h.com", "/"), true),
            (req("example.com", "/"), false),
        ],
    );
    // No wildcards in v2: `*.example.com` is a name like any other.
    v2(
        "Host(`*.example.com`)",
        &[
            (req("a.example.com", "/"), false),
            (req("*.example.com", "/"), true),
        ],
    );
    v2(
        "HostHeader(`example.com`)",
        &[(req("example.com", "/"), true)],
    );
    v2("Host(`example.com`)", &[(req("", "/"), false)]);
}

#[test]
fn host_regexp_v2() {
    // A template without variables is literal text: Traefik accepts `(example.com`.
    v2(
        "HostRegexp(`(example.com`)",
        &[
            (req("example.com", "/"), false),
            (req("(example.com", "/"), true),
        ],
    );
    v2(
        "HostRegexp(`example.com`, `example.org`)",
        &[
            (req("example.com", "/"), true),
            (req("example.org", "/path"), true),
            (req("exampleXcom", "/"), false),
            (req("www.example.com", "/"), false),
        ],
    );
    v2(
        "HostRegexp(`^[A-Z]+\\.com$`)",
        &[(req("example.com", "/"), false)],
    );
    v2(
        "HostRegexp(`{domain:[a-zA-Z-]+\\.com}`)",
        &[
            (req("example.com", "/"), true),
            (req("example.org", "/"), false),
        ],
    );
    // Traefik's TestHostRegexp (v2 rows).
    v2(
        "HostRegexp(`{subdomain:(foo\\.)?bar\\.com}`)",
        &[
            (req("foo.bar.com", "/"), true),
            (req("bar.com", "/"), true),
            (req("fooubar.com", "/"), false),
            (req("barucom", "/"), false),
        ],
    );
    v2(
        "HostRegexp(`{subdomain:[a-z]+}.bar.com`)",
        &[
            (req("foo.bar.com", "/"), true),
            (req("bar.com", "/"), false),
        ],
    );
    v2(
        "HostRegexp(`{sub}.example.com`)",
        &[
            (req("api.example.com", "/"), true),
            (req("a.b.example.com", "/"), false),
        ],
    );
}

#[test]
fn path_v2() {
    v2(
        "Path(`/css`, `/js`)",
        &[
            (req("a", "/"), false),
            (req("a", "/html"), false),
            (req("a", "/css"), true),
            (req("a", "/css/"), false),
            (req("a", "/css/main.css"), false),
            (req("a", "/js"), true),
            (req("a", "/js/main.js"), false),
        ],
    );
    v2(
        "Path(`/css{path:(/.*)?}`)",
        &[
            (req("a", "/"), false),
            (req("a", "/css/main.css"), true),
            (req("a", "/css/components/component.css"), true),
            (req("a", "/css.css"), false),
            (req("a", "/js/main.js"), false),
        ],
    );
    v2(
        "Path(`/user/{id:[0-9]+}`)",
        &[(req("a", "/user/42"), true), (req("a", "/user/x"), false)],
    );
    v2(
        "Path(`/user/{id}`)",
        &[(req("a", "/user/x"), true), (req("a", "/user/x/y"), false)],
    );
    v2(
        "Path(`/a.b`)",
        &[(req("a", "/a.b"), true), (req("a", "/aXb"), false)],
    );
}

#[test]
fn path_prefix_v2() {
    v2(
        "PathPrefix(`/css`, `/js`)",
        &[
            (req("a", "/"), false),
            (req("a", "/html"), false),
            (req("a", "/css"), true),
            (req("a", "/css/"), true),
            (req("a", "/css/main.css"), true),
            (req("a", "/js/"), true),
            (req("a", "/js/main.js"), true),
        ],
    );
    v2(
        "PathPrefix(\"/css\")",
        &[
            (req("a", "/css/main.css"), true),
            (req("a", "/html"), false),
        ],
    );
    v2(
        "PathPrefix(`/css-{name:[0-9]?}`)",
        &[
            (req("a", "/"), false),
            (req("a", "/css-1/main.css"), true),
            (req("a", "/css-222/main.css"), true),
            (req("a", "/css-333333/components/component.css"), true),
            (req("a", "/css.css"), false),
            (req("a", "/js/main.js"), false),
        ],
    );
}

#[test]
fn headers_v2() {
    for rule in [
        "Headers(`X-Forwarded-Proto`, `https`)",
        "Headers(`x-forwarded-proto`, `https`)",
    ] {
        v2(
            rule,
            &[
                (req("a", "/").header("X-Forwarded-Proto", "https"), true),
                (
                    req("a", "/")
                        .header("X-Forwarded-Proto", "http")
                        .header("X-Forwarded-Proto", "https"),
                    true,
                ),
                (
                    req("a", "/")
                        .header("X-Forwarded-Proto", "https")
                        .header("X-Forwarded-Proto", "http"),
                    true,
                ),
                (
                    req("a", "/").header("X-Forwarded-Host", "example.com"),
                    false,
                ),
            ],
        );
    }
    // Several pairs: all must hold.
    v2(
        "Headers(`X-A`, `1`, `X-B`, `2`)",
        &[
            (req("a", "/").header("X-A", "1").header("X-B", "2"), true),
            (req("a", "/").header("X-A", "1"), false),
        ],
    );
    // A repeated key: the last pair counts (gorilla/mux keeps them in a map).
    v2(
        "Headers(`X-A`, `1`, `x-a`, `2`)",
        &[
            (req("a", "/").header("X-A", "2"), true),
            (req("a", "/").header("X-A", "1"), false),
        ],
    );
}

#[test]
fn headers_regexp_v2() {
    for rule in [
        "HeadersRegexp(`X-Forwarded-Proto`, `^https?$`)",
        "HeadersRegexp(`x-forwarded-proto`, `^https?$`)",
    ] {
        v2(
            rule,
            &[
                (req("a", "/").header("X-Forwarded-Proto", "http"), true),
                (req("a", "/").header("X-Forwarded-Proto", "https"), true),
                (req("a", "/").header("X-Forwarded-Proto", "HTTPS"), false),
                (
                    req("a", "/")
                        .header("X-Forwarded-Proto", "ws")
                        .header("X-Forwarded-Proto", "https"),
                    true,
                ),
                (
                    req("a", "/").header("X-Forwarded-Host", "example.com"),
                    false,
                ),
            ],
        );
    }
    // A header value is a plain Go regexp, not a template: the braces are literal.
    v2(
        "HeadersRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)",
        &[
            (req("a", "/").header("X-Forwarded-Proto", "http"), false),
            (req("a", "/").header("X-Forwarded-Proto", "https"), false),
            (
                req("a", "/").header("X-Forwarded-Proto", "http{secure:}"),
                true,
            ),
            (
                req("a", "/").header("X-Forwarded-Proto", "http{secure:s}"),
                true,
            ),
            (
                req("a", "/").header("X-Forwarded-Proto", "http{secure:S}"),
                false,
            ),
        ],
    );
}

#[test]
fn query_v2() {
    v2(
        "Query(`foo=bar`)",
        &[
            (req("a", "/").query("foo=bar"), true),
            (req("a", "/").query("foo=baz"), false),
            (req("a", "/").query("fii=bar"), false),
            (req("a", "/").query("foo=bar&foo=baz"), true),
            // Only the first value of the key counts.
            (req("a", "/").query("foo=baz&foo=bar"), false),
            (req("a", "/").query("foo=b%61r"), true),
            (req("a", "/"), false),
        ],
    );
    v2(
        "Query(`foo=`)",
        &[
            (req("a", "/").query("foo=bar"), true),
            (req("a", "/").query("foo"), true),
            (req("a", "/").query("bar=foo"), false),
        ],
    );
    v2(
        "Query(`foo=bar`, `bar=baz`)",
        &[
            (req("a", "/").query("foo=bar&bar=baz"), true),
            (req("a", "/").query("foo=bar"), false),
        ],
    );
    v2(
        "Query(`foo={v:[0-9]+}`)",
        &[
            (req("a", "/").query("foo=12"), true),
            (req("a", "/").query("foo=1x"), false),
        ],
    );
    // Values are split at `=` and paired: Query(`a`, `b`) is Query(`a=b`).
    v2(
        "Query(`foo`, `bar`)",
        &[
            (req("a", "/").query("foo=bar"), true),
            (req("a", "/").query("foo"), false),
        ],
    );
}

#[test]
fn v2_operators_and_names() {
    v2(
        "host(`a.com`) && !PATHPREFIX(`/admin`) || Pathprefix(`/public`)",
        &[
            (req("a.com", "/x"), true),
            (req("a.com", "/admin/x"), false),
            (req("b.com", "/public/x"), true),
        ],
    );
}

#[test]
fn v2_host_names_feed_acme() {
    let rule = Rule::parse_with(
        "Host(`A.example.com`, `b.example.com.`) && !Host(`c.example.com`)",
        Syntax::V2,
    )
    .unwrap();
    assert_eq!(rule.host_names(), vec!["a.example.com", "b.example.com"]);
}

#[test]
fn syntax_option_values() {
    assert_eq!(Syntax::from_option("v2"), Ok(Some(Syntax::V2)));
    assert_eq!(Syntax::from_option("v3"), Ok(Some(Syntax::V3)));
    assert_eq!(Syntax::from_option("default"), Ok(None));
    assert_eq!(Syntax::from_option(""), Ok(None));
    assert!(Syntax::from_option("V2").is_err());
}
