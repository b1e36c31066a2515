//! Traefik's `*_requests_tls_total` families through a running swarmgate: the negotiated TLS
//! version and cipher suite as labels, with Go's names ("1.3", "TLS_AES_128_GCM_SHA256").
#![allow(clippy::unwrap_used)]

mod support;

use support::tls::*;
use support::{backend, client, gateway_with, get};

/// Go's name of what rustls negotiated (Go drops rustls' `TLS13_` prefix).
fn go_cipher(stream: &tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    let suite = stream
        .get_ref()
        .1
        .negotiated_cipher_suite()
        .unwrap()
        .suite();
    suite.as_str().unwrap().replacen("TLS13_", "TLS_", 1)
}

#[tokio::test]
async fn tls_requests_are_counted_by_version_and_cipher() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let app = backend("app").await;
    let gw = gateway_with(
        &secure_and_plain(&app.url(), &[cert]),
        "[metrics.prometheus]\nentryPoint = \"web\"\naddRoutersLabels = true\n",
    )
    .await;

    let tls13 = connect(insecure_config(&["http/1.1"]), gw.addr, "a.test").await;
    let cipher13 = go_cipher(&tls13);
    assert!(cipher13.starts_with("TLS_"), "{cipher13}");
    assert_eq!(request(tls13, "a.test", "/").await.status, 200);
    let tls12 = {
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(accept_all())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    };
    for _ in 0..2 {
        let stream = connect(tls12.clone(), gw.addr, "a.test").await;
        let cipher12 = go_cipher(&stream);
        assert!(cipher12.starts_with("TLS_ECDHE_"), "{cipher12}");
        assert_eq!(request(stream, "a.test", "/").await.status, 200);
    }
    let cipher12 = go_cipher(&connect(tls12, gw.addr, "a.test").await);
    // Plain HTTP is not counted.
    let c = client();
    assert_eq!(get(&c, &gw.url("/"), Some("plain.test")).await.status, 200);

    let m = get(&c, &gw.url("/metrics"), None).await.body;
    for line in [
        format!(
            r#"traefik_entrypoint_requests_tls_total{{entrypoint="web",tls_cipher="{cipher13}",tls_version="1.3"}} 1"#
        ),
        format!(
            r#"traefik_entrypoint_requests_tls_total{{entrypoint="web",tls_cipher="{cipher12}",tls_version="1.2"}} 2"#
        ),
        format!(
            r#"traefik_router_requests_tls_total{{router="secure@file",service="app@file",tls_cipher="{cipher13}",tls_version="1.3"}} 1"#
        ),
        format!(
            r#"traefik_service_requests_tls_total{{service="app@file",tls_cipher="{cipher12}",tls_version="1.2"}} 2"#
        ),
        "# TYPE traefik_service_requests_tls_total counter".to_string(),
    ] {
        assert!(m.contains(&line), "missing {line:?} in\n{m}");
    }
    let tls_lines = m
        .lines()
        .filter(|l| l.starts_with("traefik_") && l.contains("_requests_tls_total"))
        .count();
    assert_eq!(tls_lines, 6, "{m}");
    gw.stop().await;
}
