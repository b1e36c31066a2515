//! `circuitBreaker` (Traefik v3, oxy semantics): stops forwarding to a failing service.
//!
//! Options: `expression` (see [`expr`]), `checkPeriod` (100 ms), `fallbackDuration` (10 s),
//! `recoveryDuration` (10 s), `responseCode` (503).
//!
//! States:
//! - **Standby**: requests go through; each response (status, time to the response head) is
//!   counted in a sliding window ([`window`], 10 × 1 s). After a response, at most once per
//!   `checkPeriod`, the expression is evaluated; true → Tripped (and the window is cleared).
//! - **Tripped**: requests are answered `responseCode` without forwarding, for
//!   `fallbackDuration`; the first request after that enters Recovering.
//! - **Recovering**: for `recoveryDuration` a linearly growing share of requests goes through
//!   (oxy's ratio controller: a request passes when passing it keeps the passed share below
//!   elapsed / `recoveryDuration`), the rest get `responseCode`. The expression is still checked:
//!   true → Tripped again. At the end → Standby with a cleared window.
//!
//! A network error is a response the proxy itself made 502 or 504 (upstream unreachable, timed
//! out). The admission decision is made in `on_request` (middlewares after the breaker do not
//! run when it answers); the proxy reports the final status of requests it let through with
//! [`record`], so the breaker sees what later middlewares and the service answered, as Traefik.
//!
//! One state per middleware per router (Traefik instantiates middlewares per router): the table
//! compiler takes each router's breaker from a [`BreakerRegistry`] keyed by (router, middleware),
//! which keeps it across reloads while the middleware's configuration is unchanged (Swarm events
//! reload often; a breaker reset by every reload would never stay open).
//!
//! Request-path cost: atomics only, no lock. The state and its deadline are packed in one
//! `AtomicU64` changed by compare-and-swap; the window's buckets are atomic counters (see
//! [`window`] for the one tolerated inaccuracy at a second boundary).
#![allow(clippy::disallowed_types)] // std Mutex: `BreakerRegistry` is config plane: touched only while compiling

pub mod expr;
pub mod window;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};

use self::expr::Expr;
use self::window::Window;
use super::config::CircuitBreakerConfig;
use super::error::MiddlewareError;
use super::response::respond;
use super::Middleware;

const M: &str = "circuitBreaker";
const DEFAULT_CHECK_PERIOD: Duration = Duration::from_millis(100);
const DEFAULT_FALLBACK: Duration = Duration::from_secs(10);
const DEFAULT_RECOVERY: Duration = Duration::from_secs(10);

const STANDBY: u64 = 0;
const TRIPPED: u64 = 1;
const RECOVERING: u64 = 2;

/// The breaker's state as tests and the API see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Standby,
    Tripped,
    Recovering,
}

/// Compiled `circuitBreaker` with its state.
#[derive(Debug)]
pub struct CircuitBreaker {
    expression: Expr,
    source: String,
    check_period_ms: u64,
    fallback_ms: u64,
    recovery_ms: u64,
    response_code: StatusCode,
    origin: Instant,
    window: Window,
    /// `deadline_ms << 2 | state`: the end of Tripped or Recovering.
    state: AtomicU64,
    /// Milliseconds since `origin` before which the expression is not evaluated again.
    next_check_ms: AtomicU64,
    /// Recovering: requests let through / answered by the breaker.
    allowed: AtomicU64,
    denied: AtomicU64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX >> 2)
}

fn pack(state: u64, deadline_ms: u64) -> u64 {
    (deadline_ms.min(u64::MAX >> 2) << 2) | state
}

impl CircuitBreaker {
    pub fn compile(cfg: &CircuitBreakerConfig) -> Result<Self, MiddlewareError> {
        Self::compile_at(cfg, Instant::now())
    }

    /// [`CircuitBreaker::compile`] with the clock's origin given (tests).
    pub fn compile_at(
        cfg: &CircuitBreakerConfig,
        origin: Instant,
    ) -> Result<Self, MiddlewareError> {
        if cfg.expression.trim().is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "expression",
            });
        }
        let (expression, needs) =
            expr::parse(&cfg.expression).map_err(|e| MiddlewareError::Expression {
                middleware: M,
                option: "expression",
                value: cfg.expression.clone(),
                error: e.to_string(),
            })?;
        let response_code = match cfg.response_code {
            None => StatusCode::SERVICE_UNAVAILABLE,
            Some(code) => u16::try_from(code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .filter(|c| c.as_u16() >= 200)
                .ok_or_else(|| {
                    MiddlewareError::invalid(M, "responseCode", code, "not an HTTP status code")
                })?,
        };
        let duration = |d: Option<crate::config::duration::Duration>, default| {
            millis(d.map_or(default, |d| d.get()))
        };
        Ok(CircuitBreaker {
            expression,
            source: cfg.expression.clone(),
            check_period_ms: duration(cfg.check_period, DEFAULT_CHECK_PERIOD),
            fallback_ms: duration(cfg.fallback_duration, DEFAULT_FALLBACK),
            recovery_ms: duration(cfg.recovery_duration, DEFAULT_RECOVERY),
            response_code,
            origin,
            window: Window::new(&needs),
            state: AtomicU64::new(pack(STANDBY, 0)),
            next_check_ms: AtomicU64::new(0),
            allowed: AtomicU64::new(0),
            denied: AtomicU64::new(0),
        })
    }

    fn ms(&self, now: Instant) -> u64 {
        millis(now.saturating_duration_since(self.origin))
    }

    /// The expression as configured.
    pub fn expression(&self) -> &str {
        &self.source
    }

    /// The current state (without moving it on).
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) & 3 {
            TRIPPED => State::Tripped,
            RECOVERING => State::Recovering,
            _ => State::Standby,
        }
    }

    /// Whether a request arriving at `now` may be forwarded; moves Tripped → Recovering →
    /// Standby when their time is up.
    pub fn admit(&self, now: Instant) -> bool {
        let now_ms = self.ms(now);
        loop {
            let packed = self.state.load(Ordering::Acquire);
            let deadline = packed >> 2;
            match packed & 3 {
                TRIPPED if now_ms < deadline => return false,
                TRIPPED => {
                    let next = pack(RECOVERING, now_ms.saturating_add(self.recovery_ms));
                    if self
                        .state
                        .compare_exchange(packed, next, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        self.allowed.store(0, Ordering::Relaxed);
                        self.denied.store(0, Ordering::Relaxed);
                    }
                }
                RECOVERING if now_ms >= deadline => {
                    if self
                        .state
                        .compare_exchange(
                            packed,
                            pack(STANDBY, 0),
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        )
                        .is_ok()
                    {
                        self.window.reset();
                    }
                }
                RECOVERING => {
                    let start = deadline.saturating_sub(self.recovery_ms);
                    let target = if self.recovery_ms == 0 {
                        1.0
                    } else {
                        now_ms.saturating_sub(start) as f64 / self.recovery_ms as f64
                    };
                    let allowed = self.allowed.load(Ordering::Relaxed) + 1;
                    let denied = self.denied.load(Ordering::Relaxed);
                    return if (allowed as f64) / ((allowed + denied) as f64) < target {
                        self.allowed.fetch_add(1, Ordering::Relaxed);
                        true
                    } else {
                        self.denied.fetch_add(1, Ordering::Relaxed);
                        false
                    };
                }
                _ => return true,
            }
        }
    }

    /// The answer while tripped (or to requests held back while recovering).
    pub fn fallback(&self) -> Response<Bytes> {
        respond(self.response_code, [])
    }

    /// Counts the response to a request [`CircuitBreaker::admit`] let through, then (at most
    /// once per `checkPeriod`) evaluates the expression.
    pub fn record(&self, now: Instant, status: u16, latency: Duration) {
        let now_ms = self.ms(now);
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.window.record(now_ms, status, latency_us);
        self.check(now_ms);
    }

    fn check(&self, now_ms: u64) {
        let next = self.next_check_ms.load(Ordering::Acquire);
        if now_ms < next
            || self
                .next_check_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.check_period_ms),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        let packed = self.state.load(Ordering::Acquire);
        if packed & 3 == TRIPPED {
            return;
        }
        if !self.expression.eval(&self.window.snapshot(now_ms)) {
            return;
        }
        let tripped = pack(TRIPPED, now_ms.saturating_add(self.fallback_ms));
        if self
            .state
            .compare_exchange(packed, tripped, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(expression = %self.source, "circuit breaker tripped");
            self.window.reset();
        }
    }
}

/// Breakers by (router, middleware) that survive reloads while their configuration is
/// unchanged. Config plane only (the compile loop locks it while compiling).
#[derive(Debug, Default)]
pub struct BreakerRegistry {
    #[allow(clippy::type_complexity)]
    breakers: Mutex<HashMap<(String, String), (CircuitBreakerConfig, Arc<CircuitBreaker>)>>,
}

impl BreakerRegistry {
    /// The router's breaker for `middleware`: the existing one when `cfg` is unchanged, else a
    /// new one in Standby.
    pub fn get_or_compile(
        &self,
        router: &str,
        middleware: &str,
        cfg: &CircuitBreakerConfig,
    ) -> Result<Arc<CircuitBreaker>, MiddlewareError> {
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        let key = (router.to_string(), middleware.to_string());
        if let Some((known, breaker)) = map.get(&key) {
            if known == cfg {
                return Ok(Arc::clone(breaker));
            }
        }
        let breaker = Arc::new(CircuitBreaker::compile(cfg)?);
        map.insert(key, (cfg.clone(), Arc::clone(&breaker)));
        Ok(breaker)
    }

    /// Drops breakers no table holds any more.
    pub fn retain_used(&self) {
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, b)| Arc::strong_count(b) > 1);
    }
}

/// When the route has a circuit breaker, the instant its request started (for latencies).
pub fn started(middlewares: &[Arc<Middleware>]) -> Option<Instant> {
    middlewares
        .iter()
        .any(|m| matches!(**m, Middleware::CircuitBreaker(_)))
        .then(Instant::now)
}

/// Reports the final status to the circuit breakers among `passed` (the middlewares whose
/// `on_request` let the request through).
pub fn record(passed: &[Arc<Middleware>], started: Option<Instant>, status: StatusCode) {
    let Some(started) = started else {
        return;
    };
    let now = Instant::now();
    for m in passed {
        if let Middleware::CircuitBreaker(b) = &**m {
            b.record(now, status.as_u16(), now.saturating_duration_since(started));
        }
    }
}

#[cfg(test)]
mod tests;
