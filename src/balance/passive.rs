//! `loadBalancer.passiveHealthCheck` (Traefik 3.7): live traffic decides. An exchange with a
//! server fails when no answer came or its status is 500 or more; any other answer forgets that
//! server's failures. When a server has failed `maxFailedAttempts` times within the last
//! `failureWindow`, it leaves the rotation (and the service reports itself down when no server is
//! left, as an active check would): for `failureWindow`, or, when the service also has an active
//! `healthCheck`, until that check's next passing probe (Traefik's rule).
//!
//! Only services with the option pay for it: a short uncontended lock per answered request over
//! that server's recent failure times (at most `maxFailedAttempts` are kept).

#![allow(clippy::disallowed_types)] // std Mutex: passiveHealthCheck's failure window per server, a short lock after an answer, only for services with the option (ARCHITECTURE.md, lock policy)

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::state::EndpointState;
use crate::config::dynamic::PassiveHealthCheckConfig;

/// Compiled `passiveHealthCheck` of one load balancer, one slot per server (by index).
#[derive(Debug)]
pub struct PassiveHealthCheck {
    max_failed_attempts: usize,
    failure_window: Duration,
    /// The service has an active `healthCheck`: it, not a timer, brings a server back.
    has_active: bool,
    slots: Box<[Slot]>,
}

#[derive(Debug, Default)]
struct Slot {
    /// Failure times within the window, oldest first.
    failures: Mutex<VecDeque<Instant>>,
    /// A timer will bring the server back (set once per ejection).
    timer: Arc<AtomicBool>,
}

impl PassiveHealthCheck {
    pub fn new(cfg: &PassiveHealthCheckConfig, servers: usize, has_active: bool) -> Self {
        PassiveHealthCheck {
            // Traefik compares `len(failures) < maxFailedAttempts`: 0 or less ejects at once.
            max_failed_attempts: usize::try_from(cfg.max_failed_attempts).unwrap_or(0),
            failure_window: cfg.failure_window.get(),
            has_active,
            slots: (0..servers).map(|_| Slot::default()).collect(),
        }
    }

    /// Records one exchange with server `index` (`status`: the answer's, `None` when none came).
    /// Returns true when this failure took the server out of rotation.
    pub fn record(
        &self,
        index: usize,
        state: &Arc<EndpointState>,
        status: Option<u16>,
        now: Instant,
    ) -> bool {
        let Some(slot) = self.slots.get(index) else {
            return false;
        };
        let mut failures = slot.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if status.is_some_and(|s| s < 500) {
            failures.clear();
            return false;
        }
        failures.push_back(now);
        // Only failures strictly inside the window count (Traefik's `t.After(windowStart)`).
        let start = now.checked_sub(self.failure_window);
        while failures
            .front()
            .is_some_and(|t| start.is_some_and(|start| *t <= start))
        {
            failures.pop_front();
        }
        while failures.len() > self.max_failed_attempts.max(1) {
            failures.pop_front();
        }
        if failures.len() < self.max_failed_attempts {
            return false;
        }
        drop(failures);
        if self.has_active {
            // The active check brings it back at its next passing probe.
            state.set_active_up(false);
            return true;
        }
        if slot
            .timer
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Already out, a timer runs.
            return false;
        }
        state.set_active_up(false);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to time the ejection: never leave the server out for good.
            state.set_active_up(true);
            slot.timer.store(false, Ordering::Release);
            return false;
        };
        let (state, timer, window) = (
            Arc::clone(state),
            Arc::clone(&slot.timer),
            self.failure_window,
        );
        runtime.spawn(async move {
            tokio::time::sleep(window).await;
            state.set_active_up(true);
            timer.store(false, Ordering::Release);
        });
        true
    }
}

#[cfg(test)]
mod tests;
