//! Rule parser + matcher: any text either parses or returns an error (never panics), and a parsed
//! rule can be matched against any request without panicking.
//! Input: line 1 the rule, then host, path, query, method, one `name: value` header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::rules::{RequestView, Rule};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let source = lines.next().unwrap_or("");
    let Ok(rule) = Rule::parse(source) else {
        return;
    };
    let _ = rule.required_hosts();
    let _ = rule.default_priority();
    let host = lines.next().unwrap_or("example.com").to_ascii_lowercase();
    let path = lines.next().unwrap_or("/");
    let query = lines.next();
    let method = lines
        .next()
        .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(http::Method::GET);
    let mut headers = http::HeaderMap::new();
    if let Some((name, value)) = lines.next().and_then(|h| h.split_once(':')) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.trim().as_bytes()),
            http::HeaderValue::from_str(value.trim()),
        ) {
            headers.insert(name, value);
        }
    }
    let view = RequestView {
        host: &host,
        path,
        query,
        method: &method,
        headers: &headers,
        client_ip: std::net::IpAddr::from([10, 0, 0, 7]),
    };
    let _ = rule.matches(&view);
});
