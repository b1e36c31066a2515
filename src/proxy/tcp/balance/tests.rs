use super::*;

#[test]
fn schedule_interleaves_by_weight() {
    assert_eq!(&*schedule(&[1, 1, 1]), &[0, 1, 2]);
    let s = schedule(&[3, 1]);
    assert_eq!(s.len(), 4);
    assert_eq!(s.iter().filter(|i| **i == 0).count(), 3);
    assert_eq!(&*schedule(&[0, 2]), &[1]);
    assert!(schedule(&[0, 0]).is_empty());
}

#[tokio::test]
async fn a_server_that_refuses_is_skipped_and_the_connection_goes_to_the_next() {
    let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let live_addr = live.local_addr().unwrap().to_string();
    // A port nobody listens on: bind, read the port, close.
    let dead_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let lb = Balancer::new(
        "svc",
        vec![
            Server::new(&dead_addr, false, 1, false),
            Server::new(&live_addr, false, 1, false),
        ],
        TcpTransport::default(),
    );
    for _ in 0..4 {
        let c = lb.connect().await.unwrap();
        assert_eq!(c.server.address, live_addr);
    }
    // The dead one is backed off: not even dialled now.
    assert!(!lb.servers[0].usable(now_ms()));
    assert!(lb.servers[1].usable(now_ms()));
}

/// The dial without `SO_ERROR` on success: a listening port connects and carries bytes, a port
/// nobody listens on is refused (the kernel's error, read from the socket), a name resolves.
#[tokio::test]
async fn dial_connects_reports_a_refusal_and_resolves_names() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = live.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move {
        let (mut s, _) = live.accept().await.unwrap();
        let mut got = [0u8; 4];
        s.read_exact(&mut got).await.unwrap();
        got
    });
    let mut stream = dial(&format!("127.0.0.1:{port}")).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    assert_eq!(&accepted.await.unwrap(), b"ping");

    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let refused = dial(&dead.to_string()).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    assert!(dial(&format!("localhost:{}", dead.port())).await.is_err());

    let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let named = format!("localhost:{}", live.local_addr().unwrap().port());
    let accept = tokio::spawn(async move { live.accept().await.map(|_| ()) });
    // `localhost` may resolve to ::1 first (refused here), then 127.0.0.1.
    assert!(dial(&named).await.is_ok());
    assert!(accept.await.unwrap().is_ok());
}

/// `dialKeepAlive` as Traefik's dialer sets it (Go: idle time and probe interval both 15 s by
/// default); zero: no keep-alive.
#[tokio::test]
async fn dial_keep_alive_sets_idle_time_and_interval_as_traefik() {
    let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = live.local_addr().unwrap().to_string();
    let stream = dial(&addr).await.unwrap();
    keep_alive(&stream, Duration::from_secs(15));
    let socket = socket2::SockRef::from(&stream);
    assert!(socket.keepalive().unwrap());
    assert_eq!(
        socket.tcp_keepalive_time().unwrap(),
        Duration::from_secs(15)
    );
    assert_eq!(
        socket.tcp_keepalive_interval().unwrap(),
        Duration::from_secs(15)
    );
    let plain = dial(&addr).await.unwrap();
    keep_alive(&plain, Duration::ZERO);
    assert!(!socket2::SockRef::from(&plain).keepalive().unwrap());
}
