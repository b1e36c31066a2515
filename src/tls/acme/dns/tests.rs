use std::collections::HashMap;

use super::*;
use crate::config::static_config::{DnsChallengeConfig, PropagationConfig};

fn build(provider: &str, vars: &[(&str, &str)]) -> Result<Dns01, SetupError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| map.get(k).cloned();
    let cfg = DnsChallengeConfig {
        provider: provider.into(),
        ..Default::default()
    };
    Dns01::new(&cfg, &Env::new(&lookup))
}

#[test]
fn an_unknown_provider_is_refused_with_the_nearest_name() {
    let err = build("rfc2163", &[]).unwrap_err();
    assert_eq!(
        err,
        SetupError::UnknownProvider {
            name: "rfc2163".into(),
            nearest: Some("rfc2136")
        }
    );
    let text = err.to_string();
    assert!(text.contains("did you mean \"rfc2136\""), "{text}");
    assert_eq!(build("", &[]).unwrap_err(), SetupError::NoProvider);
}

#[test]
fn missing_variables_are_named() {
    let err = build("rfc2136", &[]).unwrap_err();
    assert_eq!(
        err,
        SetupError::Missing {
            provider: "rfc2136",
            vars: vec!["RFC2136_NAMESERVER"]
        }
    );
    assert!(err.to_string().contains("RFC2136_NAMESERVER"));
    let err = build(
        "rfc2136",
        &[
            ("RFC2136_NAMESERVER", "127.0.0.1"),
            ("RFC2136_TSIG_KEY", "k"),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().contains("RFC2136_TSIG_SECRET"), "{err}");
    assert!(build("exec", &[])
        .unwrap_err()
        .to_string()
        .contains("EXEC_PATH"));
    assert!(build("httpreq", &[])
        .unwrap_err()
        .to_string()
        .contains("HTTPREQ_ENDPOINT"));
}

#[test]
fn malformed_variables_are_refused() {
    let err = build(
        "rfc2136",
        &[
            ("RFC2136_NAMESERVER", "127.0.0.1:5353"),
            ("RFC2136_TSIG_KEY", "k"),
            ("RFC2136_TSIG_SECRET", "c2VjcmV0"),
            ("RFC2136_TSIG_ALGORITHM", "hmac-sha3."),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(&err, SetupError::Invalid { var, .. } if var == "RFC2136_TSIG_ALGORITHM"),
        "{err}"
    );
    let err = build(
        "rfc2136",
        &[("RFC2136_NAMESERVER", "127.0.0.1"), ("RFC2136_TTL", "2m")],
    )
    .unwrap_err();
    assert!(
        matches!(&err, SetupError::Invalid { var, .. } if var == "RFC2136_TTL"),
        "{err}"
    );
    let err = build("httpreq", &[("HTTPREQ_ENDPOINT", "ftp://x")]).unwrap_err();
    assert!(
        matches!(&err, SetupError::Invalid { var, .. } if var == "HTTPREQ_ENDPOINT"),
        "{err}"
    );
}

#[test]
fn file_variants_are_read_for_docker_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("tsig");
    std::fs::write(&secret, "c2VjcmV0\n").unwrap();
    let path = secret.display().to_string();
    let ok = build(
        "rfc2136",
        &[
            ("RFC2136_NAMESERVER", "127.0.0.1:5353"),
            ("RFC2136_TSIG_KEY", "k"),
            ("RFC2136_TSIG_SECRET_FILE", &path),
            ("RFC2136_PROPAGATION_TIMEOUT", "7"),
        ],
    )
    .unwrap();
    assert_eq!(ok.check.timing.propagation_timeout, Duration::from_secs(7));
    let err = build(
        "rfc2136",
        &[
            ("RFC2136_NAMESERVER", "127.0.0.1:5353"),
            ("RFC2136_TSIG_KEY", "k"),
            ("RFC2136_TSIG_SECRET_FILE", "/nonexistent/secret"),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(&err, SetupError::Invalid { var, .. } if var == "RFC2136_TSIG_SECRET_FILE"),
        "{err}"
    );
}

#[test]
fn propagation_options_old_and_new_names() {
    let timing = Timing {
        propagation_timeout: Duration::from_secs(60),
        polling_interval: Duration::from_secs(2),
    };
    let old = DnsChallengeConfig {
        provider: "exec".into(),
        delay_before_check: Some(crate::config::Duration::from_secs(3)),
        disable_propagation_check: true,
        ..Default::default()
    };
    let c = propagation::Check::new(&old, Vec::new(), timing);
    assert!(c.disabled);
    assert_eq!(c.delay, Duration::from_secs(3));
    let new = DnsChallengeConfig {
        provider: "exec".into(),
        delay_before_check: Some(crate::config::Duration::from_secs(3)),
        propagation: Some(PropagationConfig {
            delay_before_checks: Some(crate::config::Duration::from_secs(5)),
            disable_checks: false,
            require_all_rns: true,
            disable_ans_checks: true,
        }),
        ..Default::default()
    };
    let c = propagation::Check::new(&new, Vec::new(), timing);
    assert!(!c.disabled && c.require_all_rns && c.disable_ans);
    assert_eq!(c.delay, Duration::from_secs(5));
}

#[test]
fn records_name_the_base_domain_of_a_wildcard() {
    let r = TxtRecord::new("*.Example.test", "t", "t.k", "v");
    assert_eq!(r.domain, "example.test");
    assert_eq!(r.fqdn, "_acme-challenge.example.test.");
}

#[tokio::test]
async fn exec_raw_mode_passes_domain_token_and_key_authorization() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hook.sh");
    let out = dir.path().join("args");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = script.display().to_string();
    let raw = build("exec", &[("EXEC_PATH", &path), ("EXEC_MODE", "RAW")]).unwrap();
    let record = TxtRecord::new("*.example.com", "tok", "tok.thumb", "val");
    raw.provider.present(&record).await.unwrap();
    raw.provider.cleanup(&record).await.unwrap();
    let plain = build("exec", &[("EXEC_PATH", &path)]).unwrap();
    plain.provider.present(&record).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "present example.com tok tok.thumb\ncleanup example.com tok tok.thumb\npresent _acme-challenge.example.com. val\n"
    );
    // A failing program is an error carrying its output.
    std::fs::write(&script, "#!/bin/sh\necho 'zone refused' >&2\nexit 3\n").unwrap();
    let err = plain
        .provider
        .present(&record)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("zone refused"), "{err}");
    let err = build("exec", &[("EXEC_PATH", &path), ("EXEC_MODE", "JSON")]).unwrap_err();
    assert!(
        matches!(&err, SetupError::Invalid { var, .. } if var == "EXEC_MODE"),
        "{err}"
    );
}

#[tokio::test]
async fn manual_waits_at_most_its_timeout() {
    let manual = build("manual", &[("MANUAL_TIMEOUT", "1")]).unwrap();
    let record = TxtRecord::new("example.com", "t", "t.k", "v");
    let started = std::time::Instant::now();
    manual.provider.present(&record).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    manual.provider.cleanup(&record).await.unwrap();
    assert_eq!(
        manual.check.timing.propagation_timeout,
        Duration::from_secs(600)
    );
}
