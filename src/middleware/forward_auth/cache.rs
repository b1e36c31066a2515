//! `forwardAuth.authResponseCache` (swarmgate extension; asked for in traefik#11718 and #6777):
//! the authentication server's answers kept for `ttl`, so a busy route does not ask it about
//! every request.
//!
//! The key is the exact values of `keyHeaders` (a request carrying none of them is never served
//! from the cache nor stored) and, unless `keyIncludesPath: false`, the method, host, path and
//! query: an answer about one URL is never reused for another. Keys are compared whole (never by
//! hash alone), so two users cannot share an entry. Non-2xx answers are only kept with
//! `cacheDenials: true`. At most `maxEntries` answers are kept: a full shard first forgets what
//! has expired, then an arbitrary entry. The cache belongs to one compiled middleware: a reload
//! starts it empty.
//!
//! Lock policy: the map is split into shards, each behind its own `std::sync::Mutex` held only
//! for a lookup or an insert (no await, no I/O), as `rateLimit` does.
#![allow(clippy::disallowed_types)] // std Mutex: the opt-in answer cache is a sharded map (ARCHITECTURE.md, lock policy)

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{HeaderName, HOST};

use super::AuthAnswer;
use crate::config::middleware::AuthResponseCacheConfig;
use crate::middleware::error::{header_name, MiddlewareError};

const M: &str = "forwardAuth";
const SHARDS: usize = 16;
/// Default `maxEntries`.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

type Shard = Mutex<HashMap<Vec<u8>, (Instant, Arc<AuthAnswer>)>>;

/// A compiled `authResponseCache`.
#[derive(Debug)]
pub struct AuthCache {
    key_headers: Vec<HeaderName>,
    ttl: Duration,
    per_shard: usize,
    cache_denials: bool,
    key_includes_path: bool,
    shards: Box<[Shard]>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl AuthCache {
    pub fn compile(cfg: &AuthResponseCacheConfig) -> Result<AuthCache, MiddlewareError> {
        let key_headers = cfg
            .key_headers
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| header_name(M, "authResponseCache.keyHeaders", v))
            .collect::<Result<Vec<_>, _>>()?;
        if key_headers.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "authResponseCache.keyHeaders",
            });
        }
        let ttl = cfg.ttl.map(|d| d.0).unwrap_or_default();
        if ttl.is_zero() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "authResponseCache.ttl",
            });
        }
        let max = match cfg.max_entries {
            None => DEFAULT_MAX_ENTRIES,
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => {
                return Err(MiddlewareError::invalid(
                    M,
                    "authResponseCache.maxEntries",
                    n,
                    "must be at least 1",
                ))
            }
        };
        Ok(AuthCache {
            key_headers,
            ttl,
            per_shard: max.div_ceil(SHARDS).max(1),
            cache_denials: cfg.cache_denials,
            key_includes_path: cfg.key_includes_path.unwrap_or(true),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The request's key; `None` when it carries none of `keyHeaders`.
    pub fn key(&self, req: &http::request::Parts) -> Option<Vec<u8>> {
        let mut key = Vec::new();
        let mut any = false;
        let push = |key: &mut Vec<u8>, bytes: &[u8]| {
            key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            key.extend_from_slice(bytes);
        };
        for name in &self.key_headers {
            for v in req.headers.get_all(name) {
                any = true;
                push(&mut key, v.as_bytes());
            }
            // Separates "a" in the first header from "a" in the second.
            key.push(0xff);
        }
        if !any {
            return None;
        }
        if self.key_includes_path {
            push(&mut key, req.method.as_str().as_bytes());
            let host = match req.uri.authority() {
                Some(a) => a.as_str().as_bytes(),
                None => req.headers.get(HOST).map_or(&b""[..], |v| v.as_bytes()),
            };
            push(&mut key, host);
            push(
                &mut key,
                req.uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .as_bytes(),
            );
        }
        Some(key)
    }

    fn shard(&self, key: &[u8]) -> &Shard {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[(h.finish() as usize) % self.shards.len()]
    }

    /// The answer kept for `key`, if it has not expired.
    pub fn get(&self, key: &[u8], now: Instant) -> Option<Arc<AuthAnswer>> {
        let found = {
            let shard = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
            shard
                .get(key)
                .filter(|(until, _)| now < *until)
                .map(|(_, a)| Arc::clone(a))
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `answer` under `key` until `now + ttl` (non-2xx only with `cacheDenials`).
    pub fn put(&self, key: Vec<u8>, answer: Arc<AuthAnswer>, now: Instant) {
        if !answer.status.is_success() && !self.cache_denials {
            return;
        }
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, (until, _)| now < *until);
            if shard.len() >= self.per_shard {
                if let Some(victim) = shard.keys().next().cloned() {
                    shard.remove(&victim);
                }
            }
        }
        shard.insert(key, (now + self.ttl, answer));
    }

    /// Entries held (expired ones included until they are pushed out).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since compile.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}
