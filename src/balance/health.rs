//! Active health checks: one tokio task per (service, server) with a health check configured, flipping the
//! endpoint's active flag with rise/fall hysteresis. Config plane: [`HealthChecker::sync`] runs after each reload;
//! the loops only write the endpoint's atomics, which the data plane reads.
//!
//! Rules: a probe succeeds on 2xx/3xx (or exactly `status` when set); `fall` consecutive failures (default 1, as
//! Traefik) take an up server down, `rise` consecutive successes (default 1) bring a down server back. The first
//! probe runs at once, then every `interval` (default 30 s; `unhealthyInterval` while the server is
//! down), redirects followed unless `followRedirects: false` (as Traefik), each bounded by `timeout` (default 5 s). Transitions are
//! logged at info level ("server up" / "server down"). A server with no health check is up: when a target leaves
//! the checker, its state is set back to up. See [`probe`] for the wire details (https without verification).

pub mod probe;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::state::EndpointState;
use crate::config::dynamic::HealthCheckConfig;
use probe::Probe;

/// One server to check.
#[derive(Debug, Clone)]
pub struct HealthTarget {
    pub service: String,
    pub url: String,
    pub config: HealthCheckConfig,
    pub state: Arc<EndpointState>,
}

/// A running check loop; aborted when dropped.
#[derive(Debug)]
struct Running {
    config: HealthCheckConfig,
    state: Arc<EndpointState>,
    task: Option<JoinHandle<()>>,
    /// The config cannot make a probe (already logged): not retried until the config changes.
    invalid: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Owns the spawned check loops, keyed by (service, url). Dropping it stops them all.
#[derive(Debug, Default)]
pub struct HealthChecker {
    running: HashMap<(String, String), Running>,
}

impl HealthChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of running check loops.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// True when no loop runs.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Reconciles the running check loops with `targets`: starts new ones, stops removed ones (their state goes
    /// back to up), restarts those whose config or state object changed (the up/down flag is kept, the streak
    /// counters restart). Loops of unchanged targets keep running untouched. Idempotent; must be called within a
    /// tokio runtime (without one, nothing is started and an error is logged). A target whose config cannot make
    /// a probe (bad URL, header, method) is logged and left up.
    pub fn sync(&mut self, targets: Vec<HealthTarget>) {
        let runtime = tokio::runtime::Handle::try_current().ok();
        if runtime.is_none() && !targets.is_empty() {
            tracing::error!("health checker sync called outside a tokio runtime; no check started");
        }
        let mut next = HashMap::with_capacity(targets.len());
        for target in targets {
            let key = (target.service.clone(), target.url.clone());
            if let Some(current) = self.running.remove(&key) {
                let unchanged =
                    current.config == target.config && Arc::ptr_eq(&current.state, &target.state);
                // A loop that never started for lack of a runtime, or that ended, is started again.
                let alive = current.invalid
                    || runtime.is_none()
                    || current.task.as_ref().is_some_and(|t| !t.is_finished());
                if unchanged && alive {
                    next.insert(key, current);
                    continue;
                }
                // Changed: stop the old loop but keep the flag (no "server up" flicker).
                drop(current);
            }
            let (task, invalid) = match &runtime {
                Some(rt) => match spawn_loop(rt, &target) {
                    Some(task) => (Some(task), false),
                    None => (None, true),
                },
                None => (None, false),
            };
            next.insert(
                key,
                Running {
                    config: target.config,
                    state: target.state,
                    task,
                    invalid,
                },
            );
        }
        // Whatever is left was removed from the configuration: stop it, and the server counts as up again.
        for ((service, url), removed) in self.running.drain() {
            if !removed.state.set_active_up(true) {
                tracing::info!(service = %service, endpoint = %url, "server up (health check removed)");
            }
        }
        self.running = next;
    }
}

fn spawn_loop(rt: &tokio::runtime::Handle, target: &HealthTarget) -> Option<JoinHandle<()>> {
    match Probe::new(&target.url, &target.config) {
        Ok(probe) => Some(rt.spawn(check_loop(
            target.service.clone(),
            target.url.clone(),
            probe,
            Hysteresis::new(&target.config),
            Arc::clone(&target.state),
        ))),
        Err(error) => {
            tracing::warn!(service = %target.service, endpoint = %target.url, %error,
                "health check not started");
            None
        }
    }
}

async fn check_loop(
    service: String,
    url: String,
    probe: Probe,
    mut hysteresis: Hysteresis,
    state: Arc<EndpointState>,
) {
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::time::sleep_until(next).await;
        let result = probe.check().await;
        let up = state.is_active_up();
        match (&result, hysteresis.observe(up, result.is_ok())) {
            (_, Some(true)) => {
                state.set_active_up(true);
                tracing::info!(service = %service, endpoint = %url, "server up");
            }
            (Err(error), Some(false)) => {
                state.set_active_up(false);
                tracing::info!(service = %service, endpoint = %url, %error, "server down");
            }
            (Err(error), None) => {
                tracing::debug!(service = %service, endpoint = %url, %error, "health check failed");
            }
            _ => {}
        }
        // Traefik checks servers that are down at `unhealthyInterval`.
        let wait = if state.is_active_up() {
            probe.interval
        } else {
            probe.unhealthy_interval
        };
        next += wait;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now + wait;
        }
    }
}

/// Rise/fall counters: turns a stream of probe results into up/down transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    successes: u32,
    failures: u32,
}

impl Hysteresis {
    pub fn new(config: &HealthCheckConfig) -> Self {
        Hysteresis {
            rise: config.rise.unwrap_or(1).max(1),
            fall: config.fall.unwrap_or(1).max(1),
            successes: 0,
            failures: 0,
        }
    }

    /// Records one probe result for a server currently `up`; returns the new state when it must flip.
    pub fn observe(&mut self, up: bool, ok: bool) -> Option<bool> {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            (!up && self.successes >= self.rise).then_some(true)
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            (up && self.failures >= self.fall).then_some(false)
        }
    }
}

#[cfg(test)]
mod grpc_tests;
#[cfg(test)]
mod redirect_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;
