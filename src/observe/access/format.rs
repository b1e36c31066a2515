//! The two line formats, both from the same kept fields: Traefik's JSON object and its Common
//! Log Format variant (a dropped field is `-` there, as Traefik's `toLog`).

use serde_json::{Map, Value};

use super::super::clock::Civil;
use super::{Entry, Policy, Session};
use crate::config::static_config::FieldMode;

/// What a redacted field or header is written as.
const REDACTED: &str = "REDACTED";

/// The core fields and headers the policy keeps, by Traefik's names.
fn fields(e: &Entry, policy: &Policy) -> Map<String, Value> {
    let url = e.url();
    let service_addr = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let service_addr = service_addr.split('/').next().unwrap_or("");
    let (host, port) = split_host(&e.host);
    let nanos = u64::try_from(e.duration.as_nanos()).unwrap_or(u64::MAX);
    // Traefik's `OriginDuration` (0 unless a server was reached) and `Overhead`, the rest.
    let origin = e.origin_duration.min(e.duration);
    let origin_nanos = u64::try_from(origin.as_nanos()).unwrap_or(u64::MAX);
    let start = Civil::from_system(e.start).rfc3339();
    let mut core: Vec<(&'static str, Value)> = vec![
        ("ClientAddr", e.client.to_string().into()),
        ("ClientHost", e.client.ip().to_string().into()),
        ("ClientPort", e.client.port().to_string().into()),
        ("ClientUsername", or_dash(e.user.as_deref()).into()),
        ("DownstreamContentSize", e.size.into()),
        ("DownstreamStatus", e.status.into()),
        ("Duration", nanos.into()),
        (
            "OriginContentSize",
            if e.reached_service { e.origin_size } else { 0 }.into(),
        ),
        ("OriginDuration", origin_nanos.into()),
        ("Overhead", (nanos - origin_nanos).into()),
        (
            "OriginStatus",
            if url.is_empty() { 0 } else { e.status }.into(),
        ),
        ("RequestAddr", e.host.clone().into()),
        ("RequestContentSize", e.request_size.into()),
        ("RequestCount", e.count.into()),
        ("RequestHost", host.into()),
        ("RequestMethod", e.method.as_str().into()),
        ("RequestPath", e.path.clone().into()),
        ("RequestPort", port.into()),
        ("RequestProtocol", e.proto.into()),
        ("RequestScheme", if e.tls { "https" } else { "http" }.into()),
        ("RetryAttempts", e.retries.into()),
        ("StartUTC", start.clone().into()),
        ("StartLocal", start.into()),
        ("entryPointName", (*e.entrypoint).into()),
    ];
    if e.route.is_some() {
        core.push(("RouterName", e.router().into()));
        if e.reached_service {
            core.push(("ServiceName", e.service().into()));
        }
    }
    if !url.is_empty() {
        core.push(("ServiceURL", url.into()));
        core.push(("ServiceAddr", service_addr.into()));
    }
    if e.reached_service && e.origin_size != e.size && e.size != 0 {
        core.push(("GzipRatio", (e.origin_size as f64 / e.size as f64).into()));
    }
    // As Traefik, for every request that came over TLS (`req.TLS`); the subject only when the
    // client sent a certificate.
    if let Some(tls) = e.negotiated.filter(|_| e.tls) {
        core.push(("TLSVersion", tls.version().into()));
        core.push(("TLSCipher", tls.cipher().into()));
        let leaf = e.client_certs.as_deref().and_then(|c| c.first());
        let leaf = leaf.filter(|_| policy.field("TLSClientSubject") != FieldMode::Drop);
        if let Some(subject) = leaf.and_then(|der| super::subject::go_subject(der)) {
            core.push(("TLSClientSubject", subject.into()));
        }
    }
    if let Some(d) = e.auth_duration {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        core.push(("AuthDuration", nanos.into()));
    }
    let mut map = kept(core, policy);
    for (prefix, headers) in [
        ("request_", &e.request_headers),
        ("origin_", &e.origin_headers),
        ("downstream_", &e.downstream_headers),
    ] {
        let Some(headers) = headers else { continue };
        for name in headers.keys() {
            let value = match policy.header(name.as_str()) {
                FieldMode::Drop => continue,
                FieldMode::Redact => REDACTED.to_string(),
                FieldMode::Keep => headers
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            map.insert(
                format!("{prefix}{}", canonical_header(name.as_str())),
                value.into(),
            );
        }
    }
    map
}

/// The core fields as the policy's modes leave them.
fn kept(core: Vec<(&'static str, Value)>, policy: &Policy) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in core {
        match policy.field(name) {
            FieldMode::Keep => {
                map.insert(name.to_string(), value);
            }
            FieldMode::Redact => {
                map.insert(name.to_string(), REDACTED.into());
            }
            FieldMode::Drop => {}
        }
    }
    map
}

/// A TCP session's fields, by Traefik's names where one fits (see [`Session`]).
fn session_fields(s: &Session, policy: &Policy) -> Map<String, Value> {
    let nanos = u64::try_from(s.duration.as_nanos()).unwrap_or(u64::MAX);
    let start = Civil::from_system(s.start).rfc3339();
    let mut core: Vec<(&'static str, Value)> = vec![
        ("ClientAddr", s.client.to_string().into()),
        ("ClientHost", s.client.ip().to_string().into()),
        ("ClientPort", s.client.port().to_string().into()),
        ("DownstreamContentSize", s.sent.into()),
        ("DownstreamStatus", s.status.into()),
        ("Duration", nanos.into()),
        ("RequestContentSize", s.received.into()),
        ("RequestProtocol", s.protocol.into()),
        ("RouterName", s.router.clone().into()),
        ("StartUTC", start.clone().into()),
        ("StartLocal", start.into()),
        ("entryPointName", (*s.entrypoint).into()),
    ];
    if let Some(service) = &s.service {
        core.push(("ServiceName", service.clone().into()));
    }
    if let Some(server) = &s.server {
        core.push(("ServiceAddr", server.clone().into()));
    }
    if let Some(name) = &s.server_name {
        core.push(("RequestHost", name.clone().into()));
    }
    if let Some(tls) = s.tls {
        core.push(("TLSVersion", tls.version().into()));
        core.push(("TLSCipher", tls.cipher().into()));
    }
    if let Some(error) = &s.error {
        core.push(("SessionError", error.clone().into()));
    }
    kept(core, policy)
}

/// A TCP session as one JSON object (the fields of [`session_fields`], `level`, `msg`, `time`).
pub fn session_json(s: &Session, policy: &Policy) -> String {
    let mut map = session_fields(s, policy);
    map.insert("level".into(), "info".into());
    map.insert("msg".into(), "".into());
    map.insert("time".into(), Civil::from_system(s.start).rfc3339().into());
    Value::Object(map).to_string()
}

/// A TCP session in the common format:
/// `<client> - - [<time>] "TCP <server name>" <status> <bytes sent> <bytes received> "<router>" "<server>" <ms>ms`
/// (a missing or dropped field is `-`, as in the request lines).
pub fn session_common(s: &Session, policy: &Policy) -> String {
    let map = session_fields(s, policy);
    let plain = |key: &str| to_log(&map, key, "-", false);
    let quoted = |key: &str| to_log(&map, key, "\"-\"", true);
    let time = start_time(&map, s.start);
    let millis = match map.get("Duration") {
        Some(Value::Number(_)) => s.duration.as_millis(),
        _ => 0,
    };
    format!(
        "{} - - [{}] \"{} {}\" {} {} {} {} {} {}ms",
        plain("ClientHost"),
        time,
        plain("RequestProtocol"),
        plain("RequestHost"),
        plain("DownstreamStatus"),
        plain("DownstreamContentSize"),
        plain("RequestContentSize"),
        quoted("RouterName"),
        quoted("ServiceAddr"),
        millis
    )
}

/// The `[time]` of a common line: redacted, dropped (`-`) or the start in CLF.
fn start_time(map: &Map<String, Value>, start: std::time::SystemTime) -> String {
    match (map.get("StartUTC"), map.get("StartLocal")) {
        (Some(Value::String(s)), _) | (None, Some(Value::String(s))) if s == REDACTED => {
            REDACTED.to_string()
        }
        (Some(_), _) | (None, Some(_)) => Civil::from_system(start).clf(),
        (None, None) => "-".to_string(),
    }
}

/// One JSON object with Traefik's field names.
pub fn json(e: &Entry, policy: &Policy) -> String {
    let mut map = fields(e, policy);
    let time = Civil::from_system(e.start).rfc3339();
    map.insert("level".into(), "info".into());
    map.insert("msg".into(), "".into());
    map.insert("time".into(), time.into());
    Value::Object(map).to_string()
}

/// Traefik's Common Log Format variant:
/// `<client> - <user> [<time>] "<method> <path> <proto>" <status> <size> "<referer>" "<ua>" <count> "<router>" "<url>" <ms>ms`.
/// Referer and User-Agent are the `request_` headers the policy keeps.
pub fn common(e: &Entry, policy: &Policy) -> String {
    let map = fields(e, policy);
    let plain = |key: &str| to_log(&map, key, "-", false);
    let quoted = |key: &str| to_log(&map, key, "\"-\"", true);
    let time = start_time(&map, e.start);
    let millis = match map.get("Duration") {
        Some(Value::Number(_)) => e.duration.as_millis(),
        _ => 0,
    };
    format!(
        "{} - {} [{}] \"{} {} {}\" {} {} {} {} {} {} {} {}ms",
        plain("ClientHost"),
        plain("ClientUsername"),
        time,
        plain("RequestMethod"),
        plain("RequestPath"),
        plain("RequestProtocol"),
        plain("DownstreamStatus"),
        plain("DownstreamContentSize"),
        quoted("request_Referer"),
        quoted("request_User-Agent"),
        plain("RequestCount"),
        quoted("RouterName"),
        quoted("ServiceURL"),
        millis
    )
}

/// Traefik's `toLog`: a missing or empty value is `default`, a string may be quoted.
fn to_log(map: &Map<String, Value>, key: &str, default: &str, quoted: bool) -> String {
    match map.get(key) {
        Some(Value::String(s)) if s.is_empty() => default.to_string(),
        Some(Value::String(s)) if quoted => format!("\"{s}\""),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => default.to_string(),
        Some(other) => other.to_string(),
    }
}

fn or_dash(s: Option<&str>) -> &str {
    match s {
        Some(s) if !s.is_empty() => s,
        _ => "-",
    }
}

/// Go's canonical header form: `user-agent` → `User-Agent`.
fn canonical_header(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// `example.com:8080` → (`example.com`, `8080`); `-` when there is no port (as Traefik).
pub(super) fn split_host(host: &str) -> (&str, &str) {
    if host.starts_with('[') {
        return match host.rsplit_once("]:") {
            Some((h, p)) => (&host[..h.len() + 1], p),
            None => (host, "-"),
        };
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p),
        _ => (host, "-"),
    }
}
