//! headers: custom headers, security headers, CORS.

use serde_json::json;

use super::{compile, ctx, req, resp, responded, values};
use crate::middleware::{Flow, Middleware, MiddlewareError, RequestFacts};

fn response_of(
    m: &Middleware,
    origin: Option<&str>,
    tls: bool,
    upstream: &[(&str, &str)],
) -> http::HeaderMap {
    let facts = RequestFacts {
        origin: origin.map(|o| http::HeaderValue::from_str(o).unwrap()),
    };
    let mut r = resp(upstream);
    m.on_response_with(&mut r, &facts, &ctx(tls));
    r.headers
}

#[test]
fn custom_request_headers_set_and_remove() {
    let m = compile(json!({"headers": {"customRequestHeaders": {
        "X-Script-Name": "test",
        "X-Custom-Request-Header": "",
        "X-Multi": "one"
    }}}))
    .unwrap();
    let mut r = req(
        "GET",
        "/",
        &[
            ("x-custom-request-header", "gone"),
            ("x-multi", "a"),
            ("x-multi", "b"),
            ("x-other", "kept"),
        ],
    );
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    let cases = [
        ("x-script-name", "test"),
        ("x-custom-request-header", ""),
        ("x-multi", "one"),
        ("x-other", "kept"),
    ];
    for (name, want) in cases {
        assert_eq!(values(&r.headers, name), want, "{name}");
    }
}

#[test]
fn custom_response_headers_set_and_remove() {
    let m = compile(json!({"headers": {"customResponseHeaders": {
        "X-Custom-Response-Header": "value",
        "Server": ""
    }}}))
    .unwrap();
    let h = response_of(
        &m,
        None,
        false,
        &[("server", "nginx"), ("x-custom-response-header", "old")],
    );
    assert_eq!(values(&h, "x-custom-response-header"), "value");
    assert_eq!(values(&h, "server"), "");
}

#[test]
fn security_headers_table() {
    let cases = [
        // (config, tls, header, expected)
        (json!({"frameDeny": true}), false, "x-frame-options", "DENY"),
        (
            json!({"frameDeny": true, "customFrameOptionsValue": "SAMEORIGIN"}),
            false,
            "x-frame-options",
            "SAMEORIGIN",
        ),
        (
            json!({"contentTypeNosniff": true}),
            false,
            "x-content-type-options",
            "nosniff",
        ),
        (
            json!({"browserXssFilter": true}),
            false,
            "x-xss-protection",
            "1; mode=block",
        ),
        (
            json!({"browserXssFilter": true, "customBrowserXSSValue": "0"}),
            false,
            "x-xss-protection",
            "0",
        ),
        (
            json!({"contentSecurityPolicy": "default-src 'self'"}),
            false,
            "content-security-policy",
            "default-src 'self'",
        ),
        (
            json!({"contentSecurityPolicyReportOnly": "img-src *"}),
            false,
            "content-security-policy-report-only",
            "img-src *",
        ),
        (
            json!({"referrerPolicy": "no-referrer"}),
            false,
            "referrer-policy",
            "no-referrer",
        ),
        (
            json!({"permissionsPolicy": "camera=()"}),
            false,
            "permissions-policy",
            "camera=()",
        ),
        (
            json!({"stsSeconds": 31536000}),
            true,
            "strict-transport-security",
            "max-age=31536000",
        ),
        (
            json!({"stsSeconds": 31536000}),
            false,
            "strict-transport-security",
            "",
        ), // not on plain http
        (
            json!({"stsSeconds": 60, "forceSTSHeader": true}),
            false,
            "strict-transport-security",
            "max-age=60",
        ),
        (
            json!({"stsSeconds": 60, "stsIncludeSubdomains": true, "stsPreload": true}),
            true,
            "strict-transport-security",
            "max-age=60; includeSubDomains; preload",
        ),
        (
            json!({"stsSeconds": 60, "isDevelopment": true}),
            true,
            "strict-transport-security",
            "",
        ),
        (json!({"frameDeny": false}), false, "x-frame-options", ""),
    ];
    for (cfg, tls, header, want) in cases {
        let m = compile(json!({"headers": cfg})).unwrap();
        let h = response_of(&m, None, tls, &[]);
        assert_eq!(values(&h, header), want, "{cfg} tls={tls}");
    }
}

#[test]
fn custom_response_header_overrides_security_header() {
    let m = compile(json!({"headers": {"frameDeny": true, "customResponseHeaders": {"X-Frame-Options": "SAMEORIGIN"}}})).unwrap();
    assert_eq!(
        values(&response_of(&m, None, false, &[]), "x-frame-options"),
        "SAMEORIGIN"
    );
}

#[test]
fn allowed_hosts() {
    let m = compile(json!({"headers": {"allowedHosts": ["example.com"], "hostsProxyHeaders": ["X-Forwarded-Host"]}})).unwrap();
    let cases = [
        (vec![("host", "example.com")], true),
        (vec![("host", "EXAMPLE.com")], true),
        (vec![("host", "evil.com")], false),
        (
            vec![("host", "evil.com"), ("x-forwarded-host", "example.com")],
            true,
        ),
        (
            vec![("host", "example.com"), ("x-forwarded-host", "evil.com")],
            false,
        ),
    ];
    for (headers, ok) in cases {
        let mut r = req("GET", "/", &headers);
        match m.on_request(&mut r, &ctx(false)) {
            Flow::Continue => assert!(ok, "{headers:?}"),
            flow => {
                assert!(!ok, "{headers:?}");
                let resp = responded(flow);
                assert_eq!(resp.status(), 500);
                assert_eq!(values(resp.headers(), "x-content-type-options"), "nosniff");
                assert_eq!(resp.body().as_ref(), b"Bad Host\n");
            }
        }
    }
}

fn cors() -> Middleware {
    compile(json!({"headers": {
        "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
        "accessControlAllowHeaders": ["Content-Type", "X-Token"],
        "accessControlAllowOriginList": ["https://foo.bar.org", "https://example.org"],
        "accessControlAllowOriginListRegex": ["^https://([a-z]+)\\.example\\.com$"],
        "accessControlExposeHeaders": ["X-Total"],
        "accessControlAllowCredentials": true,
        "accessControlMaxAge": 100,
        "addVaryHeader": true
    }}))
    .unwrap()
}

#[test]
fn cors_preflight_is_answered() {
    let m = cors();
    let cases = [
        ("https://foo.bar.org", "https://foo.bar.org"),
        ("https://api.example.com", "https://api.example.com"),
        ("https://evil.org", ""), // not allowed: no Access-Control-Allow-Origin
    ];
    for (origin, allow) in cases {
        let mut r = req(
            "OPTIONS",
            "/x",
            &[("origin", origin), ("access-control-request-method", "PUT")],
        );
        let resp = responded(m.on_request(&mut r, &ctx(false)));
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(values(h, "access-control-allow-origin"), allow, "{origin}");
        assert_eq!(values(h, "access-control-allow-methods"), "GET,OPTIONS,PUT");
        assert_eq!(
            values(h, "access-control-allow-headers"),
            "Content-Type,X-Token"
        );
        assert_eq!(values(h, "access-control-allow-credentials"), "true");
        assert_eq!(values(h, "access-control-max-age"), "100");
    }
}

#[test]
fn cors_non_preflight_is_forwarded() {
    let m = cors();
    let cases = [
        ("OPTIONS", vec![("origin", "https://foo.bar.org")]), // no Access-Control-Request-Method
        ("OPTIONS", vec![("access-control-request-method", "GET")]), // no Origin
        (
            "GET",
            vec![
                ("origin", "https://foo.bar.org"),
                ("access-control-request-method", "GET"),
            ],
        ),
    ];
    for (method, headers) in cases {
        let mut r = req(method, "/", &headers);
        assert!(
            matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue),
            "{method} {headers:?}"
        );
    }
}

#[test]
fn cors_response_headers() {
    let m = cors();
    let cases = [
        (
            Some("https://example.org"),
            vec![],
            "https://example.org",
            "Origin",
        ),
        (Some("https://evil.org"), vec![], "", "Origin"),
        (
            None,
            vec![("vary", "Accept-Encoding")],
            "",
            "Accept-Encoding,Origin",
        ),
        (
            Some("https://a.example.com"),
            vec![("vary", "Origin")],
            "https://a.example.com",
            "Origin",
        ),
    ];
    for (origin, upstream, allow, vary) in cases {
        let h = response_of(&m, origin, false, &upstream);
        assert_eq!(
            values(&h, "access-control-allow-origin"),
            allow,
            "{origin:?}"
        );
        assert_eq!(values(&h, "vary"), vary, "{origin:?}");
        assert_eq!(values(&h, "access-control-allow-credentials"), "true");
        assert_eq!(values(&h, "access-control-expose-headers"), "X-Total");
    }
}

#[test]
fn cors_wildcard_origin() {
    let m = compile(json!({"headers": {"accessControlAllowOriginList": ["*"]}})).unwrap();
    for origin in [Some("https://any.where"), None] {
        let h = response_of(&m, origin, false, &[]);
        assert_eq!(values(&h, "access-control-allow-origin"), "*");
        assert_eq!(values(&h, "vary"), "");
    }
    // Without request facts only `*` can be answered.
    let mut r = resp(&[]);
    m.on_response(&mut r, &ctx(false));
    assert_eq!(values(&r.headers, "access-control-allow-origin"), "*");
}

/// With credentials a browser refuses every `*`: Traefik 3.7 then echoes the origin, the
/// requested method and headers, and sends no `Access-Control-Expose-Headers: *`.
#[test]
fn cors_with_credentials_answers_no_wildcard() {
    let m = compile(json!({"headers": {
        "accessControlAllowCredentials": true,
        "accessControlAllowOriginList": ["*"],
        "accessControlAllowMethods": ["*"],
        "accessControlAllowHeaders": ["*"],
        "accessControlExposeHeaders": ["*"]
    }}))
    .unwrap();
    let mut r = req(
        "OPTIONS",
        "/x",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-a, x-b"),
        ],
    );
    let resp = responded(m.on_request(&mut r, &ctx(false)));
    let h = resp.headers();
    assert_eq!(
        values(h, "access-control-allow-origin"),
        "https://app.example"
    );
    assert_eq!(values(h, "access-control-allow-methods"), "PUT");
    assert_eq!(values(h, "access-control-allow-headers"), "x-a, x-b");
    assert_eq!(values(h, "access-control-allow-credentials"), "true");
    assert_eq!(values(h, "access-control-expose-headers"), "");
    assert_eq!(values(h, "access-control-max-age"), "");
    let h = response_of(&m, Some("https://app.example"), false, &[]);
    assert_eq!(
        values(&h, "access-control-allow-origin"),
        "https://app.example"
    );
    assert_eq!(values(&h, "access-control-expose-headers"), "");
    // Without credentials `*` stays `*`, and expose headers are sent on preflights too.
    let m = compile(json!({"headers": {
        "accessControlAllowOriginList": ["*"],
        "accessControlAllowMethods": ["*"],
        "accessControlExposeHeaders": ["X-Total"],
        "accessControlMaxAge": 0
    }}))
    .unwrap();
    let resp = responded(m.on_request(&mut r, &ctx(false)));
    let h = resp.headers();
    assert_eq!(values(h, "access-control-allow-origin"), "*");
    assert_eq!(values(h, "access-control-allow-methods"), "*");
    assert_eq!(values(h, "access-control-expose-headers"), "X-Total");
    assert_eq!(values(h, "access-control-max-age"), "0");
}

/// customRequestHeaders tell the proxy which forwarded headers they decided (Traefik writes
/// those before its middlewares, so their choice stands there).
#[test]
fn custom_request_headers_decide_forwarded_headers() {
    use crate::middleware::headers::ForwardedOverrides;
    let m = compile(json!({"headers": {"customRequestHeaders": {
        "Host": "example.com",
        "X-Forwarded-For": "",
        "X-Forwarded-Server": "mine"
    }}}))
    .unwrap();
    let mut r = req("GET", "/foo", &[("host", "example.org:8080")]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    assert_eq!(values(&r.headers, "host"), "example.com");
    let decided = r.extensions.get::<ForwardedOverrides>().unwrap();
    assert_eq!(decided.client_host.as_ref().unwrap(), "example.org:8080");
    assert!(decided.omit_for && decided.server && !decided.host && !decided.real_ip);
    // HTTP/2 (or absolute-form): the authority is the host, so it changes too.
    let mut r = req("GET", "https://example.org/foo", &[]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    assert_eq!(r.uri.authority().unwrap().as_str(), "example.com");
    let decided = r.extensions.get::<ForwardedOverrides>().unwrap();
    assert_eq!(decided.client_host.as_ref().unwrap(), "example.org");
    // A middleware that decides none of them leaves no trace.
    let m = compile(json!({"headers": {"customRequestHeaders": {"X-Other": "1"}}})).unwrap();
    let mut r = req("GET", "/", &[("host", "a")]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    assert!(r.extensions.get::<ForwardedOverrides>().is_none());
}

/// As the real Traefik 3.7.15 writes them (Go): line breaks become spaces and the value is
/// trimmed, so a YAML folded block (`contentSecurityPolicy: >`, ending in a newline) works.
#[test]
fn header_values_with_line_breaks_are_written_as_go_writes_them() {
    let m = compile(json!({"headers": {
        "contentSecurityPolicy": "default-src 'self';\nimg-src 'self' data:\n",
        "customResponseHeaders": {"X-Lit": "a\nb  ", "X-Lead": "  lead"},
    }}))
    .unwrap();
    let mut head = resp(&[]);
    m.on_response(&mut head, &ctx(false));
    let get = |n: &str| {
        head.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(
        get("content-security-policy").as_deref(),
        Some("default-src 'self'; img-src 'self' data:")
    );
    assert_eq!(get("x-lit").as_deref(), Some("a b"));
    assert_eq!(get("x-lead").as_deref(), Some("lead"));
}

#[test]
fn bad_headers_configs_are_errors() {
    let cases = [
        (
            json!({"customRequestHeaders": {"Bad Name": "x"}}),
            "Bad Name",
        ),
        (json!({"customRequestHeaders": {"X-A(b)": "x"}}), "X-A(b)"),
        (
            json!({"customResponseHeaders": {"X-Ok": "nul\u{0}byte"}}),
            "nul\\0byte",
        ),
        (
            json!({"accessControlAllowOriginListRegex": ["(unclosed"]}),
            "(unclosed",
        ),
        (json!({"hostsProxyHeaders": ["bad header"]}), "bad header"),
        (json!({"stsSeconds": -1}), "stsSeconds"),
    ];
    for (cfg, needle) in cases {
        let err = compile(json!({"headers": cfg})).unwrap_err();
        assert!(err.to_string().contains(needle), "{cfg}: {err}");
    }
    let err = compile(json!({"headers": {"customRequestHeaders": {"Bad Name": "x"}}})).unwrap_err();
    assert!(matches!(
        err,
        MiddlewareError::HeaderName {
            option: "customRequestHeaders",
            ..
        }
    ));
}
