//! Smooth weighted round robin schedule (nginx's algorithm), computed once per balancer. Pure; config plane only.
//!
//! Weights are GCD-reduced; when their sum exceeds the schedule cap they are scaled down proportionally (each
//! positive weight stays >= 1), so the schedule never holds more than `max(SCHEDULE_CAP, endpoints)` entries.
//! Endpoints with weight 0 never appear (Traefik ignores non-positive weights). Building costs O(schedule length ×
//! endpoints) for unequal weights (O(endpoints) for equal ones); scaling keeps the length under about twice the
//! cap, so this stays cheap for the endpoint counts a Swarm service has.

/// Longest schedule built for large weights (unless there are more endpoints than this).
pub const SCHEDULE_CAP: usize = 8192;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Reduced weights: GCD-divided, then scaled so that their sum is at most `cap` (when possible).
fn reduce(weights: &[u32], cap: usize) -> Vec<u64> {
    let mut w: Vec<u64> = weights.iter().map(|&w| u64::from(w)).collect();
    let g = w.iter().copied().fold(0, gcd);
    if g == 0 {
        return w;
    }
    w.iter_mut().for_each(|x| *x /= g);
    let total: u64 = w.iter().sum();
    let cap = cap as u64;
    if total > cap {
        for x in w.iter_mut().filter(|x| **x > 0) {
            *x = (*x * cap / total).max(1);
        }
        let g = w.iter().copied().fold(0, gcd);
        w.iter_mut().for_each(|x| *x /= g.max(1));
    }
    w
}

/// The interleaved schedule of endpoint indices for `weights` (index = position in `weights`). `eligible[i]` false
/// leaves endpoint `i` out (draining); weight 0 also leaves it out. Indices must fit in `u16`.
pub fn smooth_schedule(weights: &[u32], eligible: &[bool]) -> Box<[u16]> {
    let weights: Vec<u32> = weights
        .iter()
        .zip(eligible)
        .take(usize::from(u16::MAX) + 1)
        .map(|(&w, &ok)| if ok { w } else { 0 })
        .collect();
    let cap = SCHEDULE_CAP.max(weights.len());
    let w = reduce(&weights, cap);
    let total: u64 = w.iter().sum();
    let active = w.iter().filter(|&&x| x > 0).count() as u64;
    // Equal weights: the schedule is simply each endpoint once, in order.
    if total == active {
        return w
            .iter()
            .enumerate()
            .filter(|(_, &x)| x > 0)
            .map(|(i, _)| i as u16)
            .collect();
    }
    let total_i = total as i64;
    let mut current = vec![0i64; w.len()];
    let mut schedule = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best: Option<usize> = None;
        for (i, &wi) in w.iter().enumerate() {
            if wi == 0 {
                continue;
            }
            current[i] += wi as i64;
            if best.is_none_or(|b| current[i] > current[b]) {
                best = Some(i);
            }
        }
        if let Some(b) = best {
            current[b] -= total_i;
            schedule.push(b as u16);
        }
    }
    schedule.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(schedule: &[u16], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        schedule.iter().for_each(|&i| c[usize::from(i)] += 1);
        c
    }

    #[test]
    fn nginx_smooth_sequences() {
        let table: &[(&[u32], &[u16])] = &[
            (&[5, 1, 1], &[0, 0, 1, 0, 2, 0, 0]),
            (&[1, 1, 1], &[0, 1, 2]),
            (&[2, 1], &[0, 1, 0]),
            (&[10, 5], &[0, 1, 0]),
            (&[3, 0, 3], &[0, 2]),
            (&[0, 0], &[]),
            (&[4, 2, 1], &[0, 1, 0, 2, 0, 1, 0]),
        ];
        for (weights, expected) in table {
            let eligible = vec![true; weights.len()];
            assert_eq!(
                &*smooth_schedule(weights, &eligible),
                *expected,
                "weights {weights:?}"
            );
        }
    }

    #[test]
    fn ineligible_endpoints_left_out() {
        assert_eq!(&*smooth_schedule(&[1, 1, 1], &[true, false, true]), &[0, 2]);
        assert_eq!(&*smooth_schedule(&[5, 1, 1], &[false, true, true]), &[1, 2]);
    }

    #[test]
    fn large_weights_are_capped_and_proportional() {
        let weights = [1_000_000, 500_000, 1, 0];
        let schedule = smooth_schedule(&weights, &[true; 4]);
        assert!(schedule.len() <= SCHEDULE_CAP, "len {}", schedule.len());
        let c = counts(&schedule, 4);
        assert!(c[2] >= 1, "tiny weights keep at least one slot");
        assert_eq!(c[3], 0);
        let ratio = c[0] as f64 / c[1] as f64;
        assert!((ratio - 2.0).abs() < 0.01, "ratio {ratio}");
    }

    #[test]
    fn many_endpoints_each_once() {
        let weights = vec![7u32; 20_000];
        let schedule = smooth_schedule(&weights, &vec![true; 20_000]);
        assert_eq!(counts(&schedule, 20_000), vec![1; 20_000]);
    }
}
