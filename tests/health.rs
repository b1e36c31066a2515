//! Active health checks take a server out of rotation and back; health survives reloads.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use support::*;

fn health_yaml(servers: &[String]) -> String {
    route_yaml(
        "PathPrefix(`/`)",
        servers,
        "        healthCheck:\n          path: /health\n          interval: 100ms\n          timeout: 500ms\n",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhealthy_server_leaves_rotation_and_comes_back() {
    let (a, b) = (backend("a").await, backend("b").await);
    let gw = gateway(&health_yaml(&[a.url(), b.url()])).await;
    let c = client();

    b.health_status.store(503, Ordering::SeqCst);
    // Once the check has seen it, every request goes to `a`.
    assert!(
        eventually(Duration::from_secs(5), || async {
            let before = b.hits();
            for _ in 0..10 {
                assert_eq!(get(&c, &gw.url("/"), None).await.status, 200);
            }
            b.hits() == before
        })
        .await,
        "b never left rotation"
    );

    // A reload with the same servers keeps the health state (b stays out).
    let mut edited = health_yaml(&[a.url(), b.url()]);
    edited.push_str("# touched\n");
    gw.write_dynamic(&edited);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = b.hits();
    for _ in 0..20 {
        assert_eq!(get(&c, &gw.url("/"), None).await.status, 200);
    }
    assert_eq!(b.hits(), before, "health state survived the reload");

    b.health_status.store(200, Ordering::SeqCst);
    assert!(
        eventually(Duration::from_secs(5), || async {
            let before = b.hits();
            for _ in 0..4 {
                get(&c, &gw.url("/"), None).await;
            }
            b.hits() > before
        })
        .await,
        "b never came back"
    );
    gw.stop().await;
}

#[tokio::test]
async fn all_servers_unhealthy_gives_503() {
    let a = backend("a").await;
    let gw = gateway(&health_yaml(&[a.url()])).await;
    a.health_status.store(500, Ordering::SeqCst);
    let c = client();
    assert!(
        eventually(Duration::from_secs(5), || async {
            get(&c, &gw.url("/"), None).await.status == 503
        })
        .await
    );
    gw.stop().await;
}

#[tokio::test]
async fn sticky_cookie_pins_a_client_to_one_server() {
    let (a, b) = (backend("a").await, backend("b").await);
    let gw = gateway(&route_yaml(
        "PathPrefix(`/`)",
        &[a.url(), b.url()],
        "        sticky:\n          cookie:\n            name: sg\n            httpOnly: true\n",
    ))
    .await;
    let c = client();
    let first = get(&c, &gw.url("/"), None).await;
    let set_cookie = first.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.starts_with("sg=") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let pinned = first.body.lines().next().unwrap().to_string();
    for _ in 0..10 {
        let req = http::Request::get(gw.url("/"))
            .header("cookie", &cookie)
            .body(Default::default())
            .unwrap();
        let reply = send(&c, req).await;
        assert_eq!(reply.body.lines().next().unwrap(), pinned);
        assert!(
            reply.headers.get("set-cookie").is_none(),
            "a valid cookie is not re-set"
        );
    }
    gw.stop().await;
}
