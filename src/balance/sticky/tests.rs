use http::HeaderValue;

use super::*;

fn config(f: impl FnOnce(&mut StickyCookieConfig)) -> StickyCookieConfig {
    let mut c = StickyCookieConfig::default();
    f(&mut c);
    c
}

#[test]
fn default_name_is_traefik_sha1_abbreviation() {
    let name = default_cookie_name("web@swarm");
    assert_eq!(name.len(), 6);
    assert!(name.starts_with('_'));
    assert!(name[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(name, default_cookie_name("api@swarm"));
    // SHA-1("_TRAEFIK_BACKEND_") = 5c5aa3a4…, a known vector for the empty service name.
    let empty = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, b"_TRAEFIK_BACKEND_");
    assert_eq!(
        default_cookie_name(""),
        format!("_{}", &hex(empty.as_ref())[..5])
    );
}

#[test]
fn hashes_match_known_vectors() {
    // SHA-256("abc") = ba7816bf8f01cfea…
    assert_eq!(server_cookie_value("abc"), "ba7816bf8f01cfea");
    // FNV-1 64 of "a" (Go fnv.New64): af63bd4c8601b7be.
    assert_eq!(fnv64(b"a"), 0xaf63_bd4c_8601_b7be);
    assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
    let [raw, fnv, double] = legacy_cookie_values("a");
    assert_eq!(raw, "a");
    assert_eq!(fnv, "af63bd4c8601b7be");
    assert_eq!(double, format!("{:x}", fnv64(fnv.as_bytes())));
}

#[test]
fn set_cookie_attributes() {
    let table: Vec<(StickyCookieConfig, &str)> = vec![
        (config(|c| c.name = Some("s".into())), "s=v; Path=/"),
        (
            config(|c| {
                c.name = Some("my cookie;x".into());
                c.secure = true;
                c.http_only = true;
                c.same_site = Some("Strict".into());
                c.max_age = Some(3600);
                c.path = Some("/app".into());
                c.domain = Some(".example.com".into());
            }),
            "my_cookie_x=v; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Strict",
        ),
        (
            config(|c| {
                c.name = Some("s".into());
                c.max_age = Some(-1);
                c.same_site = Some("none".into());
            }),
            "s=v; Path=/; Max-Age=0; SameSite=None",
        ),
        (
            config(|c| {
                c.name = Some("s".into());
                c.same_site = Some("bogus".into());
                c.path = Some("/a;b".into());
            }),
            "s=v",
        ),
    ];
    for (cfg, expected) in table {
        assert_eq!(StickyCookie::new("svc", &cfg).set_cookie("v"), expected);
    }
    let defaulted = StickyCookie::new("svc@file", &StickyCookieConfig::default());
    assert_eq!(defaulted.name(), default_cookie_name("svc@file"));
    assert_eq!(defaulted.attributes(), "; Path=/");
}

#[test]
fn cookie_value_lookup() {
    let table = [
        ("lb=abc", Some("abc")),
        ("a=1; lb=abc; b=2", Some("abc")),
        ("a=1;lb=\"q\"", Some("q")),
        ("lbx=1; xlb=2", None),
        ("lb=", Some("")),
        ("garbage", None),
    ];
    for (line, expected) in table {
        assert_eq!(cookie_value(line, "lb"), expected, "{line}");
    }
    let cookie = StickyCookie::new("s", &config(|c| c.name = Some("lb".into())));
    let mut headers = HeaderMap::new();
    headers.append(http::header::COOKIE, HeaderValue::from_static("a=1"));
    headers.append(http::header::COOKIE, HeaderValue::from_static("lb=zz; c=3"));
    assert_eq!(cookie.value_in(&headers), Some("zz"));
    assert_eq!(cookie.value_in(&HeaderMap::new()), None);
}
