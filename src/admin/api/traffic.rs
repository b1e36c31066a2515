//! `/api/traffic` (a swarmgate extension): the live traffic of each entrypoint, router and service
//! over the last five minutes, read from the in-process rings (`observe::series::live`).
//!
//! `/api/traffic` gives every object with traffic a summary (rates over the last minute and the
//! requests and errors of each 5-second bucket, for sparklines); `/api/traffic/{entrypoints,
//! routers,services}/{name}` adds each bucket's 4xx, 5xx, bytes and p50/p99 latency. A router
//! counts the requests it matched; a service the requests of the routers that name it; an
//! entrypoint every request it received, routed or not.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::observe::series::live::{
    Bucket, Live, RecentError, Snapshot, Window, BUCKET_SECS, RECENT_ERRORS, SLOTS,
};
use crate::table::RoutingTable;

/// Buckets in "the last minute".
const MINUTE: usize = (60 / BUCKET_SECS) as usize;

/// The windows of one read, summed per entrypoint, router and service.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Seconds the rates of the last minute are divided by.
    minute_secs: f64,
    pub entrypoints: BTreeMap<String, Window>,
    pub routers: BTreeMap<String, Window>,
    pub services: BTreeMap<String, Window>,
    /// The last error answers of each router and service, newest first.
    errors: BTreeMap<(&'static str, String), Vec<RecentError>>,
}

impl Traffic {
    /// Reads `live` now; services from the routes of `table`.
    pub fn read(live: &Live, table: &RoutingTable) -> Traffic {
        Traffic::from_snapshot(live.snapshot(Instant::now()), table)
    }

    pub fn from_snapshot(snap: Snapshot, table: &RoutingTable) -> Traffic {
        let full = ((MINUTE - 1) as u64 * BUCKET_SECS) as f64 + snap.current_secs;
        let mut out = Traffic {
            minute_secs: full.min(snap.uptime_secs).max(1.0),
            ..Traffic::default()
        };
        for (router, entrypoint, window) in snap.series {
            out.entrypoints
                .entry(entrypoint)
                .or_default()
                .merge(&window);
            let Some(router) = router else { continue };
            if let Some(route) = table.routes.get(&router) {
                out.services
                    .entry(route.service.name().to_string())
                    .or_default()
                    .merge(&window);
            }
            out.routers.entry(router).or_default().merge(&window);
        }
        for (router, errors) in snap.errors {
            if let Some(route) = table.routes.get(&router) {
                let key = ("services", route.service.name().to_string());
                let list = out.errors.entry(key).or_default();
                list.extend(errors.iter().cloned());
                list.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
                list.truncate(RECENT_ERRORS);
            }
            out.errors.insert(("routers", router), errors);
        }
        out
    }

    /// `/api/traffic`: a summary of every object with traffic (of the kinds `select` names, the
    /// busiest `top` of each when set).
    pub fn summaries(&self, select: &Select) -> Value {
        let all = |kind: &str, map: &BTreeMap<String, Window>| {
            let mut out = Map::new();
            if !select.wants(kind) {
                return Value::Object(out);
            }
            let mut entries: Vec<(&String, &Window)> = map.iter().collect();
            if let Some(top) = select.top {
                let recent = |w: &Window| w.recent(MINUTE).requests;
                entries.sort_by_key(|(_, w)| std::cmp::Reverse(recent(w)));
                entries.truncate(top);
            }
            for (name, w) in entries {
                out.insert(name.clone(), self.summary(w));
            }
            Value::Object(out)
        };
        json!({
            "bucketSeconds": BUCKET_SECS,
            "buckets": SLOTS,
            "entrypoints": all("entrypoints", &self.entrypoints),
            "routers": all("routers", &self.routers),
            "services": all("services", &self.services),
        })
    }

    /// `/api/traffic/{kind}/{name}`: every bucket in full; zeros for an object without traffic.
    pub fn detail(&self, kind: &str, name: &str) -> Option<Value> {
        let map = match kind {
            "entrypoints" => &self.entrypoints,
            "routers" => &self.routers,
            "services" => &self.services,
            _ => return None,
        };
        let empty = Window::default();
        let w = map.get(name).unwrap_or(&empty);
        let mut v = self.summary(w);
        let per = |f: fn(&Bucket) -> Value| Value::Array(w.buckets.iter().map(f).collect());
        if let Some(m) = v.as_object_mut() {
            m.insert("name".into(), json!(name));
            m.insert("bucketSeconds".into(), json!(BUCKET_SECS));
            m.insert("status4xx".into(), per(|b| json!(b.status_4xx)));
            m.insert("status5xx".into(), per(|b| json!(b.status_5xx)));
            m.insert("bytesIn".into(), per(|b| json!(b.bytes_in)));
            m.insert("bytesOut".into(), per(|b| json!(b.bytes_out)));
            m.insert("p50MsByBucket".into(), per(|b| ms(b.quantile_ms(0.5))));
            m.insert("p99MsByBucket".into(), per(|b| ms(b.quantile_ms(0.99))));
            let errors = ["routers", "services"]
                .into_iter()
                .find(|k| *k == kind)
                .and_then(|k| self.errors.get(&(k, name.to_string())));
            let errors: Vec<Value> = errors
                .into_iter()
                .flatten()
                .map(|e| json!({"atMs": e.at_ms, "status": e.status, "entrypoint": e.entrypoint}))
                .collect();
            m.insert("recentErrors".into(), Value::Array(errors));
        }
        Some(v)
    }

    /// Rates of the last minute and the requests and errors of each bucket.
    fn summary(&self, w: &Window) -> Value {
        let last = w.recent(MINUTE);
        let rate = |n: u64| round(n as f64 / self.minute_secs.max(1.0));
        json!({
            "rps": rate(last.requests),
            "rate4xx": rate(last.status_4xx),
            "rate5xx": rate(last.status_5xx),
            "bytesInPerSec": rate(last.bytes_in),
            "bytesOutPerSec": rate(last.bytes_out),
            "p50Ms": ms(last.quantile_ms(0.5)),
            "p99Ms": ms(last.quantile_ms(0.99)),
            "total": w.recent(SLOTS).requests,
            "total5xx": w.recent(SLOTS).status_5xx,
            "requests": w.buckets.iter().map(|b| b.requests).collect::<Vec<_>>(),
            "errors": w.buckets.iter().map(|b| b.status_4xx + b.status_5xx).collect::<Vec<_>>(),
        })
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn ms(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!((x * 1000.0).round() / 1000.0))
}

/// `/api/traffic?kind=routers,services&top=10`: which kinds (all when not given) and how many of
/// each (the busiest of the last minute; all when not given). The dashboard's lists ask for their
/// kind only, so a page over 1 000 routers does not also carry the services.
#[derive(Debug, Default, PartialEq)]
pub struct Select {
    kinds: Option<Vec<String>>,
    top: Option<usize>,
}

impl Select {
    pub fn from_query(query: &str) -> Select {
        let mut s = Select::default();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("kind", v)) if !v.is_empty() => {
                    s.kinds = Some(v.split(',').map(str::to_string).collect())
                }
                Some(("top", v)) => s.top = v.parse().ok(),
                _ => {}
            }
        }
        s
    }

    fn wants(&self, kind: &str) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|k| k.iter().any(|k| k == kind))
    }
}
