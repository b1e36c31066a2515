//! HTTP/3 with a client of another QUIC stack, aioquic (`tests/h3/client.py`): `Alt-Svc` seen
//! over TLS first, then the port it names answers GET, a 1 MB POST and concurrent streams on one
//! connection; and side by side with the real Traefik 3.7 on the same configuration, including
//! per-host `tls.options` over QUIC (with the quinn client of `tests/support/h3.rs`).
//!
//! `#[ignore]`: needs `AIOQUIC_PYTHON` (a Python with aioquic; `.ci/test-all.sh` makes the venv)
//! and, for the comparison, `TRAEFIK_BIN`. Stages `http3` and `differential`.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::h3::{body_of, echo};
use support::tls::{free_port, secure_and_plain, tls_get, write_cert};

/// One response as the aioquic client printed it.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    length: usize,
    sha256: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Runs the aioquic client against UDP `port` with SNI `sni`; `requests` as `METHOD:PATH[:BYTES]`.
fn aioquic(port: u16, sni: &str, requests: &[&str]) -> Vec<Answer> {
    let python = std::env::var("AIOQUIC_PYTHON")
        .expect("AIOQUIC_PYTHON must name a Python with aioquic installed");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/h3/client.py");
    let out = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(sni)
        .args(requests)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aioquic client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The port `Alt-Svc: h3=":PORT"; ma=2592000` names.
fn alt_svc_port(value: &str) -> u16 {
    let rest = value.strip_prefix("h3=\":").unwrap();
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs AIOQUIC_PYTHON (a Python with aioquic)"]
async fn aioquic_follows_alt_svc_and_round_trips_get_post_and_concurrent_streams() {
    let dir = tempfile::tempdir().unwrap();
    let echo = echo().await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let gw = support::gateway_with(
        &secure_and_plain(&format!("http://{echo}"), &[cert]),
        "[entryPoints.web.http3]\n",
    )
    .await;
    let tcp = tls_get(gw.addr, "a.test", "/").await;
    let alt = tcp.headers["alt-svc"].to_str().unwrap().to_string();
    let port = alt_svc_port(&alt);
    assert_eq!(port, gw.addr.port());

    let mut requests = vec!["GET:/hello".to_string(), "POST:/upload:1048576".to_string()];
    requests.extend((0..8).map(|i| format!("GET:/c/{i}")));
    let answers = tokio::task::spawn_blocking(move || {
        let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
        aioquic(port, "a.test", &requests)
    })
    .await
    .unwrap();
    assert_eq!(answers.len(), 10);
    for a in &answers {
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.header("x-echo"), Some("yes"));
        assert_eq!(a.header("alt-svc"), None, "no Alt-Svc over HTTP/3 itself");
    }
    assert_eq!(answers[0].body, "", "the echo of a GET");
    assert_eq!(answers[1].length, 1024 * 1024);
    assert_eq!(answers[1].sha256, sha256_hex(&body_of(1024 * 1024)));
    gw.stop().await;
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TRAEFIK_BIN (the real Traefik 3.7) and AIOQUIC_PYTHON"]
async fn traefik_gives_the_same_alt_svc_and_h3_answers() {
    let dir = tempfile::tempdir().unwrap();
    let echo = echo().await;
    let cert = write_cert(dir.path(), "a", &["a.test"]);
    let dynamic = secure_and_plain(&format!("http://{echo}"), &[cert]);
    let file = dir.path().join("traefik.yml");
    std::fs::write(&file, &dynamic).unwrap();

    let bin = std::env::var("TRAEFIK_BIN")
        .expect("TRAEFIK_BIN must name the real Traefik 3.7 binary for this test");
    let port = free_port();
    let _traefik = Proc(
        Command::new(bin)
            .arg(format!("--entryPoints.web.address=127.0.0.1:{port}"))
            .arg("--entryPoints.web.http3=true")
            .arg(format!("--providers.file.filename={}", file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let up = support::eventually(Duration::from_secs(20), || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    assert!(up, "Traefik did not start");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gw = support::gateway_with(&dynamic, "[entryPoints.web.http3]\n").await;

    let traefik_addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut seen = Vec::new();
    for (who, addr) in [("traefik", traefik_addr), ("swarmgate", gw.addr)] {
        let tcp = tls_get(addr, "a.test", "/").await;
        let alt: Vec<String> = tcp
            .headers
            .get_all("alt-svc")
            .iter()
            .map(|v| {
                v.to_str()
                    .unwrap()
                    .replace(&addr.port().to_string(), "PORT")
            })
            .collect();
        let port = addr.port();
        let answers = tokio::task::spawn_blocking(move || {
            let mut a = aioquic(port, "a.test", &["GET:/x", "POST:/y:70000"]);
            a.extend(aioquic(port, "plain.test", &["GET:/"]));
            a
        })
        .await
        .unwrap();
        let summary: Vec<(u16, usize, String, Option<String>)> = answers
            .iter()
            .map(|a| {
                let body = if a.status == 200 {
                    a.sha256.clone()
                } else {
                    String::new()
                };
                (
                    a.status,
                    a.length,
                    body,
                    a.header("alt-svc").map(String::from),
                )
            })
            .collect();
        println!("{who}: Alt-Svc over TLS {alt:?}; HTTP/3 answers {summary:?}");
        seen.push((alt, summary));
    }
    assert_eq!(seen[0].0, ["h3=\":PORT\"; ma=2592000"]);
    assert_eq!(seen[0], seen[1], "swarmgate differs from Traefik");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TRAEFIK_BIN (the real Traefik 3.7)"]
async fn traefik_applies_the_same_tls_options_per_server_name_over_quic() {
    // The quinn client of `tests/http3.rs` against both proxies on one file: which handshakes
    // and requests succeed must match host by host.
    use rustls::crypto::ring::{cipher_suite, kx_group};
    use support::h3::{client_pki, per_host_options, quic_client, quic_status, PER_HOST_NAMES};
    let dir = tempfile::tempdir().unwrap();
    let pki = client_pki(dir.path());
    let backend = support::backend("app").await;
    let cert = write_cert(dir.path(), "hosts", PER_HOST_NAMES);
    let dynamic = per_host_options(&backend.url(), &cert, &pki.ca_file);
    let file = dir.path().join("traefik.yml");
    std::fs::write(&file, &dynamic).unwrap();
    let bin = std::env::var("TRAEFIK_BIN")
        .expect("TRAEFIK_BIN must name the real Traefik 3.7 binary for this test");
    let port = free_port();
    let _traefik = Proc(
        Command::new(bin)
            .arg(format!("--entryPoints.web.address=127.0.0.1:{port}"))
            .arg("--entryPoints.web.http3=true")
            .arg(format!("--providers.file.filename={}", file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let up = support::eventually(Duration::from_secs(20), || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    assert!(up, "Traefik did not start");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gw = support::gateway_with(&dynamic, "[entryPoints.web.http3]\n").await;

    let aes128 = [cipher_suite::TLS13_AES_128_GCM_SHA256];
    let aes256 = [cipher_suite::TLS13_AES_256_GCM_SHA384];
    let traefik_addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut seen = Vec::new();
    let mut announced = Vec::new();
    for (who, addr) in [("traefik", traefik_addr), ("swarmgate", gw.addr)] {
        let cases = [
            ("a.test", quic_client(&[], &[], None)),
            ("mtls.test", quic_client(&[], &[], None)),
            ("mtls.test", quic_client(&[], &[], Some(&pki.stranger))),
            ("mtls.test", quic_client(&[], &[], Some(&pki.client))),
            ("aes256.test", quic_client(&aes128, &[], None)),
            ("aes256.test", quic_client(&aes256, &[], None)),
            ("curves.test", quic_client(&[], &[kx_group::X25519], None)),
            (
                "curves.test",
                quic_client(&[], &[kx_group::SECP384R1], None),
            ),
            ("h1.test", quic_client(&[], &[], None)),
            ("unknown.test", quic_client(&[], &[], None)),
            ("tls12.test", quic_client(&[], &[], None)),
        ];
        let mut outcomes = Vec::new();
        for (sni, tls) in cases {
            let served = quic_status(addr, sni, tls).await.ok();
            let cert = (sni == "mtls.test" && served.is_some()).then(|| {
                backend.last_seen().headers["x-forwarded-tls-client-cert"]
                    .to_str()
                    .unwrap()
                    .len()
            });
            outcomes.push((sni, served, cert));
        }
        let tls12 = tls_get(addr, "tls12.test", "/").await;
        announced.push(tls12.headers.get("alt-svc").is_some());
        println!(
            "{who}: {outcomes:?}; Alt-Svc over TLS 1.2: {}",
            announced.last().unwrap()
        );
        seen.push(outcomes);
    }
    // Traefik announces HTTP/3 on tls12.test, whose QUIC handshakes both refuse; swarmgate sends
    // `Alt-Svc` on TLS 1.3 connections only.
    assert_eq!(announced, [true, false]);
    // One difference, the TCP side's (docs/tls.md, `cipherSuites`): Go ignores a TLS 1.3 suite
    // list, so Traefik serves AES-128 to aes256.test; swarmgate applies the list it was given.
    let index = 4;
    assert_eq!(seen[0][index], ("aes256.test", Some(200), None));
    assert_eq!(seen[1][index], ("aes256.test", None, None));
    seen[0][index].1 = None;
    assert_eq!(seen[0], seen[1], "swarmgate differs from Traefik");
    gw.stop().await;
}
