//! TLS termination end to end with real rustls clients: SNI selection, the default certificate,
//! ALPN, protocol versions, certificate files replaced on disk, plain and TLS on one
//! entrypoint, and the entrypoint redirection.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::tls::*;
use support::{backend, client, eventually, gateway_with, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Setup {
    gw: support::Gateway,
    dir: tempfile::TempDir,
    _backend: support::Backend,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let certs = vec![
        write_cert(dir.path(), "a", &["a.test"]),
        write_cert(dir.path(), "b", &["b.test"]),
        write_cert(dir.path(), "wild", &["*.wild.test"]),
    ];
    let app = backend("app").await;
    let gw = gateway_with(&secure_and_plain(&app.url(), &certs), "").await;
    Setup {
        gw,
        dir,
        _backend: app,
    }
}

#[tokio::test]
async fn sni_selects_exact_then_wildcard_then_default() {
    let s = setup().await;
    let cases = [
        ("a.test", "a.test"),
        ("b.test", "b.test"),
        ("x.wild.test", "*.wild.test"),
        ("unknown.test", "swarmgate.default.invalid"),
        ("y.x.wild.test", "swarmgate.default.invalid"),
    ];
    for (sni, expected) in cases {
        assert_eq!(presented(s.gw.addr, sni).await, vec![expected], "SNI {sni}");
    }
    s.gw.stop().await;
}

#[tokio::test]
async fn alpn_negotiates_h2_and_http11() {
    let s = setup().await;
    for (offer, alpn, version) in [
        (&["h2", "http/1.1"][..], &b"h2"[..], http::Version::HTTP_2),
        (&["http/1.1"][..], &b"http/1.1"[..], http::Version::HTTP_11),
    ] {
        let stream = connect(insecure_config(offer), s.gw.addr, "a.test").await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(alpn));
        let reply = request(stream, "a.test", "/x").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.version, version);
        assert!(reply.body.starts_with("app\n"), "{}", reply.body);
    }
    s.gw.stop().await;
}

/// A TLS 1.1 ClientHello (legacy version 0x0302, no supported_versions extension) for `a.test`.
fn tls11_client_hello() -> Vec<u8> {
    let sni = b"a.test";
    let mut server_name = vec![0x00];
    server_name.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    server_name.extend_from_slice(sni);
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&(server_name.len() as u16).to_be_bytes());
    sni_ext.extend_from_slice(&server_name);
    let mut extensions = vec![0x00, 0x00];
    extensions.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
    extensions.extend_from_slice(&sni_ext);
    // supported_groups (x25519, secp256r1), ec_point_formats, signature_algorithms: everything a
    // TLS 1.2 server needs, so only the version can be the reason for a refusal.
    extensions.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
    extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    extensions.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    ]);

    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0); // session id
                  // ECDHE-ECDSA/RSA-AES128-GCM-SHA256 (TLS 1.2 suites the server supports), AES128-SHA.
    body.extend_from_slice(&[0x00, 0x06, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x2f]);
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn tls_1_1_is_refused_with_a_protocol_version_alert_and_1_2_works() {
    let s = setup().await;
    let mut tcp = tokio::net::TcpStream::connect(s.gw.addr).await.unwrap();
    tcp.write_all(&tls11_client_hello()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    // An alert record (type 21), fatal (2), protocol_version (70).
    assert!(answer.len() >= 7, "answer {answer:?}");
    assert_eq!(answer[0], 0x15, "answer {answer:?}");
    assert_eq!(&answer[5..7], &[2, 70], "answer {answer:?}");

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
    let stream = connect(tls12, s.gw.addr, "a.test").await;
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(request(stream, "a.test", "/").await.status, 200);
    if which_openssl() {
        let out = tokio::process::Command::new("openssl")
            .args([
                "s_client",
                "-tls1_1",
                "-cipher",
                "DEFAULT@SECLEVEL=0",
                "-connect",
            ])
            .arg(s.gw.addr.to_string())
            .args(["-servername", "a.test"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "openssl -tls1_1 must fail");
    }
    s.gw.stop().await;
}

fn which_openssl() -> bool {
    std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn replaced_certificate_file_is_served_to_new_connections_without_restart() {
    let s = setup().await;
    let old = connect(insecure_config(&["http/1.1"]), s.gw.addr, "a.test").await;
    assert_eq!(leaf_names(&old), vec!["a.test"]);
    let old_serial = leaf_serial(&old);
    let io = hyper_util::rt::TokioIo::new(old);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);

    write_cert(s.dir.path(), "a", &["a.test", "new.a.test"]);
    let addr = s.gw.addr;
    assert!(
        eventually(Duration::from_secs(8), || async move {
            presented(addr, "a.test").await == vec!["a.test", "new.a.test"]
        })
        .await,
        "the new certificate is served"
    );
    let fresh = connect(insecure_config(&["http/1.1"]), addr, "new.a.test").await;
    assert_ne!(leaf_serial(&fresh), old_serial);

    // The connection opened before the swap still works.
    let req = http::Request::get("/still")
        .header("host", "a.test")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    assert_eq!(sender.send_request(req).await.unwrap().status(), 200);
    s.gw.stop().await;
}

#[tokio::test]
async fn plain_and_tls_routers_share_one_entrypoint() {
    let s = setup().await;
    let http = client();
    let url = s.gw.url("/p");
    assert_eq!(get(&http, &url, Some("plain.test")).await.status, 200);
    assert_eq!(
        get(&http, &url, Some("a.test")).await.status,
        404,
        "TLS router is not plain"
    );
    assert_eq!(tls_get(s.gw.addr, "a.test", "/p").await.status, 200);
    assert_eq!(
        tls_get(s.gw.addr, "plain.test", "/p").await.status,
        404,
        "plain router is not TLS"
    );
    s.gw.stop().await;
}

#[tokio::test]
async fn redirection_entrypoint_sends_plain_requests_to_https() {
    let app = backend("app").await;
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let port = free_port();
    let extra = format!(
        "\n[entryPoints.web.http.redirections.entryPoint]\nto = \"websecure\"\n\n[entryPoints.websecure]\naddress = \"127.0.0.1:{port}\"\n[entryPoints.websecure.http.tls]\n"
    );
    let yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"Host(`a.test`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\ntls:\n  certificates:\n    - certFile: \"{}\"\n      keyFile: \"{}\"\n",
        app.url(),
        cert.0,
        cert.1
    );
    let gw = gateway_with(&yaml, &extra).await;
    let http = client();
    let reply = get(&http, &gw.url("/x?y=1"), Some("a.test")).await;
    assert_eq!(reply.status, 301);
    assert_eq!(
        reply.headers["location"],
        format!("https://a.test:{port}/x?y=1").as_str()
    );
    let post = http::Request::post(gw.url("/form"))
        .header("host", "other.test")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let reply = support::send(&http, post).await;
    assert_eq!(reply.status, 308, "non-GET keeps its method");
    let secure = gw.running.as_ref().unwrap().address("websecure").unwrap();
    let reply = tls_get(secure, "a.test", "/x").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("app\n"));
    gw.stop().await;
}
