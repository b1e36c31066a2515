//! DNS behind a UDP router, with real parts: two `dnsmasq` servers on 127.0.0.1 (each answering
//! `svc.test` with its own address) and `dig` as the client, through swarmgate; then the same
//! file configuration through the real Traefik (`TRAEFIK_BIN`): same answers, same sessions
//! (a client port keeps its server within `udp.timeout`, a new session after it).
//!
//! `#[ignore]`: needs dnsmasq and dig (and Traefik for the comparison); run by `.ci/test-all.sh`
//! (stage "udp dns").

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use support::*;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A dnsmasq on 127.0.0.1:`port` answering `svc.test` with `answer`, killed on drop.
fn dnsmasq(answer: &str) -> (u16, tokio::process::Child) {
    let port = free_udp_port();
    let child = tokio::process::Command::new("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--no-dhcp-interface=",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--user=",
            "--pid-file=",
            &format!("--port={port}"),
            &format!("--address=/svc.test/{answer}"),
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("dnsmasq starts (apt-get install dnsmasq)");
    (port, child)
}

/// `dig +short svc.test` at 127.0.0.1:`port`, from source port `from` when given: the address
/// answered, or an empty string when none came.
async fn dig(port: u16, from: Option<u16>) -> String {
    let mut args = vec![
        "@127.0.0.1".to_string(),
        "-p".to_string(),
        port.to_string(),
        "svc.test".to_string(),
        "A".to_string(),
        "+short".to_string(),
        "+tries=1".to_string(),
        "+time=2".to_string(),
    ];
    if let Some(from) = from {
        args.push("-b".to_string());
        args.push(format!("127.0.0.1#{from}"));
    }
    let out = tokio::process::Command::new("dig")
        .args(&args)
        .output()
        .await
        .expect("dig runs (apt-get install dnsutils)");
    // dig prints its errors ("communications error ... connection refused") on stdout too:
    // anything but one address is no answer.
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if text.parse::<std::net::Ipv4Addr>().is_ok() {
        text
    } else {
        String::new()
    }
}

fn dynamic(ports: &[u16]) -> String {
    let servers: String = ports
        .iter()
        .map(|p| format!("          - address: \"127.0.0.1:{p}\"\n"))
        .collect();
    format!(
        "udp:\n  routers:\n    dns:\n      entryPoints: [dns]\n      service: dns\n  services:\n    dns:\n      loadBalancer:\n        servers:\n{servers}"
    )
}

/// What a proxy on `port` does: answers of fresh clients, and the sessions of one client port.
#[derive(Debug, PartialEq, Eq)]
struct Behaviour {
    /// Answers to 6 digs from new source ports.
    answers: BTreeSet<String>,
    /// One source port, twice within the timeout: the same server.
    same_within_timeout: bool,
    /// The same source port again after the timeout: the other server (round robin).
    other_after_timeout: bool,
}

async fn observe(port: u16, timeout: Duration) -> Behaviour {
    let mut answers = BTreeSet::new();
    let mut lost = 0;
    for _ in 0..6 {
        let answer = dig(port, None).await;
        // A query lost on the way (no answer within dig's 2 s) is counted and printed, not
        // compared: UDP may drop a datagram; neither proxy lost one in our runs.
        match answer.parse::<std::net::Ipv4Addr>() {
            Ok(_) => {
                answers.insert(answer);
            }
            Err(_) => lost += 1,
        }
    }
    eprintln!("proxy on port {port}: {lost} of 6 queries lost");
    // Let the sessions of those digs end, so the next one starts a fresh round.
    tokio::time::sleep(timeout * 3).await;
    // The session checks are read from the first round in which no query was lost (a lost
    // query starts no comparable session: the next dig, 2 s later, finds it expired and the
    // round robin moved on), at most three rounds.
    let mut rounds = 0;
    let (first, again, later) = loop {
        rounds += 1;
        let from = free_udp_port();
        let first = dig(port, Some(from)).await;
        let again = dig(port, Some(from)).await;
        tokio::time::sleep(timeout * 3).await;
        let later = dig(port, Some(from)).await;
        let lossless = [&first, &again, &later].iter().all(|a| !a.is_empty());
        if lossless || rounds == 3 {
            break (first, again, later);
        }
        eprintln!("proxy on port {port}: a session-check query was lost, another round");
        tokio::time::sleep(timeout * 3).await;
    };
    Behaviour {
        answers,
        same_within_timeout: !first.is_empty() && first == again,
        other_after_timeout: !later.is_empty() && later != first,
    }
}

#[tokio::test]
#[ignore = "needs dnsmasq and dig; run by .ci/test-all.sh"]
async fn dig_through_a_udp_router_to_two_dnsmasq() {
    let (one, _a) = dnsmasq("10.53.0.1");
    let (two, _b) = dnsmasq("10.53.0.2");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Straight to each server first: both are up.
    assert_eq!(dig(one, None).await, "10.53.0.1");
    assert_eq!(dig(two, None).await, "10.53.0.2");
    let timeout = Duration::from_millis(400);
    let extra = format!(
        "[entryPoints.dns]\naddress = \"127.0.0.1:0/udp\"\n[entryPoints.dns.udp]\ntimeout = \"{}ms\"\n",
        timeout.as_millis()
    );
    let gw = gateway_with(&dynamic(&[one, two]), &extra).await;
    let port = gw.running.as_ref().unwrap().address("dns").unwrap().port();
    let seen = observe(port, timeout).await;
    let both: BTreeSet<String> = ["10.53.0.1", "10.53.0.2"].map(String::from).into();
    assert_eq!(seen.answers, both, "{seen:?}");
    assert!(seen.same_within_timeout, "{seen:?}");
    assert!(seen.other_after_timeout, "{seen:?}");
    gw.stop().await;
}

#[tokio::test]
#[ignore = "needs dnsmasq, dig and TRAEFIK_BIN (the real Traefik); run by .ci/test-all.sh"]
async fn traefik_gives_the_same_answers_and_sessions() {
    let bin = std::env::var("TRAEFIK_BIN").expect("TRAEFIK_BIN names the Traefik binary");
    let (one, _a) = dnsmasq("10.53.0.1");
    let (two, _b) = dnsmasq("10.53.0.2");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamic.yml");
    std::fs::write(&file, dynamic(&[one, two])).unwrap();
    let timeout = Duration::from_millis(400);

    let port = free_udp_port();
    let mut traefik = tokio::process::Command::new(bin)
        .args([
            format!("--entryPoints.dns.address=127.0.0.1:{port}/udp"),
            format!("--entryPoints.dns.udp.timeout={}ms", timeout.as_millis()),
            format!("--providers.file.filename={}", file.display()),
            "--log.level=ERROR".to_string(),
        ])
        .kill_on_drop(true)
        .spawn()
        .expect("Traefik starts");
    let ready = eventually(Duration::from_secs(20), || async move {
        !dig(port, None).await.is_empty()
    })
    .await;
    assert!(ready, "Traefik did not answer DNS within 20 s");
    let theirs = observe(port, timeout).await;
    let _ = traefik.kill().await;

    let extra = format!(
        "[entryPoints.dns]\naddress = \"127.0.0.1:0/udp\"\n[entryPoints.dns.udp]\ntimeout = \"{}ms\"\n",
        timeout.as_millis()
    );
    let gw = gateway_with(&dynamic(&[one, two]), &extra).await;
    let ours_port = gw.running.as_ref().unwrap().address("dns").unwrap().port();
    let ours = observe(ours_port, timeout).await;
    gw.stop().await;
    assert_eq!(ours, theirs);
    assert_eq!(ours.answers.len(), 2, "{ours:?}");
}
