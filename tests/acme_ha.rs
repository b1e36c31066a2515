//! Several edge replicas sharing one set of ACME certificates through the Swarm store, against
//! the real dockerd (swarm mode, `.ci/docker-up.sh`) and Pebble (`.ci/pebble-up.sh`).
//!
//! Each replica is a process of the `swarmgate` binary on its own loopback address (127.0.0.2,
//! 127.0.0.3), ports 5002 (HTTP-01, where Pebble validates) and 5001, talking to the manager's
//! Docker socket: what a `mode: global` service on host-mode ports does, without rebuilding the
//! release image for each run, and with a process that can be killed with SIGKILL mid-order.
//! pebble-challtestsrv's management API points each test domain at the replica the test chooses.
//! Run with `--ignored --test-threads=1` (the replicas share ports 5001/5002 across tests).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::tls::*;

const PEBBLE_DIR: &str = "/tmp/swarmgate-pebble";
const A: &str = "127.0.0.2";
const B: &str = "127.0.0.3";
/// An address nobody listens on: validations sent there fail.
const NOBODY: &str = "127.0.0.9";
const HTTP01: &str = "[certificatesResolvers.le.acme.httpChallenge]\nentryPoint = \"web\"";
const TLSALPN01: &str = "[certificatesResolvers.le.acme.tlsChallenge]";

fn script(name: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci").join(name);
    let status = Command::new("bash")
        .arg(script)
        .env("PEBBLE_DIR", PEBBLE_DIR)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{name} failed");
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Points `host` at `address` (only) in pebble-challtestsrv's DNS (`add-a` appends, hence the
/// `clear-a` first).
fn dns(host: &str, address: &str) {
    for (path, body) in [
        ("clear-a", format!(r#"{{"host":"{host}"}}"#)),
        (
            "add-a",
            format!(r#"{{"host":"{host}","addresses":["{address}"]}}"#),
        ),
    ] {
        let url = format!("http://127.0.0.1:8055/{path}");
        let out = Command::new("curl")
            .args(["-sf", "-XPOST", "-d", &body, &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "challtestsrv {path} failed");
    }
}

/// Certificates Pebble has issued so far (lines of its log).
fn pebble_issued() -> Vec<String> {
    std::fs::read_to_string(format!("{PEBBLE_DIR}/pebble.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split("Issued certificate serial ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(normalize_serial)
        .collect()
}

fn normalize_serial(s: &str) -> String {
    let hex: String = s
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    hex.trim_start_matches('0').to_string()
}

/// One test's Swarm store: a fresh prefix, its objects removed at the end.
struct Store {
    prefix: String,
}

impl Store {
    fn new(test: &str) -> Store {
        Store::named(format!("ha{test}{}", std::process::id() % 100_000))
    }

    fn named(prefix: String) -> Store {
        Store { prefix }
    }

    fn objects(&self) -> Vec<(String, String)> {
        let filter = format!("label=swarmgate.acme.store={}", self.prefix);
        docker(&[
            "config",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.ID}} {{.Name}}",
        ])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect()
    }

    fn label(&self, name: &str, label: &str) -> Option<String> {
        let out = Command::new("docker")
            .args(["config", "inspect", name, "--format"])
            .arg(format!("{{{{index .Spec.Labels \"{label}\"}}}}"))
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The owner label of the order lock of `domain`, once one exists.
    async fn lock_owner(&self, domain: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            for (_, name) in self.objects() {
                if name.starts_with(&format!("{}-lock-", self.prefix))
                    && self.label(&name, "swarmgate.acme.domain").as_deref() == Some(domain)
                {
                    if let Some(owner) = self.label(&name, "swarmgate.acme.owner") {
                        return owner;
                    }
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no order lock for {domain} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn certs(&self) -> usize {
        let cert = format!("{}-cert-", self.prefix);
        self.objects()
            .iter()
            .filter(|(_, n)| n.starts_with(&cert))
            .count()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for (id, _) in self.objects() {
            let _ = Command::new("docker").args(["config", "rm", &id]).output();
        }
    }
}

/// One swarmgate process on `address`.
struct Replica {
    address: &'static str,
    child: Child,
    log: PathBuf,
}

impl Replica {
    fn start(
        dir: &Path,
        address: &'static str,
        host: &str,
        backend: &str,
        storage: &str,
        extra_acme: &str,
    ) -> Replica {
        let dynamic = dir.join(format!("dynamic-{address}.yml"));
        std::fs::write(
            &dynamic,
            format!(
                "http:\n  routers:\n    app:\n      rule: \"Host(`{host}`)\"\n      entryPoints: [websecure]\n      service: app\n      tls:\n        certResolver: le\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{backend}\"\n"
            ),
        )
        .unwrap();
        let config = dir.join(format!("swarmgate-{address}.toml"));
        std::fs::write(
            &config,
            format!(
                r#"
[entryPoints.web]
address = "{address}:5002"
[entryPoints.websecure]
address = "{address}:5001"
[providers.file]
filename = {dynamic:?}
[certificatesResolvers.le.acme]
email = "ops@example.com"
caServer = "https://127.0.0.1:14000/dir"
storage = "{storage}"
caCertificates = ["{PEBBLE_DIR}/ca.pem"]
{extra_acme}
"#,
                dynamic = dynamic.display().to_string(),
            ),
        )
        .unwrap();
        let log = dir.join(format!("replica-{address}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_swarmgate"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "swarmgate::tls=debug,info")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join(format!("replica-{address}.err"))).unwrap(),
            ))
            .spawn()
            .unwrap();
        Replica {
            address,
            child,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn websecure(&self) -> SocketAddr {
        format!("{}:5001", self.address).parse().unwrap()
    }

    fn holds(&self, owner: &str) -> bool {
        owner.ends_with(&format!("/{}", self.pid()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `replica` serves `host` a certificate naming it whose serial is not `not`;
/// returns the serial (normalised).
async fn wait_for_cert(
    replica: &Replica,
    host: &str,
    not: Option<&str>,
    limit: Duration,
) -> String {
    let deadline = tokio::time::Instant::now() + limit;
    let connector =
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(insecure_config(&["http/1.1"])));
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    loop {
        if let Ok(tcp) = tokio::net::TcpStream::connect(replica.websecure()).await {
            let handshake = connector.connect(name.clone(), tcp);
            if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(2), handshake).await {
                let serial = normalize_serial(&leaf_serial(&stream));
                if leaf_names(&stream) == vec![host.to_string()] && Some(serial.as_str()) != not {
                    return serial;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} served no certificate for {host} within {limit:?}; log:\n{}",
            replica.address,
            replica.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn pebble_roots() -> Vec<u8> {
    let out = Command::new("curl")
        .args(["-sf", "--cacert", &format!("{PEBBLE_DIR}/ca.pem")])
        .arg("https://127.0.0.1:15000/roots/0")
        .output()
        .unwrap();
    assert!(out.status.success(), "cannot fetch Pebble's root");
    out.stdout
}

struct Env {
    dir: tempfile::TempDir,
    backend: support::Backend,
    store: Store,
}

impl Env {
    async fn new(test: &str) -> Env {
        script("docker-up.sh");
        script("pebble-up.sh");
        Env {
            dir: tempfile::tempdir().unwrap(),
            backend: support::backend("app").await,
            store: Store::new(test),
        }
    }

    fn storage(&self) -> String {
        format!("swarm://{}?lockTtl=6s&challengeDelay=3s", self.store.prefix)
    }

    /// A replica using HTTP-01, with `extra_acme` lines in its resolver.
    fn replica(&self, address: &'static str, host: &str, extra_acme: &str) -> Replica {
        self.replica_with(address, host, &format!("{extra_acme}\n{HTTP01}"))
    }

    fn replica_with(&self, address: &'static str, host: &str, acme: &str) -> Replica {
        Replica::start(
            self.dir.path(),
            address,
            host,
            &self.backend.url(),
            &self.storage(),
            acme,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dockerd in swarm mode and Pebble; run by .ci/test-all.sh"]
async fn the_replica_that_did_not_order_answers_the_challenge_and_both_serve_one_certificate() {
    let env = Env::new("share").await;
    let host = "ha-share.test";
    dns(host, NOBODY);
    let issued_before = pebble_issued().len();
    let a = env.replica(A, host, "");
    let b = env.replica(B, host, "");

    // Whoever takes the lock orders; the CA is sent to the other one.
    let owner = env.store.lock_owner(host, Duration::from_secs(30)).await;
    let (holder, other) = if a.holds(&owner) { (&a, &b) } else { (&b, &a) };
    assert!(
        holder.holds(&owner),
        "lock owner {owner:?} is neither replica"
    );
    dns(host, other.address);

    let serial = wait_for_cert(holder, host, None, Duration::from_secs(60)).await;
    assert_eq!(
        wait_for_cert(other, host, None, Duration::from_secs(30)).await,
        serial
    );

    // Exactly one certificate for both replicas, the one Pebble issued.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let issued = pebble_issued()[issued_before..].to_vec();
    assert_eq!(issued, vec![serial.clone()], "Pebble issued {issued:?}");
    assert_eq!(env.store.certs(), 1);
    assert!(holder.log().contains("ordering ACME certificate"));
    assert!(
        !other.log().contains("ordering ACME certificate"),
        "{}",
        other.log()
    );

    // A client trusting only Pebble's root completes a request through each replica.
    let roots = pebble_roots().await;
    for replica in [&a, &b] {
        let stream = connect(trusting_config(&roots), replica.websecure(), host).await;
        let reply = request(stream, host, "/hello").await;
        assert_eq!(reply.status, 200, "through {}", replica.address);
        assert!(reply.body.starts_with("app\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dockerd in swarm mode and Pebble; run by .ci/test-all.sh"]
async fn tls_alpn01_is_answered_by_the_replica_that_did_not_order() {
    let env = Env::new("alpn").await;
    let host = "ha-alpn.test";
    dns(host, NOBODY);
    let issued_before = pebble_issued().len();
    let a = env.replica_with(A, host, TLSALPN01);
    let b = env.replica_with(B, host, TLSALPN01);

    let owner = env.store.lock_owner(host, Duration::from_secs(30)).await;
    let (holder, other) = if a.holds(&owner) { (&a, &b) } else { (&b, &a) };
    dns(host, other.address);

    let serial = wait_for_cert(other, host, None, Duration::from_secs(60)).await;
    assert_eq!(
        wait_for_cert(holder, host, None, Duration::from_secs(30)).await,
        serial
    );
    assert_eq!(pebble_issued()[issued_before..].to_vec(), vec![serial]);
    assert!(!other.log().contains("ordering ACME certificate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dockerd in swarm mode and Pebble; run by .ci/test-all.sh"]
async fn killing_the_lock_holder_mid_order_lets_the_other_replica_finish_after_expiry() {
    let env = Env::new("kill").await;
    let host = "ha-kill.test";
    dns(host, NOBODY);
    let issued_before = pebble_issued().len();
    let mut a = env.replica(A, host, "");
    let mut b = env.replica(B, host, "");

    // The holder dies while waiting for its token to spread (before the CA validates).
    let owner = env.store.lock_owner(host, Duration::from_secs(30)).await;
    let (holder, survivor) = if a.holds(&owner) {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    holder.kill();
    let killed_at = tokio::time::Instant::now();
    dns(host, survivor.address);

    let serial = wait_for_cert(survivor, host, None, Duration::from_secs(60)).await;
    assert!(
        killed_at.elapsed() >= Duration::from_secs(3),
        "the survivor waited for the lock to expire"
    );
    assert!(survivor.alive());
    let log = survivor.log();
    assert!(log.contains("taking it over"), "{log}");
    assert!(log.contains("ordering ACME certificate"), "{log}");
    let issued = pebble_issued()[issued_before..].to_vec();
    assert_eq!(issued, vec![serial], "Pebble issued {issued:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dockerd in swarm mode and Pebble; run by .ci/test-all.sh"]
async fn a_renewal_happens_once_and_both_replicas_serve_it_without_restart() {
    let env = Env::new("renew").await;
    let host = "ha-renew.test";
    // Either replica may order; the other answers through the store when it is A.
    dns(host, A);
    let issued_before = pebble_issued().len();
    let renew = "renewBefore = \"87600h\"";
    let mut a = env.replica(A, host, renew);
    let mut b = env.replica(B, host, renew);
    let (pid_a, pid_b) = (a.pid(), b.pid());

    let first = wait_for_cert(&a, host, None, Duration::from_secs(60)).await;
    assert_eq!(
        wait_for_cert(&b, host, None, Duration::from_secs(30)).await,
        first
    );
    let second = wait_for_cert(&a, host, Some(&first), Duration::from_secs(60)).await;
    let seen_by_b = wait_for_cert(&b, host, Some(&first), Duration::from_secs(30)).await;
    let issued = pebble_issued()[issued_before..].to_vec();
    assert_eq!(seen_by_b, second);
    assert_ne!(first, second);
    assert_eq!(
        issued,
        vec![first, second],
        "one order per renewal, for both replicas"
    );
    assert!(a.alive() && b.alive());
    assert_eq!((a.pid(), b.pid()), (pid_a, pid_b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dockerd in swarm mode and Pebble; run by .ci/test-all.sh"]
async fn a_corrupt_certificate_object_is_skipped_and_the_valid_one_keeps_serving() {
    let env = Env::new("corrupt").await;
    let host = "ha-corrupt.test";
    dns(host, A);
    let a = env.replica(A, host, "");
    let serial = wait_for_cert(&a, host, None, Duration::from_secs(60)).await;
    drop(a);

    // A newer, corrupt version of the certificate (as a broken writer would leave it).
    let (_, name) = env
        .store
        .objects()
        .into_iter()
        .find(|(_, n)| n.starts_with(&format!("{}-cert-", env.store.prefix)))
        .unwrap();
    let (stem, version) = name.rsplit_once('-').unwrap();
    let corrupt = format!("{stem}-{}", version.parse::<u64>().unwrap() + 1);
    let labels: Vec<String> = ["store", "kind", "resolver", "domain", "issued"]
        .iter()
        .map(|l| format!("swarmgate.acme.{l}"))
        .map(|l| format!("{l}={}", env.store.label(&name, &l).unwrap()))
        .collect();
    let garbage = env.dir.path().join("garbage");
    std::fs::write(
        &garbage,
        "{\"domain\": {\"main\": \"ha-corrupt.test\"}, \"certificate\": \"trunc",
    )
    .unwrap();
    let mut args = vec!["config".to_string(), "create".to_string()];
    for l in &labels {
        args.extend(["--label".to_string(), l.clone()]);
    }
    args.extend([corrupt.clone(), garbage.display().to_string()]);
    docker(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // A replica starting now reports it, skips it, and serves the valid certificate, unordered.
    let issued_before = pebble_issued().len();
    let b = env.replica(B, host, "");
    assert_eq!(
        wait_for_cert(&b, host, None, Duration::from_secs(30)).await,
        serial
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = b.log();
    assert!(
        log.contains("skipping an unusable certificate object") && log.contains(&corrupt),
        "{log}"
    );
    assert_eq!(pebble_issued().len(), issued_before, "no new order");
}

/// `docker-stack-ha.yml`: swarmgate global on managers, host-mode 80/443, the manager's socket,
/// and a `command:` that loads (strictly) as a Traefik static configuration using the Swarm store.
#[test]
fn the_ha_stack_file_runs_global_on_managers_with_the_swarm_store() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-stack-ha.yml");
    let stack: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let edge = &stack["services"]["swarmgate"];
    assert_eq!(edge["deploy"]["mode"], "global");
    let constraints: Vec<String> =
        serde_yaml::from_value(edge["deploy"]["placement"]["constraints"].clone()).unwrap();
    assert_eq!(constraints, vec!["node.role == manager"]);
    let ports: Vec<(u64, String)> = edge["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["published"].as_u64().unwrap(),
                p["mode"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![(80, "host".to_string()), (443, "host".to_string())]
    );
    assert_eq!(edge["volumes"][0]["source"], "/var/run/docker.sock");

    let args: Vec<String> = serde_yaml::from_value(edge["command"].clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let loaded = swarmgate::config::traefik::load_traefik(
        &args,
        &[],
        dir.path(),
        swarmgate::config::traefik::LoadOptions { strict: true },
    )
    .unwrap();
    assert!(loaded.unsupported.is_empty(), "{:?}", loaded.unsupported);
    let acme = loaded.config.certificates_resolvers["le"]
        .acme
        .clone()
        .unwrap();
    assert_eq!(acme.storage.as_deref(), Some("swarm://edge?lockTtl=60s"));
    // The resolver opens its store (no I/O until it runs).
    swarmgate::tls::Tls::new(&loaded.config, dir.path()).unwrap();
}

/// DNS-01 with the Swarm store: the `exec` provider publishes the TXT record in
/// pebble-challtestsrv's DNS (its management API), where Pebble looks. One order for both
/// replicas: only the lock holder presents a record and orders; the other serves the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dockerd in swarm mode and Pebble; run by .ci/test-all.sh"]
async fn a_dns01_order_in_flight_on_one_replica_is_not_repeated_by_the_other() {
    script("docker-up.sh");
    script("pebble-up.sh");
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        backend: support::backend("app").await,
        store: Store::named(format!("dns-ha{}", std::process::id() % 100_000)),
    };
    let host = "ha-dns01.test";
    let hook = env.dir.path().join("dns-hook.sh");
    let calls = env.dir.path().join("dns-calls.log");
    std::fs::write(
        &hook,
        format!(
            r#"#!/bin/sh
set -e
echo "$PPID $@" >> {calls}
case "$1" in
  present) curl -sf -XPOST -d "{{\"host\":\"$2\",\"value\":\"$3\"}}" http://127.0.0.1:8055/set-txt ;;
  cleanup) curl -sf -XPOST -d "{{\"host\":\"$2\"}}" http://127.0.0.1:8055/clear-txt ;;
esac
"#,
            calls = calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::env::set_var("EXEC_PATH", &hook);
    std::env::set_var("EXEC_POLLING_INTERVAL", "1");
    let dns01 = "[certificatesResolvers.le.acme.dnsChallenge]\nprovider = \"exec\"\nresolvers = [\"127.0.0.1:8053\"]\n[certificatesResolvers.le.acme.dnsChallenge.propagation]\nrequireAllRNS = true\ndisableANSChecks = true";
    let issued_before = pebble_issued().len();
    let a = env.replica_with(A, host, dns01);
    let b = env.replica_with(B, host, dns01);

    let owner = env.store.lock_owner(host, Duration::from_secs(30)).await;
    let (holder, other) = if a.holds(&owner) { (&a, &b) } else { (&b, &a) };
    assert!(
        holder.holds(&owner),
        "lock owner {owner:?} is neither replica"
    );
    let serial = wait_for_cert(holder, host, None, Duration::from_secs(60)).await;
    assert_eq!(
        wait_for_cert(other, host, None, Duration::from_secs(30)).await,
        serial
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(pebble_issued()[issued_before..].to_vec(), vec![serial]);
    assert_eq!(env.store.certs(), 1);
    assert!(holder.log().contains("ordering ACME certificate"));
    assert!(
        !other.log().contains("ordering ACME certificate"),
        "{}",
        other.log()
    );
    // Only the holder ran the hook: one present and one cleanup, from its process.
    let log = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for line in &lines {
        assert!(line.starts_with(&format!("{} ", holder.pid())), "{log}");
    }
    assert!(
        lines[0].contains(" present _acme-challenge.ha-dns01.test. "),
        "{log}"
    );
    assert!(
        lines[1].contains(" cleanup _acme-challenge.ha-dns01.test. "),
        "{log}"
    );
}
