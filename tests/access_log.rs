//! Issue 23 §3: Traefik's access-log knobs through a running swarmgate: `filters` (OR'd),
//! `fields.headers` (`request_`, `origin_`, `downstream_` keys), `addInternals`, and the file
//! reopened on SIGUSR1 (log rotation). Field modes are unit-tested in
//! `src/observe/access/tests.rs`; the same options against the real Traefik in
//! `tests/differential_access_log.rs`.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;

use support::{client, eventually, gateway_with, get};

/// `/slow` answers after 300 ms, `/missing` 404, anything else 200 (`x-origin: yes`).
async fn backend() -> std::net::SocketAddr {
    support::serve_fn(|req: Request<hyper::body::Incoming>| async move {
        let path = req.uri().path().to_string();
        if path == "/slow" {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let status = if path == "/missing" { 404 } else { 200 };
        Response::builder()
            .status(status)
            .header("x-origin", "yes")
            .header("set-cookie", "session=secret")
            .body(Full::new(Bytes::from_static(b"body")))
            .unwrap()
    })
    .await
}

fn dynamic(backend: std::net::SocketAddr) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [mark]
  middlewares:
    mark:
      headers:
        customResponseHeaders:
          X-Downstream: "added"
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://{backend}"
"#
    )
}

fn lines(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn paths(log: &std::path::Path) -> Vec<String> {
    lines(log)
        .iter()
        .map(|e| e["RequestPath"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Sends `paths` in order, then a last `/missing?end` and waits until it is logged.
async fn send_and_settle(gw: &support::Gateway, log: &std::path::Path, sent: &[&str]) {
    let c = client();
    for p in sent {
        get(&c, &gw.url(p), None).await;
    }
    get(&c, &gw.url("/missing?end"), None).await;
    let settled = eventually(Duration::from_secs(5), || {
        let log = log.to_path_buf();
        async move { paths(&log).iter().any(|p| p == "/missing?end") }
    })
    .await;
    assert!(settled, "{:?}", paths(log));
}

fn toml(log: &std::path::Path, extra: &str) -> String {
    format!(
        "[accessLog]\nformat = \"json\"\nfilePath = {:?}\n{extra}",
        log.display().to_string()
    )
}

#[tokio::test]
async fn filters_keep_a_request_when_any_of_them_holds() {
    let b = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra =
        "[accessLog.filters]\nstatusCodes = [\"404\", \"500-599\"]\nminDuration = \"200ms\"\n";
    let gw = gateway_with(&dynamic(b), &toml(&log, extra)).await;
    send_and_settle(&gw, &log, &["/fast", "/missing", "/slow", "/fast2"]).await;
    assert_eq!(paths(&log), ["/missing", "/slow", "/missing?end"]);
    gw.stop().await;
}

#[tokio::test]
async fn headers_are_written_by_their_mode_with_traefiks_prefixes() {
    let b = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let extra = "[accessLog.fields]\ndefaultMode = \"keep\"\n[accessLog.fields.names]\nClientHost = \"drop\"\n[accessLog.fields.headers]\ndefaultMode = \"drop\"\n[accessLog.fields.headers.names]\nuser-agent = \"keep\"\nAuthorization = \"redact\"\nX-Origin = \"keep\"\nX-Downstream = \"keep\"\nSet-Cookie = \"redact\"\n";
    let gw = gateway_with(&dynamic(b), &toml(&log, extra)).await;
    let req = Request::get(gw.url("/h"))
        .header("user-agent", "probe/2")
        .header("authorization", "Bearer secret")
        .header("x-other", "dropped")
        .body(Full::new(Bytes::new()))
        .unwrap();
    support::send(&client(), req).await;
    send_and_settle(&gw, &log, &[]).await;
    let e = lines(&log)
        .into_iter()
        .find(|e| e["RequestPath"] == "/h")
        .unwrap();
    assert_eq!(e["request_User-Agent"], "probe/2", "{e}");
    assert_eq!(e["request_Authorization"], "REDACTED", "{e}");
    assert!(e.get("request_X-Other").is_none(), "{e}");
    assert!(e.get("ClientHost").is_none(), "{e}");
    assert_eq!(
        e["ClientAddr"]
            .as_str()
            .map(|a| a.starts_with("127.0.0.1:")),
        Some(true)
    );
    // The service's head, before the headers middleware; the client's, after it.
    assert_eq!(e["origin_X-Origin"], "yes", "{e}");
    assert!(e.get("origin_X-Downstream").is_none(), "{e}");
    assert_eq!(e["origin_Set-Cookie"], "REDACTED", "{e}");
    assert_eq!(e["downstream_X-Downstream"], "added", "{e}");
    assert_eq!(e["downstream_X-Origin"], "yes", "{e}");
    gw.stop().await;
}

#[tokio::test]
async fn internal_routers_are_logged_only_with_add_internals() {
    let b = backend().await;
    for (add, want) in [
        (false, vec!["/missing?end"]),
        (true, vec!["/ping", "/missing?end"]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let extra = format!(
            "addInternals = {add}\n[ping]\n[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n"
        );
        let gw = gateway_with(&dynamic(b), &toml(&log, &extra)).await;
        let admin = gw.running.as_ref().unwrap().address("traefik").unwrap();
        let ping = get(&client(), &format!("http://{admin}/ping"), None).await;
        assert_eq!(ping.status, 200);
        send_and_settle(&gw, &log, &[]).await;
        assert_eq!(paths(&log), want, "addInternals = {add}");
        gw.stop().await;
    }
}

#[tokio::test]
async fn sigusr1_reopens_the_file_after_a_rotation() {
    let b = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let gw = gateway_with(&dynamic(b), &toml(&log, "")).await;
    send_and_settle(&gw, &log, &["/before"]).await;
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-USR1", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The writer reopens before its next line, or within a second when idle.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    send_and_settle(&gw, &log, &["/after"]).await;
    assert_eq!(paths(&log), ["/after", "/missing?end"]);
    assert_eq!(paths(&rotated), ["/before", "/missing?end"]);
    gw.stop().await;
}

/// Issue 23 §3: Traefik's `TLSVersion`, `TLSCipher` and `TLSClientSubject` (Go's
/// `pkix.Name.String()`) on requests over TLS, the subject only with a client certificate, none
/// of them over plain HTTP; `Overhead` is `Duration` minus `OriginDuration` (the time from
/// handing the request to the server on; 0 when no router matched).
#[tokio::test]
async fn tls_fields_and_overhead_are_traefiks() {
    let b = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (ca_pem, chain, key) = support::tls::client_pki();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let (cert, cert_key) = support::tls::write_cert(dir.path(), "server", &["mtls.test"]);
    let dynamic = format!(
        r#"http:
  routers:
    secure:
      rule: "Host(`mtls.test`)"
      service: app
      tls: {{ options: ifgiven }}
    plain:
      rule: "PathPrefix(`/`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://{b}"
tls:
  certificates:
    - certFile: "{cert}"
      keyFile: "{cert_key}"
  options:
    ifgiven:
      clientAuth: {{ caFiles: ["{ca}"], clientAuthType: VerifyClientCertIfGiven }}
"#,
        ca = ca_file.display()
    );
    let gw = gateway_with(&dynamic, &toml(&log, "")).await;
    let tls12 = [rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    let clients = [
        (
            "/mtls13",
            support::tls::client_with(&[], &[], Some((&chain, &key))),
        ),
        ("/anon13", support::tls::client_with(&[], &[], None)),
        (
            "/mtls12",
            support::tls::client_with(&[&rustls::version::TLS12], &tls12, Some((&chain, &key))),
        ),
    ];
    for (path, config) in clients {
        let stream = support::tls::connect(config, gw.addr, "mtls.test").await;
        let reply = support::tls::request(stream, "mtls.test", path).await;
        assert_eq!(reply.status, 200, "{path}");
    }
    send_and_settle(&gw, &log, &["/slow"]).await;
    let entries = lines(&log);
    let by_path = |p: &str| {
        entries
            .iter()
            .find(|e| e["RequestPath"] == p)
            .unwrap_or_else(|| panic!("no {p} in {entries:?}"))
            .clone()
    };
    let subject = support::tls::CLIENT_SUBJECT;
    for (path, version, cipher, subject) in [
        ("/mtls13", "1.3", "TLS_AES_128_GCM_SHA256", Some(subject)),
        ("/anon13", "1.3", "TLS_AES_128_GCM_SHA256", None),
        (
            "/mtls12",
            "1.2",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            Some(subject),
        ),
    ] {
        let e = by_path(path);
        assert_eq!(e["RequestScheme"], "https", "{e}");
        assert_eq!(e["TLSVersion"], version, "{e}");
        assert_eq!(e["TLSCipher"], cipher, "{e}");
        match subject {
            Some(s) => assert_eq!(e["TLSClientSubject"], s, "{e}"),
            None => assert!(e.get("TLSClientSubject").is_none(), "{e}"),
        }
    }
    let nanos = |e: &serde_json::Value, k: &str| {
        e[k].as_u64()
            .unwrap_or_else(|| panic!("{k} is no number: {e}"))
    };
    for path in ["/slow", "/missing?end"] {
        let e = by_path(path);
        for key in ["TLSVersion", "TLSCipher", "TLSClientSubject"] {
            assert!(e.get(key).is_none(), "{key} over plain HTTP: {e}");
        }
        assert_eq!(
            nanos(&e, "Overhead") + nanos(&e, "OriginDuration"),
            nanos(&e, "Duration"),
            "{e}"
        );
    }
    // The server took 300 ms: that is origin time, not overhead.
    let slow = by_path("/slow");
    assert!(nanos(&slow, "OriginDuration") >= 300_000_000, "{slow}");
    assert!(
        nanos(&slow, "Overhead") < nanos(&slow, "OriginDuration"),
        "{slow}"
    );
    gw.stop().await;
}

/// Fail closed: a field name that is not one of Traefik's, or a malformed status range, stops
/// `run` (and `check`) with where it was written and the nearest valid name.
#[test]
fn unknown_field_names_and_bad_ranges_are_static_errors() {
    for (arg, want) in [
        (
            "--accesslog.fields.names.ClientUsrname=drop",
            "unknown access-log field \"ClientUsrname\" (did you mean \"ClientUsername\"?)",
        ),
        (
            "--accesslog.filters.statuscodes=5xx",
            "status code range \"5xx\"",
        ),
    ] {
        for command in ["run", "check"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmgate"))
                .args([command, "--entrypoints.web.address=127.0.0.1:0", arg])
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(1), "{command} {arg}: {text}");
            assert!(text.contains("command-line arguments"), "{text}");
            assert!(text.contains(want), "{command} {arg}: {text}");
        }
    }
}
