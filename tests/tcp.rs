//! TCP routers end to end with real sockets: `HostSNI(*)` on a plain entrypoint, half-close of a
//! 10 MB echo, TLS passthrough (the backend's own certificate) and termination (plaintext to the
//! backend), Traefik 3.7's precedence between HTTPS and TCP routers, passive skip of a dead
//! server, `ipAllowList`/`inFlightConn`, and graceful shutdown of an open session.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use support::tls::*;
use support::{backend, client, gateway_with, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A plain echo server: every byte comes back, the write side closes after the read side.
async fn echo() -> SocketAddr {
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
async fn tls_echo(dir: &std::path::Path, names: &[&str]) -> SocketAddr {
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
async fn round_trip<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static>(
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

/// Whether a connection to `addr` is closed without an answer.
async fn refused(addr: SocketAddr) -> bool {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(b"x").await;
    let mut buf = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

fn tcp_service(name: &str, addrs: &[String]) -> String {
    let servers: String = addrs
        .iter()
        .map(|a| format!("          - address: \"{a}\"\n"))
        .collect();
    format!("    {name}:\n      loadBalancer:\n        servers:\n{servers}")
}

#[tokio::test]
async fn host_sni_star_on_a_plain_entrypoint_takes_everything_and_half_close_loses_nothing() {
    let echo = echo().await;
    let dynamic = format!(
        "tcp:\n  routers:\n    all:\n      rule: \"HostSNI(`*`)\"\n      service: echo\n  services:\n{}",
        tcp_service("echo", &[echo.to_string()])
    );
    let gw = gateway_with(&dynamic, "").await;
    let back = round_trip(TcpStream::connect(gw.addr).await.unwrap(), b"PING\r\n").await;
    assert_eq!(back, b"PING\r\n");
    // 10 MB: the client stops sending (half-close) and still gets every byte back.
    let big: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let back = round_trip(TcpStream::connect(gw.addr).await.unwrap(), &big).await;
    assert_eq!(back.len(), big.len());
    assert!(back == big);
    gw.stop().await;
}

/// Routers for the precedence scenario: HTTPS `Host(both.test)` and a catch-all; TCP passthrough
/// `HostSNI(both.test)`, `HostSNI(tcp.test)`; entrypoint `second` with HTTPS `Host(only.test)`
/// and a TCP `HostSNI(*)` passthrough.
fn precedence_dynamic(app: &str, backend: SocketAddr, cert: &(String, String)) -> String {
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

#[tokio::test]
async fn precedence_between_https_and_tcp_routers_is_traefiks() {
    let dir = tempfile::tempdir().unwrap();
    let backend_addr = tls_echo(dir.path(), &["backend.test"]).await;
    let app = backend("app").await;
    let cert = write_cert(dir.path(), "edge", &["both.test", "only.test", "edge.test"]);
    let extra = "[entryPoints.second]\naddress = \"127.0.0.1:0\"\n";
    let gw = gateway_with(&precedence_dynamic(&app.url(), backend_addr, &cert), extra).await;
    let second = gw.running.as_ref().unwrap().address("second").unwrap();
    let names = |addr, sni: &'static str| async move {
        leaf_names(&connect(insecure_config(&[]), addr, sni).await)
    };
    // An HTTPS router naming the host beats a TCP router with the same HostSNI.
    assert_eq!(
        names(gw.addr, "both.test").await,
        ["both.test", "only.test", "edge.test"]
    );
    // A specific TCP router beats the HTTPS catch-all: the backend's own certificate.
    assert_eq!(names(gw.addr, "tcp.test").await, ["backend.test"]);
    // The HTTPS catch-all beats the TCP HostSNI(*): swarmgate's default certificate.
    assert_eq!(
        names(gw.addr, "other.test").await,
        ["swarmgate.default.invalid"]
    );
    // Without an HTTPS catch-all, the TCP HostSNI(*) comes last but takes the rest.
    assert_eq!(
        names(second, "only.test").await,
        ["both.test", "only.test", "edge.test"]
    );
    assert_eq!(names(second, "x.test").await, ["backend.test"]);
    // Passthrough carries the bytes both ways.
    let tls = connect(insecure_config(&[]), gw.addr, "tcp.test").await;
    assert_eq!(round_trip(tls, b"through").await, b"through");
    // Plain HTTP on the same entrypoint still reaches the HTTP routers.
    let reply = get(&client(), &gw.url("/x"), Some("plain.test")).await;
    assert_eq!(reply.status, 200);
    gw.stop().await;
}

#[tokio::test]
async fn termination_uses_the_certificate_store_and_sends_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let echo = echo().await;
    let (c, k) = write_cert(dir.path(), "term", &["term.test"]);
    let dynamic = format!(
        "tcp:\n  routers:\n    term:\n      rule: \"HostSNI(`term.test`)\"\n      service: echo\n      tls: {{}}\n  services:\n{}tls:\n  certificates:\n    - certFile: \"{c}\"\n      keyFile: \"{k}\"\n",
        tcp_service("echo", &[echo.to_string()])
    );
    let gw = gateway_with(&dynamic, "").await;
    let tls = connect(insecure_config(&[]), gw.addr, "term.test").await;
    assert_eq!(leaf_names(&tls), ["term.test"]);
    // The echo server speaks no TLS: what comes back was sent to it in plaintext.
    assert_eq!(
        round_trip(tls, b"plaintext behind").await,
        b"plaintext behind"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_dead_server_is_skipped_before_any_byte_and_middlewares_refuse() {
    let echo = echo().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let dynamic = format!(
        r#"tcp:
  routers:
    all:
      rule: "HostSNI(`*`)"
      service: echo
      entryPoints: [web]
    lan:
      rule: "HostSNI(`*`)"
      service: echo
      entryPoints: [lan]
      middlewares: [lan]
    one:
      rule: "HostSNI(`*`)"
      service: echo
      entryPoints: [one]
      middlewares: [one]
  middlewares:
    lan:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
    one:
      inFlightConn:
        amount: 1
  services:
{}"#,
        tcp_service("echo", &[dead, echo.to_string()])
    );
    let extra = "[entryPoints.lan]\naddress = \"127.0.0.1:0\"\n[entryPoints.one]\naddress = \"127.0.0.1:0\"\n";
    let gw = gateway_with(&dynamic, extra).await;
    for i in 0..6 {
        let msg = format!("hello {i}");
        let back = round_trip(TcpStream::connect(gw.addr).await.unwrap(), msg.as_bytes()).await;
        assert_eq!(back, msg.as_bytes(), "connection {i}");
    }
    let running = gw.running.as_ref().unwrap();
    let lan = running.address("lan").unwrap();
    assert!(refused(lan).await);
    let one = running.address("one").unwrap();
    let mut first = TcpStream::connect(one).await.unwrap();
    first.write_all(b"a").await.unwrap();
    let mut byte = [0u8; 1];
    first.read_exact(&mut byte).await.unwrap();
    assert!(refused(one).await);
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        round_trip(TcpStream::connect(one).await.unwrap(), b"y").await,
        b"y"
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_open_session_finishes_during_the_grace_period() {
    let echo = echo().await;
    let dynamic = format!(
        "tcp:\n  routers:\n    all:\n      rule: \"HostSNI(`*`)\"\n      service: echo\n  services:\n{}",
        tcp_service("echo", &[echo.to_string()])
    );
    let gw = gateway_with(
        &dynamic,
        "[entryPoints.web.transport.lifeCycle]\ngraceTimeOut = \"5s\"\n",
    )
    .await;
    let mut session = TcpStream::connect(gw.addr).await.unwrap();
    session.write_all(b"before").await.unwrap();
    let mut buf = [0u8; 6];
    session.read_exact(&mut buf).await.unwrap();
    let stopping = tokio::spawn(gw.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the open session"
    );
    session.write_all(b"during").await.unwrap();
    session.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"during");
    drop(session);
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("shutdown ends once the session is closed")
        .unwrap();
}
