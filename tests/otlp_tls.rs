//! OTLP export over TLS, as Traefik 3.7 configures it (`tracing.otlp.{http,grpc}.tls`,
//! `metrics.otlp.{http,grpc}.tls`: Traefik's `ClientTLS`), against the test receiver serving
//! HTTPS and gRPC over TLS with a test CA (`support::otlp::Receiver::start_tls`): spans and
//! metrics arrive over https and gRPC+TLS (ALPN `h2`), a collector the CA does not vouch for
//! fails the export (counted; requests unaffected), `insecureSkipVerify`, and the client
//! certificate (mTLS).
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::otlp::{der_of, Receiver, TestCa};
use support::{backend, client, gateway_with};

const NAMES: &[&str] = &["localhost", "127.0.0.1"];

/// A dynamic file with `/metrics` (Prometheus, where the export counters are read) and `/` to
/// `backend`.
fn routes(backend: &str) -> String {
    format!(
        "http:\n  routers:\n    metrics:\n      rule: \"Path(`/metrics`)\"\n      service: prometheus@internal\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{backend}\"\n"
    )
}

/// `[section.tls]` with `ca` (and `cert`/`key`) as given.
fn tls_toml(section: &str, entries: &[(&str, &str)]) -> String {
    let mut out = format!("[{section}.tls]\n");
    for (k, v) in entries {
        out.push_str(&format!("{k} = {v:?}\n"));
    }
    out
}

/// The value of counter `name` on the gateway's Prometheus endpoint (0 when absent).
async fn counter(gw: &support::Gateway, name: &str) -> u64 {
    let body = support::get(&client(), &gw.url("/metrics"), None)
        .await
        .body;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends `n` requests to `/`; each must answer 200.
async fn requests(gw: &support::Gateway, n: usize) {
    for _ in 0..n {
        assert_eq!(
            support::get(&client(), &gw.url("/"), None).await.status,
            200
        );
    }
}

#[tokio::test]
async fn spans_arrive_over_https_verified_with_the_ca_file() {
    let ca = TestCa::new("otlp test CA");
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let be = backend("a").await;
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[tracing.otlp.http]\nendpoint = \"{}\"\n{}",
            receiver.https_base(),
            tls_toml(
                "tracing.otlp.http",
                &[("ca", &ca_file.display().to_string())]
            )
        ),
    )
    .await;
    requests(&gw, 1).await;
    let spans = receiver.wait_for(2).await;
    assert!(spans.iter().any(|s| s.name == "ReverseProxy"), "{spans:#?}");
    let arrivals = receiver.arrivals();
    assert!(!arrivals.is_empty());
    for a in &arrivals {
        assert!(a.tls && !a.grpc, "{a:?}");
        assert_eq!(a.path, "/v1/traces");
        // As Go's transport (Traefik): `h2` offered and chosen by a collector that has it.
        assert_eq!(a.alpn.as_deref(), Some("h2"));
        assert_eq!(a.client_cert, None);
    }
    gw.stop().await;
}

#[tokio::test]
async fn spans_arrive_over_grpc_tls_by_default_with_an_inline_ca() {
    // No `insecure`: Traefik's gRPC exporter speaks TLS; the CA is given as PEM text.
    let ca = TestCa::new("otlp test CA");
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), None).await;
    let be = backend("a").await;
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[tracing.otlp.grpc]\nendpoint = \"localhost:{}\"\n{}",
            receiver.addr.unwrap().port(),
            tls_toml("tracing.otlp.grpc", &[("ca", &ca.pem())])
        ),
    )
    .await;
    requests(&gw, 1).await;
    let spans = receiver.wait_for(2).await;
    assert!(spans.iter().any(|s| s.name == "GET"), "{spans:#?}");
    let arrivals = receiver.arrivals();
    assert!(!arrivals.is_empty());
    for a in &arrivals {
        assert!(a.tls && a.grpc, "{a:?}");
        assert_eq!(a.alpn.as_deref(), Some("h2"), "gRPC negotiates h2 by ALPN");
        assert_eq!(a.version, http::Version::HTTP_2);
    }
    gw.stop().await;
}

#[tokio::test]
async fn metrics_arrive_over_https_and_over_grpc_tls() {
    let ca = TestCa::new("otlp test CA");
    let cert = ca.issue("collector", NAMES);
    let be = backend("a").await;
    // HTTPS, the OTLP path implied by a URL without one.
    let https = Receiver::start_tls(&cert, None).await;
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[metrics.otlp]\npushInterval = \"200ms\"\n[metrics.otlp.http]\nendpoint = \"{}\"\n{}",
            https.https_base(),
            tls_toml("metrics.otlp.http", &[("ca", &ca.pem())])
        ),
    )
    .await;
    requests(&gw, 3).await;
    assert!(
        https
            .wait_metric("traefik_entrypoint_requests_total", 10, |p| p.value >= 3.0)
            .await,
        "{:#?}",
        https.points()
    );
    let a = https.arrivals();
    assert!(
        a.iter()
            .all(|a| a.tls && !a.grpc && a.path == "/v1/metrics"),
        "{a:?}"
    );
    gw.stop().await;
    // gRPC over TLS.
    let grpc = Receiver::start_tls(&cert, None).await;
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[metrics.otlp]\npushInterval = \"200ms\"\n[metrics.otlp.grpc]\nendpoint = \"localhost:{}\"\n{}",
            grpc.addr.unwrap().port(),
            tls_toml("metrics.otlp.grpc", &[("ca", &ca.pem())])
        ),
    )
    .await;
    requests(&gw, 2).await;
    assert!(
        grpc.wait_metric("traefik_entrypoint_requests_total", 10, |p| p.value >= 2.0)
            .await
    );
    let a = grpc.arrivals();
    assert!(
        a.iter()
            .all(|a| a.tls && a.grpc && a.alpn.as_deref() == Some("h2")),
        "{a:?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_collector_the_ca_does_not_vouch_for_fails_the_export_counted_requests_unaffected() {
    let ca = TestCa::new("otlp test CA");
    let other = TestCa::new("another CA");
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), None).await;
    let be = backend("a").await;
    // Spans to a wrong CA, metrics with no `tls` block (the built-in roots, which do not hold
    // the test CA): both must fail, neither must reach the receiver.
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[metrics.prometheus]\nmanualRouting = true\n[tracing.otlp.http]\nendpoint = \"{base}\"\n{tls}[metrics.otlp]\npushInterval = \"100ms\"\n[metrics.otlp.http]\nendpoint = \"{base}\"\n",
            base = receiver.https_base(),
            tls = tls_toml("tracing.otlp.http", &[("ca", &other.pem())]),
        ),
    )
    .await;
    let started = std::time::Instant::now();
    requests(&gw, 20).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "20 requests took {took:?}");
    let failed = support::eventually(Duration::from_secs(10), || async {
        counter(&gw, "swarmgate_tracing_export_failures_total").await > 0
            && counter(&gw, "swarmgate_otlp_metrics_push_failures_total").await > 0
    })
    .await;
    let body = support::get(&client(), &gw.url("/metrics"), None)
        .await
        .body;
    assert!(failed, "{body}");
    assert_eq!(
        counter(&gw, "swarmgate_tracing_spans_exported_total").await,
        0
    );
    assert_eq!(counter(&gw, "swarmgate_otlp_metrics_pushes_total").await, 0);
    assert!(receiver.arrivals().is_empty(), "{:?}", receiver.arrivals());
    gw.stop().await;
}

#[tokio::test]
async fn insecure_skip_verify_accepts_any_collector_certificate() {
    let ca = TestCa::new("otlp test CA");
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), None).await;
    let be = backend("a").await;
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[tracing.otlp.grpc]\nendpoint = \"localhost:{}\"\n[tracing.otlp.grpc.tls]\ninsecureSkipVerify = true\n",
            receiver.addr.unwrap().port()
        ),
    )
    .await;
    requests(&gw, 1).await;
    let spans = receiver.wait_for(2).await;
    assert!(spans.len() >= 2, "{spans:#?}");
    assert!(receiver.arrivals().iter().all(|a| a.tls && a.grpc));
    gw.stop().await;
}

#[tokio::test]
async fn the_client_certificate_is_presented_when_configured() {
    let ca = TestCa::new("otlp test CA");
    let clients = TestCa::new("client CA");
    let client_cert = clients.issue("swarmgate", &["swarmgate.test"]);
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), Some(&clients.pem())).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("c.pem"), dir.path().join("c.key"));
    std::fs::write(&cert_file, &client_cert.0).unwrap();
    std::fs::write(&key_file, &client_cert.1).unwrap();
    let be = backend("a").await;
    // Spans over HTTPS with the certificate as files, metrics over gRPC with it inline.
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[tracing.otlp.http]\nendpoint = \"{}\"\n{}[metrics.otlp]\npushInterval = \"200ms\"\n[metrics.otlp.grpc]\nendpoint = \"localhost:{}\"\n{}",
            receiver.https_base(),
            tls_toml(
                "tracing.otlp.http",
                &[
                    ("ca", &ca.pem()),
                    ("cert", &cert_file.display().to_string()),
                    ("key", &key_file.display().to_string()),
                ]
            ),
            receiver.addr.unwrap().port(),
            tls_toml(
                "metrics.otlp.grpc",
                &[("ca", &ca.pem()), ("cert", &client_cert.0), ("key", &client_cert.1)]
            ),
        ),
    )
    .await;
    requests(&gw, 1).await;
    receiver.wait_for(2).await;
    assert!(
        receiver
            .wait_metric("traefik_entrypoint_requests_total", 10, |p| p.value >= 1.0)
            .await
    );
    let want = der_of(&client_cert.0);
    let arrivals = receiver.arrivals();
    assert!(arrivals.iter().any(|a| !a.grpc) && arrivals.iter().any(|a| a.grpc));
    for a in &arrivals {
        assert_eq!(a.client_cert.as_ref(), Some(&want), "{} {a:?}", a.path);
    }
    gw.stop().await;
    // Without `cert`/`key` none is sent (the receiver lets such clients in and records it). A
    // fresh receiver: the first gateway's last export may still be on its way to the other.
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), Some(&clients.pem())).await;
    let gw = gateway_with(
        &routes(&be.url()),
        &format!(
            "[tracing.otlp.http]\nendpoint = \"{}\"\n{}",
            receiver.https_base(),
            tls_toml("tracing.otlp.http", &[("ca", &ca.pem())])
        ),
    )
    .await;
    requests(&gw, 1).await;
    assert!(receiver.wait_for(2).await.len() >= 2);
    let arrivals = receiver.arrivals();
    assert!(
        arrivals.iter().all(|a| a.tls && a.client_cert.is_none()),
        "{arrivals:?}"
    );
    gw.stop().await;
}

#[test]
fn check_accepts_tls_collectors_and_names_a_bad_file() {
    let check = |toml_text: &str| {
        let cfg: swarmgate::config::StaticConfig = toml::from_str(&format!(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n{toml_text}"
        ))
        .unwrap();
        swarmgate::app::check(&cfg, std::path::Path::new("."))
            .into_iter()
            .filter(|i| !i.warning)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
    };
    // Formerly refused: gRPC without `insecure`, https endpoints.
    assert_eq!(
        check("[tracing.otlp.grpc]\nendpoint = \"collector:4317\"\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("[metrics.otlp.http]\nendpoint = \"https://collector:4318\"\n"),
        Vec::<String>::new()
    );
    let issues = check(
        "[tracing.otlp.http]\nendpoint = \"https://collector:4318\"\n[tracing.otlp.http.tls]\nca = \"/nonexistent/ca.pem\"\n",
    );
    assert!(
        issues
            .iter()
            .any(|i| i.contains("tracing.otlp.http.tls.ca") && i.contains("/nonexistent/ca.pem")),
        "{issues:?}"
    );
    // As Traefik 3.7: "TLS and Insecure options are mutually exclusive".
    let issues = check(
        "[tracing.otlp.grpc]\nendpoint = \"collector:4317\"\ninsecure = true\n[tracing.otlp.grpc.tls]\ninsecureSkipVerify = true\n",
    );
    assert!(
        issues
            .iter()
            .any(|i| i.contains("tracing.otlp.grpc") && i.contains("mutually exclusive")),
        "{issues:?}"
    );
    let issues = check(
        "[metrics.otlp.grpc]\nendpoint = \"collector:4317\"\n[metrics.otlp.grpc.tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/c.key\"\n",
    );
    assert!(
        issues
            .iter()
            .any(|i| i.contains("metrics.otlp.grpc.tls.cert")),
        "{issues:?}"
    );
}

#[tokio::test]
async fn a_failed_handshake_says_why() {
    use swarmgate::observe::otel::transport::{Sender, Target, TRACES};
    let ca = TestCa::new("otlp test CA");
    let receiver = Receiver::start_tls(&ca.issue("collector", NAMES), None).await;
    let other = TestCa::new("another CA");
    let tls = swarmgate::upstream::client_tls_config(swarmgate::upstream::ClientTls {
        ca: &other.pem(),
        ..Default::default()
    })
    .unwrap();
    let sender = Sender::new(
        Target::Grpc {
            authority: format!("localhost:{}", receiver.addr.unwrap().port()),
            headers: http::HeaderMap::new(),
            tls: Some(std::sync::Arc::new(tls)),
        },
        TRACES,
    );
    let error = sender.send(Vec::new()).await.unwrap_err().to_string();
    assert!(error.contains("UnknownIssuer"), "{error}");
}
