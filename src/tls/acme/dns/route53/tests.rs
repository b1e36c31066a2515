use super::*;

#[test]
fn signing_key_matches_the_aws_documentation_example() {
    // docs.aws.amazon.com, "Examples of how to derive a signing key for Signature Version 4".
    let key = signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20120215",
        "us-east-1",
        "iam",
    );
    assert_eq!(
        hex(&key),
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    );
}

#[test]
fn amz_dates_are_utc() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_606_130); // 2026-12-07 01:15:30 UTC (date -u -d @1796606130)
    assert_eq!(
        amz_date(t),
        ("20261207T011530Z".to_string(), "20261207".to_string())
    );
    let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
    assert_eq!(amz_date(leap).1, "20000229");
}

#[test]
fn xml_values_by_tag() {
    let xml = "<A><Name>x.</Name><Id>/hostedzone/Z1</Id><Name>y.</Name></A>";
    assert_eq!(tags(xml, "Name"), ["x.", "y."]);
    assert_eq!(tags(xml, "Id"), ["/hostedzone/Z1"]);
    assert!(tags("<Name>unclosed", "Name").is_empty());
}
