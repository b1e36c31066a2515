//! `testbackend`: the tiny HTTP server the Swarm end-to-end tests deploy behind swarmgate.
//!
//! Answers every request with `host=<hostname> version=<$VERSION> path=<path>` (200, text/plain);
//! `/health` answers `ok`. Listens on `0.0.0.0:$PORT` (default 8080); with `$UDP_PORT`, also answers
//! each UDP datagram there with `host=<hostname> <datagram>` (the UDP router tests). On SIGTERM/SIGINT it keeps
//! serving for `$STOP_GRACE_MS` milliseconds (default 2000, like an application with a
//! `stop_grace_period`) and then exits, so an orchestrator's rolling update does not cut requests
//! that were routed to it just before the proxy learned it is going away.
//!
//! Built as a static binary by `.ci/build-images.sh` into the `swarmgate-testbackend` image.
//! It must not grow features beyond what the tests need.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

fn hostname() -> String {
    if let Ok(h) = std::env::var("HOSTNAME") {
        if !h.is_empty() {
            return h;
        }
    }
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let port = env_u64("PORT", 8080);
    let grace = Duration::from_millis(env_u64("STOP_GRACE_MS", 2000));
    let host: &'static str = Box::leak(hostname().into_boxed_str());
    let version: &'static str = Box::leak(
        std::env::var("VERSION")
            .unwrap_or_default()
            .into_boxed_str(),
    );
    let listener = TcpListener::bind(("0.0.0.0", port as u16)).await?;
    if let Some(udp_port) = std::env::var("UDP_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
    {
        let socket = tokio::net::UdpSocket::bind(("0.0.0.0", udp_port)).await?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let mut reply = format!("host={host} ").into_bytes();
                reply.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&reply, from).await;
            }
        });
    }
    eprintln!("testbackend {host} version={version} listening on :{port}");

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    tokio::pin!(stop);
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let accept = listener.accept();
        tokio::select! {
            _ = &mut stop, if deadline.is_none() => {
                eprintln!("testbackend {host}: signal received, serving {grace:?} more");
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                eprintln!("testbackend {host}: exiting");
                return Ok(());
            }
            conn = accept => {
                let Ok((stream, _)) = conn else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| async move {
                        let path = req.uri().path();
                        let body = if path == "/health" {
                            "ok\n".to_string()
                        } else {
                            format!("host={host} version={version} path={path}\n")
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "text/plain")
                                .header("x-backend-host", host)
                                .body(Full::new(Bytes::from(body)))
                                .unwrap_or_default(),
                        )
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}
