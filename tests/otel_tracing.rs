//! OpenTelemetry tracing against a real OTLP receiver (`support::otlp`, decoding the posted
//! protobufs with `opentelemetry-proto`): span names, attributes, parent/child ids, W3C
//! propagation to the backend, HTTP and gRPC export, and a dead collector that must not slow
//! requests.
#![allow(clippy::unwrap_used, clippy::disallowed_types)] // test: std Mutex holds stalled sockets

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use support::otlp::{Got, Receiver};
use support::{backend, client, gateway_with, route_yaml, send};

const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn tracing_toml(endpoint: &str, extra: &str) -> String {
    format!(
        "[tracing]\nserviceName = \"edge\"\nsafeQueryParams = [\"page\"]\ncapturedRequestHeaders = [\"X-Team\"]\ncapturedResponseHeaders = [\"X-Backend\"]\n[tracing.resourceAttributes]\n\"deployment.environment\" = \"test\"\n[tracing.globalAttributes]\nteam = \"edge\"\n[tracing.otlp.http]\nendpoint = \"{endpoint}\"\n{extra}"
    )
}

fn one<'a>(spans: &'a [Got], name: &str) -> &'a Got {
    let found: Vec<&Got> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name} span in {spans:#?}");
    found[0]
}

/// `traceparent` the backend saw: (trace id, parent span id, flags).
fn backend_traceparent(seen: &support::Seen) -> (String, String, String) {
    let tp = seen
        .headers
        .get("traceparent")
        .expect("backend got a traceparent")
        .to_str()
        .unwrap()
        .to_string();
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    assert_eq!(parts[0], "00");
    (parts[1].into(), parts[2].into(), parts[3].into())
}

#[tokio::test]
async fn incoming_trace_is_continued_and_the_backend_is_a_child_of_reverse_proxy() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &tracing_toml(&receiver.http_endpoint(), ""),
    )
    .await;
    let req = Request::get(gw.url("/shop/cart?page=2&token=s3cret"))
        .header("host", "shop.example")
        .header("traceparent", INCOMING)
        .header("tracestate", "vendor=abc")
        .header("user-agent", "otel-test/1")
        .header("x-team", "blue")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = send(&client(), req).await;
    assert_eq!(reply.status, 200);

    let spans = receiver.wait_for(2).await;
    let server = one(&spans, "GET");
    let proxy = one(&spans, "ReverseProxy");
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(proxy.kind, SpanKind::Client);
    // Same trace as the caller; our SERVER span is the caller's child, ReverseProxy ours.
    assert_eq!(server.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(server.parent, "00f067aa0ba902b7");
    assert_eq!(proxy.trace_id, server.trace_id);
    assert_eq!(proxy.parent, server.span_id);
    // The backend's parent is the ReverseProxy span, and tracestate travels on.
    let seen = be.last_seen();
    let (trace, parent, flags) = backend_traceparent(&seen);
    assert_eq!(trace, server.trace_id);
    assert_eq!(parent, proxy.span_id);
    assert_eq!(flags, "01");
    assert_eq!(seen.headers.get("tracestate").unwrap(), "vendor=abc");

    // Traefik 3.7's entrypoint span attributes.
    for key in [
        "client.address",
        "client.port",
        "entry_point",
        "http.request.body.size",
        "http.request.method",
        "http.response.status_code",
        "network.peer.address",
        "network.peer.port",
        "network.protocol.version",
        "server.address",
        "url.path",
        "url.query",
        "url.scheme",
        "user_agent.original",
    ] {
        assert!(
            server.attr(key).is_some(),
            "SERVER span lacks {key}: {server:#?}"
        );
    }
    assert_eq!(server.attr("entry_point"), Some("web"));
    assert_eq!(server.attr("http.request.method"), Some("GET"));
    assert_eq!(server.attr("http.response.status_code"), Some("200"));
    assert_eq!(server.attr("server.address"), Some("shop.example"));
    assert_eq!(server.attr("url.path"), Some("/shop/cart"));
    assert_eq!(server.attr("url.query"), Some("page=2&token=REDACTED"));
    assert_eq!(server.attr("url.scheme"), Some("http"));
    assert_eq!(server.attr("user_agent.original"), Some("otel-test/1"));
    assert_eq!(server.attr("network.protocol.version"), Some("1.1"));
    assert_eq!(server.attr("client.address"), Some("127.0.0.1"));
    assert_eq!(server.attr("http.request.header.x-team"), Some("blue"));
    assert!(!server.error);

    let port = be.addr.port().to_string();
    assert_eq!(proxy.attr("server.port"), Some(port.as_str()));
    assert_eq!(proxy.attr("server.address"), Some("127.0.0.1"));
    assert_eq!(
        proxy.attr("url.full"),
        Some(format!("http://127.0.0.1:{port}/shop/cart?page=2&token=REDACTED").as_str())
    );
    assert_eq!(proxy.attr("http.response.status_code"), Some("200"));
    assert_eq!(proxy.attr("http.request.method"), Some("GET"));

    assert_eq!(server.resource("service.name"), Some("edge"));
    assert_eq!(server.resource("deployment.environment"), Some("test"));
    assert_eq!(server.resource("team"), Some("edge"), "globalAttributes");
    assert_eq!(server.attr("team"), None);
    let arrivals = receiver.arrivals();
    assert!(arrivals.iter().all(|a| a.path == "/v1/traces" && !a.grpc));
    gw.stop().await;
}

#[tokio::test]
async fn a_request_without_traceparent_starts_a_trace() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &tracing_toml(&receiver.http_endpoint(), ""),
    )
    .await;
    let reply = support::get(&client(), &gw.url("/"), None).await;
    assert_eq!(reply.status, 200);
    let spans = receiver.wait_for(2).await;
    let server = one(&spans, "GET");
    let proxy = one(&spans, "ReverseProxy");
    assert_eq!(server.parent, "", "a fresh trace has a root span");
    assert_eq!(proxy.parent, server.span_id);
    let (trace, parent, _) = backend_traceparent(&be.last_seen());
    assert_eq!(trace, server.trace_id);
    assert_eq!(parent, proxy.span_id);
    assert!(server.attr("url.query").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn detailed_verbosity_adds_router_and_service_spans() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[entryPoints.web.observability]\ntraceVerbosity = \"detailed\"\n{}",
            tracing_toml(&receiver.http_endpoint(), "")
        ),
    )
    .await;
    let reply = support::get(&client(), &gw.url("/x"), None).await;
    assert_eq!(reply.status, 200);
    let spans = receiver.wait_for(4).await;
    let server = one(&spans, "GET");
    let router = one(&spans, "Router");
    let service = one(&spans, "Service");
    let proxy = one(&spans, "ReverseProxy");
    assert_eq!(router.parent, server.span_id);
    assert_eq!(service.parent, router.span_id);
    assert_eq!(proxy.parent, service.span_id);
    assert_eq!(router.attr("http.route"), Some("PathPrefix(`/`)"));
    assert_eq!(router.attr("traefik.router.name"), Some("app@file"));
    assert_eq!(router.attr("traefik.service.name"), Some("app@file"));
    assert_eq!(service.attr("traefik.service.name"), Some("app@file"));
    let (_, parent, _) = backend_traceparent(&be.last_seen());
    assert_eq!(parent, proxy.span_id);
    gw.stop().await;
}

#[tokio::test]
async fn an_entrypoint_with_tracing_off_passes_traceparent_unchanged() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[entryPoints.web.observability]\ntracing = false\n{}",
            tracing_toml(&receiver.http_endpoint(), "")
        ),
    )
    .await;
    let req = Request::get(gw.url("/"))
        .header("traceparent", INCOMING)
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send(&client(), req).await.status, 200);
    assert_eq!(be.last_seen().headers.get("traceparent").unwrap(), INCOMING);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.spans().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn spans_are_exported_over_grpc() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[tracing.otlp.grpc]\nendpoint = \"{}\"\ninsecure = true\n[tracing.otlp.grpc.headers]\nx-tenant = \"t1\"\n",
            receiver.grpc_endpoint()
        ),
    )
    .await;
    let reply = support::get(&client(), &gw.url("/"), None).await;
    assert_eq!(reply.status, 200);
    let spans = receiver.wait_for(2).await;
    let server = one(&spans, "GET");
    let proxy = one(&spans, "ReverseProxy");
    assert_eq!(proxy.parent, server.span_id);
    assert_eq!(server.resource("service.name"), Some("traefik"));
    let arrivals = receiver.arrivals();
    assert!(!arrivals.is_empty());
    assert!(arrivals.iter().all(|a| a.grpc));
    assert_eq!(arrivals[0].headers.get("x-tenant").unwrap(), "t1");
    gw.stop().await;
}

#[tokio::test]
async fn a_dead_collector_never_slows_requests_and_drops_are_counted() {
    // A collector that accepts connections and never answers: every export waits its timeout.
    let stall = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stall_addr = stall.local_addr().unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = stall.accept().await {
            keep.lock().unwrap().push(conn);
        }
    });
    let be = backend("a").await;
    let gw = gateway_with(
        &format!(
            "http:\n  routers:\n    metrics:\n      rule: \"Path(`/metrics`)\"\n      service: prometheus@internal\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
            be.url()
        ),
        &format!(
            "[metrics.prometheus]\nmanualRouting = true\n{}",
            tracing_toml(&format!("http://{stall_addr}/v1/traces"), "")
        ),
    )
    .await;
    let c = client();
    // 2 spans per request: the first batch (512) waits on the stalled collector for the export
    // timeout (10 s) while 2 048 more fill the queue; the spans after that are dropped. Rounds of
    // 500 requests (bounded: 20) until the counter moves, so a slow machine only takes longer.
    let dropped = |body: &str| -> u64 {
        body.lines()
            .find_map(|l| l.strip_prefix("swarmgate_tracing_spans_dropped_total "))
            .expect("drop counter exported")
            .trim()
            .parse()
            .unwrap()
    };
    let mut slowest = Duration::ZERO;
    let mut sent = 0;
    let mut last = String::new();
    for _round in 0..20 {
        for _ in 0..500 {
            let t = Instant::now();
            let reply = support::get(&c, &gw.url("/"), None).await;
            assert_eq!(reply.status, 200);
            slowest = slowest.max(t.elapsed());
        }
        sent += 500;
        last = support::get(&c, &gw.url("/metrics"), None).await.body;
        if dropped(&last) > 0 {
            break;
        }
    }
    // A request that waited on the collector would take the export timeout (10 s); the bound
    // leaves room for a loaded machine.
    assert!(
        slowest < Duration::from_secs(3),
        "a request waited {slowest:?} on a dead collector"
    );
    assert!(
        dropped(&last) > 0,
        "no drop counted after {sent} requests:\n{last}"
    );
    gw.stop().await;
}

/// req/s of `wrk` (2 s warm-up, then `secs` seconds, 1 thread, 20 connections) on `url`.
fn wrk(url: &str, secs: u32) -> f64 {
    let run = |d: u32| {
        let out = std::process::Command::new("wrk")
            .args(["-t1", "-c20", &format!("-d{d}s"), url])
            .output()
            .expect("wrk is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(2);
    let text = run(secs);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in {text}"))
}

/// Tracing on (sampleRate 1, collector up) against off, on the same route: the ratio for
/// BENCHMARKS.md. Bounded (2 × 7 s of wrk); `#[ignore]`: a measurement, not a check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand with --ignored --nocapture"]
async fn bench_tracing_overhead() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let route = route_yaml("PathPrefix(`/`)", &[be.url()], "");
    let off = gateway_with(&route, "").await;
    let url = off.url("/");
    let rate_off = tokio::task::spawn_blocking(move || wrk(&url, 5))
        .await
        .unwrap();
    off.stop().await;
    let on = gateway_with(&route, &tracing_toml(&receiver.http_endpoint(), "")).await;
    let url = on.url("/");
    let rate_on = tokio::task::spawn_blocking(move || wrk(&url, 5))
        .await
        .unwrap();
    let spans = receiver.wait_for(1).await.len();
    on.stop().await;
    eprintln!(
        "tracing off: {rate_off:.0} req/s, on: {rate_on:.0} req/s, ratio {:.3} ({spans} spans received)",
        rate_on / rate_off
    );
    assert!(spans > 0);
}

#[test]
fn check_refuses_tracing_it_cannot_apply() {
    let cfg: swarmgate::config::StaticConfig = toml::from_str(
        "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[tracing.otlp.http]\nendpoint = \"http://collector:4318\"\n[tracing.otlp.http.tls]\nca = \"/ca.pem\"\n",
    )
    .unwrap();
    let issues = swarmgate::app::check(&cfg, std::path::Path::new("."));
    assert!(
        issues
            .iter()
            .any(|i| i.to_string().contains("tracing.otlp.http.tls") && !i.warning),
        "{issues:?}"
    );
}

/// A router's `observability` over its entrypoint's (tracing off there): the traced router
/// starts the trace, detailed, with one span per middleware between Router and Service (a
/// middleware Traefik does not trace, `contentType`, makes none; a basicAuth that refuses ends the
/// chain with its span marked as an error); the untraced router exports nothing and passes
/// the caller's `traceparent` on.
#[tokio::test]
async fn router_observability_switches_tracing_and_middleware_spans() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let dynamic = format!(
        r#"http:
  routers:
    traced:
      rule: "PathPrefix(`/traced`)"
      service: app
      middlewares: [team, again, prefix]
      observability:
        tracing: true
        traceVerbosity: detailed
    guarded:
      rule: "PathPrefix(`/guarded`)"
      service: app
      middlewares: [team, auth, prefix]
      observability:
        tracing: true
        traceVerbosity: detailed
    plain:
      rule: "PathPrefix(`/plain`)"
      service: app
  middlewares:
    team:
      headers:
        customRequestHeaders:
          X-Mw: "1"
    again:
      contentType:
        autoDetect: false
    prefix:
      addPrefix:
        prefix: /api
    auth:
      basicAuth:
        users: ["u:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
  services:
    app:
      loadBalancer:
        servers:
          - url: "{}"
"#,
        be.url()
    );
    let gw = gateway_with(
        &dynamic,
        &format!(
            "[entryPoints.web.observability]\ntracing = false\n{}",
            tracing_toml(&receiver.http_endpoint(), "")
        ),
    )
    .await;
    let req = Request::get(gw.url("/plain"))
        .header("traceparent", INCOMING)
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send(&client(), req).await.status, 200);
    assert_eq!(be.last_seen().headers.get("traceparent").unwrap(), INCOMING);

    let reply = support::get(&client(), &gw.url("/traced"), None).await;
    assert_eq!(reply.status, 200);
    let spans = receiver.wait_for(6).await;
    let server = one(&spans, "GET");
    let router = one(&spans, "Router");
    let headers = one(&spans, "Headers");
    let prefix = one(&spans, "AddPrefix");
    let service = one(&spans, "Service");
    let proxy = one(&spans, "ReverseProxy");
    assert_eq!(router.parent, server.span_id);
    assert_eq!(headers.parent, router.span_id);
    assert_eq!(prefix.parent, headers.span_id);
    assert_eq!(service.parent, prefix.span_id);
    assert_eq!(proxy.parent, service.span_id);
    assert_eq!(headers.kind, SpanKind::Internal);
    assert_eq!(headers.attr("traefik.middleware.name"), Some("team@file"));
    assert_eq!(prefix.attr("traefik.middleware.name"), Some("prefix@file"));
    assert_eq!(server.attr("url.path"), Some("/traced"));
    // Only the traced request's spans: the plain router made none.
    assert_eq!(spans.len(), 6, "{spans:#?}");

    let reply = support::get(&client(), &gw.url("/guarded"), None).await;
    assert_eq!(reply.status, 401);
    let spans = receiver.wait_for(10).await;
    let auth = one(&spans, "BasicAuth");
    assert!(auth.error, "{auth:#?}");
    assert_eq!(auth.attr("traefik.middleware.name"), Some("auth@file"));
    // The chain ended at basicAuth: no AddPrefix, Service or ReverseProxy span for it.
    let trace: Vec<&Got> = spans
        .iter()
        .filter(|s| s.trace_id == auth.trace_id)
        .collect();
    let names: Vec<&str> = trace.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(trace.len(), 4, "{names:?}");
    for name in ["GET", "Router", "Headers", "BasicAuth"] {
        assert!(names.contains(&name), "{names:?}");
    }
    gw.stop().await;
}

/// A route with `retry` (which sends a copy of the request head per attempt) still traces the
/// upstream call: a `ReverseProxy` span, and the backend gets its `traceparent` (the copy used to
/// lose the trace context).
#[tokio::test]
async fn a_retried_route_still_traces_the_upstream_call() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      middlewares: [again]\n  middlewares:\n    again:\n      retry:\n        attempts: 2\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
        be.url()
    );
    let gw = gateway_with(&yaml, &tracing_toml(&receiver.http_endpoint(), "")).await;
    let req = Request::get(gw.url("/"))
        .header("traceparent", INCOMING)
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send(&client(), req).await.status, 200);
    let spans = receiver.wait_for(2).await;
    let server = one(&spans, "GET");
    let proxy = one(&spans, "ReverseProxy");
    assert_eq!(proxy.parent, server.span_id);
    let (trace, parent, _) = backend_traceparent(&be.last_seen());
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(parent, proxy.span_id);
    gw.stop().await;
}
