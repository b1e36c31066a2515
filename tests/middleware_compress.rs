//! compress through a running swarmgate, against a small backend of its own: gzip, br and zstd
//! answers decode to the original bytes; small, already-encoded and not-asked-for bodies pass
//! unchanged; a chunked stream is compressed as it comes and a slow small stream is not held
//! back; a bad compress config disables only the routers that use it.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use support::{backend, client, gateway, get, serve_fn, HttpClient};
use tokio::sync::Notify;

fn big_text() -> String {
    (0..500)
        .map(|i| format!("{i}: the quick brown fox jumps over the lazy dog\n"))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

type Chunks = tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, Infallible>>;

/// A backend with fixed answers: `/big` (text, with a length), `/small`, `/gzipped` (already
/// encoded), `/chunked` (big, in chunks, no length), `/slow` (a short chunk, then the rest only
/// once `release` is notified).
async fn text_backend(release: Arc<Notify>) -> String {
    let addr = serve_fn(move |req: Request<Incoming>| {
        let reply = answer(req.uri().path(), release.clone());
        async move { reply }
    })
    .await;
    format!("http://{addr}")
}

type AnyBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn answer(path: &str, release: Arc<Notify>) -> Response<AnyBody> {
    let text = Response::builder().header("content-type", "text/plain; charset=utf-8");
    let full = |b: Vec<u8>| Full::new(Bytes::from(b)).boxed();
    match path {
        "/big" => text.body(full(big_text().into_bytes())).unwrap(),
        "/small" => text.body(full(b"small body".to_vec())).unwrap(),
        "/gzipped" => text
            .header("content-encoding", "gzip")
            .body(full(gzip(big_text().as_bytes())))
            .unwrap(),
        "/grpc" => Response::builder()
            .header("content-type", "application/grpc")
            .body(full(big_text().into_bytes()))
            .unwrap(),
        "/chunked" | "/slow" => {
            let (tx, rx): (_, Chunks) = tokio::sync::mpsc::channel(4);
            let slow = path == "/slow";
            tokio::spawn(async move {
                let text = big_text();
                let (first, rest) = if slow {
                    text.split_at(20)
                } else {
                    text.split_at(text.len() / 2)
                };
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from(first.to_string()))))
                    .await;
                if slow {
                    release.notified().await;
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from(rest.to_string()))))
                    .await;
            });
            let stream = tokio_stream(rx);
            text.body(StreamBody::new(stream).boxed()).unwrap()
        }
        _ => Response::builder()
            .status(404)
            .body(full(Vec::new()))
            .unwrap(),
    }
}

/// The receiver as a `Stream` of frames.
fn tokio_stream(
    mut rx: Chunks,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + Sync {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Router `app` (everything, through `gz`) and router `side` (`/side…`, without it).
fn yaml_with(server: &str, compress: &str, side: &str) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [gz]
    side:
      rule: "PathPrefix(`/side`)"
      service: side
  middlewares:
    gz:
      compress: {compress}
  services:
    app:
      loadBalancer:
        servers:
          - url: "{server}"
    side:
      loadBalancer:
        servers:
          - url: "{side}"
"#
    )
}

fn yaml(server: &str, compress: &str) -> String {
    yaml_with(server, compress, server)
}

struct Raw {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

async fn fetch(c: &HttpClient, url: &str, accept: Option<&str>) -> Raw {
    let mut req = Request::get(url);
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        c.request(req.body(Full::new(Bytes::new())).unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let (head, body) = resp.into_parts();
    Raw {
        status: head.status.as_u16(),
        headers: head.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

fn decode(encoding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::decode_all(data).unwrap(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test]
async fn responses_are_compressed_as_negotiated() {
    let server = text_backend(Arc::new(Notify::new())).await;
    let gw = gateway(&yaml(&server, "{}")).await;
    let c = client();
    let text = big_text();

    for (accept, want) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("zstd;q=1, br;q=0.5", "zstd"),
        ("br, gzip", "gzip"),
    ] {
        for path in ["/big", "/chunked"] {
            let r = fetch(&c, &gw.url(path), Some(accept)).await;
            assert_eq!(r.status, 200);
            assert_eq!(r.headers["content-encoding"], want, "{path} {accept}");
            assert_eq!(r.headers["vary"], "Accept-Encoding");
            assert!(!r.headers.contains_key("content-length"));
            assert!(
                r.body.len() < text.len() / 4,
                "{path} {accept}: not compressed"
            );
            assert_eq!(decode(want, &r.body), text.as_bytes(), "{path} {accept}");
        }
    }

    // No Accept-Encoding (and no defaultEncoding): identity.
    let r = fetch(&c, &gw.url("/big"), None).await;
    assert!(!r.headers.contains_key("content-encoding"));
    assert_eq!(r.body, text.as_bytes());
    let r = fetch(&c, &gw.url("/big"), Some("identity, gzip;q=0")).await;
    assert!(!r.headers.contains_key("content-encoding"));
    assert_eq!(r.body, text.as_bytes());

    // Smaller than minResponseBodyBytes (1024).
    let r = fetch(&c, &gw.url("/small"), Some("gzip")).await;
    assert!(!r.headers.contains_key("content-encoding"));
    assert_eq!(r.body, b"small body");

    // Already encoded: passed as it is.
    let r = fetch(&c, &gw.url("/gzipped"), Some("br, gzip")).await;
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert_eq!(r.body, gzip(text.as_bytes()));

    // gRPC is never compressed.
    let r = fetch(&c, &gw.url("/grpc"), Some("gzip")).await;
    assert!(!r.headers.contains_key("content-encoding"));
    assert_eq!(r.body, text.as_bytes());

    // HEAD: no encoding.
    let head = c
        .request(
            Request::head(gw.url("/big"))
                .header("accept-encoding", "gzip")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(!head.headers().contains_key("content-encoding"));

    // Another router without the middleware: untouched.
    let r = fetch(&c, &gw.url("/side/big"), Some("gzip")).await;
    assert_eq!(r.status, 404, "the backend's own 404 for /side/big");
    assert!(!r.headers.contains_key("content-encoding"));
    gw.stop().await;
}

#[tokio::test]
async fn options_are_applied() {
    let server = text_backend(Arc::new(Notify::new())).await;
    let cfg = r#"{ encodings: [zstd, br], defaultEncoding: br, minResponseBodyBytes: 5, excludedContentTypes: ["application/json"] }"#;
    let gw = gateway(&yaml(&server, cfg)).await;
    let c = client();
    // No header: defaultEncoding.
    let r = fetch(&c, &gw.url("/big"), None).await;
    assert_eq!(r.headers["content-encoding"], "br");
    // gzip is not offered.
    let r = fetch(&c, &gw.url("/big"), Some("gzip")).await;
    assert!(!r.headers.contains_key("content-encoding"));
    // The small body is now above the minimum.
    let r = fetch(&c, &gw.url("/small"), Some("gzip, zstd")).await;
    assert_eq!(r.headers["content-encoding"], "zstd");
    assert_eq!(decode("zstd", &r.body), b"small body");
    gw.stop().await;
}

#[tokio::test]
async fn a_slow_stream_is_not_held_back() {
    let release = Arc::new(Notify::new());
    let server = text_backend(release.clone()).await;
    let gw = gateway(&yaml(&server, "{}")).await;
    let c = client();
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        c.request(
            Request::get(gw.url("/slow"))
                .header("accept-encoding", "gzip")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        ),
    )
    .await
    .expect("the head must come before the body is complete")
    .unwrap();
    // The first 20 bytes are below the minimum and the stream paused: sent as they are.
    assert!(!resp.headers().contains_key("content-encoding"));
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the first chunk must arrive while the backend waits")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(&first[..], &big_text().as_bytes()[..20]);
    release.notify_one();
    let mut all = first.to_vec();
    all.extend_from_slice(&body.collect().await.unwrap().to_bytes());
    assert_eq!(all, big_text().as_bytes());
    gw.stop().await;
}

/// A bad middleware disables only the routers that use it: they are held closed (503) while the
/// rest of the configuration serves.
#[tokio::test]
async fn a_bad_compress_config_disables_only_its_routers() {
    let b = backend("other").await;
    let server = text_backend(Arc::new(Notify::new())).await;
    let file = support::route_yaml("PathPrefix(`/side`)", &[b.url()], "");
    let inline = format!(
        r#"
[dynamic.http.routers.zipped]
rule = "PathPrefix(`/`)"
service = "zipped"
middlewares = ["gz"]
[dynamic.http.middlewares.gz.compress]
excludedContentTypes = ["text/html"]
includedContentTypes = ["text/plain"]
[dynamic.http.services.zipped.loadBalancer]
servers = [{{ url = "{server}" }}]
"#
    );
    let gw = support::gateway_with(&file, &inline).await;
    let c = client();
    let r = get(&c, &gw.url("/side/x"), None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("other"), "{}", r.body);
    let r = get(&c, &gw.url("/big"), None).await;
    assert_eq!(
        r.status, 503,
        "the router using the bad middleware is held closed"
    );
    let issues = gw.running.as_ref().unwrap().issues.load();
    let issue = issues
        .iter()
        .find(|i| i.message.contains("mutually exclusive"))
        .unwrap_or_else(|| panic!("no issue about compress: {issues:?}"));
    assert!(issue.message.contains("includedContentTypes"), "{issue:?}");
    assert!(
        issues.iter().any(|i| i.name.contains("zipped")),
        "the router is reported: {issues:?}"
    );
    gw.stop().await;
}
