//! WebSocket through the proxy.

mod support;

use futures_util::{SinkExt, StreamExt};
use support::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn websocket_echo_through_the_proxy() {
    let ws = backend("ws").await;
    let gw = gateway(&route_yaml("PathPrefix(`/ws`)", &[ws.url()], "")).await;
    let url = format!("ws://{}/ws", gw.addr);
    let (mut socket, resp) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("handshake through proxy");
    assert_eq!(resp.status(), 101);
    for i in 0..5 {
        let text = format!("hello {i}");
        socket.send(Message::text(text.clone())).await.unwrap();
        let echoed = socket.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    socket.close(None).await.unwrap();
    let seen = ws.last_seen();
    assert_eq!(seen.headers["upgrade"], "websocket");
    gw.stop().await;
}
