#![allow(clippy::disallowed_types)] // std Mutex: test
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::rules::Rule;
use crate::table::{InternalService, Service};

fn entry(route: Option<Arc<Route>>) -> Entry {
    Entry {
        start: UNIX_EPOCH + Duration::from_secs(1_795_649_445),
        duration: Duration::from_millis(12),
        origin_duration: Duration::from_millis(10),
        client: "10.0.0.7:51000".parse().unwrap(),
        method: Method::GET,
        path: "/a?b=1".to_string(),
        proto: "HTTP/1.1",
        host: "example.com:8080".to_string(),
        tls: false,
        negotiated: None,
        client_certs: None,
        entrypoint: Arc::from("web"),
        status: 200,
        size: 42,
        origin_size: 42,
        request_size: 0,
        request_headers: Some(Box::new(
            [(
                http::header::USER_AGENT,
                http::HeaderValue::from_static("curl/8"),
            )]
            .into_iter()
            .collect(),
        )),
        origin_headers: None,
        downstream_headers: None,
        user: None,
        auth_duration: None,
        route,
        reached_service: true,
        served: None,
        count: 3,
        retries: 0,
    }
}

fn ping_route() -> Arc<Route> {
    Arc::new(Route {
        name: "ping@internal".to_string(),
        rule: Rule::parse("PathPrefix(`/ping`)").unwrap(),
        priority: 1,
        middlewares: Box::new([]),
        service: Arc::new(Service::Internal(InternalService::Ping)),
        tls: false,
        tls_options: 0,
        closed: None,
        metrics: Default::default(),
        live: Default::default(),
        observe: Box::default(),
        traces: Box::default(),
    })
}

/// Headers kept (Traefik drops them unless `fields.headers` says otherwise).
fn keep_headers() -> Policy {
    let cfg: AccessLogConfig = serde_json::from_value(serde_json::json!({
        "fields": {"headers": {"defaultMode": "keep"}}
    }))
    .unwrap();
    Policy::new(&cfg)
}

#[test]
fn common_format_is_traefiks_clf_variant() {
    let dflt = Policy::default();
    assert_eq!(
        common(&entry(None), &dflt),
        r#"10.0.0.7 - - [25/Nov/2026:23:30:45 +0000] "GET /a?b=1 HTTP/1.1" 200 42 "-" "-" 3 "-" "-" 12ms"#
    );
    assert_eq!(
        common(&entry(None), &keep_headers()),
        r#"10.0.0.7 - - [25/Nov/2026:23:30:45 +0000] "GET /a?b=1 HTTP/1.1" 200 42 "-" "curl/8" 3 "-" "-" 12ms"#
    );
    assert!(common(&entry(Some(ping_route())), &dflt).contains(r#" 3 "ping@internal" "-" 12ms"#));
}

#[test]
fn json_format_uses_traefik_field_names() {
    let v: serde_json::Value =
        serde_json::from_str(&json(&entry(Some(ping_route())), &keep_headers())).unwrap();
    for (key, want) in [
        ("ClientAddr", serde_json::json!("10.0.0.7:51000")),
        ("ClientHost", serde_json::json!("10.0.0.7")),
        ("RequestMethod", serde_json::json!("GET")),
        ("RequestPath", serde_json::json!("/a?b=1")),
        ("RequestHost", serde_json::json!("example.com")),
        ("RequestPort", serde_json::json!("8080")),
        ("DownstreamStatus", serde_json::json!(200)),
        ("Duration", serde_json::json!(12_000_000u64)),
        ("RouterName", serde_json::json!("ping@internal")),
        ("ServiceName", serde_json::json!("ping@internal")),
        ("entryPointName", serde_json::json!("web")),
        (
            "StartUTC",
            serde_json::json!("2026-11-25T23:30:45.000000000Z"),
        ),
        ("request_User-Agent", serde_json::json!("curl/8")),
    ] {
        assert_eq!(v[key], want, "{key}");
    }
    assert!(v.get("ServiceURL").is_none());
}

#[test]
fn split_host_handles_ports_and_ipv6() {
    for (input, want) in [
        ("example.com", ("example.com", "-")),
        ("example.com:80", ("example.com", "80")),
        ("[::1]:8080", ("[::1]", "8080")),
        ("[::1]", ("[::1]", "-")),
    ] {
        assert_eq!(format::split_host(input), want, "{input}");
    }
}

/// A writer that is slow and records what it got.
struct Slow(Arc<Mutex<Vec<u8>>>);

impl Write for Slow {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(50));
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_slow_writer_drops_entries_instead_of_blocking() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let log = AccessLog::with_writer(
        Box::new(Slow(Arc::clone(&sink))),
        AccessLogFormat::Common,
        1,
        2,
    )
    .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..20 {
        log.submit(entry(None));
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "submit blocked"
    );
    assert!(log.dropped() >= 10, "dropped {}", log.dropped());
    let written = 20 - log.dropped() as usize;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sink.lock().unwrap().iter().filter(|b| **b == b'\n').count() < written {
        assert!(std::time::Instant::now() < deadline, "lines never written");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn policy(fields: serde_json::Value) -> Policy {
    let cfg: AccessLogConfig = serde_json::from_value(fields).unwrap();
    Policy::new(&cfg)
}

#[test]
fn fields_are_kept_dropped_or_redacted_by_name() {
    let p = policy(serde_json::json!({"fields": {
        "defaultMode": "keep",
        "names": {"ClientHost": "drop", "ClientUsername": "redact"},
        "headers": {"defaultMode": "drop", "names": {"user-agent": "redact", "X-Kept": "keep"}}
    }}));
    let mut e = entry(None);
    let headers = e.request_headers.as_mut().unwrap();
    headers.insert("x-kept", http::HeaderValue::from_static("yes"));
    headers.insert("x-dropped", http::HeaderValue::from_static("no"));
    let v: serde_json::Value = serde_json::from_str(&json(&e, &p)).unwrap();
    assert!(v.get("ClientHost").is_none(), "{v}");
    assert_eq!(v["ClientUsername"], "REDACTED");
    assert_eq!(v["ClientAddr"], "10.0.0.7:51000");
    assert_eq!(v["request_User-Agent"], "REDACTED");
    assert_eq!(v["request_X-Kept"], "yes");
    assert!(v.get("request_X-Dropped").is_none(), "{v}");
    // The common format writes what JSON would: a dropped field is `-`.
    let line = common(&e, &p);
    assert!(line.starts_with("- - REDACTED [25/Nov/2026"), "{line}");
    assert!(line.contains(r#" "-" "REDACTED" 3 "#), "{line}");

    let none = policy(
        serde_json::json!({"fields": {"defaultMode": "drop", "names": {"DownstreamStatus": "keep"}}}),
    );
    let v: serde_json::Value = serde_json::from_str(&json(&e, &none)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["DownstreamStatus", "level", "msg", "time"]);
}

#[test]
fn headers_are_copied_only_when_some_may_be_written() {
    assert!(!Policy::default().wants_headers());
    assert!(
        !policy(serde_json::json!({"fields": {"headers": {"names": {"A": "drop"}}}}))
            .wants_headers()
    );
    assert!(
        policy(serde_json::json!({"fields": {"headers": {"names": {"A": "redact"}}}}))
            .wants_headers()
    );
    assert!(keep_headers().wants_headers());
}

fn session() -> Session {
    Session {
        start: UNIX_EPOCH + Duration::from_secs(1_795_649_445),
        duration: Duration::from_millis(1500),
        client: "10.0.0.7:51000".parse().unwrap(),
        entrypoint: Arc::from("postgres"),
        protocol: "TCP",
        router: "db@swarm".to_string(),
        service: Some("db@swarm".to_string()),
        server: Some("10.0.1.5:5432".to_string()),
        server_name: Some("db.example.com".to_string()),
        tls: None,
        status: 200,
        received: 342,
        sent: 5120,
        error: None,
    }
}

#[test]
fn a_tcp_session_is_one_line_with_traefiks_field_names() {
    let v: serde_json::Value =
        serde_json::from_str(&session_json(&session(), &Policy::default())).unwrap();
    assert_eq!(v["ClientAddr"], "10.0.0.7:51000");
    assert_eq!(v["ClientHost"], "10.0.0.7");
    assert_eq!(v["ClientPort"], "51000");
    assert_eq!(v["RouterName"], "db@swarm");
    assert_eq!(v["ServiceName"], "db@swarm");
    assert_eq!(v["ServiceAddr"], "10.0.1.5:5432");
    assert_eq!(v["entryPointName"], "postgres");
    assert_eq!(v["RequestProtocol"], "TCP");
    assert_eq!(v["RequestHost"], "db.example.com");
    assert_eq!(v["RequestContentSize"], 342);
    assert_eq!(v["DownstreamContentSize"], 5120);
    assert_eq!(v["DownstreamStatus"], 200);
    assert_eq!(v["Duration"], 1_500_000_000u64);
    assert_eq!(v["StartUTC"], v["time"]);
    assert!(v.get("SessionError").is_none(), "{v}");
    assert!(v.get("RequestMethod").is_none(), "{v}");
    assert_eq!(
        session_common(&session(), &Policy::default()),
        "10.0.0.7 - - [25/Nov/2026:23:30:45 +0000] \"TCP db.example.com\" 200 5120 342 \"db@swarm\" \"10.0.1.5:5432\" 1500ms"
    );
}

#[test]
fn a_tcp_session_line_obeys_the_field_modes() {
    let p = policy(serde_json::json!({"fields": {
        "defaultMode": "drop",
        "names": {"RouterName": "keep", "SessionError": "keep", "ServiceAddr": "redact"}
    }}));
    let mut s = session();
    s.status = 502;
    s.error = Some("no server answered".to_string());
    let v: serde_json::Value = serde_json::from_str(&session_json(&s, &p)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "RouterName",
            "ServiceAddr",
            "SessionError",
            "level",
            "msg",
            "time"
        ]
    );
    assert_eq!(v["ServiceAddr"], "REDACTED");
    assert_eq!(
        session_common(&s, &p),
        "- - - [-] \"- -\" - - - \"db@swarm\" \"REDACTED\" 0ms"
    );
}

/// A certificate whose subject is `CN=foobar,O=Acme\, Inc.,C=FR` plus an `emailAddress`.
fn client_cert() -> rustls::pki_types::CertificateDer<'static> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "FR");
    dn.push(rcgen::DnType::OrganizationName, "Acme, Inc.");
    dn.push(rcgen::DnType::CommonName, "foobar");
    dn.push(
        rcgen::DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        rcgen::DnValue::Ia5String("a@b.c".try_into().unwrap()),
    );
    params.distinguished_name = dn;
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn over_tls(certs: Option<Vec<rustls::pki_types::CertificateDer<'static>>>) -> Entry {
    let mut e = entry(None);
    e.tls = true;
    e.negotiated = crate::config::negotiated::Negotiated::from_parts(
        rustls::ProtocolVersion::TLSv1_3,
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    );
    e.client_certs = certs.map(Arc::from);
    e
}

fn json_of(e: &Entry, policy: &Policy) -> serde_json::Value {
    serde_json::from_str(&json(e, policy)).unwrap()
}

#[test]
fn tls_fields_are_traefiks_for_requests_over_tls() {
    let dflt = Policy::default();
    let v = json_of(&over_tls(Some(vec![client_cert()])), &dflt);
    assert_eq!(v["TLSVersion"], "1.3", "{v}");
    assert_eq!(v["TLSCipher"], "TLS_AES_128_GCM_SHA256", "{v}");
    // Go's `pkix.Name.String()`: the named attributes last first, then the others as DER hex.
    assert_eq!(
        v["TLSClientSubject"], r"CN=foobar,O=Acme\, Inc.,C=FR,1.2.840.113549.1.9.1=#0c056140622e63",
        "{v}"
    );
    assert_eq!(v["RequestScheme"], "https");
    // Over TLS without a client certificate: no subject.
    let v = json_of(&over_tls(None), &dflt);
    assert_eq!(v["TLSVersion"], "1.3", "{v}");
    assert!(v.get("TLSClientSubject").is_none(), "{v}");
    // Plain HTTP: none of them.
    let v = json_of(&entry(None), &dflt);
    for key in ["TLSVersion", "TLSCipher", "TLSClientSubject"] {
        assert!(v.get(key).is_none(), "{key}: {v}");
    }
    // The common format is Traefik's: no TLS field in it.
    assert_eq!(
        common(&over_tls(Some(vec![client_cert()])), &dflt),
        common(&entry(None), &dflt)
    );
}

#[test]
fn overhead_is_the_duration_outside_the_server() {
    let dflt = Policy::default();
    let v = json_of(&entry(None), &dflt);
    assert_eq!(v["Duration"], 12_000_000u64);
    assert_eq!(v["OriginDuration"], 10_000_000u64);
    assert_eq!(v["Overhead"], 2_000_000u64);
    // No server reached: all of it is overhead, as Traefik's `InitServiceFields`.
    let mut e = entry(None);
    e.origin_duration = Duration::ZERO;
    let v = json_of(&e, &dflt);
    assert_eq!(v["OriginDuration"], 0);
    assert_eq!(v["Overhead"], 12_000_000u64);
}

#[test]
fn the_new_fields_obey_the_field_modes() {
    let p = policy(serde_json::json!({"fields": {
        "defaultMode": "drop",
        "names": {"TLSVersion": "keep", "TLSClientSubject": "redact", "Overhead": "keep"}
    }}));
    let v = json_of(&over_tls(Some(vec![client_cert()])), &p);
    assert_eq!(v["TLSVersion"], "1.3");
    assert_eq!(v["TLSClientSubject"], "REDACTED");
    assert_eq!(v["Overhead"], 2_000_000u64);
    assert!(
        v.get("TLSCipher").is_none() && v.get("Duration").is_none(),
        "{v}"
    );
    let p = policy(serde_json::json!({"fields": {
        "names": {"TLSCipher": "drop", "tlsclientsubject": "drop", "OVERHEAD": "redact"}
    }}));
    let v = json_of(&over_tls(Some(vec![client_cert()])), &p);
    assert_eq!(v["TLSVersion"], "1.3");
    assert_eq!(v["Overhead"], "REDACTED");
    assert!(
        v.get("TLSCipher").is_none() && v.get("TLSClientSubject").is_none(),
        "{v}"
    );
}
