//! Metrics, admin API, ping and access log through a running swarmgate.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{backend, client, eventually, gateway_with, get};

fn dynamic(backend_url: &str) -> String {
    format!(
        r#"http:
  routers:
    app:
      entryPoints: [web]
      rule: "PathPrefix(`/`)"
      service: app
    admin-denied:
      entryPoints: [web]
      rule: "Host(`denied.local`)"
      service: api@internal
      middlewares: [office-only]
    admin:
      entryPoints: [web]
      rule: "Host(`admin.local`)"
      service: api@internal
      middlewares: [local-only]
    checked:
      entryPoints: [web]
      rule: "Host(`checked.local`)"
      service: checked
  middlewares:
    office-only:
      ipAllowList:
        sourceRange: ["10.1.0.0/16"]
    local-only:
      ipAllowList:
        sourceRange: ["127.0.0.1/32"]
  services:
    app:
      loadBalancer:
        servers:
          - url: "{backend_url}"
    checked:
      loadBalancer:
        healthCheck:
          path: /
          interval: 1s
        servers:
          - url: "{backend_url}"
"#
    )
}

fn static_toml(log: &std::path::Path) -> String {
    format!(
        "[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[api]\ninsecure = true\n[ping]\n[metrics.prometheus]\naddRoutersLabels = true\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    )
}

#[tokio::test]
async fn metrics_api_ping_and_access_log() {
    let b = backend("one").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let gw = gateway_with(&dynamic(&b.url()), &static_toml(&log)).await;
    let admin = gw.running.as_ref().unwrap().address("traefik").unwrap();
    let c = client();

    for _ in 0..3 {
        assert_eq!(get(&c, &gw.url("/hello"), None).await.status, 200);
    }

    // Prometheus on the traefik entrypoint.
    let metrics = get(&c, &format!("http://{admin}/metrics"), None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    for line in [
        r#"traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 3"#,
        r#"traefik_entrypoint_request_duration_seconds_count{code="200",entrypoint="web",method="GET",protocol="http"} 3"#,
        r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="app@file",service="app@file"} 3"#,
        r#"traefik_service_requests_total{code="200",method="GET",protocol="http",service="app@file"} 3"#,
        r#"traefik_service_requests_bytes_total{code="200",method="GET",protocol="http",service="app@file"} 0"#,
        // Only for the health-checked service, as Traefik.
        &format!(
            r#"traefik_service_server_up{{service="checked@file",url="{}"}} 1"#,
            b.url()
        ),
        "traefik_config_reloads_total 1",
        r#"traefik_open_connections{entrypoint="traefik",protocol="TCP"} 1"#,
        "swarmgate_accesslog_dropped_total 0",
    ] {
        assert!(
            metrics.body.contains(line),
            "missing {line:?} in\n{}",
            metrics.body
        );
    }
    assert!(
        !metrics
            .body
            .contains(r#"traefik_service_server_up{service="app@file""#),
        "server_up for a service without healthCheck:\n{}",
        metrics.body
    );

    // Ping.
    let ping = get(&c, &format!("http://{admin}/ping"), None).await;
    assert_eq!((ping.status.as_u16(), ping.body.as_str()), (200, "OK"));

    // Admin API (api.insecure).
    let routers = get(&c, &format!("http://{admin}/api/http/routers"), None).await;
    let routers: serde_json::Value = serde_json::from_str(&routers.body).unwrap();
    let names: Vec<&str> = routers
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for name in [
        "app@file",
        "api@internal",
        "dashboard@internal",
        "ping@internal",
        "prometheus@internal",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let app = get(
        &c,
        &format!("http://{admin}/api/http/routers/app@file"),
        None,
    )
    .await;
    let app: serde_json::Value = serde_json::from_str(&app.body).unwrap();
    assert_eq!(app["status"], "enabled");
    assert_eq!(app["rule"], "PathPrefix(`/`)");
    assert_eq!(app["entryPoints"], serde_json::json!(["web"]));
    let services = get(&c, &format!("http://{admin}/api/http/services"), None).await;
    let services: serde_json::Value = serde_json::from_str(&services.body).unwrap();
    let svc = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "app@file")
        .unwrap();
    assert_eq!(svc["serverStatus"][b.url()], "UP");
    assert_eq!(svc["usedBy"], serde_json::json!(["app@file"]));
    let mws = get(&c, &format!("http://{admin}/api/http/middlewares"), None).await;
    assert!(mws.body.contains(r#""type":"ipallowlist""#), "{}", mws.body);
    for path in [
        "/api/overview",
        "/api/entrypoints",
        "/api/rawdata",
        "/api/errors",
        "/api/version",
    ] {
        let r = get(&c, &format!("http://{admin}{path}"), None).await;
        assert_eq!(r.status, 200, "{path}");
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap();
    }
    // As Traefik 3.7.15's `dashboard_redirect@internal`: 301 to an absolute URL.
    let dash = get(&c, &format!("http://{admin}/"), None).await;
    assert_eq!(dash.status, 301);
    assert_eq!(
        dash.headers["location"],
        format!("http://{admin}/dashboard/").as_str()
    );
    assert_eq!(dash.body, "Moved Permanently");

    // api@internal behind routers with middlewares.
    let denied = get(&c, &gw.url("/api/version"), Some("denied.local")).await;
    assert_eq!(denied.status, 403);
    let allowed = get(&c, &gw.url("/api/version"), Some("admin.local")).await;
    assert_eq!(allowed.status, 200);
    assert!(allowed.body.contains("\"Version\""));

    // Access log: written off the request path, Traefik's JSON field names.
    let want_url = b.url();
    assert!(
        eventually(Duration::from_secs(5), || {
            let log = log.clone();
            let want_url = want_url.clone();
            async move {
                std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .lines()
                    .any(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        v["RouterName"] == "app@file"
                            && v["ServiceURL"] == want_url.as_str()
                            && v["DownstreamStatus"] == 200
                            && v["RequestPath"] == "/hello"
                            && v["entryPointName"] == "web"
                    })
            }
        })
        .await,
        "access log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    gw.stop().await;
}

#[tokio::test]
async fn common_access_log_to_file() {
    let b = backend("one").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    // Referer and User-Agent are written only when headers are kept (Traefik drops them by
    // default: `"-" "-"`, checked against Traefik 3.7.15).
    let extra = format!(
        "[accessLog]\nfilePath = {:?}\n[accessLog.fields.headers]\ndefaultMode = \"keep\"\n",
        log.display().to_string()
    );
    let gw = gateway_with(
        &support::route_yaml("PathPrefix(`/`)", &[b.url()], ""),
        &extra,
    )
    .await;
    let c = client();
    let mut req = http::Request::get(gw.url("/x?y=1"));
    req = req
        .header("user-agent", "probe/1")
        .header("referer", "http://r.example/");
    let reply = support::send(&c, req.body(Default::default()).unwrap()).await;
    assert_eq!(reply.status, 200);
    let want = "\"GET /x?y=1 HTTP/1.1\" 200 ".to_string();
    let tail = format!(
        "\"http://r.example/\" \"probe/1\" 1 \"app@file\" \"{}\" ",
        b.url()
    );
    assert!(
        eventually(Duration::from_secs(5), || {
            let log = log.clone();
            let (want, tail) = (want.clone(), tail.clone());
            async move {
                std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .lines()
                    .any(|l| {
                        l.starts_with("127.0.0.1 - - [")
                            && l.contains(&want)
                            && l.contains(&tail)
                            && l.ends_with("ms")
                    })
            }
        })
        .await,
        "access log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    gw.stop().await;
}

/// A `weighted` service logs the URL of the server that answered, in the service it picked.
#[tokio::test]
async fn access_log_names_the_server_behind_a_weighted_service() {
    let (blue, green) = (backend("blue").await, backend("green").await);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = format!(
        "[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let dynamic = format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: canary
  services:
    canary:
      weighted:
        services:
          - name: blue
            weight: 1
          - name: green
            weight: 1
    blue:
      loadBalancer:
        servers:
          - url: "{}"
    green:
      loadBalancer:
        servers:
          - url: "{}"
"#,
        blue.url(),
        green.url()
    );
    let gw = gateway_with(&dynamic, &extra).await;
    let c = client();
    for _ in 0..4 {
        assert_eq!(get(&c, &gw.url("/w"), None).await.status, 200);
    }
    let urls = [blue.url(), green.url()];
    assert!(
        eventually(Duration::from_secs(5), || {
            let log = log.clone();
            let urls = urls.clone();
            async move {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let logged: Vec<String> = text
                    .lines()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                    .map(|v| v["ServiceURL"].as_str().unwrap_or("").to_string())
                    .collect();
                // Both children answered (1:1 weights), each logged with its own server's URL.
                logged.len() == 4 && urls.iter().all(|u| logged.contains(u))
            }
        })
        .await,
        "access log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    gw.stop().await;
}

#[tokio::test]
async fn metrics_on_a_named_entrypoint_and_unrouted_requests() {
    let b = backend("one").await;
    let gw = gateway_with(
        &support::route_yaml("Host(`app.local`)", &[b.url()], ""),
        "[metrics.prometheus]\nentryPoint = \"web\"\naddEntryPointsLabels = false\n",
    )
    .await;
    let c = client();
    assert_eq!(get(&c, &gw.url("/"), Some("other.local")).await.status, 404);
    assert_eq!(get(&c, &gw.url("/"), Some("app.local")).await.status, 200);
    let m = get(&c, &gw.url("/metrics"), None).await;
    assert_eq!(m.status, 200);
    let line = r#"traefik_service_requests_total{code="200",method="GET",protocol="http",service="app@file"} 1"#;
    assert!(m.body.contains(line), "missing {line:?} in\n{}", m.body);
    // addEntryPointsLabels=false: no entrypoint families; the unrouted 404 is counted nowhere
    // else (as in Traefik).
    assert!(!m.body.contains("traefik_entrypoint_"), "{}", m.body);
    assert!(!m.body.contains(r#"code="404""#), "{}", m.body);
    // No api section: the router to api@internal is disabled ("api is not enabled"), so 404.
    gw.write_dynamic(
        "http:\n  routers:\n    a:\n      rule: \"PathPrefix(`/api`)\"\n      service: api@internal\n",
    );
    let running = gw.running.as_ref().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            let issues = running.issues.load();
            issues
                .iter()
                .any(|i| i.to_string().contains("api is not enabled"))
        })
        .await
    );
    assert_eq!(get(&c, &gw.url("/api/version"), None).await.status, 404);
    gw.stop().await;
}

/// As Traefik 3.7.15 (checked with curl against the real binary): a router to an internal
/// service whose feature is off (`ping`, `prometheus`, `api`, `dashboard`) is disabled with
/// "<name> is not enabled", so its requests get 404; with `api` on, `api@internal` is served.
#[tokio::test]
async fn routers_to_disabled_internal_services_answer_404() {
    let dynamic = r#"http:
  routers:
    p:
      rule: "PathPrefix(`/p`)"
      service: ping@internal
    m:
      rule: "PathPrefix(`/m`)"
      service: prometheus@internal
    a:
      rule: "PathPrefix(`/api`)"
      service: api@internal
    d:
      rule: "PathPrefix(`/dashboard`)"
      service: dashboard@internal
"#;
    let c = client();
    let gw = gateway_with(dynamic, "").await;
    for path in ["/p", "/m", "/api/rawdata", "/dashboard/"] {
        let r = get(&c, &gw.url(path), None).await;
        assert_eq!(r.status, 404, "{path} with nothing enabled");
    }
    gw.stop().await;

    let gw = gateway_with(dynamic, "[api]\ndashboard = false\n").await;
    for (path, want) in [
        ("/p", 404),
        ("/m", 404),
        ("/api/rawdata", 200),
        ("/dashboard/", 404),
    ] {
        let r = get(&c, &gw.url(path), None).await;
        assert_eq!(r.status, want, "{path} with api (no dashboard)");
    }
    let r = get(&c, &gw.url("/api/http/services"), None).await;
    assert!(!r.body.contains("ping@internal"), "{}", r.body);
    gw.stop().await;

    let gw = gateway_with(dynamic, "[ping]\n[metrics.prometheus]\n[api]\n").await;
    for path in ["/p", "/m", "/api/rawdata", "/dashboard/"] {
        let r = get(&c, &gw.url(path), None).await;
        assert_eq!(r.status, 200, "{path} with everything enabled");
    }
    gw.stop().await;
}

/// Traefik 3.7's `observability` switches: a router's `accessLogs`/`metrics` override its
/// entrypoint's, a router that sets none takes the entrypoint's, and a request no router
/// matched follows the entrypoint.
#[tokio::test]
async fn router_observability_switches_the_access_log_and_metrics() {
    let b = backend("one").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = format!(
        "[entryPoints.web.observability]\naccessLogs = false\n[metrics.prometheus]\nentryPoint = \"web\"\naddRoutersLabels = true\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let dynamic = format!(
        r#"http:
  routers:
    loud:
      rule: "PathPrefix(`/loud`)"
      service: app
      observability:
        accessLogs: true
    quiet:
      rule: "PathPrefix(`/quiet`)"
      service: app
      observability:
        metrics: false
    plain:
      rule: "PathPrefix(`/plain`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "{}"
"#,
        b.url()
    );
    let gw = gateway_with(&dynamic, &extra).await;
    let c = client();
    assert_eq!(get(&c, &gw.url("/quiet"), None).await.status, 200);
    assert_eq!(get(&c, &gw.url("/plain"), None).await.status, 200);
    assert_eq!(get(&c, &gw.url("/none"), Some("x.local")).await.status, 404);
    assert_eq!(get(&c, &gw.url("/loud"), None).await.status, 200);
    // Lines are written in order: once the last request's is there, the others would be too.
    let lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(Duration::from_secs(5), || async { !lines().is_empty() }).await,
        "no access log line"
    );
    let logged = lines();
    assert_eq!(logged.len(), 1, "only the loud router logs: {logged:#?}");
    assert_eq!(logged[0]["RouterName"], "loud@file");

    let m = get(&c, &gw.url("/metrics"), None).await;
    assert_eq!(m.status, 200);
    for line in [
        r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="loud@file",service="app@file"} 1"#,
        r#"traefik_router_requests_total{code="200",method="GET",protocol="http",router="plain@file",service="app@file"} 1"#,
        // quiet's request is counted nowhere: not on the service, nor the entrypoint.
        r#"traefik_service_requests_total{code="200",method="GET",protocol="http",service="app@file"} 2"#,
        r#"traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 2"#,
        r#"traefik_entrypoint_requests_total{code="404",entrypoint="web",method="GET",protocol="http"} 1"#,
    ] {
        assert!(m.body.contains(line), "missing {line:?} in\n{}", m.body);
    }
    assert!(!m.body.contains("quiet@file"), "{}", m.body);
    gw.stop().await;
}
