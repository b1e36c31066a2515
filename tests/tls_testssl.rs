//! testssl.sh (Debian's `testssl.sh` package, binary `testssl`) against swarmgate's TLS
//! listener on 127.0.0.1: on the default options it finds no protocol older than TLS 1.2 and
//! nothing of severity MEDIUM or worse; with an options set of `minVersion: VersionTLS13` it
//! sees TLS 1.3 only. Needs the package, so `#[ignore]`d; `.ci/test-all.sh` runs it in the
//! background `testssl` stage:
//! `cargo test --test tls_testssl -- --ignored --nocapture --test-threads=1`.
//! `TESTSSL_BIN` overrides the binary.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{backend, gateway};

/// The protocol probes testssl reports (`id` in its JSON) and whether each was offered.
const PROTOCOLS: &[&str] = &["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"];

/// A certificate as a real deployment would have one (90 days, ECDSA P-256, a SAN for the
/// host), so that testssl's certificate checks judge the TLS set-up rather than a test
/// certificate valid for centuries. Its own file is passed as a trusted CA (`--add-ca`).
fn write_cert(dir: &Path, host: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let (y, m, d) = civil(days as i64 - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil(days as i64 + 89);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    // Where revocation would be published (testssl asks only that one is named).
    params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
        uris: vec!["http://127.0.0.1:9/test.crl".to_string()],
    }];
    let cert = params.self_signed(&key).unwrap();
    let cert_file = dir.join("server.crt");
    let key_file = dir.join("server.key");
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

#[test]
fn civil_dates() {
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(20_794), (2026, 12, 7));
    assert_eq!(civil(11_016), (2000, 2, 29));
}

/// One testssl finding.
#[derive(Debug, Clone)]
struct Finding {
    id: String,
    severity: String,
    finding: String,
}

/// Runs testssl against `host` on swarmgate's listener, with `options` as the router's TLS
/// options (YAML for `tls.options`, referenced as `checked`), and returns its findings.
async fn scan(host: &str, options: &str) -> Vec<Finding> {
    let bin = std::env::var("TESTSSL_BIN").unwrap_or_else(|_| "testssl".to_string());
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_cert(dir.path(), host);
    let app = backend("app").await;
    let yaml = format!(
        r#"http:
  routers:
    app:
      rule: "Host(`{host}`)"
      service: app
      tls: {{ options: checked }}
  services:
    app:
      loadBalancer:
        servers:
          - url: "{backend}"
tls:
  certificates:
    - certFile: "{cert}"
      keyFile: "{key}"
  options:
    checked: {options}
"#,
        backend = app.url(),
    );
    let gw = gateway(&yaml).await;
    let json = dir.path().join("testssl.json");
    // Protocols, standard cipher categories, forward secrecy, server preferences, server
    // defaults (certificate) and the vulnerabilities: everything that judges the TLS set-up,
    // without the HTTP header checks (those belong to the application behind the router).
    // `--fast` and the timeouts keep a run under about two minutes on a loaded machine.
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.args(["--quiet", "--color", "0", "--warnings", "off", "--fast"])
        .args(["--connect-timeout", "10", "--openssl-timeout", "10"])
        .args(["-p", "-s", "-f", "-P", "-S", "-U"])
        .args(["--add-ca", &cert])
        .args(["--ip", "127.0.0.1"])
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("{host}:{}", gw.addr.port()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = match cmd.spawn() {
        Ok(child) => tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
            .await
            .expect("testssl ran over 5 minutes")
            .unwrap(),
        Err(e) => panic!("cannot run {bin} (apt-get install testssl.sh): {e}"),
    };
    println!("{}", String::from_utf8_lossy(&out.stdout));
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "testssl wrote no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    gw.stop().await;
    let field = |row: &serde_json::Value, name: &str| {
        row.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let findings: Vec<Finding> = rows
        .iter()
        .map(|row| Finding {
            id: field(row, "id"),
            severity: field(row, "severity"),
            finding: field(row, "finding"),
        })
        .collect();
    // What testssl judged below MEDIUM but not OK, for the log.
    for f in findings
        .iter()
        .filter(|f| matches!(f.severity.as_str(), "LOW" | "WARN"))
    {
        println!("testssl {}: {} {}", f.severity, f.id, f.finding);
    }
    findings
}

/// Which protocols testssl found offered (`offered` without `not`).
fn offered(findings: &[Finding]) -> BTreeMap<String, bool> {
    PROTOCOLS
        .iter()
        .map(|p| {
            let row = findings
                .iter()
                .find(|f| f.id == *p)
                .unwrap_or_else(|| panic!("testssl reported nothing on {p}: {findings:#?}"));
            let text = row.finding.to_ascii_lowercase();
            (
                p.to_string(),
                text.contains("offered") && !text.contains("not offered"),
            )
        })
        .collect()
}

fn at_least_medium(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| matches!(f.severity.as_str(), "MEDIUM" | "HIGH" | "CRITICAL"))
        .collect()
}

/// testssl's own trouble (a probe it could not run) shows as WARN or FATAL: that is no pass.
fn scan_errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| matches!(f.severity.as_str(), "FATAL"))
        .collect()
}

#[tokio::test]
#[ignore = "needs testssl.sh (apt-get install testssl.sh); run by .ci/test-all.sh"]
async fn testssl_finds_nothing_on_default_options() {
    // `{}`: an options set with nothing changed is Traefik's defaults.
    let findings = scan("default.test", "{}").await;
    assert!(scan_errors(&findings).is_empty(), "{findings:#?}");
    let offered = offered(&findings);
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert!(!offered[old], "{old} offered: {offered:?}");
    }
    assert!(offered["TLS1_2"] && offered["TLS1_3"], "{offered:?}");
    let bad = at_least_medium(&findings);
    assert!(
        bad.is_empty(),
        "findings of severity MEDIUM or worse: {bad:#?}"
    );
}

#[tokio::test]
#[ignore = "needs testssl.sh (apt-get install testssl.sh); run by .ci/test-all.sh"]
async fn testssl_sees_tls13_only_with_min_version_tls13() {
    let findings = scan("modern.test", "{ minVersion: VersionTLS13 }").await;
    assert!(scan_errors(&findings).is_empty(), "{findings:#?}");
    let offered = offered(&findings);
    let only: Vec<&String> = offered
        .iter()
        .filter(|(_, on)| **on)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(only, ["TLS1_3"], "{offered:?}");
    let bad = at_least_medium(&findings);
    assert!(
        bad.is_empty(),
        "findings of severity MEDIUM or worse: {bad:#?}"
    );
}
