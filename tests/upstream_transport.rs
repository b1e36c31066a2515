#![allow(clippy::disallowed_types)] // std Mutex: test
//! `serversTransports` per service, as Traefik 3.7: client certificates (mTLS to the server),
//! `peerCertURI` / `peerCertSANs`, HTTP/2 through ALPN unless `disableHTTP2`, negative
//! `maxIdleConnsPerHost`, and the options swarmgate refuses (fail closed).
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use support::*;

/// A CA and certificates it signs.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `names` (DNS), with `uri` as a URI SAN when given; (cert PEM, key PEM, DER).
    fn issue(&self, cn: &str, names: &[&str], uri: Option<&str>) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if let Some(uri) = uri {
            params
                .subject_alt_names
                .push(rcgen::SanType::URI(uri.try_into().unwrap()));
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn der_chain(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

fn der_key(pem: &str) -> PrivateKeyDer<'static> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .unwrap()
        .unwrap()
}

struct TlsBackend {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    /// The protocol version and cipher suite of the last handshake.
    negotiated: Arc<std::sync::Mutex<Option<(rustls::ProtocolVersion, rustls::CipherSuite)>>>,
}

/// An HTTPS server with `cert`/`key`; `client_ca`: client certificates required and verified
/// against it; `alpn`: protocols it offers. Answers `v=<version> cn=<client CN or ->`.
async fn tls_backend(
    cert: &(String, String),
    client_ca: Option<&Ca>,
    alpn: &[&[u8]],
) -> TlsBackend {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.issuer.der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(der_chain(&cert.0), der_key(&cert.1))
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let negotiated = Arc::new(std::sync::Mutex::new(None));
    let seen = Arc::clone(&negotiated);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counted = Arc::clone(&counted);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let conn = tls.get_ref().1;
                *seen.lock().unwrap() = conn
                    .protocol_version()
                    .zip(conn.negotiated_cipher_suite().map(|s| s.suite()));
                let cn = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| {
                        let (_, x) = x509_parser::parse_x509_certificate(c.as_ref()).unwrap();
                        let cn = x.subject().iter_common_name().next().unwrap();
                        cn.as_str().unwrap().to_string()
                    })
                    .unwrap_or_else(|| "-".to_string());
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let cn = cn.clone();
                    async move {
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(format!(
                            "v={:?} cn={cn}",
                            req.version()
                        )))))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TlsBackend {
        addr,
        connections,
        negotiated,
    }
}

/// One router per (path, service, transport) over `url`; `transports` is the YAML body of
/// `serversTransports`.
fn config(routes: &[(&str, &str, Option<&str>)], transports: &str) -> String {
    let mut routers = String::new();
    let mut services = String::new();
    for (name, url, transport) in routes {
        routers.push_str(&format!(
            "    {name}:\n      rule: \"PathPrefix(`/{name}`)\"\n      service: {name}\n"
        ));
        let t = transport
            .map(|t| format!("        serversTransport: {t}\n"))
            .unwrap_or_default();
        services.push_str(&format!(
            "    {name}:\n      loadBalancer:\n{t}        servers: [{{url: \"{url}\"}}]\n"
        ));
    }
    format!("http:\n  routers:\n{routers}  services:\n{services}  serversTransports:\n{transports}")
}

fn indent(pem: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    pem.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

#[tokio::test]
async fn client_certificates_give_mtls_to_the_server() {
    let server_ca = Ca::new("server ca");
    let client_ca = Ca::new("client ca");
    let backend = tls_backend(
        &server_ca.issue("backend", &["localhost"], None),
        Some(&client_ca),
        &[b"http/1.1"],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("server-ca.pem");
    std::fs::write(&ca_file, server_ca.pem()).unwrap();
    let (cert_pem, key_pem) = client_ca.issue("edge-client", &["edge"], None);
    let cert_file = dir.path().join("client.pem");
    let key_file = dir.path().join("client.key");
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, &key_pem).unwrap();
    let (inline_cert, inline_key) = client_ca.issue("inline-client", &["edge"], None);
    let url = format!("https://localhost:{}", backend.addr.port());
    let transports = format!(
        r#"    files:
      rootCAs: ["{ca}"]
      certificates:
        - certFile: "{cert}"
          keyFile: "{key}"
    inline:
      serverName: localhost
      rootCAs: ["{ca}"]
      certificates:
        - certFile: |
{inline_cert}          keyFile: |
{inline_key}    nocert:
      rootCAs: ["{ca}"]
"#,
        ca = ca_file.display(),
        cert = cert_file.display(),
        key = key_file.display(),
        inline_cert = indent(&inline_cert, 12),
        inline_key = indent(&inline_key, 12),
    );
    let ip_url = format!("https://127.0.0.1:{}", backend.addr.port());
    let yaml = config(
        &[
            ("files", &url, Some("files")),
            ("inline", &ip_url, Some("inline")),
            ("nocert", &url, Some("nocert")),
        ],
        &transports,
    );
    let gw = gateway(&yaml).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(issues.is_empty(), "{issues:?}");
    let c = client();
    let files = get(&c, &gw.url("/files"), None).await;
    assert_eq!(files.status, 200, "{}", files.body);
    assert_eq!(files.body, "v=HTTP/1.1 cn=edge-client");
    // Inline PEM, and serverName naming the certificate's host for an IP URL.
    let inline = get(&c, &gw.url("/inline"), None).await;
    assert_eq!(inline.status, 200, "{}", inline.body);
    assert_eq!(inline.body, "v=HTTP/1.1 cn=inline-client");
    // Without a client certificate the server refuses the handshake.
    let nocert = get(&c, &gw.url("/nocert"), None).await;
    assert_eq!(nocert.status, 502, "{}", nocert.body);
    gw.stop().await;
}

#[tokio::test]
async fn peer_cert_uri_and_sans_checked_on_the_server_certificate() {
    let ca = Ca::new("mesh ca");
    let backend = tls_backend(
        &ca.issue("svc", &["svc.internal"], Some("spiffe://mesh/ns/app")),
        None,
        &[b"http/1.1"],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let other_ca = Ca::new("other");
    let other_file = dir.path().join("other.pem");
    std::fs::write(&other_file, other_ca.pem()).unwrap();
    // The URL's host is not in the certificate: insecureSkipVerify drops the host name check
    // only; the chain and the SAN are still checked (Traefik's VerifyPeerCertificate).
    let url = format!("https://127.0.0.1:{}", backend.addr.port());
    let transports = format!(
        r#"    uri:
      insecureSkipVerify: true
      rootCAs: ["{ca}"]
      peerCertURI: "spiffe://mesh/ns/app"
    wronguri:
      insecureSkipVerify: true
      rootCAs: ["{ca}"]
      peerCertURI: "spiffe://mesh/ns/other"
    dns:
      insecureSkipVerify: true
      rootCAs: ["{ca}"]
      peerCertSANs: [{{type: DNSName, value: svc.internal}}]
    wrongchain:
      insecureSkipVerify: true
      rootCAs: ["{other}"]
      peerCertURI: "spiffe://mesh/ns/app"
    hostchecked:
      rootCAs: ["{ca}"]
      peerCertURI: "spiffe://mesh/ns/app"
"#,
        ca = ca_file.display(),
        other = other_file.display()
    );
    let yaml = config(
        &[
            ("uri", &url, Some("uri")),
            ("wronguri", &url, Some("wronguri")),
            ("dns", &url, Some("dns")),
            ("wrongchain", &url, Some("wrongchain")),
            ("hostchecked", &url, Some("hostchecked")),
        ],
        &transports,
    );
    let gw = gateway(&yaml).await;
    let c = client();
    for (path, status) in [
        ("/uri", 200),
        ("/wronguri", 502),
        ("/dns", 200),
        ("/wrongchain", 502),
        ("/hostchecked", 502),
    ] {
        let r = get(&c, &gw.url(path), None).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
    }
    gw.stop().await;
}

#[tokio::test]
async fn https_servers_get_http2_through_alpn_unless_disabled() {
    let ca = Ca::new("ca");
    let backend = tls_backend(
        &ca.issue("b", &["localhost"], None),
        None,
        &[b"h2", b"http/1.1"],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let url = format!("https://localhost:{}", backend.addr.port());
    let transports = format!(
        "    h2:\n      rootCAs: [\"{ca}\"]\n    h1:\n      rootCAs: [\"{ca}\"]\n      disableHTTP2: true\n",
        ca = ca_file.display()
    );
    let yaml = config(
        &[("h2", &url, Some("h2")), ("h1", &url, Some("h1"))],
        &transports,
    );
    let gw = gateway(&yaml).await;
    let c = client();
    for _ in 0..3 {
        let r = get(&c, &gw.url("/h2"), None).await;
        assert_eq!(
            (r.status.as_u16(), r.body.as_str()),
            (200, "v=HTTP/2.0 cn=-")
        );
    }
    let after_h2 = backend.connections.load(Ordering::SeqCst);
    assert_eq!(after_h2, 1, "one shared HTTP/2 connection");
    let r = get(&c, &gw.url("/h1"), None).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "v=HTTP/1.1 cn=-")
    );
    gw.stop().await;
}

#[tokio::test]
async fn negative_max_idle_conns_disables_reuse() {
    let ca = Ca::new("ca");
    let backend = tls_backend(&ca.issue("b", &["localhost"], None), None, &[]).await;
    let url = format!("https://localhost:{}", backend.addr.port());
    let transports = "    noreuse:\n      insecureSkipVerify: true\n      maxIdleConnsPerHost: -1\n    reuse:\n      insecureSkipVerify: true\n";
    let yaml = config(
        &[
            ("noreuse", &url, Some("noreuse")),
            ("reuse", &url, Some("reuse")),
        ],
        transports,
    );
    let gw = gateway(&yaml).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(get(&c, &gw.url("/noreuse"), None).await.status, 200);
    }
    assert_eq!(backend.connections.load(Ordering::SeqCst), 3);
    for _ in 0..3 {
        assert_eq!(get(&c, &gw.url("/reuse"), None).await.status, 200);
    }
    assert_eq!(backend.connections.load(Ordering::SeqCst), 4);
    gw.stop().await;
}

#[tokio::test]
async fn unusable_or_unknown_transports_disable_only_their_routers() {
    let ca = Ca::new("ca");
    let backend = tls_backend(&ca.issue("b", &["localhost"], None), None, &[]).await;
    let url = format!("https://localhost:{}", backend.addr.port());
    let transports = r#"    spiffe:
      spiffe: {trustDomain: "mesh"}
    cbc:
      insecureSkipVerify: true
      cipherSuites: [TLS_RSA_WITH_AES_128_CBC_SHA]
    tls10:
      insecureSkipVerify: true
      minVersion: VersionTLS10
    nokey:
      insecureSkipVerify: true
      certificates: [{certFile: /nonexistent/c.pem, keyFile: /nonexistent/k.pem}]
    good:
      insecureSkipVerify: true
"#;
    let yaml = config(
        &[
            ("spiffe", &url, Some("spiffe")),
            ("cbc", &url, Some("cbc")),
            ("tls10", &url, Some("tls10")),
            ("nokey", &url, Some("nokey")),
            ("unknown", &url, Some("goood")),
            ("good", &url, Some("good@file")),
        ],
        transports,
    );
    let gw = gateway(&yaml).await;
    let issues: Vec<String> = gw
        .running
        .as_ref()
        .unwrap()
        .issues
        .load()
        .iter()
        .map(|i| format!("{i:?}"))
        .collect();
    let all = issues.join("\n");
    eprintln!("{all}");
    for needle in [
        "spiffe",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "VersionTLS10",
        "/nonexistent/c.pem",
        "serversTransport \\\"goood@file\\\" does not exist (did you mean \\\"good@file\\\"?)",
    ] {
        assert!(all.contains(needle), "no issue names {needle}: {all}");
    }
    let c = client();
    for path in ["/spiffe", "/cbc", "/tls10", "/nokey", "/unknown"] {
        // A closed router answers 503 (swarmgate's fail-closed answer) instead of serving.
        let r = get(&c, &gw.url(path), None).await;
        assert_eq!(r.status, 503, "{path}: {}", r.body);
    }
    assert_eq!(get(&c, &gw.url("/good"), None).await.status, 200);
    gw.stop().await;
}

#[tokio::test]
async fn static_servers_transport_is_the_default_transport() {
    let ca = Ca::new("ca");
    let backend = tls_backend(&ca.issue("b", &["localhost"], None), None, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let url = format!("https://localhost:{}", backend.addr.port());
    let yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers: [{{url: \"{url}\"}}]\n"
    );
    // `default@internal`: the static rootCAs verify the server, and a negative
    // maxIdleConnsPerHost turns reuse off.
    let static_toml = format!(
        "\n[serversTransport]\nrootCAs = [{:?}]\nmaxIdleConnsPerHost = -1\n",
        ca_file.display().to_string()
    );
    let gw = gateway_with(&yaml, &static_toml).await;
    let c = client();
    for _ in 0..2 {
        let r = get(&c, &gw.url("/"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(backend.connections.load(Ordering::SeqCst), 2);
    gw.stop().await;
    // Without the static rootCAs the same server is not trusted.
    let gw = gateway(&yaml).await;
    assert_eq!(get(&c, &gw.url("/"), None).await.status, 502);
    gw.stop().await;
}

#[tokio::test]
async fn several_certificates_present_the_one_the_server_accepts() {
    // As Go: each handshake presents the first certificate issued by a CA the server's
    // CertificateRequest names; two servers trusting different CAs each get theirs.
    let server_ca = Ca::new("server ca");
    let (ca_a, ca_b) = (Ca::new("client ca A"), Ca::new("client ca B"));
    let trusts_a = tls_backend(
        &server_ca.issue("a", &["localhost"], None),
        Some(&ca_a),
        &[b"http/1.1"],
    )
    .await;
    let trusts_b = tls_backend(
        &server_ca.issue("b", &["localhost"], None),
        Some(&ca_b),
        &[b"http/1.1"],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("server-ca.pem");
    std::fs::write(&ca_file, server_ca.pem()).unwrap();
    let mut certificates = String::new();
    for (i, (cert, key)) in [
        ca_a.issue("client-of-a", &["edge"], None),
        ca_b.issue("client-of-b", &["edge"], None),
    ]
    .into_iter()
    .enumerate()
    {
        let (c, k) = (
            dir.path().join(format!("c{i}.pem")),
            dir.path().join(format!("c{i}.key")),
        );
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        certificates.push_str(&format!(
            "        - {{ certFile: \"{}\", keyFile: \"{}\" }}\n",
            c.display(),
            k.display()
        ));
    }
    let transports = format!(
        "    two:\n      rootCAs: [\"{}\"]\n      certificates:\n{certificates}",
        ca_file.display()
    );
    let url = |b: &TlsBackend| format!("https://localhost:{}", b.addr.port());
    let yaml = config(
        &[
            ("a", &url(&trusts_a), Some("two")),
            ("b", &url(&trusts_b), Some("two")),
        ],
        &transports,
    );
    let gw = gateway(&yaml).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(issues.is_empty(), "{issues:?}");
    let c = client();
    let a = get(&c, &gw.url("/a"), None).await;
    assert_eq!(
        (a.status.as_u16(), a.body.as_str()),
        (200, "v=HTTP/1.1 cn=client-of-a")
    );
    let b = get(&c, &gw.url("/b"), None).await;
    assert_eq!(
        (b.status.as_u16(), b.body.as_str()),
        (200, "v=HTTP/1.1 cn=client-of-b")
    );
    gw.stop().await;
}

#[tokio::test]
async fn cipher_suites_and_versions_shape_the_handshake_to_the_server() {
    // rustls backend offering TLS 1.2 and 1.3 with every suite; each transport narrows what
    // swarmgate offers, and the handshake succeeds with what it allowed.
    let server_ca = Ca::new("server ca");
    let backend = tls_backend(
        &server_ca.issue("backend", &["localhost"], None),
        None,
        &[b"http/1.1"],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("server-ca.pem");
    std::fs::write(&ca_file, server_ca.pem()).unwrap();
    let ca = ca_file.display();
    let transports = format!(
        r#"    tls13:
      rootCAs: ["{ca}"]
      minVersion: VersionTLS13
    aes256:
      rootCAs: ["{ca}"]
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
    chacha:
      rootCAs: ["{ca}"]
      minVersion: VersionTLS12
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]
    rsaonly:
      rootCAs: ["{ca}"]
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
"#
    );
    let url = format!("https://localhost:{}", backend.addr.port());
    let names = ["tls13", "aes256", "chacha", "rsaonly"];
    let routes: Vec<(&str, &str, Option<&str>)> =
        names.iter().map(|n| (*n, url.as_str(), Some(*n))).collect();
    // A new connection per route: no pooled connection carries one transport's handshake to
    // another (each transport has its own pool anyway).
    let gw = gateway(&config(&routes, &transports)).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(issues.is_empty(), "{issues:?}");
    let c = client();
    use rustls::{CipherSuite as S, ProtocolVersion as V};
    for (name, expected) in [
        ("tls13", Some((V::TLSv1_3, S::TLS13_AES_256_GCM_SHA384))),
        (
            "aes256",
            Some((V::TLSv1_2, S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)),
        ),
        (
            "chacha",
            Some((V::TLSv1_2, S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)),
        ),
        // The server's key is ECDSA: an RSA-only suite list leaves nothing in common.
        ("rsaonly", None),
    ] {
        *backend.negotiated.lock().unwrap() = None;
        let reply = get(&c, &gw.url(&format!("/{name}")), None).await;
        match expected {
            Some(handshake) => {
                assert_eq!(reply.status.as_u16(), 200, "{name}: {}", reply.body);
                assert_eq!(
                    *backend.negotiated.lock().unwrap(),
                    Some(handshake),
                    "{name}"
                );
            }
            None => {
                assert_eq!(reply.status.as_u16(), 502, "{name}: {}", reply.body);
                assert_eq!(*backend.negotiated.lock().unwrap(), None, "{name}");
            }
        }
    }
    gw.stop().await;
}

/// Counts the HTTP/2 PING frames (not ACKs) a client sends, by reading the frame headers of
/// the cleartext stream as it passes to the server.
struct PingCounter<S> {
    inner: S,
    /// Bytes of the client preface still to skip.
    preface: usize,
    header: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    payload: usize,
    pings: Arc<AtomicUsize>,
}

impl<S> PingCounter<S> {
    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.preface > 0 {
                self.preface -= 1;
            } else if self.payload > 0 {
                self.payload -= 1;
            } else {
                self.header.push(b);
                if self.header.len() == 9 {
                    let h = &self.header;
                    let len =
                        (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
                    // Type 0x6 PING, flag 0x1 ACK.
                    if h[3] == 0x6 && h[4] & 0x1 == 0 {
                        self.pings.fetch_add(1, Ordering::SeqCst);
                    }
                    self.payload = len;
                    self.header.clear();
                }
            }
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for PingCounter<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &poll {
            let new = buf.filled()[before..].to_vec();
            self.scan(&new);
        }
        poll
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for PingCounter<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An h2c server that counts the PINGs it receives.
async fn h2c_ping_counting_backend() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pings = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&pings);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let io = PingCounter {
                inner: stream,
                preface: 24,
                header: Vec::new(),
                payload: 0,
                pings: Arc::clone(&counted),
            };
            tokio::spawn(async move {
                let svc = service_fn(|_req: http::Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("h2"))))
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(io), svc)
                    .await;
            });
        }
    });
    (addr, pings)
}

#[tokio::test]
async fn read_idle_timeout_pings_an_idle_http2_server() {
    // readIdleTimeout 300ms: swarmgate PINGs the idle pooled HTTP/2 connection; without it,
    // no PING is sent in the same time.
    let (pinged, pinged_count) = h2c_ping_counting_backend().await;
    let (quiet, quiet_count) = h2c_ping_counting_backend().await;
    let transports = "    pinging:\n      forwardingTimeouts: { readIdleTimeout: 300ms, pingTimeout: 2s }\n    plain: {}\n";
    let yaml = config(
        &[
            ("pinged", &format!("h2c://{pinged}"), Some("pinging")),
            ("quiet", &format!("h2c://{quiet}"), Some("plain")),
        ],
        transports,
    );
    let gw = gateway(&yaml).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(issues.is_empty(), "{issues:?}");
    let c = client();
    for path in ["/pinged", "/quiet"] {
        let reply = get(&c, &gw.url(path), None).await;
        assert_eq!(reply.status.as_u16(), 200, "{path}: {}", reply.body);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let pings = pinged_count.load(Ordering::SeqCst);
    assert!(
        pings >= 2,
        "{pings} PINGs in 1.5 s of idle with readIdleTimeout 300ms"
    );
    assert_eq!(quiet_count.load(Ordering::SeqCst), 0);
    // The PINGs were answered: the server is still served through the same transport.
    let reply = get(&c, &gw.url("/pinged"), None).await;
    assert_eq!(reply.status.as_u16(), 200);
    gw.stop().await;
}

/// What an HTTP/1.1 request through the plain TCP entrypoint at `addr` gets back (empty when the
/// connection closes without an answer, as when the TLS connect to the server fails).
async fn raw_http(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: svc.internal\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn peer_cert_uri_is_checked_on_tcp_servers_transports() {
    let ca = Ca::new("mesh ca");
    let backend = tls_backend(
        &ca.issue("svc", &["svc.internal"], Some("spiffe://mesh/ns/app")),
        None,
        &[],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    for (uri, answered) in [
        ("spiffe://mesh/ns/app", true),
        ("spiffe://mesh/ns/other", false),
    ] {
        let dynamic = format!(
            r#"tcp:
  routers:
    r:
      rule: "HostSNI(`*`)"
      service: s
  services:
    s:
      loadBalancer:
        serversTransport: mesh
        servers:
          - address: "127.0.0.1:{port}"
            tls: true
  serversTransports:
    mesh:
      tls:
        serverName: svc.internal
        rootCAs: ["{ca}"]
        peerCertURI: "{uri}"
"#,
            port = backend.addr.port(),
            ca = ca_file.display(),
        );
        let gw = gateway_with(&dynamic, "").await;
        let reply = raw_http(gw.addr).await;
        assert_eq!(
            reply.starts_with("HTTP/1.1 200"),
            answered,
            "peerCertURI {uri}: {reply:?}"
        );
        gw.stop().await;
    }
}
