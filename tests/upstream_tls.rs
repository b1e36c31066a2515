//! `https` servers: verified against `serversTransport.rootCAs`, or `insecureSkipVerify`.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::*;

/// An HTTPS backend with a fresh self-signed certificate for `localhost`; returns its port and the
/// certificate PEM.
async fn tls_backend() -> (std::net::SocketAddr, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key_der)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                    let host = req.headers().get("host").cloned();
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(format!(
                        "secure {:?}",
                        host
                    )))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (addr, pem)
}

#[tokio::test]
async fn https_server_verified_with_root_cas_or_skipped() {
    let (addr, pem) = tls_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let url = format!("https://localhost:{}", addr.port());
    let yaml = format!(
        r#"
http:
  routers:
    verified:
      rule: "PathPrefix(`/verified`)"
      service: verified
    skipped:
      rule: "PathPrefix(`/skipped`)"
      service: skipped
    untrusted:
      rule: "PathPrefix(`/untrusted`)"
      service: untrusted
  services:
    verified:
      loadBalancer:
        serversTransport: ca
        servers: [{{url: "{url}"}}]
    skipped:
      loadBalancer:
        serversTransport: insecure
        servers: [{{url: "https://{addr}"}}]
    untrusted:
      loadBalancer:
        servers: [{{url: "{url}"}}]
  serversTransports:
    ca:
      rootCAs: ["{ca}"]
    insecure:
      insecureSkipVerify: true
"#,
        ca = ca.display()
    );
    let gw = gateway(&yaml).await;
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(issues.is_empty(), "{issues:?}");
    let c = client();
    let verified = get(&c, &gw.url("/verified"), None).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert!(verified.body.starts_with("secure"));
    let skipped = get(&c, &gw.url("/skipped"), None).await;
    assert_eq!(skipped.status, 200, "{}", skipped.body);
    let untrusted = get(&c, &gw.url("/untrusted"), None).await;
    assert_eq!(
        untrusted.status, 502,
        "a certificate no root vouches for is refused"
    );
    gw.stop().await;
}
