use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::config::dynamic::StickyCookieConfig;

fn endpoints(weights: &[u32]) -> Vec<Endpoint> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| Endpoint {
            weight: w,
            ..Endpoint::new(
                format!("http://10.0.0.{}:80", i + 1),
                Arc::new(EndpointState::new()),
            )
        })
        .collect()
}

fn picks(b: &Balancer, now: Instant, n: usize, exclude: &[usize]) -> Vec<usize> {
    (0..n).map(|_| b.pick(now, exclude).unwrap()).collect()
}

fn counts(seq: &[usize], n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    seq.iter().for_each(|&i| c[i] += 1);
    c
}

#[test]
fn weighted_5_1_1_gives_nginx_smooth_sequence() {
    let b = Balancer::new(endpoints(&[5, 1, 1]), None);
    let now = Instant::now();
    let expected = [0, 0, 1, 0, 2, 0, 0];
    let seq = picks(&b, now, 21, &[]);
    for round in seq.chunks(7) {
        assert_eq!(round, expected);
    }
}

#[test]
fn equal_weights_exactly_even() {
    let now = Instant::now();
    for n in [1usize, 2, 3, 7, 100] {
        let b = Balancer::new(endpoints(&vec![3; n]), None);
        for k in [1usize, 5] {
            let seq = picks(&b, now, n * k, &[]);
            assert_eq!(counts(&seq, n), vec![k; n], "n={n} k={k}");
        }
    }
}

#[test]
fn skipping_keeps_distribution_even() {
    let now = Instant::now();
    // Equal weights, one of four down: the other three get exactly k each over 3k picks.
    let eps = endpoints(&[1, 1, 1, 1]);
    eps[1].state.set_active_up(false);
    let b = Balancer::new(eps, None);
    let seq = picks(&b, now, 300, &[]);
    assert_eq!(counts(&seq, 4), vec![100, 0, 100, 100]);

    // Weighted 5:1:1 with the first down: the other two alternate.
    let eps = endpoints(&[5, 1, 1]);
    eps[0].state.set_active_up(false);
    let b = Balancer::new(eps, None);
    let seq = picks(&b, now, 10, &[]);
    assert_eq!(seq, vec![1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);

    // Weighted 4:2:1 with the middle one down keeps 4:1 between the rest.
    let eps = endpoints(&[4, 2, 1]);
    eps[1].state.report_failure(now);
    let b = Balancer::new(eps, None);
    let seq = picks(&b, now, 50, &[]);
    assert_eq!(counts(&seq, 3), vec![40, 0, 10]);
}

#[test]
fn draining_zero_weight_and_excluded_are_skipped() {
    let now = Instant::now();
    let mut eps = endpoints(&[1, 1, 0, 1]);
    eps[0].draining = true;
    let b = Balancer::new(eps, None);
    assert_eq!(b.endpoints().len(), 4, "draining endpoints stay listed");
    let seq = picks(&b, now, 20, &[]);
    assert_eq!(counts(&seq, 4), vec![0, 10, 0, 10]);
    // Retry after a failure on 1: only 3 is left.
    for _ in 0..5 {
        assert_eq!(b.pick(now, &[1]), Some(3));
    }
    assert_eq!(b.pick(now, &[1, 3]), None);
}

#[test]
fn all_down_or_empty_gives_none() {
    let now = Instant::now();
    let eps = endpoints(&[2, 1, 1]);
    eps.iter().for_each(|e| {
        e.state.set_active_up(false);
    });
    let b = Balancer::new(eps, None);
    assert_eq!(b.pick(now, &[]), None);
    assert_eq!(b.pick_sticky(now, None, &[]), None);
    assert_eq!(Balancer::new(Vec::new(), None).pick(now, &[]), None);
    assert_eq!(Balancer::new(endpoints(&[0, 0]), None).pick(now, &[]), None);
}

#[test]
fn passive_ejection_expires_with_injected_time() {
    let eps = endpoints(&[1, 1]);
    let t0 = Instant::now();
    eps[0].state.report_failure(t0);
    let b = Balancer::new(eps, None);
    assert_eq!(picks(&b, t0, 4, &[]), vec![1, 1, 1, 1]);
    let later = t0 + Duration::from_secs(1);
    assert_eq!(counts(&picks(&b, later, 10, &[]), 2), vec![5, 5]);
}

fn sticky_balancer(n: usize) -> Balancer {
    let cookie = StickyCookie::new(
        "web@swarm",
        &StickyCookieConfig {
            name: Some("lb".into()),
            http_only: true,
            ..Default::default()
        },
    );
    Balancer::new(endpoints(&vec![1; n]), Some(cookie))
}

#[test]
fn sticky_cookie_is_honoured() {
    let now = Instant::now();
    let b = sticky_balancer(3);
    assert_eq!(b.sticky().map(StickyCookie::name), Some("lb"));
    let value = server_cookie_value(&b.endpoints()[2].url);
    // A valid cookie is honoured and not re-set.
    for _ in 0..5 {
        assert_eq!(b.pick_sticky(now, Some(&value), &[]), Some((2, false)));
    }
    // No cookie or an unknown one: WRR pick, cookie to set.
    assert_eq!(b.pick_sticky(now, None, &[]), Some((0, true)));
    assert_eq!(b.pick_sticky(now, Some("nope"), &[]), Some((1, true)));
    // A down (or excluded) target falls back to WRR and re-pins.
    b.endpoints()[2].state.set_active_up(false);
    let (idx, set) = b.pick_sticky(now, Some(&value), &[]).unwrap();
    assert!(idx != 2 && set);
    b.endpoints()[2].state.set_active_up(true);
    let (idx, set) = b.pick_sticky(now, Some(&value), &[2]).unwrap();
    assert!(idx != 2 && set);
    // Legacy Traefik values (raw URL, FNV) are honoured but rewritten.
    let url = b.endpoints()[1].url.clone();
    for legacy in legacy_cookie_values(&url) {
        assert_eq!(
            b.pick_sticky(now, Some(&legacy), &[]),
            Some((1, true)),
            "{legacy}"
        );
    }
}

#[test]
fn set_cookie_header_is_precomputed() {
    let b = sticky_balancer(2);
    let value = server_cookie_value(&b.endpoints()[1].url);
    let header = b.set_cookie(1).unwrap().to_str().unwrap();
    assert_eq!(header, format!("lb={value}; Path=/; HttpOnly"));
    assert!(
        !header.contains("10.0.0"),
        "the raw address is never exposed"
    );
    assert!(b.set_cookie(2).is_none());
    assert!(Balancer::new(endpoints(&[1]), None).set_cookie(0).is_none());
}

#[test]
fn pick_sticky_without_sticky_config_never_sets_cookie() {
    let b = Balancer::new(endpoints(&[1, 1]), None);
    let now = Instant::now();
    assert_eq!(b.pick_sticky(now, Some("x"), &[]), Some((0, false)));
    assert_eq!(b.pick_sticky(now, None, &[]), Some((1, false)));
}

#[test]
fn concurrent_picks_stay_balanced() {
    let b = Arc::new(Balancer::new(endpoints(&[1, 1, 1, 1]), None));
    let now = Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let b = Arc::clone(&b);
            std::thread::spawn(move || picks(&b, now, 1000, &[]))
        })
        .collect();
    let mut total = vec![0; 4];
    for h in handles {
        for (t, c) in total.iter_mut().zip(counts(&h.join().unwrap(), 4)) {
            *t += c;
        }
    }
    assert_eq!(total, vec![1000; 4]);
}

#[test]
fn panic_mode_tries_passively_ejected_servers_when_nothing_else_is_left() {
    let now = Instant::now();
    let eps = endpoints(&[1, 1, 1]);
    eps[0].state.report_failure(now);
    eps[1].state.report_failure(now);
    eps[2].state.set_active_up(false);
    let b = Balancer::new(eps, None);
    // Only passively ejected servers remain: they are tried anyway, in rotation.
    let seen = counts(&picks(&b, now, 10, &[]), 3);
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
    assert_eq!(seen[2], 0, "an actively checked-down server stays out");
    // Excluded (already tried for this request) servers stay out too.
    assert_eq!(b.pick(now, &[0, 1]), None);
}

#[test]
fn p2c_picks_the_server_with_fewer_requests_in_flight() {
    use crate::balance::strategy::Strategy;
    let b = Balancer::new(endpoints(&[1, 1]), None).with_strategy(Strategy::P2c);
    let ip: IpAddr = "10.0.0.1".parse().unwrap();
    let now = Instant::now();
    let _busy = b.endpoints()[0].state.start_request();
    // With two servers both are always drawn: the idle one wins every time.
    for _ in 0..50 {
        assert_eq!(b.pick_for(now, &[], ip), Some(1));
    }
    // Excluded (already tried): the other one, however busy.
    assert_eq!(b.pick_for(now, &[1], ip), Some(0));
}

#[test]
fn hrw_is_stable_per_client_and_follows_traefiks_score() {
    use crate::balance::strategy::{hrw_score, Strategy};
    let eps = endpoints(&[1, 2, 1, 3]);
    let b = Balancer::new(eps.clone(), None).with_strategy(Strategy::Hrw);
    let now = Instant::now();
    let mut seen = std::collections::HashSet::new();
    for i in 0..64u8 {
        let ip = IpAddr::from([192, 168, 1, i]);
        let picked = b.pick_for(now, &[], ip).unwrap();
        assert_eq!(b.pick_for(now, &[], ip), Some(picked), "stable");
        let best = (0..eps.len())
            .max_by(|x, y| {
                let s = |k: usize| hrw_score(&ip.to_string(), &eps[k].url, eps[k].weight);
                s(*x).total_cmp(&s(*y))
            })
            .unwrap();
        assert_eq!(picked, best);
        // Another server when that one was tried.
        assert_ne!(b.pick_for(now, &[picked], ip), Some(picked));
        seen.insert(picked);
    }
    assert!(seen.len() > 1, "every client on one server");
}
