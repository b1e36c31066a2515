//! One service's balancer: endpoints, the precomputed smooth-WRR schedule, sticky cookie lookup.
//!
//! Immutable after construction except the schedule cursor (one `AtomicUsize`). `pick` and `pick_sticky` run per
//! request: lock-free and allocation-free. A schedule slot whose endpoint is unavailable (health, passive
//! ejection, retry exclusion) is skipped *and consumed*: the shared cursor moves past it, so the skipped
//! endpoint's share is spread over the others in proportion to their weights (with equal weights, exactly evenly).

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use http::HeaderValue;

use super::state::EndpointState;
use super::sticky::{legacy_cookie_values, server_cookie_value, StickyCookie};
use super::wrr::smooth_schedule;

/// A server as the balancer sees it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    /// Relative weight; 0 = never picked (Traefik ignores non-positive weights).
    pub weight: u32,
    /// Out of rotation (task shutting down); in-flight requests finish.
    pub draining: bool,
    pub state: Arc<EndpointState>,
}

impl Endpoint {
    /// An endpoint with weight 1, not draining.
    pub fn new(url: impl Into<String>, state: Arc<EndpointState>) -> Self {
        Endpoint {
            url: url.into(),
            weight: 1,
            draining: false,
            state,
        }
    }

    /// Eligible for new requests at all (weight > 0, not draining)?
    fn in_rotation(&self) -> bool {
        self.weight > 0 && !self.draining
    }
}

/// Sticky cookie data precomputed per balancer.
#[derive(Debug)]
struct StickyTable {
    cookie: StickyCookie,
    /// `Set-Cookie` header value per endpoint (same order as `endpoints`).
    set_cookie: Box<[Option<HeaderValue>]>,
    /// (cookie value, endpoint index, legacy?) sorted by value, for binary search.
    lookup: Box<[(Box<str>, u16, bool)]>,
}

/// One service's balancer: immutable after construction except atomics.
#[derive(Debug)]
pub struct Balancer {
    endpoints: Box<[Endpoint]>,
    schedule: Box<[u16]>,
    cursor: Arc<AtomicUsize>,
    sticky: Option<StickyTable>,
    strategy: super::strategy::Strategy,
    /// `leasttime` state (only with that strategy).
    least_time: Option<super::least_time::LeastTime>,
}

impl Balancer {
    /// Precomputes the smooth WRR schedule (and the sticky cookie values when `sticky` is set). At most 65,536
    /// endpoints are used; any beyond are dropped with a warning.
    pub fn new(endpoints: Vec<Endpoint>, sticky: Option<StickyCookie>) -> Self {
        Self::with_cursor(endpoints, sticky, Arc::default())
    }

    /// Like `new`, with a cursor that outlives this balancer (`EndpointRegistry::cursor`), so the
    /// rotation continues where the previous table's balancer left it.
    pub fn with_cursor(
        mut endpoints: Vec<Endpoint>,
        sticky: Option<StickyCookie>,
        cursor: Arc<AtomicUsize>,
    ) -> Self {
        let max = usize::from(u16::MAX) + 1;
        if endpoints.len() > max {
            tracing::warn!(
                endpoints = endpoints.len(),
                max,
                "too many endpoints for one service; extra ones ignored"
            );
            endpoints.truncate(max);
        }
        let weights: Vec<u32> = endpoints.iter().map(|e| e.weight).collect();
        let eligible: Vec<bool> = endpoints.iter().map(|e| !e.draining).collect();
        let schedule = smooth_schedule(&weights, &eligible);
        let sticky = sticky.map(|cookie| StickyTable::new(cookie, &endpoints));
        Balancer {
            endpoints: endpoints.into_boxed_slice(),
            schedule,
            cursor,
            sticky,
            strategy: super::strategy::Strategy::Wrr,
            least_time: None,
        }
    }

    /// Sets Traefik's `loadBalancer.strategy` (see [`super::strategy`]).
    #[must_use]
    pub fn with_strategy(mut self, strategy: super::strategy::Strategy) -> Self {
        self.strategy = strategy;
        if strategy == super::strategy::Strategy::LeastTime {
            let weights: Vec<u32> = self.endpoints.iter().map(|e| e.weight).collect();
            self.least_time = Some(super::least_time::LeastTime::new(&weights));
        }
        self
    }

    /// `leasttime`: records a server's time to first byte (no-op with other strategies).
    pub fn record_ttfb(&self, index: usize, ttfb: std::time::Duration) {
        if let Some(lt) = &self.least_time {
            lt.record(index, ttfb);
        }
    }

    /// [`Balancer::pick`] by the balancer's strategy; `client` is the client's IP (`hrw`).
    pub fn pick_for(&self, now: Instant, exclude: &[usize], client: IpAddr) -> Option<usize> {
        use super::strategy::{hrw_key, hrw_score, two_choices, Strategy};
        if self.strategy == Strategy::Wrr {
            return self.pick(now, exclude);
        }
        let usable: Vec<usize> = (0..self.endpoints.len())
            .filter(|i| self.usable(*i, now, exclude))
            .collect();
        match (self.strategy, usable.as_slice()) {
            // None usable: the round robin's panic mode.
            (_, []) => self.pick(now, exclude),
            (_, [one]) => Some(*one),
            (Strategy::LeastTime, _) => {
                let candidates: Vec<(usize, u32, usize)> = usable
                    .iter()
                    .map(|i| {
                        let e = &self.endpoints[*i];
                        (*i, e.weight, e.state.inflight())
                    })
                    .collect();
                match &self.least_time {
                    Some(lt) => lt.pick(&candidates),
                    None => self.pick(now, exclude),
                }
            }
            (Strategy::P2c, _) => {
                let random = std::hash::BuildHasher::hash_one(
                    &std::hash::RandomState::new(),
                    self.cursor.fetch_add(1, Ordering::Relaxed),
                );
                let (a, b) = two_choices(usable.len(), random);
                let (a, b) = (usable[a], usable[b]);
                if self.endpoints[b].state.inflight() < self.endpoints[a].state.inflight() {
                    Some(b)
                } else {
                    Some(a)
                }
            }
            (_, _) => {
                let key = hrw_key(client);
                let mut best: Option<(usize, f64)> = None;
                for i in usable {
                    let e = &self.endpoints[i];
                    let score = hrw_score(&key, &e.url, e.weight);
                    if best.is_none_or(|(_, s)| score > s) {
                        best = Some((i, score));
                    }
                }
                best.map(|(i, _)| i)
            }
        }
    }

    /// All endpoints, including draining and zero-weight ones (indices returned by `pick` index this slice).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The precomputed schedule (endpoint indices), for inspection and tests.
    pub fn schedule(&self) -> &[u16] {
        &self.schedule
    }

    #[inline]
    fn usable(&self, idx: usize, now: Instant, exclude: &[usize]) -> bool {
        self.endpoints.get(idx).is_some_and(|e| {
            e.in_rotation() && !exclude.contains(&idx) && e.state.is_available(now)
        })
    }

    /// Next available endpoint by smooth weighted round robin, skipping draining/unavailable ones and the indices
    /// in `exclude` (endpoints already tried for this request). When every remaining server is only
    /// passively ejected, one of them is picked anyway (panic mode). None when none is usable.
    /// Lock-free, allocation-free; worst case (all down) scans the schedule twice.
    pub fn pick(&self, now: Instant, exclude: &[usize]) -> Option<usize> {
        let len = self.schedule.len();
        if len == 0 {
            return None;
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        for skipped in 0..len {
            let slot = start.wrapping_add(skipped) % len;
            let idx = usize::from(self.schedule[slot]);
            if self.usable(idx, now, exclude) {
                if skipped > 0 {
                    // Consume the skipped slots so the next pick continues after this one.
                    self.cursor.fetch_add(skipped, Ordering::Relaxed);
                }
                return Some(idx);
            }
        }
        // Panic mode: every server left is passively ejected. Try them anyway (nginx does the same
        // when all its upstreams are marked failed), so a service recovers as soon as a server
        // answers again instead of serving 503s until the back-off expires. Servers that an
        // active health check marked down, draining ones and excluded ones stay out.
        (0..len).find_map(|skipped| {
            let idx = usize::from(self.schedule[start.wrapping_add(skipped) % len]);
            let endpoint = self.endpoints.get(idx)?;
            (endpoint.in_rotation() && !exclude.contains(&idx) && endpoint.state.is_active_up())
                .then_some(idx)
        })
    }

    /// Sticky sessions: the endpoint named by `cookie_value` when it is available (and not excluded), else a WRR
    /// pick. The flag says whether to send `Set-Cookie` ([`Balancer::set_cookie`]): true for a new pick or a legacy
    /// cookie value, false when the cookie is honoured as is (always false without sticky configured).
    pub fn pick_sticky(
        &self,
        now: Instant,
        cookie_value: Option<&str>,
        exclude: &[usize],
    ) -> Option<(usize, bool)> {
        let Some(sticky) = &self.sticky else {
            return self.pick(now, exclude).map(|idx| (idx, false));
        };
        if let Some((idx, legacy)) = cookie_value.and_then(|v| sticky.find(v)) {
            if self.usable(idx, now, exclude) {
                return Some((idx, legacy));
            }
        }
        self.pick(now, exclude).map(|idx| (idx, true))
    }

    /// Whether a server in rotation is up for the active health check (what Traefik propagates
    /// to `failover` and health-checked `weighted` parents). Scans the endpoints.
    pub fn has_active_up(&self) -> bool {
        self.endpoints
            .iter()
            .any(|e| e.in_rotation() && e.state.is_active_up())
    }

    /// The sticky cookie configuration, if any.
    pub fn sticky(&self) -> Option<&StickyCookie> {
        self.sticky.as_ref().map(|s| &s.cookie)
    }

    /// The precomputed `Set-Cookie` header value pinning a client to endpoint `idx` (None without sticky, for an
    /// out-of-range index, or if the URL made an invalid header value).
    pub fn set_cookie(&self, idx: usize) -> Option<&HeaderValue> {
        self.sticky.as_ref()?.set_cookie.get(idx)?.as_ref()
    }
}

impl StickyTable {
    fn new(cookie: StickyCookie, endpoints: &[Endpoint]) -> Self {
        let mut set_cookie = Vec::with_capacity(endpoints.len());
        let mut lookup: Vec<(Box<str>, u16, bool)> = Vec::with_capacity(endpoints.len() * 4);
        for (i, e) in endpoints.iter().enumerate() {
            let idx = i as u16; // Balancer::new truncated to u16 range.
            let value = server_cookie_value(&e.url);
            set_cookie.push(HeaderValue::from_str(&cookie.set_cookie(&value)).ok());
            lookup.push((value.into_boxed_str(), idx, false));
            for legacy in legacy_cookie_values(&e.url) {
                lookup.push((legacy.into_boxed_str(), idx, true));
            }
        }
        // Stable sort keeps current-format entries (pushed first) ahead of legacy ones on equal keys.
        lookup.sort_by(|a, b| a.0.cmp(&b.0));
        StickyTable {
            cookie,
            set_cookie: set_cookie.into_boxed_slice(),
            lookup: lookup.into_boxed_slice(),
        }
    }

    fn find(&self, value: &str) -> Option<(usize, bool)> {
        let pos = self.lookup.partition_point(|(k, _, _)| &**k < value);
        let (k, idx, legacy) = self.lookup.get(pos)?;
        (&**k == value).then_some((usize::from(*idx), *legacy))
    }
}

#[cfg(test)]
mod tests;
