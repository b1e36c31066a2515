//! errors through a running swarmgate: caught statuses get the error service's page with the
//! original status; others pass untouched; an unknown error service disables its routers only.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::{backend, client, gateway, get, serve_fn};

/// A backend answering `/status/<code>` with that code and body `main <code>`.
async fn main_backend() -> SocketAddr {
    serve_fn(|req: Request<hyper::body::Incoming>| async move {
        let code = req
            .uri()
            .path()
            .strip_prefix("/status/")
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(200);
        Response::builder()
            .status(code)
            .header("content-type", "text/x-main")
            .header("x-main", "yes")
            .body(Full::new(Bytes::from(format!("main {code}"))))
            .unwrap()
    })
    .await
}

fn yaml(main: SocketAddr, pages_url: &str, errors: &str) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [pages]
  middlewares:
    pages:
      errors:
{errors}
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://{main}"
    error-pages:
      loadBalancer:
        servers:
          - url: "{pages_url}"
"#
    )
}

#[tokio::test]
async fn caught_statuses_get_the_error_page_with_the_original_status() {
    let main = main_backend().await;
    let pages = backend("pages").await;
    let errors = "        status: [\"404\", \"500-599\"]\n        service: error-pages\n        query: \"/{status}.html\"";
    let gw = gateway(&yaml(main, &pages.url(), errors)).await;
    let c = client();

    for code in [404u16, 500, 503] {
        let r = get(
            &c,
            &gw.url(&format!("/status/{code}")),
            Some("shop.example"),
        )
        .await;
        assert_eq!(r.status.as_u16(), code);
        assert!(r.body.starts_with("pages"), "{code}: {}", r.body);
        assert_eq!(r.headers["x-backend"], "pages");
        assert!(r.headers.get("x-main").is_none());
        let seen = pages.last_seen();
        assert_eq!(seen.method, "GET");
        assert_eq!(seen.uri, format!("/{code}.html"));
        assert_eq!(seen.headers["host"], "shop.example", "original Host");
    }
    assert_eq!(pages.hits(), 3);

    // Not caught: untouched, and the error service is not asked.
    for code in [200u16, 403, 302] {
        let r = get(&c, &gw.url(&format!("/status/{code}")), None).await;
        assert_eq!(r.status.as_u16(), code);
        assert_eq!(r.body, format!("main {code}"));
        assert_eq!(r.headers["content-type"], "text/x-main");
    }
    assert_eq!(pages.hits(), 3);
    gw.stop().await;
}

#[tokio::test]
async fn query_placeholders_and_status_rewrites() {
    let main = main_backend().await;
    let pages = backend("pages").await;
    let errors = "        status: [\"500-599\"]\n        statusRewrites:\n          \"502-504\": 500\n        service: error-pages\n        query: \"errors/{status}?was={originalStatus}&url={url}\"";
    let gw = gateway(&yaml(main, &pages.url(), errors)).await;
    let c = client();

    let r = get(&c, &gw.url("/status/503?x=1"), None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "rewritten");
    assert!(r.body.starts_with("pages"));
    assert_eq!(
        pages.last_seen().uri,
        "/errors/500?was=503&url=%2Fstatus%2F503%3Fx%3D1"
    );
    let r = get(&c, &gw.url("/status/501"), None).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "not rewritten");
    assert_eq!(
        pages.last_seen().uri,
        "/errors/501?was=501&url=%2Fstatus%2F501"
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_unreachable_error_service_leaves_the_original_response() {
    let main = main_backend().await;
    let errors = "        status: [\"500-599\"]\n        service: error-pages\n        query: \"/{status}.html\"";
    // Nothing listens on port 1.
    let gw = gateway(&yaml(main, "http://127.0.0.1:1", errors)).await;
    let r = get(&client(), &gw.url("/status/500"), None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, "main 500");
    assert_eq!(r.headers["x-main"], "yes");
    gw.stop().await;
}

#[tokio::test]
async fn an_unknown_error_service_disables_only_the_routers_using_it() {
    let main = main_backend().await;
    let pages = backend("pages").await;
    let errors = "        status: [\"500-599\"]\n        service: nowhere\n        query: \"/{status}.html\"";
    let mut y = yaml(main, &pages.url(), errors);
    y = y.replace(
        "  middlewares:\n",
        "    other:\n      rule: \"PathPrefix(`/other`)\"\n      service: app\n  middlewares:\n",
    );
    let gw = gateway(&y).await;
    let c = client();
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(
        issues.iter().any(|i| i.name == "app@file"
            && i.message.contains("pages@file")
            && i.message.contains("nowhere@file")
            && i.message.contains("does not exist")),
        "{issues:?}"
    );
    assert_eq!(
        get(&c, &gw.url("/status/500"), None).await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the router using the broken middleware is held closed"
    );
    let r = get(&c, &gw.url("/other"), None).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "main 200"));
    gw.stop().await;
}
