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
