//! TCP test servers: a plain echo, a TLS echo with its own certificate, and a client round trip
//! that half-closes after writing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::tls::{provider, write_cert};

/// A plain echo server: every byte comes back, the write side closes after the read side.
pub async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = stream.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// A TLS echo server with its own certificate for `names`.
pub async fn tls_echo(dir: &std::path::Path, names: &[&str]) -> SocketAddr {
    let (cert, key) = write_cert(dir, &format!("backend-{}", names[0]), names);
    let certs: Vec<_> = rustls_pemfile::certs(&mut std::fs::read(cert).unwrap().as_slice())
        .map(Result::unwrap)
        .collect();
    let key = rustls_pemfile::private_key(&mut std::fs::read(key).unwrap().as_slice())
        .unwrap()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let (mut r, mut w) = tokio::io::split(tls);
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// Writes `data`, half-closes, and reads everything back.
pub async fn round_trip<
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
>(
    stream: S,
    data: &[u8],
) -> Vec<u8> {
    let (mut r, mut w) = tokio::io::split(stream);
    let data = data.to_vec();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
        w
    });
    let mut back = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), r.read_to_end(&mut back))
        .await
        .expect("echo timed out")
        .unwrap();
    let _ = writer.await;
    back
}

/// A `tcp.services` entry named `name` over `addrs` (YAML, indented under `services:`).
pub fn tcp_service(name: &str, addrs: &[String]) -> String {
    let servers: String = addrs
        .iter()
        .map(|a| format!("          - address: \"{a}\"\n"))
        .collect();
    format!("    {name}:\n      loadBalancer:\n        servers:\n{servers}")
}

/// Routers for the precedence scenario: HTTPS `Host(both.test)` and a catch-all; TCP passthrough
/// `HostSNI(both.test)`, `HostSNI(tcp.test)`; entrypoint `second` with HTTPS `Host(only.test)`
/// and a TCP `HostSNI(*)` passthrough.
pub fn precedence_dynamic(app: &str, backend: SocketAddr, cert: &(String, String)) -> String {
    format!(
        r#"http:
  routers:
    both:
      rule: "Host(`both.test`)"
      service: app
      entryPoints: [web]
      tls: {{}}
    catchall:
      rule: "PathPrefix(`/`)"
      service: app
      entryPoints: [web]
      tls: {{}}
    only:
      rule: "Host(`only.test`)"
      service: app
      entryPoints: [second]
      tls: {{}}
    plain:
      rule: "PathPrefix(`/`)"
      service: app
      entryPoints: [web]
  services:
    app:
      loadBalancer:
        servers:
          - url: "{app}"
tcp:
  routers:
    both:
      rule: "HostSNI(`both.test`)"
      service: tls
      entryPoints: [web]
      tls: {{passthrough: true}}
    specific:
      rule: "HostSNI(`tcp.test`)"
      service: tls
      entryPoints: [web]
      tls: {{passthrough: true}}
    star:
      rule: "HostSNI(`*`)"
      service: tls
      entryPoints: [web, second]
      tls: {{passthrough: true}}
  services:
{service}
tls:
  certificates:
    - certFile: "{c}"
      keyFile: "{k}"
"#,
        service = tcp_service("tls", &[backend.to_string()]),
        c = cert.0,
        k = cert.1,
    )
}
