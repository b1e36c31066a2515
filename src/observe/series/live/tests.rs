use super::*;

fn sample(at: Instant, ms: u64, status: u16) -> LiveSample {
    LiveSample {
        at,
        elapsed: Duration::from_millis(ms),
        status,
        bytes_in: 7,
        bytes_out: 100,
    }
}

#[test]
fn latency_buckets_double_from_32_microseconds() {
    let us = Duration::from_micros;
    assert_eq!(latency_index(us(0)), 0);
    assert_eq!(latency_index(us(31)), 0);
    assert_eq!(latency_index(us(32)), 1);
    assert_eq!(latency_index(us(63)), 1);
    assert_eq!(latency_index(us(64)), 2);
    assert_eq!(
        latency_index(Duration::from_secs(100_000)),
        LATENCY_BUCKETS - 1
    );
    for k in 1..LATENCY_BUCKETS - 1 {
        let (lo, hi) = latency_bounds(k);
        assert_eq!(latency_index(us(lo as u64)), k);
        assert_eq!(latency_index(us(hi as u64 - 1)), k);
    }
}

#[test]
fn counts_statuses_bytes_and_latency_per_bucket() {
    let live = Live::new(vec!["web".into(), "websecure".into()]);
    let slot = LiveSlot::new();
    let t0 = live.base;
    for _ in 0..90 {
        live.record(Some((&slot, "app@file")), 0, sample(t0, 2, 200));
    }
    for _ in 0..6 {
        live.record(Some((&slot, "app@file")), 0, sample(t0, 40, 404));
    }
    for _ in 0..4 {
        live.record(Some((&slot, "app@file")), 0, sample(t0, 900, 503));
    }
    // Next bucket, other entrypoint, and a request no router matched.
    let t1 = t0 + Duration::from_secs(BUCKET_SECS);
    live.record(Some((&slot, "app@file")), 1, sample(t1, 1, 200));
    live.record(None, 0, sample(t1, 1, 404));

    let snap = live.snapshot(t1);
    assert_eq!(snap.series.len(), 3);
    let find = |router: Option<&str>, ep: &str| {
        snap.series
            .iter()
            .find(|(r, e, _)| r.as_deref() == router && e == ep)
            .map(|(_, _, w)| w.clone())
            .unwrap()
    };
    let web = find(Some("app@file"), "web");
    let first = &web.buckets[SLOTS - 2];
    assert_eq!(
        (first.requests, first.status_4xx, first.status_5xx),
        (100, 6, 4)
    );
    assert_eq!((first.bytes_in, first.bytes_out), (700, 10_000));
    assert_eq!(web.buckets[SLOTS - 1].requests, 0);
    // p50 in the 2 ms bucket, p99 in the 900 ms one.
    let p50 = first.quantile_ms(0.5).unwrap();
    let p99 = first.quantile_ms(0.99).unwrap();
    assert!((1.0..=2.1).contains(&p50), "{p50}");
    assert!((524.0..=1049.0).contains(&p99), "{p99}");
    assert_eq!(
        find(Some("app@file"), "websecure").buckets[SLOTS - 1].requests,
        1
    );
    assert_eq!(find(None, "web").buckets[SLOTS - 1].status_4xx, 1);
    assert_eq!(Bucket::default().quantile_ms(0.5), None);
}

#[test]
fn old_buckets_leave_the_window_and_are_reused() {
    let live = Live::new(vec!["web".into()]);
    let slot = LiveSlot::new();
    let t0 = live.base;
    live.record(Some((&slot, "a@file")), 0, sample(t0, 1, 200));
    // Just inside the window: still seen, as its oldest bucket.
    let edge = t0 + Duration::from_secs(BUCKET_SECS * (SLOTS as u64 - 1));
    let w = &live.snapshot(edge).series[0].2;
    assert_eq!(w.buckets[0].requests, 1);
    // One bucket later it has left the window.
    let later = edge + Duration::from_secs(BUCKET_SECS);
    assert!(live.snapshot(later).series.is_empty());
    // The same slot serves the new bucket, cleared first.
    live.record(Some((&slot, "a@file")), 0, sample(later, 1, 500));
    let w = &live.snapshot(later).series[0].2;
    assert_eq!(w.recent(SLOTS).requests, 1);
    assert_eq!(w.recent(SLOTS).status_5xx, 1);
    // A late request for a bucket the slot has moved past is dropped, not counted as new.
    live.record(Some((&slot, "a@file")), 0, sample(t0, 1, 200));
    assert_eq!(live.snapshot(later).series[0].2.recent(SLOTS).requests, 1);
}

#[test]
fn rings_of_removed_routers_are_forgotten_once_idle() {
    let live = Live::new(vec!["web".into()]);
    let t0 = live.base;
    {
        let slot = LiveSlot::new();
        live.record(Some((&slot, "gone@file")), 0, sample(t0, 1, 200));
    }
    // Dropped route, traffic still in the window: kept.
    assert_eq!(live.snapshot(t0).series.len(), 1);
    let later = t0 + Duration::from_secs(BUCKET_SECS * SLOTS as u64);
    assert!(live.snapshot(later).series.is_empty());
    assert!(live.routes.lock().unwrap().is_empty());
    // A route still compiled keeps its ring even when idle.
    let slot = LiveSlot::new();
    live.record(Some((&slot, "kept@file")), 0, sample(t0, 1, 200));
    let _ = live.snapshot(later + Duration::from_secs(BUCKET_SECS * SLOTS as u64));
    assert_eq!(live.routes.lock().unwrap().len(), 1);
}

#[test]
fn concurrent_writers_lose_nothing_inside_a_bucket() {
    let live = Arc::new(Live::new(vec!["web".into()]));
    let slot = Arc::new(LiveSlot::new());
    let t0 = live.base;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (live, slot) = (Arc::clone(&live), Arc::clone(&slot));
            std::thread::spawn(move || {
                for i in 0..10_000u64 {
                    let status = if i % 10 == 0 { 502 } else { 200 };
                    live.record(Some((&slot, "a@file")), 0, sample(t0, i % 50, status));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let w = &live.snapshot(t0).series[0].2;
    let b = w.recent(1);
    assert_eq!(
        (b.requests, b.status_5xx, b.bytes_out),
        (40_000, 4_000, 4_000_000)
    );
}

#[test]
fn a_router_keeps_its_last_error_answers() {
    let live = Live::new(vec!["web".into(), "websecure".into()]);
    let slot = LiveSlot::new();
    let t0 = live.base;
    live.record(Some((&slot, "a@file")), 0, sample(t0, 1, 200));
    live.record(
        Some((&slot, "a@file")),
        1,
        sample(t0 + Duration::from_millis(5), 1, 502),
    );
    live.record(
        Some((&slot, "a@file")),
        0,
        sample(t0 + Duration::from_millis(9), 1, 404),
    );
    // Requests no router matched keep none (they have no detail page).
    live.record(None, 0, sample(t0, 1, 404));
    let snap = live.snapshot(t0);
    assert_eq!(snap.errors.len(), 1);
    let (name, errors) = &snap.errors[0];
    assert_eq!(name, "a@file");
    let got: Vec<(u16, &str)> = errors
        .iter()
        .map(|e| (e.status, e.entrypoint.as_str()))
        .collect();
    assert_eq!(got, [(404, "web"), (502, "websecure")]);
    assert_eq!(errors[1].at_ms + 4, errors[0].at_ms);
    // Only the last RECENT_ERRORS are kept.
    for i in 0..40 {
        live.record(
            Some((&slot, "a@file")),
            0,
            sample(t0 + Duration::from_millis(100 + i), 1, 500),
        );
    }
    let snap = live.snapshot(t0);
    assert_eq!(snap.errors[0].1.len(), RECENT_ERRORS);
    assert!(snap.errors[0].1.iter().all(|e| e.status == 500));
}
