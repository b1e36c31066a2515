//! Routing end to end: real sockets, in-process backends, swarmgate in-process.

mod support;

use std::collections::HashMap;

use support::*;

#[tokio::test]
async fn path_prefix_with_strip_prefix_reaches_backend_without_prefix() {
    let api = backend("api").await;
    let yaml = format!(
        r#"
http:
  routers:
    api:
      rule: "PathPrefix(`/api`)"
      service: api
      middlewares: [api-strip]
  middlewares:
    api-strip:
      stripPrefix:
        prefixes: ["/api"]
  services:
    api:
      loadBalancer:
        servers:
          - url: "{}"
"#,
        api.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let reply = get(&c, &gw.url("/api/tasks?done=1"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = api.last_seen();
    assert_eq!(seen.uri, "/tasks?done=1");
    assert_eq!(seen.headers["x-forwarded-prefix"], "/api");
    // Outside the prefix: no route.
    assert_eq!(get(&c, &gw.url("/other"), None).await.status, 404);
    gw.stop().await;
}

#[tokio::test]
async fn host_routing_with_two_hosts_and_forwarded_headers() {
    let (a, b) = (backend("a").await, backend("b").await);
    let yaml = format!(
        r#"
http:
  routers:
    a:
      rule: "Host(`a.example.com`)"
      service: a
    b:
      rule: "Host(`B.example.com`)"
      service: b
  services:
    a:
      loadBalancer:
        servers: [{{url: "{}"}}]
    b:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        a.url(),
        b.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let ra = get(&c, &gw.url("/x"), Some("a.example.com")).await;
    let rb = get(&c, &gw.url("/x"), Some("b.EXAMPLE.com:8080")).await;
    assert!(ra.body.starts_with("a\n"), "{}", ra.body);
    assert!(rb.body.starts_with("b\n"), "{}", rb.body);
    assert_eq!(
        get(&c, &gw.url("/x"), Some("c.example.com")).await.status,
        404
    );

    let seen = b.last_seen();
    assert_eq!(
        seen.headers["host"], "b.EXAMPLE.com:8080",
        "Host passes through by default"
    );
    assert_eq!(seen.headers["x-forwarded-host"], "b.EXAMPLE.com:8080");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-port"], "8080");
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-real-ip"], "127.0.0.1");
    gw.stop().await;
}

#[tokio::test]
async fn round_robin_across_three_backends_is_even() {
    let backends = [
        backend("b0").await,
        backend("b1").await,
        backend("b2").await,
    ];
    let urls: Vec<String> = backends.iter().map(Backend::url).collect();
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &urls, "")).await;
    let c = client();
    for _ in 0..300 {
        assert_eq!(get(&c, &gw.url("/"), None).await.status, 200);
    }
    for b in &backends {
        assert!(
            (99..=101).contains(&b.hits()),
            "{} got {}",
            b.name,
            b.hits()
        );
    }
    gw.stop().await;
}

#[tokio::test]
async fn killed_backend_leaves_rotation_without_5xx() {
    let backends = [
        backend("k0").await,
        backend("k1").await,
        backend("k2").await,
    ];
    let urls: Vec<String> = backends.iter().map(Backend::url).collect();
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &urls, "")).await;
    let c = client();
    for _ in 0..30 {
        assert_eq!(get(&c, &gw.url("/"), None).await.status, 200);
    }
    backends[1].kill();
    let before = backends[1].hits();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for _ in 0..300 {
        *statuses
            .entry(get(&c, &gw.url("/"), None).await.status.as_u16())
            .or_default() += 1;
    }
    assert_eq!(
        statuses.get(&200),
        Some(&300),
        "statuses after kill: {statuses:?}"
    );
    assert_eq!(backends[1].hits(), before);
    let (h0, h2) = (backends[0].hits(), backends[2].hits());
    assert!(
        h0.abs_diff(h2) <= 30,
        "remaining backends share the load: {h0} vs {h2}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn http2_client_to_http1_backend() {
    let api = backend("h1").await;
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[api.url()], "")).await;
    let reply = get(&h2_client(), &gw.url("/over-h2"), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2);
    let seen = api.last_seen();
    assert_eq!(seen.version, http::Version::HTTP_11);
    assert_eq!(seen.uri, "/over-h2");
    assert_eq!(seen.headers["host"], gw.addr.to_string());
    gw.stop().await;
}

#[tokio::test]
async fn h2c_server_scheme_speaks_http2_upstream() {
    let grpc = backend("grpc").await;
    let url = format!("h2c://{}", grpc.addr);
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[url], "")).await;
    let reply = get(&client(), &gw.url("/svc.Method"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(grpc.last_seen().version, http::Version::HTTP_2);
    gw.stop().await;
}

#[tokio::test]
async fn errors_map_to_404_502_503_504() {
    let slow = backend("slow").await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let yaml = format!(
        r#"
http:
  routers:
    dead:
      rule: "PathPrefix(`/dead`)"
      service: dead
    empty:
      rule: "PathPrefix(`/empty`)"
      service: empty
    slow:
      rule: "PathPrefix(`/slow`)"
      service: slow
  services:
    dead:
      loadBalancer:
        servers: [{{url: "http://{dead}"}}]
    empty:
      loadBalancer:
        servers: []
    slow:
      loadBalancer:
        serversTransport: quick
        servers: [{{url: "{}"}}]
  serversTransports:
    quick:
      forwardingTimeouts:
        responseHeaderTimeout: 300ms
"#,
        slow.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let cases = [
        ("/nothing", 404),
        ("/dead", 502),
        ("/empty", 503),
        ("/slow", 504),
    ];
    for (path, status) in cases {
        let reply = get(&c, &gw.url(path), None).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
        assert!(
            reply.body.len() < 64 && reply.body.starts_with(&status.to_string()),
            "{path}: {:?}",
            reply.body
        );
    }
    // The dead server is passively ejected, but it is the only one: it is still tried (panic
    // mode), so the answer stays 502 and the service recovers as soon as the server is back.
    assert_eq!(get(&c, &gw.url("/dead"), None).await.status, 502);
    gw.stop().await;
}

#[tokio::test]
async fn pass_host_header_false_sends_the_server_authority() {
    let api = backend("api").await;
    let gw = gateway(&route_yaml(
        "PathPrefix(`/`)",
        &[api.url()],
        "        passHostHeader: false\n",
    ))
    .await;
    get(&client(), &gw.url("/"), Some("public.example.com")).await;
    assert_eq!(api.last_seen().headers["host"], api.addr.to_string());
    gw.stop().await;
}

#[tokio::test]
async fn request_and_response_bodies_stream_through() {
    let api = backend("echo").await;
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[api.url()], "")).await;
    let big = "x".repeat(3 * 1024 * 1024);
    let req = http::Request::post(gw.url("/upload"))
        .body(http_body_util::Full::new(bytes::Bytes::from(big.clone())))
        .unwrap();
    let reply = send(&client(), req).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), "echo\n".len() + big.len());
    gw.stop().await;
}

#[tokio::test]
async fn weighted_service_splits_traffic_by_weight() {
    let (stable, canary) = (backend("stable").await, backend("canary").await);
    let yaml = format!(
        r#"
http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: split
  services:
    split:
      weighted:
        services:
          - name: stable
            weight: 3
          - name: canary
            weight: 1
    stable:
      loadBalancer:
        servers: [{{url: "{}"}}]
    canary:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        stable.url(),
        canary.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    for _ in 0..400 {
        assert_eq!(get(&c, &gw.url("/"), None).await.status, 200);
    }
    assert_eq!((stable.hits(), canary.hits()), (300, 100));
    gw.stop().await;
}

/// Sequential requests, with and without a response body, share one upstream connection: each
/// goes back to the pool as soon as its response body is done.
#[tokio::test]
async fn sequential_requests_reuse_one_upstream_connection() {
    let be = backend("be").await;
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[be.url()], "")).await;
    let c = client();
    for i in 0..40 {
        let method = if i % 2 == 0 { "GET" } else { "HEAD" };
        let req = http::Request::builder()
            .method(method)
            .uri(gw.url(&format!("/n{i}")))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let reply = send(&c, req).await;
        assert_eq!(reply.status, 200, "{method} {i}");
    }
    assert_eq!(be.hits(), 40);
    assert_eq!(be.connections(), 1, "upstream connections were not reused");
}

/// Issue 16 point 5, as Traefik 3.7.15 answers: `example.com.` reaches `Host(`example.com`)`,
/// `[10::10]` (with or without a port) reaches `Host(`10::10`)`, `Host(`*`)` takes the rest.
#[tokio::test]
async fn host_matching_ignores_a_trailing_dot_and_ipv6_brackets() {
    let (exact, v6, all) = (
        backend("exact").await,
        backend("v6").await,
        backend("all").await,
    );
    let yaml = format!(
        r#"
http:
  routers:
    exact:
      rule: "Host(`example.com`)"
      service: exact
    v6:
      rule: "Host(`10::10`)"
      service: v6
    all:
      rule: "Host(`*`)"
      service: all
      priority: 1
  services:
    exact:
      loadBalancer:
        servers: [{{url: "{}"}}]
    v6:
      loadBalancer:
        servers: [{{url: "{}"}}]
    all:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        exact.url(),
        v6.url(),
        all.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    for (host, want) in [
        ("example.com", "exact"),
        ("example.com.", "exact"),
        ("EXAMPLE.com.:8080", "exact"),
        ("[10::10]", "v6"),
        ("[10::10]:80", "v6"),
        ("example.org", "all"),
        ("example.com..", "all"),
    ] {
        let reply = get(&c, &gw.url("/"), Some(host)).await;
        assert_eq!(reply.status, 200, "{host}: {}", reply.body);
        assert!(
            reply.body.starts_with(&format!("{want}\n")),
            "{host}: {}",
            reply.body
        );
    }
    gw.stop().await;
}

/// Issue 16 point 2: as Traefik, an untrusted client's `X-Forwarded-*` is replaced before routing,
/// so a `Header` rule sees the value swarmgate sets (`http` for a plain request), never the
/// client's.
#[tokio::test]
async fn header_rules_never_see_a_spoofed_forwarded_proto() {
    let (secure, plain) = (backend("secure").await, backend("plain").await);
    let yaml = format!(
        r#"
http:
  routers:
    secure:
      rule: "Header(`X-Forwarded-Proto`, `https`)"
      service: secure
    plain:
      rule: "Header(`X-Forwarded-Proto`, `http`) && Header(`X-Forwarded-Host`, `app.example`)"
      service: plain
  services:
    secure:
      loadBalancer:
        servers: [{{url: "{}"}}]
    plain:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        secure.url(),
        plain.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let spoofed = http::Request::get(gw.url("/"))
        .header("host", "app.example")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let reply = send(&c, spoofed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.starts_with("plain\n"), "{}", reply.body);
    assert_eq!(secure.hits(), 0);
    let seen = plain.last_seen();
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-host"], "app.example");
    gw.stop().await;
}

/// Issue 16 points 3 and 6: `%20` matches a space in a Path rule, `%2F` is forwarded (Traefik
/// 3.7's defaults) but never matches a real slash, a backslash is forwarded as `%5C`.
#[tokio::test]
async fn encoded_characters_route_and_forward_as_traefik() {
    let (space, slash, rest) = (
        backend("space").await,
        backend("slash").await,
        backend("rest").await,
    );
    let yaml = format!(
        r#"
http:
  routers:
    space:
      rule: "Path(`/foo bar`)"
      service: space
    slash:
      rule: "Path(`/a/b`)"
      service: slash
    rest:
      rule: "PathPrefix(`/`)"
      service: rest
  services:
    space:
      loadBalancer:
        servers: [{{url: "{}"}}]
    slash:
      loadBalancer:
        servers: [{{url: "{}"}}]
    rest:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        space.url(),
        slash.url(),
        rest.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let reply = get(&c, &gw.url("/foo%20bar"), None).await;
    assert!(reply.body.starts_with("space\n"), "{}", reply.body);
    assert_eq!(space.last_seen().uri, "/foo%20bar");
    let reply = get(&c, &gw.url("/a%2fb"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.starts_with("rest\n"), "{}", reply.body);
    assert_eq!(rest.last_seen().uri, "/a%2Fb");
    assert_eq!(slash.hits(), 0);
    assert_eq!(get(&c, &gw.url("/a%zz"), None).await.status, 400);
    gw.stop().await;
}
