use std::sync::Arc;

use arc_swap::ArcSwap;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use super::views::Filter;
use super::*;
use crate::observe::series::live::Live;

fn state(api: bool) -> ApiState {
    let mut cfg: StaticConfig = toml::from_str(
        "[entryPoints.web]\naddress = ':80'\n[entryPoints.traefik]\naddress = ':8080'\n",
    )
    .unwrap();
    if api {
        cfg.api = Some(Default::default());
    }
    let state = ApiState::new(
        &cfg,
        Arc::default(),
        Arc::new(ArcSwap::from_pointee(vec![ConfigIssue::new(
            crate::config::Element::Router,
            "bad@file",
            "rule: unexpected end",
        )])),
    );
    let dynamic: DynamicConfig = serde_yaml::from_str(
        "http:\n  routers:\n    bad@file:\n      rule: 'Host('\n      service: app@file\n  services:\n    app@file:\n      loadBalancer:\n        servers:\n          - url: http://10.0.0.1:80\n",
    )
    .unwrap();
    state.set_config(&dynamic);
    state
}

async fn call(state: &ApiState, method: &str, path: &str) -> (StatusCode, String, String) {
    let (parts, ()) = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:8080")
        .body(())
        .unwrap()
        .into_parts();
    let resp = state.respond(&parts, false);
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn routes_paths_like_traefik() {
    let s = state(true);
    for (method, path, status, location) in [
        // As Traefik 3.7.15 (`dashboard_redirect@internal`, seen with curl): 301, absolute.
        (
            "GET",
            "/",
            StatusCode::MOVED_PERMANENTLY,
            "http://127.0.0.1:8080/dashboard/",
        ),
        ("GET", "/?a=b", StatusCode::OK, ""),
        ("GET", "/dashboard", StatusCode::OK, ""),
        ("GET", "/dashboard/", StatusCode::OK, ""),
        ("GET", "/api/version", StatusCode::OK, ""),
        ("GET", "/api/nope", StatusCode::NOT_FOUND, ""),
        ("GET", "/other", StatusCode::NOT_FOUND, ""),
        ("POST", "/api/overview", StatusCode::METHOD_NOT_ALLOWED, ""),
    ] {
        let (got, loc, _) = call(&s, method, path).await;
        assert_eq!((got, loc.as_str()), (status, location), "{method} {path}");
    }
    let (_, _, html) = call(&s, "GET", "/dashboard/").await;
    assert!(
        html.contains("/api/http/routers")
            && !html.contains("http://")
            && !html.contains("https://")
    );
}

#[test]
fn dashboard_redirect_matches_traefiks_regex() {
    let parts = |host: &str, path: &str| {
        Request::builder()
            .uri(path)
            .header("host", host)
            .body(())
            .unwrap()
            .into_parts()
            .0
    };
    for (host, path, tls, want) in [
        (
            "example.com",
            "/",
            false,
            Some("http://example.com/dashboard/"),
        ),
        (
            "a_b-c.d:8080",
            "/",
            false,
            Some("http://a_b-c.d:8080/dashboard/"),
        ),
        ("[::1]:9", "/", false, Some("http://[::1]:9/dashboard/")),
        ("example.com", "/", true, None),
        ("example.com", "/x", false, None),
        ("example.com", "/?q", false, None),
        ("example.com:", "/", false, None),
        ("exa mple", "/", false, None),
        ("[::1", "/", false, None),
    ] {
        let got = super::dashboard_redirect(&parts(host, path), tls);
        assert_eq!(got.as_deref(), want, "{host} {path} {tls}");
    }
}

#[tokio::test]
async fn disabled_api_answers_404() {
    let (status, _, _) = call(&state(false), "GET", "/api/overview").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uncompiled_router_is_disabled_with_its_error() {
    let s = state(true);
    let (_, _, body) = call(&s, "GET", "/api/http/routers/bad%40file").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "disabled");
    assert_eq!(v["provider"], "file");
    assert_eq!(v["entryPoints"], json!(["traefik", "web"]));
    assert_eq!(v["error"], json!(["rule: unexpected end"]));
    let (_, _, body) = call(&s, "GET", "/api/overview").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["http"]["routers"],
        json!({"total": 1, "warnings": 0, "errors": 1})
    );
    assert_eq!(v["errors"], 1);
    let (_, _, body) = call(&s, "GET", "/api/errors").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["name"], "bad@file");
}

#[test]
fn filters_and_decoding() {
    assert_eq!(
        Filter::from_query("search=App&status=enabled&page=2"),
        Filter {
            search: Some("app".into()),
            status: Some("enabled".into())
        }
    );
    let list = json!([{"name": "app@file", "status": "enabled"}, {"name": "x@file", "status": "disabled"}]);
    assert_eq!(
        Filter::from_query("status=disabled").apply(list.clone()),
        json!([{"name": "x@file", "status": "disabled"}])
    );
    assert_eq!(
        Filter::from_query("search=APP")
            .apply(list)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for (input, want) in [
        ("a%40b", "a@b"),
        ("%4", "%4"),
        ("a%zz", "a%zz"),
        ("plain", "plain"),
    ] {
        assert_eq!(percent_decode(input), want);
    }
}

#[tokio::test]
async fn udp_routers_and_services_are_listed_with_their_errors() {
    let mut cfg: StaticConfig = toml::from_str("[entryPoints.dns]\naddress = ':53/udp'\n").unwrap();
    cfg.api = Some(Default::default());
    let issue = ConfigIssue::new(
        crate::config::Element::UdpRouter,
        "bad@file",
        "closed (its datagrams are dropped): the UDP service \"nope@file\" does not exist",
    );
    let s = ApiState::new(
        &cfg,
        Arc::default(),
        Arc::new(ArcSwap::from_pointee(vec![issue])),
    );
    let dynamic: DynamicConfig = serde_yaml::from_str(
        "udp:\n  routers:\n    dns@file:\n      entryPoints: [dns]\n      service: dns@file\n    bad@file:\n      service: nope@file\n  services:\n    dns@file:\n      loadBalancer:\n        servers:\n          - address: 10.0.0.1:53\n",
    )
    .unwrap();
    s.set_config(&dynamic);
    let (status, _, body) = call(&s, "GET", "/api/udp/routers").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["name"], "bad@file");
    assert_eq!(v[0]["status"], "disabled");
    assert!(v[0]["error"][0]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert_eq!(v[1]["name"], "dns@file");
    assert_eq!(v[1]["status"], "enabled");
    assert_eq!(v[1]["entryPoints"], json!(["dns"]));
    let (_, _, body) = call(&s, "GET", "/api/udp/services/dns%40file").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["loadBalancer"]["servers"][0]["address"], "10.0.0.1:53");
    assert_eq!(v["usedBy"], json!(["dns@file"]));
    let (_, _, body) = call(&s, "GET", "/api/overview").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["udp"]["routers"],
        json!({"total": 2, "warnings": 0, "errors": 1})
    );
}

#[tokio::test]
async fn tcp_routers_services_and_their_errors_are_listed() {
    let mut cfg: StaticConfig = toml::from_str("[entryPoints.web]\naddress = ':80'\n").unwrap();
    cfg.api = Some(Default::default());
    let closed = ConfigIssue::new(
        crate::config::Element::Router,
        "bad@file",
        "closed (its connections are closed): its service \"gone@file\" does not exist",
    )
    .with_key("tcp.routers.bad@file");
    let state = ApiState::new(
        &cfg,
        Arc::default(),
        Arc::new(ArcSwap::from_pointee(vec![closed])),
    );
    let dynamic: DynamicConfig = serde_yaml::from_str(
        r#"
http:
  routers:
    bad@file: { rule: "Host(`a.test`)", service: web@file, entryPoints: [web] }
  services:
    web@file: { loadBalancer: { servers: [{ url: "http://10.0.0.6" }] } }
tcp:
  routers:
    pg@file: { rule: "HostSNI(`db.test`)", service: pg@file, entryPoints: [web], tls: { passthrough: true } }
    bad@file: { rule: "HostSNI(`*`)", service: gone@file, entryPoints: [web] }
  services:
    pg@file: { loadBalancer: { servers: [{ address: "10.0.0.5:5432" }] } }
"#,
    )
    .unwrap();
    state.set_config(&dynamic);
    let (status, _, body) = call(&state, "GET", "/api/tcp/routers").await;
    assert_eq!(status, StatusCode::OK);
    let routers: serde_json::Value = serde_json::from_str(&body).unwrap();
    let by = |name: &str| {
        routers
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by("pg@file")["status"], "enabled");
    assert_eq!(by("pg@file")["provider"], "file");
    assert_eq!(by("pg@file")["tls"]["passthrough"], true);
    assert_eq!(by("bad@file")["status"], "disabled");
    assert!(by("bad@file")["error"][0]
        .as_str()
        .unwrap()
        .contains("gone@file"));
    let (_, _, one) = call(&state, "GET", "/api/tcp/services/pg%40file").await;
    let service: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(service["usedBy"], json!(["pg@file"]));
    assert_eq!(
        service["loadBalancer"]["servers"][0]["address"],
        "10.0.0.5:5432"
    );
    let (_, _, overview) = call(&state, "GET", "/api/overview").await;
    let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
    assert_eq!(overview["tcp"]["routers"]["total"], 2);
    assert_eq!(overview["tcp"]["routers"]["errors"], 1);
    // The HTTP router of the same name does not carry the TCP router's issue.
    let (_, _, http) = call(&state, "GET", "/api/http/routers/bad%40file").await;
    let http: serde_json::Value = serde_json::from_str(&http).unwrap();
    // (disabled here only because this state holds no compiled table)
    assert_eq!(http["rule"], "Host(`a.test`)", "{http}");
    assert!(http.get("error").is_none(), "{http}");
}

/// The dynamic configuration of [`compiled_state`].
fn compiled_config() -> DynamicConfig {
    serde_yaml::from_str(
        r#"
http:
  routers:
    a@file: { rule: "Host(`a.test`)", service: app@file, entryPoints: [web] }
    b@file: { rule: "Host(`b.test`)", service: app@file, entryPoints: [web] }
    c@file: { rule: "Host(`c.test`)", service: other@file, entryPoints: [web] }
  services:
    app@file: { loadBalancer: { servers: [{ url: "http://10.0.0.1:80" }, { url: "http://10.0.0.2:80", weight: 3 }] } }
    other@file: { loadBalancer: { servers: [{ url: "http://10.0.0.3:80" }] } }
"#,
    )
    .unwrap()
}

/// An API over a compiled table: routers `a` and `b` on service `app` (two servers), `c` on
/// `other`; entrypoints `web` and `traefik`.
fn compiled_state() -> (ApiState, Arc<RoutingTable>, Arc<Live>) {
    use crate::table::{compile, CompileContext, EntryPointInfo};
    let mut cfg: StaticConfig = toml::from_str(
        "[entryPoints.web]\naddress = ':80'\n[entryPoints.traefik]\naddress = ':8080'\n[api]\n",
    )
    .unwrap();
    cfg.api = Some(Default::default());
    let mut dynamic = compiled_config();
    dynamic.apply_default_entrypoints(&["web".to_string()]);
    let eps: Vec<EntryPointInfo> = ["web", "traefik"]
        .iter()
        .map(|n| EntryPointInfo {
            name: n.to_string(),
            ..Default::default()
        })
        .collect();
    let ctx = CompileContext {
        entrypoints: &eps,
        endpoints: &Default::default(),
        pools: &Default::default(),
        transports: &Default::default(),
        default_transport: &Default::default(),
        breakers: &Default::default(),
    };
    let table = Arc::new(compile(&dynamic, &ctx).table);
    let state = ApiState::new(
        &cfg,
        Arc::new(ArcSwap::new(Arc::clone(&table))),
        Arc::default(),
    );
    state.set_config(&dynamic);
    let live = Arc::new(Live::new(vec!["web".into(), "traefik".into()]));
    state.watch_traffic(Arc::clone(&live));
    (state, table, live)
}

fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn traffic_is_summed_per_entrypoint_router_and_service() {
    use crate::observe::series::live::{LiveSample, BUCKET_SECS, SLOTS};
    let (s, table, live) = compiled_state();
    let sample = |ms: u64, status: u16| LiveSample {
        at: std::time::Instant::now(),
        elapsed: std::time::Duration::from_millis(ms),
        status,
        bytes_in: 0,
        bytes_out: 1000,
    };
    let route = |name: &str| {
        let r = &table.routes[name];
        (&r.live, r.name.as_str())
    };
    for _ in 0..30 {
        live.record(Some(route("a@file")), 0, sample(1, 200));
    }
    for _ in 0..10 {
        live.record(Some(route("b@file")), 0, sample(100, 502));
    }
    live.record(Some(route("c@file")), 0, sample(1, 404));
    live.record(None, 0, sample(1, 404));

    let (status, _, body) = call(&s, "GET", "/api/traffic").await;
    assert_eq!(status, StatusCode::OK);
    let v = json_of(&body);
    assert_eq!(v["bucketSeconds"], BUCKET_SECS);
    assert_eq!(v["entrypoints"]["web"]["total"], 42);
    assert!(v["entrypoints"].get("traefik").is_none());
    assert_eq!(v["routers"]["a@file"]["total"], 30);
    assert_eq!(v["services"]["app@file"]["total"], 40);
    assert_eq!(v["services"]["app@file"]["total5xx"], 10);
    assert_eq!(v["services"]["other@file"]["total"], 1);
    let spark = v["routers"]["b@file"]["errors"].as_array().unwrap();
    assert_eq!(spark.len(), SLOTS);
    assert_eq!(spark[SLOTS - 1], 10);
    // The rate of a minute that has only just begun is over at least one second.
    let rps = v["routers"]["a@file"]["rps"].as_f64().unwrap();
    assert!(rps > 0.0 && rps <= 30.0, "{rps}");
    assert!(v["routers"]["b@file"]["rate5xx"].as_f64().unwrap() > 0.0);

    // Only the kinds asked for, the busiest first.
    let (_, _, body) = call(&s, "GET", "/api/traffic?kind=routers&top=2").await;
    let v = json_of(&body);
    let names: Vec<&String> = v["routers"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["a@file", "b@file"]);
    assert_eq!(v["services"], json!({}));
    assert_eq!(v["entrypoints"], json!({}));

    let (_, _, body) = call(&s, "GET", "/api/traffic/routers/b%40file").await;
    let b = json_of(&body);
    assert_eq!(b["name"], "b@file");
    assert_eq!(b["status5xx"][SLOTS - 1], 10);
    assert_eq!(b["bytesOut"][SLOTS - 1], 10_000);
    assert_eq!(b["recentErrors"].as_array().unwrap().len(), 10);
    assert_eq!(b["recentErrors"][0]["status"], 502);
    assert_eq!(b["recentErrors"][0]["entrypoint"], "web");
    // A service's recent failures are its routers'.
    let (_, _, body) = call(&s, "GET", "/api/traffic/services/other%40file").await;
    assert_eq!(json_of(&body)["recentErrors"][0]["status"], 404);
    let p99 = b["p99MsByBucket"][SLOTS - 1].as_f64().unwrap();
    assert!((65.0..=132.0).contains(&p99), "{p99}");
    assert_eq!(b["p50MsByBucket"][0], serde_json::Value::Null);
    // An object without traffic: zeros, not 404; an unknown kind: 404.
    let (status, _, body) = call(&s, "GET", "/api/traffic/entrypoints/traefik").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&body)["total"], 0);
    let (status, _, _) = call(&s, "GET", "/api/traffic/nope/x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_service_whose_servers_are_all_down_is_down_with_its_failures() {
    let (s, table, _) = compiled_state();
    let service = |body: &str, name: &str| {
        json_of(body)
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap()
    };
    let (_, _, body) = call(&s, "GET", "/api/http/services").await;
    let app = service(&body, "app@file");
    assert_eq!(app["health"], "up");
    assert_eq!(app["servers"][1]["weight"], 3);
    let Some(crate::table::Service::LoadBalancer(lb)) =
        table.services.get("app@file").map(|s| &**s)
    else {
        panic!("app@file is a load balancer")
    };
    let now = std::time::Instant::now();
    // One server fails its active check: degraded.
    lb.balancer.endpoints()[0].state.set_active_up(false);
    let (_, _, body) = call(&s, "GET", "/api/http/services").await;
    assert_eq!(service(&body, "app@file")["health"], "degraded");
    // The other is ejected by passive failures: down, failures counted.
    lb.balancer.endpoints()[1].state.report_failure(now);
    let (_, _, body) = call(&s, "GET", "/api/http/services").await;
    let app = service(&body, "app@file");
    assert_eq!(app["health"], "down");
    assert_eq!(app["failures"], 1);
    assert_eq!(app["servers"][1]["ejected"], true);
    assert_eq!(app["serverStatus"]["http://10.0.0.2:80"], "DOWN");
    assert_eq!(service(&body, "other@file")["health"], "up");
    let (_, _, body) = call(&s, "GET", "/api/overview").await;
    assert_eq!(json_of(&body)["http"]["services"]["down"], 1);
}

#[tokio::test]
async fn each_server_s_origin_is_listed_beside_traefik_s_server_status() {
    use crate::config::server_origin::{ServerOrigin, TaskOrigin};
    let (s, _, _) = compiled_state();
    // The configuration as the providers wrote it: a Swarm task and a file.
    let mut dynamic = compiled_config();
    dynamic.apply_default_entrypoints(&["web".to_string()]);
    let lb = |d: &mut DynamicConfig, name: &str| {
        d.http
            .services
            .get_mut(name)
            .unwrap()
            .load_balancer
            .take()
            .unwrap()
    };
    let mut app = lb(&mut dynamic, "app@file");
    app.servers[0] = app.servers[0]
        .clone()
        .with_origin(ServerOrigin::Task(TaskOrigin {
            task: "t0sk1d0123456789abcdefghi".into(),
            service: "st_app".into(),
            slot: Some(3),
            node: "worker-2".into(),
            node_id: "n2".into(),
            container: Some("c0ffee".into()),
        }));
    dynamic
        .http
        .services
        .get_mut("app@file")
        .unwrap()
        .load_balancer = Some(app);
    let mut other = lb(&mut dynamic, "other@file");
    other.servers[0] = other.servers[0].clone().with_origin(ServerOrigin::File {
        file: "/etc/traefik/dynamic.yml".into(),
    });
    dynamic
        .http
        .services
        .get_mut("other@file")
        .unwrap()
        .load_balancer = Some(other);
    s.set_config(&dynamic);

    let (_, _, body) = call(&s, "GET", "/api/http/services/app@file").await;
    let app = json_of(&body);
    assert_eq!(
        app["serverOrigins"],
        json!({
            "http://10.0.0.1:80": {"kind": "task", "task": "t0sk1d0123456789abcdefghi",
                "service": "st_app", "slot": 3, "node": "worker-2", "nodeId": "n2",
                "container": "c0ffee"},
            // No provider said where it came from.
            "http://10.0.0.2:80": {"kind": "configured"},
        })
    );
    // Traefik's fields keep their shape: URL → status, and no origin inside the servers.
    assert_eq!(
        app["serverStatus"],
        json!({"http://10.0.0.1:80": "UP", "http://10.0.0.2:80": "UP"})
    );
    assert_eq!(
        app["loadBalancer"]["servers"][0],
        json!({"url": "http://10.0.0.1:80"})
    );
    let (_, _, body) = call(&s, "GET", "/api/http/services/other%40file").await;
    assert_eq!(
        json_of(&body)["serverOrigins"],
        json!({"http://10.0.0.3:80": {"kind": "file", "file": "/etc/traefik/dynamic.yml"}})
    );
    // The list and rawdata carry it too.
    let (_, _, body) = call(&s, "GET", "/api/rawdata").await;
    assert_eq!(
        json_of(&body)["services"]["app@file"]["serverOrigins"]["http://10.0.0.1:80"]["slot"],
        3
    );
}
