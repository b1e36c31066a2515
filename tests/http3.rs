//! HTTP/3 (`entryPoints.<name>.http3`): `Alt-Svc` on the TLS side, then the same routers answered
//! over QUIC; bodies streamed both ways, trailers, concurrent streams, limits, malformed input,
//! graceful shutdown. A quinn + h3 client here; `tests/http3_aioquic.rs` repeats the scenarios
//! with aioquic (a client of another stack) and side by side with Traefik.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request};
use support::h3::{
    body_of, client_pki, connect, connect_with, echo, per_host_options, quic_client, quic_status,
    PER_HOST_NAMES,
};
use support::tls::{secure_and_plain, tls_get, write_cert};

/// A gateway on 127.0.0.1:0 with `http3` on its entrypoint, routing `a.test` (TLS) and
/// `plain.test` (no TLS) to `backend_url`.
async fn h3_gateway(backend_url: &str, dir: &std::path::Path) -> support::Gateway {
    let cert = write_cert(dir, "a", &["a.test"]);
    support::gateway_with(
        &secure_and_plain(backend_url, &[cert]),
        "[entryPoints.web.http3]\n",
    )
    .await
}

#[tokio::test]
async fn alt_svc_over_tls_then_the_same_router_answers_over_quic() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let gw = h3_gateway(&backend.url(), dir.path()).await;
    let port = gw.addr.port();

    let tcp = tls_get(gw.addr, "a.test", "/over-tcp").await;
    assert_eq!(tcp.status, 200);
    assert_eq!(
        tcp.headers.get_all("alt-svc").iter().collect::<Vec<_>>(),
        [HeaderValue::from_str(&format!("h3=\":{port}\"; ma=2592000")).unwrap()],
        "Traefik's Alt-Svc, once, on a TLS response"
    );
    // Plain HTTP on the same entrypoint: no announcement (Traefik adds it on the TLS side only).
    let plain = support::get(&support::client(), &gw.url("/"), Some("plain.test")).await;
    assert_eq!(plain.status, 200);
    assert!(
        plain.headers.get("alt-svc").is_none(),
        "{:?}",
        plain.headers
    );

    let client = connect(gw.addr, "a.test").await.unwrap();
    let reply = client.get("a.test", "/over-quic").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().starts_with("app\n"), "{}", reply.text());
    assert_eq!(backend.last_seen().uri, "/over-quic");
    assert_eq!(backend.last_seen().headers["x-forwarded-proto"], "https");
    assert_eq!(backend.last_seen().headers["x-forwarded-host"], "a.test");
    // Over HTTP/3 itself, no Alt-Svc (Traefik's QUIC server serves the handler it wraps).
    assert!(
        reply.headers.get("alt-svc").is_none(),
        "{:?}",
        reply.headers
    );
    // A host only the plain router serves is not found over QUIC (TLS routers only).
    assert_eq!(client.get("plain.test", "/").await.unwrap().status, 404);
    gw.stop().await;
}

#[tokio::test]
async fn advertised_port_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(
        &secure_and_plain(&backend.url(), &[cert]),
        "[entryPoints.web.http3]\nadvertisedPort = 8443\n",
    )
    .await;
    let tcp = tls_get(gw.addr, "a.test", "/").await;
    assert_eq!(tcp.headers["alt-svc"], "h3=\":8443\"; ma=2592000");
    gw.stop().await;
}

#[tokio::test]
async fn without_http3_no_quic_and_no_alt_svc() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(&secure_and_plain(&backend.url(), &[cert]), "").await;
    let tcp = tls_get(gw.addr, "a.test", "/").await;
    assert_eq!(tcp.status, 200);
    assert!(tcp.headers.get("alt-svc").is_none());
    let attempt = tokio::time::timeout(Duration::from_secs(3), connect(gw.addr, "a.test")).await;
    assert!(!matches!(attempt, Ok(Ok(_))), "QUIC answered without http3");
    gw.stop().await;
}

#[tokio::test]
async fn one_megabyte_post_streams_both_ways_with_trailers() {
    let dir = tempfile::tempdir().unwrap();
    let echo = echo().await;
    // h2c to the backend, so trailers survive the upstream hop too.
    let gw = h3_gateway(&format!("h2c://{echo}"), dir.path()).await;
    let client = connect(gw.addr, "a.test").await.unwrap();
    let sent = body_of(1024 * 1024);
    let req = Request::post("https://a.test/upload")
        .header("content-type", "application/octet-stream")
        .body(())
        .unwrap();
    let reply = client.request(req, sent.clone()).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["x-echo"], "yes");
    assert_eq!(reply.body.len(), sent.len());
    assert!(reply.body == sent, "the body came back changed");

    // Request trailers reach the backend, which sends them back as response trailers.
    let mut send = client.send.clone();
    let mut stream = send
        .send_request(Request::post("https://a.test/trailers").body(()).unwrap())
        .await
        .unwrap();
    stream.send_data(Bytes::from_static(b"abc")).await.unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("42"));
    stream.send_trailers(trailers).await.unwrap();
    stream.finish().await.unwrap();
    let resp = stream.recv_response().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = Vec::new();
    while let Some(chunk) = stream.recv_data().await.unwrap() {
        got.extend_from_slice(bytes::Buf::chunk(&chunk));
    }
    assert_eq!(got, b"abc");
    let back = stream
        .recv_trailers()
        .await
        .unwrap()
        .expect("response trailers");
    assert_eq!(back["x-checksum"], "42");
    gw.stop().await;
}

#[tokio::test]
async fn concurrent_streams_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let gw = h3_gateway(&backend.url(), dir.path()).await;
    let client = std::sync::Arc::new(connect(gw.addr, "a.test").await.unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let client = std::sync::Arc::clone(&client);
        tasks.spawn(async move { (i, client.get("a.test", &format!("/n/{i}")).await) });
    }
    let mut ok = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, reply) = done.unwrap();
        let reply = reply.unwrap();
        assert_eq!(reply.status, 200, "request {i}");
        ok += 1;
    }
    assert_eq!(ok, 32);
    assert_eq!(backend.hits(), 32);
    gw.stop().await;
}

#[tokio::test]
async fn access_log_and_metrics_count_http3() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(
        &secure_and_plain(&backend.url(), &[cert]),
        &format!(
            "[entryPoints.web.http3]\n[metrics.prometheus]\nentryPoint = \"web\"\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
            log.display().to_string()
        ),
    )
    .await;
    let client = connect(gw.addr, "a.test").await.unwrap();
    assert_eq!(client.get("a.test", "/logged").await.unwrap().status, 200);
    let found = support::eventually(Duration::from_secs(5), || {
        let log = log.clone();
        async move {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.contains("\"/logged\"") && l.contains("\"RequestProtocol\":\"HTTP/3.0\"")
                })
        }
    })
    .await;
    assert!(
        found,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // The connection's TLS as over TCP (Traefik's `req.TLS` is set for HTTP/3 too): TLS 1.3,
    // Go's first choice of suite, no subject without a client certificate; `Overhead` too.
    let line: serde_json::Value = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|e: &serde_json::Value| e["RequestPath"] == "/logged")
        .unwrap();
    assert_eq!(line["TLSVersion"], "1.3", "{line}");
    assert_eq!(line["TLSCipher"], "TLS_AES_128_GCM_SHA256", "{line}");
    assert!(line.get("TLSClientSubject").is_none(), "{line}");
    assert!(line["Overhead"].is_u64(), "{line}");
    // Counted in the entrypoint's series like any other request.
    let metrics = support::get(&support::client(), &gw.url("/metrics"), None).await;
    let counted = |prefix: &str| {
        metrics
            .body
            .lines()
            .any(|l| l.starts_with(prefix) && l.contains("code=\"200\"") && l.ends_with(" 1"))
    };
    assert!(
        counted("traefik_entrypoint_requests_total{"),
        "{}",
        metrics.body
    );
    gw.stop().await;
}

/// Issue 23 §3: a client certificate sent in the QUIC handshake is the access log's
/// `TLSClientSubject` (Go's `pkix.Name.String()`), as over TCP.
#[tokio::test]
async fn a_client_certificate_over_quic_is_in_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (ca_pem, chain, key) = support::tls::client_pki();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "hosts", PER_HOST_NAMES);
    let gw = support::gateway_with(
        &per_host_options(&backend.url(), &cert, &ca_file.display().to_string()),
        &format!(
            "[entryPoints.web.http3]\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
            log.display().to_string()
        ),
    )
    .await;
    let client = (chain, key);
    assert_eq!(
        quic_status(gw.addr, "mtls.test", quic_client(&[], &[], Some(&client))).await,
        Ok(200)
    );
    let line = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| e["RequestProtocol"] == "HTTP/3.0" && e["RequestHost"] == "mtls.test")
    };
    let logged = support::eventually(Duration::from_secs(5), || {
        let found = line().is_some();
        async move { found }
    })
    .await;
    assert!(
        logged,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let line = line().unwrap();
    assert_eq!(line["TLSVersion"], "1.3", "{line}");
    assert_eq!(
        line["TLSClientSubject"],
        support::tls::CLIENT_SUBJECT,
        "{line}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn oversized_header_is_refused_and_the_connection_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(
        &secure_and_plain(&backend.url(), &[cert]),
        "[entryPoints.web.http3]\n[entryPoints.web.transport]\nmaxHeaderBytes = 4096\n",
    )
    .await;
    let client = connect(gw.addr, "a.test").await.unwrap();
    let req = Request::get("https://a.test/big")
        .header("x-big", "a".repeat(8192))
        .body(())
        .unwrap();
    let refused = client.request(req, Bytes::new()).await;
    assert!(
        !matches!(&refused, Ok(r) if r.status == 200),
        "an 8 KiB header passed a 4 KiB limit: {refused:?}"
    );
    assert_eq!(backend.hits(), 0);
    let next = connect(gw.addr, "a.test").await.unwrap();
    assert_eq!(next.get("a.test", "/after").await.unwrap().status, 200);
    gw.stop().await;
}

#[tokio::test]
async fn malformed_streams_do_not_take_the_listener_down() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let gw = h3_gateway(&backend.url(), dir.path()).await;
    // Raw QUIC streams with garbage where HTTP/3 frames belong.
    let client = connect(gw.addr, "a.test").await.unwrap();
    let garbage: [&[u8]; 4] = [
        &[0xff; 64],
        &[0x01, 0x40, 0xff, 0xff, 0xff], // HEADERS with a length past the end
        &[0x00, 0x05, b'h', b'e', b'l', b'l', b'o'], // DATA before HEADERS
        &[0x01, 0x03, 0xff, 0xfe, 0xfd], // HEADERS that QPACK cannot decode
    ];
    for bytes in garbage {
        if let Ok((mut send, _recv)) = client.connection.open_bi().await {
            let _ = send.write_all(bytes).await;
            let _ = send.finish();
        }
    }
    if let Ok(mut uni) = client.connection.open_uni().await {
        let _ = uni.write_all(&[0x00, 0x04, 0xff, 0xff]).await; // a second control stream
        let _ = uni.finish();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = connect(gw.addr, "a.test").await.unwrap();
    assert_eq!(fresh.get("a.test", "/after").await.unwrap().status, 200);
    gw.stop().await;
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let gw = h3_gateway(&backend.url(), dir.path()).await;
    // Kept open by the client all along: the server must end it.
    let client = std::sync::Arc::new(connect(gw.addr, "a.test").await.unwrap());
    let slow = {
        let client = std::sync::Arc::clone(&client);
        tokio::spawn(async move { client.get("a.test", "/slow").await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = tokio::spawn(gw.stop());
    let reply = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .expect("in-flight request not answered")
        .unwrap()
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.text().starts_with("app\n"));
    // GOAWAY, then the connection closes with its last request: well before the 10 s grace.
    tokio::time::timeout(Duration::from_secs(6), stopping)
        .await
        .expect("shutdown waited for the grace period")
        .unwrap();
    drop(client);
}

#[tokio::test]
async fn tls_options_apply_per_server_name_over_quic() {
    use rustls::crypto::ring::{cipher_suite, kx_group};
    let dir = tempfile::tempdir().unwrap();
    let pki = client_pki(dir.path());
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "hosts", PER_HOST_NAMES);
    let gw = support::gateway_with(
        &per_host_options(&backend.url(), &cert, &pki.ca_file),
        "[entryPoints.web.http3]\n",
    )
    .await;
    let addr = gw.addr;

    // Default options (sniStrict, with a certificate for the name): served as before.
    assert_eq!(
        quic_status(addr, "a.test", quic_client(&[], &[], None)).await,
        Ok(200)
    );
    assert!(backend
        .last_seen()
        .headers
        .get("x-forwarded-tls-client-cert")
        .is_none());

    // clientAuth RequireAndVerifyClientCert: no certificate, or one no listed CA signed, fails;
    // the CA's client is served and its certificate reaches passTLSClientCert.
    let hits = backend.hits();
    let without = quic_status(addr, "mtls.test", quic_client(&[], &[], None)).await;
    assert!(
        without.is_err(),
        "served without a client certificate: {without:?}"
    );
    let stranger = quic_status(
        addr,
        "mtls.test",
        quic_client(&[], &[], Some(&pki.stranger)),
    )
    .await;
    assert!(
        stranger.is_err(),
        "served a certificate no CA signed: {stranger:?}"
    );
    assert_eq!(backend.hits(), hits);
    assert_eq!(
        quic_status(addr, "mtls.test", quic_client(&[], &[], Some(&pki.client))).await,
        Ok(200)
    );
    let passed = backend.last_seen().headers["x-forwarded-tls-client-cert"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(passed.starts_with("MII"), "{passed}");
    // The default host asks for no certificate even from a client that has one.
    assert_eq!(
        quic_status(addr, "a.test", quic_client(&[], &[], Some(&pki.client))).await,
        Ok(200)
    );
    assert!(backend
        .last_seen()
        .headers
        .get("x-forwarded-tls-client-cert")
        .is_none());

    // cipherSuites (TLS 1.3): only AES-256-GCM; a client without it fails, one with it is served.
    let aes128 = [cipher_suite::TLS13_AES_128_GCM_SHA256];
    let aes256 = [cipher_suite::TLS13_AES_256_GCM_SHA384];
    assert!(
        quic_status(addr, "aes256.test", quic_client(&aes128, &[], None))
            .await
            .is_err()
    );
    assert_eq!(
        quic_status(addr, "aes256.test", quic_client(&aes256, &[], None)).await,
        Ok(200)
    );
    assert_eq!(
        quic_status(addr, "a.test", quic_client(&aes128, &[], None)).await,
        Ok(200),
        "the default options keep every TLS 1.3 suite"
    );

    // curvePreferences: P-384 only.
    assert!(quic_status(
        addr,
        "curves.test",
        quic_client(&[], &[kx_group::X25519], None)
    )
    .await
    .is_err());
    assert_eq!(
        quic_status(
            addr,
            "curves.test",
            quic_client(&[], &[kx_group::SECP384R1], None)
        )
        .await,
        Ok(200)
    );

    // alpnProtocols does not take h3 away over QUIC (quic-go sets h3 itself).
    assert_eq!(
        quic_status(addr, "h1.test", quic_client(&[], &[], None)).await,
        Ok(200)
    );

    // sniStrict (default options): a name without a certificate is refused over QUIC too.
    assert!(
        quic_status(addr, "unknown.test", quic_client(&[], &[], None))
            .await
            .is_err()
    );

    // maxVersion TLS 1.2 cannot serve QUIC: refused there, and not announced over TCP.
    assert!(quic_status(addr, "tls12.test", quic_client(&[], &[], None))
        .await
        .is_err());
    let tcp = tls_get(addr, "tls12.test", "/").await;
    assert_eq!(tcp.status, 200);
    assert!(tcp.headers.get("alt-svc").is_none(), "{:?}", tcp.headers);
    let tcp = tls_get(addr, "a.test", "/").await;
    assert!(tcp.headers.get("alt-svc").is_some(), "{:?}", tcp.headers);
    gw.stop().await;
}

#[tokio::test]
async fn changed_tls_options_apply_to_the_next_quic_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let pki = client_pki(dir.path());
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let open = secure_and_plain(&backend.url(), &[cert]);
    let gw = support::gateway_with(&open, "[entryPoints.web.http3]\n").await;
    assert_eq!(
        quic_status(gw.addr, "a.test", quic_client(&[], &[], None)).await,
        Ok(200)
    );
    // The default options now require a client certificate: the next handshake asks for one.
    let strict = format!(
        "{open}  options:\n    default:\n      clientAuth:\n        caFiles: [\"{}\"]\n",
        pki.ca_file
    );
    std::fs::write(&gw.dynamic_file, strict).unwrap();
    let refused = support::eventually(Duration::from_secs(10), || async {
        quic_status(gw.addr, "a.test", quic_client(&[], &[], None))
            .await
            .is_err()
    })
    .await;
    assert!(refused, "the reloaded clientAuth was not applied over QUIC");
    assert_eq!(
        quic_status(gw.addr, "a.test", quic_client(&[], &[], Some(&pki.client))).await,
        Ok(200)
    );
    gw.stop().await;
}

#[tokio::test]
async fn http3_requests_are_counted_in_requests_tls_total() {
    // As Traefik: quic-go gives each HTTP/3 request its connection's TLS state (`req.TLS`),
    // which the metrics middleware counts by version and cipher.
    use rustls::crypto::ring::cipher_suite;
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(
        &secure_and_plain(&backend.url(), &[cert]),
        "[entryPoints.web.http3]\n[metrics.prometheus]\nentryPoint = \"web\"\naddRoutersLabels = true\naddServicesLabels = true\n",
    )
    .await;
    let chacha = [cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    let client = connect_with(gw.addr, "a.test", quic_client(&chacha, &[], None))
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(client.get("a.test", "/").await.unwrap().status, 200);
    }
    let metrics = support::get(&support::client(), &gw.url("/metrics"), None).await;
    let tls = r#"tls_cipher="TLS_CHACHA20_POLY1305_SHA256",tls_version="1.3"} 2"#;
    for family in [
        r#"traefik_entrypoint_requests_tls_total{entrypoint="web","#,
        r#"traefik_router_requests_tls_total{router="secure@file",service="app@file","#,
        r#"traefik_service_requests_tls_total{service="app@file","#,
    ] {
        let line = format!("{family}{tls}");
        assert!(
            metrics.body.lines().any(|l| l == line),
            "{line} not in\n{}",
            metrics.body
        );
    }
    gw.stop().await;
}

#[tokio::test]
async fn an_upstream_alt_svc_follows_the_edge_one() {
    // As Traefik: its own value is in the header map before the upstream's are copied in.
    let dir = tempfile::tempdir().unwrap();
    let upstream = support::serve_fn(|_req: Request<hyper::body::Incoming>| async move {
        http::Response::builder()
            .header("alt-svc", "h2=\":9999\"")
            .body(http_body_util::Full::new(Bytes::new()))
            .unwrap()
    })
    .await;
    let gw = h3_gateway(&format!("http://{upstream}"), dir.path()).await;
    let tcp = tls_get(gw.addr, "a.test", "/").await;
    let values: Vec<&str> = tcp
        .headers
        .get_all("alt-svc")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let ours = format!("h3=\":{}\"; ma=2592000", gw.addr.port());
    assert_eq!(values, [ours.as_str(), "h2=\":9999\""]);
    gw.stop().await;
}

#[tokio::test]
async fn the_connection_cap_counts_quic_connections_too() {
    let dir = tempfile::tempdir().unwrap();
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(
        &secure_and_plain(&backend.url(), &[cert]),
        "[entryPoints.web.http3]\n[entryPoints.web.transport]\nmaxConnections = 1\n",
    )
    .await;
    let first = connect(gw.addr, "a.test").await.unwrap();
    assert_eq!(first.get("a.test", "/").await.unwrap().status, 200);
    let second = tokio::time::timeout(Duration::from_secs(5), connect(gw.addr, "a.test")).await;
    assert!(
        !matches!(second, Ok(Ok(_))),
        "a second connection past maxConnections = 1"
    );
    first.connection.close(0u32.into(), b"done");
    let freed = support::eventually(Duration::from_secs(5), || {
        let addr = gw.addr;
        async move {
            match connect(addr, "a.test").await {
                Ok(c) => c.get("a.test", "/").await.is_ok_and(|r| r.status == 200),
                Err(_) => false,
            }
        }
    })
    .await;
    assert!(freed, "the closed connection's place was not given back");
    gw.stop().await;
}

/// A bare HTTP/3 endpoint (empty routing table: every request 404) with Retry above `retry_above`
/// handshakes in progress; its address and its count of Retries sent.
async fn bare_endpoint(
    retry_above: usize,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::sync::Arc;
    use swarmgate::proxy::h3::{H3EntryPoint, H3Options};
    let cfg: swarmgate::config::StaticConfig =
        toml::from_str("[entryPoints.web]\naddress = \"127.0.0.1:0\"\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls = swarmgate::tls::Tls::new(&cfg, dir.path()).unwrap();
    let table = Arc::new(arc_swap::ArcSwap::from_pointee(
        swarmgate::table::RoutingTable::default(),
    ));
    let proxy = swarmgate::proxy::Proxy::new(table, 0, "web", Default::default());
    let mut options = H3Options::from_entrypoint(&swarmgate::proxy::EntryPointOptions::default());
    options.retry_above = retry_above;
    let h3 = H3EntryPoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(proxy),
        tls.acceptor(0),
        options,
        swarmgate::proxy::limits::ConnectionGate::new(None),
    )
    .unwrap();
    let addr = h3.local_addr().unwrap();
    let retries = h3.retries();
    tokio::spawn(h3.serve(stop));
    (addr, retries)
}

#[tokio::test]
async fn unvalidated_clients_get_a_retry_once_handshakes_pile_up() {
    use std::sync::atomic::Ordering::SeqCst;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    // Threshold 0 (as under a flood): the first Initial gets a Retry, the client comes back with
    // its token and is served.
    let (flooded, retries) = bare_endpoint(0, stopped.clone()).await;
    let client = connect(flooded, "any.test").await.unwrap();
    assert_eq!(client.get("any.test", "/").await.unwrap().status, 404);
    assert_eq!(retries.load(SeqCst), 1);
    // The default threshold: a lone client pays no extra round trip.
    let (calm, none) = bare_endpoint(swarmgate::proxy::h3::RETRY_ABOVE, stopped).await;
    let client = connect(calm, "any.test").await.unwrap();
    assert_eq!(client.get("any.test", "/").await.unwrap().status, 404);
    assert_eq!(none.load(SeqCst), 0);
}
