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
fn tls_collectors_are_accepted() {
    // Formerly refused by name: https endpoints, `tls` blocks, gRPC without `insecure`.
    let https = with_otlp(OtlpConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("https://collector:4318/v1/traces".into()),
            tls: Some(ClientTlsConfig {
                ca: "/etc/ca.pem".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        grpc: None,
    });
    assert_eq!(https.problem(), None);
    let grpc = OtlpGrpcConfig::default();
    assert!(grpc.uses_tls(), "Traefik's default for gRPC is TLS");
    assert_eq!(
        with_otlp(OtlpConfig {
            http: None,
            grpc: Some(grpc),
        })
        .problem(),
        None
    );
    let both = OtlpGrpcConfig {
        insecure: true,
        tls: Some(ClientTlsConfig::default()),
        ..Default::default()
    };
    let problem = with_otlp(OtlpConfig {
        http: None,
        grpc: Some(both.clone()),
    })
    .problem()
    .unwrap();
    assert!(problem.contains("tracing.otlp.grpc") && problem.contains("mutually exclusive"));
    let problem = OtlpMetricsConfig {
        grpc: Some(both),
        ..Default::default()
    }
    .problem()
    .unwrap();
    assert!(problem.contains("metrics.otlp.grpc") && problem.contains("mutually exclusive"));
    assert!(!OtlpGrpcConfig {
        insecure: true,
        ..Default::default()
    }
    .uses_tls());
    let metrics = OtlpMetricsConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("https://collector:4318/v1/metrics".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(metrics.problem(), None);
    let metrics_grpc = OtlpMetricsConfig {
        grpc: Some(OtlpGrpcConfig::default()),
        ..Default::default()
    };
    assert_eq!(metrics_grpc.problem(), None);
}

#[test]
fn what_cannot_be_applied_is_refused_by_name() {
    let rate = TracingConfig {
        sample_rate: Some(1.5),
        ..Default::default()
    };
    assert!(rate.problem().unwrap().contains("tracing.sampleRate"));
    let clear_with_tls = with_otlp(OtlpConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("http://collector:4318/v1/traces".into()),
            tls: Some(ClientTlsConfig::default()),
            ..Default::default()
        }),
        grpc: None,
    });
    let problem = clear_with_tls.problem().unwrap();
    assert!(problem.contains("tracing.otlp.http.tls"), "{problem}");
    assert!(problem.contains("https://"), "{problem}");
    let not_a_url = with_otlp(OtlpConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("ftp://collector/v1/traces".into()),
            ..Default::default()
        }),
        grpc: None,
    });
    assert!(not_a_url
        .problem()
        .unwrap()
        .contains("tracing.otlp.http.endpoint"));
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
    let clear_with_tls = OtlpMetricsConfig {
        http: Some(OtlpHttpConfig {
            endpoint: Some("http://collector:4318/v1/metrics".into()),
            tls: Some(ClientTlsConfig::default()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(clear_with_tls
        .problem()
        .unwrap()
        .contains("metrics.otlp.http.tls"));
    let grpc = OtlpMetricsConfig {
        grpc: Some(OtlpGrpcConfig {
            endpoint: Some("not host port".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(grpc.problem().unwrap().contains("metrics.otlp.grpc"));
    let bounds = OtlpMetricsConfig {
        explicit_boundaries: vec![0.1, f64::NAN],
        ..Default::default()
    };
    assert!(bounds.problem().unwrap().contains("explicitBoundaries"));
}

#[test]
fn router_switches_default_from_the_entrypoint_and_override_it() {
    let obs = |a: Option<bool>, m: Option<bool>, t: Option<bool>, v: Option<TraceVerbosity>| {
        EntryPointObservability {
            access_logs: a,
            metrics: m,
            tracing: t,
            trace_verbosity: v,
        }
    };
    // Nothing set anywhere: all on, minimal.
    assert_eq!(Switches::resolve(None, None), Switches::default());
    assert!(Switches::default().access_logs && !Switches::default().detailed);
    let ep = obs(
        Some(false),
        Some(false),
        None,
        Some(TraceVerbosity::Detailed),
    );
    // A router without `observability` takes the entrypoint's switches.
    let s = Switches::resolve(None, Some(&ep));
    assert!(!s.access_logs && !s.metrics && s.tracing && s.detailed);
    // The router's own values win, one by one.
    let router = obs(Some(true), None, None, Some(TraceVerbosity::Minimal));
    let s = Switches::resolve(Some(&router), Some(&ep));
    assert!(s.access_logs && !s.metrics && s.tracing && !s.detailed);
    // Tracing off: no detailed spans either, whatever the verbosity.
    let router = obs(None, None, Some(false), None);
    let s = Switches::resolve(Some(&router), Some(&ep));
    assert!(!s.tracing && !s.detailed);
    // A router turns tracing on where its entrypoint turned it off.
    let off = obs(None, None, Some(false), None);
    let on = obs(None, None, Some(true), None);
    assert!(Switches::resolve(Some(&on), Some(&off)).tracing);
    assert!(!Switches::resolve(None, Some(&off)).tracing);
}

#[test]
fn router_observability_reads_its_four_keys_and_refuses_others() {
    let r: crate::config::dynamic::RouterConfig = serde_json::from_value(serde_json::json!({
        "rule": "Host(`a`)", "service": "s",
        "observability": {"accessLogs": false, "metrics": true, "tracing": false,
                          "traceVerbosity": "detailed"}
    }))
    .unwrap();
    let o = r.observability.unwrap();
    assert_eq!(o.access_logs, Some(false));
    assert_eq!(o.metrics, Some(true));
    assert_eq!(o.tracing, Some(false));
    assert_eq!(o.trace_verbosity, Some(TraceVerbosity::Detailed));
    let bad = serde_json::from_value::<crate::config::dynamic::RouterConfig>(serde_json::json!({
        "rule": "Host(`a`)", "service": "s", "observability": {"accesLogs": false}
    }))
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("accesLogs") && bad.contains("accessLogs"),
        "{bad}"
    );
}
