//! Traefik 3.7's `loadBalancer.strategy: leasttime`: the server with the lowest
//! `average time to first byte (ms, last 100 answers) × (1 + requests in flight) / weight`; ties
//! (e.g. before any answer) are broken by earliest-deadline-first weighted round robin, as
//! Traefik's `leasttime` balancer does. Only balancers with this strategy carry this state (a
//! short lock per pick and per answer).

#![allow(clippy::disallowed_types)] // std Mutex: leasttime's TTFB samples and EDF schedule, a short lock per pick, only on balancers with `strategy: leasttime` (ARCHITECTURE.md, lock policy)

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Answers remembered per server (Traefik's `sampleSize`).
pub const SAMPLES: usize = 100;

#[derive(Debug)]
pub struct LeastTime {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    servers: Vec<Server>,
    /// The latest deadline given (EDF).
    current: f64,
}

#[derive(Debug, Clone)]
struct Server {
    samples: Vec<f64>,
    next: usize,
    sum: f64,
    deadline: f64,
}

impl LeastTime {
    /// `weights` by server index (a weight of 0 is never picked by the caller).
    pub fn new(weights: &[u32]) -> Self {
        let mut current = 0.0;
        let servers = weights
            .iter()
            .map(|w| {
                // Traefik gives each server, as added, the deadline `current + 1/weight`.
                current += 1.0 / f64::from((*w).max(1));
                Server {
                    samples: Vec::new(),
                    next: 0,
                    sum: 0.0,
                    deadline: current,
                }
            })
            .collect();
        LeastTime {
            inner: Mutex::new(Inner { servers, current }),
        }
    }

    /// Records one time to first byte of server `index` (whole milliseconds, as Traefik).
    pub fn record(&self, index: usize, ttfb: Duration) {
        #[allow(clippy::cast_precision_loss)]
        let ms = ttfb.as_millis() as f64;
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(s) = inner.servers.get_mut(index) else {
            return;
        };
        if s.samples.len() < SAMPLES {
            s.samples.push(ms);
            s.sum += ms;
        } else if let Some(old) = s.samples.get_mut(s.next) {
            s.sum = s.sum - *old + ms;
            *old = ms;
        }
        s.next = (s.next + 1) % SAMPLES;
    }

    /// Picks among `usable` (server index, weight, requests in flight); `None` when empty.
    pub fn pick(&self, usable: &[(usize, u32, usize)]) -> Option<usize> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let [(one, _, _)] = usable {
            return Some(*one);
        }
        let mut min = f64::MAX;
        let mut candidates: Vec<(usize, u32)> = Vec::new();
        for &(i, weight, inflight) in usable {
            let Some(s) = inner.servers.get(i) else {
                continue;
            };
            #[allow(clippy::cast_precision_loss)]
            let avg = if s.samples.is_empty() {
                0.0
            } else {
                s.sum / s.samples.len() as f64
            };
            #[allow(clippy::cast_precision_loss)]
            let score = avg * (1.0 + inflight as f64) / f64::from(weight.max(1));
            if score < min {
                min = score;
                candidates.clear();
                candidates.push((i, weight));
            } else if score == min {
                candidates.push((i, weight));
            }
        }
        if let [(one, _)] = candidates.as_slice() {
            return Some(*one);
        }
        // Earliest deadline first among the tied ones.
        let mut best: Option<(usize, u32, f64)> = None;
        for (i, weight) in candidates {
            let deadline = inner.servers.get(i).map_or(f64::MAX, |s| s.deadline);
            if best.is_none_or(|(_, _, d)| deadline < d) {
                best = Some((i, weight, deadline));
            }
        }
        let (i, weight, deadline) = best?;
        let next = deadline + 1.0 / f64::from(weight.max(1));
        if let Some(s) = inner.servers.get_mut(i) {
            s.deadline = next;
        }
        if next > inner.current {
            inner.current = next;
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_by_weighted_round_robin() {
        let lt = LeastTime::new(&[1, 1]);
        let usable = [(0, 1, 0), (1, 1, 0)];
        // Traefik's EDF: deadlines start at 1 and 2; on equal deadlines the first server wins.
        let picks: Vec<usize> = (0..6).filter_map(|_| lt.pick(&usable)).collect();
        assert_eq!(picks, [0, 0, 1, 0, 1, 0]);
        let lt = LeastTime::new(&[3, 1]);
        let usable = [(0, 3, 0), (1, 1, 0)];
        let picks: Vec<usize> = (0..400).filter_map(|_| lt.pick(&usable)).collect();
        let first = picks.iter().filter(|i| **i == 0).count();
        assert!((298..=302).contains(&first), "{first}");
    }

    #[test]
    fn the_faster_server_wins_and_in_flight_requests_weigh() {
        let lt = LeastTime::new(&[1, 1]);
        lt.record(0, Duration::from_millis(100));
        lt.record(1, Duration::from_millis(10));
        assert_eq!(lt.pick(&[(0, 1, 0), (1, 1, 0)]), Some(1));
        // 10 ms × (1 + 10 in flight) = 110 > 100 × 1.
        assert_eq!(lt.pick(&[(0, 1, 0), (1, 1, 10)]), Some(0));
        // A weight divides the score: 100 / 20 = 5 < 10.
        assert_eq!(lt.pick(&[(0, 20, 0), (1, 1, 0)]), Some(0));
    }

    #[test]
    fn the_average_is_over_the_last_100_answers() {
        let lt = LeastTime::new(&[1, 1]);
        for _ in 0..SAMPLES {
            lt.record(0, Duration::from_millis(500));
        }
        lt.record(1, Duration::from_millis(100));
        assert_eq!(lt.pick(&[(0, 1, 0), (1, 1, 0)]), Some(1));
        // 100 fast answers push the 500 ms ones out.
        for _ in 0..SAMPLES {
            lt.record(0, Duration::from_millis(1));
        }
        assert_eq!(lt.pick(&[(0, 1, 0), (1, 1, 0)]), Some(0));
    }
}
