#![allow(clippy::disallowed_types)] // std Mutex: test
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::*;
use crate::config::duration::Duration as GoDuration;

/// A real hyper server on 127.0.0.1:0 whose health can be flipped.
struct TestServer {
    addr: SocketAddr,
    healthy: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    hits: Arc<AtomicUsize>,
    /// "METHOD path host x-probe" of the last request.
    last: Arc<Mutex<String>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn server() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let healthy = Arc::new(AtomicBool::new(true));
    let delay_ms = Arc::new(AtomicU64::new(0));
    let hits = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(String::new()));
    let (h, d, n, l) = (
        healthy.clone(),
        delay_ms.clone(),
        hits.clone(),
        last.clone(),
    );
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (h, d, n, l) = (h.clone(), d.clone(), n.clone(), l.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (h, d, n, l) = (h.clone(), d.clone(), n.clone(), l.clone());
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-")
                                .to_string()
                        };
                        *l.lock().unwrap() = format!(
                            "{} {} {} {}",
                            req.method(),
                            req.uri().path(),
                            header("host"),
                            header("x-probe")
                        );
                        let delay = d.load(Ordering::SeqCst);
                        if delay > 0 {
                            tokio::time::sleep(Duration::from_millis(delay)).await;
                        }
                        n.fetch_add(1, Ordering::SeqCst);
                        let status = if h.load(Ordering::SeqCst) {
                            StatusCode::OK
                        } else {
                            StatusCode::SERVICE_UNAVAILABLE
                        };
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
                        *resp.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    TestServer {
        addr,
        healthy,
        delay_ms,
        hits,
        last,
        task,
    }
}

fn fast_config(rise: u32, fall: u32) -> HealthCheckConfig {
    HealthCheckConfig {
        path: Some("/health".into()),
        interval: Some(GoDuration::from_millis(50)),
        timeout: Some(GoDuration::from_millis(500)),
        rise: Some(rise),
        fall: Some(fall),
        ..Default::default()
    }
}

fn target(srv: &TestServer, config: HealthCheckConfig, state: &Arc<EndpointState>) -> HealthTarget {
    HealthTarget {
        service: "web@test".into(),
        url: format!("http://{}", srv.addr),
        config,
        state: Arc::clone(state),
    }
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn hysteresis_table() {
    // (rise, fall, initial up, probe results, expected transitions)
    type Case = (u32, u32, bool, &'static [bool], &'static [Option<bool>]);
    let table: &[Case] = &[
        (
            1,
            1,
            true,
            &[true, false, true],
            &[None, Some(false), Some(true)],
        ),
        (
            2,
            3,
            true,
            &[false, false, true, false, false, false],
            &[None, None, None, None, None, Some(false)],
        ),
        (
            2,
            3,
            false,
            &[true, false, true, true],
            &[None, None, None, Some(true)],
        ),
        (0, 0, true, &[false], &[Some(false)]),
    ];
    for (rise, fall, mut up, results, expected) in table.iter().copied() {
        let mut h = Hysteresis::new(&HealthCheckConfig {
            rise: Some(rise),
            fall: Some(fall),
            ..Default::default()
        });
        let got: Vec<_> = results
            .iter()
            .map(|&ok| {
                let t = h.observe(up, ok);
                if let Some(new) = t {
                    up = new;
                }
                t
            })
            .collect();
        assert_eq!(got, expected, "rise={rise} fall={fall}");
    }
}

#[tokio::test]
async fn server_goes_down_after_fall_and_up_after_rise() {
    let srv = server().await;
    let state = Arc::new(EndpointState::new());
    let mut checker = HealthChecker::new();
    checker.sync(vec![target(&srv, fast_config(2, 3), &state)]);
    wait_until("first probes", || srv.hits.load(Ordering::SeqCst) >= 2).await;
    assert!(state.is_active_up());
    assert_eq!(srv.last.lock().unwrap().split(' ').nth(1), Some("/health"));

    srv.healthy.store(false, Ordering::SeqCst);
    let before = srv.hits.load(Ordering::SeqCst);
    wait_until("server down", || !state.is_active_up()).await;
    let failures = srv.hits.load(Ordering::SeqCst) - before;
    assert!(
        failures >= 3,
        "went down after {failures} failures, fall is 3"
    );

    srv.healthy.store(true, Ordering::SeqCst);
    let before = srv.hits.load(Ordering::SeqCst);
    wait_until("server up", || state.is_active_up()).await;
    let successes = srv.hits.load(Ordering::SeqCst) - before;
    assert!(
        successes >= 2,
        "came back after {successes} successes, rise is 2"
    );
}

#[tokio::test]
async fn sync_keeps_unchanged_targets_and_stops_removed() {
    let srv = server().await;
    let state = Arc::new(EndpointState::new());
    let mut checker = HealthChecker::new();
    srv.healthy.store(false, Ordering::SeqCst);
    checker.sync(vec![target(&srv, fast_config(3, 1), &state)]);
    wait_until("server down", || !state.is_active_up()).await;

    // Reload with the same target: the loop keeps running, state and counters untouched.
    srv.healthy.store(true, Ordering::SeqCst);
    checker.sync(vec![target(&srv, fast_config(3, 1), &state)]);
    checker.sync(vec![target(&srv, fast_config(3, 1), &state)]);
    assert_eq!(checker.len(), 1);
    assert!(!state.is_active_up(), "an unchanged target keeps its state");
    wait_until("server up", || state.is_active_up()).await;

    // Changed config (another path) restarts the loop without resetting the flag.
    let mut changed = fast_config(1, 1);
    changed.path = Some("/other".into());
    checker.sync(vec![target(&srv, changed, &state)]);
    wait_until("probe on new path", || {
        srv.last.lock().unwrap().contains("/other")
    })
    .await;
    assert!(state.is_active_up());

    // Removed: loop stopped, and a down server counts as up again (no health check = up).
    srv.healthy.store(false, Ordering::SeqCst);
    wait_until("server down", || !state.is_active_up()).await;
    checker.sync(Vec::new());
    assert!(checker.is_empty());
    assert!(state.is_active_up());
    tokio::time::sleep(Duration::from_millis(150)).await;
    let hits = srv.hits.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        hits,
        "removed loop stopped probing"
    );
}

#[tokio::test]
async fn probe_sends_method_host_headers_and_checks_status() {
    let srv = server().await;
    let mut config = fast_config(1, 1);
    config.method = Some("head".into());
    config.hostname = Some("app.example.com".into());
    config.headers.insert("X-Probe".into(), "yes".into());
    let probe = Probe::new(&format!("http://{}", srv.addr), &config).unwrap();
    probe.check().await.unwrap();
    assert_eq!(
        *srv.last.lock().unwrap(),
        "HEAD /health app.example.com yes"
    );

    // An explicit expected status: 200 is now a failure.
    config.status = Some(204);
    let probe = Probe::new(&format!("http://{}", srv.addr), &config).unwrap();
    assert!(
        matches!(probe.check().await, Err(probe::ProbeError::Status { status }) if status == 200)
    );

    // `port` overrides the server's port; the Host header defaults to ip:port.
    let mut config = fast_config(1, 1);
    config.port = Some(srv.addr.port());
    let probe = Probe::new("http://127.0.0.1:1", &config).unwrap();
    probe.check().await.unwrap();
    assert_eq!(
        *srv.last.lock().unwrap(),
        format!("GET /health {} -", srv.addr)
    );
}

#[tokio::test]
async fn probe_failures_connect_and_timeout() {
    // Nothing listens on a port we just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let probe = Probe::new(&format!("http://127.0.0.1:{port}"), &fast_config(1, 1)).unwrap();
    assert!(matches!(
        probe.check().await,
        Err(probe::ProbeError::Connect { .. })
    ));

    let srv = server().await;
    srv.delay_ms.store(2000, Ordering::SeqCst);
    let mut config = fast_config(1, 1);
    config.timeout = Some(GoDuration::from_millis(100));
    let probe = Probe::new(&format!("http://{}", srv.addr), &config).unwrap();
    assert!(matches!(
        probe.check().await,
        Err(probe::ProbeError::Timeout(_))
    ));

    let table = ["not a url", "ftp://10.0.0.1:21", "http://"];
    for url in table {
        assert!(Probe::new(url, &fast_config(1, 1)).is_err(), "{url}");
    }
    assert!(Probe::new("https://10.0.0.1", &HealthCheckConfig::default()).is_ok());
}

#[test]
fn sync_outside_runtime_starts_nothing_then_starts_inside_one() {
    let state = Arc::new(EndpointState::new());
    let mut checker = HealthChecker::new();
    let mut config = fast_config(1, 1);
    config.path = None;
    checker.sync(vec![HealthTarget {
        service: "s".into(),
        url: "http://127.0.0.1:1".into(),
        config: config.clone(),
        state: Arc::clone(&state),
    }]);
    assert_eq!(checker.len(), 1);
    assert!(state.is_active_up());
    assert!(checker.running.values().all(|r| r.task.is_none()));

    // The same targets synced inside a runtime: the loop starts now (and probes a closed port: down).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        checker.sync(vec![HealthTarget {
            service: "s".into(),
            url: "http://127.0.0.1:1".into(),
            config: config.clone(),
            state: Arc::clone(&state),
        }]);
        assert!(checker.running.values().all(|r| r.task.is_some()));
        wait_until("server down", || !state.is_active_up()).await;
        // An invalid target is logged once, left up and not retried while unchanged.
        let bad = HealthTarget {
            service: "s".into(),
            url: "ftp://x".into(),
            config,
            state: Arc::new(EndpointState::new()),
        };
        checker.sync(vec![bad.clone()]);
        checker.sync(vec![bad.clone()]);
        assert!(checker
            .running
            .values()
            .all(|r| r.invalid && r.task.is_none()));
        assert!(bad.state.is_active_up());
    });
}

#[tokio::test]
async fn a_down_server_is_probed_at_the_unhealthy_interval() {
    let srv = server().await;
    srv.healthy.store(false, Ordering::SeqCst);
    let probes_in = |unhealthy: Option<u64>| {
        let srv_url = format!("http://{}", srv.addr);
        let hits = Arc::clone(&srv.hits);
        async move {
            let before = hits.load(Ordering::SeqCst);
            let state = Arc::new(EndpointState::new());
            let mut checker = HealthChecker::new();
            checker.sync(vec![HealthTarget {
                service: "web@test".into(),
                url: srv_url,
                config: HealthCheckConfig {
                    interval: Some(GoDuration::from_millis(10_000)),
                    unhealthy_interval: unhealthy.map(GoDuration::from_millis),
                    ..Default::default()
                },
                state,
            }]);
            tokio::time::sleep(Duration::from_millis(600)).await;
            drop(checker);
            hits.load(Ordering::SeqCst) - before
        }
    };
    // Down after the first probe: then every 50 ms instead of every 10 s.
    assert!(probes_in(Some(50)).await >= 5);
    assert_eq!(probes_in(None).await, 1);
}
