//! Issue 20: the bytes of responses without `Content-Length` (chunked, compressed, streamed)
//! in the access log (`DownstreamContentSize`, `OriginContentSize`, `GzipRatio`) and in
//! `traefik_*_responses_bytes_total`, counted as they are sent, also when the client leaves
//! before the end.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::{client, eventually, gateway_with, get};

/// A text body compress will shrink.
fn text(len: usize) -> String {
    "swarmgate counts bytes ".repeat(len / 23 + 1)[..len].to_string()
}

type Chunks =
    StreamBody<futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

/// `/chunked`: three chunks (100 + 200 + 300 bytes) without `Content-Length`;
/// `/big`: 5000 bytes of text with `Content-Length`; `/stall`: 1000 bytes, then nothing for
/// 30 s.
async fn backend() -> std::net::SocketAddr {
    support::serve_fn(|req: Request<hyper::body::Incoming>| async move {
        let path = req.uri().path().to_string();
        let chunks: Vec<usize> = match path.as_str() {
            "/chunked" => vec![100, 200, 300],
            "/stall" => vec![1000],
            _ => vec![],
        };
        if chunks.is_empty() {
            let body = text(5000);
            let stream = futures_util::stream::once(async move {
                Ok::<_, Infallible>(Frame::data(Bytes::from(body)))
            });
            let body: Chunks = StreamBody::new(Box::pin(stream));
            return Response::builder()
                .header("content-type", "text/plain")
                .header("content-length", "5000")
                .body(body)
                .unwrap();
        }
        let stall = path == "/stall";
        let stream = futures_util::stream::iter(chunks)
            .then(move |n| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, Infallible>(Frame::data(Bytes::from(text(n))))
            })
            .chain(futures_util::stream::once(async move {
                if stall {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                Ok::<_, Infallible>(Frame::data(Bytes::new()))
            }));
        let body: Chunks = StreamBody::new(Box::pin(stream));
        Response::builder()
            .header("content-type", "text/plain")
            .body(body)
            .unwrap()
    })
    .await
}

use futures_util::StreamExt as _;

fn dynamic(backend: std::net::SocketAddr) -> String {
    format!(
        r#"http:
  routers:
    plain:
      rule: "PathPrefix(`/`)"
      service: app
    zipped:
      rule: "PathPrefix(`/zip`)"
      service: app
      middlewares: [strip, gz]
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/zip"]
    gz:
      compress: {{}}
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://{backend}"
"#
    )
}

fn entries(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn entry_for(log: &std::path::Path, path: &str) -> serde_json::Value {
    let found = eventually(Duration::from_secs(5), || {
        let log = log.to_path_buf();
        async move { entries(&log).iter().any(|e| e["RequestPath"] == path) }
    })
    .await;
    assert!(found, "no entry for {path}: {:?}", entries(log));
    entries(log)
        .into_iter()
        .find(|e| e["RequestPath"] == path)
        .unwrap()
}

fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
}

#[tokio::test]
async fn chunked_and_compressed_responses_are_counted_as_sent() {
    let b = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = format!(
        "[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[metrics.prometheus]\naddRoutersLabels = true\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let gw = gateway_with(&dynamic(b), &extra).await;
    let c = client();

    // Chunked: 600 bytes, no Content-Length.
    let r = get(&c, &gw.url("/chunked"), None).await;
    assert_eq!((r.status.as_u16(), r.body.len()), (200, 600));
    assert!(r.headers.get("content-length").is_none());
    let e = entry_for(&log, "/chunked").await;
    assert_eq!(e["DownstreamContentSize"], 600, "{e}");
    assert_eq!(e["OriginContentSize"], 600, "{e}");
    assert!(e.get("GzipRatio").is_none(), "{e}");

    // Compressed: the client gets the gzip bytes, the service sent 5000.
    let req = Request::get(gw.url("/zip/big"))
        .header("accept-encoding", "gzip")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let gz = resp.into_body().collect().await.unwrap().to_bytes().len() as u64;
    assert!(gz > 0 && gz < 5000, "{gz}");
    let e = entry_for(&log, "/zip/big").await;
    assert_eq!(e["DownstreamContentSize"], gz, "{e}");
    assert_eq!(e["OriginContentSize"], 5000, "{e}");
    let ratio = e["GzipRatio"].as_f64().unwrap();
    assert!((ratio - 5000.0 / gz as f64).abs() < 1e-9, "{e}");

    let admin = gw.running.as_ref().unwrap().address("traefik").unwrap();
    let m = get(&c, &format!("http://{admin}/metrics"), None).await.body;
    let ep = r#"traefik_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"}"#;
    assert_eq!(metric(&m, ep), 600 + gz, "{m}");
    let router = r#"traefik_router_responses_bytes_total{code="200",method="GET",protocol="http",router="zipped@file",service="app@file"}"#;
    assert_eq!(metric(&m, router), gz, "{m}");
    // The service's families count what the service sent (before compress), as Traefik.
    let service = r#"traefik_service_responses_bytes_total{code="200",method="GET",protocol="http",service="app@file"}"#;
    assert_eq!(metric(&m, service), 600 + 5000, "{m}");
    gw.stop().await;
}

#[tokio::test]
async fn a_client_leaving_mid_body_is_logged_with_what_it_was_sent() {
    let b = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = format!(
        "[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let gw = gateway_with(&dynamic(b), &extra).await;
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /stall HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Read the head and the first chunk (1000 bytes), then leave.
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&got).contains(&text(1000)) {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    drop(s);
    let e = entry_for(&log, "/stall").await;
    assert_eq!(e["DownstreamContentSize"], 1000, "{e}");
    assert_eq!(e["DownstreamStatus"], 200, "{e}");
    // A plain request still counts its Content-Length.
    let r = get(&client(), &gw.url("/big"), None).await;
    assert_eq!(r.body.len(), 5000);
    let e = entry_for(&log, "/big").await;
    assert_eq!(e["DownstreamContentSize"], 5000, "{e}");
    gw.stop().await;
}

/// A gRPC call whose `grpc-status` comes only in the trailers is counted `code="2"` (Unknown),
/// as Traefik 3.7 counts it (it reads the response headers; confirmed against the real Traefik
/// in `tests/differential_access_log.rs`), with the bytes it sent, once its stream ends.
#[tokio::test]
async fn grpc_status_only_in_trailers_counts_as_traefik() {
    let b = support::serve_fn(|_req: Request<hyper::body::Incoming>| async move {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("5"));
        let frames = futures_util::stream::iter([
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"\0\0\0\0\x01z"))),
            Ok(Frame::trailers(trailers)),
        ]);
        let body: Chunks = StreamBody::new(Box::pin(frames));
        Response::builder()
            .header("content-type", "application/grpc")
            .body(body)
            .unwrap()
    })
    .await;
    let dynamic = format!(
        "http:\n  routers:\n    grpc:\n      rule: \"PathPrefix(`/`)\"\n      service: grpc\n  services:\n    grpc:\n      loadBalancer:\n        servers:\n          - url: \"h2c://{b}\"\n"
    );
    let extra = "[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[metrics.prometheus]\n";
    let gw = gateway_with(&dynamic, extra).await;
    let req = Request::post(gw.url("/pkg.Svc/Get"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(b"\0\0\0\0\0")))
        .unwrap();
    let resp = support::h2_client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let got = resp.into_body().collect().await.unwrap();
    assert_eq!(
        got.trailers()
            .and_then(|t| t.get("grpc-status"))
            .map(|v| v.as_bytes()),
        Some(&b"5"[..])
    );
    let admin = gw.running.as_ref().unwrap().address("traefik").unwrap();
    let c = client();
    let line = r#"traefik_service_requests_total{code="2",method="POST",protocol="grpc",service="grpc@file"} 1"#;
    let seen = eventually(Duration::from_secs(5), || {
        let c = c.clone();
        let url = format!("http://{admin}/metrics");
        async move { get(&c, &url, None).await.body.contains(line) }
    })
    .await;
    let m = get(&c, &format!("http://{admin}/metrics"), None).await.body;
    assert!(seen, "{line} missing in\n{m}");
    let bytes = r#"traefik_service_responses_bytes_total{code="2",method="POST",protocol="grpc",service="grpc@file"} 6"#;
    assert!(m.contains(bytes), "{bytes} missing in\n{m}");
    gw.stop().await;
}
