//! TCP routers side by side with the real Traefik 3.7 on the same dynamic file: which router
//! answers a TLS connection (HTTPS vs TCP precedence, by the certificate presented), and a 10 MB
//! echo whose client half-closes (swarmgate returns every byte; Traefik's count is printed).
//! `#[ignore]`: needs `TRAEFIK_BIN`; run by `.ci/test-all.sh` in the differential stage.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::tcp::{echo, precedence_dynamic, round_trip, tcp_service, tls_echo};
use support::tls::{connect, free_port, insecure_config, leaf_names, write_cert};
use support::{backend, eventually, gateway_with};
use tokio::net::TcpStream;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Traefik with entrypoints `web` and `second` on free ports and a file provider on `dynamic`.
async fn traefik(dynamic: &std::path::Path) -> (Proc, u16, u16) {
    let bin = std::env::var("TRAEFIK_BIN")
        .expect("TRAEFIK_BIN must name the real Traefik 3.7 binary for this test");
    let (web, second) = (free_port(), free_port());
    let child = Command::new(bin)
        .arg(format!("--entryPoints.web.address=127.0.0.1:{web}"))
        .arg(format!("--entryPoints.second.address=127.0.0.1:{second}"))
        .arg(format!("--providers.file.filename={}", dynamic.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for port in [web, second] {
        let up = eventually(Duration::from_secs(20), || async move {
            TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
        assert!(up, "Traefik did not start");
    }
    // Let the file provider's configuration land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    (Proc(child), web, second)
}

/// Who answered a TLS connection with `sni`: the backend (passthrough) or the edge.
async fn answered_by(port: u16, sni: &'static str) -> &'static str {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let tls = connect(insecure_config(&[]), addr, sni).await;
    match leaf_names(&tls).as_slice() {
        [only] if only == "backend.test" => "tcp",
        _ => "https",
    }
}

#[tokio::test]
#[ignore = "needs TRAEFIK_BIN (the real Traefik 3.7)"]
async fn https_and_tcp_precedence_matches_traefik() {
    let dir = tempfile::tempdir().unwrap();
    let backend_addr = tls_echo(dir.path(), &["backend.test"]).await;
    let app = backend("app").await;
    let cert = write_cert(dir.path(), "edge", &["both.test", "only.test", "edge.test"]);
    let dynamic = precedence_dynamic(&app.url(), backend_addr, &cert);
    let file = dir.path().join("dynamic.yml");
    std::fs::write(&file, &dynamic).unwrap();
    let (_traefik, t_web, t_second) = traefik(&file).await;
    let extra = "[entryPoints.second]\naddress = \"127.0.0.1:0\"\n";
    let gw = gateway_with(&dynamic, extra).await;
    let running = gw.running.as_ref().unwrap();
    let (s_web, s_second) = (gw.addr.port(), running.address("second").unwrap().port());
    let cases = [
        ("web", "both.test"),
        ("web", "tcp.test"),
        ("web", "other.test"),
        ("second", "only.test"),
        ("second", "x.test"),
    ];
    let mut traefik = Vec::new();
    let mut ours = Vec::new();
    for (ep, sni) in cases {
        let (t, s) = match ep {
            "web" => (t_web, s_web),
            _ => (t_second, s_second),
        };
        traefik.push((ep, sni, answered_by(t, sni).await));
        ours.push((ep, sni, answered_by(s, sni).await));
    }
    println!("traefik:   {traefik:?}\nswarmgate: {ours:?}");
    assert_eq!(ours, traefik);
    assert_eq!(
        ours.iter().map(|c| c.2).collect::<Vec<_>>(),
        ["https", "tcp", "https", "https", "tcp"]
    );
    gw.stop().await;
}

#[tokio::test]
#[ignore = "needs TRAEFIK_BIN (the real Traefik 3.7)"]
async fn a_half_closed_10_mb_echo_comes_back_whole_through_swarmgate() {
    let echo = echo().await;
    let dynamic = format!(
        "tcp:\n  routers:\n    all:\n      rule: \"HostSNI(`*`)\"\n      service: echo\n  services:\n{}",
        tcp_service("echo", &[echo.to_string()])
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamic.yml");
    std::fs::write(&file, &dynamic).unwrap();
    let (_traefik, t_web, _) = traefik(&file).await;
    let gw = gateway_with(&dynamic, "").await;
    let big: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let through_traefik = round_trip(
        TcpStream::connect(("127.0.0.1", t_web)).await.unwrap(),
        &big,
    )
    .await;
    let through_us = round_trip(TcpStream::connect(gw.addr).await.unwrap(), &big).await;
    println!(
        "10 MB echo, client half-closes: traefik returned {} bytes, swarmgate {} of {}",
        through_traefik.len(),
        through_us.len(),
        big.len()
    );
    assert!(through_us == big);
    gw.stop().await;
}
