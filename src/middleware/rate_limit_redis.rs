//! `rateLimit.redis`: the token buckets live in redis, so every proxy that talks to the same redis
//! shares one limit (Traefik 3.4+). Same algorithm, key and Lua script as Traefik
//! (`pkg/middlewares/ratelimiter/redis_limiter.go`, `lua.go`), so swarmgate and Traefik replicas
//! can even share buckets: key `rate:<middleware>@<provider>:<source>`, a hash with `last`
//! (µs since the epoch) and `tokens`, expiring after `ttl` seconds.
//!
//! The script takes a token and says how long the request must wait for it; a wait up to
//! `maxDelay` is slept (Traefik's behaviour), a longer one gives back the token and answers 429
//! with `Retry-After` and `X-Retry-In`. Redis unreachable or failing: 500
//! `Could not insert/update bucket`, as Traefik (fail closed: no request passes unlimited).
//!
//! The client is a small RESP2 client of our own over TCP or TLS (rustls): a pool of at most
//! `poolSize` idle connections (default 10 per CPU, as go-redis), at most `maxActiveConns` open
//! at once (0: no bound), each command bounded by `readTimeout`/`writeTimeout` (default 3 s; 0
//! or less: none, as Traefik), each connection set-up by `dialTimeout` (default 5 s). `AUTH`
//! (with `username` when set) and `SELECT db` run once per connection. Several `endpoints`
//! (a redis cluster for go-redis) are refused at compile time: only one redis is supported.
//!
//! This file holds the middleware (compile, the script call, the verdict); `resp.rs` the wire
//! format, `pool.rs` the connections.

#![allow(clippy::disallowed_types)] // std Mutex: the idle redis connection pool, taken once per rate-limited request (the wait for redis dominates)

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use sha1::{Digest, Sha1};
use tokio::sync::Semaphore;

use super::config::RateLimitRedisConfig;
use super::error::MiddlewareError;
use super::Flow;

mod pool;
mod resp;

use pool::{Pool, Settings};
use resp::protocol;
pub use resp::{encode, read_reply, Reply};

const M: &str = "rateLimit";

/// Traefik's token bucket script (`AllowTokenBucketRaw`), byte for byte: Traefik and swarmgate
/// then load the same script (same SHA-1) into a shared redis.
pub const TOKEN_BUCKET_SCRIPT: &str = r"
local key = KEYS[1]
local limit, burst, ttl, t, max_delay = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
    tonumber(ARGV[5])

local bucket = {
    limit = limit,
    burst = burst,
    tokens = 0,
    last = 0
}

local rl_source = redis.call('hgetall', key)

if table.maxn(rl_source) == 4 then
    -- Get bucket state from redis
    bucket.last = tonumber(rl_source[2])
    bucket.tokens = tonumber(rl_source[4])
end

local last = bucket.last
if t < last then
    last = t
end

local elapsed = t - last
local delta = bucket.limit * elapsed
local tokens = bucket.tokens + delta
tokens = math.min(tokens, bucket.burst)
tokens = tokens - 1

local wait_duration = 0
if tokens < 0 then
    wait_duration = (tokens * -1) / bucket.limit
    if wait_duration > max_delay then
        tokens = tokens + 1
        tokens = math.min(tokens, burst)
    end
end

redis.call('hset', key, 'last', t, 'tokens', tokens)
redis.call('expire', key, ttl)

return {tostring(true), tostring(wait_duration), tostring(tokens)}";

/// A compiled `rateLimit.redis`.
#[derive(Debug)]
pub struct RedisLimiter {
    pool: Pool,
    /// `rate:<middleware>:` (Traefik's key prefix and the middleware's qualified name).
    prefix: String,
    sha: String,
    /// Tokens per microsecond (Traefik's `rate / 1e6`).
    per_micro: f64,
    burst: i64,
    ttl: i64,
    max_delay: Duration,
}

/// What the script said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Go on after waiting this long (at most `maxDelay`).
    Pass(Duration),
    /// Wait too long: 429.
    Wait(Duration),
}

impl RedisLimiter {
    /// `rate` in requests per second (finite, > 0), `burst` ≥ 1; `name` is the middleware's
    /// qualified name (`rl@file`), part of the key as in Traefik.
    pub fn compile(
        cfg: &RateLimitRedisConfig,
        name: &str,
        rate: f64,
        burst: i64,
    ) -> Result<Self, MiddlewareError> {
        let endpoint = match cfg.endpoints.as_slice() {
            [] => "localhost:6379".to_string(),
            [one] => one.trim().to_string(),
            [..] => {
                return Err(MiddlewareError::invalid(
                    M,
                    "redis.endpoints",
                    cfg.endpoints.join(","),
                    "several endpoints (a redis cluster) are not supported: give one redis",
                ))
            }
        };
        let host = match endpoint.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => {
                h.trim_start_matches('[').trim_end_matches(']').to_string()
            }
            _ => {
                return Err(MiddlewareError::invalid(
                    M,
                    "redis.endpoints",
                    endpoint,
                    "expected host:port",
                ))
            }
        };
        let non_negative = |option: &'static str, v: i64| {
            usize::try_from(v)
                .map_err(|_| MiddlewareError::invalid(M, option, v, "must not be negative"))
        };
        if cfg.db < 0 {
            return Err(MiddlewareError::invalid(
                M,
                "redis.db",
                cfg.db,
                "must not be negative",
            ));
        }
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let pool_size = match non_negative("redis.poolSize", cfg.pool_size)? {
            0 => 10 * cpus,
            n => n,
        };
        non_negative("redis.minIdleConns", cfg.min_idle_conns)?;
        let max_active = non_negative("redis.maxActiveConns", cfg.max_active_conns)?;
        // Traefik: unset = go-redis' default (3 s); zero = no timeout.
        let timeout = |d: Option<crate::config::duration::Duration>| match d.map(|d| d.get()) {
            None => Some(Duration::from_secs(3)),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        };
        let read_timeout = timeout(cfg.read_timeout);
        let write_timeout = match cfg.write_timeout {
            None => read_timeout,
            some => timeout(some),
        };
        let dial_timeout = cfg
            .dial_timeout
            .map(|d| d.get())
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(5));
        let tls = match &cfg.tls {
            None => None,
            Some(t) => Some(Arc::new(super::forward_auth::client_tls_for(M, t)?)),
        };
        // Traefik: maxDelay = 1s / (2 × ⌊rate⌋) from 1 request/s on, else 500 ms.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let max_delay = if rate < 1.0 {
            Duration::from_millis(500)
        } else {
            Duration::from_nanos(1_000_000_000 / ((rate as u64).saturating_mul(2)).max(1))
        };
        #[allow(clippy::cast_possible_truncation)]
        let ttl = if rate >= 1.0 {
            2
        } else {
            1 + (1.0 / rate) as i64
        };
        let sha = hex(&Sha1::digest(TOKEN_BUCKET_SCRIPT.as_bytes()));
        Ok(RedisLimiter {
            pool: Pool {
                settings: Settings {
                    endpoint,
                    host,
                    tls,
                    username: cfg.username.clone(),
                    password: cfg.password.clone(),
                    db: cfg.db,
                    pool_size,
                    read_timeout,
                    write_timeout,
                    dial_timeout,
                },
                idle: Mutex::new(Vec::new()),
                active: (max_active > 0).then(|| Arc::new(Semaphore::new(max_active))),
            },
            prefix: format!("rate:{name}:"),
            sha,
            per_micro: rate / 1_000_000.0,
            burst,
            ttl,
            max_delay,
        })
    }

    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// Runs Traefik's script for `source` (EVALSHA, EVAL when redis has not got it yet).
    pub async fn allow(&self, source: &str) -> io::Result<Verdict> {
        #[allow(clippy::cast_possible_truncation)]
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let key = format!("{}{source}", self.prefix);
        let args = [
            self.per_micro.to_string(),
            self.burst.to_string(),
            self.ttl.to_string(),
            now.to_string(),
            self.max_delay.as_micros().to_string(),
        ];
        let (mut conn, _permit) = self.pool.take().await?;
        let s = &self.pool.settings;
        let run = |script: &[u8], eval: &'static [u8]| {
            let mut cmd: Vec<&[u8]> = vec![eval, script, b"1", key.as_bytes()];
            cmd.extend(args.iter().map(String::as_bytes));
            cmd.iter().map(|a| a.to_vec()).collect::<Vec<_>>()
        };
        let sha_cmd = run(self.sha.as_bytes(), b"EVALSHA");
        let refs: Vec<&[u8]> = sha_cmd.iter().map(Vec::as_slice).collect();
        let mut reply = conn.command(s, &refs).await?;
        if matches!(&reply, Reply::Error(e) if e.starts_with("NOSCRIPT")) {
            let eval_cmd = run(TOKEN_BUCKET_SCRIPT.as_bytes(), b"EVAL");
            let refs: Vec<&[u8]> = eval_cmd.iter().map(Vec::as_slice).collect();
            reply = conn.command(s, &refs).await?;
        }
        // The connection is in a clean state after a complete reply (even an error reply).
        self.pool.give_back(conn);
        let wait = parse_verdict(&reply)?;
        Ok(if wait > self.max_delay {
            Verdict::Wait(wait)
        } else {
            Verdict::Pass(wait)
        })
    }
}

/// The script's answer `{ok, wait µs, tokens}` → the wait.
fn parse_verdict(reply: &Reply) -> io::Result<Duration> {
    let Reply::Array(Some(items)) = reply else {
        return Err(match reply {
            Reply::Error(e) => io::Error::other(format!("redis: {e}")),
            _ => protocol("unexpected answer to the rate script"),
        });
    };
    let text = |i: usize| match items.get(i) {
        Some(Reply::Bulk(Some(b))) => std::str::from_utf8(b).ok(),
        _ => None,
    };
    if text(0) != Some("true") {
        return Err(protocol("rate script did not answer true"));
    }
    let micros: f64 = text(1)
        .and_then(|t| t.parse().ok())
        .filter(|m: &f64| m.is_finite() && *m >= 0.0)
        .ok_or_else(|| protocol("bad wait in the rate script's answer"))?;
    Ok(Duration::from_secs_f64(micros / 1_000_000.0))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Go's `time.Duration.String` (Traefik's `X-Retry-In`), for durations below an hour or so.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    let trim = |whole: u128, frac: u128, digits: usize, unit: &str| {
        let mut f = format!("{frac:0digits$}");
        while f.ends_with('0') {
            f.pop();
        }
        if f.is_empty() {
            format!("{whole}{unit}")
        } else {
            format!("{whole}.{f}{unit}")
        }
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return trim(nanos / 1_000, nanos % 1_000, 3, "µs");
    }
    if nanos < 1_000_000_000 {
        return trim(nanos / 1_000_000, nanos % 1_000_000, 6, "ms");
    }
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let sec = trim(s, frac, 9, "s");
    match (h, m) {
        (0, 0) => sec,
        (0, m) => format!("{m}m{sec}"),
        (h, m) => format!("{h}h{m}m{sec}"),
    }
}

/// The answer for a request the shared limit refuses or cannot decide on (Traefik's).
pub fn refusal(outcome: &io::Result<Verdict>) -> Option<Flow> {
    match outcome {
        Ok(Verdict::Pass(_)) => None,
        Ok(Verdict::Wait(wait)) => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut resp = http::Response::new(Bytes::from_static(b"Too Many Requests"));
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let h = resp.headers_mut();
            h.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
            if let Ok(v) = HeaderValue::from_str(&go_duration(*wait)) {
                h.insert("x-retry-in", v);
            }
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Some(Flow::Respond(resp))
        }
        Err(_) => {
            let mut resp =
                http::Response::new(Bytes::from_static(b"Could not insert/update bucket\n"));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            let h = resp.headers_mut();
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            h.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            Some(Flow::Respond(resp))
        }
    }
}

#[cfg(test)]
mod tests;
