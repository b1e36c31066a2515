//! basicAuth and the htpasswd hashes.

use std::io::Write;

use base64::Engine;
use serde_json::json;

use super::{compile, ctx, req, responded, values};
use crate::middleware::htpasswd::{md5_crypt, Hash};
use crate::middleware::{Flow, MiddlewareError};

/// `test:test` from Traefik's docs, made with `htpasswd -m` ($apr1$).
const APR1_TEST: &str = "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/";
/// OpenBSD's bcrypt test vector: password `U*U`.
const BCRYPT_UU: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

fn basic(user: &str, pass: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {b64}")
}

#[test]
fn md5_crypt_matches_openssl() {
    let cases = [
        ("test", "H6uskkkW", "$apr1$", "IgXLP6ewTrSuBkTrqE8wj/"),
        ("password", "saltsalt", "$1$", "qjXMvbEw8oaL.CzflDtaK/"),
        (
            "a longer password than sixteen bytes",
            "xy",
            "$apr1$",
            "ydi4vLfD5LxrQlAISGcwV/",
        ),
    ];
    for (pw, salt, magic, want) in cases {
        assert_eq!(
            md5_crypt(pw.as_bytes(), salt.as_bytes(), magic.as_bytes()),
            want,
            "{pw}"
        );
    }
}

#[test]
fn hash_formats_verify() {
    let bcrypt_2y = bcrypt::hash_with_result("secret", 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    let bcrypt_2b = bcrypt::hash("secret", 4).unwrap();
    let cases = [
        ("$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/", "test", true),
        ("$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/", "Test", false),
        ("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password", true),
        ("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret", true),
        ("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret2", false),
        (BCRYPT_UU, "U*U", true),
        (BCRYPT_UU, "U*V", false),
        (bcrypt_2y.as_str(), "secret", true),
        (bcrypt_2y.as_str(), "nope", false),
        (bcrypt_2b.as_str(), "secret", true),
    ];
    for (hash, pw, ok) in cases {
        let h = Hash::parse(hash).unwrap_or_else(|| panic!("parse {hash}"));
        assert_eq!(h.verify(pw.as_bytes()), ok, "{hash} {pw}");
    }
}

#[test]
fn basic_auth_requests() {
    let m = compile(json!({"basicAuth": {
        "users": [APR1_TEST, "sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="],
        "realm": "my realm",
        "headerField": "X-WebAuth-User"
    }}))
    .unwrap();
    let cases = [
        (Some(basic("test", "test")), Some("test")),
        (Some(basic("sha", "secret")), Some("sha")),
        (Some(basic("test", "wrong")), None),
        (Some(basic("nobody", "test")), None),
        (Some("Bearer abc".to_string()), None),
        (Some("Basic !!notbase64".to_string()), None),
        (None, None),
    ];
    for (auth, user) in cases {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let mut r = req("GET", "/", &headers);
        match (m.on_request(&mut r, &ctx(false)), user) {
            (Flow::Continue, Some(user)) => {
                assert_eq!(values(&r.headers, "x-webauth-user"), user);
                assert!(
                    r.headers.contains_key("authorization"),
                    "kept without removeHeader"
                );
            }
            (flow @ Flow::Respond(_), None) => {
                let resp = responded(flow);
                assert_eq!(resp.status(), 401, "{auth:?}");
                assert_eq!(
                    values(resp.headers(), "www-authenticate"),
                    "Basic realm=\"my realm\""
                );
            }
            (flow, _) => panic!("{auth:?}: unexpected {flow:?}"),
        }
    }
}

#[test]
fn basic_auth_remove_header_and_default_realm() {
    let m = compile(json!({"basicAuth": {"users": [APR1_TEST], "removeHeader": true}})).unwrap();
    let mut r = req("GET", "/", &[("authorization", &basic("test", "test"))]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
    assert!(!r.headers.contains_key("authorization"));
    let mut r = req("GET", "/", &[]);
    let resp = responded(m.on_request(&mut r, &ctx(false)));
    assert_eq!(
        values(resp.headers(), "www-authenticate"),
        "Basic realm=\"traefik\""
    );
}

#[test]
fn basic_auth_users_file_overrides_users() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "# comment\n\ntest:{{SHA}}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
    let path = f.path().to_str().unwrap();
    let m = compile(json!({"basicAuth": {"users": [APR1_TEST], "usersFile": path}})).unwrap();
    let cases = [
        (basic("test", "secret"), true),
        (basic("test", "test"), false),
    ];
    for (auth, ok) in cases {
        let mut r = req("GET", "/", &[("authorization", &auth)]);
        assert_eq!(
            matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue),
            ok,
            "{auth}"
        );
    }
}

#[test]
fn bad_basic_auth_configs_are_errors() {
    let cases = [
        (json!({"users": ["no-colon-here"]}), 1, "no-colon-here"),
        (
            json!({"users": [APR1_TEST, ":$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]}),
            2,
            ":$apr1$",
        ),
        (json!({"users": ["u:hash:with-colon"]}), 1, "u:hash"),
    ];
    for (cfg, line_no, needle) in cases {
        let err = compile(json!({"basicAuth": cfg})).unwrap_err();
        match &err {
            MiddlewareError::Htpasswd { line, text, .. } => {
                assert_eq!(*line, line_no, "{cfg}");
                assert!(text.contains(needle), "{cfg}: {text}");
            }
            other => panic!("{cfg}: {other:?}"),
        }
        assert!(
            err.to_string().contains(&format!("line {line_no}")),
            "{err}"
        );
    }
    let err = compile(json!({"basicAuth": {"users": [], "headerField": "bad field"}})).unwrap_err();
    assert!(
        matches!(
            err,
            MiddlewareError::HeaderName {
                option: "headerField",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Traefik keeps a user whose hash it cannot read as one that never authenticates (go-http-auth's
/// `CheckSecret` falls back to "no match"); swarmgate does the same and warns, naming the line.
#[test]
fn unknown_or_malformed_hashes_never_authenticate() {
    let lines = [
        "plain:plaintext",
        "short:$2y$05$short",
        "sha:{SHA}not-base64!",
        "apr:$apr1$saltsaltlong$IgXLP6ewTrSuBkTrqE8wj/",
        "sha256:$5$rounds=5000$salt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "argon:$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    ];
    let mut users: Vec<&str> = lines.to_vec();
    users.push(APR1_TEST);
    let m = compile(json!({"basicAuth": {"users": users}})).unwrap();
    let notices = m.notices();
    assert_eq!(notices.len(), lines.len(), "{notices:?}");
    for (i, (notice, line)) in notices.iter().zip(lines).enumerate() {
        let user = line.split(':').next().unwrap();
        assert!(!notice.error);
        assert!(
            notice.message.contains(&format!("users line {}", i + 1)),
            "{notice:?}"
        );
        assert!(notice.message.contains(&format!("{user:?}")), "{notice:?}");
        assert!(notice.message.contains("never authenticate"), "{notice:?}");
        // The hash itself stays out of logs.
        let hash = line.split_once(':').unwrap().1;
        assert!(!notice.message.contains(hash), "{notice:?}");
        // Nothing the user could send gets in, not even the "hash" as a password.
        for password in [hash, "plaintext", "", user] {
            let mut r = req("GET", "/", &[("authorization", &basic(user, password))]);
            let resp = responded(m.on_request(&mut r, &ctx(false)));
            assert_eq!(resp.status(), 401, "{line} / {password}");
        }
    }
    // The readable user still gets in.
    let mut r = req("GET", "/", &[("authorization", &basic("test", "test"))]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
}

/// A `usersFile` that cannot be read yet (a Docker secret not mounted): 401 for everyone, even
/// the inline users, with an error notice; the middleware still compiles, so its routers keep
/// their place instead of letting requests fall through to another router.
#[test]
fn a_missing_users_file_refuses_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    let cfg = json!({"basicAuth": {"users": [APR1_TEST], "usersFile": path}});
    let m = compile(cfg.clone()).unwrap();
    assert_eq!(m.missing_file(), Some(path.as_path()));
    let notice = &m.notices()[0];
    assert!(notice.error);
    assert!(notice.message.contains("usersFile"), "{notice:?}");
    let mut r = req("GET", "/", &[("authorization", &basic("test", "test"))]);
    assert_eq!(responded(m.on_request(&mut r, &ctx(false))).status(), 401);
    // Once the file is there, a compile lets its users in.
    std::fs::write(&path, format!("{APR1_TEST}\n")).unwrap();
    let m = compile(cfg).unwrap();
    assert_eq!(m.missing_file(), None);
    assert!(m.notices().is_empty());
    let mut r = req("GET", "/", &[("authorization", &basic("test", "test"))]);
    assert!(matches!(m.on_request(&mut r, &ctx(false)), Flow::Continue));
}
