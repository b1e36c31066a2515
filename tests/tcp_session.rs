//! Issue 22, a TCP router session's life with real sockets: the idle timeout
//! (`transport.respondingTimeouts.tcpIdleTimeout`, swarmgate's extension: off by default, as
//! Traefik) closes both sides of a session without a byte either way and leaves an active one
//! (bytes in either direction) alone; and the access log's one line per session (router,
//! service, server, bytes each way, duration, status, SNI and TLS when terminated), its filters,
//! field modes, common format and `accessLog.tcpSessions = false`.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use support::tcp::{echo, tcp_service};
use support::tls::*;
use support::{client, eventually, gateway_with, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the test backends report: how long each connection lasted until swarmgate closed it
/// (its read side saw EOF or an error).
type Closed = mpsc::UnboundedReceiver<Duration>;

/// A backend that reads and discards everything, never answers, and reports when its
/// connection ends.
async fn sink() -> (SocketAddr, Closed) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let opened = Instant::now();
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                let _ = tx.send(opened.elapsed());
            });
        }
    });
    (addr, rx)
}

/// A backend that writes one byte every `every`, `count` times, then closes; never reads.
async fn ticker(every: Duration, count: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                for _ in 0..count {
                    tokio::time::sleep(every).await;
                    if stream.write_all(b".").await.is_err() {
                        return;
                    }
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A backend that reads until the client half-closes, then answers `reply` and closes.
async fn answering(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = stream.read_to_end(&mut got).await;
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// Reads until EOF (or an error); how long it took, `None` when it did not end within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// One router per entrypoint: `idle` (to the sink) and `ticks` (to the ticker) on `web`, which
/// has the idle timeout, and `plain` (to the sink) on `open`, which has none.
fn idle_dynamic(sink: SocketAddr, ticker: SocketAddr) -> String {
    format!(
        "tcp:\n  routers:\n    idle:\n      rule: \"HostSNI(`*`)\"\n      service: sink\n      entryPoints: [web]\n    ticks:\n      rule: \"HostSNI(`*`)\"\n      service: ticker\n      entryPoints: [ticks]\n    plain:\n      rule: \"HostSNI(`*`)\"\n      service: sink\n      entryPoints: [open]\n  services:\n{}{}",
        tcp_service("sink", &[sink.to_string()]),
        tcp_service("ticker", &[ticker.to_string()])
    )
}

#[tokio::test]
async fn an_idle_session_is_closed_on_both_sides_and_an_active_one_is_not() {
    let (sink, mut closed) = sink().await;
    let ticker = ticker(Duration::from_millis(150), 10).await;
    let extra = "[entryPoints.web.transport.respondingTimeouts]\ntcpIdleTimeout = \"500ms\"\n\
                 [entryPoints.ticks]\naddress = \"127.0.0.1:0\"\n\
                 [entryPoints.ticks.transport.respondingTimeouts]\ntcpIdleTimeout = \"500ms\"\n\
                 [entryPoints.open]\naddress = \"127.0.0.1:0\"\n";
    let gw = gateway_with(&idle_dynamic(sink, ticker), extra).await;
    let running = gw.running.as_ref().unwrap();

    // Idle: one byte, then nothing. Closed after ~500 ms, the client and the server both.
    let mut idle = TcpStream::connect(gw.addr).await.unwrap();
    idle.write_all(b"x").await.unwrap();
    let took = closed_within(&mut idle, Duration::from_secs(5))
        .await
        .expect("the idle session is closed");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let server_side = tokio::time::timeout(Duration::from_secs(2), closed.recv())
        .await
        .expect("the server's side is closed too")
        .unwrap();
    assert!(server_side < Duration::from_secs(3), "{server_side:?}");

    // Active from the client only: a byte every 150 ms for 1.5 s (three timeouts) to a server
    // that never answers. Still open, then closed by the client.
    let mut talker = TcpStream::connect(gw.addr).await.unwrap();
    for _ in 0..10 {
        talker.write_all(b"y").await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        closed_within(&mut talker, Duration::from_millis(100))
            .await
            .is_none(),
        "a session with bytes from the client is not idle"
    );
    talker.shutdown().await.unwrap();
    drop(talker);
    let _ = tokio::time::timeout(Duration::from_secs(2), closed.recv()).await;

    // Active from the server only: the ticker writes a byte every 150 ms, the client never
    // writes; all ten bytes arrive (1.5 s) before the server itself closes.
    let ticks = running.address("ticks").unwrap();
    let mut listener = TcpStream::connect(ticks).await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), listener.read_to_end(&mut got))
        .await
        .expect("the ticker's session ends by itself")
        .unwrap();
    assert_eq!(
        got, b"..........",
        "a session with bytes from the server is not idle"
    );

    // No tcpIdleTimeout (the default, as Traefik): an idle session stays open.
    let open = running.address("open").unwrap();
    let mut quiet = TcpStream::connect(open).await.unwrap();
    quiet.write_all(b"z").await.unwrap();
    assert!(
        closed_within(&mut quiet, Duration::from_millis(1500))
            .await
            .is_none(),
        "without tcpIdleTimeout an idle session stays open"
    );
    drop(quiet);
    gw.stop().await;
}

/// The access log's JSON lines.
fn lines(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn tcp_lines(log: &Path) -> Vec<serde_json::Value> {
    lines(log)
        .into_iter()
        .filter(|l| l["RequestProtocol"] == "TCP")
        .collect()
}

/// Waits until `log` holds `n` lines matching `keep`.
async fn wait_for(log: &Path, n: usize, keep: fn(&serde_json::Value) -> bool) -> bool {
    eventually(Duration::from_secs(5), || {
        let log = log.to_path_buf();
        async move { lines(&log).iter().filter(|l| keep(l)).count() >= n }
    })
    .await
}

/// Writes `data` after `pause`, half-closes, and reads the answer.
async fn exchange(addr: SocketAddr, data: &[u8], pause: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(pause).await;
    stream.write_all(data).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut back = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut back))
        .await
        .unwrap()
        .unwrap();
    back
}

/// `all` on `web` (to a server answering 10 bytes), `lan` on `lan` behind an `ipAllowList`
/// that refuses 127.0.0.1, `term` terminating TLS for `term.test` on `web`, and an HTTP router.
fn logged_dynamic(reply: SocketAddr, echo: SocketAddr, http: &str, cert: (&str, &str)) -> String {
    format!(
        r#"tcp:
  routers:
    all:
      rule: "HostSNI(`*`)"
      service: reply
      entryPoints: [web]
    term:
      rule: "HostSNI(`term.test`)"
      service: echo
      entryPoints: [web]
      tls: {{}}
    lan:
      rule: "HostSNI(`*`)"
      service: reply
      entryPoints: [lan]
      middlewares: [lan]
  middlewares:
    lan:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
  services:
{}{}http:
  routers:
    web:
      rule: "PathPrefix(`/`)"
      service: web
      entryPoints: [http]
  services:
    web:
      loadBalancer:
        servers:
          - url: "{http}"
tls:
  certificates:
    - certFile: "{}"
      keyFile: "{}"
"#,
        tcp_service("reply", &[reply.to_string()]),
        tcp_service("echo", &[echo.to_string()]),
        cert.0,
        cert.1
    )
}

fn access_toml(log: &Path, format: &str, extra: &str) -> String {
    format!(
        "[entryPoints.lan]\naddress = \"127.0.0.1:0\"\n[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[accessLog]\nformat = \"{format}\"\nfilePath = {:?}\n{extra}",
        log.display().to_string()
    )
}

#[tokio::test]
async fn each_tcp_session_writes_one_access_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let reply = answering(b"0123456789").await;
    let echo = echo().await;
    let app = support::backend("app").await;
    let (c, k) = write_cert(dir.path(), "term", &["term.test"]);
    let dynamic = logged_dynamic(reply, echo, &app.url(), (&c, &k));
    let gw = gateway_with(&dynamic, &access_toml(&log, "json", "")).await;
    let running = gw.running.as_ref().unwrap();

    // 5 bytes in, 10 out, held open 300 ms before the client speaks.
    let back = exchange(gw.addr, b"hello", Duration::from_millis(300)).await;
    assert_eq!(back, b"0123456789");
    assert!(wait_for(&log, 1, |l| l["RouterName"] == "all@file").await);
    let all: Vec<_> = tcp_lines(&log)
        .into_iter()
        .filter(|l| l["RouterName"] == "all@file")
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
    let line = &all[0];
    assert_eq!(line["ServiceName"], "reply@file", "{line}");
    assert_eq!(line["ServiceAddr"], reply.to_string(), "{line}");
    assert_eq!(line["entryPointName"], "web", "{line}");
    assert_eq!(line["ClientHost"], "127.0.0.1", "{line}");
    assert_eq!(line["RequestContentSize"], 5, "{line}");
    assert_eq!(line["DownstreamContentSize"], 10, "{line}");
    assert_eq!(line["DownstreamStatus"], 200, "{line}");
    let nanos = line["Duration"].as_u64().unwrap();
    assert!(
        (300_000_000..5_000_000_000).contains(&nanos),
        "Duration {nanos} ns"
    );
    assert!(line["StartUTC"].as_str().unwrap().ends_with('Z'), "{line}");
    assert!(line.get("SessionError").is_none(), "{line}");
    assert!(line.get("RequestHost").is_none(), "{line}");

    // Terminated TLS: the server name and what the handshake agreed on.
    let tls = connect(insecure_config(&[]), gw.addr, "term.test").await;
    assert_eq!(
        support::tcp::round_trip(tls, b"secret").await,
        b"secret".to_vec()
    );
    assert!(wait_for(&log, 1, |l| l["RouterName"] == "term@file").await);
    let term: Vec<_> = tcp_lines(&log)
        .into_iter()
        .filter(|l| l["RouterName"] == "term@file")
        .collect();
    assert_eq!(term.len(), 1, "{term:?}");
    assert_eq!(term[0]["RequestHost"], "term.test", "{}", term[0]);
    assert_eq!(term[0]["TLSVersion"], "1.3", "{}", term[0]);
    assert_eq!(term[0]["RequestContentSize"], 6, "{}", term[0]);
    assert_eq!(term[0]["DownstreamContentSize"], 6, "{}", term[0]);

    // Refused by ipAllowList: a line with status 403 and why, no server.
    let lan = running.address("lan").unwrap();
    let mut refused = TcpStream::connect(lan).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), refused.read_to_end(&mut buf)).await;
    assert!(wait_for(&log, 1, |l| l["RouterName"] == "lan@file").await);
    let lan_line = tcp_lines(&log)
        .into_iter()
        .find(|l| l["RouterName"] == "lan@file")
        .unwrap();
    assert_eq!(lan_line["DownstreamStatus"], 403, "{lan_line}");
    assert!(lan_line.get("ServiceAddr").is_none(), "{lan_line}");
    assert!(
        lan_line["SessionError"]
            .as_str()
            .unwrap()
            .contains("ipAllowList"),
        "{lan_line}"
    );

    // HTTP requests keep their own lines.
    let http = running.address("http").unwrap();
    let reply = get(&client(), &format!("http://{http}/x"), None).await;
    assert_eq!(reply.status, 200);
    assert!(wait_for(&log, 1, |l| l["RequestPath"] == "/x").await);
    assert_eq!(tcp_lines(&log).len(), 3, "{:?}", tcp_lines(&log));
    gw.stop().await;
}

#[tokio::test]
async fn tcp_lines_follow_filters_field_modes_and_can_be_turned_off() {
    let reply = answering(b"pong").await;
    let echo = echo().await;
    let app = support::backend("app").await;

    // statusCodes 400-499: the refused session is written, the served one is not; field modes
    // apply to the TCP fields too.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (c, k) = write_cert(dir.path(), "term", &["term.test"]);
    let dynamic = logged_dynamic(reply, echo, &app.url(), (&c, &k));
    let extra = "[accessLog.filters]\nstatusCodes = [\"400-499\"]\n[accessLog.fields.names]\nClientAddr = \"drop\"\nServiceAddr = \"redact\"\n";
    let gw = gateway_with(&dynamic, &access_toml(&log, "json", extra)).await;
    let lan = gw.running.as_ref().unwrap().address("lan").unwrap();
    assert_eq!(exchange(gw.addr, b"ping", Duration::ZERO).await, b"pong");
    let mut refused = TcpStream::connect(lan).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), refused.read_to_end(&mut buf)).await;
    assert!(wait_for(&log, 1, |l| l["RouterName"] == "lan@file").await);
    // A second served session after the refused one: had it been kept, it would be there.
    assert_eq!(exchange(gw.addr, b"ping", Duration::ZERO).await, b"pong");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = tcp_lines(&log);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["DownstreamStatus"], 403);
    assert!(all[0].get("ClientAddr").is_none(), "{}", all[0]);
    assert_eq!(all[0]["ClientHost"], "127.0.0.1", "{}", all[0]);
    gw.stop().await;

    // Redacted ServiceAddr on a served session; common format.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = "[accessLog.fields.names]\nServiceAddr = \"redact\"\n";
    let gw = gateway_with(&dynamic, &access_toml(&log, "common", extra)).await;
    assert_eq!(exchange(gw.addr, b"ping!", Duration::ZERO).await, b"pong");
    let settled = eventually(Duration::from_secs(5), || {
        let log = log.clone();
        async move {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("\"all@file\"")
        }
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(settled, "{text}");
    let line = text.lines().find(|l| l.contains("\"all@file\"")).unwrap();
    // `<client> - - [<time>] "TCP <sni>" <status> <sent> <received> "<router>" "<server>" <ms>ms`
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.contains("] \"TCP -\" 200 4 5 \"all@file\" \"REDACTED\" "),
        "{line}"
    );
    assert!(line.ends_with("ms"), "{line}");
    assert_eq!(text.lines().count(), 1, "{text}");
    gw.stop().await;

    // accessLog.tcpSessions = false: HTTP lines only.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let gw = gateway_with(
        &dynamic,
        &access_toml(&log, "json", "tcpSessions = false\n"),
    )
    .await;
    assert_eq!(exchange(gw.addr, b"ping", Duration::ZERO).await, b"pong");
    let http = gw.running.as_ref().unwrap().address("http").unwrap();
    assert_eq!(
        get(&client(), &format!("http://{http}/after"), None)
            .await
            .status,
        200
    );
    assert!(wait_for(&log, 1, |l| l["RequestPath"] == "/after").await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tcp_lines(&log).is_empty(), "{:?}", lines(&log));
    gw.stop().await;
}

#[tokio::test]
async fn a_session_still_open_when_the_grace_period_ends_is_closed_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (sink, mut closed) = sink().await;
    let dynamic = format!(
        "tcp:\n  routers:\n    all:\n      rule: \"HostSNI(`*`)\"\n      service: sink\n  services:\n{}",
        tcp_service("sink", &[sink.to_string()])
    );
    let extra = format!(
        "[entryPoints.web.transport.lifeCycle]\ngraceTimeOut = \"1s\"\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let gw = gateway_with(&dynamic, &extra).await;
    let mut session = TcpStream::connect(gw.addr).await.unwrap();
    session.write_all(b"abc").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = Instant::now();
    let stop = tokio::spawn(gw.stop());
    // Within the grace period the session still carries bytes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    session.write_all(b"de").await.unwrap();
    closed_within(&mut session, Duration::from_secs(5))
        .await
        .expect("closed when the grace period ends");
    let at = stopping.elapsed();
    assert!(
        at >= Duration::from_millis(900) && at < Duration::from_secs(4),
        "{at:?}"
    );
    tokio::time::timeout(Duration::from_secs(2), closed.recv())
        .await
        .expect("the server's side is closed too")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .expect("shutdown ends with the grace period")
        .unwrap();
    assert!(wait_for(&log, 1, |l| l["RouterName"] == "all@file").await);
    let line = &tcp_lines(&log)[0];
    assert_eq!(line["RequestContentSize"], 5, "{line}");
    assert_eq!(line["ServiceAddr"], sink.to_string(), "{line}");
    assert!(
        line["SessionError"].as_str().unwrap().contains("grace"),
        "{line}"
    );
}

/// A backend that reads each connection to its end and reports what it got.
async fn recorder() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = stream.read_to_end(&mut got).await;
                let _ = tx.send(got);
            });
        }
    });
    (addr, rx)
}

/// Sends `hello` through `to` and half-closes; the client's address and what the server got.
async fn send(to: SocketAddr, got: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> (SocketAddr, Vec<u8>) {
    let mut c = TcpStream::connect(to).await.unwrap();
    let from = c.local_addr().unwrap();
    c.write_all(b"hello").await.unwrap();
    c.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut rest)).await;
    let bytes = tokio::time::timeout(Duration::from_secs(5), got.recv())
        .await
        .expect("the server got the session")
        .unwrap();
    (from, bytes)
}

/// `serversTransport.proxyProtocol`: the server gets the PROXY header (v1 text, v2 binary) with
/// the client's address and the address the client connected to (the entrypoint's), then the
/// client's bytes; without it, the bytes alone. (The address is taken from the listener when it
/// is bound to one address, from the socket otherwise: the same header either way.)
#[tokio::test]
async fn the_proxy_protocol_header_names_the_client_and_the_entrypoint() {
    let (backend, mut got) = recorder().await;
    let dynamic = format!(
        "tcp:\n  routers:\n    v1:\n      rule: \"HostSNI(`*`)\"\n      service: v1\n      entryPoints: [web]\n    v2:\n      rule: \"HostSNI(`*`)\"\n      service: v2\n      entryPoints: [two]\n    none:\n      rule: \"HostSNI(`*`)\"\n      service: none\n      entryPoints: [plain]\n  serversTransports:\n    pp1:\n      proxyProtocol:\n        version: 1\n    pp2:\n      proxyProtocol:\n        version: 2\n  services:\n    v1:\n      loadBalancer:\n        serversTransport: pp1\n        servers:\n          - address: \"{backend}\"\n    v2:\n      loadBalancer:\n        serversTransport: pp2\n        servers:\n          - address: \"{backend}\"\n{}",
        tcp_service("none", &[backend.to_string()])
    );
    let extra = "[entryPoints.two]\naddress = \"127.0.0.1:0\"\n\
                 [entryPoints.plain]\naddress = \"127.0.0.1:0\"\n";
    let gw = gateway_with(&dynamic, extra).await;
    let running = gw.running.as_ref().unwrap();
    let two = running.address("two").unwrap();
    let plain = running.address("plain").unwrap();

    let (from, bytes) = send(gw.addr, &mut got).await;
    let header = format!(
        "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}\r\n",
        from.port(),
        gw.addr.port()
    );
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        format!("{header}hello"),
        "v1"
    );

    let (from, bytes) = send(two, &mut got).await;
    let mut want = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    want.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    want.extend_from_slice(&from.port().to_be_bytes());
    want.extend_from_slice(&two.port().to_be_bytes());
    want.extend_from_slice(b"hello");
    assert_eq!(bytes, want, "v2");

    let (_, bytes) = send(plain, &mut got).await;
    assert_eq!(bytes, b"hello", "no PROXY header without proxyProtocol");
    gw.stop().await;
}
