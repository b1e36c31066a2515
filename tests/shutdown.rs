//! Lifecycle: SIGTERM drains in-flight requests and exits 0 within the grace period (the real
//! binary); configuration reloads never drop an established connection.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request on a fresh connection; `Err` when no response came back.
async fn fresh_request(port: u16, path: &str) -> Result<u16, std::io::Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no response: {text:?}")))
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_exits_zero_within_the_grace_period() {
    let be = backend("be").await;
    let dir = tempfile::tempdir().unwrap();
    let dynamic = dir.path().join("dynamic.yml");
    std::fs::write(&dynamic, route_yaml("PathPrefix(`/`)", &[be.url()], "")).unwrap();
    let port = free_port();
    let config = dir.path().join("swarmgate.toml");
    std::fs::write(
        &config,
        format!(
            "[entryPoints.web]\naddress = \"127.0.0.1:{port}\"\n[entryPoints.web.transport.lifeCycle]\ngraceTimeOut = \"5s\"\n\n[providers.file]\nfilename = {:?}\n",
            dynamic.display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_swarmgate"))
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = eventually(Duration::from_secs(10), || async {
        matches!(fresh_request(port, "/ready").await, Ok(200))
    })
    .await;
    assert!(ready, "swarmgate did not start");

    // In flight when the signal arrives: 20 slow requests (2 s each).
    let slow: Vec<_> = (0..20)
        .map(|_| tokio::spawn(async move { fresh_request(port, "/slow").await }))
        .collect();
    // A bounded load loop of quick requests, before and after the signal.
    let completed = Arc::new(AtomicUsize::new(0));
    let bad_status = Arc::new(AtomicUsize::new(0));
    let loops: Vec<_> = (0..4)
        .map(|_| {
            let (completed, bad_status) = (completed.clone(), bad_status.clone());
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_millis(1500);
                while Instant::now() < until {
                    match fresh_request(port, "/quick").await {
                        Ok(200) => completed.fetch_add(1, Ordering::SeqCst),
                        Ok(_) => bad_status.fetch_add(1, Ordering::SeqCst),
                        // Refused or reset: not accepted, the listener is closed.
                        Err(_) => break,
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_signal = completed.load(Ordering::SeqCst);
    let signalled = Instant::now();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());

    for request in slow {
        assert_eq!(
            request.await.unwrap().unwrap(),
            200,
            "in-flight request failed"
        );
    }
    for l in loops {
        l.await.unwrap();
    }
    assert!(before_signal > 0, "the load loop never ran");
    assert_eq!(bad_status.load(Ordering::SeqCst), 0);

    let exit = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let exit = exit.expect("swarmgate did not exit after SIGTERM");
    assert!(exit.success(), "exit status {exit:?}");
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "exit took {took:?}, grace is 5s"
    );
    // New connections are refused once it is gone.
    assert!(fresh_request(port, "/after").await.is_err());
}

#[tokio::test]
async fn reloads_never_drop_an_established_keep_alive_connection() {
    let be = backend("be").await;
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[be.url()], "")).await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    let mut buf = vec![0u8; 8192];
    for round in 0..4 {
        stream
            .write_all(format!("GET /keep/{round} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed after round {round}");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "round {round}");
        // Reload: a router for a new host appears; wait until it serves, so the reload happened.
        let marker = format!("probe{round}.test");
        gw.write_dynamic(&format!(
            "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n    probe:\n      rule: \"Host(`{marker}`)\"\n      service: app\n      priority: 100000\n      middlewares: [tag]\n  middlewares:\n    tag:\n      headers:\n        customResponseHeaders:\n          x-probe: \"{marker}\"\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
            be.url()
        ));
        let c = client();
        let reloaded = eventually(Duration::from_secs(10), || async {
            let reply = get(&c, &gw.url("/"), Some(&marker)).await;
            reply
                .headers
                .get("x-probe")
                .is_some_and(|v| v == marker.as_str())
        })
        .await;
        assert!(reloaded, "reload {round} not applied");
    }
}

/// `requestAcceptGraceTimeout`: after shutdown begins the entrypoint keeps accepting (and
/// serving) for that long while `/ping` answers 503, so a load balancer in front can notice;
/// then new connections are refused.
#[tokio::test]
async fn request_accept_grace_keeps_accepting_while_ping_fails_then_refuses() {
    let be = backend("be").await;
    let mut gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        "[entryPoints.web.transport.lifeCycle]\nrequestAcceptGraceTimeout = \"1s\"\ngraceTimeOut = \"1s\"\n[ping]\nentryPoint = \"web\"\n",
    )
    .await;
    let port = gw.addr.port();
    assert_eq!(fresh_request(port, "/ping").await.unwrap(), 200);
    let running = gw.running.take().unwrap();
    let started = Instant::now();
    let stopping = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Still accepting and serving, but reporting itself as terminating.
    assert_eq!(fresh_request(port, "/app").await.unwrap(), 200);
    assert_eq!(fresh_request(port, "/ping").await.unwrap(), 503);
    assert_eq!(be.hits(), 1);
    stopping.await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "shutdown took {took:?} with a 1 s accept grace and nothing in flight"
    );
    assert!(
        fresh_request(port, "/late").await.is_err(),
        "still accepting"
    );
}
