//! ACME against a real CA: Debian's Pebble, started by `.ci/pebble-up.sh` (the full suite runs
//! it; these tests call it too, idempotently). Pebble validates HTTP-01 on port 5002 and
//! TLS-ALPN-01 on port 5001, so swarmgate's entrypoints listen there; run with
//! `--ignored --test-threads=1`.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::tls::*;
use swarmgate::app::{Running, StartOptions};
use swarmgate::config::StaticConfig;

const PEBBLE_DIR: &str = "/tmp/swarmgate-pebble";

fn pebble(arg: Option<&str>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pebble-up.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .args(arg)
        .env("PEBBLE_DIR", PEBBLE_DIR)
        .status()
        .unwrap();
    assert!(status.success(), "pebble-up.sh {arg:?} failed");
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "swarmgate::tls=info".into()),
        )
        .with_test_writer()
        .try_init();
}

struct Env {
    dir: tempfile::TempDir,
    backend: support::Backend,
}

impl Env {
    async fn new() -> Env {
        init_logs();
        Env {
            dir: tempfile::tempdir().unwrap(),
            backend: support::backend("app").await,
        }
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("acme.json")
    }

    /// Starts swarmgate: `web` on 5002, `websecure` on 5001, resolver `le` with `challenge`
    /// (`httpChallenge.entryPoint = "web"` or `tlsChallenge = {}`), one router for `host`.
    async fn start(
        &self,
        host: &str,
        challenge: &str,
        extra_acme: &str,
    ) -> anyhow::Result<Running> {
        let dynamic = self.dir.path().join("dynamic.yml");
        std::fs::write(
            &dynamic,
            format!(
                "http:\n  routers:\n    app:\n      rule: \"Host(`{host}`)\"\n      entryPoints: [websecure]\n      service: app\n      tls:\n        certResolver: le\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
                self.backend.url()
            ),
        )
        .unwrap();
        let toml = format!(
            r#"
[entryPoints.web]
address = "127.0.0.1:5002"
[entryPoints.websecure]
address = "127.0.0.1:5001"
[providers.file]
filename = {dynamic:?}
watch = true
[certificatesResolvers.le.acme]
email = "ops@example.com"
caServer = "https://127.0.0.1:14000/dir"
storage = {storage:?}
caCertificates = ["{PEBBLE_DIR}/ca.pem"]
{extra_acme}
{challenge}
"#,
            dynamic = dynamic.display().to_string(),
            storage = self.storage().display().to_string(),
        );
        let cfg: StaticConfig = toml::from_str(&toml).unwrap();
        swarmgate::app::start(cfg, StartOptions::default()).await
    }
}

const HTTP01: &str = "[certificatesResolvers.le.acme.httpChallenge]\nentryPoint = \"web\"";
const TLSALPN01: &str = "[certificatesResolvers.le.acme.tlsChallenge]";

fn websecure() -> std::net::SocketAddr {
    "127.0.0.1:5001".parse().unwrap()
}

/// Waits until `host` is served a certificate naming it whose serial is not `not`; returns the serial.
async fn wait_for_cert(host: &str, not: Option<&str>, limit: Duration) -> String {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let stream = connect(insecure_config(&["http/1.1"]), websecure(), host).await;
        let serial = leaf_serial(&stream);
        if leaf_names(&stream) == vec![host.to_string()] && Some(serial.as_str()) != not {
            return serial;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no certificate for {host} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn served_serial(host: &str) -> String {
    leaf_serial(&connect(insecure_config(&["http/1.1"]), websecure(), host).await)
}

async fn pebble_roots() -> Vec<u8> {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--cacert", &format!("{PEBBLE_DIR}/ca.pem")])
        .arg("https://127.0.0.1:15000/roots/0")
        .output()
        .unwrap();
    assert!(out.status.success(), "cannot fetch Pebble's root");
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn http01_certificate_is_trusted_reused_after_restart_and_served_without_the_ca() {
    pebble(None);
    let env = Env::new().await;
    let running = env.start("http01.test", HTTP01, "").await.unwrap();
    let serial = wait_for_cert("http01.test", None, Duration::from_secs(60)).await;

    // A client trusting only Pebble's root completes a request.
    let roots = pebble_roots().await;
    let stream = connect(trusting_config(&roots), websecure(), "http01.test").await;
    let reply = request(stream, "http01.test", "/hello").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("app\n"));
    let stored = std::fs::read_to_string(env.storage()).unwrap();
    assert!(stored.contains("http01.test"));
    let mode = std::fs::metadata(env.storage())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    running.shutdown().await;

    // Restart: the stored certificate is served, no new order (same serial, even after a while).
    let running = env.start("http01.test", HTTP01, "").await.unwrap();
    assert_eq!(served_serial("http01.test").await, serial);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(served_serial("http01.test").await, serial);
    assert_eq!(std::fs::read_to_string(env.storage()).unwrap(), stored);
    running.shutdown().await;

    // CA down: swarmgate still starts and serves the stored certificate.
    pebble(Some("stop"));
    let running = env.start("http01.test", HTTP01, "").await;
    pebble(None);
    let running = running.unwrap();
    assert_eq!(served_serial("http01.test").await, serial);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn tls_alpn01_certificate_for_a_router_host() {
    pebble(None);
    let env = Env::new().await;
    let running = env.start("alpn.test", TLSALPN01, "").await.unwrap();
    wait_for_cert("alpn.test", None, Duration::from_secs(60)).await;
    let reply = tls_get(websecure(), "alpn.test", "/").await;
    assert_eq!(reply.status, 200);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn rsa_key_type_is_issued_and_served_with_an_rsa_key_of_that_size() {
    pebble(None);
    let env = Env::new().await;
    let running = env
        .start("rsa.test", TLSALPN01, "keyType = \"RSA4096\"")
        .await
        .unwrap();
    wait_for_cert("rsa.test", None, Duration::from_secs(90)).await;
    let stream = connect(insecure_config(&["http/1.1"]), websecure(), "rsa.test").await;
    let leaf = &stream.get_ref().1.peer_certificates().unwrap()[0];
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    match cert.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 4096),
        other => panic!("the served certificate has no RSA key: {other:?}"),
    }
    // Signed by Pebble's root, and a client completes a request with it.
    let roots = pebble_roots().await;
    let stream = connect(trusting_config(&roots), websecure(), "rsa.test").await;
    assert_eq!(request(stream, "rsa.test", "/").await.status, 200);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn a_profile_the_ca_does_not_offer_gets_no_certificate_under_another() {
    // Debian's Pebble (2.4) lists no profiles in its directory: nothing may be issued.
    pebble(None);
    let env = Env::new().await;
    let port = free_port();
    let metrics = format!(
        "profile = \"shortlived\"\n[entryPoints.metrics]\naddress = \"127.0.0.1:{port}\"\n[metrics.prometheus]\nentryPoint = \"metrics\"\n"
    );
    let running = env
        .start("profile.test", TLSALPN01, &metrics)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        presented(websecure(), "profile.test").await,
        vec!["swarmgate.default.invalid"]
    );
    // The failure is counted for the resolver, with the domain's next attempt (swarmgate_acme_*).
    let scraped = support::get(
        &support::client(),
        &format!("http://127.0.0.1:{port}/metrics"),
        None,
    )
    .await;
    assert!(
        scraped
            .body
            .contains(r#"swarmgate_acme_orders_total{resolver="le",result="failed"} 1"#),
        "{}",
        scraped.body
    );
    assert!(
        scraped.body.contains(
            r#"swarmgate_acme_next_attempt_timestamp_seconds{domain="profile.test",resolver="le"}"#
        ),
        "{}",
        scraped.body
    );
    assert!(!std::fs::read_to_string(env.storage())
        .unwrap_or_default()
        .contains("profile.test"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_type_refuses_to_start_naming_the_valid_ones() {
    let env = Env::new().await;
    let err = match env
        .start("key.test", TLSALPN01, "keyType = \"RSA1024\"")
        .await
    {
        Ok(_) => panic!("start must fail"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("RSA1024"), "{err}");
    assert!(
        err.contains("EC256, EC384, RSA2048, RSA4096, RSA8192"),
        "{err}"
    );
    assert!(err.contains("le"), "names the resolver: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn renewal_window_longer_than_the_lifetime_serves_a_new_certificate_without_restart() {
    pebble(None);
    let env = Env::new().await;
    let running = env
        .start("renew.test", HTTP01, "renewBefore = \"87600h\"")
        .await
        .unwrap();
    let first = wait_for_cert("renew.test", None, Duration::from_secs(60)).await;
    let second = wait_for_cert("renew.test", Some(&first), Duration::from_secs(60)).await;
    assert_ne!(first, second);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn corrupted_storage_is_reported_kept_and_backed_up_until_replaced() {
    let env = Env::new().await;
    let garbage = "{\"le\": {\"Certificates\": [ truncated";
    std::fs::write(env.storage(), garbage).unwrap();
    std::fs::set_permissions(env.storage(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let backup = env.dir.path().join("acme.json.bak");

    // With the CA down nothing can replace it: the file stays as it was, a backup exists.
    pebble(Some("stop"));
    let running = env.start("corrupt.test", HTTP01, "").await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(std::fs::read_to_string(env.storage()).unwrap(), garbage);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), garbage);
    assert_eq!(
        presented(websecure(), "corrupt.test").await,
        vec!["swarmgate.default.invalid"],
        "the default certificate serves meanwhile"
    );
    running.shutdown().await;

    // With the CA back, a new certificate replaces the file; the backup is kept.
    pebble(None);
    let running = env.start("corrupt.test", HTTP01, "").await.unwrap();
    wait_for_cert("corrupt.test", None, Duration::from_secs(60)).await;
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.storage()).unwrap()).unwrap();
    assert_eq!(
        stored["le"]["Certificates"][0]["domain"]["main"],
        "corrupt.test"
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), garbage);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_readable_storage_is_refused_at_start() {
    let env = Env::new().await;
    std::fs::write(env.storage(), "{}").unwrap();
    std::fs::set_permissions(env.storage(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = match env.start("perm.test", HTTP01, "").await {
        Ok(_) => panic!("start must fail"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("640") && err.contains("chmod 600"), "{err}");
}

/// The subject CN of Pebble's root `n` (management API).
fn pebble_root_cn(n: usize) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--cacert", &format!("{PEBBLE_DIR}/ca.pem")])
        .arg(format!("https://127.0.0.1:15000/roots/{n}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "Pebble has no root {n} (started without PEBBLE_ALTERNATE_ROOTS=1? `.ci/pebble-up.sh stop` and rerun)"
    );
    let der = rustls_pemfile::certs(&mut out.stdout.as_slice())
        .next()
        .unwrap()
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    let cn = cert.subject().iter_common_name().next().unwrap();
    cn.as_str().unwrap().to_string()
}

/// The issuer CN of the topmost certificate of the chain served for `host`.
async fn served_top_issuer(host: &str) -> String {
    let stream = connect(insecure_config(&["http/1.1"]), websecure(), host).await;
    let chain = stream.get_ref().1.peer_certificates().unwrap().to_vec();
    let (_, top) = x509_parser::parse_x509_certificate(chain.last().unwrap().as_ref()).unwrap();
    let cn = top.issuer().iter_common_name().next().unwrap();
    cn.as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Pebble (.ci/pebble-up.sh); run by .ci/test-all.sh"]
async fn preferred_chain_picks_the_alternate_whose_top_issuer_matches_else_the_default() {
    pebble(None);
    let (default_root, other_root) = (pebble_root_cn(0), pebble_root_cn(1));
    assert_ne!(default_root, other_root);

    // The alternate chain to Pebble's second root, trusted by a client knowing only that root.
    let env = Env::new().await;
    let extra = format!("preferredChain = {other_root:?}");
    let running = env.start("chain1.test", TLSALPN01, &extra).await.unwrap();
    wait_for_cert("chain1.test", None, Duration::from_secs(60)).await;
    assert_eq!(served_top_issuer("chain1.test").await, other_root);
    let out = std::process::Command::new("curl")
        .args(["-sf", "--cacert", &format!("{PEBBLE_DIR}/ca.pem")])
        .arg("https://127.0.0.1:15000/roots/1")
        .output()
        .unwrap();
    let stream = connect(trusting_config(&out.stdout), websecure(), "chain1.test").await;
    assert_eq!(request(stream, "chain1.test", "/").await.status, 200);
    running.shutdown().await;

    // The default chain's own root named: the default chain, as is.
    let env = Env::new().await;
    let extra = format!("preferredChain = {default_root:?}");
    let running = env.start("chain0.test", TLSALPN01, &extra).await.unwrap();
    wait_for_cert("chain0.test", None, Duration::from_secs(60)).await;
    assert_eq!(served_top_issuer("chain0.test").await, default_root);
    running.shutdown().await;

    // No chain matches: the default chain (lego's fallback).
    let env = Env::new().await;
    let running = env
        .start(
            "chain2.test",
            TLSALPN01,
            "preferredChain = \"No Such Root\"",
        )
        .await
        .unwrap();
    wait_for_cert("chain2.test", None, Duration::from_secs(60)).await;
    assert_eq!(served_top_issuer("chain2.test").await, default_root);
    running.shutdown().await;
}
