//! The Prometheus text exposition of a `Metrics` registry. Scrape path only: locks and allocates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::{Cell, LabelSet, Metrics};
use crate::observe::series::RouteMetrics;
use crate::table::Service;

/// Counts per `wanted` boundary (not cumulative), then the overflow, from `counts` kept over
/// `union` (which holds every boundary of `wanted`: each exporter's boundaries are merged into
/// the registry's when it is built, so the regrouping is exact).
pub(super) fn regroup(union: &[f64], counts: &[u64], wanted: &[f64]) -> Vec<u64> {
    let mut out = vec![0; wanted.len() + 1];
    for (i, n) in counts.iter().enumerate() {
        let slot = match union.get(i) {
            Some(b) => wanted.iter().position(|w| b <= w).unwrap_or(wanted.len()),
            None => wanted.len(),
        };
        out[slot] += n;
    }
    out
}

/// Totals of one label set of a request family.
#[derive(Default)]
pub(super) struct Agg {
    pub(super) count: u64,
    pub(super) request_bytes: u64,
    pub(super) response_bytes: u64,
    /// The service's body bytes (before `compress`).
    pub(super) origin_bytes: u64,
    /// Per bucket, non-cumulative; then `+Inf`.
    pub(super) buckets: Vec<u64>,
    pub(super) sum_nanos: u64,
}

impl Agg {
    pub(super) fn add(&mut self, cell: &Cell) {
        self.count += cell.count.load(Ordering::Relaxed);
        self.request_bytes += cell.request_bytes.load(Ordering::Relaxed);
        let sent = cell.response_bytes.load(Ordering::Relaxed);
        self.response_bytes += sent;
        self.origin_bytes = self
            .origin_bytes
            .wrapping_add(sent.wrapping_add(cell.origin_offset.load(Ordering::Relaxed)));
        self.buckets.resize(cell.buckets.len(), 0);
        for (i, b) in cell.buckets.iter().enumerate() {
            self.buckets[i] += b.load(Ordering::Relaxed);
        }
        self.sum_nanos = self
            .sum_nanos
            .saturating_add(cell.sum_nanos.load(Ordering::Relaxed));
    }
}

/// Label sets (rendered, names in alphabetical order as Prometheus' Go client writes them) to
/// their totals.
type Family = BTreeMap<String, Agg>;

/// Renders `pairs` sorted by label name.
fn labels_of(pairs: &mut [(&str, &str)]) -> String {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (name, value) in pairs.iter() {
        push_label(&mut out, name, value);
    }
    out
}

/// A level of the request families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
    Entrypoint,
    Router,
    Service,
}

impl Level {
    pub(super) fn name(self) -> &'static str {
        match self {
            Level::Entrypoint => "entrypoint",
            Level::Router => "router",
            Level::Service => "service",
        }
    }
}

/// The registry's routes (a snapshot, so no lock is held while walking), each with whether a
/// router took its requests; the unrouted series last.
fn routes(m: &Metrics) -> Vec<(Arc<RouteMetrics>, bool)> {
    let routes = m.routes.lock().unwrap_or_else(|p| p.into_inner());
    routes
        .values()
        .map(|r| (Arc::clone(r), true))
        .chain(std::iter::once((Arc::clone(&m.unrouted), false)))
        .collect()
}

/// Where a counted value stands: its route (and whether a router took it), its entrypoint,
/// whether it reached the service.
struct Place<'a> {
    route: &'a RouteMetrics,
    routed: bool,
    ep: usize,
    reached: bool,
}

/// Calls `f` once per level `value` counts on under `labels`, with the `base` label pairs plus
/// that level's own: every request on its entrypoint; routed ones on their router, and on their
/// service when it was reached.
fn fan_out<T: Copy>(
    m: &Metrics,
    labels: LabelSet,
    Place {
        route,
        routed,
        ep,
        reached,
    }: Place<'_>,
    base: &[(&str, &str)],
    value: T,
    f: &mut impl FnMut(Level, &mut [(&str, &str)], T),
) {
    if labels.entrypoint {
        let mut pairs = base.to_vec();
        pairs.push(("entrypoint", entrypoint_name(m, ep)));
        f(Level::Entrypoint, &mut pairs, value);
    }
    // Requests no router took count on the entrypoint only, as in Traefik.
    if !routed {
        return;
    }
    if labels.router {
        let mut pairs = base.to_vec();
        pairs.push(("router", &route.router));
        pairs.push(("service", &route.service));
        f(Level::Router, &mut pairs, value);
    }
    if labels.service && reached && !route.service.is_empty() {
        let mut pairs = base.to_vec();
        pairs.push(("service", &route.service));
        f(Level::Service, &mut pairs, value);
    }
}

/// Calls `f` with each used request cell of the registry, once per level it counts on under
/// `labels`, with that level's label pairs (unsorted). Shared by the Prometheus text, the OTLP
/// push and StatsD, so all read the same counters the same way.
pub(super) fn walk_requests(
    m: &Metrics,
    labels: LabelSet,
    mut f: impl FnMut(Level, &mut [(&str, &str)], &Cell),
) {
    for (route, routed) in routes(m) {
        for (ep, slot) in route.per_entrypoint.iter().enumerate() {
            let Some(series) = slot.get() else { continue };
            for (method, protocol, code, reached, cell) in series.cells() {
                let code = code.to_string();
                let base = [
                    ("code", code.as_str()),
                    ("method", method),
                    ("protocol", protocol.as_str()),
                ];
                let at = Place {
                    route: &route,
                    routed,
                    ep,
                    reached,
                };
                fan_out(m, labels, at, &base, cell, &mut f);
            }
        }
    }
}

/// Like `walk_requests` for the TLS counters: (level, label pairs, count).
pub(super) fn walk_tls(
    m: &Metrics,
    labels: LabelSet,
    mut f: impl FnMut(Level, &mut [(&str, &str)], u64),
) {
    for (route, routed) in routes(m) {
        for ep in 0..route.tls.len() {
            for (tls, reached, n) in route.tls_cells(ep) {
                let base = [("tls_cipher", tls.cipher()), ("tls_version", tls.version())];
                let at = Place {
                    route: &route,
                    routed,
                    ep,
                    reached,
                };
                fan_out(m, labels, at, &base, n, &mut f);
            }
        }
    }
}

/// `traefik_service_retries_total` by service.
pub(super) fn retries(m: &Metrics) -> BTreeMap<String, u64> {
    let routes = m.routes.lock().unwrap_or_else(|p| p.into_inner());
    let mut by_service: BTreeMap<String, u64> = BTreeMap::new();
    for route in routes.values() {
        let n = route.retries.load(Ordering::Relaxed);
        if n > 0 && !route.service.is_empty() {
            *by_service.entry(route.service.clone()).or_default() += n;
        }
    }
    by_service
}

/// `traefik_service_server_up`: (service, url, up) of health-checked servers.
pub(super) fn servers(m: &Metrics) -> Vec<(String, String, bool)> {
    let Some(table) = &m.table else {
        return Vec::new();
    };
    let table = table.load();
    let now = Instant::now();
    let mut out = Vec::new();
    for (name, service) in &table.services {
        let Service::LoadBalancer(lb) = &**service else {
            continue;
        };
        if !lb.health_checked {
            continue;
        }
        for endpoint in lb.balancer.endpoints() {
            out.push((
                name.clone(),
                endpoint.url.to_string(),
                endpoint.state.is_available(now),
            ));
        }
    }
    out
}

pub(super) fn render(m: &Metrics) -> String {
    let mut out = String::with_capacity(4096);
    let mut entrypoints = Family::new();
    let mut routers = Family::new();
    let mut services = Family::new();
    walk_requests(m, m.labels, |level, pairs, cell| {
        let family = match level {
            Level::Entrypoint => &mut entrypoints,
            Level::Router => &mut routers,
            Level::Service => &mut services,
        };
        family.entry(labels_of(pairs)).or_default().add(cell);
    });

    let last = f64::from_bits(m.last_success_secs.load(Ordering::Relaxed));
    header(
        &mut out,
        "traefik_config_last_reload_success",
        "gauge",
        "Last config reload success",
    );
    let _ = writeln!(
        out,
        "traefik_config_last_reload_success {}",
        format_float(last)
    );
    let ok = m.reloads_success.load(Ordering::Relaxed);
    let failed = m.reloads_failure.load(Ordering::Relaxed);
    header(
        &mut out,
        "traefik_config_reloads_total",
        "counter",
        "Config reloads",
    );
    let _ = writeln!(out, "traefik_config_reloads_total {}", ok + failed);

    if m.labels.entrypoint {
        render_family(m, &mut out, "entrypoint", "an entrypoint", &entrypoints);
    }

    header(
        &mut out,
        "traefik_open_connections",
        "gauge",
        "How many open connections exist, by entryPoint and protocol",
    );
    for (ep, n) in m.open_connections.iter().enumerate() {
        if m.is_udp(ep) {
            continue;
        }
        let labels = labels_of(&mut [("entrypoint", entrypoint_name(m, ep)), ("protocol", "TCP")]);
        let _ = writeln!(
            out,
            "traefik_open_connections{{{labels}}} {}",
            n.load(Ordering::Relaxed).max(0)
        );
    }

    if m.labels.router {
        render_family(m, &mut out, "router", "a router", &routers);
    }
    render_tls(m, &mut out);
    if m.labels.service {
        render_family(m, &mut out, "service", "a service", &services);
        render_retries(m, &mut out);
        render_servers(m, &mut out);
    }

    let certs = m.certs.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if !certs.is_empty() {
        header(
            &mut out,
            "traefik_tls_certs_not_after",
            "gauge",
            "Certificate expiration timestamp",
        );
    }
    for cert in certs.values() {
        let labels = labels_of(&mut [
            ("cn", &cert.cn),
            ("sans", &cert.sans),
            ("serial", &cert.serial),
        ]);
        let _ = writeln!(
            out,
            "traefik_tls_certs_not_after{{{labels}}} {}",
            cert.not_after
        );
    }

    render_auths(m, &mut out);
    out
}

/// The four request families of one level (`entrypoint`, `router`, `service`), by Traefik's
/// names: `traefik_<level>_request_duration_seconds`, `_requests_bytes_total`,
/// `_requests_total`, `_responses_bytes_total`. A family without series is left out, as the Go
/// client does.
fn render_family(m: &Metrics, out: &mut String, level: &str, what: &str, family: &Family) {
    if family.is_empty() {
        return;
    }
    let name = format!("traefik_{level}_request_duration_seconds");
    header(
        out,
        &name,
        "histogram",
        &format!("How long it took to process the request on {what}, partitioned by status code, protocol, and method."),
    );
    for (labels, agg) in family {
        let mut cumulative = 0u64;
        for (i, n) in regroup(&m.buckets, &agg.buckets, &m.prometheus_buckets)
            .iter()
            .enumerate()
        {
            cumulative += n;
            let le = match m.prometheus_buckets.get(i) {
                Some(b) => format_float(*b),
                None => "+Inf".to_string(),
            };
            let mut all = labels.clone();
            push_label(&mut all, "le", &le);
            let _ = writeln!(out, "{name}_bucket{{{all}}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            format_float(agg.sum_nanos as f64 / 1e9)
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", agg.count);
    }
    type Counter = (&'static str, &'static str, fn(&Agg) -> u64);
    let counters: [Counter; 3] = [
        (
            "requests_bytes_total",
            "The total size of requests in bytes handled by",
            |a| a.request_bytes,
        ),
        (
            "requests_total",
            "How many HTTP requests processed on",
            |a| a.count,
        ),
        (
            "responses_bytes_total",
            "The total size of responses in bytes handled by",
            |a| a.response_bytes,
        ),
    ];
    for (suffix, help, mut value) in counters {
        if level == "service" && suffix == "responses_bytes_total" {
            // Traefik's service metrics sit inside the router's middlewares: `compress` has not
            // re-encoded what they count.
            value = |a| a.origin_bytes;
        }
        let name = format!("traefik_{level}_{suffix}");
        header(
            out,
            &name,
            "counter",
            &format!("{help} {what}, partitioned by status code, protocol, and method."),
        );
        for (labels, agg) in family {
            let _ = writeln!(out, "{name}{{{labels}}} {}", value(agg));
        }
    }
}

/// `forwardAuth` calls: `swarmgate_forwardauth_requests_total{middleware,code}` and the
/// `swarmgate_forwardauth_request_duration_seconds{middleware}` histogram (swarmgate's own;
/// Traefik reports the call only as a tracing span).
fn render_auths(m: &Metrics, out: &mut String) {
    let mut auths: Vec<_> = {
        let auths = m.auths.lock().unwrap_or_else(|p| p.into_inner());
        auths.values().cloned().collect()
    };
    if auths.is_empty() {
        return;
    }
    auths.sort_by(|a, b| a.middleware.cmp(&b.middleware));
    header(
        out,
        "swarmgate_forwardauth_requests_total",
        "counter",
        "Calls to forwardAuth authentication servers, by middleware and answer status (500: no answer).",
    );
    for auth in &auths {
        let mut labels = String::new();
        push_label(&mut labels, "middleware", &auth.middleware);
        let mut codes: BTreeMap<u16, u64> = BTreeMap::new();
        for (_, _, code, _, cell) in auth.series.cells() {
            *codes.entry(code).or_default() += cell.count.load(Ordering::Relaxed);
        }
        for (code, n) in codes {
            let mut all = labels.clone();
            push_label(&mut all, "code", &code.to_string());
            let _ = writeln!(out, "swarmgate_forwardauth_requests_total{{{all}}} {n}");
        }
    }
    header(
        out,
        "swarmgate_forwardauth_request_duration_seconds",
        "histogram",
        "How long forwardAuth authentication calls took, in seconds.",
    );
    for auth in &auths {
        let mut labels = String::new();
        push_label(&mut labels, "middleware", &auth.middleware);
        let mut agg = Agg::default();
        for (_, _, _, _, cell) in auth.series.cells() {
            agg.add(cell);
        }
        let mut cumulative = 0u64;
        for (i, b) in regroup(&m.buckets, &agg.buckets, &m.prometheus_buckets)
            .iter()
            .enumerate()
        {
            cumulative += b;
            let le = match m.prometheus_buckets.get(i) {
                Some(b) => format_float(*b),
                None => "+Inf".to_string(),
            };
            let mut all = labels.clone();
            push_label(&mut all, "le", &le);
            let _ = writeln!(
                out,
                "swarmgate_forwardauth_request_duration_seconds_bucket{{{all}}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "swarmgate_forwardauth_request_duration_seconds_sum{{{labels}}} {}",
            format_float(agg.sum_nanos as f64 / 1e9)
        );
        let _ = writeln!(
            out,
            "swarmgate_forwardauth_request_duration_seconds_count{{{labels}}} {}",
            agg.count
        );
    }
}

/// `traefik_service_server_up{service,url}` from the live table, for the servers of services
/// with a `healthCheck` only, as Traefik (its health checker writes the gauge): 1 when the
/// server takes traffic.
/// Traefik's `traefik_{entrypoint,router,service}_requests_tls_total` with `tls_version` and
/// `tls_cipher` (Go's names), counted like the request families.
fn render_tls(m: &Metrics, out: &mut String) {
    let mut entrypoints: BTreeMap<String, u64> = BTreeMap::new();
    let mut routers: BTreeMap<String, u64> = BTreeMap::new();
    let mut services: BTreeMap<String, u64> = BTreeMap::new();
    walk_tls(m, m.labels, |level, pairs, n| {
        let family = match level {
            Level::Entrypoint => &mut entrypoints,
            Level::Router => &mut routers,
            Level::Service => &mut services,
        };
        *family.entry(labels_of(pairs)).or_default() += n;
    });
    for (level, help, family) in [
        ("entrypoint", "How many HTTP requests with TLS processed on an entrypoint, partitioned by TLS Version and TLS cipher Used.", entrypoints),
        ("router", "How many HTTP requests with TLS are processed on a router, partitioned by service, TLS Version, and TLS cipher Used.", routers),
        ("service", "How many HTTP requests with TLS processed on a service, partitioned by TLS version and TLS cipher.", services),
    ] {
        if family.is_empty() {
            continue;
        }
        let name = format!("traefik_{level}_requests_tls_total");
        header(out, &name, "counter", help);
        for (labels, n) in family {
            let _ = writeln!(out, "{name}{{{labels}}} {n}");
        }
    }
}

/// `traefik_service_retries_total{service}`: the retry middleware's new attempts, summed over
/// the routers using the service (Traefik's retry listener counts by service).
fn render_retries(m: &Metrics, out: &mut String) {
    let by_service = retries(m);
    if by_service.is_empty() {
        return;
    }
    header(
        out,
        "traefik_service_retries_total",
        "counter",
        "How many request retries happened on a service.",
    );
    for (service, n) in by_service {
        let labels = labels_of(&mut [("service", &service)]);
        let _ = writeln!(out, "traefik_service_retries_total{{{labels}}} {n}");
    }
}

fn render_servers(m: &Metrics, out: &mut String) {
    let mut lines = String::new();
    for (service, url, up) in servers(m) {
        let labels = labels_of(&mut [("service", &service), ("url", &url)]);
        let _ = writeln!(
            lines,
            "traefik_service_server_up{{{labels}}} {}",
            u8::from(up)
        );
    }
    // Like Traefik's exposition: no family header without a series.
    if lines.is_empty() {
        return;
    }
    header(
        out,
        "traefik_service_server_up",
        "gauge",
        "service server is up, described by gauge value of 0 or 1.",
    );
    out.push_str(&lines);
}

pub(super) fn entrypoint_name(m: &Metrics, index: usize) -> &str {
    m.entrypoints.get(index).map(String::as_str).unwrap_or("")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends `name="value"` (comma-separated), escaping as the text format requires.
pub(super) fn push_label(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Floats as Prometheus writes them (`0.1`, `5`, `1.5e+09` is fine too).
fn format_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// swarmgate's ACME families (Traefik has none): `swarmgate_acme_orders_total{resolver,result}`
/// (`result` is `issued` or `failed`) and, for each domain whose last order failed,
/// `swarmgate_acme_next_attempt_timestamp_seconds{resolver,domain}`.
pub fn acme(out: &mut String, attempts: &crate::tls::acme::attempts::Snapshot) {
    if !attempts.orders.is_empty() {
        header(
            out,
            "swarmgate_acme_orders_total",
            "counter",
            "ACME orders by certificate resolver, issued or failed.",
        );
    }
    for (resolver, issued, failed) in &attempts.orders {
        for (result, count) in [("failed", failed), ("issued", issued)] {
            let labels = labels_of(&mut [("resolver", resolver), ("result", result)]);
            let _ = writeln!(out, "swarmgate_acme_orders_total{{{labels}}} {count}");
        }
    }
    if !attempts.retries.is_empty() {
        header(
            out,
            "swarmgate_acme_next_attempt_timestamp_seconds",
            "gauge",
            "When the next ACME order is due for a domain whose last order failed (Unix seconds).",
        );
    }
    for retry in &attempts.retries {
        let labels = labels_of(&mut [("domain", &retry.domain), ("resolver", &retry.resolver)]);
        let _ = writeln!(
            out,
            "swarmgate_acme_next_attempt_timestamp_seconds{{{labels}}} {}",
            retry.next_attempt
        );
    }
}
