//! A small load client for comparing HTTP/3 with HTTP/2 on the same route (BENCHMARKS.md):
//! `C` connections × `S` concurrent streams, GET in a loop for `T` seconds, requests/s printed.
//! Certificates are not verified (a benchmark against a test certificate).
//!
//! `cargo run --release --example h3load -- h3|h2 ADDR HOST [PATH] [C] [S] [T]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Empty};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

#[derive(Debug)]
struct AcceptAll(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAll {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls(alpn: &[u8]) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAll(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    config
}

/// Loops GETs on one HTTP/3 connection with `streams` tasks until `until`.
async fn h3_conn(
    addr: SocketAddr,
    host: String,
    path: String,
    streams: usize,
    until: Instant,
    done: Arc<AtomicU64>,
) {
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls(b"h3")).unwrap();
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    let conn = endpoint.connect(addr, &host).unwrap().await.unwrap();
    let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(conn))
        .await
        .unwrap();
    tokio::spawn(async move { std::future::poll_fn(|cx| driver.poll_close(cx)).await });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let mut send = send.clone();
        let (uri, done) = (format!("https://{host}{path}"), Arc::clone(&done));
        tasks.spawn(async move {
            while Instant::now() < until {
                let req = http::Request::get(uri.as_str()).body(()).unwrap();
                let mut stream = send.send_request(req).await.unwrap();
                stream.finish().await.unwrap();
                let resp = stream.recv_response().await.unwrap();
                assert_eq!(resp.status(), 200);
                while let Some(mut chunk) = stream.recv_data().await.unwrap() {
                    chunk.advance(chunk.remaining());
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Loops GETs on one HTTP/2 (TLS) connection with `streams` tasks until `until`.
async fn h2_conn(
    addr: SocketAddr,
    host: String,
    path: String,
    streams: usize,
    until: Instant,
    done: Arc<AtomicU64>,
) {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls(b"h2")));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::try_from(host.clone()).unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let mut send = send.clone();
        let (uri, done) = (format!("https://{host}{path}"), Arc::clone(&done));
        tasks.spawn(async move {
            while Instant::now() < until {
                let req = http::Request::get(uri.as_str())
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                let resp = send.send_request(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.into_body().collect().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let proto = arg(0, "h3");
    let addr: SocketAddr = arg(1, "127.0.0.1:443").parse().expect("ADDR");
    let host = arg(2, "a.test");
    let path = arg(3, "/");
    let conns: usize = arg(4, "4").parse().expect("C");
    let streams: usize = arg(5, "16").parse().expect("S");
    let secs: u64 = arg(6, "10").parse().expect("T");
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut conn_tasks = tokio::task::JoinSet::new();
    for _ in 0..conns {
        let (host, path, done) = (host.clone(), path.clone(), Arc::clone(&done));
        match proto.as_str() {
            "h3" => conn_tasks.spawn(h3_conn(addr, host, path, streams, until, done)),
            "h2" => conn_tasks.spawn(h2_conn(addr, host, path, streams, until, done)),
            other => panic!("protocol {other}: h3 or h2"),
        };
    }
    while let Some(r) = conn_tasks.join_next().await {
        r.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!(
        "{proto}: {n} requests in {elapsed:.1} s = {:.0} req/s ({conns} connections x {streams} streams)",
        n as f64 / elapsed
    );
}
