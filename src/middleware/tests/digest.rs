//! digestAuth: Traefik's digest_auth_test.go tables and go-http-auth's nonce rules.

use std::collections::HashMap;
use std::io::Write;

use md5::{Digest, Md5};
use serde_json::json;

use super::{compile, ctx, req, responded, values};
use crate::middleware::{Flow, Middleware, MiddlewareError};

fn md5hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parameters of a `WWW-Authenticate: Digest ...` challenge.
fn challenge_params(value: &str) -> HashMap<String, String> {
    let rest = value.strip_prefix("Digest ").unwrap();
    rest.split(", ")
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

/// Asks `m` for a challenge (a request without credentials) and returns its parameters.
fn challenge(m: &Middleware) -> HashMap<String, String> {
    let resp = responded(m.on_request(&mut req("GET", "/", &[]), &ctx(false)));
    assert_eq!(resp.status(), 401);
    challenge_params(&values(resp.headers(), "www-authenticate"))
}

/// An `Authorization` value as a browser computes it, with HA1 given.
fn answer_ha1(
    c: &HashMap<String, String>,
    user: &str,
    ha1: &str,
    method: &str,
    uri: &str,
    nc: &str,
) -> String {
    let ha2 = md5hex(&format!("{method}:{uri}"));
    let cnonce = "0a4f113b";
    let nonce = &c["nonce"];
    let response = md5hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\", \
         opaque=\"{}\"",
        c["realm"], c["opaque"]
    )
}

fn answer(c: &HashMap<String, String>, user: &str, pass: &str, uri: &str, nc: &str) -> String {
    let ha1 = md5hex(&format!("{user}:{}:{pass}", c["realm"]));
    answer_ha1(c, user, &ha1, "GET", uri, nc)
}

/// Whether `m` lets a request to `uri` with this `Authorization` through.
fn passes(m: &Middleware, uri: &str, authorization: &str) -> bool {
    let mut r = req("GET", uri, &[("authorization", authorization)]);
    matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue)
}

/// One full exchange: challenge, then the answer.
fn logs_in(m: &Middleware, user: &str, pass: &str) -> bool {
    let c = challenge(m);
    passes(m, "/", &answer(&c, user, pass, "/", "00000001"))
}

#[test]
fn the_challenge_is_go_http_auths() {
    let m = compile(
        json!({"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}}),
    )
    .unwrap();
    let resp = responded(m.on_request(&mut req("GET", "/", &[]), &ctx(false)));
    assert_eq!(resp.status(), 401);
    assert_eq!(values(resp.headers(), "content-type"), "text/plain");
    assert_eq!(resp.body().as_ref(), b"401 Unauthorized\n");
    let value = values(resp.headers(), "www-authenticate");
    let c = challenge_params(&value);
    assert_eq!(c["realm"], "traefik");
    assert_eq!(c["nonce"].len(), 16, "{value}");
    assert_eq!(c["opaque"].len(), 16, "{value}");
    assert!(
        value.ends_with(", algorithm=\"MD5\", qop=\"auth\""),
        "{value}"
    );
    // Each challenge has a new nonce, the same opaque.
    let c2 = challenge(&m);
    assert_ne!(c["nonce"], c2["nonce"]);
    assert_eq!(c["opaque"], c2["opaque"]);
}

/// TestDigestAuthError: a line that is not user:realm:hash is an error.
#[test]
fn a_line_without_three_fields_is_an_error() {
    for line in ["test", "a:b", "a:b:c:d"] {
        let err = compile(json!({"digestAuth": {"users": [line]}})).unwrap_err();
        assert!(
            matches!(&err, MiddlewareError::Htpasswd { text, .. } if text == line),
            "{err}"
        );
        assert!(err.to_string().starts_with("digestAuth:"), "{err}");
    }
}

/// TestDigestAuthFail: Basic credentials get the digest challenge.
#[test]
fn basic_credentials_fail() {
    let m = compile(
        json!({"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}}),
    )
    .unwrap();
    assert!(!passes(&m, "/", "Basic dGVzdDp0ZXN0"));
    assert!(logs_in(&m, "test", "test"));
}

/// TestDigestAuthUsersFromFile, all four cases.
#[test]
fn users_from_file_table() {
    struct Case {
        file: &'static str,
        given: &'static [&'static str],
        realm: &'static str,
        expected: &'static [(&'static str, &'static str)],
    }
    let cases = [
        Case {
            file: "test:traefik:a2688e031edb4be6a3797f3882655c05\ntest2:traefik:518845800f9e2bfb1f1f740ec24f074e\n",
            given: &[],
            realm: "",
            expected: &[("test", "test"), ("test2", "test2")],
        },
        Case {
            file: "test:traefik:a2688e031edb4be6a3797f3882655c05\n",
            given: &[
                "test2:traefik:518845800f9e2bfb1f1f740ec24f074e",
                "test3:traefik:c8e9f57ce58ecb4424407f665a91646c",
            ],
            realm: "",
            expected: &[("test", "test"), ("test2", "test2"), ("test3", "test3")],
        },
        Case {
            file: "test:traefik:a2688e031edb4be6a3797f3882655c05\ntest2:traefik:518845800f9e2bfb1f1f740ec24f074e\n",
            given: &["test2:traefik:8de60a1c52da68ccf41f0c0ffb7c51a0"],
            realm: "",
            expected: &[("test", "test"), ("test2", "overridden")],
        },
        Case {
            file: "test:traefik:a2688e031edb4be6a3797f3882655c05\ntest:traefiker:a3d334dff2645b914918de78bec50bf4\n",
            given: &[],
            realm: "traefiker",
            expected: &[("test", "test2")],
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(case.file.as_bytes()).unwrap();
        let path = f.path().to_str().unwrap();
        let m = compile(json!({"digestAuth": {
            "users": case.given, "usersFile": path, "realm": case.realm}}))
        .unwrap();
        for (user, pass) in case.expected {
            assert!(logs_in(&m, user, pass), "case {i}: {user}");
        }
        assert!(!logs_in(&m, "foo", "foo"), "case {i}");
        if i == 2 {
            assert!(
                !logs_in(&m, "test2", "test2"),
                "the file's test2 is overridden"
            );
        }
    }
}

/// A user the middleware does not know never passes, even with an answer computed from an empty
/// HA1 (which anyone could compute); the real Traefik refuses it too.
#[test]
fn an_unknown_user_never_passes_even_with_an_empty_ha1() {
    let m = compile(
        json!({"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}}),
    )
    .unwrap();
    let c = challenge(&m);
    assert!(!passes(
        &m,
        "/",
        &answer_ha1(&c, "nobody", "", "GET", "/", "00000001")
    ));
    assert!(!passes(
        &m,
        "/",
        &answer_ha1(&c, "", "", "GET", "/", "00000001")
    ));
}

#[test]
fn nonce_counts_replays_and_stale() {
    let m = compile(
        json!({"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}}),
    )
    .unwrap();
    let c = challenge(&m);
    assert!(passes(
        &m,
        "/",
        &answer(&c, "test", "test", "/", "00000002")
    ));
    // The same nonce count again is a replay: a plain challenge.
    let mut r = req(
        "GET",
        "/",
        &[(
            "authorization",
            &answer(&c, "test", "test", "/", "00000002"),
        )],
    );
    let resp = responded(m.on_request(&mut r, &ctx(false)));
    assert!(!values(resp.headers(), "www-authenticate").contains("stale"));
    // A lower one: stale, so the browser retries without asking the user.
    let mut r = req(
        "GET",
        "/",
        &[(
            "authorization",
            &answer(&c, "test", "test", "/", "00000001"),
        )],
    );
    let resp = responded(m.on_request(&mut r, &ctx(false)));
    let value = values(resp.headers(), "www-authenticate");
    assert!(
        value.contains(", stale=\"true\", algorithm=\"MD5\", qop=\"auth\""),
        "{value}"
    );
    // A higher one passes.
    assert!(passes(
        &m,
        "/",
        &answer(&c, "test", "test", "/", "00000003")
    ));
    // A nonce the middleware never issued does not.
    let mut forged = c.clone();
    forged.insert("nonce".into(), "AAAAAAAAAAAAAAAA".into());
    assert!(!passes(
        &m,
        "/",
        &answer(&forged, "test", "test", "/", "00000001")
    ));
    // Nor does a nonce count that is not hex.
    assert!(!passes(&m, "/", &answer(&c, "test", "test", "/", "+4")));
    assert!(!passes(&m, "/", &answer(&c, "test", "test", "/", "")));
}

#[test]
fn opaque_algorithm_and_qop_must_match() {
    let m = compile(
        json!({"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}}),
    )
    .unwrap();
    let c = challenge(&m);
    let good = answer(&c, "test", "test", "/", "00000001");
    let bad = [
        good.replace(&c["opaque"], "other"),
        good.replace("algorithm=MD5", "algorithm=SHA-256"),
        good.replace("qop=auth", "qop=auth-int"),
        good.replace("Digest ", "digest "),
    ];
    for auth in &bad {
        assert!(!passes(&m, "/", auth), "{auth}");
    }
    // No algorithm at all reads as MD5.
    assert!(passes(&m, "/", &good.replace("algorithm=MD5, ", "")));
}

/// The `uri` parameter is the request target, or a path prefix of the request path.
#[test]
fn the_uri_must_be_the_request_target_or_its_prefix() {
    let m = compile(
        json!({"digestAuth": {"users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"]}}),
    )
    .unwrap();
    let cases = [
        ("/a/b?x=1", "/a/b?x=1", true),
        ("/a/b?x=1", "/a", true),
        ("/a/b", "http://h/a", true),
        ("/a/b", "/a/b/c", false),
        ("/a/b", "/z", false),
    ];
    for (i, (target, uri, ok)) in cases.into_iter().enumerate() {
        let c = challenge(&m);
        let nc = format!("{:08x}", i + 1);
        assert_eq!(
            passes(&m, target, &answer(&c, "test", "test", uri, &nc)),
            ok,
            "{target} {uri}"
        );
    }
}

#[test]
fn header_field_and_remove_header() {
    let users = ["test:traefik:a2688e031edb4be6a3797f3882655c05"];
    for remove in [false, true] {
        let m = compile(json!({"digestAuth": {
            "users": users, "headerField": "X-WebAuth-User", "removeHeader": remove}}))
        .unwrap();
        let c = challenge(&m);
        let auth = answer(&c, "test", "test", "/", "00000001");
        let mut r = req(
            "GET",
            "/",
            &[("authorization", &auth), ("x-webauth-user", "forged")],
        );
        assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
        assert_eq!(values(&r.headers, "x-webauth-user"), "test");
        assert_eq!(r.headers.contains_key("authorization"), !remove);
    }
}

/// A hash that is not 32 lowercase hex digits, or a line of another realm: a user that never
/// authenticates, with a warning naming the line; the others still do.
#[test]
fn unusable_lines_are_warned_about_and_never_pass() {
    let m = compile(json!({"digestAuth": {"users": [
        "test:traefik:a2688e031edb4be6a3797f3882655c05",
        "upper:traefik:A2688E031EDB4BE6A3797F3882655C05",
        "short:traefik:abc",
        "other:elsewhere:a3d334dff2645b914918de78bec50bf4",
    ]}}))
    .unwrap();
    let notices = m.notices();
    assert_eq!(notices.len(), 3, "{notices:?}");
    for (notice, line) in notices.iter().zip([2, 3, 4]) {
        assert!(!notice.error);
        assert!(
            notice.message.contains(&format!("users line {line}")),
            "{notice:?}"
        );
    }
    assert!(logs_in(&m, "test", "test"));
    assert!(!logs_in(&m, "short", "abc"));
}

#[test]
fn a_missing_users_file_refuses_everyone_until_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htdigest");
    let cfg = json!({"digestAuth": {
        "users": ["test:traefik:a2688e031edb4be6a3797f3882655c05"], "usersFile": path}});
    let m = compile(cfg.clone()).unwrap();
    assert_eq!(m.missing_file(), Some(path.as_path()));
    assert!(m.notices()[0].error);
    assert!(m.notices()[0]
        .message
        .starts_with("digestAuth: option `usersFile`"));
    assert!(!logs_in(&m, "test", "test"));
    std::fs::write(&path, "test2:traefik:518845800f9e2bfb1f1f740ec24f074e\n").unwrap();
    let m = compile(cfg).unwrap();
    assert_eq!(m.missing_file(), None);
    assert!(logs_in(&m, "test", "test"));
    assert!(logs_in(&m, "test2", "test2"));
}

#[test]
fn the_realm_is_checked() {
    assert!(compile(json!({"digestAuth": {"realm": "a\"b"}})).is_err());
    let m = compile(json!({"digestAuth": {"realm": "my realm"}})).unwrap();
    assert_eq!(challenge(&m)["realm"], "my realm");
}

/// Unanswered challenges do not grow the nonce table without bound.
#[test]
fn the_nonce_table_is_bounded() {
    let m = compile(json!({"digestAuth": {"users": []}})).unwrap();
    for _ in 0..2000 {
        challenge(&m);
    }
    let Middleware::DigestAuth(d) = &m else {
        unreachable!()
    };
    assert!(d.nonces() <= 1101, "{}", d.nonces());
}
