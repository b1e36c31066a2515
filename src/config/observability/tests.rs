use super::*;

fn with_otlp(otlp: OtlpConfig) -> TracingConfig {
    TracingConfig {
        otlp: Some(otlp),
        ..Default::default()
    }
}

#[test]
fn defaults_and_plain_collectors_are_accepted() {
    assert_eq!(TracingConfig::default().problem(), None);
    let http = with_otlp(OtlpConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("http://collector:4318/v1/traces".into()),
            ..Default::default()
        }),
        grpc: None,
    });
    assert_eq!(http.problem(), None);
    let grpc = with_otlp(OtlpConfig {
        http: None,
        grpc: Some(OtlpGrpcConfig {
            endpoint: Some("collector:4317".into()),
            insecure: true,
            ..Default::default()
        }),
    });
    assert_eq!(grpc.problem(), None);
}

#[test]
fn what_cannot_be_applied_is_refused_by_name() {
    let rate = TracingConfig {
        sample_rate: Some(1.5),
        ..Default::default()
    };
    assert!(rate.problem().unwrap().contains("tracing.sampleRate"));
    let https = with_otlp(OtlpConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("https://collector:4318/v1/traces".into()),
            ..Default::default()
        }),
        grpc: None,
    });
    assert!(https
        .problem()
        .unwrap()
        .contains("tracing.otlp.http.endpoint"));
    let tls_grpc = with_otlp(OtlpConfig {
        http: None,
        grpc: Some(OtlpGrpcConfig::default()),
    });
    assert!(tls_grpc.problem().unwrap().contains("insecure"));
    let both = with_otlp(OtlpConfig {
        http: Some(OtlpHttpConfig::default()),
        grpc: Some(OtlpGrpcConfig {
            insecure: true,
            ..Default::default()
        }),
    });
    assert!(both.problem().unwrap().contains("both"));
    let header = TracingConfig {
        captured_request_headers: vec!["bad header".into()],
        ..Default::default()
    };
    assert!(header.problem().unwrap().contains("bad header"));
}

#[test]
fn metrics_otlp_refuses_what_it_cannot_apply() {
    assert_eq!(OtlpMetricsConfig::default().problem(), None);
    let https = OtlpMetricsConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("https://collector:4318/v1/metrics".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(https
        .problem()
        .unwrap()
        .contains("metrics.otlp.http.endpoint"));
    let grpc = OtlpMetricsConfig {
        grpc: Some(OtlpGrpcConfig::default()),
        ..Default::default()
    };
    assert!(grpc.problem().unwrap().contains("metrics.otlp.grpc"));
    let bounds = OtlpMetricsConfig {
        explicit_boundaries: vec![0.1, f64::NAN],
        ..Default::default()
    };
    assert!(bounds.problem().unwrap().contains("explicitBoundaries"));
}
