//! Middleware tests: one file per middleware family, table-driven, configs written as Traefik's
//! dynamic configuration (JSON here) so the option names are tested too.

mod auth;
mod digest;
mod headers;
mod ip;
mod pass_tls_client_cert;
mod path;
mod rate;
mod redirect;

use std::net::SocketAddr;

use super::{Flow, Middleware, MiddlewareConfig, MiddlewareError, RequestContext};

/// Compiles a middleware from its Traefik JSON config (`{"stripPrefix": {...}}`).
pub(super) fn compile(cfg: serde_json::Value) -> Result<Middleware, MiddlewareError> {
    let cfg: MiddlewareConfig = serde_json::from_value(cfg).unwrap();
    Middleware::compile(&cfg)
}

/// A request head.
pub(super) fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

pub(super) fn ctx_from(addr: &str, tls: bool) -> RequestContext<'static> {
    RequestContext {
        client_addr: addr.parse::<SocketAddr>().unwrap(),
        tls,
        conn_tls: tls,
        entrypoint: "web",
        client_certs: None,
    }
}

pub(super) fn ctx(tls: bool) -> RequestContext<'static> {
    ctx_from("10.0.0.1:40000", tls)
}

/// A response head with the given headers.
pub(super) fn resp(headers: &[(&str, &str)]) -> http::response::Parts {
    let mut b = http::Response::builder().status(200);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

/// All values of header `name`, joined with `|` (empty string when absent).
pub(super) fn values(h: &http::HeaderMap, name: &str) -> String {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect::<Vec<_>>()
        .join("|")
}

/// The response of a `Flow::Respond`, panicking on `Continue`.
pub(super) fn responded(flow: Flow) -> http::Response<bytes::Bytes> {
    match flow {
        Flow::Respond(r) => r,
        Flow::Continue => panic!("expected a response, got Continue"),
    }
}

#[test]
fn chain_is_not_compiled_here() {
    let err = compile(serde_json::json!({"chain": {"middlewares": ["a", "b"]}})).unwrap_err();
    assert!(matches!(err, MiddlewareError::ChainNotCompiled));
}

#[test]
fn kind_matches_config_kind() {
    let cases = [
        serde_json::json!({"stripPrefix": {"prefixes": ["/a"]}}),
        serde_json::json!({"addPrefix": {"prefix": "/a"}}),
        serde_json::json!({"redirectScheme": {"scheme": "https"}}),
        serde_json::json!({"headers": {"frameDeny": true}}),
        serde_json::json!({"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}}),
        serde_json::json!({"rateLimit": {"average": 10}}),
        serde_json::json!({"basicAuth": {"users": []}}),
    ];
    for c in cases {
        let cfg: MiddlewareConfig = serde_json::from_value(c).unwrap();
        let m = Middleware::compile(&cfg).unwrap();
        assert_eq!(m.kind(), cfg.kind());
        assert_eq!(m.has_response_phase(), cfg.kind() == "headers");
    }
}

/// Traefik's documented YAML examples deserialize and compile.
#[test]
fn traefik_yaml_examples_compile() {
    let yaml = r#"
strip: { stripPrefix: { prefixes: ["/foobar", "/fiibar"] } }
stripre: { stripPrefixRegex: { regex: ["/foo/[a-z0-9]+/[0-9]+/"] } }
add: { addPrefix: { prefix: "/foo" } }
replace: { replacePath: { path: "/foo" } }
replacere: { replacePathRegex: { regex: "^/foo/(.*)", replacement: "/bar/$1" } }
scheme: { redirectScheme: { scheme: https, permanent: true, port: "443" } }
regex: { redirectRegex: { regex: "^http://localhost/(.*)", replacement: "http://mydomain/${1}" } }
headers:
  headers:
    frameDeny: true
    browserXssFilter: true
    forceSTSHeader: true
    stsSeconds: 315360000
    customBrowserXSSValue: "0"
    accessControlAllowMethods: [GET, OPTIONS, PUT]
    accessControlAllowHeaders: ["*"]
    accessControlAllowOriginList: ["https://foo.bar.org", "https://example.org"]
    accessControlAllowOriginListRegex: ["https://foo\\.bar\\.org", "https://example\\.org"]
    accessControlMaxAge: 100
    addVaryHeader: true
    customRequestHeaders: { X-Script-Name: test, X-Custom-Request-Header: "" }
    customResponseHeaders: { X-Custom-Response-Header: "" }
auth:
  basicAuth:
    users:
      - "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"
      - "test2:$apr1$d9hr9HBB$4HxwgUir3HP4EsggP/QNo0"
    realm: MyRealm
    headerField: X-WebAuth-User
    removeHeader: true
allow:
  ipAllowList:
    sourceRange: ["127.0.0.1/32", "192.168.1.7"]
    ipStrategy: { depth: 2, excludedIPs: ["127.0.0.1/32", "192.168.1.7"] }
rate:
  rateLimit:
    average: 6
    period: 1m
    burst: 100
    sourceCriterion: { ipStrategy: { depth: 2 } }
"#;
    // serde_yaml 0.9 wants `!tag` syntax for enums; a single-key map reads through a Value.
    let value: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    let all: std::collections::BTreeMap<String, MiddlewareConfig> =
        serde_json::from_value(value).unwrap();
    assert_eq!(all.len(), 11);
    for (name, cfg) in &all {
        let m = Middleware::compile(cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.kind(), cfg.kind(), "{name}");
    }
}

/// contentType: Go's `DetectContentType` (cases checked against the real Traefik 3.7.15 with a
/// backend answering these bodies without Content-Type) and the `autoDetect` notice.
mod content_type {
    use crate::middleware::content_type::detect;
    use crate::middleware::Middleware;

    #[test]
    fn detect_matches_go() {
        let ws_html = format!("{}<html>", " ".repeat(600));
        let mut eot = vec![0u8; 34];
        eot.extend_from_slice(b"LP");
        let cases: &[(&[u8], &str)] = &[
            (b"", "text/plain; charset=utf-8"),
            (b"hello", "text/plain; charset=utf-8"),
            (b"<html>", "text/html; charset=utf-8"),
            (b"  <!DOCTYPE html>x", "text/html; charset=utf-8"),
            (b"<HtMl><b>", "text/html; charset=utf-8"),
            (b"<htmlx", "text/plain; charset=utf-8"),
            (b"<p", "text/plain; charset=utf-8"),
            (b"{\"a\":1}", "text/plain; charset=utf-8"),
            (b"\x00\x01\x00\x00abc", "font/ttf"),
            (b"OTTO", "font/otf"),
            (b"ttcf", "font/collection"),
            (b"wOFF", "font/woff"),
            (b"wOF2", "font/woff2"),
            (b"\x00asm\x01", "application/wasm"),
            (b"Rar!\x1a\x07\x00", "application/x-rar-compressed"),
            (b"Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
            (b"PK\x03\x04", "application/zip"),
            (b"\x1f\x8b\x08", "application/x-gzip"),
            (b"%PDF-1", "application/pdf"),
            (b"\x89PNG\r\n\x1a\n", "image/png"),
            (b"\xff\xd8\xff\xe0", "image/jpeg"),
            (b"GIF89a", "image/gif"),
            (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
            (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wave"),
            (b"ID3x", "audio/mpeg"),
            (&eot, "application/vnd.ms-fontobject"),
            (b"\x01\x02", "application/octet-stream"),
            (b"<?xml ", "text/xml; charset=utf-8"),
            (b"\xef\xbb\xbfab", "text/plain; charset=utf-8"),
            (b"\xfe\xff\x00\x41", "text/plain; charset=utf-16be"),
            (b"MThd\x00\x00\x00\x06", "audio/midi"),
            (b"7z\xbc\xaf'\x1c", "application/octet-stream"),
            (b"BM", "image/bmp"),
            (b"\x00\x00\x01\x00", "image/x-icon"),
            (
                b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
                "video/mp4",
            ),
            (b"\x1a\x45\xdf\xa3", "video/webm"),
            // Only the first 512 bytes are looked at.
            (ws_html.as_bytes(), "text/plain; charset=utf-8"),
        ];
        for (data, want) in cases {
            assert_eq!(detect(data), *want, "{data:?}");
        }
    }

    #[test]
    fn auto_detect_is_deprecated_and_false_does_nothing() {
        for (cfg, notices) in [
            (serde_json::json!({"contentType": {}}), 0),
            (serde_json::json!({"contentType": {"autoDetect": true}}), 1),
            (serde_json::json!({"contentType": {"autoDetect": false}}), 1),
        ] {
            let m = super::compile(cfg.clone()).unwrap();
            assert!(matches!(m, Middleware::ContentType(_)));
            assert_eq!(m.notices().len(), notices, "{cfg}");
        }
        let unknown: Result<crate::middleware::MiddlewareConfig, _> =
            serde_json::from_value(serde_json::json!({"contentType": {"other": 1}}));
        assert!(unknown.is_err());
    }
}

/// `Middleware::validate` as the file reader's check (the wiring passes it, `config/` cannot
/// name `middleware/`): a middleware that deserializes but does not compile is disabled at read
/// time with the compiler's message and its line.
#[test]
fn validate_as_the_readers_check_disables_what_does_not_compile() {
    use crate::config::elements::read;
    let check = |cfg: &MiddlewareConfig| Middleware::validate(cfg).map_err(|e| e.to_string());
    let doc = serde_json::json!({"http": {"middlewares": {
        "good": {"addPrefix": {"prefix": "/a"}},
        "badregex": {"replacePathRegex": {"regex": "(", "replacement": "/"}},
        "ip": {"ipAllowList": {"sourceRange": ["127.0.0.1/32"], "rejectStatusCode": 700}},
    }}});
    let locate = |path: &[&str]| (path.len() == 4 && path[2] == "badregex").then_some(3);
    let r = read(doc, "t.yml", &locate, check);
    assert_eq!(
        r.config.http.middlewares.keys().collect::<Vec<_>>(),
        ["good"]
    );
    let invalid: Vec<&str> = r
        .config
        .invalid
        .middlewares
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(invalid, ["badregex", "ip"]);
    let message = |name: &str| {
        r.issues
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.message.clone())
            .unwrap_or_default()
    };
    assert!(
        message("badregex").starts_with("line 3: "),
        "{}",
        message("badregex")
    );
    assert!(
        message("badregex").contains("regex"),
        "{}",
        message("badregex")
    );
    assert!(message("ip").contains("700"), "{}", message("ip"));
}
