//! `followRedirects`: a probe follows redirects (Traefik's default) and judges the final answer.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::probe::{Probe, ProbeError};
use crate::config::dynamic::HealthCheckConfig;

/// `/health` redirects to `/final`, which answers 500; `/loop` redirects to itself.
async fn redirecting_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = service_fn(|req: Request<Incoming>| async move {
                let (status, location) = match req.uri().path() {
                    "/health" => (StatusCode::FOUND, Some("/final")),
                    "/relative/health" => (StatusCode::FOUND, Some("ok")),
                    "/relative/ok" => (StatusCode::OK, None),
                    "/loop" => (StatusCode::FOUND, Some("/loop")),
                    _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
                };
                let mut resp = Response::new(Full::new(Bytes::new()));
                *resp.status_mut() = status;
                if let Some(location) = location {
                    resp.headers_mut()
                        .insert(http::header::LOCATION, location.parse().unwrap());
                }
                Ok::<_, std::convert::Infallible>(resp)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });
    addr
}

async fn check(addr: SocketAddr, path: &str, follow: Option<bool>) -> Result<(), ProbeError> {
    let config = HealthCheckConfig {
        path: Some(path.into()),
        follow_redirects: follow,
        ..Default::default()
    };
    Probe::new(&format!("http://{addr}"), &config)
        .unwrap()
        .check()
        .await
}

#[tokio::test]
async fn redirects_are_followed_by_default_and_the_final_status_counts() {
    let addr = redirecting_server().await;
    assert!(matches!(
        check(addr, "/health", None).await,
        Err(ProbeError::Status { status }) if status == 500
    ));
    assert!(check(addr, "/relative/health", Some(true)).await.is_ok());
    assert!(matches!(
        check(addr, "/loop", None).await,
        Err(ProbeError::Redirects)
    ));
}

#[tokio::test]
async fn without_follow_redirects_a_redirect_is_a_success() {
    let addr = redirecting_server().await;
    assert!(check(addr, "/health", Some(false)).await.is_ok());
}
