//! UDP routers end to end on 127.0.0.1: real sockets for clients and servers, swarmgate started
//! in-process (file provider) or one `UdpEntryPoint` alone (the session cap).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::UdpSocket;

use support::udp::udp_server;
use support::*;

async fn udp_client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// Sends `payload` to `to` and waits up to 2 s for an answer: (tag, rest).
async fn ask(socket: &UdpSocket, to: SocketAddr, payload: &[u8]) -> Option<(u8, Vec<u8>)> {
    socket.send_to(payload, to).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let (n, from) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    assert_eq!(from, to, "the reply comes from the entrypoint's address");
    let (tag, rest) = buf[..n].split_first()?;
    Some((*tag, rest.to_vec()))
}

fn udp_yaml(servers: &[SocketAddr]) -> String {
    let servers: String = servers
        .iter()
        .map(|s| format!("          - address: \"{s}\"\n"))
        .collect();
    format!(
        "udp:\n  routers:\n    dns:\n      entryPoints: [dns]\n      service: dns\n  services:\n    dns:\n      loadBalancer:\n        servers:\n{servers}"
    )
}

const DNS_ENTRYPOINT: &str = "[entryPoints.dns]\naddress = \"127.0.0.1:0/udp\"\n";

#[tokio::test]
async fn sessions_are_balanced_and_replies_reach_their_own_client() {
    let (a, b) = (udp_server(b'a').await, udp_server(b'b').await);
    let http = backend("web").await;
    // One file with HTTP and UDP: both are served.
    let yaml = format!(
        "{}{}",
        route_yaml("PathPrefix(`/`)", &[http.url()], ""),
        udp_yaml(&[a, b])
    );
    let gw = gateway_with(&yaml, DNS_ENTRYPOINT).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let (one, two) = (udp_client().await, udp_client().await);
    let first = ask(&one, dns, b"q1").await.expect("first client answered");
    let second = ask(&two, dns, b"q2").await.expect("second client answered");
    assert_eq!(first.1, b"q1");
    assert_eq!(second.1, b"q2");
    // Round robin per new session: the two clients went to different servers.
    assert_ne!(first.0, second.0);
    // A session sticks to its server.
    for i in 0..5 {
        let again = ask(&one, dns, format!("q1-{i}").as_bytes()).await.unwrap();
        assert_eq!(again.0, first.0);
        assert_eq!(again.1, format!("q1-{i}").as_bytes());
    }
    let reply = get(&support::client(), &gw.url("/"), Some("a.test")).await;
    assert_eq!(reply.status, 200);
    gw.stop().await;
}

#[tokio::test]
async fn on_shutdown_open_sessions_go_on_until_idle_and_new_clients_get_nothing() {
    let a = udp_server(b'a').await;
    let extra = format!(
        "{DNS_ENTRYPOINT}[entryPoints.dns.udp]\ntimeout = \"1s\"\n[entryPoints.dns.transport.lifeCycle]\ngraceTimeOut = \"20s\"\n"
    );
    let gw = gateway_with(&udp_yaml(&[a]), &extra).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let one = udp_client().await;
    assert!(ask(&one, dns, b"before").await.is_some());
    let started = std::time::Instant::now();
    let stopping = tokio::spawn(gw.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The open session is still served during the grace period…
    assert_eq!(
        ask(&one, dns, b"during").await,
        Some((b'a', b"during".to_vec()))
    );
    // …a new client is not.
    assert_eq!(ask(&udp_client().await, dns, b"new").await, None);
    // Once the session has been idle for `udp.timeout`, the entrypoint stops, long before the
    // 20 s grace period.
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown ends when the last session does")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_idle_session_ends_after_udp_timeout() {
    let (a, b) = (udp_server(b'a').await, udp_server(b'b').await);
    let extra = format!("{DNS_ENTRYPOINT}[entryPoints.dns.udp]\ntimeout = \"300ms\"\n");
    let gw = gateway_with(&udp_yaml(&[a, b]), &extra).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let one = udp_client().await;
    let first = ask(&one, dns, b"x").await.unwrap().0;
    // Within the timeout the session (and its server) stays.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(ask(&one, dns, b"x").await.unwrap().0, first);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(ask(&one, dns, b"x").await.unwrap().0, first);
    // Past it, the next datagram opens a new session on the next server.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after = ask(&one, dns, b"x").await.unwrap().0;
    assert_ne!(after, first, "a new session after the idle timeout");
    gw.stop().await;
}

#[tokio::test]
async fn datagrams_of_any_size_pass_whole() {
    let a = udp_server(b'a').await;
    let gw = gateway_with(&udp_yaml(&[a]), DNS_ENTRYPOINT).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let one = udp_client().await;
    // The largest IPv4 UDP payload is 65507 bytes; the server adds its one-byte tag.
    for size in [0usize, 1, 1500, 8193, 65_506] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let (tag, rest) = ask(&one, dns, &payload)
            .await
            .unwrap_or_else(|| panic!("no answer for {size} bytes"));
        assert_eq!(tag, b'a');
        assert_eq!(rest.len(), size);
        assert_eq!(rest, payload);
    }
    // Too large for the server's answer (65508 bytes): dropped, and the edge goes on.
    let big = vec![7u8; 65_507];
    assert!(ask(&one, dns, &big).await.is_none());
    assert_eq!(ask(&one, dns, b"still").await.unwrap().1, b"still");
    gw.stop().await;
}

#[tokio::test]
async fn a_bad_udp_router_is_closed_and_the_rest_served() {
    let a = udp_server(b'a').await;
    let yaml = format!(
        "udp:\n  routers:\n    good:\n      entryPoints: [dns]\n      service: s\n    typo:\n      entryPoints: [game]\n      servise: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - address: \"{a}\"\n"
    );
    let extra = format!("{DNS_ENTRYPOINT}[entryPoints.game]\naddress = \"127.0.0.1:0/udp\"\n");
    let gw = gateway_with(&yaml, &extra).await;
    let running = gw.running.as_ref().unwrap();
    let (dns, game) = (
        running.address("dns").unwrap(),
        running.address("game").unwrap(),
    );
    let one = udp_client().await;
    assert_eq!(ask(&one, dns, b"x").await.unwrap().0, b'a');
    assert!(ask(&one, game, b"x").await.is_none(), "closed router drops");
    let issues = running.issues.load();
    let typo = issues
        .iter()
        .find(|i| i.name == "typo@file")
        .expect("issue");
    assert!(typo.message.contains("did you mean `service`?"), "{typo}");
    gw.stop().await;
}

/// A UDP entrypoint with a cap of `max` sessions in front of `server`.
async fn capped_entrypoint(
    server: SocketAddr,
    max: usize,
    timeout: Duration,
) -> (
    SocketAddr,
    Arc<swarmgate::proxy::udp::Counters>,
    tokio::sync::watch::Sender<bool>,
) {
    let cfg: swarmgate::config::DynamicConfig = serde_yaml::from_str(&udp_yaml(&[server])).unwrap();
    let names = vec!["dns".to_string()];
    let (table, issues) = swarmgate::proxy::udp::compile(&cfg, &names, &names, &Default::default());
    assert!(issues.is_empty(), "{issues:?}");
    let options = swarmgate::proxy::udp::UdpOptions {
        timeout,
        max_sessions: max,
        ..Default::default()
    };
    let table = Arc::new(ArcSwap::from_pointee(table));
    let entry =
        swarmgate::proxy::udp::UdpEntryPoint::bind("127.0.0.1:0/udp", "dns", table, options)
            .await
            .unwrap();
    let addr = entry.local_addr().unwrap();
    let counters = entry.counters();
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(entry.serve(rx));
    (addr, counters, stop)
}

#[tokio::test]
async fn a_flood_of_source_addresses_stays_under_the_session_cap() {
    let a = udp_server(b'a').await;
    let (dns, counters, stop) = capped_entrypoint(a, 32, Duration::from_secs(1)).await;
    // An established client, before the flood.
    let regular = udp_client().await;
    assert_eq!(ask(&regular, dns, b"hello").await.unwrap().0, b'a');
    // 400 source ports, one datagram each (bounded loop).
    let mut flood = Vec::new();
    for _ in 0..400 {
        let s = udp_client().await;
        s.send_to(b"flood", dns).await.unwrap();
        flood.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(counters.open.load(Ordering::Relaxed) <= 32);
    let refused = counters.refused.load(Ordering::Relaxed);
    assert!(refused >= 400 - 31, "refused {refused}");
    // The established session is still served during the flood.
    assert_eq!(ask(&regular, dns, b"during").await.unwrap().1, b"during");
    // New clients are served again once the flood's sessions have timed out.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let late = udp_client().await;
    assert_eq!(ask(&late, dns, b"after").await.unwrap().1, b"after");
    assert!(counters.opened.load(Ordering::Relaxed) <= 34);
    let _ = stop.send(true);
}

#[tokio::test]
async fn a_refusing_server_ends_the_session_and_the_next_datagram_goes_elsewhere() {
    // A port nobody listens on: the kernel answers ICMP port unreachable.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let alive = udp_server(b'a').await;
    let gw = gateway_with(&udp_yaml(&[dead, alive]), DNS_ENTRYPOINT).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let one = udp_client().await;
    let mut buf = vec![0u8; 1024];
    let mut answered = None;
    // Well within the 3 s idle timeout: only the refusal can move this client on.
    for attempt in 0..4 {
        one.send_to(b"q", dns).await.unwrap();
        let got = tokio::time::timeout(Duration::from_millis(300), one.recv_from(&mut buf)).await;
        if let Ok(Ok((n, _))) = got {
            answered = Some((attempt, buf[..n].to_vec()));
            break;
        }
    }
    let (attempt, reply) = answered.expect("the client reached the live server");
    assert_eq!(reply, b"aq");
    assert!(
        attempt >= 1,
        "the first session went to the dead server (round robin)"
    );
    gw.stop().await;
}

#[tokio::test]
async fn transport_max_connections_caps_the_sessions_of_a_udp_entrypoint() {
    let a = udp_server(b'a').await;
    let extra = format!("{DNS_ENTRYPOINT}[entryPoints.dns.transport]\nmaxConnections = 2\n");
    let gw = gateway_with(&udp_yaml(&[a]), &extra).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let (one, two, three) = (udp_client().await, udp_client().await, udp_client().await);
    assert!(ask(&one, dns, b"1").await.is_some());
    assert!(ask(&two, dns, b"2").await.is_some());
    assert!(
        ask(&three, dns, b"3").await.is_none(),
        "a third session is refused"
    );
    // The first two are still served.
    assert!(ask(&one, dns, b"1").await.is_some());
    gw.stop().await;
}

/// The access log's JSON lines of UDP sessions.
fn udp_lines(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["RequestProtocol"] == "UDP")
        .collect()
}

#[tokio::test]
async fn a_udp_session_writes_one_access_log_line_when_it_ends() {
    let a = udp_server(b'a').await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = format!(
        "{DNS_ENTRYPOINT}[entryPoints.dns.udp]\ntimeout = \"300ms\"\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let gw = gateway_with(&udp_yaml(&[a]), &extra).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    let one = udp_client().await;
    assert_eq!(
        ask(&one, dns, b"hello").await.unwrap(),
        (b'a', b"hello".to_vec())
    );
    assert_eq!(
        ask(&one, dns, b"hello").await.unwrap(),
        (b'a', b"hello".to_vec())
    );
    // Nothing while the session is open.
    assert!(udp_lines(&log).is_empty());
    let written = eventually(Duration::from_secs(5), || {
        let log = log.clone();
        async move { !udp_lines(&log).is_empty() }
    })
    .await;
    assert!(written, "a line once the session timed out");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = udp_lines(&log);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["RouterName"], "dns@file", "{line}");
    assert_eq!(line["ServiceName"], "dns@file", "{line}");
    assert_eq!(line["ServiceAddr"], a.to_string(), "{line}");
    assert_eq!(line["entryPointName"], "dns", "{line}");
    assert_eq!(
        line["ClientAddr"],
        one.local_addr().unwrap().to_string(),
        "{line}"
    );
    assert_eq!(line["RequestContentSize"], 10, "{line}");
    assert_eq!(line["DownstreamContentSize"], 12, "{line}");
    assert_eq!(line["DownstreamStatus"], 200, "{line}");
    // The duration runs to the session's end, idle timeout included.
    assert!(line["Duration"].as_u64().unwrap() >= 300_000_000, "{line}");
    gw.stop().await;

    // accessLog.udpSessions = false: none.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = format!(
        "{DNS_ENTRYPOINT}[entryPoints.dns.udp]\ntimeout = \"100ms\"\n[accessLog]\nformat = \"json\"\nudpSessions = false\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let gw = gateway_with(&udp_yaml(&[a]), &extra).await;
    let dns = gw.running.as_ref().unwrap().address("dns").unwrap();
    assert!(ask(&udp_client().await, dns, b"x").await.is_some());
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(udp_lines(&log).is_empty());
    gw.stop().await;
}
