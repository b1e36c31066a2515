use std::sync::Arc;

use arc_swap::ArcSwap;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use super::views::Filter;
use super::*;

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
}
