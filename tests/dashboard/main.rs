//! The dashboard in a real browser (headless Chromium): it lists routers and services, and shows
//! a server going DOWN when its health check fails. Saves `target/dashboard.png`.
//!
//! Needs `chromium` (Debian package); `#[ignore]`d, run by `.ci/test-all.sh`:
//! `cargo test --test dashboard -- --ignored`.
#![allow(clippy::unwrap_used)]

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
      middlewares: [secure]
    top:
      entryPoints: [web]
      rule: "Host(`top.local`)"
      service: app
      priority: 9223372036854775806
  middlewares:
    secure:
      headers:
        frameDeny: true
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

    dom_with(
        &page,
        &[
            r#"data-name="app@file""#.to_string(),
            "Host(`app.local`) &amp;&amp; PathPrefix(`/`)".to_string(),
            "secure@file".to_string(),
            format!(r#"data-url="{}" data-status="UP""#, one.url()),
            format!(r#"data-url="{}" data-status="UP""#, two.url()),
            "api@internal".to_string(),
            "updated ".to_string(),
            // Exactly, not rounded to 9223372036854775808 by a JavaScript number.
            "<td>9223372036854775806</td>".to_string(),
        ],
    )
    .await;

    // Backend two fails its health check; the API and then the page show it DOWN.
    two.health_status.store(503, Ordering::Relaxed);
    let c = client();
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
        &page,
        &[
            format!(r#"data-url="{}" data-status="DOWN""#, two.url()),
            format!(r#"data-url="{}" data-status="UP""#, one.url()),
        ],
    )
    .await;

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&page, &[&format!("--screenshot={}", shot.display())]).await;
    let png = std::fs::read(&shot).expect("no screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot too small"
    );
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
