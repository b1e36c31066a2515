//! `metrics.statsD` and `metrics.datadog`: the registry sent every `pushInterval` in the lines
//! Go-kit's StatsD and DogStatsD clients write for Traefik (`pkg/observability/metrics/statsd.go`,
//! `datadog.go`): one datagram per line, `<prefix>.<name>:<value>|c` for what was counted since
//! the last push (Go-kit's `%f`, six decimals), `|g` for gauges Traefik set since, durations as
//! `|ms` (StatsD, milliseconds) or `|h` (DogStatsD, seconds). StatsD has no labels: Go-kit drops
//! them, so each name carries the sum over all series. DogStatsD keeps them as tags,
//! `|#entrypoint:web,method:GET,protocol:http,code:200` in Traefik's order, one line per series.
//! The `add*Labels` switches decide which families are sent.
//!
//! Durations: Go-kit sends one line per request. The registry keeps histograms, not each
//! duration, so a push sends one line per series with the interval's mean and the sample rate
//! `@1/n` (`n` requests): a StatsD server or the Datadog agent then counts `n` samples of the
//! mean, so counts, rates and means are right; percentiles within one interval are not.
//!
//! Datadog's `address` may name a Unix socket as Traefik reads it: `unixgram://path` (datagrams),
//! `unixstream://path` (a stream), `unix://path` (datagrams, a stream when the socket is one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::push::{self, every, Family, Tags};
use super::render::Level;
use super::{LabelSet, Metrics};
use crate::config::static_config::{DatadogConfig, StatsdConfig};

/// Traefik's defaults.
pub const DEFAULT_ADDRESS: &str = "localhost:8125";
pub const DEFAULT_PREFIX: &str = "traefik";
pub const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(10);

/// The line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Go-kit's StatsD: no tags, durations `|ms`.
    Statsd,
    /// Go-kit's DogStatsD: tags, durations `|h` in seconds.
    Dogstatsd,
}

/// Where the lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// UDP to `host:port` (resolved at each push).
    Udp(String),
    /// A Unix datagram socket.
    Unixgram(PathBuf),
    /// A Unix stream socket.
    Unixstream(PathBuf),
    /// `unix://`: datagrams, or a stream when the socket is a stream one (as Traefik guesses).
    Unix(PathBuf),
}

/// `metrics.statsD` or `metrics.datadog` read once.
#[derive(Debug, Clone)]
pub struct StatsdSetup {
    /// As configured (or the default).
    pub address: String,
    pub sink: Sink,
    pub prefix: String,
    pub labels: LabelSet,
    pub interval: Duration,
    pub dialect: Dialect,
}

fn host_port(option: &str, address: &str) -> Result<(), String> {
    if address
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(format!("{option}.address {address:?} is not host:port"));
    }
    Ok(())
}

fn interval(
    option: &str,
    configured: Option<&crate::config::duration::Duration>,
) -> Result<Duration, String> {
    let interval = configured.map(|d| d.get()).unwrap_or(DEFAULT_PUSH_INTERVAL);
    if interval.is_zero() {
        return Err(format!("{option}.pushInterval must be more than 0"));
    }
    Ok(interval)
}

/// Traefik: an empty prefix is the default one.
fn prefix(configured: Option<&String>) -> String {
    configured
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_PREFIX.to_string())
}

fn labels(ep: Option<bool>, router: Option<bool>, service: Option<bool>) -> LabelSet {
    LabelSet {
        entrypoint: ep.unwrap_or(true),
        router: router.unwrap_or(false),
        service: service.unwrap_or(true),
    }
}

impl StatsdSetup {
    pub fn from_config(cfg: &StatsdConfig) -> Result<StatsdSetup, String> {
        let interval = interval("metrics.statsD", cfg.push_interval.as_ref())?;
        let address = cfg
            .address
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
        host_port("metrics.statsD", &address)?;
        Ok(StatsdSetup {
            sink: Sink::Udp(address.clone()),
            address,
            prefix: prefix(cfg.prefix.as_ref()),
            labels: labels(
                cfg.add_entry_points_labels,
                cfg.add_routers_labels,
                cfg.add_services_labels,
            ),
            interval,
            dialect: Dialect::Statsd,
        })
    }

    /// `metrics.datadog`; the default address is `$DD_AGENT_HOST:$DD_DOGSTATSD_PORT` (each
    /// else `localhost`, `8125`), as Traefik's.
    pub fn from_datadog(cfg: &DatadogConfig) -> Result<StatsdSetup, String> {
        Self::from_datadog_with(cfg, |name| std::env::var(name).ok())
    }

    /// `from_datadog` with the environment read through `env`.
    pub fn from_datadog_with(
        cfg: &DatadogConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<StatsdSetup, String> {
        let interval = interval("metrics.datadog", cfg.push_interval.as_ref())?;
        let address = match cfg.address.clone().filter(|a| !a.is_empty()) {
            Some(a) => a,
            None => {
                let host = env("DD_AGENT_HOST").unwrap_or_else(|| "localhost".to_string());
                let port = env("DD_DOGSTATSD_PORT").unwrap_or_else(|| "8125".to_string());
                if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            }
        };
        let path = |rest: &str| -> Result<PathBuf, String> {
            if rest.is_empty() {
                return Err(format!(
                    "metrics.datadog.address {address:?} names no socket path"
                ));
            }
            Ok(PathBuf::from(rest))
        };
        let sink = if let Some(rest) = address.strip_prefix("unixgram://") {
            Sink::Unixgram(path(rest)?)
        } else if let Some(rest) = address.strip_prefix("unixstream://") {
            Sink::Unixstream(path(rest)?)
        } else if let Some(rest) = address.strip_prefix("unix://") {
            Sink::Unix(path(rest)?)
        } else {
            host_port("metrics.datadog", &address)?;
            Sink::Udp(address.clone())
        };
        Ok(StatsdSetup {
            address,
            sink,
            prefix: prefix(cfg.prefix.as_ref()),
            labels: labels(
                cfg.add_entry_points_labels,
                cfg.add_routers_labels,
                cfg.add_services_labels,
            ),
            interval,
            dialect: Dialect::Dogstatsd,
        })
    }
}

/// The names of Traefik's StatsD and Datadog registries (the same in both).
fn name(family: Family) -> &'static str {
    let level = |l: Level, e: &'static str, r: &'static str, s: &'static str| match l {
        Level::Entrypoint => e,
        Level::Router => r,
        Level::Service => s,
    };
    match family {
        Family::ConfigReloads => "config.reload.total",
        Family::LastReloadSuccess => "config.reload.lastSuccessTimestamp",
        Family::OpenConnections => "open.connections",
        Family::CertNotAfter => "tls.certs.notAfterTimestamp",
        Family::Requests(l) => level(
            l,
            "entrypoint.request.total",
            "router.request.total",
            "service.request.total",
        ),
        Family::RequestsTls(l) => level(
            l,
            "entrypoint.request.tls.total",
            "router.request.tls.total",
            "service.request.tls.total",
        ),
        Family::Duration(l) => level(
            l,
            "entrypoint.request.duration",
            "router.request.duration",
            "service.request.duration",
        ),
        Family::RequestBytes(l) => level(
            l,
            "entrypoint.requests.bytes.total",
            "router.requests.bytes.total",
            "service.requests.bytes.total",
        ),
        Family::ResponseBytes(l) => level(
            l,
            "entrypoint.responses.bytes.total",
            "router.responses.bytes.total",
            "service.responses.bytes.total",
        ),
        Family::Retries => "service.retries.total",
        Family::ServerUp => "service.server.up",
    }
}

/// DogStatsD's `|#key:value,...` (nothing without tags), as Go-kit writes it.
fn tag_suffix(tags: &Tags) -> String {
    if tags.is_empty() {
        return String::new();
    }
    let mut out = String::from("|#");
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push(':');
        out.push_str(v);
    }
    out
}

pub use push::Previous;

/// The lines of one push (each one datagram), updating `prev`.
pub fn lines(m: &Metrics, setup: &StatsdSetup, prev: &mut Previous) -> Vec<String> {
    let dog = setup.dialect == Dialect::Dogstatsd;
    let changes = prev.changes(push::tally(m, setup.labels, dog));
    let prefix = &setup.prefix;
    let mut out = Vec::new();
    for ((family, tags), d) in &changes.counters {
        let name = name(*family);
        out.push(format!("{prefix}.{name}:{d:.6}|c{}\n", tag_suffix(tags)));
    }
    for ((family, tags), v) in &changes.gauges {
        let name = name(*family);
        out.push(format!("{prefix}.{name}:{v:.6}|g{}\n", tag_suffix(tags)));
    }
    for ((family, tags), h) in &changes.durations {
        let name = name(*family);
        let mean = h.sum / h.count as f64;
        // StatsD timings are milliseconds; Traefik's Datadog histograms seconds.
        let (value, kind) = if dog {
            (mean, "h")
        } else {
            (mean * 1000.0, "ms")
        };
        let rate = if h.count > 1 {
            format!("|@{}", push::sample_rate(h.count))
        } else {
            String::new()
        };
        out.push(format!(
            "{prefix}.{name}:{value:.6}|{kind}{rate}{}\n",
            tag_suffix(tags)
        ));
    }
    out
}

/// Sends every `interval` until `stop` is set (then once more).
pub async fn run(
    observer: Arc<crate::observe::Observer>,
    setup: StatsdSetup,
    stop: watch::Receiver<bool>,
) {
    let Some(metrics) = observer.metrics().cloned() else {
        return;
    };
    // Locked by the one push in progress only.
    let prev = Arc::new(std::sync::Mutex::new(Previous::default()));
    let (observer, metrics, setup, prev) = (&observer, &metrics, &setup, &prev);
    every(setup.interval, stop, |_| async move {
        // Reading a large registry takes milliseconds: on the blocking pool, away from the
        // proxy's worker threads.
        let (o, m, st, p) = (
            Arc::clone(observer),
            Arc::clone(metrics),
            setup.clone(),
            Arc::clone(prev),
        );
        let lines = tokio::task::spawn_blocking(move || {
            o.refresh_cert_metrics();
            let mut prev = p.lock().unwrap_or_else(|e| e.into_inner());
            lines(&m, &st, &mut prev)
        })
        .await
        .unwrap_or_default();
        if !lines.is_empty() {
            send(&setup.sink, &lines).await;
        }
    })
    .await;
}

async fn send(sink: &Sink, lines: &[String]) {
    let sent = match sink {
        Sink::Udp(address) => send_udp(address, lines).await,
        Sink::Unixgram(path) => send_unixgram(path, lines).await,
        Sink::Unixstream(path) => send_unixstream(path, lines).await,
        Sink::Unix(path) => match send_unixgram(path, lines).await {
            // EPROTOTYPE: the socket is a stream one.
            Err(e) if e.raw_os_error() == Some(91) => send_unixstream(path, lines).await,
            other => other,
        },
    };
    if let Err(error) = sent {
        tracing::debug!(error = %error, sink = ?sink, "statsD send failed");
    }
}

async fn send_udp(address: &str, lines: &[String]) -> std::io::Result<()> {
    let to: SocketAddr = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("the address does not resolve"))?;
    let local: SocketAddr = if to.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = tokio::net::UdpSocket::bind(local).await?;
    for line in lines {
        socket.send_to(line.as_bytes(), to).await?;
    }
    Ok(())
}

async fn send_unixgram(path: &std::path::Path, lines: &[String]) -> std::io::Result<()> {
    let socket = tokio::net::UnixDatagram::unbound()?;
    socket.connect(path)?;
    for line in lines {
        socket.send(line.as_bytes()).await?;
    }
    Ok(())
}

async fn send_unixstream(path: &std::path::Path, lines: &[String]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::UnixStream::connect(path).await?;
    for line in lines {
        stream.write_all(line.as_bytes()).await?;
    }
    stream.shutdown().await
}
