//! The `swarmgate` binary: `check` and `version`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn swarmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swarmgate"))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn version_prints_the_crate_version() {
    let out = swarmgate().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("swarmgate {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_rejects_a_bad_rule_with_its_column_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    broken:\n      rule: \"Host(`a.com`) && PathPrefix(`/x`\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers: [{url: \"http://127.0.0.1:1\"}]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("router \"broken@file\""), "{stdout}");
    assert!(stdout.contains("rule"), "{stdout}");
    assert!(
        stdout.contains("column"),
        "the error points at a column: {stdout}"
    );
}

#[test]
fn check_accepts_a_good_configuration() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.toml",
        "[http.routers.r]\nrule = \"Host(`a.com`)\"\nservice = \"s\"\n[http.services.s.loadBalancer]\nservers = [{url = \"http://127.0.0.1:1\"}]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.toml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn check_reports_references_to_missing_services_and_middlewares() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: nowhere\n    m:\n      rule: \"PathPrefix(`/m`)\"\n      service: demo@internal\n      middlewares: [missing]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("\"r@file\"") && stdout.contains("nowhere"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"m@file\"") && stdout.contains("missing"),
        "{stdout}"
    );
}

#[test]
fn the_shipped_example_configuration_checks_clean() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/swarmgate.example.toml");
    let out = swarmgate()
        .args(["check", "--config", cfg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_embedded_default_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = swarmgate()
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("static configuration from"), "{stdout}");
}

#[test]
fn migrate_prints_native_toml_for_traefik_arguments() {
    let out = swarmgate()
        .args([
            "migrate",
            "--entrypoints.web.address=:80",
            "--providers.swarm.exposedByDefault=false",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let parsed: swarmgate::config::StaticConfig = toml::from_str(&stdout).unwrap();
    assert_eq!(parsed.entry_points["web"].address, ":80");
    assert!(!parsed.providers.swarm.unwrap().exposed_by_default);
}

#[test]
fn check_reports_tls_options_that_cannot_be_applied() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    old:\n      rule: \"Host(`old.test`)\"\n      service: demo@internal\n      tls: { options: legacy }\n    typo:\n      rule: \"Host(`typo.test`)\"\n      service: demo@internal\n      tls: { options: modren }\ntls:\n  options:\n    legacy:\n      cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n    modern:\n      minVersion: VersionTLS13\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8443\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for needle in [
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not available",
        "\"old@file\"",
        "\"modren@file\" do not exist",
    ] {
        assert!(stdout.contains(needle), "{needle} not in {stdout}");
    }
}
