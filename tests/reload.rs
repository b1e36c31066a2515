//! Hot reload: editing the dynamic file swaps the routing table without failing a request.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_dynamic_file_under_load_fails_no_request() {
    let (v1, v2) = (backend("v1").await, backend("v2").await);
    let gw = gateway(&route_yaml("PathPrefix(`/`)", &[v1.url()], "")).await;
    let url = gw.url("/load");

    // A bounded client loop at ~200 req/s (5 ms apart) for the whole test, on 4 connections.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut loops = Vec::new();
    for _ in 0..4 {
        let (stop, ok, failed, url) = (stop.clone(), ok.clone(), failed.clone(), url.clone());
        loops.push(tokio::spawn(async move {
            let c = client();
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while !stop.load(Ordering::SeqCst) && tokio::time::Instant::now() < deadline {
                tick.tick().await;
                let req = http::Request::get(&url).body(Default::default()).unwrap();
                match c.request(req).await {
                    Ok(resp) if resp.status() == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    // Swap the route's server, then the rule, then back, under load.
    gw.write_dynamic(&route_yaml("PathPrefix(`/`)", &[v2.url()], ""));
    let c = client();
    assert!(
        eventually(Duration::from_secs(5), || async {
            get(&c, &gw.url("/probe"), None)
                .await
                .body
                .starts_with("v2")
        })
        .await,
        "reload to v2 never took effect"
    );
    gw.write_dynamic(&route_yaml(
        "PathPrefix(`/l`) || PathPrefix(`/probe`)",
        &[v1.url(), v2.url()],
        "",
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    // A broken file keeps the last good table.
    gw.write_dynamic("http: [not valid");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let reply = get(&c, &gw.url("/load"), None).await;
    assert_eq!(
        reply.status, 200,
        "the last good table stays after a bad edit"
    );
    stop.store(true, Ordering::SeqCst);
    for l in loops {
        l.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    println!("requests during reloads: {ok} ok, {failed} failed");
    assert!(ok > 300, "the load loop ran ({ok})");
    assert_eq!(failed, 0);
    assert!(v1.hits() > 0 && v2.hits() > 0);
    let issues = gw.running.as_ref().unwrap().issues.load();
    assert!(!issues.is_empty(), "the bad edit is reported");
    gw.stop().await;
}

#[tokio::test]
async fn file_reloads_keep_working_next_to_an_inline_dynamic_section() {
    let (v1, v2) = (backend("v1").await, backend("v2").await);
    let inline = "\n[ping]\n[dynamic.http.routers.ping]\nrule = \"Path(`/ping`)\"\nservice = \"ping@internal\"\npriority = 1000\n";
    let gw = gateway_with(&route_yaml("PathPrefix(`/`)", &[v1.url()], ""), inline).await;
    let c = client();
    assert_eq!(get(&c, &gw.url("/ping"), None).await.body, "OK");
    gw.write_dynamic(&route_yaml("PathPrefix(`/`)", &[v2.url()], ""));
    assert!(
        eventually(Duration::from_secs(5), || async {
            get(&c, &gw.url("/x"), None).await.body.starts_with("v2")
        })
        .await,
        "the file reload took effect"
    );
    assert_eq!(get(&c, &gw.url("/ping"), None).await.body, "OK");
    gw.stop().await;
}
