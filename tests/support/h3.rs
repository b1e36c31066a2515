//! An HTTP/3 client on quinn + h3 for the tests (certificates not verified: test certs).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, StreamBody};

/// One HTTP/3 connection; `send_request` clones share it (one stream per request).
pub struct H3Client {
    pub send: h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>,
    pub endpoint: quinn::Endpoint,
    pub connection: quinn::Connection,
}

/// What an HTTP/3 response carried.
#[derive(Debug)]
pub struct H3Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
}

impl H3Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects to `addr` (UDP) with SNI `sni` and ALPN `h3`.
pub async fn connect(addr: SocketAddr, sni: &str) -> Result<H3Client, String> {
    let tls = rustls::ClientConfig::builder_with_provider(super::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(super::tls::accept_all())
        .with_no_client_auth();
    connect_with(addr, sni, tls).await
}

/// Connects with the client's own TLS configuration (suites, groups, client certificate); ALPN
/// is set to `h3`. Initial packets use TLS_AES_128_GCM_SHA256 even when the configuration does
/// not offer it (RFC 9001 §5.2).
pub async fn connect_with(
    addr: SocketAddr,
    sni: &str,
    mut tls: rustls::ClientConfig,
) -> Result<H3Client, String> {
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let initial = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .and_then(|s| s.quic_suite())
        .ok_or("no initial suite")?;
    let quic = quinn::crypto::rustls::QuicClientConfig::with_initial(Arc::new(tls), initial)
        .map_err(|e| e.to_string())?;
    let mut endpoint =
        quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).map_err(|e| e.to_string())?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    let connection = endpoint
        .connect(addr, sni)
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(connection.clone()))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move { std::future::poll_fn(|cx| driver.poll_close(cx)).await });
    Ok(H3Client {
        send,
        endpoint,
        connection,
    })
}

impl H3Client {
    /// Sends `req` with `body` (none when empty) and reads the whole response.
    pub async fn request(&self, req: Request<()>, body: Bytes) -> Result<H3Reply, String> {
        let mut send = self.send.clone();
        let mut stream = send.send_request(req).await.map_err(|e| e.to_string())?;
        if !body.is_empty() {
            for piece in body.chunks(64 * 1024) {
                stream
                    .send_data(Bytes::copy_from_slice(piece))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        stream.finish().await.map_err(|e| e.to_string())?;
        let resp = stream.recv_response().await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(mut chunk) = stream.recv_data().await.map_err(|e| e.to_string())? {
            while chunk.has_remaining() {
                let piece = chunk.chunk();
                out.extend_from_slice(piece);
                let n = piece.len();
                chunk.advance(n);
            }
        }
        let trailers = stream.recv_trailers().await.map_err(|e| e.to_string())?;
        Ok(H3Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: out,
            trailers,
        })
    }

    /// GET `https://{host}{path}`.
    pub async fn get(&self, host: &str, path: &str) -> Result<H3Reply, String> {
        let req = Request::get(format!("https://{host}{path}"))
            .body(())
            .unwrap();
        self.request(req, Bytes::new()).await
    }
}

/// A backend (HTTP/1.1 + h2c) answering every request with its own body, and with the request's
/// trailers, if any, as response trailers (`x-echo: yes` as a header).
pub async fn echo() -> std::net::SocketAddr {
    super::serve_fn(|req: Request<hyper::body::Incoming>| async move {
        let collected = req.into_body().collect().await.unwrap();
        let trailers = collected.trailers().cloned();
        let data = collected.to_bytes();
        let mut frames = vec![Ok::<_, std::convert::Infallible>(http_body::Frame::data(
            data,
        ))];
        if let Some(t) = trailers {
            frames.push(Ok(http_body::Frame::trailers(t)));
        }
        Response::builder()
            .header("x-echo", "yes")
            .body(StreamBody::new(futures_util::stream::iter(frames)))
            .unwrap()
    })
    .await
}

/// `len` bytes that are not text (a lossy text path would change them).
pub fn body_of(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}
