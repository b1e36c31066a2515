use super::*;

#[test]
fn a_cidr_or_a_bare_address_is_parsed_when_read() {
    let read: Vec<IpRange> = serde_json::from_str(r#"["10.0.0.0/8", " 192.168.1.7 ", "::1"]"#)
        .expect("a list of strings");
    let nets: Vec<Option<IpNet>> = read.iter().map(IpRange::net).collect();
    assert_eq!(
        nets,
        vec![
            Some("10.0.0.0/8".parse().expect("net")),
            Some("192.168.1.7/32".parse().expect("net")),
            Some("::1/128".parse().expect("net")),
        ]
    );
}

#[test]
fn an_entry_that_is_no_range_is_kept_as_written() {
    let read: Vec<IpRange> =
        serde_json::from_str(r#"["10.0.0.0/33", "example.com"]"#).expect("a list of strings");
    assert!(read.iter().all(|r| r.net().is_none()));
    assert_eq!(read[0].as_str(), "10.0.0.0/33");
    assert_eq!(read[1], "example.com");
}

#[test]
fn serialized_as_written() {
    let read: Vec<IpRange> =
        serde_json::from_str(r#"["10.0.0.1", "not an ip"]"#).expect("a list of strings");
    assert_eq!(
        serde_json::to_string(&read).expect("serializes"),
        r#"["10.0.0.1","not an ip"]"#
    );
}
