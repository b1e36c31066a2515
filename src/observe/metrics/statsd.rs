//! `metrics.statsD`: the registry sent over UDP every `pushInterval` in the lines Go-kit's
//! StatsD client writes for Traefik (`pkg/observability/metrics/statsd.go`): one datagram per
//! line, `<prefix>.<name>:<value>|c` for what was counted since the last push (Go-kit's
//! `%f`, six decimals), `|g` for gauges that changed, `|ms` for durations. StatsD has no
//! labels: Go-kit drops them, so each name carries the sum over all series, and the
//! `add*Labels` switches only decide which families are sent.
//!
//! Durations: Go-kit sends one `|ms` line per request. The registry keeps histograms, not each
//! duration, so a push sends one line per family with the interval's mean and the sample rate
//! `@1/n` (`n` requests): a StatsD server then counts `n` timings of the mean, so counts,
//! rates and means are right; percentiles within one interval are not.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::render::{self, walk_requests, walk_tls, Level};
use super::{LabelSet, Metrics};
use crate::config::static_config::StatsdConfig;

/// Traefik's defaults.
pub const DEFAULT_ADDRESS: &str = "localhost:8125";
pub const DEFAULT_PREFIX: &str = "traefik";
pub const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(10);

/// `metrics.statsD` read once.
#[derive(Debug, Clone)]
pub struct StatsdSetup {
    pub address: String,
    pub prefix: String,
    pub labels: LabelSet,
    pub interval: Duration,
}

impl StatsdSetup {
    pub fn from_config(cfg: &StatsdConfig) -> Result<StatsdSetup, String> {
        let interval = cfg
            .push_interval
            .map(|d| d.get())
            .unwrap_or(DEFAULT_PUSH_INTERVAL);
        if interval.is_zero() {
            return Err("metrics.statsD.pushInterval must be more than 0".to_string());
        }
        let address = cfg
            .address
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
        if address
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.parse::<u16>().is_err())
        {
            return Err(format!(
                "metrics.statsD.address {address:?} is not host:port"
            ));
        }
        Ok(StatsdSetup {
            address,
            // Traefik: an empty prefix is the default one.
            prefix: cfg
                .prefix
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
            labels: LabelSet {
                entrypoint: cfg.add_entry_points_labels.unwrap_or(true),
                router: cfg.add_routers_labels.unwrap_or(false),
                service: cfg.add_services_labels.unwrap_or(true),
            },
            interval,
        })
    }
}

/// Totals at the last push, to send what changed since.
#[derive(Debug, Default)]
pub struct Previous {
    counters: BTreeMap<&'static str, f64>,
    gauges: BTreeMap<&'static str, f64>,
    /// (count, sum of seconds) per duration family.
    timings: BTreeMap<&'static str, (u64, f64)>,
}

fn names(level: Level) -> [&'static str; 6] {
    match level {
        Level::Entrypoint => [
            "entrypoint.request.total",
            "entrypoint.request.tls.total",
            "entrypoint.request.duration",
            "entrypoint.requests.bytes.total",
            "entrypoint.responses.bytes.total",
            "",
        ],
        Level::Router => [
            "router.request.total",
            "router.request.tls.total",
            "router.request.duration",
            "router.requests.bytes.total",
            "router.responses.bytes.total",
            "",
        ],
        Level::Service => [
            "service.request.total",
            "service.request.tls.total",
            "service.request.duration",
            "service.requests.bytes.total",
            "service.responses.bytes.total",
            "service.retries.total",
        ],
    }
}

/// The lines of one push (each one datagram), updating `prev`.
pub fn lines(m: &Metrics, setup: &StatsdSetup, prev: &mut Previous) -> Vec<String> {
    let mut counters: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut timings: BTreeMap<&'static str, (u64, f64)> = BTreeMap::new();
    counters.insert(
        "config.reload.total",
        (m.reloads_success.load(Ordering::Relaxed) + m.reloads_failure.load(Ordering::Relaxed))
            as f64,
    );
    walk_requests(m, setup.labels, |level, _, cell| {
        let [total, _, duration, req, resp, _] = names(level);
        *counters.entry(total).or_default() += cell.count.load(Ordering::Relaxed) as f64;
        *counters.entry(req).or_default() += cell.request_bytes.load(Ordering::Relaxed) as f64;
        let sent = cell.response_bytes.load(Ordering::Relaxed);
        let bytes = if level == Level::Service {
            sent.wrapping_add(cell.origin_offset.load(Ordering::Relaxed))
        } else {
            sent
        };
        *counters.entry(resp).or_default() += bytes as f64;
        let t = timings.entry(duration).or_default();
        t.0 += cell.count.load(Ordering::Relaxed);
        t.1 += cell.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
    });
    walk_tls(m, setup.labels, |level, _, n| {
        *counters.entry(names(level)[1]).or_default() += n as f64;
    });
    if setup.labels.service {
        let retries: u64 = render::retries(m).values().sum();
        counters.insert("service.retries.total", retries as f64);
    }
    let mut gauges: BTreeMap<&'static str, f64> = BTreeMap::new();
    gauges.insert(
        "config.reload.lastSuccessTimestamp",
        f64::from_bits(m.last_success_secs.load(Ordering::Relaxed)),
    );
    let open: i64 = m
        .open_connections
        .iter()
        .map(|n| n.load(Ordering::Relaxed).max(0))
        .sum();
    gauges.insert("open.connections", open as f64);
    if let Some(latest) = {
        let certs = m.certs.lock().unwrap_or_else(|e| e.into_inner());
        certs.values().map(|c| c.not_after).max()
    } {
        gauges.insert("tls.certs.notAfterTimestamp", latest as f64);
    }

    let mut out = Vec::new();
    let prefix = &setup.prefix;
    let delta = |name: &str| {
        counters.get(name).copied().unwrap_or(0.0) - prev.counters.get(name).copied().unwrap_or(0.0)
    };
    // Go-kit sends a counter that was added to, even by 0 (a request without a body adds 0
    // bytes): the byte counters go with their level's request count.
    let requests_moved = |name: &str| {
        let level = name.split('.').next().unwrap_or("");
        delta(&format!("{level}.request.total")) > 0.0
    };
    let any_request = ["entrypoint", "router", "service"]
        .iter()
        .any(|level| delta(&format!("{level}.request.total")) > 0.0);
    for name in counters.keys() {
        let d = delta(name);
        if d > 0.0 || (name.contains(".bytes.") && requests_moved(name)) {
            out.push(format!("{prefix}.{name}:{d:.6}|c\n"));
        }
    }
    for (name, value) in &gauges {
        let changed = prev.gauges.get(name) != Some(value)
            && (prev.gauges.contains_key(name) || *value != 0.0);
        // Traefik sets the connections gauge as connections open and close.
        let touched = *name == "open.connections" && any_request;
        if changed || touched {
            out.push(format!("{prefix}.{name}:{value:.6}|g\n"));
        }
    }
    for (name, (count, sum)) in &timings {
        let (c0, s0) = prev.timings.get(name).copied().unwrap_or((0, 0.0));
        let n = count.saturating_sub(c0);
        if n == 0 {
            continue;
        }
        let mean_ms = (sum - s0) / n as f64 * 1000.0;
        if n == 1 {
            out.push(format!("{prefix}.{name}:{mean_ms:.6}|ms\n"));
        } else {
            let rate = 1.0 / n as f64;
            out.push(format!("{prefix}.{name}:{mean_ms:.6}|ms|@{rate:.6}\n"));
        }
    }
    prev.counters = counters;
    prev.gauges = gauges;
    prev.timings = timings;
    out
}

async fn resolve(address: &str) -> Option<SocketAddr> {
    tokio::net::lookup_host(address).await.ok()?.next()
}

/// Sends every `interval` until `stop` is set (then once more).
pub async fn run(
    observer: Arc<crate::observe::Observer>,
    setup: StatsdSetup,
    mut stop: watch::Receiver<bool>,
) {
    let Some(metrics) = observer.metrics().cloned() else {
        return;
    };
    let mut prev = Previous::default();
    let mut ticks = tokio::time::interval(setup.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            _ = crate::shutdown::stopped(&mut stop) => true,
        };
        observer.refresh_cert_metrics();
        let lines = lines(&metrics, &setup, &mut prev);
        if !lines.is_empty() {
            send(&setup.address, &lines).await;
        }
        if stopping {
            return;
        }
    }
}

async fn send(address: &str, lines: &[String]) {
    let Some(to) = resolve(address).await else {
        tracing::debug!(address, "statsD address does not resolve");
        return;
    };
    let local: SocketAddr = if to.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = match tokio::net::UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(error) => {
            tracing::debug!(error = %error, "statsD socket");
            return;
        }
    };
    for line in lines {
        if let Err(error) = socket.send_to(line.as_bytes(), to).await {
            tracing::debug!(error = %error, "statsD send failed");
            return;
        }
    }
}
