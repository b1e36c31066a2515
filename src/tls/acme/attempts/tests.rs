use super::*;
use std::time::Duration;

#[test]
fn failures_are_counted_with_their_next_attempt_until_an_order_issues() {
    let a = Attempts::default();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    a.failed("le", "example.test", "CA said no", at);
    a.failed(
        "le",
        "example.test",
        "CA said no again",
        at + Duration::from_secs(20),
    );
    a.failed("dns", "*.example.test", "NOTAUTH", at);
    let s = a.snapshot();
    assert_eq!(
        s.orders,
        vec![("dns".to_string(), 0, 1), ("le".to_string(), 0, 2)]
    );
    assert_eq!(s.retries.len(), 2);
    assert_eq!(s.retries[1].domain, "example.test");
    assert_eq!(s.retries[1].next_attempt, 1_800_000_020);
    assert_eq!(s.retries[1].error, "CA said no again");

    a.issued("le", "example.test");
    let s = a.snapshot();
    assert_eq!(
        s.orders,
        vec![("dns".to_string(), 0, 1), ("le".to_string(), 1, 2)]
    );
    assert_eq!(s.retries.len(), 1);
    assert_eq!(s.retries[0].resolver, "dns");
}
