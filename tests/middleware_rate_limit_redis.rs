//! `rateLimit.redis` end to end: a real `redis-server` (Debian package `redis-server`) started
//! on a free port, two swarmgate processes (the real binary) sharing one limit through it, and
//! the real Traefik 3.7 sharing the same buckets with swarmgate (same key, same script).
//! `#[ignore]`: needs the package (and `TRAEFIK_BIN` for the Traefik test); run by
//! `.ci/test-all.sh` in the stage "rateLimit shared through a real redis".
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn redis(port: u16) -> Proc {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (apt-get install redis-server)");
    let up = eventually(Duration::from_secs(10), || async {
        TcpStream::connect(("127.0.0.1", port)).await.is_ok()
    })
    .await;
    assert!(up, "redis-server did not start");
    Proc(child)
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One HTTP/1.1 request on a fresh connection: (status, head).
async fn request(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    (
        text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0),
        text,
    )
}

fn dynamic(dir: &Path, backend: &str, redis_port: u16) -> PathBuf {
    // 2 per minute with a burst of 4: four requests pass in all, then the wait (~30 s) is far
    // beyond maxDelay (500 ms) and the answer is 429.
    let yaml = format!(
        r#"http:
  routers:
    probe:
      rule: "Path(`/probe`)"
      priority: 1000
      service: app
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [limit]
  middlewares:
    limit:
      rateLimit:
        average: 2
        period: 1m
        burst: 4
        redis:
          endpoints: ["127.0.0.1:{redis_port}"]
          dialTimeout: 2s
  services:
    app:
      loadBalancer:
        servers:
          - url: "{backend}"
"#
    );
    let path = dir.join("dynamic.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Waits until the proxy serves its configuration (the unlimited `/probe` route answers).
async fn ready(port: u16) {
    let up = eventually(Duration::from_secs(20), || async {
        TcpStream::connect(("127.0.0.1", port)).await.is_ok()
            && request(port, "/probe").await.0 == 200
    })
    .await;
    assert!(up, "proxy on {port} did not start");
}

/// A proxy binary these tests start.
#[derive(Clone, Copy)]
enum Bin {
    Swarmgate,
    /// The real Traefik 3.7, named by `TRAEFIK_BIN`.
    Traefik,
}

/// `bin` serving `dynamic` on `port`, with the same command line arguments for both.
fn proxy(bin: Bin, port: u16, dynamic: &Path) -> Proc {
    let mut command = match bin {
        Bin::Swarmgate => {
            let mut command = Command::new(env!("CARGO_BIN_EXE_swarmgate"));
            command.arg("run");
            command
        }
        Bin::Traefik => Command::new(
            std::env::var("TRAEFIK_BIN")
                .expect("TRAEFIK_BIN must name the real Traefik 3.7 binary for this test"),
        ),
    };
    Proc(
        command
            .arg(format!("--entryPoints.web.address=127.0.0.1:{port}"))
            .arg(format!("--providers.file.filename={}", dynamic.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// One backend, one redis and two proxies serving the same dynamic file, both ready. Bind every
/// field when taking it apart: a field left in the value is dropped (its process killed) at once.
struct Shared {
    be: Backend,
    redis_port: u16,
    store: Proc,
    /// The two proxies' ports, in the order asked.
    ports: (u16, u16),
    /// Backend hits before the test's own requests (the readiness probes).
    probes: usize,
    _proxies: (Proc, Proc),
    _dir: tempfile::TempDir,
}

async fn shared(first: Bin, second: Bin) -> Shared {
    let be = backend("app").await;
    let redis_port = free_port();
    let store = redis(redis_port).await;
    let dir = tempfile::tempdir().unwrap();
    let dynamic = dynamic(dir.path(), &be.url(), redis_port);
    let ports = (free_port(), free_port());
    let proxies = (
        proxy(first, ports.0, &dynamic),
        proxy(second, ports.1, &dynamic),
    );
    ready(ports.0).await;
    ready(ports.1).await;
    let probes = be.hits();
    Shared {
        be,
        redis_port,
        store,
        ports,
        probes,
        _proxies: proxies,
        _dir: dir,
    }
}

/// Alternates requests over two proxies; returns the statuses in order.
async fn alternate(a: u16, b: u16, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..n {
        statuses.push(request(if i % 2 == 0 { a } else { b }, "/").await.0);
    }
    statuses
}

#[tokio::test]
#[ignore = "needs redis-server (Debian package); run by .ci/test-all.sh"]
async fn two_swarmgate_processes_share_one_limit_through_redis() {
    let Shared {
        be,
        redis_port,
        store,
        ports: (pa, pb),
        probes,
        _proxies,
        _dir,
    } = shared(Bin::Swarmgate, Bin::Swarmgate).await;

    // Each process alone would let 4 through (8 in all); sharing, 4 in all.
    let statuses = alternate(pa, pb, 8).await;
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429, 429, 429],
        "{statuses:?}"
    );
    assert_eq!(be.hits() - probes, 4);
    // Traefik's key: rate:<middleware>@<provider>:<source>.
    let keys = redis_cli(redis_port, &["--raw", "keys", "rate:*"]);
    assert_eq!(keys.trim(), "rate:limit@file:127.0.0.1", "{keys}");
    let (status, head) = request(pb, "/").await;
    assert_eq!(status, 429);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("retry-after: "), "{head}");
    assert!(head.contains("x-retry-in: "), "{head}");

    // Redis gone: Traefik's 500, never a pass.
    drop(store);
    let (status, head) = request(pa, "/").await;
    assert_eq!(status, 500, "{head}");
    assert!(head.ends_with("Could not insert/update bucket\n"), "{head}");
    assert_eq!(be.hits() - probes, 4);
}

#[tokio::test]
#[ignore = "needs redis-server and TRAEFIK_BIN (the real Traefik 3.7); run by .ci/test-all.sh"]
async fn swarmgate_and_traefik_share_one_limit_through_redis() {
    let Shared {
        be,
        redis_port,
        store: _store,
        ports: (pa, pt),
        probes,
        _proxies,
        _dir,
    } = shared(Bin::Swarmgate, Bin::Traefik).await;

    // Same key, same script: the two proxies count against one bucket.
    let statuses = alternate(pt, pa, 8).await;
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429, 429, 429],
        "{statuses:?}"
    );
    assert_eq!(be.hits() - probes, 4);
    let keys = redis_cli(redis_port, &["--raw", "keys", "rate:*"]);
    assert_eq!(keys.trim(), "rate:limit@file:127.0.0.1", "{keys}");
    // Both answer the refusal alike.
    let (st, ht) = request(pt, "/").await;
    let (ss, hs) = request(pa, "/").await;
    assert_eq!((st, ss), (429, 429));
    let body = |h: &str| h.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    assert_eq!(body(&ht), body(&hs));
}
