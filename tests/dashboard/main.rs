//! The dashboard in a real browser (headless Chromium): lists, filters, detail pages reached by
//! their links, live traffic that moves under load, certificates, and a service shown down when
//! its servers are; then a user's click-through driven over the DevTools protocol (`cdp.rs`):
//! overview → router → service (its servers and their origins) → a filtered list → back, back.
//! Saves `target/dashboard-*.png` (paths printed) as artifacts.
//!
//! Needs `chromium` (Debian package); `#[ignore]`d, run by `.ci/test-all.sh`:
//! `cargo test --test dashboard -- --ignored`.
#![allow(clippy::unwrap_used)]

mod cdp;
#[path = "../support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use support::{backend, client, eventually, gateway_with, get};

/// Loads `url` in headless Chromium and returns the DOM after the page's scripts ran.
async fn chromium(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--virtual-time-budget=4000",
        "--window-size=1400,1100",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(url)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium timed out")
        .expect("chromium did not start (apt-get install chromium)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM once it contains every `want` (a cold browser start may render before the
/// first API poll finished: up to three loads).
async fn dom_with(url: &str, wants: &[String]) -> String {
    let mut dom = String::new();
    for _ in 0..3 {
        dom = chromium(url, &["--dump-dom"]).await;
        if wants.iter().all(|w| dom.contains(w.as_str())) {
            return dom;
        }
    }
    let missing: Vec<&String> = wants.iter().filter(|w| !dom.contains(w.as_str())).collect();
    panic!("missing {missing:?} in the page:\n{dom}");
}

/// Saves a screenshot of `url` as `target/dashboard-<name>.png` (a test artifact; its path is
/// printed) and checks it is a real picture.
async fn screenshot(url: &str, name: &str) {
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/dashboard-{name}.png"));
    let _ = std::fs::remove_file(&shot);
    chromium(url, &[&format!("--screenshot={}", shot.display())]).await;
    let png = std::fs::read(&shot).expect("no screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot too small"
    );
    println!("screenshot: {}", shot.display());
}

/// The number in `<b class="rps">N req/s</b>` of the entrypoint card `name` on the overview.
fn entrypoint_rps(dom: &str, name: &str) -> f64 {
    let card = dom
        .split(&format!(r#"data-entrypoint="{name}""#))
        .nth(1)
        .unwrap_or_else(|| panic!("no card for entrypoint {name}:\n{dom}"));
    let after = card.split(r#"<b class="rps">"#).nth(1).unwrap();
    let value = after.split(' ').next().unwrap();
    value.trim_end_matches('k').parse().unwrap()
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn dashboard_shows_routers_services_and_health() {
    let one = backend("one").await;
    let two = backend("two").await;
    let dynamic = format!(
        r#"http:
  routers:
    app:
      entryPoints: [web]
      rule: "Host(`app.local`) && PathPrefix(`/`)"
      service: app
      middlewares: [secure, tag]
    top:
      entryPoints: [web]
      rule: "Host(`top.local`)"
      service: app
      priority: 9223372036854775806
    broken:
      entryPoints: [web]
      rule: "Host(`broken.local`)"
      service: app
      middlewares: [missing]
  middlewares:
    secure:
      headers:
        frameDeny: true
    tag:
      headers:
        customResponseHeaders:
          X-Tag: "1"
  services:
    app:
      loadBalancer:
        healthCheck:
          path: /health
          interval: 100ms
          timeout: 500ms
        servers:
          - url: "{}"
          - url: "{}"
"#,
        one.url(),
        two.url()
    );
    let gw = gateway_with(
        &dynamic,
        "[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[api]\ninsecure = true\ndashboard = true\n",
    )
    .await;
    let admin = gw.running.as_ref().unwrap().address("traefik").unwrap();
    let page = format!("http://{admin}/dashboard/");
    let at = |hash: &str| format!("{page}#/{hash}");

    // Lists: routers (with their rule, middlewares and exact priority), services with servers.
    dom_with(
        &at("http/routers"),
        &[
            r#"data-name="app@file""#.to_string(),
            "Host(`app.local`) &amp;&amp; PathPrefix(`/`)".to_string(),
            "secure@file".to_string(),
            // Exactly, not rounded to 9223372036854775808 by a JavaScript number.
            "<td>9223372036854775806</td>".to_string(),
            // The router with an undefined middleware, with its error.
            r#"data-name="broken@file""#.to_string(),
            "missing@file".to_string(),
            "updated ".to_string(),
        ],
    )
    .await;
    dom_with(
        &at("http/services"),
        &[
            format!(r#"data-url="{}" data-status="UP""#, one.url()),
            format!(r#"data-url="{}" data-status="UP""#, two.url()),
            "api@internal".to_string(),
            r#"<span class="badge up">up</span>"#.to_string(),
        ],
    )
    .await;
    // Filters are deep links: only the routers whose rule names the host.
    let filtered = dom_with(&at("http/routers?host=top.local"), &["1 of ".to_string()]).await;
    assert!(
        filtered.contains(r#"data-name="top@file""#)
            && !filtered.contains(r#"data-name="app@file""#)
    );
    dom_with(
        &at("errors"),
        &["missing@file".to_string(), "broken@file".to_string()],
    )
    .await;

    // Numbers change under load: the overview shows the web entrypoint idle, then busy.
    let idle = dom_with(&page, &[r#"data-entrypoint="web""#.to_string()]).await;
    assert_eq!(entrypoint_rps(&idle, "web"), 0.0, "no traffic yet");
    let c = client();
    for i in 0..400u32 {
        let host = if i % 10 == 0 {
            "nowhere.local"
        } else {
            "app.local"
        };
        get(&c, &gw.url("/"), Some(host)).await;
    }
    let busy = dom_with(
        &page,
        &[
            r#"data-entrypoint="web""#.to_string(),
            "app@file".to_string(),
        ],
    )
    .await;
    let rps = entrypoint_rps(&busy, "web");
    assert!(rps > 0.0, "the overview did not count the load:\n{busy}");
    assert!(busy.contains("<polyline"), "no sparkline drawn");
    screenshot(&page, "overview").await;

    // Detail pages resolve from the links of the lists, each with its facts.
    let router = dom_with(
        &at("http/routers/app%40file"),
        &[
            r#"id="detail" data-kind="http/routers" data-name="app@file""#.to_string(),
            r##"href="#/http/services/app%40file""##.to_string(),
            r##"<li><a href="#/http/middlewares/secure%40file">secure@file</a></li><li><a href="#/http/middlewares/tag%40file">tag@file</a></li>"##.to_string(),
            r##"href="#/entrypoints/web""##.to_string(),
            "Live traffic".to_string(),
        ],
    )
    .await;
    assert!(
        router.contains(r#"data-total="360""#),
        "router detail counts 360 requests:\n{router}"
    );
    assert!(
        !router.contains("NaN"),
        "a number did not render:\n{router}"
    );
    screenshot(&at("http/routers/app%40file"), "router").await;
    // (The markers are written by the page when the object was found, not in its script.)
    for (hash, kind, name, want) in [
        (
            "http/middlewares/secure%40file",
            "http/middlewares",
            "secure@file",
            "frameDeny",
        ),
        (
            "entrypoints/web",
            "entrypoints",
            "web",
            "Routers on this entrypoint",
        ),
        (
            "http/services/app%40file",
            "http/services",
            "app@file",
            "Servers",
        ),
    ] {
        let found = format!(r#"id="detail" data-kind="{kind}" data-name="{name}""#);
        dom_with(&at(hash), &[found, want.to_string()]).await;
    }
    dom_with(
        &at("certificates"),
        &[r#"id="certificates""#.to_string(), "data-cert=".to_string()],
    )
    .await;
    screenshot(&at("certificates"), "certificates").await;

    // Backend two fails its health check; the API and then the page show it DOWN.
    two.health_status.store(503, Ordering::Relaxed);
    let api = format!("http://{admin}/api/http/services/app@file");
    let down = format!(r#""{}":"DOWN""#, two.url());
    assert!(
        eventually(Duration::from_secs(10), || {
            let (c, api, down) = (c.clone(), api.clone(), down.clone());
            async move { get(&c, &api, None).await.body.contains(&down) }
        })
        .await,
        "the API never reported the server down"
    );
    dom_with(
        &at("http/services"),
        &[
            format!(r#"data-url="{}" data-status="DOWN""#, two.url()),
            format!(r#"data-url="{}" data-status="UP""#, one.url()),
            r#"<span class="badge degraded">degraded</span>"#.to_string(),
        ],
    )
    .await;
    // Both down: the service itself shows down (not "enabled, 0 errors").
    one.health_status.store(503, Ordering::Relaxed);
    assert!(
        eventually(Duration::from_secs(10), || {
            let (c, api) = (c.clone(), api.clone());
            async move {
                get(&c, &api, None)
                    .await
                    .body
                    .contains(r#""health":"down""#)
            }
        })
        .await,
        "the API never reported the service down"
    );
    // Its failures are counted: every request now gets a 503.
    for _ in 0..20 {
        let reply = get(&c, &gw.url("/"), Some("app.local")).await;
        assert_eq!(reply.status.as_u16(), 503);
    }
    dom_with(
        &at("http/services"),
        &[r#"<span class="err failures">20 failures</span>"#.to_string()],
    )
    .await;
    dom_with(
        &at("http/services/app%40file"),
        &[
            r#"<span class="badge down">down</span>"#.to_string(),
            "20 answers 5xx in 5 min".to_string(),
            // Its recent failures, with their status.
            r#"class="recent-error" data-status="503""#.to_string(),
        ],
    )
    .await;
    screenshot(&at("http/services/app%40file"), "service").await;
    gw.stop().await;
}

/// The page's JSON reading keeps router priorities exact (issue 20 section 4): run its
/// `exactJson` (between the `exact-json` markers of the page) in Node on what the API writes.
#[test]
#[ignore = "needs node"]
fn dashboard_reads_large_priorities_exactly() {
    let page = include_str!("../../src/admin/dashboard/index.html");
    let begin = page
        .find("// exact-json begin")
        .expect("exact-json begin marker");
    let end = page
        .find("// exact-json end")
        .expect("exact-json end marker");
    let function = &page[begin..end];
    let api = serde_json::json!([
        {"name": "a@file", "priority": 9_223_372_036_854_775_806_i64, "rule": "Path(`/\"priority\":1`)"},
        {"name": "b@file", "priority": -3},
    ])
    .to_string();
    let script = format!(
        "{function}\nconst v = exactJson({api:?});\nprocess.stdout.write(v.map(r => `${{r.priority}}|${{r.rule || ''}}`).join('\\n'));"
    );
    let out = std::process::Command::new("node")
        .args(["-e", &script])
        .output()
        .expect("node runs (apt-get install nodejs)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "9223372036854775806|Path(`/\"priority\":1`)\n-3|"
    );
}

/// A user's path through the dashboard, in one browser over the DevTools protocol: from the
/// overview a click on a router, its page with its rule, a click through to its service, the
/// service's servers with where each came from, a search that narrows a list, and the browser's
/// back button bringing the previous pages (and their hashes) back. A screenshot per step.
#[tokio::test]
#[ignore = "needs chromium"]
async fn a_user_clicks_through_router_service_search_and_back() {
    let one = backend("one").await;
    let two = backend("two").await;
    let dynamic = format!(
        r#"http:
  routers:
    shop:
      entryPoints: [web]
      rule: "Host(`shop.local`) && PathPrefix(`/cart`)"
      service: shop
    blog:
      entryPoints: [web]
      rule: "Host(`blog.local`)"
      service: shop
    wiki:
      entryPoints: [web]
      rule: "Host(`wiki.local`)"
      service: shop
  services:
    shop:
      loadBalancer:
        servers:
          - url: "{}"
          - url: "{}"
"#,
        one.url(),
        two.url()
    );
    let gw = gateway_with(
        &dynamic,
        "[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[api]\ninsecure = true\ndashboard = true\n",
    )
    .await;
    let admin = gw.running.as_ref().unwrap().address("traefik").unwrap();
    // Traffic, so the overview lists the router among the busiest.
    let c = client();
    for _ in 0..20 {
        let reply = get(&c, &gw.url("/cart"), Some("shop.local")).await;
        assert_eq!(reply.status.as_u16(), 200);
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let shot = |n: &str| shots.join(format!("dashboard-click-{n}.png"));
    let mut b = cdp::Browser::launch().await;

    // 1. The overview, with the router among the busiest.
    b.goto(&format!("http://{admin}/dashboard/")).await;
    let router_link = r##"#top-routers a[href="#/http/routers/shop%40file"]"##;
    b.wait_for(
        "the busiest routers",
        &format!("!!document.querySelector({router_link:?})"),
    )
    .await;
    b.screenshot(&shot("1-overview")).await;

    // 2. A click on the router: its page, with its rule.
    b.click(router_link).await;
    let router_page =
        r#"document.querySelector('#detail[data-kind="http/routers"][data-name="shop@file"]')"#;
    let facts = b
        .wait_for("the router's page", &format!("{router_page}?.innerText"))
        .await;
    let facts = facts.as_str().unwrap();
    assert!(
        facts.contains("Host(`shop.local`) && PathPrefix(`/cart`)"),
        "{facts}"
    );
    assert_eq!(b.hash().await, "#/http/routers/shop%40file");
    b.screenshot(&shot("2-router")).await;

    // 3. Through to its service: both servers, each from the file that lists it.
    b.click(r##"#detail a[href="#/http/services/shop%40file"]"##)
        .await;
    let servers = b
        .wait_for(
            "the service's servers and their origins",
            r#"(() => { const rows = [...document.querySelectorAll('#servers tr.srv')];
                return rows.length === 2 && rows.every(r => r.querySelector('.origin'))
                  ? rows.map(r => [r.dataset.url, r.dataset.status, r.querySelector('.origin').dataset.kind,
                                   r.querySelector('.origin').innerText]) : null; })()"#,
        )
        .await;
    let file = gw.dynamic_file.display().to_string();
    for (row, url) in servers
        .as_array()
        .unwrap()
        .iter()
        .zip([one.url(), two.url()])
    {
        assert_eq!(row[0], url.as_str(), "{servers}");
        assert_eq!(row[1], "UP", "{servers}");
        assert_eq!(row[2], "file", "{servers}");
        assert_eq!(row[3], format!("file {file}").as_str(), "{servers}");
    }
    assert_eq!(b.hash().await, "#/http/services/shop%40file");
    b.screenshot(&shot("3-service")).await;

    // 4. The routers list, narrowed by its search box.
    b.click(r##"#nav a[href="#/http/routers"]"##).await;
    let rows = "document.querySelectorAll('#http-routers tbody tr[data-name]').length";
    let all = b.wait_for("the routers list", rows).await;
    let all = all.as_u64().unwrap();
    assert!(all >= 3, "{all} routers listed");
    b.type_into("#f-search", "wiki").await;
    b.wait_for(
        "the list narrowed to one router",
        &format!("{rows} === 1 && document.getElementById('f-count').textContent === '1 of {all}'"),
    )
    .await;
    let names = b
        .eval("[...document.querySelectorAll('#http-routers tbody tr[data-name]')].map(r => r.dataset.name)")
        .await;
    assert_eq!(names, serde_json::json!(["wiki@file"]));
    assert_eq!(b.hash().await, "#/http/routers?search=wiki");
    b.screenshot(&shot("4-search")).await;

    // 5. Back: the service's page again, then the router's.
    b.back().await;
    b.wait_for(
        "the service's page after back",
        "location.hash === '#/http/services/shop%40file' && \
         document.querySelectorAll('#servers tr.srv .origin').length === 2",
    )
    .await;
    b.screenshot(&shot("5-back-service")).await;
    b.back().await;
    let facts = b
        .wait_for(
            "the router's page after back",
            &format!("location.hash === '#/http/routers/shop%40file' && {router_page}?.innerText"),
        )
        .await;
    assert!(
        facts.as_str().unwrap().contains("PathPrefix(`/cart`)"),
        "{facts}"
    );
    b.screenshot(&shot("6-back-router")).await;
    gw.stop().await;
}

/// The service page's origin column (`serverOrigin`, between the `server-origin` markers of the
/// page) for what the Swarm provider records, run in Node: task, slot, node, container; a global
/// service's task; a virtual IP; a file.
#[test]
#[ignore = "needs node"]
fn dashboard_names_each_server_s_task_node_and_container() {
    let page = include_str!("../../src/admin/dashboard/index.html");
    let part = |from: &str, to: &str| {
        let begin = page.find(from).expect("begin marker");
        let end = begin + page[begin..].find(to).expect("end marker");
        page[begin..end].to_string()
    };
    let esc = part("function esc(v)", "function badge(");
    let origin = part("// server-origin begin", "// server-origin end");
    let service = serde_json::json!({
        "serverOrigins": {
            "http://10.0.1.5:80": {"kind": "task", "task": "t0sk1d0123456789abcdefghi", "service": "st_web",
                "slot": 2, "node": "worker-1", "nodeId": "n0de1", "container": "c0ffee0123456789abcdef"},
            "http://10.0.1.6:80": {"kind": "task", "task": "gl0bal0123456789", "service": "st_agent",
                "node": "n0de2"},
            "http://10.0.2.1:80": {"kind": "vip", "service": "st_web"},
            "http://127.0.0.1:81": {"kind": "file", "file": "/etc/traefik/dynamic.yml"},
        }
    });
    let script = format!(
        "{esc}\n{origin}\nconst s = {service};\n\
         process.stdout.write(Object.keys(s.serverOrigins).concat(['http://nowhere']).map(u => serverOrigin(s, u)).join('\\n'));"
    );
    let out = std::process::Command::new("node")
        .args(["-e", &script])
        .output()
        .expect("node runs (apt-get install nodejs)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8_lossy(&out.stdout);
    // Text as the page shows it (tags dropped).
    let text: Vec<String> = html
        .lines()
        .map(|l| {
            let mut t = String::new();
            let mut tag = false;
            for ch in l.chars() {
                match ch {
                    '<' => tag = true,
                    '>' => tag = false,
                    c if !tag => t.push(c),
                    _ => {}
                }
            }
            t
        })
        .collect();
    assert_eq!(
        text,
        [
            "Swarm task t0sk1d012345 of st_web slot 2 on node worker-1, container c0ffee012345",
            "Swarm task gl0bal012345 of st_agent (global) on node n0de2",
            "virtual IP of Swarm service st_web (lbswarm)",
            "file /etc/traefik/dynamic.yml",
            "configured",
        ]
    );
    // The full IDs stay in the page (data attribute, tooltip).
    assert!(html.contains(r#"data-task="t0sk1d0123456789abcdefghi""#));
    assert!(html.contains(r#"title="c0ffee0123456789abcdef""#));
}
