//! https probes against a real rustls server with a self-signed certificate (testdata/, ECDSA P-256, CN and SAN
//! `health.test`): accepted because health probes do not verify certificates.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::probe::{Probe, ProbeError};
use crate::config::dynamic::HealthCheckConfig;

const CERT: &[u8] = include_bytes!("testdata/cert.pem");
const KEY: &[u8] = include_bytes!("testdata/key.pem");

/// An https server answering `status`; returns its address.
async fn tls_server(status: u16) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let certs = rustls_pemfile::certs(&mut &CERT[..])
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut &KEY[..]).unwrap().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |_req: Request<Incoming>| async move {
                    let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
                    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn https_probe_skips_certificate_verification() {
    let (addr, task) = tls_server(200).await;
    // Address as SNI (the certificate names health.test, not the IP): still accepted.
    let probe = Probe::new(&format!("https://{addr}"), &HealthCheckConfig::default()).unwrap();
    probe.check().await.unwrap();
    // Scheme override on an http:// server URL, with a hostname for SNI and Host.
    let config = HealthCheckConfig {
        scheme: Some("https".into()),
        hostname: Some("health.test".into()),
        ..Default::default()
    };
    let probe = Probe::new(&format!("http://{addr}"), &config).unwrap();
    probe.check().await.unwrap();
    task.abort();

    let (addr, task) = tls_server(500).await;
    let probe = Probe::new(&format!("https://{addr}"), &HealthCheckConfig::default()).unwrap();
    assert!(matches!(
        probe.check().await,
        Err(ProbeError::Status { .. })
    ));
    task.abort();
}

#[tokio::test]
async fn https_probe_against_plain_http_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = tcp
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let probe = Probe::new(&format!("https://{addr}"), &HealthCheckConfig::default()).unwrap();
    assert!(matches!(probe.check().await, Err(ProbeError::Tls { .. })));
    task.abort();
}
