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
    let dd_setup = statsd::StatsdSetup::from_datadog_with(
        &crate::config::static_config::DatadogConfig {
            add_routers_labels: Some(true),
            ..Default::default()
        },
        |_| None,
    )
    .unwrap();
    let mut dd_prev = statsd::Previous::default();
    let s = std::time::Instant::now();
    let dd_lines = statsd::lines(&m, &dd_setup, &mut dd_prev);
    let dd_took = s.elapsed();
    let dd_bytes: usize = dd_lines.iter().map(String::len).sum();
    let mut cfg = influx_cfg();
    cfg.add_routers_labels = Some(true);
    let influx_setup = influx::InfluxSetup::from_config(&cfg).unwrap();
    let mut influx_prev = influx::Previous::default();
    let s = std::time::Instant::now();
    let body = influx::body(&m, &influx_setup, &mut influx_prev, 1);
    let influx_took = s.elapsed();
    eprintln!(
        "1000 routers: {} instruments, OTLP collect {collected:?}, + encode {encoded:?} ({bytes} bytes), gzip {gzip_took:?} ({gzipped} bytes); statsd {statsd_took:?} ({} lines); datadog {dd_took:?} ({} lines, {dd_bytes} bytes); influxdb2 {influx_took:?} ({} points, {} bytes)",
        metrics.len(),
        lines.len(),
        dd_lines.len(),
        body.lines().count(),
        body.len()
    );
    assert!(encoded < Duration::from_secs(5), "{encoded:?}");
    // 1 000 routers × 4 codes, router and service levels: a request, two byte and a duration
    // series each (the entrypoint's are 4 × 4).
    assert!(dd_lines.len() > 2 * 4 * 4000, "{}", dd_lines.len());
    // Debug build on a shared machine: a bound against pathological growth, not a benchmark
    // (BENCHMARKS.md has the numbers).
    assert!(dd_took < Duration::from_secs(30) && influx_took < Duration::from_secs(30));
}

#[test]
fn datadog_lines_carry_traefiks_tags_and_seconds_histograms() {
    use crate::config::static_config::DatadogConfig;
    let m = registry(PrometheusConfig::default());
    let slot = RouteSlot::new();
    let route = m.bind(&slot, "app@file", "svc@file");
    let cfg = DatadogConfig {
        add_routers_labels: Some(true),
        ..Default::default()
    };
    let setup = statsd::StatsdSetup::from_datadog_with(&cfg, |_| None).unwrap();
    assert_eq!(setup.address, "localhost:8125");
    assert_eq!(setup.sink, statsd::Sink::Udp("localhost:8125".into()));
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
    m.reloaded(true, 1_700_000_000.0);
    let lines = statsd::lines(&m, &setup, &mut prev);
    for line in [
        "traefik.entrypoint.request.total:2.000000|c|#entrypoint:web,method:GET,protocol:http,code:200\n",
        "traefik.router.request.total:2.000000|c|#router:app@file,service:svc@file,method:GET,protocol:http,code:200\n",
        "traefik.service.request.total:2.000000|c|#service:svc@file,method:GET,protocol:http,code:200\n",
        "traefik.service.responses.bytes.total:20.000000|c|#service:svc@file,method:GET,protocol:http,code:200\n",
        "traefik.entrypoint.request.duration:0.200000|h|@0.500000|#entrypoint:web,method:GET,protocol:http,code:200\n",
        "traefik.config.reload.total:1.000000|c\n",
        "traefik.config.reload.lastSuccessTimestamp:1700000000.000000|g\n",
    ] {
        assert!(
            lines.iter().any(|l| l == line),
            "missing {line:?} in {lines:#?}"
        );
    }
    // Nothing new, nothing sent; one more request: its delta only.
    assert!(statsd::lines(&m, &setup, &mut prev).is_empty());
    rec(
        &m,
        Some(route),
        0,
        &Method::POST,
        502,
        Duration::from_millis(40),
    );
    let lines = statsd::lines(&m, &setup, &mut prev);
    assert!(lines.iter().any(|l| l
        == "traefik.service.request.total:1.000000|c|#service:svc@file,method:POST,protocol:http,code:502\n"),
        "{lines:#?}");
    assert!(lines.iter().any(|l| l
        == "traefik.entrypoint.request.duration:0.040000|h|#entrypoint:web,method:POST,protocol:http,code:502\n"),
        "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("code:200")), "{lines:#?}");
}

#[test]
fn datadog_addresses_as_traefik_reads_them() {
    use crate::config::static_config::DatadogConfig;
    let env = |name: &str| match name {
        "DD_AGENT_HOST" => Some("agent".to_string()),
        _ => None,
    };
    let setup = statsd::StatsdSetup::from_datadog_with(&DatadogConfig::default(), env).unwrap();
    assert_eq!(setup.sink, statsd::Sink::Udp("agent:8125".into()));
    assert_eq!(setup.prefix, "traefik");
    for (address, sink) in [
        (
            "unixgram:///run/dd.sock",
            statsd::Sink::Unixgram("/run/dd.sock".into()),
        ),
        (
            "unixstream:///run/dd.sock",
            statsd::Sink::Unixstream("/run/dd.sock".into()),
        ),
        (
            "unix:///run/dd.sock",
            statsd::Sink::Unix("/run/dd.sock".into()),
        ),
        ("127.0.0.1:9125", statsd::Sink::Udp("127.0.0.1:9125".into())),
    ] {
        let cfg = DatadogConfig {
            address: Some(address.into()),
            prefix: Some(String::new()),
            ..Default::default()
        };
        let setup = statsd::StatsdSetup::from_datadog_with(&cfg, |_| None).unwrap();
        assert_eq!(setup.sink, sink, "{address}");
        assert_eq!(setup.prefix, "traefik");
    }
    for bad in ["no-port", "unix://"] {
        let cfg = DatadogConfig {
            address: Some(bad.into()),
            ..Default::default()
        };
        let err = statsd::StatsdSetup::from_datadog_with(&cfg, |_| None).unwrap_err();
        assert!(err.contains("metrics.datadog.address"), "{err}");
    }
}

fn influx_cfg() -> crate::config::static_config::InfluxDb2Config {
    crate::config::static_config::InfluxDb2Config {
        token: Some("s3cr=t".into()),
        org: Some("my org".into()),
        bucket: Some("edge".into()),
        ..Default::default()
    }
}

#[test]
fn influx_setup_is_the_clients_write_url_and_fails_closed() {
    use crate::config::static_config::InfluxDb2Config;
    let setup = influx::InfluxSetup::from_config(&influx_cfg()).unwrap();
    assert_eq!(
        setup.uri.to_string(),
        "http://localhost:8086/api/v2/write?bucket=edge&org=my+org&precision=ns"
    );
    assert_eq!(setup.headers["authorization"], "Token s3cr=t");
    let setup = influx::InfluxSetup::from_config(&InfluxDb2Config {
        address: Some("http://influx:8086/base".into()),
        ..influx_cfg()
    })
    .unwrap();
    assert_eq!(
        setup.uri.to_string(),
        "http://influx:8086/base/api/v2/write?bucket=edge&org=my+org&precision=ns"
    );
    // The token may be a file (Traefik's FileOrContent), trimmed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-file\n").unwrap();
    let setup = influx::InfluxSetup::from_config(&InfluxDb2Config {
        token: Some(file.display().to_string()),
        ..influx_cfg()
    })
    .unwrap();
    assert_eq!(setup.headers["authorization"], "Token from-file");
    for (cfg, what) in [
        (
            InfluxDb2Config {
                bucket: None,
                ..influx_cfg()
            },
            "token, org and bucket",
        ),
        (
            InfluxDb2Config {
                address: Some("ftp://influx:8086".into()),
                ..influx_cfg()
            },
            "is not http:// or https://",
        ),
    ] {
        let err = influx::InfluxSetup::from_config(&cfg).unwrap_err();
        assert!(err.contains(what), "{err}");
    }
    // https: the write URL keeps the scheme and a TLS client is made (built-in roots).
    let setup = influx::InfluxSetup::from_config(&InfluxDb2Config {
        address: Some("https://influx:8086".into()),
        ..influx_cfg()
    })
    .unwrap();
    assert_eq!(setup.uri.scheme_str(), Some("https"));
    assert!(setup.tls.is_some());
    let plain = influx::InfluxSetup::from_config(&influx_cfg()).unwrap();
    assert!(plain.tls.is_none());
}

#[test]
fn influx_lines_are_traefiks_measurements_with_sorted_tags() {
    let m = registry(PrometheusConfig::default());
    let slot = RouteSlot::new();
    let route = m.bind(&slot, "app@file", "svc@file");
    let mut cfg = influx_cfg();
    cfg.additional_labels
        .insert("host name".into(), "edge,1".into());
    cfg.additional_labels
        .insert("service".into(), "overridden".into());
    let setup = influx::InfluxSetup::from_config(&cfg).unwrap();
    let mut prev = influx::Previous::default();
    rec(
        &m,
        Some(route),
        0,
        &Method::GET,
        200,
        Duration::from_millis(250),
    );
    let body = influx::body(&m, &setup, &mut prev, 1_000);
    for line in [
        "traefik.entrypoint.requests.total,code=200,entrypoint=web,host\\ name=edge\\,1,method=GET,protocol=http,service=overridden count=1 1000\n",
        "traefik.service.requests.total,code=200,host\\ name=edge\\,1,method=GET,protocol=http,service=svc@file count=1 1000\n",
        "traefik.service.responses.bytes.total,code=200,host\\ name=edge\\,1,method=GET,protocol=http,service=svc@file count=10 1000\n",
        "traefik.entrypoint.request.duration,code=200,entrypoint=web,host\\ name=edge\\,1,method=GET,protocol=http,service=overridden p50=0.25,p90=0.25,p95=0.25,p99=0.25 1000\n",
    ] {
        assert!(body.contains(line), "missing {line:?} in\n{body}");
    }
    assert!(!body.contains("traefik.router."), "{body}");
    // Nothing moved: an empty body (nothing is posted).
    assert_eq!(influx::body(&m, &setup, &mut prev, 2_000), "");
}

#[test]
fn influx_quantiles_are_interpolated_within_buckets() {
    let bounds = [0.1, 0.3, 1.2, 5.0];
    let h = push::Hist {
        count: 4,
        sum: 0.8,
        buckets: vec![2, 2, 0, 0, 0],
    };
    assert!((influx::quantile(&bounds, &h, 0.5) - 0.1).abs() < 1e-9);
    assert!((influx::quantile(&bounds, &h, 0.75) - 0.2).abs() < 1e-9);
    let over = push::Hist {
        count: 2,
        sum: 20.0,
        buckets: vec![0, 0, 0, 0, 2],
    };
    assert_eq!(influx::quantile(&bounds, &over, 0.99), 5.0);
}
