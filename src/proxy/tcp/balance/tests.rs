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
