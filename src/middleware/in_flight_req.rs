//! `inFlightReq`: at most `amount` requests in flight per source (Traefik's `amount`,
//! `sourceCriterion`); over the limit the request is answered 429.
//!
//! A request holds a [`Permit`] from the middleware until the proxy has the response head (the
//! proxy keeps permits alive around forwarding, see [`super::Middleware::on_request_held`]).
//! Difference from Traefik: the permit is released when the response head is ready, not when the
//! body has been sent.
//!
//! State: lock-free and bounded. In-flight counts live in two rows of atomic counters indexed by
//! two independent hashes of the source (a count-min sketch): a request is refused only when
//! both of its counters are at `amount`, so distinct sources rarely share a limit and the
//! memory does not grow with the number of sources.

use std::hash::RandomState;
use std::sync::atomic::{AtomicU32, Ordering};

use http::StatusCode;

use super::config::InFlightReqConfig;
use super::error::MiddlewareError;
use super::ip_strategy::SourceCriterion;
use super::response::respond;
use super::{Flow, RequestContext};

const M: &str = "inFlightReq";
/// Counters per row.
const SLOTS: usize = 4096;

/// Compiled `inFlightReq`.
#[derive(Debug)]
pub struct InFlightReq {
    amount: u32,
    criterion: SourceCriterion,
    hashers: [RandomState; 2],
    counts: Box<[AtomicU32]>,
}

/// One request in flight; releases its slot when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    owner: &'a InFlightReq,
    slots: [usize; 2],
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        for slot in self.slots {
            self.owner.counts[slot].fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl InFlightReq {
    pub fn compile(cfg: &InFlightReqConfig) -> Result<Self, MiddlewareError> {
        let amount = u32::try_from(cfg.amount)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| {
                MiddlewareError::invalid(M, "amount", cfg.amount, "must be a positive integer")
            })?;
        let criterion = SourceCriterion::compile(cfg.source_criterion.as_ref(), M)?;
        Ok(InFlightReq {
            amount,
            criterion,
            hashers: [RandomState::new(), RandomState::new()],
            counts: (0..2 * SLOTS).map(|_| AtomicU32::new(0)).collect(),
        })
    }

    fn slots(&self, req: &http::request::Parts, ctx: &RequestContext<'_>) -> [usize; 2] {
        let hash = |h: &RandomState| self.criterion.hash(h, req, ctx);
        #[allow(clippy::cast_possible_truncation)]
        let slot = |h: &RandomState| (hash(h) % SLOTS as u64) as usize;
        [slot(&self.hashers[0]), SLOTS + slot(&self.hashers[1])]
    }

    /// Takes a permit for the request's source; `None` when it has `amount` in flight.
    pub fn acquire(
        &self,
        req: &http::request::Parts,
        ctx: &RequestContext<'_>,
    ) -> Option<Permit<'_>> {
        let slots = self.slots(req, ctx);
        let before = slots.map(|s| self.counts[s].fetch_add(1, Ordering::AcqRel));
        // Constructed first so an early return releases both counters.
        let permit = Permit { owner: self, slots };
        if before[0] >= self.amount && before[1] >= self.amount {
            drop(permit);
            return None;
        }
        Some(permit)
    }

    /// The answer when over the limit: 429, as Traefik.
    pub fn refusal() -> Flow {
        Flow::Respond(respond(StatusCode::TOO_MANY_REQUESTS, []))
    }

    /// Requests in flight counted in the fullest counter (for tests).
    pub fn in_flight_estimate(&self) -> u32 {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
