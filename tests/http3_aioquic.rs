//! HTTP/3 with a client of another QUIC stack, aioquic (`tests/h3/client.py`): `Alt-Svc` seen
//! over TLS first, then the port it names answers GET, a 1 MB POST and concurrent streams on one
//! connection; and side by side with the real Traefik 3.7 on the same configuration.
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
