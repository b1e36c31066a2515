//! stripPrefix, stripPrefixRegex, addPrefix, replacePath, replacePathRegex.

use serde_json::json;

use super::{compile, ctx, req, values};
use crate::middleware::{Flow, MiddlewareError};

/// Runs `cfg` on `uri`; returns (resulting URI, header `hdr` values).
fn run(cfg: serde_json::Value, uri: &str, hdr: &str) -> (String, String) {
    let m = compile(cfg).unwrap();
    let mut r = req("GET", uri, &[]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    (r.uri.to_string(), values(&r.headers, hdr))
}

#[test]
fn strip_prefix_table() {
    let cases = [
        // (prefixes, uri, expected uri, expected X-Forwarded-Prefix)
        (json!(["/api"]), "/api/users?x=1", "/users?x=1", "/api"),
        (json!(["/api"]), "/api", "/", "/api"),
        (json!(["/api"]), "/apiv2/x", "/v2/x", "/api"), // string prefix, as Traefik
        (json!(["/api/"]), "/api/users", "/users", "/api/"),
        (json!(["/foo", "/api"]), "/api/x", "/x", "/api"),
        (json!(["/a", "/a/b"]), "/a/b/c", "/b/c", "/a"), // first match wins, config order
        (json!(["/api"]), "/other", "/other", ""),
        (json!(["/api"]), "/ap", "/ap", ""),
    ];
    for (prefixes, uri, want, prefix) in cases {
        let got = run(
            json!({"stripPrefix": {"prefixes": prefixes}}),
            uri,
            "x-forwarded-prefix",
        );
        assert_eq!(
            got,
            (want.to_string(), prefix.to_string()),
            "{prefixes} {uri}"
        );
    }
}

#[test]
fn strip_prefix_keeps_absolute_form_authority() {
    let (uri, _) = run(
        json!({"stripPrefix": {"prefixes": ["/api"]}}),
        "http://example.com/api/x?q",
        "x-forwarded-prefix",
    );
    assert_eq!(uri, "http://example.com/x?q");
}

#[test]
fn strip_prefix_regex_table() {
    let cases = [
        (
            json!(["/foo/[a-z0-9]+/[0-9]+/"]),
            "/foo/abc/123/bar?q=1",
            "/bar?q=1",
            "/foo/abc/123/",
        ),
        (json!(["/v[0-9]+"]), "/v12/items", "/items", "/v12"),
        (json!(["/v[0-9]+"]), "/x/v12/items", "/x/v12/items", ""), // must match at the start
        (json!(["/nomatch", "/b"]), "/b/c", "/c", "/b"),
        (json!(["/api"]), "/api", "/", "/api"),
    ];
    for (regex, uri, want, prefix) in cases {
        let got = run(
            json!({"stripPrefixRegex": {"regex": regex}}),
            uri,
            "x-forwarded-prefix",
        );
        assert_eq!(got, (want.to_string(), prefix.to_string()), "{regex} {uri}");
    }
}

#[test]
fn add_prefix_table() {
    let cases = [
        ("/foo", "/bar?x=y", "/foo/bar?x=y"),
        ("/foo", "/", "/foo/"),
        ("foo", "/bar", "/foo/bar"), // result always starts with '/'
    ];
    for (prefix, uri, want) in cases {
        let (got, _) = run(json!({"addPrefix": {"prefix": prefix}}), uri, "x");
        assert_eq!(got, want, "{prefix} {uri}");
    }
}

#[test]
fn replace_path_table() {
    let cases = [
        ("/foo", "/bar/baz?x=1", "/foo?x=1", "/bar/baz"),
        ("/", "/a", "/", "/a"),
        ("/enc%20oded", "/a%2Fb", "/enc%20oded", "/a%2Fb"),
    ];
    for (path, uri, want, old) in cases {
        let got = run(
            json!({"replacePath": {"path": path}}),
            uri,
            "x-replaced-path",
        );
        assert_eq!(got, (want.to_string(), old.to_string()), "{path} {uri}");
    }
}

#[test]
fn replace_path_regex_table() {
    let cases = [
        (
            "^/foo/(.*)",
            "/bar/$1",
            "/foo/baz?q=1",
            "/bar/baz?q=1",
            "/foo/baz",
        ),
        (
            "^/(?P<a>[a-z]+)/(?P<b>[0-9]+)",
            "/${b}/${a}",
            "/abc/42",
            "/42/abc",
            "/abc/42",
        ),
        ("^/foo/(.*)", "/bar/$1", "/other", "/other", ""), // no match: untouched
        // Traefik trims the replacement and replaces even with an empty one.
        (
            "/whoami",
            "",
            "/whoami/and/whoami",
            "/and",
            "/whoami/and/whoami",
        ),
        (
            "/whoami",
            " ",
            "/whoami/and/whoami",
            "/and",
            "/whoami/and/whoami",
        ),
        ("^/foo/(.*)", "", "/foo/x", "/", "/foo/x"),
    ];
    for (regex, replacement, uri, want, old) in cases {
        let cfg = json!({"replacePathRegex": {"regex": regex, "replacement": replacement}});
        let got = run(cfg, uri, "x-replaced-path");
        assert_eq!(got, (want.to_string(), old.to_string()), "{regex} {uri}");
    }
}

/// Runs `cfg` on `uri` and returns the status it answered with, if it answered.
fn refused(cfg: serde_json::Value, uri: &str) -> Option<http::StatusCode> {
    let m = compile(cfg).unwrap();
    let mut r = req("GET", uri, &[]);
    match m.on_request(&mut r, &ctx(false)) {
        Flow::Continue => None,
        flow => Some(super::responded(flow).status()),
    }
}

/// Issue 16 point 1: a rewrite leaving `.`/`..` segments or a duplicate slash is refused (400)
/// as Traefik refuses it (its sanitised path differs from the rewritten one), so the backend
/// never sees a traversal.
#[test]
fn rewrites_leaving_dot_segments_are_refused() {
    let bad = http::StatusCode::BAD_REQUEST;
    let cases = [
        (
            json!({"stripPrefix": {"prefixes": ["/api."]}}),
            "/api../foo",
            Some(bad),
        ),
        (
            json!({"stripPrefix": {"prefixes": ["/api"]}}),
            "/api./foo",
            Some(bad),
        ),
        (
            json!({"stripPrefix": {"prefixes": ["/api"]}}),
            "/api../foo",
            Some(bad),
        ),
        (
            json!({"stripPrefix": {"prefixes": ["/api"]}}),
            "/api/x/..",
            Some(bad),
        ),
        (
            json!({"stripPrefix": {"prefixes": ["/api"], "forceSlash": true}}),
            "/api../foo",
            Some(bad),
        ),
        (
            json!({"stripPrefix": {"prefixes": ["/a"]}}),
            "/a//x",
            Some(bad),
        ),
        (
            json!({"stripPrefix": {"prefixes": ["/api"]}}),
            "/api.v2/x",
            None,
        ),
        (json!({"stripPrefix": {"prefixes": ["/api"]}}), "/api", None),
        (
            json!({"stripPrefixRegex": {"regex": ["/api"]}}),
            "/api./foo",
            Some(bad),
        ),
        (
            json!({"stripPrefixRegex": {"regex": ["/api"]}}),
            "/api../foo",
            Some(bad),
        ),
        (
            json!({"replacePathRegex": {"regex": "^/r(.*)", "replacement": "/$1"}}),
            "/r..",
            Some(bad),
        ),
        (
            json!({"replacePathRegex": {"regex": "^/r(.*)", "replacement": "/$1"}}),
            "/r./x",
            Some(bad),
        ),
        (
            json!({"replacePathRegex": {"regex": "^/foo(.*)", "replacement": "/x$1"}}),
            "/foo/bar",
            None,
        ),
    ];
    for (cfg, uri, want) in cases {
        assert_eq!(refused(cfg.clone(), uri), want, "{cfg} {uri}");
    }
}

#[test]
fn unchanged_request_is_untouched() {
    let m = compile(json!({"stripPrefix": {"prefixes": ["/api"]}})).unwrap();
    let mut r = req(
        "GET",
        "/static/app.js?v=1",
        &[("x-forwarded-prefix", "/keep")],
    );
    let before = r.uri.clone();
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    assert_eq!(r.uri, before);
    assert_eq!(values(&r.headers, "x-forwarded-prefix"), "/keep");
}

#[test]
fn bad_path_configs_are_errors() {
    let cases = [
        (json!({"stripPrefix": {"prefixes": []}}), "prefixes"),
        (
            json!({"stripPrefixRegex": {"regex": ["/(unclosed"]}}),
            "/(unclosed",
        ),
        (json!({"stripPrefixRegex": {"regex": []}}), "regex"),
        (json!({"addPrefix": {"prefix": ""}}), "prefix"),
        (json!({"addPrefix": {"prefix": "/a b"}}), "/a b"),
        (json!({"replacePath": {"path": "/a?b"}}), "/a?b"),
        (
            json!({"replacePathRegex": {"regex": "[", "replacement": "/x"}}),
            "[",
        ),
    ];
    for (cfg, needle) in cases {
        let err = compile(cfg.clone()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(needle), "{cfg}: {msg}");
        if needle.starts_with('[') || needle.starts_with("/(") {
            assert!(
                matches!(err, MiddlewareError::Regex { .. }),
                "{cfg}: {err:?}"
            );
        }
    }
}

/// Issue 16 point 3: stripPrefix and stripPrefixRegex match the decoded path (Go's `URL.Path`)
/// and forward the escaped rest as Traefik does; replacePathRegex matches the escaped path.
/// (uri, forwarded uri, X-Forwarded-Prefix / X-Replaced-Path)
#[test]
fn rewrites_see_encoded_characters_as_traefik() {
    let strip = |prefixes: serde_json::Value| json!({"stripPrefix": {"prefixes": prefixes}});
    let regex = |r: &str| json!({"stripPrefixRegex": {"regex": [r]}});
    let cases = [
        // The decoded `/api/x` starts with `/api`; Go would forward `/x` (its raw rest `/%2Fx`
        // does not decode to `/x`): swarmgate keeps the `%2F` encoded (deliberate).
        (strip(json!(["/api"])), "/api%2Fx", "/%2Fx", "/api"),
        (
            strip(json!(["/api"])),
            "/api%2F..%2Fadmin",
            "/%2F..%2Fadmin",
            "/api",
        ),
        (strip(json!(["/stat/"])), "/stat/a%2Fb", "/a%2Fb", "/stat/"),
        (strip(json!(["/api"])), "/api/%2F..", "/%2F..", "/api"),
        (
            strip(json!(["/api"])),
            "/api/a%5Cb%00%3B%25%3F%23",
            "/a%5Cb%00%3B%25%3F%23",
            "/api",
        ),
        (strip(json!(["/a b"])), "/a%20b/c", "/c", "/a b"),
        (strip(json!(["/a/b"])), "/a%2Fb/c", "/c", "/a/b"),
        (
            json!({"stripPrefix": {"prefixes": ["/api"], "forceSlash": true}}),
            "/api%2Fx",
            "/%2Fx",
            "/api",
        ),
        (regex("/t /test"), "/t%20/test/a%2Fb", "/a%2Fb", "/t /test"),
        (regex("/t/test"), "/t%2F/test/foo", "/t%2F/test/foo", ""),
        (regex("/a/api/"), "/a/api/a%2Fb", "/a%2Fb", "/a/api/"),
    ];
    for (cfg, uri, want, prefix) in cases {
        let got = run(cfg.clone(), uri, "x-forwarded-prefix");
        assert_eq!(got, (want.to_string(), prefix.to_string()), "{cfg} {uri}");
    }
    let replace = |r: &str, by: &str| json!({"replacePathRegex": {"regex": r, "replacement": by}});
    let cases = [
        (
            replace("/aaa%2Fbbb", "/foo/bar"),
            "/aaa%2Fbbb",
            "/foo/bar",
            "/aaa%2Fbbb",
        ),
        (
            replace("/aaa/bbb", "/foo/bar"),
            "/aaa%2Fbbb",
            "/aaa%2Fbbb",
            "",
        ),
        (
            replace("^/r(.*)", "$1"),
            "/r%2F..%2Fx",
            "/%2F..%2Fx",
            "/r%2F..%2Fx",
        ),
        (replace("^/(.*)", "/x/$1"), "/a%20b", "/x/a%20b", "/a%20b"),
        // Bytes Go escapes are encoded in place; the `%2F` stays encoded.
        (
            replace("^/r(.*)", "/x y$1"),
            "/r%2F..%2Fz",
            "/x%20y%2F..%2Fz",
            "/r%2F..%2Fz",
        ),
    ];
    for (cfg, uri, want, old) in cases {
        let got = run(cfg.clone(), uri, "x-replaced-path");
        assert_eq!(got, (want.to_string(), old.to_string()), "{cfg} {uri}");
    }
    // A replacement Go cannot unescape is a 500, as Traefik's.
    assert_eq!(
        refused(replace("^/(.*)", "/%zz"), "/a"),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
}

#[test]
fn encoded_characters_middleware_allows_only_what_it_names() {
    let cfg = json!({"encodedCharacters": {"allowEncodedSlash": true}});
    assert_eq!(refused(cfg.clone(), "/a%2Fb"), None);
    assert_eq!(refused(cfg.clone(), "/a/b"), None);
    for path in [
        "/a%5Cb", "/a%00b", "/a%3Bb", "/a%25b", "/a%3Fb", "/a%23b", "/a%3bb",
    ] {
        assert_eq!(
            refused(cfg.clone(), path),
            Some(http::StatusCode::BAD_REQUEST),
            "{path}"
        );
    }
}
