//! redirectScheme and redirectRegex.

use serde_json::json;

use super::{compile, ctx, req, responded, values};
use crate::middleware::{Flow, MiddlewareError};

/// Runs `cfg`; returns `Some((status, Location))` for a redirect, `None` for Continue.
fn run(
    cfg: serde_json::Value,
    method: &str,
    uri: &str,
    host: &str,
    tls: bool,
) -> Option<(u16, String)> {
    let m = compile(cfg).unwrap();
    let mut r = req(method, uri, &[("host", host)]);
    match m.on_request(&mut r, &ctx(tls)) {
        Flow::Continue => None,
        flow => {
            let resp = responded(flow);
            Some((resp.status().as_u16(), values(resp.headers(), "location")))
        }
    }
}

#[test]
fn redirect_scheme_table() {
    let https = json!({"redirectScheme": {"scheme": "https"}});
    let https_perm = json!({"redirectScheme": {"scheme": "https", "permanent": true}});
    let https_8443 = json!({"redirectScheme": {"scheme": "https", "port": "8443"}});
    let https_443 = json!({"redirectScheme": {"scheme": "https", "port": "443"}});
    let http = json!({"redirectScheme": {"scheme": "http", "permanent": true}});
    let loc = |s: &str| s.to_string();
    let cases = [
        (
            &https,
            "GET",
            "/a?b=c",
            "example.com",
            false,
            Some((302, loc("https://example.com/a?b=c"))),
        ),
        (
            &https,
            "POST",
            "/a",
            "example.com",
            false,
            Some((307, loc("https://example.com/a"))),
        ),
        (
            &https,
            "HEAD",
            "/a",
            "example.com",
            false,
            Some((307, loc("https://example.com/a"))),
        ),
        (
            &https_perm,
            "GET",
            "/",
            "example.com:80",
            false,
            Some((301, loc("https://example.com/"))),
        ),
        (
            &https_perm,
            "PUT",
            "/x",
            "example.com",
            false,
            Some((308, loc("https://example.com/x"))),
        ),
        (
            &https_8443,
            "GET",
            "/x",
            "example.com:8080",
            false,
            Some((302, loc("https://example.com:8443/x"))),
        ),
        (
            &https_443,
            "GET",
            "/x",
            "example.com:8080",
            false,
            Some((302, loc("https://example.com/x"))),
        ),
        (
            &https,
            "GET",
            "/x",
            "[::1]:8080",
            false,
            Some((302, loc("https://[::1]/x"))),
        ),
        (&https, "GET", "/x", "example.com", true, None), // already https
        (&https, "GET", "/x", "example.com:443", true, None), // default port is no difference
        (
            &https,
            "GET",
            "/x",
            "example.com:8443",
            true,
            Some((302, loc("https://example.com/x"))),
        ), // port differs
        (&https_8443, "GET", "/x", "example.com:8443", true, None),
        (
            &https,
            "GET",
            "/x",
            "example.com:8080",
            false,
            Some((302, loc("https://example.com/x"))),
        ),
        (&http, "GET", "/x", "example.com", false, None),
        (
            &http,
            "GET",
            "/x",
            "example.com:443",
            true,
            Some((301, loc("http://example.com/x"))),
        ),
    ];
    for (cfg, method, uri, host, tls, want) in cases {
        assert_eq!(
            run(cfg.clone(), method, uri, host, tls),
            want,
            "{cfg} {method} {host}{uri}"
        );
    }
}

#[test]
fn redirect_regex_table() {
    let cfg = json!({"redirectRegex": {
        "regex": "^http://localhost/(.*)",
        "replacement": "http://mydomain/${1}"
    }});
    let perm = json!({"redirectRegex": {
        "regex": "^https?://([^/]+)/old/(.*)",
        "replacement": "https://$1/new/$2",
        "permanent": true
    }});
    let identity = json!({"redirectRegex": {"regex": "^(.*)$", "replacement": "$1"}});
    let s = |s: &str| s.to_string();
    let cases = [
        (
            &cfg,
            "GET",
            "/foo?x=1",
            "localhost",
            false,
            Some((302, s("http://mydomain/foo?x=1"))),
        ),
        (
            &cfg,
            "POST",
            "/foo",
            "localhost",
            false,
            Some((307, s("http://mydomain/foo"))),
        ),
        (&cfg, "GET", "/foo", "localhost", true, None), // https:// does not match
        (&cfg, "GET", "/foo", "other", false, None),
        (
            &perm,
            "GET",
            "/old/p?q",
            "a.example:8080",
            true,
            Some((301, s("https://a.example:8080/new/p?q"))),
        ),
        (
            &perm,
            "DELETE",
            "/old/p",
            "a.example",
            false,
            Some((308, s("https://a.example/new/p"))),
        ),
        (&identity, "GET", "/x", "h", false, None), // unchanged URL: no redirect loop
    ];
    for (cfg, method, uri, host, tls, want) in cases {
        assert_eq!(
            run(cfg.clone(), method, uri, host, tls),
            want,
            "{cfg} {method} {host}{uri}"
        );
    }
}

#[test]
fn redirect_body_is_status_text() {
    let m = compile(json!({"redirectScheme": {"scheme": "https", "permanent": true}})).unwrap();
    let mut r = req("GET", "/", &[("host", "h")]);
    let resp = responded(m.on_request(&mut r, &ctx(false)));
    assert_eq!(resp.body().as_ref(), b"Moved Permanently");
}

#[test]
fn bad_redirect_configs_are_errors() {
    let cases = [
        (json!({"redirectScheme": {"permanent": true}}), "scheme"),
        (json!({"redirectScheme": {"scheme": "ht tp"}}), "ht tp"),
        (
            json!({"redirectScheme": {"scheme": "https", "port": "99999"}}),
            "99999",
        ),
        (
            json!({"redirectScheme": {"scheme": "https", "port": "abc"}}),
            "abc",
        ),
        (
            json!({"redirectRegex": {"regex": "(", "replacement": "x"}}),
            "regex",
        ),
    ];
    for (cfg, needle) in cases {
        let err = compile(cfg.clone()).unwrap_err();
        assert!(err.to_string().contains(needle), "{cfg}: {err}");
    }
    let err = compile(json!({"redirectRegex": {"regex": "(", "replacement": "x"}})).unwrap_err();
    assert!(matches!(
        err,
        MiddlewareError::Regex {
            option: "regex",
            ..
        }
    ));
}

/// Traefik's redirectRegex answers 502 when Go's `url.Parse` refuses the new URL, and sends a
/// valid one as Go re-encodes it.
#[test]
fn redirect_regex_to_an_invalid_url_is_a_bad_gateway() {
    let to = |replacement: &str| json!({"redirectRegex": {"regex": "^http://([^/]+)/(.*)$", "replacement": replacement}});
    let bad = run(to("http://192.168.0.%31/"), "GET", "/", "foo.com:80", false);
    assert_eq!(bad, Some((502, String::new())));
    let spaced = run(to("http://$1/a b/$2"), "GET", "/x", "foo", false);
    assert_eq!(spaced, Some((302, "http://foo/a%20b/x".to_string())));
}

/// redirectRegex looks at the connection only; redirectScheme takes a trusted
/// `X-Forwarded-Proto` (`ws`/`wss` read as http/https).
#[test]
fn forwarded_proto_counts_for_redirect_scheme_not_redirect_regex() {
    use super::ctx_from;
    let regex = compile(json!({"redirectRegex": {
        "regex": "^https://foo/(.*)", "replacement": "http://foo/$1"
    }}))
    .unwrap();
    let scheme = compile(json!({"redirectScheme": {"scheme": "https"}})).unwrap();
    // A trusted hop says https; the proxy's effective TLS flag says so too.
    let mut c = ctx_from("10.0.0.1:4000", true);
    c.conn_tls = false;
    for proto in ["https", "wss", "WSS"] {
        let mut r = req("GET", "/", &[("host", "foo"), ("x-forwarded-proto", proto)]);
        assert!(
            matches!(regex.on_request(&mut r, &c), Flow::Continue),
            "{proto}"
        );
        assert!(
            matches!(scheme.on_request(&mut r, &c), Flow::Continue),
            "{proto}"
        );
    }
    let c = ctx_from("10.0.0.1:4000", false);
    for proto in ["ws", "http"] {
        let mut r = req("GET", "/", &[("host", "foo"), ("x-forwarded-proto", proto)]);
        let resp = responded(scheme.on_request(&mut r, &c));
        assert_eq!(
            values(resp.headers(), "location"),
            "https://foo/",
            "{proto}"
        );
    }
    // Over TLS redirectRegex sees https whatever the header says.
    let mut r = req(
        "GET",
        "/a",
        &[("host", "foo"), ("x-forwarded-proto", "http")],
    );
    let resp = responded(regex.on_request(&mut r, &ctx(true)));
    assert_eq!(values(resp.headers(), "location"), "http://foo/a");
}
