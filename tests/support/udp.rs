//! UDP test servers.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// A UDP server answering every datagram with its one-byte tag followed by the datagram.
pub async fn udp_server(tag: u8) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut out = Vec::with_capacity(65_536);
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            out.clear();
            out.push(tag);
            out.extend_from_slice(&buf[..n]);
            let _ = socket.send_to(&out, peer).await;
        }
    });
    addr
}
