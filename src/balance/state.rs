//! Reload-surviving per-endpoint state ([`EndpointState`]) and its registry ([`EndpointRegistry`]).
//!
//! `EndpointState` is read on the hot path (every pick) and written by the health checker and by the proxy's
//! passive feedback: it is made only of atomics, never locks, never allocates.
//!
//! `EndpointRegistry` belongs to the config plane: it is touched when a table is compiled and after a swap, never
//! per request, so it keeps its map behind a `std::sync::Mutex`.
//!
//! Passive ejection: every consecutive reported failure ejects the endpoint for a back-off period that starts at
//! [`PASSIVE_BACKOFF_BASE`] (1 s) and doubles per consecutive failure, capped at [`PASSIVE_BACKOFF_MAX`] (30 s):
//! 1 s, 2 s, 4 s, 8 s, 16 s, 30 s, 30 s, … Failures reported during an ejection are ignored (they belong to requests
//! already in flight). A reported success resets the count and lifts the ejection.
#![allow(clippy::disallowed_types)] // std Mutex: the registries are config plane: touched only while compiling

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// First passive ejection period.
pub const PASSIVE_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest passive ejection period.
pub const PASSIVE_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Shared, reload-surviving state of one server of one service. All atomics; no locks.
#[derive(Debug)]
pub struct EndpointState {
    /// Time base for `ejected_until`: instants are stored as nanoseconds since `epoch`.
    epoch: Instant,
    /// Result of the active health check (true when none is configured).
    active_up: AtomicBool,
    /// Consecutive passive failures.
    failures: AtomicU32,
    /// End of the current passive ejection, in nanoseconds since `epoch`; 0 = not ejected.
    ejected_until: AtomicU64,
    inflight: AtomicUsize,
}

impl Default for EndpointState {
    fn default() -> Self {
        Self::new()
    }
}

impl EndpointState {
    /// A fresh state: actively up, not ejected, nothing in flight.
    pub fn new() -> Self {
        EndpointState {
            epoch: Instant::now(),
            active_up: AtomicBool::new(true),
            failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            inflight: AtomicUsize::new(0),
        }
    }

    fn nanos_since_epoch(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Active check up and not passively ejected at `now`. Instants before the state's creation count as its
    /// creation.
    #[inline]
    pub fn is_available(&self, now: Instant) -> bool {
        if !self.active_up.load(Ordering::Relaxed) {
            return false;
        }
        let until = self.ejected_until.load(Ordering::Relaxed);
        until == 0 || self.nanos_since_epoch(now) >= until
    }

    /// Result of the active health check (true when none is configured).
    #[inline]
    pub fn is_active_up(&self) -> bool {
        self.active_up.load(Ordering::Relaxed)
    }

    /// Sets the active-check flag; returns the previous value. Used by the health checker.
    pub fn set_active_up(&self, up: bool) -> bool {
        self.active_up.swap(up, Ordering::Relaxed)
    }

    /// Passive feedback: a connect error or timeout. Ejects the endpoint until `now + back-off`, where the back-off
    /// is 1 s doubled per consecutive failure (capped at 30 s). Failures reported while the endpoint is already
    /// ejected (requests that were in flight when it failed) neither count nor extend the ejection, so a burst of
    /// concurrent failures costs one step of back-off, not many. Returns how long the endpoint stays ejected.
    pub fn report_failure(&self, now: Instant) -> Duration {
        let now_nanos = self.nanos_since_epoch(now);
        let current = self.ejected_until.load(Ordering::Relaxed);
        if current != 0 && now_nanos < current {
            return Duration::from_nanos(current - now_nanos);
        }
        let n = self
            .failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let backoff = passive_backoff(n);
        let until = now_nanos
            .saturating_add(u64::try_from(backoff.as_nanos()).unwrap_or(u64::MAX))
            .max(1);
        self.ejected_until.fetch_max(until, Ordering::Relaxed);
        backoff
    }

    /// Passive feedback: the endpoint answered. Resets the failure count and lifts any passive ejection.
    pub fn report_success(&self) {
        // Avoid dirtying the cache line in the common case where nothing is to be reset.
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
        if self.ejected_until.load(Ordering::Relaxed) != 0 {
            self.ejected_until.store(0, Ordering::Relaxed);
        }
    }

    /// Consecutive passive failures reported since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Requests currently in flight to this endpoint.
    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Counts one request in flight until the returned guard is dropped. The guard owns an `Arc` (no allocation),
    /// so it can move into a spawned task or a streaming response body.
    pub fn start_request(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        InflightGuard {
            state: Arc::clone(self),
        }
    }
}

/// Back-off for the `n`-th consecutive failure (n >= 1).
pub fn passive_backoff(n: u32) -> Duration {
    let shift = n.saturating_sub(1).min(16);
    PASSIVE_BACKOFF_BASE
        .saturating_mul(1u32 << shift)
        .min(PASSIVE_BACKOFF_MAX)
}

/// Decrements the endpoint's in-flight counter when dropped.
#[derive(Debug)]
#[must_use = "the request is counted in flight only while the guard lives"]
pub struct InflightGuard {
    state: Arc<EndpointState>,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.state.inflight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Registry of endpoint states keyed by (service, url). Config plane only: it locks a mutex, so it must not be used
/// per request. Two ways to forget states:
/// - [`EndpointRegistry::retain`]: keep only the keys the latest compiled table uses (call after a swap);
/// - [`EndpointRegistry::prune_unreferenced`]: drop states nobody else holds an `Arc` to any more (a state still
///   referenced by an old table held by in-flight requests survives until the next prune).
#[derive(Debug, Default)]
pub struct EndpointRegistry {
    states: Mutex<HashMap<(String, String), Arc<EndpointState>>>,
    /// Round-robin cursors by service, so a reload does not restart every rotation at the first
    /// server (which would skew the distribution each time the table is swapped).
    cursors: Mutex<HashMap<String, Arc<std::sync::atomic::AtomicUsize>>>,
}

impl EndpointRegistry {
    /// The state of `url` in `service`, created (up, not ejected) on first use.
    pub fn get_or_create(&self, service: &str, url: &str) -> Arc<EndpointState> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = states.get(&(service.to_string(), url.to_string())) {
            return Arc::clone(state);
        }
        let state = Arc::new(EndpointState::new());
        states.insert((service.to_string(), url.to_string()), Arc::clone(&state));
        state
    }

    /// Drops the states for which `live(service, url)` is false.
    pub fn retain(&self, live: impl Fn(&str, &str) -> bool) {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states.retain(|(service, url), _| live(service, url));
    }

    /// Drops the states only the registry still references. Returns how many were dropped.
    pub fn prune_unreferenced(&self) -> usize {
        let mut cursors = self.cursors.lock().unwrap_or_else(PoisonError::into_inner);
        cursors.retain(|_, cursor| Arc::strong_count(cursor) > 1);
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let before = states.len();
        states.retain(|_, state| Arc::strong_count(state) > 1);
        before - states.len()
    }

    /// The round-robin cursor of `service`, shared by every balancer compiled for it.
    pub fn cursor(&self, service: &str) -> Arc<std::sync::atomic::AtomicUsize> {
        let mut cursors = self.cursors.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(cursors.entry(service.to_string()).or_default())
    }

    /// Number of known endpoint states.
    pub fn len(&self) -> usize {
        self.states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when no endpoint state is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(service, url, active-check up)` for every known endpoint, sorted by service then url.
    pub fn snapshot(&self) -> Vec<(String, String, bool)> {
        let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<_> = states
            .iter()
            .map(|((service, url), state)| (service.clone(), url.clone(), state.is_active_up()))
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests;
