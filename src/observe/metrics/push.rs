//! What Go-kit's push registries (StatsD, DogStatsD, InfluxDB) send, read from the one
//! registry: `tally` reads the cells once per push (through `render::walk_requests`/`walk_tls`,
//! the walk the Prometheus text and OTLP share) into series keyed by Traefik's family and its
//! tags in Traefik's order; `Previous::changes` keeps what Go-kit would have flushed since the
//! last push (counters added to, gauges set, durations observed). `every` is the one push loop
//! of the StatsD, Datadog, InfluxDB and OTLP exporters. Push path only: allocates, locks the
//! registry's maps briefly as the Prometheus scrape does.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use super::render::{self, walk_requests, walk_tls, Level};
use super::{LabelSet, Metrics};

/// A family of Traefik's push registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Family {
    ConfigReloads,
    LastReloadSuccess,
    OpenConnections,
    CertNotAfter,
    Requests(Level),
    RequestsTls(Level),
    RequestBytes(Level),
    ResponseBytes(Level),
    Duration(Level),
    Retries,
    ServerUp,
}

/// Tags in the order Traefik passes them to Go-kit's `With` (the level's own first, then
/// `method`, `protocol`, `code`; or `tls_version`, `tls_cipher`).
pub(super) type Tags = Vec<(String, String)>;
pub(super) type Key = (Family, Tags);

/// Durations of one series: count, sum (seconds), counts per registry bucket (not cumulative,
/// the last one past every boundary).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Hist {
    pub(super) count: u64,
    pub(super) sum: f64,
    pub(super) buckets: Vec<u64>,
}

/// The registry read once, per series.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) counters: BTreeMap<Key, f64>,
    pub(super) gauges: BTreeMap<Key, f64>,
    pub(super) durations: BTreeMap<Key, Hist>,
}

/// Puts the level's labels (`entrypoint`, `router`, `service`) first, then `order`'s.
fn traefik_order(pairs: &[(&str, &str)], order: &[&str]) -> Tags {
    let mut tags: Tags = pairs
        .iter()
        .filter(|(k, _)| !order.contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for name in order {
        if let Some((k, v)) = pairs.iter().find(|(k, _)| k == name) {
            tags.push((k.to_string(), v.to_string()));
        }
    }
    tags
}

/// Reads the registry as the families `labels` enables. `tagged` false (StatsD, which has no
/// tags) sums every series of a family into one, the connections of every entrypoint, and keeps
/// the latest certificate expiry.
pub(super) fn tally(m: &Metrics, labels: LabelSet, tagged: bool) -> Tally {
    let mut t = Tally::default();
    let tags = |t: Tags| if tagged { t } else { Tags::new() };
    t.counters.insert(
        (Family::ConfigReloads, Tags::new()),
        (m.reloads_success.load(Ordering::Relaxed) + m.reloads_failure.load(Ordering::Relaxed))
            as f64,
    );
    walk_requests(m, labels, |level, pairs, cell| {
        let key = tags(traefik_order(pairs, &["method", "protocol", "code"]));
        let count = cell.count.load(Ordering::Relaxed);
        *t.counters
            .entry((Family::Requests(level), key.clone()))
            .or_default() += count as f64;
        *t.counters
            .entry((Family::RequestBytes(level), key.clone()))
            .or_default() += cell.request_bytes.load(Ordering::Relaxed) as f64;
        let sent = cell.response_bytes.load(Ordering::Relaxed);
        // Traefik's service metrics sit inside the router's middlewares: before `compress`.
        let bytes = if level == Level::Service {
            sent.wrapping_add(cell.origin_offset.load(Ordering::Relaxed))
        } else {
            sent
        };
        *t.counters
            .entry((Family::ResponseBytes(level), key.clone()))
            .or_default() += bytes as f64;
        let h = t
            .durations
            .entry((Family::Duration(level), key))
            .or_default();
        h.count += count;
        h.sum += cell.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        h.buckets.resize(cell.buckets.len(), 0);
        for (i, b) in cell.buckets.iter().enumerate() {
            h.buckets[i] += b.load(Ordering::Relaxed);
        }
    });
    walk_tls(m, labels, |level, pairs, n| {
        let key = tags(traefik_order(pairs, &["tls_version", "tls_cipher"]));
        *t.counters
            .entry((Family::RequestsTls(level), key))
            .or_default() += n as f64;
    });
    if labels.service {
        for (service, n) in render::retries(m) {
            *t.counters
                .entry((Family::Retries, tags(vec![("service".into(), service)])))
                .or_default() += n as f64;
        }
        if tagged {
            for (service, url, up) in render::servers(m) {
                let key = vec![("service".into(), service), ("url".into(), url)];
                t.gauges
                    .insert((Family::ServerUp, key), f64::from(u8::from(up)));
            }
        }
    }
    t.gauges.insert(
        (Family::LastReloadSuccess, Tags::new()),
        f64::from_bits(m.last_success_secs.load(Ordering::Relaxed)),
    );
    for (ep, n) in m.open_connections.iter().enumerate() {
        if tagged && m.is_udp(ep) {
            continue;
        }
        let key = tags(vec![
            ("entrypoint".into(), render::entrypoint_name(m, ep).into()),
            ("protocol".into(), "TCP".into()),
        ]);
        *t.gauges.entry((Family::OpenConnections, key)).or_default() +=
            n.load(Ordering::Relaxed).max(0) as f64;
    }
    let certs = m.certs.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for cert in certs.values() {
        let key = tags(vec![
            ("cn".into(), cert.cn.clone()),
            ("serial".into(), cert.serial.clone()),
            ("sans".into(), cert.sans.clone()),
        ]);
        let v = t.gauges.entry((Family::CertNotAfter, key)).or_insert(0.0);
        *v = v.max(cert.not_after as f64);
    }
    t
}

/// What one push sends: counters' deltas, gauges Go-kit would have seen set, durations observed
/// since the last push.
#[derive(Debug, Default)]
pub(super) struct Changes {
    pub(super) counters: Vec<(Key, f64)>,
    pub(super) gauges: Vec<(Key, f64)>,
    pub(super) durations: Vec<(Key, Hist)>,
}

/// The tally of the last push.
#[derive(Debug, Default)]
pub struct Previous(Tally);

impl Previous {
    /// What changed from the last push to `now` (which becomes the last push).
    pub(super) fn changes(&mut self, now: Tally) -> Changes {
        let prev = &self.0;
        let delta = |key: &Key| {
            now.counters.get(key).copied().unwrap_or(0.0)
                - prev.counters.get(key).copied().unwrap_or(0.0)
        };
        // Requests on the level of `key`'s family with the same tags (the bytes counters and
        // the connections gauge move with them).
        let requests_moved = |family: Family, tags: &Tags| match family {
            Family::RequestBytes(l) | Family::ResponseBytes(l) => {
                delta(&(Family::Requests(l), tags.clone())) > 0.0
            }
            _ => false,
        };
        let mut out = Changes::default();
        for key in now.counters.keys() {
            let d = delta(key);
            // Go-kit sends a counter that was added to, even by 0 (a request without a body
            // adds 0 bytes): the byte counters go with their series' request count.
            if d > 0.0 || requests_moved(key.0, &key.1) {
                out.counters.push((key.clone(), d.max(0.0)));
            }
        }
        let reloaded = delta(&(Family::ConfigReloads, Tags::new())) > 0.0;
        let entrypoint_moved = |tags: &Tags| {
            let ep = tags.iter().find(|(k, _)| k == "entrypoint");
            now.counters.iter().any(|((family, t), v)| {
                matches!(family, Family::Requests(Level::Entrypoint))
                    && (ep.is_none() || t.iter().any(|p| Some(p) == ep))
                    && *v
                        > prev
                            .counters
                            .get(&(*family, t.clone()))
                            .copied()
                            .unwrap_or(0.0)
            })
        };
        for (key, value) in &now.gauges {
            let changed = prev.gauges.get(key) != Some(value)
                && (prev.gauges.contains_key(key) || *value != 0.0);
            // When Traefik sets each gauge: the reload ones at every reload, the connections
            // one as connections open and close, `server.up` at every health check.
            let touched = match key.0 {
                Family::LastReloadSuccess | Family::CertNotAfter => reloaded,
                Family::OpenConnections => entrypoint_moved(&key.1),
                Family::ServerUp => true,
                _ => false,
            };
            if changed || touched {
                out.gauges.push((key.clone(), *value));
            }
        }
        for (key, h) in &now.durations {
            let before = prev.durations.get(key);
            let count = h.count - before.map_or(0, |b| b.count.min(h.count));
            if count == 0 {
                continue;
            }
            let buckets = h
                .buckets
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    n.saturating_sub(before.and_then(|b| b.buckets.get(i)).copied().unwrap_or(0))
                })
                .collect();
            let sum = h.sum - before.map_or(0.0, |b| b.sum);
            out.durations.push((
                key.clone(),
                Hist {
                    count,
                    sum,
                    buckets,
                },
            ));
        }
        self.0 = now;
        out
    }
}

/// A sample rate of `1/n` as a StatsD line writes it: Go-kit's six decimals while they hold
/// the rate to 0.1 %, else every digit (the agent parses either).
pub(super) fn sample_rate(n: u64) -> String {
    let rate = 1.0 / n as f64;
    if n <= 1000 {
        format!("{rate:.6}")
    } else {
        format!("{rate:e}")
    }
}

/// Runs `push` every `interval` (the first one `interval` after the start) until `stop` is
/// set, then once more, so what was counted last is sent. `push` gets whether it is the last.
pub async fn every<F, Fut>(interval: Duration, mut stop: watch::Receiver<bool>, mut push: F)
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            _ = crate::shutdown::stopped(&mut stop) => true,
        };
        push(stopping).await;
        if stopping {
            return;
        }
    }
}
