//! A stale Swarm task address never costs the client (issue 27 point 3): servers the Swarm
//! provider marks `overlay` are connected within a short timeout, a request that could not reach
//! one goes to another server before any byte was sent (as many times as it takes), and the
//! server is ejected for the requests in flight and those that follow.
//!
//! The stale address is a blackhole made without iptables: a listener on 127.0.0.1 with a backlog
//! of 0 whose queue is filled and never accepted, so the kernel drops every further SYN, as a
//! vanished overlay task does.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::*;

/// A listener that drops SYNs: backlog 0, queue filled by connections never accepted. Keep the
/// returned sockets alive for as long as the blackhole is needed.
fn blackhole() -> (SocketAddr, Vec<std::net::TcpStream>, socket2::Socket) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue (Linux keeps backlog + 1); later SYNs are dropped.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    // Proof that it is a blackhole: a further connect neither succeeds nor is refused in time.
    let probe = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300));
    assert!(
        matches!(&probe, Err(e) if e.kind() == std::io::ErrorKind::TimedOut),
        "the blackhole answered: {probe:?}"
    );
    (addr, fillers, listener)
}

fn overlay_service(servers: &[String]) -> String {
    let servers: String = servers
        .iter()
        .map(|s| format!("          - url: \"{s}\"\n            overlay: true\n"))
        .collect();
    format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n{servers}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_task_costs_a_short_connect_and_then_nothing() {
    let good = backend("good").await;
    let (hole, _fillers, _listener) = blackhole();
    let gw = gateway(&overlay_service(&[format!("http://{hole}"), good.url()])).await;
    let client = client();
    let mut worst = Duration::ZERO;
    let mut slow = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let reply = get(&client, &gw.url("/"), None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let took = started.elapsed();
        worst = worst.max(took);
        slow += usize::from(took > Duration::from_millis(100));
    }
    // One request waits out the task connect timeout (300 ms), never the 2 s default; the
    // blackhole is then ejected and nothing else waits.
    assert!(worst < Duration::from_millis(900), "worst {worst:?}");
    assert!(slow <= 1, "{slow} slow requests");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_stale_tasks_never_turn_into_an_error_while_one_answers() {
    let good = backend("good").await;
    let holes: Vec<_> = (0..4).map(|_| blackhole()).collect();
    let mut servers: Vec<String> = holes.iter().map(|(a, ..)| format!("http://{a}")).collect();
    servers.push(good.url());
    let gw = gateway(&overlay_service(&servers)).await;
    let client = client();
    // Concurrent requests land on every stale address at once: each must end on the good one.
    let started = Instant::now();
    let replies = futures_util::future::join_all((0..16).map(|_| {
        let client = client.clone();
        let url = gw.url("/");
        async move { get(&client, &url, None).await.status }
    }))
    .await;
    let took = started.elapsed();
    assert!(replies.iter().all(|s| *s == 200), "{replies:?}");
    // In-flight connects to a blackhole give up together with the first that failed.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Every blackhole is ejected: the next requests are immediate.
    for _ in 0..10 {
        let started = Instant::now();
        assert_eq!(get(&client, &gw.url("/"), None).await.status, 200);
        assert!(started.elapsed() < Duration::from_millis(100));
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_timeout_still_sets_the_task_connect_timeout() {
    let good = backend("good").await;
    let (hole, _fillers, _listener) = blackhole();
    let mut yaml = overlay_service(&[format!("http://{hole}"), good.url()]);
    yaml.push_str("        serversTransport: slow\n  serversTransports:\n    slow:\n      forwardingTimeouts:\n        dialTimeout: 1500ms\n");
    let gw = gateway(&yaml).await;
    let client = client();
    let mut worst = Duration::ZERO;
    for _ in 0..4 {
        let started = Instant::now();
        assert_eq!(get(&client, &gw.url("/"), None).await.status, 200);
        worst = worst.max(started.elapsed());
    }
    assert!(
        worst >= Duration::from_millis(1400) && worst < Duration::from_secs(3),
        "worst {worst:?}"
    );
    gw.stop().await;
}

/// A server on a node that vanishes mid keep-alive: it answers the first request of each
/// connection, then reads the next one, stays silent and finally resets the connection, as the
/// kernel does to a pooled connection whose request bytes are never acknowledged once
/// `TCP_USER_TIMEOUT` fires (loopback always acknowledges, so the reset stands in for it).
/// Counts the requests it read and those it answered.
async fn vanishing_after_one() -> (SocketAddr, Counts) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Counts::default();
    let all = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counts = all.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                for answered in [true, false] {
                    // One request head (the test sends no bodies).
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.clear();
                    counts.read.fetch_add(1, Ordering::SeqCst);
                    if answered {
                        counts.answered.fetch_add(1, Ordering::SeqCst);
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nvanish1";
                        if stream.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                drop(stream);
            });
        }
    });
    (addr, counts)
}

#[derive(Clone, Default)]
struct Counts {
    read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Counts {
    fn get(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering;
        (
            self.read.load(Ordering::SeqCst),
            self.answered.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_request_lost_on_a_dead_pooled_connection_goes_to_another_server() {
    let good = backend("good").await;
    let (bad, counts) = vanishing_after_one().await;
    let gw = gateway(&overlay_service(&[format!("http://{bad}"), good.url()])).await;
    let client = client();
    for (i, method) in [
        "GET", "GET", "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "GET",
    ]
    .iter()
    .cycle()
    .take(16)
    .enumerate()
    {
        let req = http::Request::builder()
            .method(*method)
            .uri(gw.url("/"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let reply = send(&client, req).await;
        assert_eq!(reply.status, 200, "request {i} ({method}): {}", reply.body);
    }
    let (read, answered) = counts.get();
    // Requests reached the vanishing server over a pooled connection, were lost there and
    // answered by `good`: every request answered exactly once.
    assert!(
        read > answered,
        "nothing was lost: {read} read, {answered} answered"
    );
    assert_eq!(
        good.hits() + answered,
        16,
        "{read} read, {answered} answered"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_lost_on_a_dead_pooled_connection_is_not_sent_twice() {
    let good = backend("good").await;
    let (bad, counts) = vanishing_after_one().await;
    let gw = gateway(&overlay_service(&[format!("http://{bad}"), good.url()])).await;
    let client = client();
    let mut failed = 0;
    for _ in 0..8 {
        let req = http::Request::post(gw.url("/"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let reply = send(&client, req).await;
        failed += usize::from(reply.status == 502);
    }
    let (read, answered) = counts.get();
    assert_eq!(
        read - answered,
        failed,
        "a lost POST is a 502, not a replay"
    );
    assert!(failed >= 1);
    assert_eq!(good.hits() + read, 8, "every POST reached one server once");
    gw.stop().await;
}
