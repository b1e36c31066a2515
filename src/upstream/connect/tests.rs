use std::time::Duration;

use super::*;

#[tokio::test]
async fn a_task_connection_bounds_unacknowledged_bytes_and_probes_when_idle() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = Target::parse(&format!("http://{addr}")).unwrap();

    let stream = tcp(
        &target,
        Duration::from_secs(1),
        Some(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let socket = socket2::SockRef::from(&stream);
    assert_eq!(
        socket.tcp_user_timeout().unwrap(),
        Some(Duration::from_secs(2))
    );
    assert!(socket.keepalive().unwrap());
    assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(2));

    // Other servers keep the kernel's defaults.
    let plain = tcp(&target, Duration::from_secs(1), None).await.unwrap();
    let plain = socket2::SockRef::from(&plain);
    assert_eq!(plain.tcp_user_timeout().unwrap(), None);
    assert!(!plain.keepalive().unwrap());
}

#[test]
fn a_task_pool_gets_the_transports_user_timeout_and_a_plain_one_none() {
    let target = Target::parse("http://10.0.1.7:80").unwrap();
    let transport = std::sync::Arc::new(Transport::default());
    let registry = crate::upstream::PoolRegistry::default();
    let task = registry.get_or_create_for(&target, &transport, true);
    assert_eq!(
        task.user_timeout(),
        Some(crate::upstream::MIN_TASK_USER_TIMEOUT)
    );
    assert_eq!(
        registry.get_or_create(&target, &transport).user_timeout(),
        None
    );
}
