use super::*;

#[test]
fn addresses_are_host_and_port() {
    assert_eq!(split_address("10.0.0.1:53"), Ok(("10.0.0.1", 53)));
    assert_eq!(split_address("[::1]:5353"), Ok(("::1", 5353)));
    assert_eq!(split_address("dns.internal:53"), Ok(("dns.internal", 53)));
    for bad in [
        "10.0.0.1",
        ":53",
        "10.0.0.1:0",
        "10.0.0.1:65536",
        "::1:53",
        "a:b",
    ] {
        assert!(split_address(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_service_has_exactly_one_valid_kind() {
    let lb = |addresses: &[&str]| UdpServiceConfig {
        load_balancer: Some(UdpLoadBalancerConfig {
            servers: addresses
                .iter()
                .map(|a| UdpServerConfig {
                    address: a.to_string(),
                })
                .collect(),
        }),
        weighted: None,
    };
    assert!(lb(&["127.0.0.1:53"]).validate().is_ok());
    let bad = lb(&["127.0.0.1:53", "nope"]).validate().unwrap_err();
    assert!(bad.contains("servers[1]"), "{bad}");
    assert!(UdpServiceConfig::default().validate().is_err());
    let weighted = |weight: i64| UdpServiceConfig {
        load_balancer: None,
        weighted: Some(UdpWeightedConfig {
            services: vec![UdpWeightedServiceRef {
                name: "a".into(),
                weight: Some(weight),
            }],
        }),
    };
    assert!(weighted(0).validate().is_ok());
    assert!(weighted(-1).validate().unwrap_err().contains("weight"));
    let mut both = lb(&[]);
    both.weighted = weighted(1).weighted;
    assert!(both.validate().unwrap_err().contains("exclusive"));
}
