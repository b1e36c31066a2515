//! TCP routers end to end with real sockets: `HostSNI(*)` on a plain entrypoint, half-close of a
//! 10 MB echo, TLS passthrough (the backend's own certificate) and termination (plaintext to the
//! backend), Traefik 3.7's precedence between HTTPS and TCP routers, passive skip of a dead
//! server, `ipAllowList`/`inFlightConn`, and graceful shutdown of an open session.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::tcp::{echo, precedence_dynamic, round_trip, tcp_service, tls_echo};
use support::tls::*;
use support::{backend, client, gateway_with, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

#[tokio::test]
async fn a_server_failing_its_health_check_leaves_the_rotation() {
    let good = echo().await;
    // Accepts and closes at once: a dial succeeds, so only the health check can tell.
    let bad = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bad_addr = bad.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = bad.accept().await {
            drop(s);
        }
    });
    let dynamic = format!(
        "tcp:\n  routers:\n    all:\n      rule: \"HostSNI(`*`)\"\n      service: echo\n  services:\n{}        healthCheck:\n          send: \"PING\"\n          expect: \"PING\"\n          interval: 100ms\n          timeout: 500ms\n",
        tcp_service("echo", &[bad_addr.to_string(), good.to_string()])
    );
    let gw = gateway_with(&dynamic, "").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    for i in 0..6 {
        let msg = format!("hello {i}");
        let back = round_trip(TcpStream::connect(gw.addr).await.unwrap(), msg.as_bytes()).await;
        assert_eq!(back, msg.as_bytes(), "connection {i}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn tcp_sessions_count_against_the_entrypoint_connection_cap() {
    let echo = echo().await;
    let dynamic = format!(
        "tcp:\n  routers:\n    all:\n      rule: \"HostSNI(`*`)\"\n      service: echo\n  services:\n{}",
        tcp_service("echo", &[echo.to_string()])
    );
    let gw = gateway_with(
        &dynamic,
        "[entryPoints.web.transport]\nmaxConnections = 1\n",
    )
    .await;
    let mut first = TcpStream::connect(gw.addr).await.unwrap();
    first.write_all(b"a").await.unwrap();
    let mut byte = [0u8; 1];
    first.read_exact(&mut byte).await.unwrap();
    // Over the cap: refused (closed) while the first session is open.
    let mut second = TcpStream::connect(gw.addr).await.unwrap();
    let _ = second.write_all(b"b").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut answer)).await;
    assert_ne!(answer, b"b", "second session was served");
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        round_trip(TcpStream::connect(gw.addr).await.unwrap(), b"c").await,
        b"c"
    );
    gw.stop().await;
}
