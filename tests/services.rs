//! Services made of services over real sockets: mirroring (copies, never slower), failover
//! (switches on health and back), weighted with health; load balancer options.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use support::*;
use tokio::sync::mpsc;

/// A mirror backend that reports "METHOD path body" of each request it gets, after `delay`.
async fn mirror_backend(delay: Duration) -> (String, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = serve_fn(move |req: Request<hyper::body::Incoming>| {
        let tx = tx.clone();
        async move {
            let head = format!("{} {}", req.method(), req.uri().path());
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let _ = tx.send(format!("{head} {}", String::from_utf8_lossy(&body)));
            tokio::time::sleep(delay).await;
            http::Response::new(Full::new(Bytes::from_static(b"mirror")))
        }
    })
    .await;
    (format!("http://{addr}"), rx)
}

/// A URL nothing listens on.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn mirroring_yaml(main: &str, mirrors: &[(&str, u32)], options: &str) -> String {
    let mut yaml = format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: front\n  services:\n    front:\n      mirroring:\n        service: main\n{options}        mirrors:\n"
    );
    for (i, (_, percent)) in mirrors.iter().enumerate() {
        yaml.push_str(&format!(
            "          - name: m{i}\n            percent: {percent}\n"
        ));
    }
    yaml.push_str(&format!(
        "    main:\n      loadBalancer:\n        servers:\n          - url: \"{main}\"\n"
    ));
    for (i, (url, _)) in mirrors.iter().enumerate() {
        yaml.push_str(&format!(
            "    m{i}:\n      loadBalancer:\n        servers:\n          - url: \"{url}\"\n"
        ));
    }
    yaml
}

fn post(url: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::post(url)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[tokio::test]
async fn the_main_service_answers_and_the_mirror_gets_a_copy_with_its_body() {
    let main = backend("main").await;
    let (mirror, mut seen) = mirror_backend(Duration::ZERO).await;
    let gw = gateway(&mirroring_yaml(&main.url(), &[(&mirror, 100)], "")).await;
    let c = client();
    let reply = send(&c, post(&gw.url("/submit"), "hello")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "main\nhello");
    let copy = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await;
    assert_eq!(copy.unwrap().as_deref(), Some("POST /submit hello"));
    gw.stop().await;
}

#[tokio::test]
async fn a_slow_or_dead_mirror_never_delays_the_main_answer() {
    let main = backend("main").await;
    let (slow, mut seen) = mirror_backend(Duration::from_secs(5)).await;
    let dead = dead_url().await;
    let gw = gateway(&mirroring_yaml(
        &main.url(),
        &[(&slow, 100), (&dead, 100)],
        "",
    ))
    .await;
    let c = client();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = send(&c, post(&gw.url("/"), "x")).await;
        assert_eq!(reply.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "main answer delayed"
        );
    }
    // The slow mirror did get its copies.
    let copy = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await;
    assert!(copy.unwrap().is_some());
    gw.stop().await;
}

#[tokio::test]
async fn percent_and_max_body_size_choose_what_is_mirrored() {
    let main = backend("main").await;
    let (half, mut half_seen) = mirror_backend(Duration::ZERO).await;
    let gw = gateway(&mirroring_yaml(
        &main.url(),
        &[(&half, 50)],
        "        maxBodySize: 4\n",
    ))
    .await;
    let c = client();
    // Over maxBodySize: the main service still gets the whole body, the mirror nothing.
    let reply = send(&c, post(&gw.url("/big"), "hello world")).await;
    assert_eq!(reply.body, "main\nhello world");
    for _ in 0..4 {
        assert_eq!(send(&c, post(&gw.url("/small"), "abc")).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut copies = Vec::new();
    while let Ok(copy) = half_seen.try_recv() {
        copies.push(copy);
    }
    // Traefik's counter: 50 % of 5 requests; the large one used its turn without a copy.
    assert!(copies.iter().all(|c| c == "POST /small abc"), "{copies:?}");
    assert_eq!(copies.len(), 2, "{copies:?}");
    gw.stop().await;
}

#[tokio::test]
async fn without_mirror_body_the_copy_has_no_body() {
    let main = backend("main").await;
    let (mirror, mut seen) = mirror_backend(Duration::ZERO).await;
    let gw = gateway(&mirroring_yaml(
        &main.url(),
        &[(&mirror, 100)],
        "        mirrorBody: false\n",
    ))
    .await;
    let reply = send(&client(), post(&gw.url("/p"), "secret")).await;
    assert_eq!(reply.body, "main\nsecret");
    let copy = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await;
    assert_eq!(copy.unwrap().as_deref(), Some("POST /p "));
    gw.stop().await;
}

fn failover_yaml(main: &str, fallback: &str) -> String {
    let hc = "        healthCheck:\n          path: /health\n          interval: 100ms\n          timeout: 500ms\n";
    format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: front\n  services:\n    front:\n      failover:\n        service: main\n        fallback: spare\n    main:\n      loadBalancer:\n{hc}        servers:\n          - url: \"{main}\"\n    spare:\n      loadBalancer:\n        servers:\n          - url: \"{fallback}\"\n"
    )
}

async fn answered_by(c: &HttpClient, gw: &Gateway) -> String {
    let reply = get(c, &gw.url("/"), None).await;
    reply.body.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn failover_switches_to_the_fallback_on_health_and_back() {
    let (main, spare) = (backend("main").await, backend("spare").await);
    let gw = gateway(&failover_yaml(&main.url(), &spare.url())).await;
    let c = client();
    assert_eq!(answered_by(&c, &gw).await, "main");
    main.health_status.store(503, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(5), || async {
            answered_by(&c, &gw).await == "spare"
        })
        .await,
        "never failed over"
    );
    main.health_status.store(200, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(5), || async {
            answered_by(&c, &gw).await == "main"
        })
        .await,
        "never came back"
    );
    gw.stop().await;
}

#[tokio::test]
async fn failover_from_a_dead_main_server() {
    let spare = backend("spare").await;
    let gw = gateway(&failover_yaml(&dead_url().await, &spare.url())).await;
    let c = client();
    assert!(
        eventually(Duration::from_secs(5), || async {
            answered_by(&c, &gw).await == "spare"
        })
        .await
    );
    gw.stop().await;
}

/// A main service that answers the status named by the path (`/503` → 503, else 200) with
/// "main <body>", counting the requests it got.
async fn status_backend() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = hits.clone();
    let addr = serve_fn(move |req: Request<hyper::body::Incoming>| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            let status = req.uri().path()[1..].parse::<u16>().unwrap_or(200);
            let body = req.into_body().collect().await.unwrap().to_bytes();
            http::Response::builder()
                .status(status)
                .header("x-from", "main")
                .body(Full::new(Bytes::from(format!(
                    "main {}",
                    String::from_utf8_lossy(&body)
                ))))
                .unwrap()
        }
    })
    .await;
    (format!("http://{addr}"), hits)
}

fn failover_errors_yaml(main: &str, fallback: &str, errors: &str, spare_hc: bool) -> String {
    let hc = if spare_hc {
        "        healthCheck:\n          path: /health\n          interval: 100ms\n          timeout: 500ms\n"
    } else {
        ""
    };
    format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: front\n  services:\n    front:\n      failover:\n        service: main\n        fallback: spare\n        errors:\n{errors}    main:\n      loadBalancer:\n        servers:\n          - url: \"{main}\"\n    spare:\n      loadBalancer:\n{hc}        servers:\n          - url: \"{fallback}\"\n"
    )
}

#[tokio::test]
async fn failover_errors_sends_the_same_request_to_the_fallback_on_a_listed_status() {
    let ((main, hits), spare) = (status_backend().await, backend("spare").await);
    let errors = "          status: [\"500\", \"502-504\"]\n";
    let gw = gateway(&failover_errors_yaml(&main, &spare.url(), errors, false)).await;
    let c = client();
    // A listed status: the main answer is dropped; the fallback gets the same request and body.
    let reply = send(&c, post(&gw.url("/503"), "payload")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "spare\npayload");
    assert!(reply.headers.get("x-from").is_none(), "{:?}", reply.headers);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(spare.last_seen().uri, "/503");
    // Unlisted statuses are the main service's answers.
    for (path, status) in [("/200", 200), ("/404", 404), ("/501", 501)] {
        let reply = send(&c, post(&gw.url(path), "x")).await;
        assert_eq!(
            (reply.status.as_u16(), reply.body.as_str()),
            (status, "main x")
        );
        assert_eq!(reply.headers["x-from"], "main");
    }
    assert_eq!(spare.hits(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn failover_errors_refuses_a_body_over_max_request_body_bytes_with_413() {
    let ((main, hits), spare) = (status_backend().await, backend("spare").await);
    let errors = "          status: [\"500-599\"]\n          maxRequestBodyBytes: 4\n";
    let gw = gateway(&failover_errors_yaml(&main, &spare.url(), errors, false)).await;
    let c = client();
    let reply = send(&c, post(&gw.url("/503"), "too long")).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body, "Request body too large\n");
    assert_eq!(hits.load(Ordering::SeqCst) + spare.hits(), 0);
    let reply = send(&c, post(&gw.url("/503"), "four")).await;
    assert_eq!(reply.body, "spare\nfour");
    gw.stop().await;
}

#[tokio::test]
async fn failover_errors_answers_503_when_the_fallback_is_down() {
    let ((main, _), spare) = (status_backend().await, backend("spare").await);
    spare.health_status.store(503, Ordering::SeqCst);
    let errors = "          status: [\"500\"]\n";
    let gw = gateway(&failover_errors_yaml(&main, &spare.url(), errors, true)).await;
    let c = client();
    assert!(
        eventually(Duration::from_secs(5), || async {
            send(&c, post(&gw.url("/500"), "x")).await.status == 503
        })
        .await
    );
    // Until the first health check has answered, the spare counts as up (as in Traefik) and may have
    // been reached; from the 503 on, it is not.
    let before = spare.hits();
    let reply = send(&c, post(&gw.url("/500"), "x")).await;
    assert_eq!(reply.body, "Service Unavailable\n");
    assert_eq!(spare.hits(), before);
    // The main service still answers what is not listed.
    assert_eq!(send(&c, post(&gw.url("/200"), "x")).await.body, "main x");
    gw.stop().await;
}

/// `passiveHealthCheck` (Traefik 3.7): a server answering 500 twice within the window leaves the
/// rotation for the window, then comes back; the good server answers meanwhile.
#[tokio::test]
async fn passive_health_check_takes_a_failing_server_out_for_the_failure_window() {
    let ((bad, bad_hits), good) = (status_backend().await, backend("good").await);
    let extra = "        passiveHealthCheck:\n          maxFailedAttempts: 2\n          failureWindow: 800ms\n";
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[bad, good.url()], extra)).await;
    let c = client();
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(get(&c, &gw.url("/500"), None).await.status.as_u16());
    }
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "too slow to judge"
    );
    // Round robin: the bad server gets two requests, then is out for the window.
    assert_eq!(bad_hits.load(Ordering::SeqCst), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2);
    assert_eq!(good.hits(), 8);
    // After the window it is back in rotation.
    tokio::time::sleep(Duration::from_millis(900)).await;
    for _ in 0..4 {
        get(&c, &gw.url("/500"), None).await;
    }
    assert!(bad_hits.load(Ordering::SeqCst) > 2, "never came back");
    gw.stop().await;
}

#[tokio::test]
async fn without_passive_health_check_a_server_answering_500_stays_in_rotation() {
    let ((bad, bad_hits), good) = (status_backend().await, backend("good").await);
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[bad, good.url()], "")).await;
    let c = client();
    for _ in 0..10 {
        get(&c, &gw.url("/500"), None).await;
    }
    assert_eq!(bad_hits.load(Ordering::SeqCst), 5);
    gw.stop().await;
}

fn hrw_yaml(a: &str, b: &str) -> String {
    let hc = "        healthCheck:\n          path: /health\n          interval: 100ms\n          timeout: 500ms\n";
    format!(
        "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: front\n  services:\n    front:\n      highestRandomWeight:\n        healthCheck: {{}}\n        services:\n          - name: alpha\n          - name: beta\n            weight: 2\n    alpha:\n      loadBalancer:\n{hc}        servers:\n          - url: \"{a}\"\n    beta:\n      loadBalancer:\n{hc}        servers:\n          - url: \"{b}\"\n"
    )
}

/// `highestRandomWeight` (Traefik 3.7): the client (127.0.0.1) sticks to the child Traefik's
/// formula picks; with `healthCheck: {}` the other child answers while that one is down.
#[tokio::test]
async fn highest_random_weight_sticks_the_client_to_its_child_and_skips_it_when_down() {
    use swarmgate::balance::strategy::hrw_score;
    let (alpha, beta) = (backend("alpha").await, backend("beta").await);
    let gw = gateway(&hrw_yaml(&alpha.url(), &beta.url())).await;
    let c = client();
    let (first, other, first_backend) =
        if hrw_score("127.0.0.1", "alpha", 1) > hrw_score("127.0.0.1", "beta", 2) {
            ("alpha", "beta", &alpha)
        } else {
            ("beta", "alpha", &beta)
        };
    for _ in 0..5 {
        assert_eq!(answered_by(&c, &gw).await, first);
    }
    first_backend.health_status.store(503, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(5), || async {
            answered_by(&c, &gw).await == other
        })
        .await,
        "never skipped the child that is down"
    );
    first_backend.health_status.store(200, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(5), || async {
            answered_by(&c, &gw).await == first
        })
        .await,
        "never came back"
    );
    gw.stop().await;
}

/// A backend that answers "slow" after 150 ms, counting its requests.
async fn slow_backend() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = hits.clone();
    let addr = serve_fn(move |_req: Request<hyper::body::Incoming>| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
            http::Response::new(Full::new(Bytes::from_static(b"slow")))
        }
    })
    .await;
    (format!("http://{addr}"), hits)
}

/// `strategy: leasttime` (Traefik 3.7): once the slow server's time to first byte is known, the
/// fast one gets the requests; round robin (the default) keeps sending half to the slow one.
#[tokio::test]
async fn leasttime_sends_requests_to_the_server_answering_first() {
    for (strategy, slow_at_most, slow_at_least) in [("leasttime", 2, 0), ("wrr", 5, 5)] {
        let ((slow, slow_hits), fast) = (slow_backend().await, backend("fast").await);
        let extra = format!("        strategy: {strategy}\n");
        let gw = gateway(&route_yaml("PathPrefix(`/`)", &[slow, fast.url()], &extra)).await;
        let c = client();
        for _ in 0..10 {
            assert_eq!(get(&c, &gw.url("/"), None).await.status, 200);
        }
        let slow = slow_hits.load(Ordering::SeqCst);
        assert!(
            (slow_at_least..=slow_at_most).contains(&slow),
            "{strategy}: slow server got {slow} of 10"
        );
        gw.stop().await;
    }
}

#[tokio::test]
async fn sticky_cookie_attributes_as_traefik_writes_them() {
    let a = backend("a").await;
    let extra = "        sticky:\n          cookie:\n            name: pin\n            secure: true\n            httpOnly: true\n            sameSite: lax\n            maxAge: 60\n            path: /app\n            domain: example.com\n";
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[a.url()], extra)).await;
    let reply = get(&client(), &gw.url("/"), None).await;
    let cookie = reply.headers["set-cookie"].to_str().unwrap().to_string();
    let value = cookie
        .strip_prefix("pin=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    assert_eq!(value.len(), 16, "{cookie}");
    assert_eq!(
        cookie,
        format!("pin={value}; Path=/app; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=Lax")
    );
    gw.stop().await;
}

#[tokio::test]
async fn with_a_flush_interval_each_chunk_still_goes_out_as_it_arrives() {
    use http_body::Frame;
    use http_body_util::StreamBody;
    type Chunk = Result<Frame<Bytes>, std::convert::Infallible>;
    let addr = serve_fn(|_req: Request<hyper::body::Incoming>| async move {
        let (tx, rx) = mpsc::channel::<Chunk>(2);
        tokio::spawn(async move {
            let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"first")))).await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            let _ = tx
                .send(Ok(Frame::data(Bytes::from_static(b"second"))))
                .await;
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        http::Response::new(StreamBody::new(stream))
    })
    .await;
    let extra = "        responseForwarding:\n          flushInterval: 10s\n";
    let gw = gateway(&route_yaml(
        "PathPrefix(`/`)",
        &[format!("http://{addr}")],
        extra,
    ))
    .await;
    let started = Instant::now();
    let resp = client()
        .request(
            Request::get(gw.url("/"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(2), body.frame())
        .await
        .expect("the first chunk waited for the second")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), Bytes::from_static(b"first"));
    assert!(started.elapsed() < Duration::from_secs(2));
    gw.stop().await;
}

#[tokio::test]
async fn without_max_body_size_a_huge_body_is_not_held_for_the_mirrors() {
    let main = backend("main").await;
    let (mirror, mut seen) = mirror_backend(Duration::ZERO).await;
    let gw = gateway(&mirroring_yaml(&main.url(), &[(&mirror, 100)], "")).await;
    let big = vec![b'x'; 17 * 1024 * 1024];
    let req = Request::post(gw.url("/upload"))
        .body(Full::new(Bytes::from(big)))
        .unwrap();
    let reply = send(&client(), req).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), "main\n".len() + 17 * 1024 * 1024);
    let copy = tokio::time::timeout(Duration::from_millis(500), seen.recv()).await;
    assert!(copy.is_err(), "a 17 MiB body was mirrored");
    gw.stop().await;
}

/// Traefik 3.7 service middlewares: applied after the router's, around the router's service.
#[tokio::test]
async fn service_middlewares_apply_after_the_routers() {
    let be = backend("app").await;
    let yaml = format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [first]
  middlewares:
    first:
      addPrefix:
        prefix: /router
    second:
      addPrefix:
        prefix: /service
    tag:
      headers:
        customRequestHeaders:
          X-Service-Middleware: "yes"
  services:
    app:
      middlewares: [second, tag]
      loadBalancer:
        strategy: wrr
        servers:
          - url: "{}"
"#,
        be.url()
    );
    let gw = gateway(&yaml).await;
    let reply = get(&client(), &gw.url("/x"), None).await;
    assert_eq!(reply.status, 200);
    let seen = be.last_seen();
    // Router's middleware first, then the service's (each adds its prefix in front).
    assert_eq!(seen.uri, "/service/router/x");
    assert_eq!(seen.headers["x-service-middleware"], "yes");
    gw.stop().await;
}

/// Fail closed: a strategy Traefik does not know closes the routers that use it (503), and
/// a child service with middlewares (applied by Traefik inside the parent) refuses its parent.
#[tokio::test]
async fn unimplemented_service_options_close_their_routers() {
    let be = backend("app").await;
    let yaml = format!(
        r#"http:
  routers:
    lt:
      rule: "Host(`lt`)"
      service: lt
    nested:
      rule: "Host(`nested`)"
      service: nested
    ok:
      rule: "Host(`ok`)"
      service: plain
  middlewares:
    tag:
      headers:
        customRequestHeaders:
          X-Tag: "1"
  services:
    plain:
      loadBalancer:
        servers:
          - url: "{url}"
    lt:
      loadBalancer:
        strategy: fastest
        servers:
          - url: "{url}"
    tagged:
      middlewares: [tag]
      loadBalancer:
        servers:
          - url: "{url}"
    nested:
      weighted:
        services:
          - name: tagged
"#,
        url = be.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    assert_eq!(get(&c, &gw.url("/"), Some("ok")).await.status, 200);
    assert_eq!(get(&c, &gw.url("/"), Some("lt")).await.status, 503);
    assert_eq!(get(&c, &gw.url("/"), Some("nested")).await.status, 503);
    let issues = gw.running.as_ref().unwrap().issues.load();
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("\"fastest\"") && t.contains("unsupported load-balancer strategy")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("child service") && t.contains("has middlewares")),
        "{text:#?}"
    );
    gw.stop().await;
}
