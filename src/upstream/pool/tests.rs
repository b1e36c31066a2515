use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A server that answers the first request of each connection, then resets the connection on the
/// next one without answering (a task whose node vanished, as `TCP_USER_TIMEOUT` reports it).
async fn answers_once() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                for answer in [true, false] {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut chunk = [0u8; 1024];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.clear();
                    if answer {
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if stream.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            });
        }
    });
    addr
}

fn get(addr: std::net::SocketAddr) -> Request<ProxyBody> {
    let mut req = Request::new(ProxyBody::empty());
    *req.uri_mut() = http::Uri::from_static("/");
    let host = http::HeaderValue::from_str(&addr.to_string()).unwrap();
    req.headers_mut().insert(http::header::HOST, host);
    req
}

async fn read_to_end(upstreamed: Upstreamed) {
    let Upstreamed { response, reuse } = upstreamed;
    let body = ProxyBody::upstream(response.into_body(), reuse);
    body.collect().await.unwrap();
}

#[tokio::test]
async fn a_pooled_connection_that_fails_after_the_write_takes_its_idle_siblings_with_it() {
    let addr = answers_once().await;
    let target = Target::parse(&format!("http://{addr}")).unwrap();
    let pool = Arc::new(UpstreamPool::new(target, Arc::new(Transport::default())));

    // Two connections at once, both answered and back in the idle queue.
    let (a, b) = tokio::join!(pool.send(get(addr), false), pool.send(get(addr), false));
    let (Ok(a), Ok(b)) = (a, b) else {
        panic!("the first requests failed")
    };
    tokio::join!(read_to_end(a), read_to_end(b));
    let settled = async {
        while pool.idle_count() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), settled)
        .await
        .unwrap();

    // The next request is written on one of them, which then fails with no response.
    let failed = match pool.send(get(addr), false).await {
        Ok(_) => panic!("the dead connection answered"),
        Err(failed) => failed,
    };
    assert!(failed.request.is_none(), "the request was written");
    assert!(
        matches!(failed.error, ProxyError::Upstream { .. }),
        "{}",
        failed.error
    );
    // Its sibling is not reused: the next request opens a fresh connection.
    assert_eq!(pool.idle_count(), 0);
}
