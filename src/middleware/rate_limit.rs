//! `rateLimit`: a token bucket per source (Traefik's `average`, `period`, `burst`,
//! `sourceCriterion`). A source gets `burst` tokens, refilled at `average / period` per second;
//! a request takes one token or is answered 429 with `Retry-After` (whole seconds, rounded up).
//! `average: 0` means no limit (Traefik); a negative `average` is a compile error.
//!
//! Difference from Traefik: Traefik delays (sleeps) a request whose wait would be short instead
//! of rejecting it; `on_request` is synchronous, so here such a request is rejected at once.
//!
//! State and locking: buckets live in [`SHARDS`] shards, each a `std::sync::Mutex<HashMap>`
//! keyed by a 64-bit hash of the source; a request locks one shard for a few arithmetic
//! operations, so there is no global lock. State is bounded: at most [`MAX_SOURCES`] sources
//! (Traefik's limit). When a shard is full, buckets that have refilled completely are dropped
//! first (lossless: a full bucket is the same as a new one), then an arbitrary one.
#![allow(clippy::disallowed_types)] // std Mutex: the per-source map is sharded, one mutex per shard (ARCHITECTURE.md, lock policy)

use std::collections::HashMap;
use std::hash::RandomState;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};

use super::config::RateLimitConfig;
use super::error::MiddlewareError;
use super::ip_strategy::SourceCriterion;
use super::rate_limit_redis::{self, RedisLimiter, Verdict};
use super::response::respond;
use super::{Flow, RequestContext};

const M: &str = "rateLimit";
/// Number of independently locked shards.
pub const SHARDS: usize = 64;
/// Most sources tracked at once.
pub const MAX_SOURCES: usize = 65_536;
const PER_SHARD: usize = MAX_SOURCES / SHARDS;

/// Compiled `rateLimit`.
#[derive(Debug)]
pub struct RateLimit {
    /// Tokens per second; `None` = no limit.
    rate: Option<f64>,
    burst: f64,
    criterion: SourceCriterion,
    hasher: RandomState,
    shards: Box<[Mutex<HashMap<u64, Bucket>>]>,
    /// `redis`: the buckets live there (see [`super::rate_limit_redis`]); `None` without a limit.
    shared: Option<RedisLimiter>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn refilled(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * rate).min(burst)
    }
}

impl RateLimit {
    pub fn compile(cfg: &RateLimitConfig) -> Result<Self, MiddlewareError> {
        Self::compile_named(cfg, "")
    }

    /// As [`RateLimit::compile`]; `name` (the qualified middleware name) is part of the redis
    /// key, as in Traefik.
    pub fn compile_named(cfg: &RateLimitConfig, name: &str) -> Result<Self, MiddlewareError> {
        if cfg.average < 0 {
            return Err(MiddlewareError::invalid(
                M,
                "average",
                cfg.average,
                "must not be negative",
            ));
        }
        let period = cfg.period.map_or(Duration::ZERO, |p| p.get());
        let period = if period.is_zero() {
            Duration::from_secs(1)
        } else {
            period
        };
        #[allow(clippy::cast_precision_loss)]
        let rate = (cfg.average > 0).then(|| cfg.average as f64 / period.as_secs_f64());
        #[allow(clippy::cast_precision_loss)]
        let burst = cfg.burst.max(1) as f64;
        let criterion = SourceCriterion::compile(cfg.source_criterion.as_ref(), M)?;
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        let shared = match (&cfg.redis, rate) {
            (Some(redis), Some(rate)) => {
                Some(RedisLimiter::compile(redis, name, rate, cfg.burst.max(1))?)
            }
            // Validated all the same (Traefik builds the client without a limit too).
            (Some(redis), None) => RedisLimiter::compile(redis, name, 1.0, 1).map(|_| None)?,
            (None, _) => None,
        };
        Ok(RateLimit {
            shared,
            rate,
            burst,
            criterion,
            hasher: RandomState::new(),
            shards,
        })
    }

    /// Hash of the request's source.
    fn source(&self, req: &http::request::Parts, ctx: &RequestContext<'_>) -> u64 {
        self.criterion.hash(&self.hasher, req, ctx)
    }

    /// Takes a token for `source` at `now`; `Err(wait)` when none is left.
    fn take(&self, source: u64, rate: f64, now: Instant) -> Result<(), Duration> {
        #[allow(clippy::cast_possible_truncation)]
        let shard = &self.shards[(source % SHARDS as u64) as usize];
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PER_SHARD && !map.contains_key(&source) {
            map.retain(|_, b| b.refilled(now, rate, self.burst) < self.burst);
            if map.len() >= PER_SHARD {
                if let Some(victim) = map.keys().next().copied() {
                    map.remove(&victim);
                }
            }
        }
        let bucket = map.entry(source).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let tokens = bucket.refilled(now, rate, self.burst);
        bucket.last = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }

    pub(crate) fn on_request(
        &self,
        req: &mut http::request::Parts,
        ctx: &RequestContext<'_>,
    ) -> Flow {
        self.check(req, ctx, Instant::now())
    }

    /// The limit is kept in redis: the proxy calls [`RateLimit::check_shared`] instead of
    /// `on_request`.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Traefik's source string (the client IP as its `ipStrategy` picks it, the header's value,
    /// or the request host), part of the redis key.
    fn source_text(&self, req: &http::request::Parts, ctx: &RequestContext<'_>) -> String {
        self.criterion.text(req, ctx)
    }

    /// The redis-backed check: waits up to `maxDelay` as Traefik does, else 429; redis failing
    /// gives 500 (never passes unlimited).
    pub async fn check_shared(&self, req: &http::request::Parts, ctx: &RequestContext<'_>) -> Flow {
        let Some(shared) = &self.shared else {
            return self.on_request_ref(req, ctx);
        };
        let outcome = shared.allow(&self.source_text(req, ctx)).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "rateLimit: could not insert/update bucket in redis");
        }
        if let Some(flow) = rate_limit_redis::refusal(&outcome) {
            return flow;
        }
        if let Ok(Verdict::Pass(wait)) = outcome {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        Flow::Continue
    }

    fn on_request_ref(&self, req: &http::request::Parts, ctx: &RequestContext<'_>) -> Flow {
        self.check(req, ctx, Instant::now())
    }

    pub(crate) fn check(
        &self,
        req: &http::request::Parts,
        ctx: &RequestContext<'_>,
        now: Instant,
    ) -> Flow {
        let Some(rate) = self.rate else {
            return Flow::Continue;
        };
        if self.shared.is_some() {
            // Only `check_shared` can ask redis; never let a request through unlimited.
            return rate_limit_redis::refusal(&Err(std::io::Error::other("not asked")))
                .unwrap_or(Flow::Continue);
        }
        match self.take(self.source(req, ctx), rate, now) {
            Ok(()) => Flow::Continue,
            Err(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Flow::Respond(respond(
                    StatusCode::TOO_MANY_REQUESTS,
                    [(http::header::RETRY_AFTER, HeaderValue::from(secs.max(1)))],
                ))
            }
        }
    }

    /// Number of sources currently tracked (for tests and metrics).
    pub fn tracked_sources(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}
