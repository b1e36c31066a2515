//! Broken configuration fails closed, end to end: a router that cannot be built keeps its place
//! (503, or 401 for basicAuth with a hash swarmgate cannot read) and its requests never reach the
//! lower-priority router beside it; the rest of the file is served, on start and on reload.

mod support;

use std::time::Duration;

use support::*;

/// The published-stack case: `Host(x) && PathPrefix(/prometheus/)` behind basicAuth, and a
/// `Host(x)` app router. One of each kind of breakage, all in one file.
fn stack(app: &str, prom: &str, auth_users: &str) -> String {
    format!(
        r#"
http:
  routers:
    app:
      rule: "Host(`x`)"
      service: app
    prom:
      rule: "Host(`x`) && PathPrefix(`/prometheus/`)"
      service: prom
      middlewares: [auth]
    fa:
      rule: "Host(`x`) && PathPrefix(`/admin/`)"
      service: prom
      middlewares: [forward]
    typo:
      rule: "Host(`x`) && PathPrefix(`/typo/`)"
      service: prom
      middelwares: [auth]
    missing:
      rule: "Host(`x`) && PathPrefix(`/missing/`)"
      service: nowhere
  middlewares:
    auth:
      basicAuth:
        users: [{auth_users}]
    forward:
      plugin:
        demo:
          answer: 42
  services:
    app:
      loadBalancer:
        servers: [{{url: "{app}"}}]
    prom:
      loadBalancer:
        servers: [{{url: "{prom}"}}]
"#
    )
}

/// A `$5$` (SHA-256 crypt) hash: a format swarmgate does not read.
const UNREADABLE: &str =
    r#""admin:$5$rounds=5000$salt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG""#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_router_never_falls_through_to_the_host_router() {
    let (app, prom) = (backend("app").await, backend("prom").await);
    let gw = gateway(&stack(&app.url(), &prom.url(), UNREADABLE)).await;
    let c = client();

    // The protected path: 401 (the user can never authenticate), never the app's 200.
    let r = get(&c, &gw.url("/prometheus/metrics"), Some("x")).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // An unsupported middleware, an unreadable router, an unknown service: closed, 503.
    for path in ["/admin/", "/typo/", "/missing/"] {
        let r = get(&c, &gw.url(path), Some("x")).await;
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert!(r.body.contains("configuration error"), "{path}: {}", r.body);
        assert!(
            !r.body.contains("plugin") && !r.body.contains("nowhere"),
            "{}",
            r.body
        );
    }
    // The rest of the file is served.
    let r = get(&c, &gw.url("/"), Some("x")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.trim(), "app");
    assert_eq!(prom.hits(), 0, "nothing reached the protected backend");
    assert_eq!(app.hits(), 1, "only `/` reached the app");

    // Every problem is listed, by name.
    let running = gw.running.as_ref().unwrap();
    let issues = running.issues.load();
    for name in [
        "fa@file",
        "typo@file",
        "missing@file",
        "forward@file",
        "auth@file",
    ] {
        assert!(issues.iter().any(|i| i.name == name), "{name}: {issues:?}");
    }
    let auth = issues.iter().find(|i| i.name == "auth@file").unwrap();
    assert!(auth.warning, "{auth}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_good_changes_beside_a_bad_element_and_a_fix() {
    let (app, prom) = (backend("app").await, backend("prom").await);
    let (app2, _) = (backend("app2").await, ());
    let gw = gateway(&stack(&app.url(), &prom.url(), UNREADABLE)).await;
    let c = client();
    // The app moves to another server in the same edit that keeps the broken elements.
    gw.write_dynamic(&stack(&app2.url(), &prom.url(), UNREADABLE));
    let moved = eventually(Duration::from_secs(5), || async {
        get(&c, &gw.url("/"), Some("x")).await.body.trim() == "app2"
    })
    .await;
    assert!(moved, "the good change was applied beside the bad elements");
    assert_eq!(get(&c, &gw.url("/admin/"), Some("x")).await.status, 503);

    // Fixing the hash (test:test, $apr1$) lets the user in, without a restart.
    let fixed = r#""test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/""#;
    gw.write_dynamic(&stack(&app2.url(), &prom.url(), fixed));
    let auth = "Basic dGVzdDp0ZXN0"; // test:test
    let let_in = eventually(Duration::from_secs(5), || async {
        let req = http::Request::get(gw.url("/prometheus/"))
            .header("host", "x")
            .header("authorization", auth)
            .body(Default::default())
            .unwrap();
        send(&c, req).await.body.trim() == "prom"
    })
    .await;
    assert!(let_in, "the fixed users line was picked up");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_users_file_answers_401_until_it_appears() {
    let (app, prom) = (backend("app").await, backend("prom").await);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("htpasswd");
    let yaml = format!(
        r#"
http:
  routers:
    app:
      rule: "Host(`x`)"
      service: app
    prom:
      rule: "Host(`x`) && PathPrefix(`/prometheus/`)"
      service: prom
      middlewares: [auth]
  middlewares:
    auth:
      basicAuth:
        usersFile: "{}"
  services:
    app:
      loadBalancer:
        servers: [{{url: "{}"}}]
    prom:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        secret.display(),
        app.url(),
        prom.url()
    );
    let gw = gateway(&yaml).await;
    let c = client();
    let authorized = |path: &'static str| {
        http::Request::get(gw.url(path))
            .header("host", "x")
            .header("authorization", "Basic dGVzdDp0ZXN0")
            .body(Default::default())
            .unwrap()
    };
    assert_eq!(send(&c, authorized("/prometheus/")).await.status, 401);
    assert_eq!(get(&c, &gw.url("/"), Some("x")).await.status, 200);
    let issues = gw.running.as_ref().unwrap().issues.load();
    let missing = issues
        .iter()
        .find(|i| i.name == "auth@file")
        .expect("reported");
    assert!(
        !missing.warning && missing.message.contains("usersFile"),
        "{missing}"
    );
    drop(issues);

    // The secret is mounted: the middleware lets its users in, with no edit of the dynamic file.
    std::fs::write(&secret, "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\n").unwrap();
    let let_in = eventually(Duration::from_secs(5), || async {
        send(&c, authorized("/prometheus/")).await.status == 200
    })
    .await;
    assert!(let_in, "the users file was read once it appeared");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_closed_routers_as_disabled() {
    let (app, prom) = (backend("app").await, backend("prom").await);
    let gw = gateway_with(
        &stack(&app.url(), &prom.url(), UNREADABLE),
        "\n[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n\n[api]\ninsecure = true\n",
    )
    .await;
    let running = gw.running.as_ref().unwrap();
    let api = running.address("traefik").expect("api entrypoint");
    let c = client();
    let r = get(&c, &format!("http://{api}/api/http/routers"), None).await;
    let routers: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let find = |name: &str| {
        routers
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} listed: {routers}"))
    };
    for name in ["fa@file", "typo@file", "missing@file"] {
        let r = find(name);
        assert_eq!(r["status"], "disabled", "{r}");
        assert_eq!(r["closed"], true, "{r}");
        assert!(r["error"].as_array().is_some_and(|e| !e.is_empty()), "{r}");
    }
    assert_eq!(find("app@file")["status"], "enabled");
    let r = get(&c, &format!("http://{api}/api/http/middlewares"), None).await;
    let mws: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let forward = mws
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "forward@file");
    assert_eq!(
        forward.map(|m| m["status"].clone()),
        Some("disabled".into()),
        "{mws}"
    );
    gw.stop().await;
}

/// Entrypoints as Traefik's: the default entrypoints of a router without `entryPoints` (never the
/// `traefik` one, only `asDefault` ones when marked), and an entrypoint that cannot start takes
/// down only itself (issue 26 points 2 and 4).
#[allow(clippy::unwrap_used)]
mod entrypoints {
    use crate::support::{backend, client, get};
    use swarmgate::app::StartOptions;
    use swarmgate::config::{Element, StaticConfig};

    fn dynamic(backend_url: &str) -> String {
        format!(
            r#"http:
      routers:
        app:
          rule: "Host(`a.test`)"
          service: app
      services:
        app:
          loadBalancer:
            servers:
              - url: "{backend_url}"
    "#
        )
    }

    async fn start(
        static_toml: &str,
        dynamic_yaml: &str,
    ) -> (swarmgate::app::Running, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dynamic.yml");
        std::fs::write(&file, dynamic_yaml).unwrap();
        let text = format!(
            "{static_toml}\n[providers.file]\nfilename = {:?}\n",
            file.display().to_string()
        );
        let cfg: StaticConfig = toml::from_str(&text).unwrap();
        let running = swarmgate::app::start(cfg, StartOptions::default())
            .await
            .unwrap();
        (running, dir)
    }

    #[tokio::test]
    async fn a_router_without_entrypoints_is_not_served_on_the_traefik_entrypoint() {
        let b = backend("app").await;
        let (running, _dir) = start(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[ping]\n",
            &dynamic(&b.url()),
        )
        .await;
        let c = client();
        let web = running.address("web").unwrap();
        let internal = running.address("traefik").unwrap();
        let on_web = get(&c, &format!("http://{web}/"), Some("a.test")).await;
        assert_eq!(on_web.status, 200);
        let on_internal = get(&c, &format!("http://{internal}/"), Some("a.test")).await;
        assert_eq!(on_internal.status, 404, "{}", on_internal.body);
        assert_eq!(
            get(&c, &format!("http://{internal}/ping"), None)
                .await
                .status,
            200
        );
        running.shutdown().await;
    }

    #[tokio::test]
    async fn with_as_default_only_the_marked_entrypoints_serve_such_routers() {
        let b = backend("app").await;
        let (running, _dir) = start(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[entryPoints.websecure]\naddress = \"127.0.0.1:0\"\nasDefault = true\n",
            &dynamic(&b.url()),
        )
        .await;
        let c = client();
        let web = running.address("web").unwrap();
        let marked = running.address("websecure").unwrap();
        assert_eq!(
            get(&c, &format!("http://{marked}/"), Some("a.test"))
                .await
                .status,
            200
        );
        assert_eq!(
            get(&c, &format!("http://{web}/"), Some("a.test"))
                .await
                .status,
            404
        );
        running.shutdown().await;
    }

    /// Traefik 3.7.15 exits at start on the first of these (`error while building entryPoint busy:
    /// … address already in use`); swarmgate reports each broken entrypoint and serves the rest.
    #[tokio::test]
    async fn an_entrypoint_that_cannot_bind_takes_down_only_itself() {
        let b = backend("app").await;
        let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = occupied.local_addr().unwrap();
        // A UDP entrypoint serves now; one whose port is taken does not.
        let occupied_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp_port = occupied_udp.local_addr().unwrap().port();
        let static_toml = format!(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n\
             [entryPoints.busy]\naddress = \"{busy}\"\n\
             [entryPoints.unassigned]\naddress = \"192.0.2.1:8080\"\n\
             [entryPoints.dns]\naddress = \"127.0.0.1:{udp_port}/udp\"\n"
        );
        let (running, _dir) = start(&static_toml, &dynamic(&b.url())).await;
        let web = running.address("web").unwrap();
        assert_eq!(
            get(&client(), &format!("http://{web}/"), Some("a.test"))
                .await
                .status,
            200
        );
        for name in ["busy", "unassigned", "dns"] {
            assert!(running.address(name).is_none(), "{name} should not listen");
            let issues = running.issues.load();
            let found = issues
                .iter()
                .find(|i| i.element == Element::EntryPoint && i.name == name);
            let found = found.unwrap_or_else(|| panic!("no issue for {name}: {issues:?}"));
            assert!(found.message.contains("not started"), "{}", found.message);
        }
        // The issues stay listed after a reload.
        let issues = running.issues.load();
        assert!(
            issues
                .iter()
                .any(|i| i.name == "busy" && i.message.contains(&busy.to_string())),
            "{issues:?}"
        );
        running.shutdown().await;
        drop(occupied);
        drop(occupied_udp);
    }

    #[tokio::test]
    async fn start_fails_when_no_entrypoint_can_start() {
        let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = occupied.local_addr().unwrap();
        let cfg: StaticConfig =
            toml::from_str(&format!("[entryPoints.busy]\naddress = \"{busy}\"\n")).unwrap();
        let error = match swarmgate::app::start(cfg, StartOptions::default()).await {
            Ok(_) => panic!("started with no entrypoint"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("busy"), "{error}");
    }
}
