//! `RoutingTable::lookup`: one hash probe on the request host, then a short priority-ordered scan.
//!
//! Each exact host named by a router's rule gets a bucket holding that host's routers *and* every
//! router that does not pin the host (catch-alls, regex hosts), pre-sorted by Traefik priority;
//! a host without a bucket scans only the host-agnostic list. Never allocates, never locks.
//!
//! Buckets are keyed by [`host_index_key`] (trailing dots removed) on both sides, so a request for
//! `example.com.` finds the routers of `Host(`example.com`)` and the other way round: the key is a
//! superset filter, the rule decides.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Route, RoutingTable};
use crate::rules::{host_index_key, RequestView};

/// The routes reachable through one entrypoint.
#[derive(Debug, Default)]
pub struct EntryTable {
    pub(crate) by_host: HashMap<Box<str>, Box<[Arc<Route>]>>,
    pub(crate) any_host: Box<[Arc<Route>]>,
}

impl EntryTable {
    /// Builds the index from routes already sorted by priority (highest first).
    pub(crate) fn build(sorted: &[Arc<Route>]) -> EntryTable {
        let mut hosts: HashMap<Box<str>, Vec<Arc<Route>>> = HashMap::new();
        let mut any_host = Vec::new();
        // First pass: create a bucket per pinned host.
        for route in sorted {
            if let Some(required) = route.rule.required_hosts() {
                for host in required {
                    hosts.entry(host.into_boxed_str()).or_default();
                }
            }
        }
        // Second pass, in priority order, so every bucket stays sorted.
        for route in sorted {
            match route.rule.required_hosts() {
                Some(required) => {
                    for host in required {
                        if let Some(bucket) = hosts.get_mut(host.as_str()) {
                            bucket.push(Arc::clone(route));
                        }
                    }
                }
                None => {
                    any_host.push(Arc::clone(route));
                    for bucket in hosts.values_mut() {
                        bucket.push(Arc::clone(route));
                    }
                }
            }
        }
        EntryTable {
            by_host: hosts
                .into_iter()
                .map(|(h, r)| (h, r.into_boxed_slice()))
                .collect(),
            any_host: any_host.into_boxed_slice(),
        }
    }

    /// The highest-priority route whose rule matches. `req.host` must be lowercase, as
    /// [`crate::rules::routing_host`] gives it.
    pub fn lookup(&self, req: &RequestView<'_>) -> Option<&Arc<Route>> {
        // No host-pinned router (a common single-site setup): skip hashing the host.
        let candidates = if self.by_host.is_empty() {
            &self.any_host
        } else {
            self.by_host
                .get(host_index_key(req.host))
                .unwrap_or(&self.any_host)
        };
        candidates.iter().find(|route| route.rule.matches(req))
    }

    pub fn route_count(&self) -> usize {
        let mut seen = self.any_host.len();
        for bucket in self.by_host.values() {
            seen += bucket.len();
        }
        seen
    }
}

impl RoutingTable {
    /// The route for a request that arrived on entrypoint number `entrypoint` (its index in the
    /// list given to `compile`), over TLS or not. `None` when nothing matches: the caller answers 404.
    pub fn lookup(
        &self,
        entrypoint: usize,
        tls: bool,
        req: &RequestView<'_>,
    ) -> Option<&Arc<Route>> {
        self.entrypoints.get(entrypoint)?[usize::from(tls)].lookup(req)
    }
}
