//! The authentication request's head and what answers do, after Traefik's
//! `pkg/middlewares/auth/forward_test.go`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::{canonical, AuthAnswer, Decision, ForwardAuth};
use crate::config::middleware::ForwardAuthConfig;
use crate::middleware::tests::{ctx_from, req, values};

fn fa(cfg: serde_json::Value) -> ForwardAuth {
    let cfg: ForwardAuthConfig = serde_json::from_value(cfg).unwrap();
    ForwardAuth::compile(&cfg, "test@file", None).unwrap()
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> AuthAnswer {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    AuthAnswer {
        status: StatusCode::from_u16(status).unwrap(),
        headers: h,
        body: Bytes::from(body.to_string()),
    }
}

const SPOOFED: &[(&str, &str)] = &[
    ("host", "app.example:8443"),
    ("x-forwarded-for", "1.2.3.4"),
    ("x-forwarded-uri", "/public"),
    ("x-forwarded-method", "GET"),
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-prefix", "/p"),
    ("authorization", "Bearer t"),
    ("connection", "keep-alive, x-secret"),
    ("x-secret", "s"),
    ("content-length", "3"),
];

#[test]
fn unset_trust_overwrites_the_five_and_keeps_other_forwarded_headers() {
    let m = fa(serde_json::json!({"address": "http://auth:9000/verify?x=1"}));
    let r = req("POST", "/admin?q=1", SPOOFED);
    let head = m.auth_request(&r, &ctx_from("10.0.0.7:5000", false), false);
    assert_eq!(head.method, "GET");
    assert_eq!(head.uri, "/verify?x=1");
    let h = &head.headers;
    assert_eq!(values(h, "host"), "auth:9000");
    assert_eq!(values(h, "x-forwarded-for"), "10.0.0.7");
    assert_eq!(values(h, "x-forwarded-method"), "POST");
    assert_eq!(values(h, "x-forwarded-proto"), "http");
    assert_eq!(values(h, "x-forwarded-host"), "app.example:8443");
    assert_eq!(values(h, "x-forwarded-uri"), "/admin?q=1");
    // Traefik's legacy behaviour: the other X-Forwarded-* pass as the (trusted) client sent them.
    assert_eq!(values(h, "x-forwarded-prefix"), "/p");
    assert_eq!(values(h, "authorization"), "Bearer t");
    // Connection-listed, hop-by-hop and body framing headers never go.
    for gone in ["x-secret", "connection", "content-length"] {
        assert_eq!(values(h, gone), "", "{gone}");
    }
}

#[test]
fn trust_false_drops_every_client_forwarded_header() {
    let m = fa(serde_json::json!({"address": "http://auth/", "trustForwardHeader": false}));
    let r = req("GET", "/admin", SPOOFED);
    let h = m
        .auth_request(&r, &ctx_from("10.0.0.7:5000", true), false)
        .headers;
    assert_eq!(values(&h, "x-forwarded-for"), "10.0.0.7");
    assert_eq!(values(&h, "x-forwarded-uri"), "/admin");
    assert_eq!(values(&h, "x-forwarded-host"), "app.example:8443");
    assert_eq!(values(&h, "x-forwarded-proto"), "https");
    assert_eq!(values(&h, "x-forwarded-port"), "8443");
    assert_eq!(values(&h, "x-forwarded-prefix"), "");
    assert_eq!(values(&h, "x-real-ip"), "");
}

#[test]
fn trust_true_passes_what_a_trusted_peer_sent_and_appends_the_client() {
    let m = fa(serde_json::json!({"address": "http://auth/", "trustForwardHeader": true}));
    let r = req("GET", "/admin", SPOOFED);
    let h = m
        .auth_request(&r, &ctx_from("10.0.0.7:5000", false), false)
        .headers;
    assert_eq!(values(&h, "x-forwarded-for"), "1.2.3.4, 10.0.0.7");
    assert_eq!(values(&h, "x-forwarded-uri"), "/public");
    assert_eq!(values(&h, "x-forwarded-host"), "evil.example");
    // ... but nothing an untrusted peer sent survives (Traefik's entrypoint strips it).
    let h = m
        .auth_request(&r, &ctx_from("10.0.0.7:5000", false), true)
        .headers;
    assert_eq!(values(&h, "x-forwarded-for"), "10.0.0.7");
    assert_eq!(values(&h, "x-forwarded-uri"), "/admin");
    assert_eq!(values(&h, "x-forwarded-host"), "app.example:8443");
    assert_eq!(values(&h, "x-forwarded-method"), "GET");
    // The proxy drops an untrusted client's X-Forwarded-Prefix before the middlewares, so one
    // still there was set by an earlier middleware (stripPrefix) and goes along.
    assert_eq!(values(&h, "x-forwarded-prefix"), "/p");
    assert_eq!(values(&h, "x-real-ip"), "10.0.0.7");
}

#[test]
fn underscore_spellings_of_forwarded_headers_are_dropped_too() {
    let m = fa(serde_json::json!({"address": "http://auth/", "trustForwardHeader": true}));
    let r = req("GET", "/", &[("host", "a"), ("x_forwarded_uri", "/public")]);
    let h = m
        .auth_request(&r, &ctx_from("10.0.0.7:5000", false), true)
        .headers;
    assert_eq!(values(&h, "x_forwarded_uri"), "");
    assert_eq!(values(&h, "x-forwarded-uri"), "/");
}

#[test]
fn auth_request_headers_filter_and_preserve_method() {
    let m = fa(serde_json::json!({
        "address": "http://auth/",
        "authRequestHeaders": ["Authorization", "X-Missing"],
        "preserveRequestMethod": true,
    }));
    let r = req("DELETE", "/x", SPOOFED);
    let head = m.auth_request(&r, &ctx_from("10.0.0.7:5000", false), false);
    assert_eq!(head.method, "DELETE");
    let mut names: Vec<&str> = head.headers.keys().map(|k| k.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "authorization",
            "host",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-method",
            "x-forwarded-proto",
            "x-forwarded-uri"
        ]
    );
}

#[test]
fn a_2xx_copies_the_listed_headers_and_replaces_client_values() {
    let m = fa(serde_json::json!({
        "address": "http://auth/",
        "authResponseHeaders": ["X-Auth-User", "X-Auth-Secret"],
        "authResponseHeadersRegex": "^X-Group-",
    }));
    let mut r = req(
        "GET",
        "/",
        &[
            ("x-auth-user", "mallory"),
            ("x-auth-secret", "forged"),
            ("x-group-a", "forged"),
        ],
    );
    let a = answer(
        200,
        &[
            ("x-auth-user", "bob"),
            ("x-group-b", "admins"),
            ("x-other", "no"),
        ],
        "",
    );
    assert!(matches!(m.decide(&a, &mut r), Decision::Allow { .. }));
    assert_eq!(values(&r.headers, "x-auth-user"), "bob");
    // Listed but absent from the answer: the client's value is removed, not kept.
    assert_eq!(values(&r.headers, "x-auth-secret"), "");
    assert_eq!(values(&r.headers, "x-group-a"), "");
    assert_eq!(values(&r.headers, "x-group-b"), "admins");
    assert_eq!(values(&r.headers, "x-other"), "");
}

#[test]
fn a_non_2xx_is_returned_as_it_is_with_location_made_absolute() {
    let m = fa(serde_json::json!({"address": "http://auth:9000/verify"}));
    let mut r = req("GET", "/", &[]);
    let a = answer(
        302,
        &[
            ("location", "/login?rd=x"),
            ("set-cookie", "csrf=1; Path=/"),
            ("connection", "close"),
        ],
        "go away",
    );
    let Decision::Deny(resp) = m.decide(&a, &mut r) else {
        panic!("allowed")
    };
    assert_eq!(resp.status(), 302);
    assert_eq!(
        values(resp.headers(), "location"),
        "http://auth:9000/login?rd=x"
    );
    assert_eq!(values(resp.headers(), "set-cookie"), "csrf=1; Path=/");
    assert_eq!(values(resp.headers(), "connection"), "");
    assert_eq!(resp.body(), "go away");

    let m = fa(
        serde_json::json!({"address": "http://auth:9000/verify", "preserveLocationHeader": true}),
    );
    let Decision::Deny(resp) = m.decide(&a, &mut r) else {
        panic!("allowed")
    };
    assert_eq!(values(resp.headers(), "location"), "/login?rd=x");

    let a = answer(401, &[("www-authenticate", "Basic realm=\"x\"")], "no");
    let Decision::Deny(resp) = m.decide(&a, &mut r) else {
        panic!("allowed")
    };
    assert_eq!(resp.status(), 401);
    assert_eq!(
        values(resp.headers(), "www-authenticate"),
        "Basic realm=\"x\""
    );
}

#[test]
fn auth_signin_url_redirects_a_401() {
    let m = fa(
        serde_json::json!({"address": "http://auth/", "authSigninURL": "https://login.example/?a=b"}),
    );
    let mut r = req("GET", "/", &[]);
    let Decision::Deny(resp) = m.decide(&answer(401, &[], ""), &mut r) else {
        panic!("allowed")
    };
    assert_eq!(resp.status(), 302);
    assert_eq!(
        values(resp.headers(), "location"),
        "https://login.example/?a=b"
    );
    // A 403 is not redirected.
    let Decision::Deny(resp) = m.decide(&answer(403, &[], ""), &mut r) else {
        panic!("allowed")
    };
    assert_eq!(resp.status(), 403);
}

#[test]
fn auth_cookies_replace_the_services_cookies_of_the_same_name() {
    let m =
        fa(serde_json::json!({"address": "http://auth/", "addAuthCookiesToResponse": ["sess"]}));
    let mut r = req("GET", "/", &[]);
    let a = answer(
        200,
        &[("set-cookie", "sess=new"), ("set-cookie", "other=x")],
        "",
    );
    let Decision::Allow { cookies } = m.decide(&a, &mut r) else {
        panic!("denied")
    };
    assert_eq!(cookies.len(), 1);
    let mut h = HeaderMap::new();
    h.append("set-cookie", "sess=old".parse().unwrap());
    h.append("set-cookie", "app=1".parse().unwrap());
    super::apply_cookies(&mut h, &cookies, &m);
    assert_eq!(values(&h, "set-cookie"), "app=1|sess=new");
}

#[test]
fn user_comes_from_the_header_field_of_the_answer() {
    let m = fa(serde_json::json!({"address": "http://auth/", "headerField": "X-User"}));
    assert_eq!(
        m.user(&answer(200, &[("x-user", "bob")], "")).as_deref(),
        Some("bob")
    );
    assert_eq!(m.user(&answer(200, &[], "")), None);
}

#[test]
fn go_canonical_header_keys() {
    assert_eq!(canonical("x-auth-user"), "X-Auth-User");
    assert_eq!(canonical("www-authenticate"), "Www-Authenticate");
    assert_eq!(canonical("x_forwarded_for"), "X_forwarded_for");
}

#[test]
fn bad_options_are_refused() {
    let bad = |cfg: serde_json::Value| {
        let cfg: ForwardAuthConfig = serde_json::from_value(cfg).unwrap();
        ForwardAuth::compile(&cfg, "x", None)
            .unwrap_err()
            .to_string()
    };
    assert!(bad(serde_json::json!({})).contains("address"));
    assert!(bad(serde_json::json!({"address": "ftp://a"})).contains("address"));
    assert!(
        bad(serde_json::json!({"address": "http://a", "authResponseHeadersRegex": "("}))
            .contains("authResponseHeadersRegex")
    );
    assert!(
        bad(serde_json::json!({"address": "https://a", "tls": {"ca": "/nonexistent/ca.pem"}}))
            .contains("tls.ca")
    );
    assert!(
        bad(serde_json::json!({"address": "https://a", "tls": {"cert": "/x.pem"}}))
            .contains("tls.key")
    );
    let cache = serde_json::json!({"keyHeaders": ["Cookie"], "ttl": "10s"});
    assert!(bad(
        serde_json::json!({"address": "http://a", "forwardBody": true, "authResponseCache": cache})
    )
    .contains("forwardBody"));
    assert!(
        bad(serde_json::json!({"address": "http://a", "authResponseCache": {"ttl": "10s"}}))
            .contains("keyHeaders")
    );
    assert!(bad(
        serde_json::json!({"address": "http://a", "authResponseCache": {"keyHeaders": ["Cookie"]}})
    )
    .contains("ttl"));
}

#[test]
fn cache_keys_on_the_named_headers_and_the_url_and_expires() {
    let m = fa(serde_json::json!({
        "address": "http://auth/",
        "authResponseCache": {"keyHeaders": ["Cookie"], "ttl": "10s", "maxEntries": 2},
    }));
    let cache = m.cache().unwrap();
    let alice = req("GET", "/a", &[("host", "h"), ("cookie", "s=alice")]);
    let bob = req("GET", "/a", &[("host", "h"), ("cookie", "s=bob")]);
    let alice_b = req("GET", "/b", &[("host", "h"), ("cookie", "s=alice")]);
    let anonymous = req("GET", "/a", &[("host", "h")]);
    assert_eq!(cache.key(&anonymous), None, "no key header, never cached");
    let (ka, kb, kab) = (
        cache.key(&alice).unwrap(),
        cache.key(&bob).unwrap(),
        cache.key(&alice_b).unwrap(),
    );
    assert!(ka != kb && ka != kab);
    let now = Instant::now();
    cache.put(ka.clone(), Arc::new(answer(200, &[], "")), now);
    assert!(cache.get(&ka, now).is_some());
    assert!(cache.get(&kb, now).is_none());
    assert!(cache.get(&kab, now).is_none());
    assert!(
        cache.get(&ka, now + Duration::from_secs(11)).is_none(),
        "expired"
    );
    // Denials are not kept unless asked.
    cache.put(kb.clone(), Arc::new(answer(401, &[], "")), now);
    assert!(cache.get(&kb, now).is_none());
    assert_eq!(cache.stats(), (1, 4));
    // The size bound holds.
    for i in 0..100 {
        let r = req("GET", "/", &[("cookie", &format!("s={i}"))]);
        cache.put(cache.key(&r).unwrap(), Arc::new(answer(200, &[], "")), now);
    }
    assert!(cache.len() <= 16, "{}", cache.len());
}

#[test]
fn cache_can_share_answers_across_paths_and_keep_denials_when_asked() {
    let m = fa(serde_json::json!({
        "address": "http://auth/",
        "authResponseCache": {"keyHeaders": ["Authorization"], "ttl": "1m", "cacheDenials": true, "keyIncludesPath": false},
    }));
    let cache = m.cache().unwrap();
    let a = cache
        .key(&req("GET", "/a", &[("authorization", "t")]))
        .unwrap();
    let b = cache
        .key(&req("POST", "/b", &[("authorization", "t")]))
        .unwrap();
    assert_eq!(a, b);
    let now = Instant::now();
    cache.put(a.clone(), Arc::new(answer(403, &[], "")), now);
    assert_eq!(cache.get(&b, now).unwrap().status, 403);
}
