//! What the ACME loop did, per resolver and domain, for the metrics (and the API): orders that
//! ended in a certificate or an error, and for a domain whose last order failed, when the next
//! attempt is due and why the last one failed. Written by `Acme::run`, read when scraped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Attempts {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// resolver → (orders that issued, orders that failed)
    orders: BTreeMap<String, (u64, u64)>,
    /// (resolver, main domain) → the pending retry
    retries: BTreeMap<(String, String), Retry>,
}

/// A domain whose last order failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    pub resolver: String,
    pub domain: String,
    /// Unix seconds of the next attempt.
    pub next_attempt: u64,
    pub error: String,
}

/// A copy for rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// (resolver, orders issued, orders failed), by resolver name.
    pub orders: Vec<(String, u64, u64)>,
    /// By resolver, then domain.
    pub retries: Vec<Retry>,
}

impl Attempts {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// An order for `domain` issued a certificate: counted, its pending retry forgotten.
    pub fn issued(&self, resolver: &str, domain: &str) {
        self.with(|i| {
            i.orders.entry(resolver.to_string()).or_default().0 += 1;
            i.retries
                .remove(&(resolver.to_string(), domain.to_string()));
        });
    }

    /// `domain`'s certificate came from elsewhere (another replica's order): no retry pending.
    pub fn settled(&self, resolver: &str, domain: &str) {
        self.with(|i| {
            i.retries
                .remove(&(resolver.to_string(), domain.to_string()))
        });
    }

    /// An order for `domain` failed with `error`; the next one is due at `next`.
    pub fn failed(&self, resolver: &str, domain: &str, error: &str, next: SystemTime) {
        let next_attempt = next.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.with(|i| {
            i.orders.entry(resolver.to_string()).or_default().1 += 1;
            i.retries.insert(
                (resolver.to_string(), domain.to_string()),
                Retry {
                    resolver: resolver.to_string(),
                    domain: domain.to_string(),
                    next_attempt,
                    error: error.to_string(),
                },
            );
        });
    }

    pub fn snapshot(&self) -> Snapshot {
        self.with(|i| Snapshot {
            orders: i
                .orders
                .iter()
                .map(|(r, (ok, failed))| (r.clone(), *ok, *failed))
                .collect(),
            retries: i.retries.values().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests;
