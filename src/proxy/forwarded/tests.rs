use super::*;

#[test]
fn hop_by_hop_headers_go_and_connection_tokens_too() {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONNECTION,
        HeaderValue::from_static("close, x-secret"),
    );
    h.insert("x-secret", HeaderValue::from_static("1"));
    h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
    h.insert(header::TE, HeaderValue::from_static("trailers, deflate"));
    h.insert("x-kept", HeaderValue::from_static("1"));
    remove_hop_by_hop(&mut h);
    assert!(h.get("x-secret").is_none() && h.get("keep-alive").is_none());
    assert!(h.get(header::CONNECTION).is_none());
    assert_eq!(h.get(header::TE).unwrap(), "trailers");
    assert_eq!(h.get("x-kept").unwrap(), "1");
}

#[test]
fn hop_by_hop_only_what_is_there_goes() {
    // Nothing hop-by-hop: the map is left as it is.
    let mut h = HeaderMap::new();
    h.insert("x-kept", HeaderValue::from_static("1"));
    h.insert(header::HOST, HeaderValue::from_static("a"));
    remove_hop_by_hop(&mut h);
    assert_eq!(h.len(), 2);
    // The usual tokens need no header of their own; a listed custom one goes.
    let mut h = HeaderMap::new();
    h.insert(
        header::CONNECTION,
        HeaderValue::from_static("Keep-Alive, Upgrade, X-Hop"),
    );
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert("x-hop", HeaderValue::from_static("1"));
    h.insert("x-kept", HeaderValue::from_static("1"));
    remove_hop_by_hop(&mut h);
    assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    // `TE` alone: only `trailers` survives, other codings do not.
    let mut h = HeaderMap::new();
    h.insert(header::TE, HeaderValue::from_static("gzip"));
    remove_hop_by_hop(&mut h);
    assert!(h.is_empty());
}

#[test]
fn trusted_forwarded_headers_are_kept_as_sent() {
    let mut h = HeaderMap::new();
    for (name, value) in [
        ("x-real-ip", "1.2.3.4"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "front.example"),
        ("x-forwarded-port", "8443"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    let policy = ForwardedPolicy {
        insecure: true,
        trusted: Vec::new(),
    };
    let c = conn("10.1.2.3");
    sanitize_forwarded(&mut h, &c, &policy);
    let host = HeaderValue::from_static("back.example:80");
    rewrite_request_headers(&mut h, &c, Some(&host), None);
    assert_eq!(h.get("x-forwarded-for").unwrap(), "10.1.2.3");
    assert_eq!(h.get("x-real-ip").unwrap(), "1.2.3.4");
    assert_eq!(h.get("x-forwarded-proto").unwrap(), "https");
    assert_eq!(h.get("x-forwarded-host").unwrap(), "front.example");
    assert_eq!(h.get("x-forwarded-port").unwrap(), "8443");
    // Untrusted: every one of them is replaced.
    sanitize_forwarded(&mut h, &c, &ForwardedPolicy::default());
    rewrite_request_headers(&mut h, &c, Some(&host), None);
    assert_eq!(h.get("x-real-ip").unwrap(), "10.1.2.3");
    assert_eq!(h.get("x-forwarded-proto").unwrap(), "http");
    assert_eq!(h.get("x-forwarded-host").unwrap(), "back.example:80");
    assert_eq!(h.get("x-forwarded-port").unwrap(), "80");
}

fn conn(ip: &str) -> ConnInfo {
    ConnInfo {
        peer: format!("{ip}:5555").parse().unwrap(),
        local: "127.0.0.1:80".parse().unwrap(),
        tls: false,
        tls_options: 0,
        client_certs: None,
        negotiated: None,
    }
}

#[test]
fn untrusted_forwarded_headers_are_replaced() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
    h.insert("x-real-ip", HeaderValue::from_static("6.6.6.6"));
    let host = HeaderValue::from_static("app.example.com:8080");
    let c = conn("10.1.2.3");
    sanitize_forwarded(&mut h, &c, &ForwardedPolicy::default());
    rewrite_request_headers(&mut h, &c, Some(&host), None);
    assert_eq!(h.get("x-forwarded-for").unwrap(), "10.1.2.3");
    assert_eq!(h.get("x-real-ip").unwrap(), "10.1.2.3");
    assert_eq!(h.get("x-forwarded-proto").unwrap(), "http");
    assert_eq!(h.get("x-forwarded-host").unwrap(), "app.example.com:8080");
    assert_eq!(h.get("x-forwarded-port").unwrap(), "8080");
}

/// Traefik always writes its host name, replacing a client's or a trusted hop's.
#[test]
fn forwarded_server_is_always_this_host() {
    let c = conn("10.1.2.3");
    let insecure = ForwardedPolicy {
        insecure: true,
        trusted: Vec::new(),
    };
    for policy in [ForwardedPolicy::default(), insecure] {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-server",
            HeaderValue::from_static("edge.example"),
        );
        sanitize_forwarded(&mut h, &c, &policy);
        rewrite_request_headers(&mut h, &c, None, None);
        assert_eq!(h.get("x-forwarded-server"), Some(server_name()));
    }
    assert!(!server_name().is_empty());
}

/// What a headers middleware decided stands: `X-Forwarded-For: ""` sends none, a custom
/// Host keeps the client's host in X-Forwarded-Host/-Port, a header it removed stays away.
#[test]
fn a_headers_middleware_decision_stands() {
    let c = conn("10.1.2.3");
    let custom_host = HeaderValue::from_static("example.com");
    let overrides = ForwardedOverrides {
        client_host: Some(HeaderValue::from_static("example.org:8080")),
        omit_for: true,
        server: true,
        real_ip: true,
        ..Default::default()
    };
    let mut h = HeaderMap::new();
    rewrite_request_headers(&mut h, &c, Some(&custom_host), Some(&overrides));
    assert_eq!(h.get("x-forwarded-for"), None);
    assert_eq!(h.get("x-forwarded-server"), None);
    assert_eq!(h.get("x-real-ip"), None);
    assert_eq!(h.get("x-forwarded-host").unwrap(), "example.org:8080");
    assert_eq!(h.get("x-forwarded-port").unwrap(), "8080");
    assert_eq!(h.get("x-forwarded-proto").unwrap(), "http");
    // A later middleware set X-Forwarded-For again: the client address is appended.
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
    rewrite_request_headers(&mut h, &c, Some(&custom_host), Some(&overrides));
    assert_eq!(h.get("x-forwarded-for").unwrap(), "1.2.3.4, 10.1.2.3");
}

#[test]
fn trusted_forwarded_for_is_appended() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
    let policy = ForwardedPolicy {
        insecure: false,
        trusted: vec!["10.0.0.0/8".parse().unwrap()],
    };
    let c = conn("10.1.2.3");
    sanitize_forwarded(&mut h, &c, &policy);
    rewrite_request_headers(&mut h, &c, None, None);
    assert!(!effective_tls(&h, &c, &policy));
    assert_eq!(h.get("x-forwarded-for").unwrap(), "1.2.3.4, 10.1.2.3");
}

#[test]
fn prepare_forwarded_replaces_untrusted_values_before_routing() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    h.insert("x-forwarded-port", HeaderValue::from_static("443"));
    h.insert("host", HeaderValue::from_static("app.example"));
    h.insert(
        "connection",
        HeaderValue::from_static("keep-alive, Upgrade"),
    );
    h.insert("upgrade", HeaderValue::from_static("websocket"));
    let uri: Uri = "/chat".parse().unwrap();
    let c = conn("10.1.2.3");
    prepare_forwarded(&mut h, &uri, &c, &ForwardedPolicy::default());
    assert_eq!(h.get("x-forwarded-proto").unwrap(), "ws");
    assert_eq!(h.get("x-forwarded-port").unwrap(), "80");
    assert_eq!(h.get("x-forwarded-host").unwrap(), "app.example");
    assert_eq!(h.get("x-real-ip").unwrap(), "10.1.2.3");
    // A trusted hop's values stay; the port follows its `https`.
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    let policy = ForwardedPolicy {
        insecure: true,
        trusted: Vec::new(),
    };
    prepare_forwarded(&mut h, &uri, &c, &policy);
    assert_eq!(h.get("x-forwarded-proto").unwrap(), "https");
    assert_eq!(h.get("x-forwarded-port").unwrap(), "443");
    assert!(h.get("x-forwarded-host").is_none());
}
