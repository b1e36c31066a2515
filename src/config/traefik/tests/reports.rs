//! Unit tests of what `config::traefik` reports: unsupported and ignored options, bad values,
//! missing required options, strict mode.

use super::{args, from_env, from_file, Source, StaticConfigError};
use super::{empty_dir, load_traefik, strings, LoadOptions};

#[test]
fn unknown_keys_are_listed_with_their_source() {
    let l = args(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.allowacmebypass",
        "--experimental.localplugins.x.modulename=m",
    ])
    .unwrap();
    let got: Vec<(&str, &str, &Source)> = l
        .unsupported
        .iter()
        .map(|u| (u.key.as_str(), u.written.as_str(), &u.source))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "entryPoints.web.allowacmebypass",
                "--entrypoints.web.allowacmebypass",
                &Source::Args
            ),
            (
                "experimental.localplugins.x",
                "--experimental.localplugins.x.modulename",
                &Source::Args
            ),
        ]
    );
    let e = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":80"),
        ("TRAEFIK_EXPERIMENTAL_PLUGINS_X_VERSION", "1"),
    ])
    .unwrap();
    assert_eq!(e.unsupported.len(), 1);
    assert_eq!(
        e.unsupported[0].written,
        "TRAEFIK_EXPERIMENTAL_PLUGINS_X_VERSION"
    );
    assert_eq!(e.unsupported[0].source, Source::Env);
    let f = from_file(
        "traefik.yml",
        "entryPoints:\n  web:\n    address: ':80'\n    allowACMEByPass: true\n",
    )
    .unwrap();
    assert_eq!(f.unsupported[0].key, "entryPoints.web.allowACMEByPass");
    assert!(matches!(f.unsupported[0].source, Source::File(_)));
}

#[test]
fn strict_mode_rejects_unsupported_options() {
    let dir = empty_dir();
    let strict = LoadOptions { strict: true };
    let err = load_traefik(
        &strings(&["--experimental.localplugins.x.modulename=m"]),
        &[],
        dir.path(),
        strict,
    )
    .unwrap_err();
    assert!(
        matches!(err, StaticConfigError::Unsupported(ref v) if v.len() == 1),
        "{err}"
    );
    let ok = load_traefik(&strings(&["--api"]), &[], dir.path(), strict);
    assert!(ok.is_ok());
}

#[test]
fn bad_values_name_key_and_value() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--providers.swarm.exposedByDefault=maybe"],
            "providers.swarm.exposedByDefault: invalid value \"maybe\": expected a boolean",
        ),
        (
            &["--providers.swarm.refreshSeconds=soon"],
            "providers.swarm.refreshSeconds: invalid value \"soon\": expected a duration",
        ),
        (
            &[
                "--entrypoints.web.address=:80",
                "--entrypoints.web.http2.maxConcurrentStreams=x",
            ],
            "entryPoints.web.http2.maxConcurrentStreams: invalid value \"x\": expected an integer",
        ),
        (
            &["--accesslog.format=xml"],
            "accessLog.format: invalid value \"xml\": expected one of common, json",
        ),
        (&["--api=perhaps"], "api: invalid value \"perhaps\""),
    ];
    for (a, want) in cases {
        let err = args(a).unwrap_err().to_string();
        // Named as written: the argument, not the canonical key.
        let (key, rest) = want.split_once(": ").unwrap();
        let written = a.last().unwrap().split('=').next().unwrap();
        assert!(
            err.contains(&format!("command-line arguments: {written}: {rest}")),
            "{a:?}: {err}"
        );
        assert!(
            written.eq_ignore_ascii_case(&format!("--{key}")),
            "{written} {key}"
        );
    }
    let err = from_file("traefik.yml", "entryPoints:\n  web:\n    address: [80]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "traefik.yml:3: entryPoints.web.address: invalid value \"[80]\": expected a string"
        ),
        "{err}"
    );
}

/// Five problems in one source, all reported at once, each with its location; before, loading
/// stopped at the first bad value.
#[test]
fn every_problem_of_a_source_is_reported_at_once() {
    let yml = "entryPoints:\n  web:\n    address: ':80'\n    transport:\n      respondingTimeouts:\n        readTimeout: xyz\n  other: {}\nproviders:\n  swarm:\n    exposedByDefault: maybe\n    exposedbydefualt: false\n";
    let err = from_file("traefik.yml", yml).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, StaticConfigError::Several(ref v) if v.len() == 4),
        "{msg}"
    );
    for want in [
        "4 problems, swarmgate does not start",
        "traefik.yml:11: providers.swarm.exposedbydefualt: not a Traefik option",
        "traefik.yml: entryPoints.other.address is required",
        "traefik.yml:6: entryPoints.web.transport.respondingTimeouts.readTimeout: invalid value \"xyz\"",
        "traefik.yml:10: providers.swarm.exposedByDefault: invalid value \"maybe\"",
    ] {
        assert!(msg.contains(want), "missing {want:?} in {msg}");
    }
    let err = args(&[
        "--entrypoints.web.address=:80",
        "--providers.swarm.exposedByDefault=maybe",
        "--api=perhaps",
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--providers.swarm.exposedByDefault: invalid value \"maybe\"")
            && err.contains("--api: invalid value \"perhaps\""),
        "{err}"
    );
    let err = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":80"),
        ("TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFAULT", "maybe"),
        ("TRAEFIK_API", "perhaps"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("environment: TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFAULT: invalid value")
            && err.contains("environment: TRAEFIK_API: invalid value"),
        "{err}"
    );
}

#[test]
fn required_options_are_reported() {
    let err = args(&["--entrypoints.web.http.middlewares=auth"]).unwrap_err();
    assert!(
        matches!(&err, StaticConfigError::Missing { key, .. } if key == "entryPoints.web.address"),
        "{err}"
    );
}

#[test]
fn accepted_but_ignored_options_are_listed_apart() {
    let l = args(&[
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.nocolor=true",
        "--providers.swarm.refreshSeconds=30s",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty());
    let keys: Vec<&str> = l.ignored.iter().map(|u| u.key.as_str()).collect();
    // `refreshSeconds` is applied (the resync period), so it is not listed as ignored.
    assert_eq!(
        keys,
        vec![
            "global.checkNewVersion",
            "global.sendAnonymousUsage",
            "log.noColor",
        ]
    );
    assert_eq!(l.config.global.unwrap().check_new_version, Some(false));
}

#[test]
fn unsupported_options_become_config_issues() {
    let l = args(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.allowacmebypass",
    ])
    .unwrap();
    let issue = l.unsupported[0].to_issue();
    assert_eq!(issue.element, crate::config::Element::Static);
    assert_eq!(issue.name, "entryPoints.web.allowacmebypass");
    assert_eq!(
        issue.key.as_deref(),
        Some("--entrypoints.web.allowacmebypass")
    );
    assert_eq!(issue.origin.as_deref(), Some("command-line arguments"));
}

#[test]
fn a_typo_is_refused_from_every_source_with_a_suggestion() {
    let want = "did you mean `providers.swarm.exposedByDefault`?";
    let a = args(&["--providers.swarm.exposedbydefualt=false"]).unwrap_err();
    let msg = a.to_string();
    assert!(
        matches!(a, StaticConfigError::Refused(ref v) if v.len() == 1),
        "{msg}"
    );
    assert!(
        msg.contains("command-line arguments: --providers.swarm.exposedbydefualt"),
        "{msg}"
    );
    assert!(msg.contains(want), "{msg}");
    let e = from_env(&[("TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFUALT", "false")]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("environment: TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFUALT"),
        "{msg}"
    );
    assert!(msg.contains(want), "{msg}");
    let yml = "entryPoints:\n  web:\n    address: ':80'\nproviders:\n  swarm:\n    exposedbydefualt: false\n";
    let f = from_file("traefik.yml", yml).unwrap_err().to_string();
    assert!(
        f.contains("traefik.yml:6: providers.swarm.exposedbydefualt"),
        "{f}"
    );
    assert!(f.contains(want), "{f}");
    let toml = "[entryPoints.web]\naddress = \":80\"\n\n[providers.swarm]\nnetwork = \"n\"\nexposedbydefualt = false\n";
    let t = from_file("traefik.toml", toml).unwrap_err().to_string();
    assert!(
        t.contains("traefik.toml:6: providers.swarm.exposedbydefualt"),
        "{t}"
    );
    // Every problem at once.
    let two = args(&["--entrypoints.web.adress=:80", "--api.insecur"]).unwrap_err();
    assert!(
        matches!(two, StaticConfigError::Refused(ref v) if v.len() == 2),
        "{two}"
    );
    let msg = two.to_string();
    assert!(
        msg.contains("did you mean `entryPoints.web.address`?"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `api.insecure`?"), "{msg}");
}

#[test]
fn real_traefik_options_without_effect_are_unsupported_one_per_option() {
    let l = args(&[
        "--metrics.prometheus.headerlabels.tenant=X-Tenant",
        "--experimental.localplugins.x.modulename=m",
        "--metrics.otlp.http.endpoint=http://collector:4318",
        "--metrics.otlp.pushinterval=10s",
    ])
    .unwrap();
    let keys: Vec<&str> = l.unsupported.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "experimental.localplugins.x",
            "metrics.prometheus.headerlabels.tenant"
        ]
    );
}

#[test]
fn every_push_exporter_of_traefik_is_read() {
    // Datadog, InfluxDB2 and TLS to OTLP collectors were refused by name until implemented.
    let ok = args(&[
        "--metrics.otlp.grpc.endpoint=collector:4317",
        "--metrics.otlp.grpc.insecure=true",
        "--metrics.statsd.address=statsd:8125",
        "--metrics.statsd.prefix=edge",
    ])
    .unwrap();
    assert!(ok.unsupported.is_empty(), "{:?}", ok.unsupported);
}

#[test]
fn otlp_tls_options_are_read_as_traefik_spells_them() {
    // Formerly refused as "TLS to the … collector".
    let l = args(&[
        "--tracing.otlp.grpc.endpoint=collector:4317",
        "--tracing.otlp.grpc.tls.ca=/ca.pem",
        "--tracing.otlp.grpc.tls.insecureskipverify=true",
        "--metrics.otlp.http.endpoint=https://collector:4318/v1/metrics",
        "--metrics.otlp.http.tls.cert=/client.pem",
        "--metrics.otlp.http.tls.key=/client.key",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    let grpc = l.config.tracing.unwrap().otlp.unwrap().grpc.unwrap();
    let tls = grpc.tls.unwrap();
    assert_eq!(tls.ca, "/ca.pem");
    assert!(tls.insecure_skip_verify);
    let http = l.config.metrics.unwrap().otlp.unwrap().http.unwrap();
    let tls = http.tls.unwrap();
    assert_eq!(
        (tls.cert.as_str(), tls.key.as_str()),
        ("/client.pem", "/client.key")
    );
    let env = from_env(&[("TRAEFIK_TRACING_OTLP_HTTP_TLS_CA", "/env-ca.pem")]).unwrap();
    let http = env.config.tracing.unwrap().otlp.unwrap().http.unwrap();
    assert_eq!(http.tls.unwrap().ca, "/env-ca.pem");
}

#[test]
fn datadog_and_influxdb2_are_read_as_traefik_spells_them() {
    let ok = args(&[
        "--metrics.datadog=true",
        "--metrics.datadog.address=unixgram:///run/dd.sock",
        "--metrics.datadog.pushInterval=5s",
        "--metrics.datadog.prefix=edge",
        "--metrics.datadog.addRoutersLabels=true",
        "--metrics.influxdb2.address=http://influx:8086",
        "--metrics.influxdb2.token=t",
        "--metrics.influxdb2.org=o",
        "--metrics.influxdb2.bucket=b",
        "--metrics.influxdb2.additionalLabels.host=edge1",
    ])
    .unwrap();
    assert!(ok.unsupported.is_empty(), "{:?}", ok.unsupported);
    let metrics = ok.config.metrics.unwrap();
    let dd = metrics.datadog.unwrap();
    assert_eq!(dd.address.as_deref(), Some("unixgram:///run/dd.sock"));
    assert_eq!(dd.prefix.as_deref(), Some("edge"));
    assert_eq!(dd.add_routers_labels, Some(true));
    let influx = metrics.influx_db2.unwrap();
    assert_eq!(influx.bucket.as_deref(), Some("b"));
    assert_eq!(influx.additional_labels["host"], "edge1");
    // The section alone, as Traefik's `allowEmpty`.
    let ok = args(&["--metrics.datadog=true"]).unwrap();
    assert!(ok.config.metrics.unwrap().datadog.is_some());
}

#[test]
fn unsupported_options_that_protect_refuse_to_start() {
    let err = args(&["--accesslog.fields.queryparameters.defaultmode=redact"]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StaticConfigError::Refused(_)), "{msg}");
    assert!(
        msg.contains("--accesslog.fields.queryparameters.defaultmode"),
        "{msg}"
    );
    assert!(msg.contains("refuses to start"), "{msg}");
    // Keeping a field asks for more, not less: a warning only.
    let keep = args(&["--accesslog.fields.queryparameters.defaultmode=keep"]).unwrap();
    assert_eq!(keep.unsupported.len(), 1, "{:?}", keep.unsupported);
    let err = args(&["--providers.swarm.tls.ca=/ca.pem"]).unwrap_err();
    assert!(matches!(err, StaticConfigError::Refused(_)), "{err}");
}

#[test]
fn file_variables_read_secrets_from_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = empty_dir();
    let secret = dir.path().join("hmac");
    std::fs::write(&secret, "s3cret-value\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o400)).unwrap();
    let email = dir.path().join("email");
    std::fs::write(&email, "ops@example.com\r\n").unwrap();
    std::fs::set_permissions(&email, std::fs::Permissions::from_mode(0o640)).unwrap();
    let env = super::env(&[
        ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":80"),
        (
            "TRAEFIK_CERTIFICATESRESOLVERS_LE_ACME_EMAIL_FILE",
            email.to_str().unwrap(),
        ),
        (
            "TRAEFIK_PROVIDERS_SWARM_ENDPOINT_FILE",
            secret.to_str().unwrap(),
        ),
        // A real option whose name ends in _FILE keeps its meaning.
        ("TRAEFIK_PROVIDERS_FILE", "true"),
    ]);
    let l = load_traefik(&[], &env, dir.path(), LoadOptions::default()).unwrap();
    let acme = l.config.certificates_resolvers["le"].acme.as_ref().unwrap();
    assert_eq!(acme.email.as_deref(), Some("ops@example.com"));
    let swarm = l.config.providers.swarm.as_ref().unwrap();
    assert_eq!(swarm.endpoint, "s3cret-value");
    assert!(l.config.providers.file.is_some());

    // Readable by every user: refused, naming the variable and the file.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_traefik(&[], &env, dir.path(), LoadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StaticConfigError::Secret { .. }), "{msg}");
    assert!(
        msg.contains("TRAEFIK_PROVIDERS_SWARM_ENDPOINT_FILE"),
        "{msg}"
    );
    assert!(msg.contains("readable by every user (mode 644)"), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
    // Missing.
    let env = super::env(&[("TRAEFIK_API_INSECURE_FILE", "/nonexistent/secret")]);
    let err = load_traefik(&[], &env, dir.path(), LoadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("TRAEFIK_API_INSECURE_FILE: secret file /nonexistent/secret"),
        "{msg}"
    );
}

#[test]
fn udp_timeout_is_read_from_every_source() {
    let l = args(&[
        "--entrypoints.dns.address=:53/udp",
        "--entrypoints.dns.udp.timeout=5s",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    let dns = &l.config.entry_points["dns"];
    assert!(dns.is_udp());
    assert_eq!(dns.udp_timeout(), Ok(std::time::Duration::from_secs(5)));
    let e = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_DNS_ADDRESS", ":53/udp"),
        ("TRAEFIK_ENTRYPOINTS_DNS_UDP_TIMEOUT", "10"),
    ])
    .unwrap();
    let dns = &e.config.entry_points["dns"];
    assert_eq!(dns.udp_timeout(), Ok(std::time::Duration::from_secs(10)));
    let f = from_file(
        "traefik.yml",
        "entryPoints:\n  dns:\n    address: ':53/udp'\n",
    )
    .unwrap();
    // Traefik's default.
    let dns = &f.config.entry_points["dns"];
    assert_eq!(dns.udp_timeout(), Ok(std::time::Duration::from_secs(3)));
    // A typo is refused with the nearest option.
    let typo = args(&[
        "--entrypoints.dns.address=:53/udp",
        "--entrypoints.dns.udp.timout=5s",
    ]);
    let message = match typo {
        Ok(l) => format!("{:?}", l.unsupported),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("timeout"), "{message}");
}
