//! The breaker's sliding window: [`BUCKETS`] one-second buckets of atomic counters (requests,
//! network errors, one counter per status-code range the expression names, and a log-linear
//! latency histogram when the expression asks for a quantile).
//!
//! A bucket is claimed for a new second by a compare-and-swap on its `second`; the winner zeroes
//! its counters. An increment racing with that zeroing (at the second boundary) may be lost:
//! the window is a statistic, and this keeps recording lock-free.

use std::sync::atomic::{AtomicU64, Ordering};

use super::expr::{Needs, Values};

/// Seconds the window covers (oxy's default: 10 buckets of 1 s).
pub const BUCKETS: u64 = 10;
/// Latency slots: exact below 16 µs, then 8 per power of two up to 2^40 µs.
const LATENCY_SLOTS: usize = 16 + 37 * 8;

#[derive(Debug)]
struct Bucket {
    /// The second (since the breaker's origin) this bucket counts, plus one; 0 = unused.
    second: AtomicU64,
    total: AtomicU64,
    network_errors: AtomicU64,
    codes: Box<[AtomicU64]>,
    latency: Box<[AtomicU64]>,
}

fn counters(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Bucket {
    fn zero(&self) {
        let all = [&self.total, &self.network_errors];
        all.into_iter()
            .chain(self.codes.iter())
            .chain(self.latency.iter())
            .for_each(|c| c.store(0, Ordering::Relaxed));
    }
}

/// Counters over the last [`BUCKETS`] seconds.
#[derive(Debug)]
pub struct Window {
    ranges: Box<[(u16, u16)]>,
    buckets: Box<[Bucket]>,
}

impl Window {
    pub fn new(needs: &Needs) -> Self {
        let latency = if needs.latency { LATENCY_SLOTS } else { 0 };
        let buckets = (0..BUCKETS)
            .map(|_| Bucket {
                second: AtomicU64::new(0),
                total: AtomicU64::new(0),
                network_errors: AtomicU64::new(0),
                codes: counters(needs.code_ranges.len()),
                latency: counters(latency),
            })
            .collect();
        Window {
            ranges: needs.code_ranges.clone().into_boxed_slice(),
            buckets,
        }
    }

    /// Counts one response at `now_ms` (milliseconds since the breaker's origin).
    pub fn record(&self, now_ms: u64, status: u16, latency_us: u64) {
        let second = now_ms / 1000;
        let Some(bucket) = self.buckets.get((second % BUCKETS) as usize) else {
            return;
        };
        let seen = bucket.second.load(Ordering::Acquire);
        if seen != second + 1 {
            if seen > second + 1 {
                // A later second already took the bucket (a slow request): drop the sample.
                return;
            }
            if bucket
                .second
                .compare_exchange(seen, second + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                bucket.zero();
            }
        }
        bucket.total.fetch_add(1, Ordering::Relaxed);
        if status == 502 || status == 504 {
            bucket.network_errors.fetch_add(1, Ordering::Relaxed);
        }
        for (range, count) in self.ranges.iter().zip(bucket.codes.iter()) {
            if (range.0..range.1).contains(&status) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(slot) = bucket.latency.get(latency_slot(latency_us)) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets everything (buckets are zeroed lazily when next used).
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.second.store(0, Ordering::Release);
        }
    }

    /// Sums the buckets of the last [`BUCKETS`] seconds up to `now_ms`.
    pub fn snapshot(&self, now_ms: u64) -> Snapshot {
        let current = now_ms / 1000 + 1;
        let mut s = Snapshot {
            total: 0,
            network_errors: 0,
            codes: vec![0; self.ranges.len()],
            latency: vec![0; self.buckets.first().map_or(0, |b| b.latency.len())],
        };
        for b in self.buckets.iter() {
            let second = b.second.load(Ordering::Acquire);
            if second == 0 || second > current || second + BUCKETS <= current {
                continue;
            }
            s.total += b.total.load(Ordering::Relaxed);
            s.network_errors += b.network_errors.load(Ordering::Relaxed);
            for (sum, c) in s.codes.iter_mut().zip(b.codes.iter()) {
                *sum += c.load(Ordering::Relaxed);
            }
            for (sum, c) in s.latency.iter_mut().zip(b.latency.iter()) {
                *sum += c.load(Ordering::Relaxed);
            }
        }
        s
    }
}

/// The window summed at one instant; what the expression is evaluated against.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub total: u64,
    pub network_errors: u64,
    pub codes: Vec<u64>,
    latency: Vec<u64>,
}

impl Values for Snapshot {
    fn network_error_ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.network_errors as f64 / self.total as f64
        }
    }

    fn codes_in(&self, index: usize) -> u64 {
        self.codes.get(index).copied().unwrap_or(0)
    }

    fn latency_ms_at(&self, quantile: f64) -> f64 {
        let count: u64 = self.latency.iter().sum();
        if count == 0 {
            return 0.0;
        }
        let rank = ((quantile / 100.0) * count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (slot, n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return slot_value_us(slot) as f64 / 1000.0;
            }
        }
        0.0
    }
}

fn latency_slot(us: u64) -> usize {
    if us < 16 {
        return us as usize;
    }
    let octave = 63 - u64::from(us.leading_zeros()); // ≥ 4
    let sub = (us >> (octave - 3)) & 7;
    let slot = 16 + (octave - 4) * 8 + sub;
    (slot as usize).min(LATENCY_SLOTS - 1)
}

/// The middle of a slot's range, in µs.
fn slot_value_us(slot: usize) -> u64 {
    if slot < 16 {
        return slot as u64;
    }
    let octave = (slot as u64 - 16) / 8 + 4;
    let sub = (slot as u64 - 16) % 8;
    let width = 1u64 << (octave - 3);
    (8 + sub) * width + width / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_slots_round_trip_within_an_eighth() {
        for us in [
            0u64, 5, 15, 16, 17, 100, 999, 1000, 12_345, 250_000, 3_000_000,
        ] {
            let v = slot_value_us(latency_slot(us));
            let err = v.abs_diff(us) as f64;
            assert!(
                err <= (us as f64 / 8.0).max(1.0),
                "{us} µs read back as {v}"
            );
        }
    }

    #[test]
    fn old_buckets_leave_the_window() {
        let needs = Needs {
            code_ranges: vec![(500, 600)],
            latency: false,
        };
        let w = Window::new(&needs);
        w.record(0, 500, 10);
        w.record(1_500, 200, 10);
        assert_eq!(w.snapshot(1_500).total, 2);
        assert_eq!(w.snapshot(1_500).codes, vec![1]);
        // At 10.5 s, second 0 has left the 10 s window; second 1 is still in.
        let s = w.snapshot(10_500);
        assert_eq!((s.total, s.codes[0]), (1, 0));
        // Second 10 reuses the bucket of second 0 and starts from zero.
        w.record(10_200, 502, 10);
        let s = w.snapshot(10_500);
        assert_eq!((s.total, s.network_errors, s.codes[0]), (2, 1, 1));
        w.reset();
        assert_eq!(w.snapshot(10_500).total, 0);
    }
}
