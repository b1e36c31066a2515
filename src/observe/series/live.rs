//! Live traffic for the dashboard: the last five minutes of requests, 4xx, 5xx, bytes and latency
//! per (router, entrypoint), in rings of 5-second buckets, counted in process (no Prometheus).
//!
//! A compiled `Route` binds its `LiveSlot` on its first request (the registry locks then, once
//! per route, and when the API reads); a request then costs one atomic load (the bucket's epoch)
//! and one atomic add (its latency cell packs the count, the 4xx and the 5xx), plus one add per
//! non-zero byte count. A bucket is cleared by the first request that lands in it after five
//! minutes (the few requests that race that clearing, within microseconds, are not counted).
//! Reading sums the rings of the buckets whose epoch is still in the window.

#![allow(clippy::disallowed_types)] // std Mutex: the registry locks when a route binds its ring (once) and when the API reads, never per request

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// Seconds per bucket.
pub const BUCKET_SECS: u64 = 5;
/// Buckets per ring: five minutes.
pub const SLOTS: usize = 60;
/// Latency buckets: `[0, 32 µs)`, then doubling up to 32 µs·2^23 (about 268 s, and beyond).
pub const LATENCY_BUCKETS: usize = 24;

/// A latency cell packs three counters: requests (bits 0..22), 4xx (22..43), 5xx (43..64).
const C4_SHIFT: u32 = 22;
const C5_SHIFT: u32 = 43;
const COUNT_MASK: u64 = (1 << C4_SHIFT) - 1;
const C4_MASK: u64 = (1 << (C5_SHIFT - C4_SHIFT)) - 1;
/// Epoch of a bucket being cleared (requests landing in it meanwhile are dropped).
const CLEARING: u64 = u64::MAX;

/// The latency bucket of a duration.
pub fn latency_index(elapsed: Duration) -> usize {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let k = 64 - (micros >> 5).leading_zeros() as usize;
    k.min(LATENCY_BUCKETS - 1)
}

/// The (lower, upper) bounds in microseconds of latency bucket `k`.
pub fn latency_bounds(k: usize) -> (f64, f64) {
    if k == 0 {
        (0.0, 32.0)
    } else {
        let upper = 32.0 * (1u64 << k) as f64;
        (upper / 2.0, upper)
    }
}

#[derive(Debug)]
struct Slot {
    /// The bucket number + 1 this slot holds (0: never used, `CLEARING`: being cleared).
    epoch: AtomicU64,
    cells: [AtomicU64; LATENCY_BUCKETS],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            epoch: AtomicU64::new(0),
            cells: std::array::from_fn(|_| AtomicU64::new(0)),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }
}

/// Five minutes of one (router, entrypoint).
#[derive(Debug)]
pub struct Ring {
    slots: Box<[Slot]>,
}

/// One finished request as the live view counts it.
#[derive(Debug, Clone, Copy)]
pub struct LiveSample {
    /// When it finished.
    pub at: Instant,
    pub elapsed: Duration,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Default for Ring {
    fn default() -> Self {
        Ring {
            slots: (0..SLOTS).map(|_| Slot::new()).collect(),
        }
    }
}

impl Ring {
    /// Counts one request in bucket `n`.
    pub fn add(&self, n: u64, sample: &LiveSample) {
        let slot = &self.slots[(n % SLOTS as u64) as usize];
        let want = n + 1;
        let epoch = slot.epoch.load(Ordering::Acquire);
        if epoch != want {
            // Only a bucket older than ours is cleared; a newer one (we are late) or one being
            // cleared by another request drops this sample.
            if epoch == CLEARING
                || epoch > want
                || slot
                    .epoch
                    .compare_exchange(epoch, CLEARING, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
            {
                return;
            }
            for c in &slot.cells {
                c.store(0, Ordering::Relaxed);
            }
            slot.bytes_in.store(0, Ordering::Relaxed);
            slot.bytes_out.store(0, Ordering::Relaxed);
            slot.epoch.store(want, Ordering::Release);
        }
        let packed = 1
            | u64::from((400..500).contains(&sample.status)) << C4_SHIFT
            | u64::from(sample.status >= 500) << C5_SHIFT;
        slot.cells[latency_index(sample.elapsed)].fetch_add(packed, Ordering::Relaxed);
        if sample.bytes_in > 0 {
            slot.bytes_in.fetch_add(sample.bytes_in, Ordering::Relaxed);
        }
        if sample.bytes_out > 0 {
            slot.bytes_out
                .fetch_add(sample.bytes_out, Ordering::Relaxed);
        }
    }

    /// Adds this ring's buckets up to `newest` (the window's last bucket) into `out`.
    pub fn add_into(&self, newest: u64, out: &mut Window) {
        for (i, bucket) in out.buckets.iter_mut().enumerate() {
            let Some(n) = (newest + 1 + i as u64).checked_sub(SLOTS as u64) else {
                continue;
            };
            let slot = &self.slots[(n % SLOTS as u64) as usize];
            if slot.epoch.load(Ordering::Acquire) != n + 1 {
                continue;
            }
            for (k, c) in slot.cells.iter().enumerate() {
                let v = c.load(Ordering::Relaxed);
                let count = v & COUNT_MASK;
                bucket.requests += count;
                bucket.status_4xx += (v >> C4_SHIFT) & C4_MASK;
                bucket.status_5xx += v >> C5_SHIFT;
                bucket.latency[k] += count;
            }
            bucket.bytes_in += slot.bytes_in.load(Ordering::Relaxed);
            bucket.bytes_out += slot.bytes_out.load(Ordering::Relaxed);
        }
    }

    /// Whether no bucket of the window ending at `newest` holds anything.
    fn is_idle(&self, newest: u64) -> bool {
        self.slots.iter().all(|s| {
            let e = s.epoch.load(Ordering::Relaxed);
            e == 0 || e == CLEARING || e + (SLOTS as u64) <= newest + 1
        })
    }
}

// === impl Window ===

/// One bucket of a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    pub requests: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub latency: [u64; LATENCY_BUCKETS],
}

impl Bucket {
    /// The latency below which a `q` share of requests finished (interpolated inside its
    /// bucket), in milliseconds; `None` without requests.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0);
        let mut seen = 0.0;
        for (k, &n) in self.latency.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let n = n as f64;
            if seen + n >= rank {
                let (lo, hi) = latency_bounds(k);
                let frac = (rank - seen) / n;
                return Some((lo + (hi - lo) * frac) / 1000.0);
            }
            seen += n;
        }
        None
    }

    fn merge(&mut self, other: &Bucket) {
        self.requests += other.requests;
        self.status_4xx += other.status_4xx;
        self.status_5xx += other.status_5xx;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            *a += b;
        }
    }
}

/// `SLOTS` buckets, oldest first; the last is the bucket in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub buckets: Vec<Bucket>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            buckets: vec![Bucket::default(); SLOTS],
        }
    }
}

impl Window {
    /// The last `n` buckets merged into one.
    pub fn recent(&self, n: usize) -> Bucket {
        let mut out = Bucket::default();
        for b in self.buckets.iter().rev().take(n) {
            out.merge(b);
        }
        out
    }

    pub fn merge(&mut self, other: &Window) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            a.merge(b);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|b| b.requests == 0)
    }
}

// === impl Live ===

/// Where a compiled `Route` keeps its bound rings; empty until the route's first request.
pub type LiveSlot = OnceLock<Arc<RouteLive>>;

/// Answers of status 400 and above a router keeps (the most recent).
pub const RECENT_ERRORS: usize = 16;

/// The rings of one router, one per entrypoint (allocated on the first request there), and its
/// last error answers.
#[derive(Debug)]
pub struct RouteLive {
    per_entrypoint: Box<[OnceLock<Box<Ring>>]>,
    /// Each packs Unix milliseconds (bits 16..), the entrypoint (10..16) and the status (0..10);
    /// 0 is empty. Written only for error answers: one add on `next`, one store.
    errors: [AtomicU64; RECENT_ERRORS],
    next: AtomicUsize,
}

/// One error answer of a router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentError {
    /// Unix milliseconds.
    pub at_ms: u64,
    pub status: u16,
    pub entrypoint: String,
}

impl RouteLive {
    fn new(entrypoints: usize) -> RouteLive {
        RouteLive {
            per_entrypoint: (0..entrypoints).map(|_| OnceLock::new()).collect(),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            next: AtomicUsize::new(0),
        }
    }

    fn note_error(&self, at_ms: u64, entrypoint: usize, status: u16) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % RECENT_ERRORS;
        let packed = at_ms << 16 | (entrypoint.min(63) as u64) << 10 | u64::from(status.min(1023));
        self.errors[i].store(packed, Ordering::Relaxed);
    }

    /// The kept error answers, newest first.
    fn recent_errors(&self, entrypoints: &[String]) -> Vec<RecentError> {
        let mut out: Vec<RecentError> = self
            .errors
            .iter()
            .map(|e| e.load(Ordering::Relaxed))
            .filter(|v| *v != 0)
            .map(|v| RecentError {
                at_ms: v >> 16,
                status: (v & 1023) as u16,
                entrypoint: entrypoints
                    .get(((v >> 10) & 63) as usize)
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
        out
    }
}

/// The registry: rings by router name (kept across reloads), and the requests no router matched.
#[derive(Debug)]
pub struct Live {
    base: Instant,
    /// `base` on the wall clock, for the times of recent errors.
    base_wall: SystemTime,
    entrypoints: Box<[String]>,
    routes: Mutex<HashMap<String, Arc<RouteLive>>>,
    unrouted: Arc<RouteLive>,
}

/// What one read saw: the window of each (router, entrypoint) with traffic; router `None` for
/// requests no router matched.
#[derive(Debug)]
pub struct Snapshot {
    /// Seconds the window's last bucket has run (0..=`BUCKET_SECS`).
    pub current_secs: f64,
    /// Seconds since the registry started (caps rates while the window is not yet full).
    pub uptime_secs: f64,
    pub series: Vec<(Option<String>, String, Window)>,
    /// Each router's last error answers (routers that have some), newest first.
    pub errors: Vec<(String, Vec<RecentError>)>,
}

impl Live {
    /// A registry for these entrypoints (in the table's order).
    pub fn new(entrypoints: Vec<String>) -> Live {
        let n = entrypoints.len();
        Live {
            base: Instant::now(),
            base_wall: SystemTime::now(),
            entrypoints: entrypoints.into_boxed_slice(),
            routes: Mutex::default(),
            unrouted: Arc::new(RouteLive::new(n)),
        }
    }

    fn bucket_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.base).as_secs() / BUCKET_SECS
    }

    /// Counts one request; `route`: the matched route's slot and name (`None`: no router matched).
    pub fn record(&self, route: Option<(&LiveSlot, &str)>, entrypoint: usize, sample: LiveSample) {
        let rings = match route {
            Some((slot, name)) => slot.get_or_init(|| {
                let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
                Arc::clone(
                    routes
                        .entry(name.to_string())
                        .or_insert_with(|| Arc::new(RouteLive::new(self.entrypoints.len()))),
                )
            }),
            None => &self.unrouted,
        };
        let Some(ring) = rings.per_entrypoint.get(entrypoint) else {
            return;
        };
        if sample.status >= 400 && route.is_some() {
            let wall = self.base_wall + sample.at.saturating_duration_since(self.base);
            let ms = wall
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
            rings.note_error(ms, entrypoint, sample.status);
        }
        ring.get_or_init(Box::default)
            .add(self.bucket_of(sample.at), &sample);
    }

    /// Reads every ring with traffic in the last five minutes as of `now`; forgets the rings of
    /// routers that are gone (no compiled route holds them) and have been idle for the window.
    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let newest = self.bucket_of(now);
        let since = now.saturating_duration_since(self.base).as_secs_f64();
        let mut series = Vec::new();
        let mut read = |router: Option<String>, rings: &RouteLive| {
            for (ep, ring) in rings.per_entrypoint.iter().enumerate() {
                let Some(ring) = ring.get() else { continue };
                let mut w = Window::default();
                ring.add_into(newest, &mut w);
                if !w.is_empty() {
                    let name = self.entrypoints.get(ep).cloned().unwrap_or_default();
                    series.push((router.clone(), name, w));
                }
            }
        };
        read(None, &self.unrouted);
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.retain(|_, rings| {
            Arc::strong_count(rings) > 1
                || rings
                    .per_entrypoint
                    .iter()
                    .any(|r| r.get().is_some_and(|r| !r.is_idle(newest)))
        });
        let mut errors = Vec::new();
        for (name, rings) in routes.iter() {
            read(Some(name.clone()), rings);
            let recent = rings.recent_errors(&self.entrypoints);
            if !recent.is_empty() {
                errors.push((name.clone(), recent));
            }
        }
        Snapshot {
            current_secs: since - (newest * BUCKET_SECS) as f64,
            uptime_secs: since,
            series,
            errors,
        }
    }
}
