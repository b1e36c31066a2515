use super::*;

#[test]
fn backoff_doubles_and_caps() {
    let table = [
        (1, 1),
        (2, 2),
        (3, 4),
        (4, 8),
        (5, 16),
        (6, 30),
        (7, 30),
        (40, 30),
        (u32::MAX, 30),
    ];
    for (n, secs) in table {
        assert_eq!(
            passive_backoff(n),
            Duration::from_secs(secs),
            "failure #{n}"
        );
    }
}

#[test]
fn passive_ejection_and_expiry() {
    let state = EndpointState::new();
    let t0 = Instant::now();
    assert!(state.is_available(t0));

    assert_eq!(state.report_failure(t0), Duration::from_secs(1));
    assert!(!state.is_available(t0));
    assert!(!state.is_available(t0 + Duration::from_millis(999)));
    assert!(state.is_available(t0 + Duration::from_secs(1)));
    assert!(
        state.is_active_up(),
        "passive ejection does not touch the active flag"
    );

    // A second consecutive failure doubles the period.
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(state.report_failure(t1), Duration::from_secs(2));
    assert!(!state.is_available(t1 + Duration::from_millis(1999)));
    assert!(state.is_available(t1 + Duration::from_secs(2)));
    assert_eq!(state.consecutive_failures(), 2);

    // Failures during an ejection (in-flight requests) neither escalate nor extend it.
    let t2 = t1 + Duration::from_secs(2);
    assert_eq!(state.report_failure(t2), Duration::from_secs(4));
    for ms in [0, 10, 500] {
        let remaining = state.report_failure(t2 + Duration::from_millis(ms));
        assert_eq!(
            remaining,
            Duration::from_secs(4) - Duration::from_millis(ms)
        );
    }
    assert_eq!(state.consecutive_failures(), 3);
    assert!(state.is_available(t2 + Duration::from_secs(4)));

    // Success resets the count and lifts the ejection at once.
    state.report_failure(t1 + Duration::from_secs(3));
    assert!(!state.is_available(t1 + Duration::from_secs(3)));
    state.report_success();
    assert!(state.is_available(t1 + Duration::from_secs(3)));
    assert_eq!(state.consecutive_failures(), 0);
    assert_eq!(
        state.report_failure(t1 + Duration::from_secs(4)),
        PASSIVE_BACKOFF_BASE
    );
}

#[test]
fn active_flag_gates_availability() {
    let state = EndpointState::new();
    let now = Instant::now();
    assert!(state.set_active_up(false));
    assert!(!state.is_available(now));
    assert!(!state.is_active_up());
    assert!(!state.set_active_up(true));
    assert!(state.is_available(now));
}

#[test]
fn inflight_guard_counts() {
    let state = Arc::new(EndpointState::new());
    let a = state.start_request();
    let b = state.start_request();
    assert_eq!(state.inflight(), 2);
    drop(a);
    assert_eq!(state.inflight(), 1);
    let moved = std::thread::spawn(move || drop(b));
    moved.join().unwrap();
    assert_eq!(state.inflight(), 0);
}

#[test]
fn registry_keeps_state_across_reload() {
    let registry = EndpointRegistry::default();
    let now = Instant::now();
    // Table 1: web has two servers, api one.
    let web_a = registry.get_or_create("web@swarm", "http://10.0.0.1:80");
    let web_b = registry.get_or_create("web@swarm", "http://10.0.0.2:80");
    let api = registry.get_or_create("api@swarm", "http://10.0.0.1:80");
    assert!(
        !Arc::ptr_eq(&web_a, &api),
        "same url in another service is another state"
    );
    web_a.set_active_up(false);
    web_b.report_failure(now);

    // Reload: table 2 keeps web_a and api, drops web_b.
    let again = registry.get_or_create("web@swarm", "http://10.0.0.1:80");
    assert!(Arc::ptr_eq(&again, &web_a));
    assert!(!again.is_active_up(), "state survived the reload");
    registry.retain(|service, url| !(service == "web@swarm" && url == "http://10.0.0.2:80"));
    assert_eq!(
        registry.snapshot(),
        vec![
            (
                "api@swarm".to_string(),
                "http://10.0.0.1:80".to_string(),
                true
            ),
            (
                "web@swarm".to_string(),
                "http://10.0.0.1:80".to_string(),
                false
            ),
        ]
    );
    // A server that comes back after being dropped starts fresh.
    let web_b2 = registry.get_or_create("web@swarm", "http://10.0.0.2:80");
    assert!(web_b2.is_available(now));
    assert_eq!(registry.len(), 3);
}

#[test]
fn registry_prunes_unreferenced() {
    let registry = EndpointRegistry::default();
    let kept = registry.get_or_create("s", "http://a");
    drop(registry.get_or_create("s", "http://b"));
    assert_eq!(registry.prune_unreferenced(), 1);
    assert_eq!(
        registry.snapshot(),
        vec![("s".into(), "http://a".into(), true)]
    );
    drop(kept);
    assert_eq!(registry.prune_unreferenced(), 1);
    assert!(registry.is_empty());
}
