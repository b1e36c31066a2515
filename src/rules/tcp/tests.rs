use super::*;

fn view<'a>(sni: &'a str, alpn: &'a [String], ip: &str) -> ConnView<'a> {
    ConnView {
        server_name: sni,
        alpn,
        client_ip: ip.parse().unwrap(),
    }
}

fn matches(rule: &str, sni: &str, alpn: &[&str], ip: &str) -> bool {
    let alpn: Vec<String> = alpn.iter().map(|s| s.to_string()).collect();
    TcpRule::parse(rule).unwrap().matches(&view(sni, &alpn, ip))
}

#[test]
fn host_sni_matches_the_server_name_ignoring_case_and_star_takes_everything() {
    assert!(matches(
        "HostSNI(`db.example.test`)",
        "db.example.test",
        &[],
        "10.0.0.1"
    ));
    assert!(matches(
        "HostSNI(`DB.example.test.`)",
        "db.example.test",
        &[],
        "10.0.0.1"
    ));
    assert!(!matches(
        "HostSNI(`db.example.test`)",
        "other.test",
        &[],
        "10.0.0.1"
    ));
    assert!(!matches("HostSNI(`db.example.test`)", "", &[], "10.0.0.1"));
    assert!(matches("HostSNI(`*`)", "", &[], "10.0.0.1"));
    assert!(TcpRule::parse("HostSNI(`*`)").unwrap().is_catch_all());
    assert!(!TcpRule::parse("HostSNI(`*`) && ClientIP(`10.0.0.0/8`)")
        .unwrap()
        .is_catch_all());
}

#[test]
fn operators_regexp_client_ip_and_alpn() {
    let rule = "(HostSNIRegexp(`^[a-z]+\\.example\\.test$`) || ALPN(`postgresql`)) && !ClientIP(`192.168.0.0/16`)";
    assert!(matches(rule, "db.example.test", &[], "10.0.0.1"));
    assert!(matches(rule, "", &["postgresql"], "10.0.0.1"));
    assert!(!matches(rule, "db.example.test", &[], "192.168.1.5"));
    assert!(!matches(rule, "x1.other.test", &["h2"], "10.0.0.1"));
    assert!(matches("ClientIP(`10.0.0.1`)", "", &[], "::ffff:10.0.0.1"));
    assert!(matches(
        "hostsni(`a.test`) || HOSTSNI(`b.test`)",
        "b.test",
        &[],
        "10.0.0.1"
    ));
}

#[test]
fn bad_rules_name_their_column() {
    let e = TcpRule::parse("Host(`a.test`)").unwrap_err();
    assert_eq!(e.column, 1);
    assert!(e.message.contains("unknown TCP matcher `Host`"), "{e}");
    let e = TcpRule::parse("HostSNI(`a.test`) && ClientIP(`nope`)").unwrap_err();
    assert_eq!(e.column, 22, "{e}");
    assert!(TcpRule::parse("HostSNI(`a`, `b`)").is_err());
    assert!(TcpRule::parse("ALPN(`acme-tls/1`)").is_err());
    assert!(TcpRule::parse("HostSNI(`a.test`) &&").is_err());
    assert!(TcpRule::parse("").is_err());
}

#[test]
fn host_snis_lists_every_value() {
    let rule = TcpRule::parse("HostSNI(`a.test`) || HostSNI(`*`)").unwrap();
    assert_eq!(rule.host_snis(), ["a.test", "*"]);
    assert_eq!(rule.default_priority(), 33);
}
