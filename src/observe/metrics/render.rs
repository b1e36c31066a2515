//! The Prometheus text exposition of a `Metrics` registry. Scrape path only: locks and allocates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Metrics, Series, CODES, FIRST_CODE, METHODS};
use crate::table::Service;

/// Histogram totals of one label set: per-bucket counts (non-cumulative), sum (ns), count.
#[derive(Default)]
struct Hist {
    buckets: Vec<u64>,
    sum_nanos: u64,
    count: u64,
}

pub(super) fn render(m: &Metrics) -> String {
    let mut out = String::with_capacity(4096);
    // Series sharing a label set (labels switched off) are summed.
    let mut requests: BTreeMap<(String, u16, &'static str), u64> = BTreeMap::new();
    let mut durations: BTreeMap<String, Hist> = BTreeMap::new();
    let routes: Vec<_> = {
        let routes = m.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.values().cloned().collect()
    };
    let all = routes
        .iter()
        .map(|r| &**r)
        .chain(std::iter::once(&*m.unrouted));
    for route in all {
        for (ep, slot) in route.per_entrypoint.iter().enumerate() {
            let Some(series) = slot.get() else { continue };
            let mut labels = String::new();
            if m.labels.entrypoint {
                push_label(&mut labels, "entrypoint", entrypoint_name(m, ep));
            }
            if m.labels.router {
                push_label(&mut labels, "router", &route.router);
            }
            if m.labels.service {
                push_label(&mut labels, "service", &route.service);
            }
            collect_codes(series, &labels, &mut requests);
            let hist = durations.entry(labels).or_default();
            hist.buckets.resize(series.buckets.len(), 0);
            for (i, b) in series.buckets.iter().enumerate() {
                hist.buckets[i] += b.load(Ordering::Relaxed);
            }
            hist.sum_nanos = hist
                .sum_nanos
                .saturating_add(series.sum_nanos.load(Ordering::Relaxed));
            hist.count += series.count.load(Ordering::Relaxed);
        }
    }

    header(
        &mut out,
        "swarmgate_requests_total",
        "counter",
        "How many HTTP requests were processed, by code and method.",
    );
    for ((labels, code, method), n) in &requests {
        let mut all = labels.clone();
        push_label(&mut all, "code", &code.to_string());
        push_label(&mut all, "method", method);
        let _ = writeln!(out, "swarmgate_requests_total{{{all}}} {n}");
    }

    header(
        &mut out,
        "swarmgate_request_duration_seconds",
        "histogram",
        "How long requests took until the response head, in seconds.",
    );
    for (labels, hist) in &durations {
        let mut cumulative = 0u64;
        for (i, n) in hist.buckets.iter().enumerate() {
            cumulative += n;
            let le = match m.buckets.get(i) {
                Some(b) => format_float(*b),
                None => "+Inf".to_string(),
            };
            let mut all = labels.clone();
            push_label(&mut all, "le", &le);
            let _ = writeln!(
                out,
                "swarmgate_request_duration_seconds_bucket{{{all}}} {cumulative}"
            );
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "swarmgate_request_duration_seconds_sum{braces} {}",
            format_float(hist.sum_nanos as f64 / 1e9)
        );
        let _ = writeln!(
            out,
            "swarmgate_request_duration_seconds_count{braces} {}",
            hist.count
        );
    }

    header(
        &mut out,
        "swarmgate_open_connections",
        "gauge",
        "How many connections are open, by entrypoint.",
    );
    for (ep, n) in m.open_connections.iter().enumerate() {
        let mut labels = String::new();
        push_label(&mut labels, "entrypoint", entrypoint_name(m, ep));
        let _ = writeln!(
            out,
            "swarmgate_open_connections{{{labels}}} {}",
            n.load(Ordering::Relaxed).max(0)
        );
    }

    render_servers(m, &mut out);
    render_auths(m, &mut out);

    header(
        &mut out,
        "swarmgate_config_reloads_total",
        "counter",
        "Configuration reloads; failure = the reload reported configuration issues.",
    );
    let ok = m.reloads_success.load(Ordering::Relaxed);
    let failed = m.reloads_failure.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "swarmgate_config_reloads_total{{result=\"success\"}} {ok}"
    );
    let _ = writeln!(
        out,
        "swarmgate_config_reloads_total{{result=\"failure\"}} {failed}"
    );
    header(
        &mut out,
        "swarmgate_config_last_reload_success_timestamp_seconds",
        "gauge",
        "Unix time of the last reload without issues.",
    );
    let last = f64::from_bits(m.last_success_secs.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "swarmgate_config_last_reload_success_timestamp_seconds {}",
        format_float(last)
    );

    header(
        &mut out,
        "swarmgate_tls_certs_not_after",
        "gauge",
        "Expiry of each served certificate, as Unix seconds.",
    );
    let certs = m.certs.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for cert in certs.values() {
        let mut labels = String::new();
        push_label(&mut labels, "cn", &cert.cn);
        push_label(&mut labels, "sans", &cert.sans);
        push_label(&mut labels, "serial", &cert.serial);
        let _ = writeln!(
            out,
            "swarmgate_tls_certs_not_after{{{labels}}} {}",
            cert.not_after
        );
    }
    out
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
        let mut codes = BTreeMap::new();
        collect_codes(&auth.series, &labels, &mut codes);
        for ((labels, code, _), n) in codes {
            let mut all = labels;
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
        let s = &auth.series;
        let mut cumulative = 0u64;
        for (i, b) in s.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = match m.buckets.get(i) {
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
            format_float(s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9)
        );
        let _ = writeln!(
            out,
            "swarmgate_forwardauth_request_duration_seconds_count{{{labels}}} {}",
            s.count.load(Ordering::Relaxed)
        );
    }
}

fn collect_codes(
    series: &Series,
    labels: &str,
    requests: &mut BTreeMap<(String, u16, &'static str), u64>,
) {
    for (mi, per_method) in series.codes.iter().enumerate() {
        let Some(codes) = per_method.get() else {
            continue;
        };
        for (ci, n) in codes.iter().enumerate().take(CODES) {
            let n = n.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let code = FIRST_CODE + ci as u16;
            *requests
                .entry((labels.to_string(), code, METHODS[mi]))
                .or_default() += n;
        }
    }
}

/// `swarmgate_server_up{service,url}` from the live table: 1 when the server takes traffic.
fn render_servers(m: &Metrics, out: &mut String) {
    header(
        out,
        "swarmgate_server_up",
        "gauge",
        "Whether a service's server is up (1) or down (0).",
    );
    let Some(table) = &m.table else { return };
    let table = table.load();
    let now = Instant::now();
    for (name, service) in &table.services {
        let Service::LoadBalancer(lb) = &**service else {
            continue;
        };
        for endpoint in lb.balancer.endpoints() {
            let mut labels = String::new();
            push_label(&mut labels, "service", name);
            push_label(&mut labels, "url", &endpoint.url);
            let up = u8::from(endpoint.state.is_available(now));
            let _ = writeln!(out, "swarmgate_server_up{{{labels}}} {up}");
        }
    }
}

fn entrypoint_name(m: &Metrics, index: usize) -> &str {
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
