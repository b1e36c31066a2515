use super::*;
use crate::config::Duration as D;

#[tokio::test]
async fn probes_dial_send_and_expect() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 6];
                if s.read_exact(&mut buf).await.is_ok() && &buf == b"PING\r\n" {
                    let _ = s.write_all(b"+PONG\r\n").await;
                }
            });
        }
    });
    let hc = |send: Option<&str>, expect: Option<&str>| TcpHealthCheckConfig {
        send: send.map(str::to_string),
        expect: expect.map(str::to_string),
        timeout: Some(D::from_millis(500)),
        ..Default::default()
    };
    assert!(probe(&addr, &hc(None, None)).await);
    assert!(probe(&addr, &hc(Some("PING\r\n"), Some("+PONG"))).await);
    assert!(!probe(&addr, &hc(Some("PING\r\n"), Some("-ERR"))).await);
    assert!(!probe(&addr, &hc(Some("HELLO!"), Some("+PONG"))).await);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    assert!(!probe(&dead, &hc(None, None)).await);
}
