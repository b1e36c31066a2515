//! `mode: grpc`: the gRPC Health Checking Protocol v1 against a real HTTP/2 (h2c) server.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::StreamBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::probe::{Probe, ProbeError};
use crate::config::dynamic::HealthCheckConfig;

type Frames = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;

/// An h2c gRPC health server answering `status` (1 SERVING, 2 NOT_SERVING) to
/// `/grpc.health.v1.Health/Check`, `UNIMPLEMENTED` (12) to anything else.
async fn grpc_server(status: Arc<AtomicU8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let status = Arc::clone(&status);
            let svc = service_fn(move |req: Request<Incoming>| {
                let status = status.load(Ordering::SeqCst);
                async move {
                    let mut trailers = HeaderMap::new();
                    let mut frames = Vec::new();
                    if req.uri().path() == "/grpc.health.v1.Health/Check"
                        && req.headers().get("content-type").map(|v| v.as_bytes())
                            == Some(b"application/grpc")
                    {
                        frames.push(Ok(Frame::data(Bytes::from(vec![
                            0, 0, 0, 0, 2, 0x08, status,
                        ]))));
                        trailers.insert("grpc-status", HeaderValue::from_static("0"));
                    } else {
                        trailers.insert("grpc-status", HeaderValue::from_static("12"));
                    }
                    frames.push(Ok(Frame::trailers(trailers)));
                    let body: StreamBody<Frames> =
                        StreamBody::new(futures_util::stream::iter(frames));
                    let mut resp = Response::new(body);
                    resp.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/grpc"));
                    Ok::<_, Infallible>(resp)
                }
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });
    addr
}

async fn check(addr: SocketAddr) -> Result<(), ProbeError> {
    let config = HealthCheckConfig {
        mode: Some("grpc".into()),
        ..Default::default()
    };
    Probe::new(&format!("h2c://{addr}"), &config)
        .unwrap()
        .check()
        .await
}

#[tokio::test]
async fn serving_is_healthy_and_not_serving_is_not() {
    let status = Arc::new(AtomicU8::new(1));
    let addr = grpc_server(Arc::clone(&status)).await;
    assert!(check(addr).await.is_ok());
    status.store(2, Ordering::SeqCst);
    assert!(matches!(check(addr).await, Err(ProbeError::Grpc { .. })));
}

#[tokio::test]
async fn an_http_only_server_fails_a_grpc_check() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(http_body_util::Full::new(Bytes::from("ok"))))
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });
    assert!(check(addr).await.is_err());
}

#[test]
fn an_unknown_mode_cannot_make_a_probe() {
    let config = HealthCheckConfig {
        mode: Some("tcp".into()),
        ..Default::default()
    };
    assert!(Probe::new("http://127.0.0.1:1", &config).is_err());
}
