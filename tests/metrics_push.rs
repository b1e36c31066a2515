//! Pushed metrics (issue 23 §2): `metrics.otlp` against a real OTLP receiver
//! (`support::otlp`, decoding the posted protobufs with `opentelemetry-proto`) over HTTP and
//! gRPC, `metrics.statsD` and `metrics.datadog` against a UDP socket (Datadog also over Unix
//! datagram and stream sockets), `metrics.influxDB2` against a stand-in InfluxDB
//! (`support::push::Influx`): after some requests, the pushed instruments carry Traefik's
//! names, kinds, units, attributes and the counted values.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use support::otlp::{Point, Receiver};
use support::{backend, client, gateway_with, route_yaml, send};

async fn get(gw: &support::Gateway, path: &str) -> u16 {
    let req = Request::get(gw.url(path))
        .header("host", "shop.example")
        .body(Full::new(Bytes::new()))
        .unwrap();
    send(&client(), req).await.status.as_u16()
}

fn one(points: &[Point], pred: impl Fn(&Point) -> bool) -> &Point {
    let found: Vec<&Point> = points.iter().filter(|p| pred(p)).collect();
    assert_eq!(found.len(), 1, "one point in {points:#?}");
    found[0]
}

fn keys(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn otlp_http_push_has_traefiks_instruments_and_the_counted_values() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.otlp]\npushInterval = \"200ms\"\naddRoutersLabels = true\nexplicitBoundaries = [0.5, 2.0]\nserviceName = \"edge\"\n[metrics.otlp.resourceAttributes]\n\"deployment.environment\" = \"test\"\n[metrics.otlp.http]\nendpoint = \"{}\"\n[metrics.otlp.http.headers]\nx-tenant = \"blue\"\n",
            receiver.metrics_endpoint()
        ),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(get(&gw, "/shop").await, 200);
    }
    let got = receiver
        .wait_metric("traefik_entrypoint_requests_total", 10, |p| p.value >= 3.0)
        .await;
    assert!(got, "points: {:#?}", receiver.points());

    let eps = receiver.latest("traefik_entrypoint_requests_total");
    let ep = one(&eps, |p| p.attr("code") == Some("200"));
    assert_eq!(ep.kind, "sum");
    assert!(ep.monotonic && ep.cumulative, "{ep:#?}");
    assert_eq!(ep.unit, "1");
    assert_eq!(ep.value, 3.0);
    assert_eq!(
        ep.keys(),
        keys(&["code", "entrypoint", "method", "protocol"])
    );
    assert_eq!(ep.attr("entrypoint"), Some("web"));
    assert_eq!(ep.attr("method"), Some("GET"));
    assert_eq!(ep.attr("protocol"), Some("http"));
    assert_eq!(ep.resource("service.name"), Some("edge"));
    assert_eq!(ep.resource("deployment.environment"), Some("test"));

    let routers = receiver.latest("traefik_router_requests_total");
    let r = one(&routers, |p| p.attr("code") == Some("200"));
    assert_eq!(
        r.keys(),
        keys(&["code", "method", "protocol", "router", "service"])
    );
    assert_eq!(r.attr("router"), Some("app@file"));
    assert_eq!(r.value, 3.0);
    let services = receiver.latest("traefik_service_requests_total");
    let s = one(&services, |p| p.attr("code") == Some("200"));
    assert_eq!(s.keys(), keys(&["code", "method", "protocol", "service"]));
    assert_eq!(s.attr("service"), Some("app@file"));

    for level in ["entrypoint", "router", "service"] {
        let name = format!("traefik_{level}_request_duration_seconds");
        let h = receiver.latest(&name);
        let h = one(&h, |_| true);
        assert_eq!(h.kind, "histogram", "{name}");
        assert!(h.cumulative, "{name}");
        assert_eq!(h.unit, "s", "{name}");
        assert_eq!(h.bounds, vec![0.5, 2.0], "{name}: explicitBoundaries");
        assert_eq!(h.value, 3.0, "{name}: count");
        assert_eq!(h.buckets.len(), 3, "{name}");
        assert_eq!(h.buckets.iter().sum::<u64>(), 3, "{name}");
        assert!(h.sum > 0.0 && h.sum < 3.0, "{name}: sum {}", h.sum);
        for bytes in ["requests_bytes_total", "responses_bytes_total"] {
            let name = format!("traefik_{level}_{bytes}");
            assert!(!receiver.latest(&name).is_empty(), "{name}");
        }
    }
    let conns = receiver.latest("traefik_open_connections");
    let c = one(&conns, |p| p.attr("entrypoint") == Some("web"));
    assert_eq!(c.kind, "gauge");
    assert_eq!(c.keys(), keys(&["entrypoint", "protocol"]));
    assert_eq!(c.attr("protocol"), Some("TCP"));
    let reloads = receiver.latest("traefik_config_reloads_total");
    assert!(one(&reloads, |_| true).value >= 1.0);
    let last = receiver.latest("traefik_config_last_reload_success");
    let last = one(&last, |_| true);
    assert_eq!(last.kind, "gauge");
    assert!(last.value > 1.6e9, "a Unix time: {}", last.value);

    // Cumulative: a later push carries the running total.
    assert_eq!(get(&gw, "/shop").await, 200);
    assert!(
        receiver
            .wait_metric("traefik_entrypoint_requests_total", 10, |p| p.value == 4.0)
            .await
    );
    let arrival = receiver
        .arrivals()
        .into_iter()
        .find(|a| a.path == "/v1/metrics")
        .unwrap();
    assert_eq!(arrival.headers.get("x-tenant").unwrap(), "blue");
    // Gzip, as Traefik's exporter sends.
    assert!(arrival.gzip, "{arrival:?}");
}

#[tokio::test]
async fn otlp_grpc_push_and_prometheus_boundaries_are_kept_apart() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.prometheus]\nbuckets = [0.1, 0.3]\n[metrics.otlp]\npushInterval = \"200ms\"\naddServicesLabels = false\n[metrics.otlp.grpc]\nendpoint = \"{}\"\ninsecure = true\n",
            receiver.grpc_endpoint()
        ),
    )
    .await;
    assert_eq!(get(&gw, "/x").await, 200);
    assert!(
        receiver
            .wait_metric("traefik_entrypoint_requests_total", 10, |p| p.value >= 1.0)
            .await,
        "points: {:#?}",
        receiver.points()
    );
    let grpc = receiver.arrivals().into_iter().find(|a| a.grpc).unwrap();
    assert_eq!(grpc.headers.get("grpc-encoding").unwrap(), "gzip");
    let h = receiver.latest("traefik_entrypoint_request_duration_seconds");
    let h = one(&h, |_| true);
    // Traefik's default explicitBoundaries, not the Prometheus buckets.
    assert_eq!(
        h.bounds,
        vec![0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
    );
    assert_eq!(h.buckets.len(), 15);
    assert_eq!(h.buckets.iter().sum::<u64>(), 1);
    // addServicesLabels = false, addRoutersLabels unset (false): no such families.
    let names: BTreeSet<String> = receiver.points().iter().map(|p| p.name.clone()).collect();
    assert!(
        !names.iter().any(|n| n.starts_with("traefik_service_")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("traefik_router_")),
        "{names:?}"
    );
}

#[tokio::test]
async fn statsd_lines_are_traefiks_names_and_deltas() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.statsD]\naddress = \"{addr}\"\npushInterval = \"300ms\"\nprefix = \"edge\"\naddRoutersLabels = true\n"
        ),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(get(&gw, "/s").await, 200);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut buf = vec![0u8; 2048];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !lines
        .iter()
        .any(|l| l.starts_with("edge.entrypoint.request.total:"))
    {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => lines.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => break,
        }
    }
    // Read what else that push sent.
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_millis(200), socket.recv_from(&mut buf)).await
    {
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let has = |line: &str| lines.iter().any(|l| l == line);
    assert!(
        has("edge.entrypoint.request.total:2.000000|c\n"),
        "{lines:#?}"
    );
    assert!(has("edge.router.request.total:2.000000|c\n"), "{lines:#?}");
    assert!(has("edge.service.request.total:2.000000|c\n"), "{lines:#?}");
    assert!(
        has("edge.config.reload.total:1.000000|c\n")
            || lines
                .iter()
                .any(|l| l.starts_with("edge.config.reload.total:")),
        "{lines:#?}"
    );
    let timing = lines
        .iter()
        .find(|l| l.starts_with("edge.entrypoint.request.duration:"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(timing.ends_with("|ms|@0.500000\n"), "{timing}");
    for l in &lines {
        assert!(
            l.ends_with('\n') && l.matches('\n').count() == 1,
            "one line per datagram: {l:?}"
        );
    }
    // The next push sends only what changed: one more request, a delta of 1.
    assert_eq!(get(&gw, "/s").await, 200);
    let mut next = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !next
        .iter()
        .any(|l: &String| l.starts_with("edge.entrypoint.request.total:"))
    {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => next.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => break,
        }
    }
    assert!(
        next.iter()
            .any(|l| l == "edge.entrypoint.request.total:1.000000|c\n"),
        "{next:#?}"
    );
}

#[tokio::test]
async fn a_dead_collector_costs_requests_nothing_and_is_counted() {
    let dead = support::tls::free_port();
    let be = backend("a").await;
    // The metrics router must sit under `routers:`: build the document by hand.
    let yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/app`)\"\n      service: app\n    metrics:\n      rule: \"Path(`/metrics`)\"\n      service: prometheus@internal\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
        be.url()
    );
    let gw = gateway_with(
        &yaml,
        &format!(
            "[metrics.prometheus]\nentryPoint = \"web\"\n[metrics.otlp]\npushInterval = \"50ms\"\n[metrics.otlp.http]\nendpoint = \"http://127.0.0.1:{dead}/v1/metrics\"\n"
        ),
    )
    .await;
    let started = std::time::Instant::now();
    for _ in 0..50 {
        assert_eq!(get(&gw, "/app").await, 200);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "50 requests took {took:?}");
    let counted = support::eventually(Duration::from_secs(10), || {
        let url = gw.url("/metrics");
        async move {
            let reply = support::get(&client(), &url, None).await;
            reply
                .body
                .lines()
                .find(|l| l.starts_with("swarmgate_otlp_metrics_push_failures_total "))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= 2)
        }
    })
    .await;
    let body = support::get(&client(), &gw.url("/metrics"), None)
        .await
        .body;
    assert!(counted, "{body}");
    assert!(
        body.contains("swarmgate_otlp_metrics_pushes_total 0"),
        "{body}"
    );
}

/// Stats read from `socket` until one named `until` arrives (at most 10 s), then what else that
/// push sent.
async fn stats_until(socket: &tokio::net::UdpSocket, until: &str) -> Vec<support::push::Stat> {
    let mut stats = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !stats.iter().any(|s: &support::push::Stat| s.name == until)
        && tokio::time::Instant::now() < deadline
    {
        for d in support::push::datagrams(socket, Duration::from_millis(200)).await {
            assert!(
                d.ends_with('\n') && d.matches('\n').count() == 1,
                "one line per datagram: {d:?}"
            );
            stats.extend(d.lines().filter_map(support::push::parse_stat));
        }
    }
    stats
}

fn tags_of(s: &support::push::Stat) -> Vec<(&str, &str)> {
    s.tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn datadog_datagrams_carry_traefiks_tags() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.datadog]\naddress = \"{addr}\"\npushInterval = \"300ms\"\nprefix = \"edge\"\naddRoutersLabels = true\n"
        ),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(get(&gw, "/s").await, 200);
    }
    let stats = stats_until(&socket, "edge.service.request.total").await;
    let find = |name: &str| {
        stats
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} in {stats:#?}"))
    };
    let ep = find("edge.entrypoint.request.total");
    assert_eq!((ep.kind.as_str(), ep.value), ("c", 2.0));
    assert_eq!(
        tags_of(ep),
        [
            ("entrypoint", "web"),
            ("method", "GET"),
            ("protocol", "http"),
            ("code", "200")
        ]
    );
    let router = find("edge.router.request.total");
    assert_eq!(
        tags_of(router)[..2],
        [("router", "app@file"), ("service", "app@file")]
    );
    let svc = find("edge.service.responses.bytes.total");
    assert_eq!(tags_of(svc)[0], ("service", "app@file"));
    let h = find("edge.entrypoint.request.duration");
    assert_eq!(h.kind, "h");
    assert_eq!(h.rate.as_deref(), Some("0.500000"));
    assert!(h.value < 5.0, "seconds, not milliseconds: {h:?}");
    let conns = stats.iter().find(|s| s.name == "edge.open.connections");
    if let Some(c) = conns {
        assert_eq!(c.kind, "g");
        assert_eq!(tags_of(c), [("entrypoint", "web"), ("protocol", "TCP")]);
    }
}

#[tokio::test]
async fn datadog_over_unix_datagram_and_stream_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let gram = dir.path().join("dsd.sock");
    let stream = dir.path().join("dsd-stream.sock");
    let gram_socket = tokio::net::UnixDatagram::bind(&gram).unwrap();
    let listener = tokio::net::UnixListener::bind(&stream).unwrap();
    let be = backend("a").await;
    // Two instances: `unixgram://` and `unix://` on a stream socket (Traefik's guess).
    let gw_gram = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.datadog]\naddress = \"unixgram://{}\"\npushInterval = \"200ms\"\n",
            gram.display()
        ),
    )
    .await;
    let gw_stream = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.datadog]\naddress = \"unix://{}\"\npushInterval = \"200ms\"\n",
            stream.display()
        ),
    )
    .await;
    assert_eq!(get(&gw_gram, "/s").await, 200);
    assert_eq!(get(&gw_stream, "/s").await, 200);
    let mut buf = vec![0u8; 65536];
    let mut got = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !got.contains("traefik.entrypoint.request.total:1.000000|c|#entrypoint:web")
        && tokio::time::Instant::now() < deadline
    {
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), gram_socket.recv(&mut buf)).await
        {
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(
        got.contains("traefik.entrypoint.request.total:1.000000|c|#entrypoint:web,method:GET"),
        "{got}"
    );
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("traefik.entrypoint.request.total:1.000000|c|#entrypoint:web")
        && tokio::time::Instant::now() < deadline
    {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok(Ok((mut conn, _))) = tokio::time::timeout(left, listener.accept()).await else {
            break;
        };
        let mut bytes = Vec::new();
        use tokio::io::AsyncReadExt;
        let _ = tokio::time::timeout(Duration::from_secs(2), conn.read_to_end(&mut bytes)).await;
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(
        text.contains("traefik.entrypoint.request.total:1.000000|c|#entrypoint:web,method:GET"),
        "{text}"
    );
}

#[tokio::test]
async fn influxdb2_writes_line_protocol_with_the_token() {
    let influx = support::push::Influx::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        &format!(
            "[metrics.influxDB2]\naddress = \"{}\"\ntoken = \"s3cret\"\norg = \"my org\"\nbucket = \"edge\"\npushInterval = \"300ms\"\naddRoutersLabels = true\n[metrics.influxDB2.additionalLabels]\nhost = \"edge1\"\n",
            influx.url()
        ),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(get(&gw, "/s").await, 200);
    }
    let got = influx
        .wait(10, |p| p.measurement == "traefik.service.requests.total")
        .await;
    let points = influx.points();
    assert!(got, "{points:#?}");
    let write = influx.writes().remove(0);
    assert_eq!(
        write.uri,
        "/api/v2/write?bucket=edge&org=my+org&precision=ns"
    );
    assert_eq!(write.headers["authorization"], "Token s3cret");
    assert!(write.headers.get("content-encoding").is_none());
    let ep = points
        .iter()
        .find(|p| p.measurement == "traefik.entrypoint.requests.total")
        .unwrap();
    assert_eq!(ep.fields["count"], "2");
    let keys: Vec<&str> = ep.tags.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["code", "entrypoint", "host", "method", "protocol"],
        "{ep:?}"
    );
    assert_eq!(ep.tags["host"], "edge1");
    assert_eq!(ep.timestamp.len(), 19, "nanoseconds: {ep:?}");
    let router = points
        .iter()
        .find(|p| p.measurement == "traefik.router.request.duration")
        .unwrap();
    let fields: Vec<&str> = router.fields.keys().map(String::as_str).collect();
    assert_eq!(fields, ["p50", "p90", "p95", "p99"]);
    assert_eq!(router.tags["router"], "app@file");
    let p99: f64 = router.fields["p99"].parse().unwrap();
    assert!(p99 > 0.0 && p99 < 5.0, "{router:?}");
}

/// A request with this `Host`, over `client`.
async fn get_host(client: &support::HttpClient, gw: &support::Gateway, host: &str) -> u16 {
    let req = Request::post(gw.url("/x"))
        .header("host", host)
        .body(Full::new(Bytes::new()))
        .unwrap();
    send(client, req).await.status.as_u16()
}

fn semconv_yaml(be: &str, dead: u16) -> String {
    format!(
        "http:\n  routers:\n    app:\n      rule: \"Host(`shop.example`)\"\n      service: app\n    dead:\n      rule: \"Host(`dead.example`)\"\n      service: dead\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{be}\"\n    dead:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:{dead}\"\n"
    )
}

#[tokio::test]
async fn otlp_push_has_the_semantic_convention_histograms() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let dead = support::tls::free_port();
    let gw = gateway_with(
        &semconv_yaml(&be.url(), dead),
        &format!(
            "[metrics.otlp]\npushInterval = \"200ms\"\nexplicitBoundaries = [0.5, 2.0]\n[metrics.otlp.http]\nendpoint = \"{}\"\n",
            receiver.metrics_endpoint()
        ),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(get(&gw, "/shop").await, 200);
    }
    let c = client();
    assert_eq!(get_host(&c, &gw, "dead.example").await, 502);
    assert_eq!(get_host(&c, &gw, "nowhere.example:8080").await, 404);
    // HTTP/2 (h2c): the host is the `:authority`.
    let h2 = Request::get(gw.url("/h2"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send(&support::h2_client(), h2).await.status, 404);
    let got = receiver
        .wait_metric("http.server.request.duration", 10, |p| {
            p.attr("network.protocol.name") == Some("http/2.0")
        })
        .await;
    assert!(got, "points: {:#?}", receiver.points());

    let server = receiver.latest("http.server.request.duration");
    let ok = one(&server, |p| {
        p.attr("server.address") == Some("shop.example")
    });
    assert_eq!(
        (ok.kind, ok.unit.as_str(), ok.cumulative),
        ("histogram", "s", true)
    );
    assert_eq!(
        ok.typed_keys(),
        keys(&[
            "http.request.method:string",
            "http.response.status_code:int",
            "network.protocol.name:string",
            "network.protocol.version:string",
            "server.address:string",
            "url.scheme:string",
        ])
    );
    assert_eq!(ok.attr("http.request.method"), Some("GET"));
    assert_eq!(ok.attr("http.response.status_code"), Some("200"));
    assert_eq!(ok.attr("network.protocol.name"), Some("http/1.1"));
    assert_eq!(ok.attr("network.protocol.version"), Some("1.1"));
    assert_eq!(ok.attr("url.scheme"), Some("http"));
    assert_eq!(ok.value, 3.0, "count");
    assert_eq!(ok.bounds, vec![0.5, 2.0]);
    assert_eq!(ok.buckets.iter().sum::<u64>(), 3);
    assert!(ok.sum > 0.0 && ok.sum < 3.0, "sum {}", ok.sum);
    let failed = one(&server, |p| {
        p.attr("server.address") == Some("dead.example")
    });
    assert_eq!(failed.attr("error.type"), Some("502"));
    assert_eq!(failed.attr("http.request.method"), Some("POST"));
    let unrouted = one(&server, |p| {
        p.attr("server.address") == Some("nowhere.example:8080")
    });
    assert_eq!(unrouted.attr("error.type"), Some("404"));
    assert_eq!(unrouted.value, 1.0);
    let h2 = one(&server, |p| {
        p.attr("network.protocol.name") == Some("http/2.0")
    });
    assert_eq!(h2.attr("network.protocol.version"), Some("HTTP/2.0"));
    assert_eq!(
        h2.attr("server.address"),
        gw.url("").strip_prefix("http://")
    );

    let client_side = receiver.latest("http.client.request.duration");
    let be_addr = be.url().strip_prefix("http://").unwrap().to_string();
    let be_port = be_addr.rsplit(':').next().unwrap().to_string();
    let ok = one(&client_side, |p| p.attr("server.address") == Some(&be_addr));
    assert_eq!((ok.kind, ok.unit.as_str()), ("histogram", "s"));
    assert_eq!(
        ok.typed_keys(),
        keys(&[
            "http.request.method:string",
            "http.response.status_code:int",
            "network.protocol.name:string",
            "network.protocol.version:string",
            "server.address:string",
            "server.port:int",
            "url.scheme:string",
        ])
    );
    assert_eq!(ok.attr("server.port"), Some(be_port.as_str()));
    assert_eq!(ok.attr("http.response.status_code"), Some("200"));
    assert_eq!(ok.attr("url.scheme"), Some("http"));
    assert_eq!(ok.value, 3.0);
    // The server that could not be reached: the status the client got, as Traefik.
    let refused = one(&client_side, |p| {
        p.attr("server.port") == Some(dead.to_string().as_str())
    });
    assert_eq!(refused.attr("error.type"), Some("502"));
    assert_eq!(refused.attr("http.response.status_code"), Some("502"));
    // Requests no router took reached no server.
    assert_eq!(client_side.len(), 2, "{client_side:#?}");
}

#[tokio::test]
async fn hosts_past_the_cap_collapse_into_the_overflow_series() {
    let receiver = Receiver::start().await;
    let be = backend("a").await;
    let gw = gateway_with(
        &semconv_yaml(&be.url(), support::tls::free_port()),
        &format!(
            "[metrics.otlp]\npushInterval = \"200ms\"\n[metrics.otlp.http]\nendpoint = \"{}\"\n",
            receiver.metrics_endpoint()
        ),
    )
    .await;
    // An attacker's Hosts, one series each until the cap (2000 points: 1999 sets and the
    // overflow series, as Traefik's OpenTelemetry SDK), then the overflow series.
    let c = client();
    let sent = 2100;
    let started = std::time::Instant::now();
    for i in 0..sent {
        assert_eq!(get_host(&c, &gw, &format!("h{i}.attacker")).await, 404);
        assert!(started.elapsed() < Duration::from_secs(120), "too slow");
    }
    let got = receiver
        .wait_metric("http.server.request.duration", 15, |p| {
            p.attr("otel.metric.overflow") == Some("true")
        })
        .await;
    assert!(got, "no overflow series");
    // The last push holding the overflow series counts every request.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let server = receiver.latest("http.server.request.duration");
        let total: f64 = server.iter().map(|p| p.value).sum();
        let kept = server
            .iter()
            .filter(|p| p.attr("otel.metric.overflow").is_none())
            .count();
        let overflow = server
            .iter()
            .find(|p| p.attr("otel.metric.overflow").is_some())
            .map(|p| (p.value, p.typed_keys()));
        if total >= sent as f64 || std::time::Instant::now() > deadline {
            assert_eq!(kept, 1999, "series kept");
            assert_eq!(total, sent as f64, "no request lost");
            let (n, keys_of) = overflow.unwrap();
            assert_eq!(n, (sent - 1999) as f64);
            assert_eq!(keys_of, keys(&["otel.metric.overflow:bool"]));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mirrored_copies_and_error_pages_are_client_calls_too() {
    let receiver = Receiver::start().await;
    let main = backend("main").await;
    let copy = backend("copy").await;
    let pages = backend("pages").await;
    let dead = support::tls::free_port();
    let yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"Host(`shop.example`)\"\n      service: front\n    broken:\n      rule: \"Host(`dead.example`)\"\n      service: dead\n      middlewares: [pages]\n  middlewares:\n    pages:\n      errors:\n        status: [\"500-599\"]\n        service: pages\n        query: \"/oops\"\n  services:\n    front:\n      mirroring:\n        service: main\n        mirrors:\n          - name: copy\n            percent: 100\n    main:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n    copy:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n    pages:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n    dead:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:{dead}\"\n",
        main.url(),
        copy.url(),
        pages.url()
    );
    let gw = gateway_with(
        &yaml,
        &format!(
            "[metrics.otlp]\npushInterval = \"200ms\"\n[metrics.otlp.http]\nendpoint = \"{}\"\n",
            receiver.metrics_endpoint()
        ),
    )
    .await;
    assert_eq!(get(&gw, "/m").await, 200);
    let c = client();
    // The errors middleware answers the 502 with its page (status kept).
    assert_eq!(get_host(&c, &gw, "dead.example").await, 502);
    let addr = |b: &support::Backend| b.url().strip_prefix("http://").unwrap().to_string();
    let want = [addr(&main), addr(&copy), addr(&pages)];
    // The copy is sent by its own task: wait for a push holding the three servers.
    let got = support::eventually(Duration::from_secs(10), || {
        let called = receiver.latest("http.client.request.duration");
        let all = want
            .iter()
            .all(|a| called.iter().any(|p| p.attr("server.address") == Some(a)));
        async move { all }
    })
    .await;
    let called = receiver.latest("http.client.request.duration");
    assert!(got, "{called:#?}");
    for a in &want {
        let p = one(&called, |p| p.attr("server.address") == Some(a.as_str()));
        assert_eq!(p.attr("http.response.status_code"), Some("200"), "{a}");
    }
    one(&called, |p| p.attr("error.type") == Some("502"));
}
