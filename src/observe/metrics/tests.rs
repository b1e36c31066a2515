use std::sync::Arc;
use std::time::Duration;

use http::Method;

use super::*;
use crate::config::static_config::PrometheusConfig;

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
        m.record(Some(route), 0, &method, code, Duration::from_millis(50));
    }
    m.record(None, 0, &Method::GET, 404, Duration::from_millis(1));
    let text = m.render();
    for line in [
        r#"swarmgate_requests_total{entrypoint="web",service="app@file",code="200",method="GET"} 2"#,
        r#"swarmgate_requests_total{entrypoint="web",service="app@file",code="502",method="POST"} 1"#,
        r#"swarmgate_requests_total{entrypoint="web",service="app@file",code="207",method="OTHER"} 1"#,
        r#"swarmgate_requests_total{entrypoint="web",service="",code="404",method="GET"} 1"#,
        r#"swarmgate_request_duration_seconds_bucket{entrypoint="web",service="app@file",le="0.1"} 4"#,
        r#"swarmgate_request_duration_seconds_bucket{entrypoint="web",service="app@file",le="+Inf"} 4"#,
        r#"swarmgate_request_duration_seconds_count{entrypoint="web",service="app@file"} 4"#,
        "# TYPE swarmgate_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
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
    m.record(Some(&a), 0, &Method::GET, 200, Duration::from_millis(10));
    m.record(Some(&a), 1, &Method::GET, 200, Duration::from_millis(100));
    m.record(Some(&b), 0, &Method::GET, 200, Duration::from_secs(2));
    let text = m.render();
    for line in [
        // Both entrypoints fold into one series when the entrypoint label is off.
        r#"swarmgate_requests_total{router="a@file",code="200",method="GET"} 2"#,
        r#"swarmgate_requests_total{router="b@file",code="200",method="GET"} 1"#,
        r#"swarmgate_request_duration_seconds_bucket{router="a@file",le="0.05"} 1"#,
        r#"swarmgate_request_duration_seconds_bucket{router="a@file",le="0.5"} 2"#,
        r#"swarmgate_request_duration_seconds_bucket{router="b@file",le="0.5"} 0"#,
        r#"swarmgate_request_duration_seconds_bucket{router="b@file",le="+Inf"} 1"#,
        r#"swarmgate_request_duration_seconds_sum{router="b@file"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn series_survive_rebinding_after_reload() {
    let m = registry(PrometheusConfig::default());
    let first = RouteSlot::new();
    m.record(
        Some(m.bind(&first, "r", "s")),
        0,
        &Method::GET,
        200,
        Duration::ZERO,
    );
    let second = RouteSlot::new(); // the route of a newly compiled table
    m.record(
        Some(m.bind(&second, "r", "s")),
        0,
        &Method::GET,
        200,
        Duration::ZERO,
    );
    assert!(m.render().contains(
        r#"swarmgate_requests_total{entrypoint="web",service="s",code="200",method="GET"} 2"#
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
            serial: "0a".into(),
            not_after: 1_800_000_000,
        },
    );
    let text = m.render();
    for line in [
        r#"swarmgate_open_connections{entrypoint="traefik"} 1"#,
        r#"swarmgate_open_connections{entrypoint="web"} 0"#,
        r#"swarmgate_config_reloads_total{result="success"} 1"#,
        r#"swarmgate_config_reloads_total{result="failure"} 1"#,
        "swarmgate_config_last_reload_success_timestamp_seconds 1700000000",
        r#"swarmgate_tls_certs_not_after{cn="example.com",sans="example.com,www.example.com",serial="0a"} 1800000000"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    drop(b);
    m.remove_tls_cert("default/example.com");
    let text = m.render();
    assert!(text.contains(r#"swarmgate_open_connections{entrypoint="traefik"} 0"#));
    assert!(!text.contains("cn=\"example.com\""));
}

#[test]
fn label_values_are_escaped() {
    let mut out = String::new();
    super::render::push_label(&mut out, "a", "x\"y\\z\n");
    super::render::push_label(&mut out, "b", "");
    assert_eq!(out, r#"a="x\"y\\z\n",b="""#);
}
