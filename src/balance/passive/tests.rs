use super::*;
use crate::config::duration::Duration as CfgDuration;

fn check(max: i64, window_ms: u64, has_active: bool) -> PassiveHealthCheck {
    let cfg = PassiveHealthCheckConfig {
        failure_window: CfgDuration(Duration::from_millis(window_ms)),
        max_failed_attempts: max,
    };
    PassiveHealthCheck::new(&cfg, 2, has_active)
}

#[tokio::test]
async fn a_server_failing_max_times_within_the_window_is_out_for_the_window() {
    let passive = check(3, 300, false);
    let state = Arc::new(EndpointState::new());
    let t0 = Instant::now();
    assert!(!passive.record(0, &state, Some(500), t0));
    assert!(!passive.record(0, &state, None, t0 + Duration::from_millis(10)));
    assert!(state.is_active_up());
    // The third failure within 300 ms takes it out.
    assert!(passive.record(0, &state, Some(503), t0 + Duration::from_millis(20)));
    assert!(!state.is_active_up());
    // Further failures while out change nothing.
    assert!(!passive.record(0, &state, Some(503), t0 + Duration::from_millis(30)));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!state.is_active_up());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(state.is_active_up(), "back after failureWindow");
}

#[tokio::test]
async fn failures_outside_the_window_and_answers_below_500_reset_the_count() {
    let passive = check(2, 100, false);
    let state = Arc::new(EndpointState::new());
    let t0 = Instant::now();
    assert!(!passive.record(0, &state, Some(502), t0));
    // 100 ms later the first failure is out of the window (Traefik keeps t > now - window).
    assert!(!passive.record(0, &state, Some(502), t0 + Duration::from_millis(100)));
    assert!(state.is_active_up());
    // A 404 is an answer: forgets the failures.
    assert!(!passive.record(0, &state, Some(404), t0 + Duration::from_millis(110)));
    assert!(!passive.record(0, &state, Some(500), t0 + Duration::from_millis(120)));
    assert!(state.is_active_up());
    // Another server's failures are its own.
    let other = Arc::new(EndpointState::new());
    assert!(!passive.record(1, &other, Some(500), t0 + Duration::from_millis(125)));
    assert!(passive.record(0, &state, Some(500), t0 + Duration::from_millis(130)));
    assert!(!state.is_active_up() && other.is_active_up());
}

#[tokio::test]
async fn with_an_active_check_no_timer_brings_it_back() {
    let passive = check(1, 100, true);
    let state = Arc::new(EndpointState::new());
    assert!(passive.record(0, &state, Some(500), Instant::now()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!state.is_active_up(), "left to the active check");
}

#[test]
fn defaults_and_zero_are_traefiks() {
    let cfg = PassiveHealthCheckConfig::default();
    assert_eq!(cfg.failure_window.get(), Duration::from_secs(10));
    assert_eq!(cfg.max_failed_attempts, 1);
    // maxFailedAttempts 0: the first failure ejects (`len < 0` is never true).
    let passive = check(0, 100, true);
    let state = Arc::new(EndpointState::new());
    assert!(passive.record(0, &state, Some(500), Instant::now()));
}
