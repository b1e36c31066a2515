use super::context::{format_traceparent, hex, parse_traceparent, sample};
use super::request::redact_query;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn traceparent_of_the_w3c_example_is_read() {
    let tp = parse_traceparent(VALID.as_bytes()).unwrap();
    assert_eq!(hex(&tp.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&tp.parent_id), "00f067aa0ba902b7");
    assert!(tp.sampled);
    let unsampled = VALID.replace("-01", "-00");
    assert!(!parse_traceparent(unsampled.as_bytes()).unwrap().sampled);
}

#[test]
fn malformed_traceparents_start_a_fresh_trace() {
    for bad in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] {
        assert!(parse_traceparent(bad.as_bytes()).is_none(), "{bad}");
    }
    // A later version may carry more fields after a dash.
    let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what";
    assert!(parse_traceparent(future.as_bytes()).is_some());
}

#[test]
fn traceparent_is_written_back_as_read() {
    let tp = parse_traceparent(VALID.as_bytes()).unwrap();
    let out = format_traceparent(&tp.trace_id, &tp.parent_id, true);
    assert_eq!(out.to_str().unwrap(), VALID);
    let out = format_traceparent(&tp.trace_id, &tp.parent_id, false);
    assert!(out.to_str().unwrap().ends_with("-00"));
}

#[test]
fn ids_are_fresh() {
    let a = super::context::new_trace_id();
    let b = super::context::new_trace_id();
    assert_ne!(a, b);
    assert_ne!(super::context::new_span_id(), super::context::new_span_id());
}

#[test]
fn sample_rate_bounds_and_proportion() {
    assert!((0..100).all(|_| sample(1.0)));
    assert!((0..100).all(|_| !sample(0.0)));
    let kept = (0..10_000).filter(|_| sample(0.25)).count();
    assert!((2_000..3_000).contains(&kept), "{kept}");
}

#[test]
fn query_values_are_redacted_unless_safe() {
    let safe = vec!["page".to_string()];
    assert_eq!(
        redact_query("token=s3cret&page=2&a", &safe),
        "a=REDACTED&page=2&token=REDACTED"
    );
    assert_eq!(redact_query("", &safe), "");
}

mod tls_targets {
    use super::super::{otlp_target, Target};
    use crate::config::observability::{ClientTlsConfig, OtlpGrpcConfig, OtlpHttpConfig};

    fn http(endpoint: &str, tls: Option<ClientTlsConfig>) -> OtlpHttpConfig {
        OtlpHttpConfig {
            endpoint: Some(endpoint.into()),
            tls,
            ..Default::default()
        }
    }

    fn target_of(http: Option<&OtlpHttpConfig>, grpc: Option<&OtlpGrpcConfig>) -> Target {
        otlp_target(
            "tracing.otlp",
            http,
            grpc,
            "http://x/v1/traces",
            "/v1/traces",
        )
        .unwrap()
    }

    #[test]
    fn https_and_grpc_without_insecure_get_tls_and_clear_text_does_not() {
        let https = http("https://collector:4318", None);
        match target_of(Some(&https), None) {
            Target::Http { uri, tls, .. } => {
                assert_eq!(uri.to_string(), "https://collector:4318/v1/traces");
                assert!(tls.is_some(), "https gets the built-in roots");
            }
            other => panic!("{other:?}"),
        }
        let plain = http("http://collector:4318", None);
        assert!(matches!(
            target_of(Some(&plain), None),
            Target::Http { tls: None, .. }
        ));
        let grpc = OtlpGrpcConfig::default();
        assert!(matches!(
            target_of(None, Some(&grpc)),
            Target::Grpc { tls: Some(_), .. }
        ));
        let h2c = OtlpGrpcConfig {
            insecure: true,
            ..Default::default()
        };
        assert!(matches!(
            target_of(None, Some(&h2c)),
            Target::Grpc { tls: None, .. }
        ));
    }

    #[test]
    fn unreadable_or_bad_pem_is_refused_naming_the_option() {
        let dir = std::env::temp_dir().join(format!("sg-otls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let missing = dir.join("missing.pem").display().to_string();
        let cases = [
            (
                ClientTlsConfig {
                    ca: missing.clone(),
                    ..Default::default()
                },
                "tracing.otlp.http.tls.ca",
                "cannot read",
            ),
            (
                ClientTlsConfig {
                    ca: not_pem.display().to_string(),
                    ..Default::default()
                },
                "tracing.otlp.http.tls.ca",
                "no certificate",
            ),
            (
                ClientTlsConfig {
                    cert: missing.clone(),
                    key: missing.clone(),
                    ..Default::default()
                },
                "tracing.otlp.http.tls.cert",
                "cannot read",
            ),
            (
                ClientTlsConfig {
                    cert: missing.clone(),
                    ..Default::default()
                },
                "tracing.otlp.http.tls.key",
                "required",
            ),
        ];
        for (tls, option, reason) in cases {
            let cfg = http("https://collector:4318", Some(tls));
            let err = otlp_target("tracing.otlp", Some(&cfg), None, "http://x", "/v1/traces")
                .unwrap_err();
            assert!(err.contains(option) && err.contains(reason), "{err}");
        }
        let grpc = OtlpGrpcConfig {
            tls: Some(ClientTlsConfig {
                ca: not_pem.display().to_string(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err =
            otlp_target("metrics.otlp", None, Some(&grpc), "http://x", "/v1/metrics").unwrap_err();
        assert!(err.contains("metrics.otlp.grpc.tls.ca"), "{err}");
        // A key is never shown.
        let key = ClientTlsConfig {
            cert: not_pem.display().to_string(),
            key: "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n".into(),
            ..Default::default()
        };
        let cfg = http("https://collector:4318", Some(key));
        let err =
            otlp_target("tracing.otlp", Some(&cfg), None, "http://x", "/v1/traces").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
