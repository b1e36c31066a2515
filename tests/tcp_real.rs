//! TCP routers with real clients and servers from Debian: `redis-server` + `redis-cli` through a
//! ``HostSNI(`*`)`` router on a plain entrypoint, `openssl s_server` behind a passthrough router
//! (its own certificate reaches `openssl s_client`, byte for byte), and PostgreSQL + `psql
//! sslmode=require` routed by `HostSNI` through the SSLRequest (STARTTLS) swarmgate answers.
//! `#[ignore]`: needs the packages `redis-server`, `openssl`, `postgresql` (initdb is run as the
//! `postgres` user when the tests run as root); run by `.ci/test-all.sh` in the background stage
//! "tcp-real".
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::tls::{free_port, write_cert};
use support::{eventually, gateway_with};
use tokio::net::TcpStream;

/// A child process killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_port(port: u16, what: &str) {
    let up = eventually(Duration::from_secs(20), || async {
        TcpStream::connect(("127.0.0.1", port)).await.is_ok()
    })
    .await;
    assert!(up, "{what} did not start on port {port}");
}

fn tcp_dynamic(router: &str, address: &str, extra_tls: &str) -> String {
    format!(
        "tcp:\n  routers:\n    r:\n      rule: \"{router}\"\n      service: s\n{extra_tls}  services:\n    s:\n      loadBalancer:\n        servers:\n          - address: \"{address}\"\n"
    )
}

#[tokio::test]
#[ignore = "needs redis-server and redis-cli (apt-get install redis-server)"]
async fn redis_cli_through_host_sni_star() {
    let port = free_port();
    let _redis = Proc(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server"),
    );
    wait_port(port, "redis-server").await;
    let gw = gateway_with(
        &tcp_dynamic("HostSNI(`*`)", &format!("127.0.0.1:{port}"), ""),
        "",
    )
    .await;
    let gw_port = gw.addr.port().to_string();
    let cli = move |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &gw_port])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let value = "x".repeat(100_000);
    let c = tokio::task::spawn_blocking(move || {
        (
            cli(&["PING"]),
            cli(&["SET", "swarmgate-tcp", &value]),
            cli(&["STRLEN", "swarmgate-tcp"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(c, ("PONG".into(), "OK".into(), "100000".into()));
    gw.stop().await;
}

#[tokio::test]
#[ignore = "needs openssl"]
async fn openssl_s_server_behind_passthrough_presents_its_own_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_cert(dir.path(), "backend", &["backend.example.test"]);
    let (edge_cert, edge_key) = write_cert(dir.path(), "edge", &["backend.example.test"]);
    let port = free_port();
    let _server = Proc(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-cert", &cert, "-key", &key, "-www", "-quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl"),
    );
    wait_port(port, "openssl s_server").await;
    // The edge has a certificate for the same name: passthrough must not use it.
    let dynamic = format!(
        r#"tcp:
  routers:
    r:
      rule: "HostSNI(`backend.example.test`)"
      service: s
      tls:
        passthrough: true
  services:
    s:
      loadBalancer:
        servers:
          - address: "127.0.0.1:{port}"
tls:
  certificates:
    - certFile: "{edge_cert}"
      keyFile: "{edge_key}"
"#
    );
    let gw = gateway_with(&dynamic, "").await;
    let connect = format!("127.0.0.1:{}", gw.addr.port());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("openssl")
            .args(["s_client", "-connect", &connect])
            .args([
                "-servername",
                "backend.example.test",
                "-showcerts",
                "-quiet",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("s_server"),
        "no answer from s_server: {stdout}"
    );
    // `-showcerts` (without -quiet) prints the chain; ask again for the PEM and compare bytes.
    let connect = format!("127.0.0.1:{}", gw.addr.port());
    let shown = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args(["s_client", "-connect", &connect])
            .args(["-servername", "backend.example.test", "-showcerts"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    let pem = std::fs::read_to_string(&cert).unwrap();
    let pem = pem.trim();
    assert!(
        shown.contains(pem),
        "backend certificate not presented:\n{shown}"
    );
    gw.stop().await;
}

/// A PostgreSQL server program: on PATH, else Debian's `/usr/lib/postgresql/<version>/bin`.
fn pg_bin(name: &str) -> String {
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return name.to_string();
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("postgresql is not installed (apt-get install postgresql)")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("no PostgreSQL server binaries")
        .display()
        .to_string()
}

/// A PostgreSQL cluster in `dir`, started on `port` (as the `postgres` user when root).
fn postgres(dir: &Path, port: u16) -> Proc {
    let data = dir.join("data");
    let as_postgres = |program: &str| {
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        }
    };
    // The tmpdir must be the postgres user's to write.
    let _ = Command::new("chown")
        .args(["-R", "postgres"])
        .arg(dir)
        .status();
    let initdb = as_postgres(&pg_bin("initdb"))
        .args(["-D"])
        .arg(&data)
        .args(["--auth=trust", "-U", "postgres"])
        .stdout(Stdio::null())
        .status()
        .expect("initdb (apt-get install postgresql)");
    assert!(initdb.success(), "initdb failed");
    let child = as_postgres(&pg_bin("postgres"))
        .args(["-D"])
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .args(["-k"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("postgres");
    Proc(child)
}

#[tokio::test]
#[ignore = "needs postgresql (initdb, postgres, psql)"]
async fn psql_sslmode_require_is_routed_by_host_sni() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _pg = postgres(dir.path(), port);
    wait_port(port, "postgres").await;
    // Listening is not ready: wait until it answers queries.
    let ready = eventually(Duration::from_secs(30), || async move {
        tokio::task::spawn_blocking(move || {
            Command::new("psql")
                .arg(format!(
                    "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"
                ))
                .args(["-tAc", "select 1"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .await
        .unwrap()
    })
    .await;
    assert!(ready, "postgres does not answer");
    let certs = tempfile::tempdir().unwrap();
    let (c, k) = write_cert(certs.path(), "db", &["db.example.test"]);
    // Two routers by SNI: only db.example.test reaches the cluster; TLS is terminated by
    // swarmgate and the server speaks plaintext.
    let dynamic = format!(
        r#"tcp:
  routers:
    db:
      rule: "HostSNI(`db.example.test`)"
      service: pg
      tls: {{}}
    other:
      rule: "HostSNI(`other.example.test`)"
      service: nowhere
      tls: {{}}
  services:
    pg:
      loadBalancer:
        servers:
          - address: "127.0.0.1:{port}"
    nowhere:
      loadBalancer:
        servers:
          - address: "127.0.0.1:1"
tls:
  certificates:
    - certFile: "{c}"
      keyFile: "{k}"
"#
    );
    let gw = gateway_with(&dynamic, "").await;
    let gw_port = gw.addr.port();
    let psql = move |host: &str| {
        let out = Command::new("psql")
            .arg(format!(
                "host={host} hostaddr=127.0.0.1 port={gw_port} user=postgres dbname=postgres \
                 sslmode=require connect_timeout=10"
            ))
            .args([
                "-tAc",
                "select 40 + 2, ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ])
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            out.status.success(),
        )
    };
    let (ok, bad) =
        tokio::task::spawn_blocking(move || (psql("db.example.test"), psql("other.example.test")))
            .await
            .unwrap();
    // The server saw a plaintext connection (ssl = f): swarmgate terminated TLS.
    assert_eq!(ok, ("42|f".to_string(), true));
    assert!(
        !bad.1,
        "other.example.test must not reach the cluster: {bad:?}"
    );
    gw.stop().await;
}

/// `openssl s_client` through a terminating TCP router to an echo: what comes back (empty when
/// the handshake failed). `version`: `-tls1_2` or `-tls1_3`.
async fn s_client_echo(port: u16, server_name: &str, version: &str) -> String {
    let (connect, name, version) = (
        format!("127.0.0.1:{port}"),
        server_name.to_string(),
        version.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("timeout")
            .args(["10", "openssl", "s_client", "-connect", &connect])
            .args(["-servername", &name, &version, "-quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"ping\n");
        // Let the echo come back before the client closes.
        std::thread::sleep(Duration::from_millis(500));
        drop(stdin);
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
#[ignore = "needs openssl"]
async fn tls_options_of_a_terminating_tcp_router_apply_to_its_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let echo = support::tcp::echo().await;
    let names = ["modern.example.test", "any.example.test"];
    let (cert, key) = write_cert(dir.path(), "edge", &names);
    let dynamic = format!(
        r#"tcp:
  routers:
    modern:
      rule: "HostSNI(`modern.example.test`)"
      service: echo
      tls:
        options: tls13
    any:
      rule: "HostSNI(`any.example.test`)"
      service: echo
      tls: {{}}
  services:
    echo:
      loadBalancer:
        servers:
          - address: "{echo}"
tls:
  options:
    tls13:
      minVersion: VersionTLS13
  certificates:
    - certFile: "{cert}"
      keyFile: "{key}"
"#
    );
    let gw = gateway_with(&dynamic, "").await;
    let port = gw.addr.port();
    // The router's options: TLS 1.3 only.
    assert_eq!(
        s_client_echo(port, "modern.example.test", "-tls1_3").await,
        "ping\n"
    );
    assert_eq!(
        s_client_echo(port, "modern.example.test", "-tls1_2").await,
        ""
    );
    // The router beside it keeps the default options (TLS 1.2 allowed).
    assert_eq!(
        s_client_echo(port, "any.example.test", "-tls1_2").await,
        "ping\n"
    );
    gw.stop().await;
}
