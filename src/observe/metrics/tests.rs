use std::sync::Arc;
use std::time::Duration;

use http::Method;

use super::*;
use crate::config::static_config::PrometheusConfig;

fn rec(
    m: &Metrics,
    route: Option<&RouteMetrics>,
    ep: usize,
    method: &Method,
    code: u16,
    elapsed: Duration,
) {
    let sample = Sample {
        method,
        protocol: Protocol::Http,
        code,
        elapsed,
        request_bytes: 3,
        response_bytes: 10,
        origin_bytes: 10,
        reached_service: true,
    };
    m.record(route, ep, sample);
}

fn registry(cfg: PrometheusConfig) -> Arc<Metrics> {
    Arc::new(Metrics::new(
        &cfg,
        vec!["web".to_string(), "traefik".to_string()],
        None,
    ))
}

#[test]
fn counts_by_code_and_method_with_default_labels() {
    let m = registry(PrometheusConfig::default());
    let slot = RouteSlot::new();
    let route = m.bind(&slot, "app@file", "app@file");
    for (method, code) in [
        (Method::GET, 200),
        (Method::GET, 200),
        (Method::POST, 502),
        (Method::from_bytes(b"PROPFIND").unwrap(), 207),
    ] {
        rec(&m, Some(route), 0, &method, code, Duration::from_millis(50));
    }
    rec(&m, None, 0, &Method::GET, 404, Duration::from_millis(1));
    let text = m.render();
    for line in [
        r#"traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 2"#,
        r#"traefik_entrypoint_requests_total{code="404",entrypoint="web",method="GET",protocol="http"} 1"#,
        r#"traefik_entrypoint_requests_total{code="207",entrypoint="web",method="EXTENSION_METHOD",protocol="http"} 1"#,
        r#"traefik_service_requests_total{code="200",method="GET",protocol="http",service="app@file"} 2"#,
        r#"traefik_service_requests_total{code="502",method="POST",protocol="http",service="app@file"} 1"#,
        r#"traefik_service_requests_bytes_total{code="200",method="GET",protocol="http",service="app@file"} 6"#,
        r#"traefik_service_responses_bytes_total{code="200",method="GET",protocol="http",service="app@file"} 20"#,
        r#"traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="app@file",le="0.1"} 2"#,
        r#"traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="app@file",le="+Inf"} 2"#,
        r#"traefik_service_request_duration_seconds_count{code="502",method="POST",protocol="http",service="app@file"} 1"#,
        r#"traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="0.3"} 2"#,
        "# TYPE traefik_entrypoint_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Routers are off by default; a request no router took counts on the entrypoint only.
    assert!(!text.contains("traefik_router_"), "{text}");
    assert!(!text.contains(r#"service="""#), "{text}");
}

#[test]
fn label_switches_and_buckets_follow_config() {
    let cfg = PrometheusConfig {
        add_entry_points_labels: Some(false),
        add_routers_labels: Some(true),
        add_services_labels: Some(false),
        buckets: vec![0.5, 0.05],
        ..Default::default()
    };
    let m = registry(cfg);
    let a = m.route("a@file", "s@file");
    let b = m.route("b@file", "s@file");
    rec(
        &m,
        Some(&a),
        0,
        &Method::GET,
        200,
        Duration::from_millis(10),
    );
    rec(
        &m,
        Some(&a),
        1,
        &Method::GET,
        200,
        Duration::from_millis(100),
    );
    rec(&m, Some(&b), 0, &Method::GET, 200, Duration::from_secs(2));
    let text = m.render();
    for line in [
        // Both entrypoints fold into one router series.
        r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="a@file",service="s@file"} 2"#,
        r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="b@file",service="s@file"} 1"#,
        r#"traefik_router_request_duration_seconds_bucket{code="200",method="GET",protocol="http",router="a@file",service="s@file",le="0.05"} 1"#,
        r#"traefik_router_request_duration_seconds_bucket{code="200",method="GET",protocol="http",router="a@file",service="s@file",le="0.5"} 2"#,
        r#"traefik_router_request_duration_seconds_bucket{code="200",method="GET",protocol="http",router="b@file",service="s@file",le="0.5"} 0"#,
        r#"traefik_router_request_duration_seconds_bucket{code="200",method="GET",protocol="http",router="b@file",service="s@file",le="+Inf"} 1"#,
        r#"traefik_router_request_duration_seconds_sum{code="200",method="GET",protocol="http",router="b@file",service="s@file"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("traefik_entrypoint_"), "{text}");
    assert!(!text.contains("traefik_service_requests"), "{text}");
}

#[test]
fn series_survive_rebinding_after_reload() {
    let m = registry(PrometheusConfig::default());
    let first = RouteSlot::new();
    rec(
        &m,
        Some(m.bind(&first, "r", "s")),
        0,
        &Method::GET,
        200,
        Duration::ZERO,
    );
    let second = RouteSlot::new(); // the route of a newly compiled table
    rec(
        &m,
        Some(m.bind(&second, "r", "s")),
        0,
        &Method::GET,
        200,
        Duration::ZERO,
    );
    assert!(m.render().contains(
        r#"traefik_service_requests_total{code="200",method="GET",protocol="http",service="s"} 2"#
    ));
}

#[test]
fn connections_reloads_and_certs() {
    let m = registry(PrometheusConfig::default());
    let a = m.connection_opened(1);
    let b = m.connection_opened(1);
    drop(a);
    m.reloaded(true, 1_700_000_000.0);
    m.reloaded(false, 1_700_000_100.0);
    m.set_tls_cert(
        "default/example.com",
        CertInfo {
            cn: "example.com".into(),
            sans: "example.com,www.example.com".into(),
            serial: "10".into(),
            not_after: 1_800_000_000,
        },
    );
    let text = m.render();
    for line in [
        r#"traefik_open_connections{entrypoint="traefik",protocol="TCP"} 1"#,
        r#"traefik_open_connections{entrypoint="web",protocol="TCP"} 0"#,
        "traefik_config_reloads_total 2",
        "traefik_config_last_reload_success 1700000000",
        r#"traefik_tls_certs_not_after{cn="example.com",sans="example.com,www.example.com",serial="10"} 1800000000"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    drop(b);
    m.remove_tls_cert("default/example.com");
    let text = m.render();
    assert!(text.contains(r#"traefik_open_connections{entrypoint="traefik",protocol="TCP"} 0"#));
    assert!(!text.contains("cn=\"example.com\""));
}

#[test]
fn label_values_are_escaped() {
    let mut out = String::new();
    super::render::push_label(&mut out, "a", "x\"y\\z\n");
    super::render::push_label(&mut out, "b", "");
    assert_eq!(out, r#"a="x\"y\\z\n",b="""#);
}

#[test]
fn protocol_label_as_traefik_decides_it() {
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, http::HeaderValue::from_static(v));
        }
        h
    };
    assert_eq!(Protocol::of(&headers(&[])), Protocol::Http);
    assert_eq!(
        Protocol::of(&headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket")
        ])),
        Protocol::Websocket
    );
    assert_eq!(
        Protocol::of(&headers(&[("accept", "text/html, text/event-stream")])),
        Protocol::Sse
    );
    assert_eq!(
        Protocol::of(&headers(&[("content-type", "application/grpc-web+proto")])),
        Protocol::GrpcWeb
    );
    assert_eq!(
        Protocol::of(&headers(&[("content-type", "application/grpc")])),
        Protocol::Grpc
    );
    assert_eq!(Protocol::Grpc.as_str(), "grpc");
}

#[test]
fn udp_entrypoints_have_no_open_connections_series() {
    let m = Metrics::new(
        &PrometheusConfig::default(),
        vec!["dns".to_string(), "web".to_string()],
        None,
    )
    .with_udp_entrypoints(&[true, false]);
    let text = m.render();
    assert!(text.contains(r#"traefik_open_connections{entrypoint="web",protocol="TCP"} 0"#));
    assert!(!text.contains(r#"entrypoint="dns""#), "{text}");
}

#[test]
fn acme_orders_and_next_attempts_are_written_per_resolver_and_domain() {
    use crate::tls::acme::attempts::Attempts;
    let attempts = Attempts::default();
    assert_eq!(Metrics::render_acme(&attempts.snapshot()), "");
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    attempts.failed("le", "*.example.test", "NOTAUTH", at);
    attempts.issued("le", "a.example.test");
    attempts.issued("le", "b.example.test");
    let text = Metrics::render_acme(&attempts.snapshot());
    assert_eq!(
        text,
        "# HELP swarmgate_acme_orders_total ACME orders by certificate resolver, issued or failed.\n\
         # TYPE swarmgate_acme_orders_total counter\n\
         swarmgate_acme_orders_total{resolver=\"le\",result=\"failed\"} 1\n\
         swarmgate_acme_orders_total{resolver=\"le\",result=\"issued\"} 2\n\
         # HELP swarmgate_acme_next_attempt_timestamp_seconds When the next ACME order is due for a domain whose last order failed (Unix seconds).\n\
         # TYPE swarmgate_acme_next_attempt_timestamp_seconds gauge\n\
         swarmgate_acme_next_attempt_timestamp_seconds{domain=\"*.example.test\",resolver=\"le\"} 1800000000\n"
    );
    attempts.issued("le", "*.example.test");
    assert!(!Metrics::render_acme(&attempts.snapshot()).contains("next_attempt"));
}

#[test]
fn another_exporters_boundaries_leave_the_prometheus_buckets_exact() {
    let m = Arc::new(
        Metrics::new(&PrometheusConfig::default(), vec!["web".to_string()], None)
            .with_boundaries(&[0.05, 0.2, 1.0]),
    );
    let slot = RouteSlot::new();
    let route = m.bind(&slot, "app@file", "app@file");
    for ms in [10, 60, 150, 250, 900, 6000] {
        rec(
            &m,
            Some(route),
            0,
            &Method::GET,
            200,
            Duration::from_millis(ms),
        );
    }
    let text = m.render();
    for (le, n) in [("0.1", 2), ("0.3", 4), ("1.2", 5), ("5", 5), ("+Inf", 6)] {
        let line = format!(
            r#"traefik_entrypoint_request_duration_seconds_bucket{{code="200",entrypoint="web",method="GET",protocol="http",le="{le}"}} {n}"#
        );
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains(r#"le="0.05""#), "{text}");
    // The OTLP view of the same counters.
    let view = otlp::View {
        labels: m.labels(),
        boundaries: vec![0.05, 0.2, 1.0],
    };
    let metrics = otlp::collect(&m, &view, 1);
    let h = metrics
        .iter()
        .find(|x| x.name == "traefik_entrypoint_request_duration_seconds")
        .unwrap();
    let Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(h)) = &h.data else {
        panic!("{h:?}")
    };
    assert_eq!(h.data_points[0].bucket_counts, vec![1, 2, 2, 1]);
    assert_eq!(h.data_points[0].count, 6);
}

#[test]
fn statsd_sends_deltas_and_a_sampled_mean_timing() {
    use crate::config::static_config::StatsdConfig;
    let m = registry(PrometheusConfig::default());
    let slot = RouteSlot::new();
    let route = m.bind(&slot, "app@file", "app@file");
    let setup = statsd::StatsdSetup::from_config(&StatsdConfig::default()).unwrap();
    assert_eq!(setup.prefix, "traefik");
    assert_eq!(setup.address, "localhost:8125");
    let mut prev = statsd::Previous::default();
    for ms in [100, 300] {
        rec(
            &m,
            Some(route),
            0,
            &Method::GET,
            200,
            Duration::from_millis(ms),
        );
    }
    let lines = statsd::lines(&m, &setup, &mut prev);
    for line in [
        "traefik.entrypoint.request.total:2.000000|c\n",
        "traefik.service.request.total:2.000000|c\n",
        "traefik.entrypoint.requests.bytes.total:6.000000|c\n",
        "traefik.service.responses.bytes.total:20.000000|c\n",
        "traefik.entrypoint.request.duration:200.000000|ms|@0.500000\n",
    ] {
        assert!(
            lines.iter().any(|l| l == line),
            "missing {line:?} in {lines:#?}"
        );
    }
    // Router labels are off by default: no router family.
    assert!(!lines.iter().any(|l| l.contains(".router.")), "{lines:#?}");
    // Nothing new, nothing sent.
    assert!(statsd::lines(&m, &setup, &mut prev).is_empty());
    rec(
        &m,
        Some(route),
        0,
        &Method::GET,
        200,
        Duration::from_millis(40),
    );
    let lines = statsd::lines(&m, &setup, &mut prev);
    assert!(lines
        .iter()
        .any(|l| l == "traefik.entrypoint.request.total:1.000000|c\n"));
    assert!(lines
        .iter()
        .any(|l| l == "traefik.entrypoint.request.duration:40.000000|ms\n"));
    assert!(statsd::StatsdSetup::from_config(&StatsdConfig {
        address: Some("no-port".into()),
        ..Default::default()
    })
    .is_err());
}

/// The push task's work on a large registry: 1 000 routers × 4 status codes, all three levels
/// with router labels. Prints the time to collect and encode (BENCHMARKS.md).
#[test]
fn otlp_collect_of_a_thousand_routers_is_bounded() {
    use prost::Message;
    let m = registry(PrometheusConfig::default());
    let slots: Vec<RouteSlot> = (0..1000).map(|_| RouteSlot::new()).collect();
    for (i, slot) in slots.iter().enumerate() {
        let route = m.bind(slot, &format!("r{i}@swarm"), &format!("s{i}@swarm"));
        for code in [200, 301, 404, 502] {
            rec(
                &m,
                Some(route),
                0,
                &Method::GET,
                code,
                Duration::from_millis(20),
            );
        }
    }
    let view = otlp::View {
        labels: LabelSet {
            entrypoint: true,
            router: true,
            service: true,
        },
        boundaries: crate::config::observability::DEFAULT_OTLP_BOUNDARIES.to_vec(),
    };
    let started = std::time::Instant::now();
    let metrics = otlp::collect(&m, &view, 1);
    let collected = started.elapsed();
    let bytes: usize = metrics.iter().map(|x| x.encoded_len()).sum();
    let encoded = started.elapsed();
    let raw: Vec<u8> = metrics.iter().flat_map(|x| x.encode_to_vec()).collect();
    let z = std::time::Instant::now();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let gzipped = gz.finish().unwrap().len();
    let gzip_took = z.elapsed();
    let mut prev = statsd::Previous::default();
    let setup = statsd::StatsdSetup::from_config(&Default::default()).unwrap();
    let s = std::time::Instant::now();
    let lines = statsd::lines(&m, &setup, &mut prev);
    let statsd_took = s.elapsed();
    eprintln!(
        "1000 routers: {} instruments, OTLP collect {collected:?}, + encode {encoded:?} ({bytes} bytes), gzip {gzip_took:?} ({gzipped} bytes); statsd {statsd_took:?} ({} lines)",
        metrics.len(),
        lines.len()
    );
    assert!(encoded < Duration::from_secs(5), "{encoded:?}");
}
