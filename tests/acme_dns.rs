//! ACME DNS-01 against real parts: BIND (`named` from Debian's bind9) started here on
//! 127.0.0.1:<free port> with a TSIG key and the zone `example.test` (updates allowed with the
//! key), and a Pebble of this test's own (free ports) resolving through that BIND
//! (`-dnsserver`). Run by `.ci/test-all.sh` with `--ignored --test-threads=1` (the providers
//! read the process environment, which these tests set).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::tls::*;
use swarmgate::app::{Running, StartOptions};
use swarmgate::config::StaticConfig;

const KEY: &str = "acme-key";
const SECRET: &str = "c3dhcm1nYXRlLWRucy10ZXN0LXNlY3JldC0zMmJ5dGVz";

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "swarmgate::tls=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A port free on 127.0.0.1 for both UDP and TCP.
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A child process killed when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Bind {
    port: u16,
    _daemon: Daemon,
}

impl Bind {
    fn start(dir: &Path) -> Bind {
        let port = free_port();
        let d = dir.display();
        std::fs::write(
            dir.join("named.conf"),
            format!(
                r#"options {{
  directory "{d}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid";
  recursion no;
  dnssec-validation no;
}};
key "{KEY}" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
zone "example.test" {{ type primary; file "{d}/example.test.zone"; allow-update {{ key "{KEY}"; }}; }};
"#
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("example.test.zone"),
            "$TTL 60\n@ IN SOA ns.example.test. admin.example.test. ( 1 60 60 600 60 )\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n@ IN A 127.0.0.1\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("named.log")).unwrap();
        let child = Command::new("named")
            .args(["-g", "-u", "root", "-c"])
            .arg(dir.join("named.conf"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("named (Debian bind9) must be installed");
        let bind = Bind {
            port,
            _daemon: Daemon(child),
        };
        for _ in 0..100 {
            if bind.txt("example.test").is_some() {
                return bind;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "named did not start: {}",
            std::fs::read_to_string(dir.join("named.log")).unwrap_or_default()
        );
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TXT values of `name` (`None` when BIND does not answer).
    fn txt(&self, name: &str) -> Option<Vec<String>> {
        let out = Command::new("dig")
            .args(["+short", "+time=1", "+tries=1", "-p"])
            .arg(self.port.to_string())
            .args(["@127.0.0.1", name, "TXT"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim_matches('"').to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        )
    }
}

struct Pebble {
    dir: PathBuf,
    port: u16,
    _daemon: Daemon,
}

impl Pebble {
    /// Pebble validating DNS-01 through `dns`; with `eab`, accounts need External Account
    /// Binding with the key id `kid` (MAC key `EAB_HMAC`).
    fn start(dir: &Path, dns: &Bind, eab: bool) -> Pebble {
        let port = free_port();
        let management = free_port();
        let sh = |script: &str| {
            let status = Command::new("bash")
                .args(["-ec", script])
                .current_dir(dir)
                .status()
                .unwrap();
            assert!(status.success(), "{script}");
        };
        sh("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=dns test CA' -keyout ca.key -out ca.pem 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out cert.csr 2>/dev/null
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=critical,CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf
            openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext.cnf -out cert.pem 2>/dev/null");
        let eab_keys = if eab {
            format!(",\n    \"externalAccountMACKeys\": {{ \"{EAB_KID}\": \"{EAB_HMAC}\" }}")
        } else {
            String::new()
        };
        std::fs::write(
            dir.join("pebble.json"),
            format!(
                r#"{{
  "pebble": {{
    "listenAddress": "127.0.0.1:{port}",
    "managementListenAddress": "127.0.0.1:{management}",
    "certificate": "{d}/cert.pem",
    "privateKey": "{d}/key.pem",
    "httpPort": {http},
    "tlsPort": {tls},
    "ocspResponderURL": "",
    "externalAccountBindingRequired": {eab}{eab_keys}
  }}
}}"#,
                d = dir.display(),
                http = free_port(),
                tls = free_port(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("pebble.log")).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .arg("-dnsserver")
            .arg(dns.addr())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("pebble must be installed");
        let pebble = Pebble {
            dir: dir.to_path_buf(),
            port,
            _daemon: Daemon(child),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return pebble;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("pebble did not start: {}", pebble.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }

    /// How many certificates Pebble issued.
    fn issued(&self) -> usize {
        self.log().matches("Issued certificate serial").count()
    }
}

const EAB_KID: &str = "kid-dns";
const EAB_HMAC: &str = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

struct Setup {
    dir: tempfile::TempDir,
    bind: Bind,
    pebble: Pebble,
    backend: support::Backend,
    websecure: SocketAddr,
}

impl Setup {
    async fn new(eab: bool) -> Setup {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bind")).unwrap();
        std::fs::create_dir(dir.path().join("pebble")).unwrap();
        let bind = Bind::start(&dir.path().join("bind"));
        let pebble = Pebble::start(&dir.path().join("pebble"), &bind, eab);
        Setup {
            bind,
            pebble,
            backend: support::backend("app").await,
            websecure: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
            dir,
        }
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("acme.json")
    }

    /// Starts swarmgate with resolver `le` using `provider` (its variables already in the
    /// environment), one router asking for `*.example.test` + `example.test`.
    async fn start(&self, provider: &str, extra_acme: &str) -> anyhow::Result<Running> {
        let dynamic = self.dir.path().join("dynamic.yml");
        std::fs::write(
            &dynamic,
            format!(
                r#"http:
  routers:
    app:
      rule: "Host(`a.example.test`) || Host(`example.test`)"
      entryPoints: [websecure]
      service: app
      tls:
        certResolver: le
        domains:
          - main: "*.example.test"
            sans: ["example.test"]
  services:
    app:
      loadBalancer:
        servers:
          - url: "{}"
"#,
                self.backend.url()
            ),
        )
        .unwrap();
        let toml = format!(
            r#"
[entryPoints.websecure]
address = "{websecure}"
[providers.file]
filename = {dynamic:?}
[certificatesResolvers.le.acme]
email = "ops@example.com"
caServer = "https://127.0.0.1:{pebble}/dir"
storage = {storage:?}
caCertificates = ["{ca}"]
{extra_acme}
[certificatesResolvers.le.acme.dnsChallenge]
provider = "{provider}"
resolvers = ["{bind}"]
[certificatesResolvers.le.acme.dnsChallenge.propagation]
requireAllRNS = true
disableANSChecks = true
"#,
            websecure = self.websecure,
            dynamic = dynamic.display().to_string(),
            pebble = self.pebble.port,
            storage = self.storage().display().to_string(),
            ca = self.pebble.dir.join("ca.pem").display(),
            bind = self.bind.addr(),
        );
        let cfg: StaticConfig = toml::from_str(&toml).unwrap();
        swarmgate::app::start(cfg, StartOptions::default()).await
    }

    /// Waits until `sni` is served the wildcard certificate; returns its serial.
    async fn wait_for_wildcard(&self, sni: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let stream = connect(insecure_config(&["http/1.1"]), self.websecure, sni).await;
            let mut names = leaf_names(&stream);
            names.sort();
            if names == ["*.example.test", "example.test"] {
                return leaf_serial(&stream);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no wildcard certificate for {sni} within {limit:?} (served {names:?}); pebble log:\n{}",
                self.pebble.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn no_challenge_records_left(&self) {
        assert_eq!(
            self.bind.txt("_acme-challenge.example.test"),
            Some(vec![]),
            "TXT records left behind"
        );
    }
}

fn set_rfc2136_env(bind: &Bind) {
    std::env::set_var("RFC2136_NAMESERVER", bind.addr());
    std::env::set_var("RFC2136_TSIG_KEY", KEY);
    std::env::set_var("RFC2136_TSIG_SECRET", SECRET);
    std::env::set_var("RFC2136_TSIG_ALGORITHM", "hmac-sha256.");
    std::env::set_var("RFC2136_POLLING_INTERVAL", "1");
    std::env::set_var("RFC2136_PROPAGATION_TIMEOUT", "20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9 and pebble; run by .ci/test-all.sh"]
async fn rfc2136_wildcard_and_apex_in_one_order_served_for_two_names_cleaned_up_and_kept_after_restart(
) {
    let setup = Setup::new(false).await;
    set_rfc2136_env(&setup.bind);
    let running = setup.start("rfc2136", "").await.unwrap();
    let serial = setup
        .wait_for_wildcard("a.example.test", Duration::from_secs(60))
        .await;
    assert_eq!(
        setup
            .wait_for_wildcard("example.test", Duration::from_secs(1))
            .await,
        serial,
        "one certificate for both names"
    );
    assert_eq!(
        setup
            .wait_for_wildcard("other.example.test", Duration::from_secs(1))
            .await,
        serial,
        "the wildcard covers any one label"
    );
    let reply = tls_get(setup.websecure, "a.example.test", "/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(setup.pebble.issued(), 1);
    setup.no_challenge_records_left();
    running.shutdown().await;

    // Restart: the stored certificate serves, no new order.
    let running = setup.start("rfc2136", "").await.unwrap();
    assert_eq!(
        setup
            .wait_for_wildcard("a.example.test", Duration::from_secs(5))
            .await,
        serial
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(setup.pebble.issued(), 1, "no new order after a restart");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9 and pebble; run by .ci/test-all.sh"]
async fn rfc2136_with_a_wrong_tsig_secret_gets_no_certificate_and_says_why() {
    let setup = Setup::new(false).await;
    set_rfc2136_env(&setup.bind);
    std::env::set_var(
        "RFC2136_TSIG_SECRET",
        "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw==",
    );
    let running = setup.start("rfc2136", "").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let stream = connect(
        insecure_config(&["http/1.1"]),
        setup.websecure,
        "a.example.test",
    )
    .await;
    assert_eq!(leaf_names(&stream), vec!["swarmgate.default.invalid"]);
    assert_eq!(setup.pebble.issued(), 0);
    setup.no_challenge_records_left();
    running.shutdown().await;
    std::env::set_var("RFC2136_TSIG_SECRET", SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9 and pebble; run by .ci/test-all.sh"]
async fn exec_provider_script_calling_nsupdate() {
    let setup = Setup::new(false).await;
    let script = setup.dir.path().join("dns-hook.sh");
    let calls = setup.dir.path().join("calls.log");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
set -e
echo "$@" >> {calls}
case "$1" in present) op=add; ttl=60 ;; cleanup) op=delete; ttl= ;; *) exit 2 ;; esac
printf 'server 127.0.0.1 {port}\nzone example.test\nupdate %s %s %s TXT "%s"\nsend\n' "$op" "$2" "$ttl" "$3" \
  | nsupdate -y hmac-sha256:{KEY}:{SECRET}
"#,
            calls = calls.display(),
            port = setup.bind.port,
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::env::set_var("EXEC_PATH", &script);
    std::env::set_var("EXEC_POLLING_INTERVAL", "1");
    let running = setup.start("exec", "").await.unwrap();
    setup
        .wait_for_wildcard("a.example.test", Duration::from_secs(60))
        .await;
    let log = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("present _acme-challenge.example.test. "))
            .count(),
        2,
        "{log}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("cleanup _acme-challenge.example.test. "))
            .count(),
        2,
        "{log}"
    );
    setup.no_challenge_records_left();
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_provider_or_a_missing_variable_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let start = |provider: &str| {
        let toml = format!(
            r#"
[entryPoints.websecure]
address = "127.0.0.1:0"
[certificatesResolvers.le.acme]
storage = "{}/acme.json"
[certificatesResolvers.le.acme.dnsChallenge]
provider = "{provider}"
"#,
            dir.path().display()
        );
        let cfg: StaticConfig = toml::from_str(&toml).unwrap();
        swarmgate::app::start(cfg, StartOptions::default())
    };
    let err = match start("cloudfare").await {
        Ok(_) => panic!("an unknown provider must stop the start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("certificatesResolvers.le.acme.dnsChallenge") && err.contains("cloudfare"),
        "{err}"
    );
    std::env::remove_var("HTTPREQ_ENDPOINT");
    std::env::remove_var("HTTPREQ_ENDPOINT_FILE");
    let err = match start("httpreq").await {
        Ok(_) => panic!("a missing variable must stop the start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("HTTPREQ_ENDPOINT"), "{err}");
}

/// The size in bits of the leaf's EC public key (256 for P-256, 384 for P-384).
fn leaf_ec_bits(stream: &tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> usize {
    let leaf = &stream.get_ref().1.peer_certificates().unwrap()[0];
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    match cert.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::EC(point) => (point.data().len() - 1) / 2 * 8,
        other => panic!("not an EC key: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9 and pebble; run by .ci/test-all.sh"]
async fn external_account_binding_required_by_the_ca_and_key_type_ec384() {
    let setup = Setup::new(true).await;
    set_rfc2136_env(&setup.bind);

    // Without eab the CA refuses the account: no certificate.
    let running = setup.start("rfc2136", "").await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stream = connect(
        insecure_config(&["http/1.1"]),
        setup.websecure,
        "a.example.test",
    )
    .await;
    assert_eq!(leaf_names(&stream), vec!["swarmgate.default.invalid"]);
    assert_eq!(setup.pebble.issued(), 0);
    running.shutdown().await;

    // With eab (and keyType EC384) the account is bound and the certificate issued.
    let extra = format!(
        "keyType = \"EC384\"\n[certificatesResolvers.le.acme.eab]\nkid = \"{EAB_KID}\"\nhmacEncoded = \"{EAB_HMAC}\"\n"
    );
    let running = setup.start("rfc2136", &extra).await.unwrap();
    setup
        .wait_for_wildcard("a.example.test", Duration::from_secs(60))
        .await;
    let stream = connect(
        insecure_config(&["http/1.1"]),
        setup.websecure,
        "a.example.test",
    )
    .await;
    assert_eq!(leaf_ec_bits(&stream), 384);
    running.shutdown().await;
}

/// A lego `httpreq` endpoint: checks basic auth, records each call, applies it to BIND with
/// `nsupdate`.
async fn httpreq_server(
    bind_port: u16,
    calls: std::sync::Arc<tokio::sync::Mutex<Vec<(String, serde_json::Value)>>>,
) -> SocketAddr {
    use http_body_util::BodyExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let calls = calls.clone();
            let service = hyper::service::service_fn(
                move |req: hyper::Request<hyper::body::Incoming>| {
                    let calls = calls.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let auth = req
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string());
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        // "user:pass"
                        if auth.as_deref() != Some("Basic dXNlcjpwYXNz") {
                            return Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(401)
                                    .body(http_body_util::Full::new(bytes::Bytes::from("no")))
                                    .unwrap(),
                            );
                        }
                        calls.lock().await.push((path.clone(), json.clone()));
                        let (op, ttl) = if path == "/present" {
                            ("add", "60")
                        } else {
                            ("delete", "")
                        };
                        let script = format!(
                        "server 127.0.0.1 {bind_port}\nzone example.test\nupdate {op} {} {ttl} TXT \"{}\"\nsend\n",
                        json["fqdn"].as_str().unwrap(),
                        json["value"].as_str().unwrap()
                    );
                        let mut child = tokio::process::Command::new("nsupdate")
                            .args(["-y", &format!("hmac-sha256:{KEY}:{SECRET}")])
                            .stdin(Stdio::piped())
                            .spawn()
                            .unwrap();
                        use tokio::io::AsyncWriteExt as _;
                        child
                            .stdin
                            .take()
                            .unwrap()
                            .write_all(script.as_bytes())
                            .await
                            .unwrap();
                        let status = child.wait().await.unwrap();
                        let code = if status.success() { 200 } else { 500 };
                        Ok(hyper::Response::builder()
                            .status(code)
                            .body(http_body_util::Full::new(bytes::Bytes::new()))
                            .unwrap())
                    }
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service),
            );
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9 and pebble; run by .ci/test-all.sh"]
async fn httpreq_provider_posts_lego_json_with_basic_auth() {
    let setup = Setup::new(false).await;
    let calls = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let server = httpreq_server(setup.bind.port, calls.clone()).await;
    std::env::set_var("HTTPREQ_ENDPOINT", format!("http://{server}/"));
    std::env::set_var("HTTPREQ_USERNAME", "user");
    std::env::set_var("HTTPREQ_PASSWORD", "pass");
    std::env::set_var("HTTPREQ_POLLING_INTERVAL", "1");
    let running = setup.start("httpreq", "").await.unwrap();
    setup
        .wait_for_wildcard("a.example.test", Duration::from_secs(60))
        .await;
    let calls = calls.lock().await.clone();
    let paths: Vec<&str> = calls.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/present", "/present", "/cleanup", "/cleanup"]);
    for (_, body) in &calls {
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["fqdn", "value"]);
        assert_eq!(body["fqdn"], "_acme-challenge.example.test.");
        assert_eq!(
            body["value"].as_str().unwrap().len(),
            43,
            "base64url SHA-256"
        );
    }
    setup.no_challenge_records_left();
    running.shutdown().await;
}

/// The same BIND, Pebble, static options and router through the real Traefik (`TRAEFIK_BIN`):
/// Traefik reads the same option names and lego variables and issues a certificate with the same
/// names swarmgate does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9, pebble and TRAEFIK_BIN; run by .ci/test-all.sh (differential stage)"]
async fn traefik_issues_the_same_names_with_the_same_options() {
    let Ok(traefik) = std::env::var("TRAEFIK_BIN") else {
        panic!("TRAEFIK_BIN must name Traefik 3.7's binary");
    };
    let setup = Setup::new(false).await;
    let dynamic = setup.dir.path().join("traefik-dynamic.yml");
    std::fs::write(
        &dynamic,
        format!(
            "http:\n  routers:\n    app:\n      rule: \"Host(`a.example.test`) || Host(`example.test`)\"\n      entryPoints: [websecure]\n      service: app\n      tls:\n        certResolver: le\n        domains:\n          - main: \"*.example.test\"\n            sans: [\"example.test\"]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
            setup.backend.url()
        ),
    )
    .unwrap();
    let storage = setup.dir.path().join("traefik-acme.json");
    let log = std::fs::File::create(setup.dir.path().join("traefik.log")).unwrap();
    let child = Command::new(traefik)
        .args([
            format!("--entrypoints.websecure.address={}", setup.websecure),
            format!("--providers.file.filename={}", dynamic.display()),
            "--certificatesresolvers.le.acme.email=ops@example.com".into(),
            format!(
                "--certificatesresolvers.le.acme.caserver=https://127.0.0.1:{}/dir",
                setup.pebble.port
            ),
            format!(
                "--certificatesresolvers.le.acme.storage={}",
                storage.display()
            ),
            "--certificatesresolvers.le.acme.dnschallenge.provider=rfc2136".into(),
            format!(
                "--certificatesresolvers.le.acme.dnschallenge.resolvers={}",
                setup.bind.addr()
            ),
            "--certificatesresolvers.le.acme.dnschallenge.propagation.requireallrns=true".into(),
            "--certificatesresolvers.le.acme.dnschallenge.propagation.disableanschecks=true".into(),
            "--log.level=DEBUG".into(),
        ])
        .env(
            "LEGO_CA_CERTIFICATES",
            setup.pebble.dir.join("ca.pem").display().to_string(),
        )
        .env("RFC2136_NAMESERVER", setup.bind.addr())
        .env("RFC2136_TSIG_KEY", KEY)
        .env("RFC2136_TSIG_SECRET", SECRET)
        .env("RFC2136_TSIG_ALGORITHM", "hmac-sha256.")
        .env("RFC2136_POLLING_INTERVAL", "1")
        .env("RFC2136_PROPAGATION_TIMEOUT", "20")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _traefik = Daemon(child);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let names = loop {
        if let Ok(Ok(tcp)) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(setup.websecure),
        )
        .await
        {
            drop(tcp);
            let stream = connect(
                insecure_config(&["http/1.1"]),
                setup.websecure,
                "a.example.test",
            )
            .await;
            let mut names = leaf_names(&stream);
            names.sort();
            if names.iter().any(|n| n.ends_with("example.test")) {
                break names;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Traefik got no certificate; its log:\n{}",
            std::fs::read_to_string(setup.dir.path().join("traefik.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(names, ["*.example.test", "example.test"]);
    assert_eq!(setup.pebble.issued(), 1);
    setup.no_challenge_records_left();
}

/// The propagation check on its own against BIND: not visible → an error after the provider's
/// timeout; visible at the resolver → done; the authoritative check asks the zone's NS
/// (ns.example.test = 127.0.0.1, port 53, where BIND does not listen) and so fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs bind9; run by .ci/test-all.sh"]
async fn propagation_check_waits_for_the_record_and_gives_up_in_time() {
    use swarmgate::config::static_config::{DnsChallengeConfig, PropagationConfig};
    use swarmgate::tls::acme::dns::propagation::Check;
    use swarmgate::tls::acme::dns::{Timing, TxtRecord};
    let dir = tempfile::tempdir().unwrap();
    let bind = Bind::start(dir.path());
    let timing = Timing {
        propagation_timeout: Duration::from_secs(3),
        polling_interval: Duration::from_millis(500),
    };
    let cfg = |ans: bool| DnsChallengeConfig {
        provider: "exec".into(),
        propagation: Some(PropagationConfig {
            require_all_rns: true,
            disable_ans_checks: !ans,
            ..Default::default()
        }),
        ..Default::default()
    };
    let resolvers = vec![bind.addr().parse().unwrap()];
    let rns = Check::new(&cfg(false), resolvers.clone(), timing);
    let record = TxtRecord::new("example.test", "t", "t.k", "propagated-value");

    let started = std::time::Instant::now();
    let err = rns.wait(&record).await.unwrap_err().to_string();
    assert!(err.contains("not visible"), "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );

    let status = Command::new("bash")
        .args(["-c", &format!("printf 'server 127.0.0.1 {}\\nzone example.test\\nupdate add _acme-challenge.example.test. 60 TXT \"propagated-value\"\\nsend\\n' | nsupdate -y hmac-sha256:{KEY}:{SECRET}", bind.port)])
        .status()
        .unwrap();
    assert!(status.success());
    rns.wait(&record).await.unwrap();

    let ans = Check::new(&cfg(true), resolvers, timing);
    let err = ans.wait(&record).await.unwrap_err().to_string();
    assert!(err.contains("127.0.0.1:53"), "{err}");
}
