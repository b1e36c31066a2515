//! The admin API (Traefik's `api`) and the dashboard page, answered for `api@internal` and
//! `dashboard@internal`.
//!
//! Reads the merged configuration of the last reload, the live routing table (for what compiled
//! and each server's health) and the current issues. Off the request path of proxied traffic;
//! allocates freely. Must not mutate anything.

mod tcp;
#[cfg(test)]
mod tests;
mod traffic;
mod udp_views;
mod views;

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use http::{header, HeaderValue, Response, StatusCode};

use crate::body::ProxyBody;
use crate::config::static_config::StaticConfig;
use crate::config::{ConfigIssue, DynamicConfig};
use crate::observe::series::live::Live;
use crate::table::RoutingTable;

/// The embedded dashboard (one page, no external assets).
pub const DASHBOARD_HTML: &str = include_str!("dashboard/index.html");

/// What the API reads.
#[derive(Debug)]
pub struct ApiState {
    enabled: bool,
    entrypoints: Vec<(String, String)>,
    features: serde_json::Value,
    providers: Vec<&'static str>,
    table: Arc<ArcSwap<RoutingTable>>,
    issues: Arc<ArcSwap<Vec<ConfigIssue>>>,
    config: ArcSwap<DynamicConfig>,
    started: String,
    /// Live traffic, once the observer hands it over.
    live: OnceLock<Arc<Live>>,
}

impl ApiState {
    pub fn new(
        cfg: &StaticConfig,
        table: Arc<ArcSwap<RoutingTable>>,
        issues: Arc<ArcSwap<Vec<ConfigIssue>>>,
    ) -> ApiState {
        let mut providers = Vec::new();
        if cfg.providers.file.is_some() {
            providers.push("File");
        }
        if cfg.providers.swarm.is_some() {
            providers.push("Swarm");
        }
        let metrics = cfg.metrics.as_ref().and_then(|m| m.prometheus.as_ref());
        ApiState {
            enabled: cfg.api.is_some(),
            entrypoints: cfg
                .entry_points
                .iter()
                .map(|(name, ep)| (name.clone(), ep.address.clone()))
                .collect(),
            features: serde_json::json!({
                "tracing": "",
                "metrics": if metrics.is_some() { "Prometheus" } else { "" },
                "accessLog": cfg.access_log.is_some(),
            }),
            providers,
            table,
            issues,
            config: ArcSwap::default(),
            started: crate::observe::clock::Civil::from_system(std::time::SystemTime::now())
                .rfc3339(),
            live: OnceLock::new(),
        }
    }

    /// Lets `/api/traffic` read the observer's live traffic.
    pub fn watch_traffic(&self, live: Arc<Live>) {
        let _ = self.live.set(live);
    }

    /// Keeps the merged configuration of the latest reload.
    pub fn set_config(&self, merged: &DynamicConfig) {
        self.config.store(Arc::new(merged.clone()));
    }

    /// A JSON answer from data the API does not hold itself (`/api/tls/certificates`); 404 when
    /// the API is not enabled.
    pub fn respond_json(&self, value: serde_json::Value) -> Response<ProxyBody> {
        if !self.enabled {
            return not_found();
        }
        text(StatusCode::OK, "application/json", value.to_string())
    }

    /// Answers one API or dashboard request (`tls`: whether it came over TLS).
    pub fn respond(&self, req: &http::request::Parts, tls: bool) -> Response<ProxyBody> {
        if !self.enabled {
            return text(
                StatusCode::NOT_FOUND,
                "text/plain",
                "api is not enabled".into(),
            );
        }
        if req.method != http::Method::GET && req.method != http::Method::HEAD {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "method not allowed".into(),
            );
        }
        if let Some(to) = dashboard_redirect(req, tls) {
            return redirect(to);
        }
        let path = req.uri.path();
        match path {
            // Traefik strips `/dashboard` and serves the page for what is left (`/` included).
            "/" | "/dashboard" | "/dashboard/" | "/dashboard/index.html" => {
                return text(
                    StatusCode::OK,
                    "text/html; charset=utf-8",
                    DASHBOARD_HTML.to_string(),
                )
            }
            _ => {}
        }
        let query = req.uri.query().unwrap_or("");
        let Some(rest) = path.strip_prefix("/api/") else {
            return not_found();
        };
        let cfg = self.config.load();
        let table = self.table.load();
        let issues = self.issues.load();
        let view = views::View {
            cfg: &cfg,
            table: &table,
            issues: &issues,
            entrypoints: &self.entrypoints,
        };
        let filter = views::Filter::from_query(query);
        let body = match rest.trim_end_matches('/') {
            "overview" => Some(view.overview(&self.features, &self.providers)),
            "version" => Some(serde_json::json!({
                "Version": env!("CARGO_PKG_VERSION"),
                "Codename": "swarmgate",
                "startDate": self.started,
            })),
            "rawdata" => Some(view.rawdata()),
            "errors" => Some(serde_json::to_value(&**issues).unwrap_or_default()),
            "entrypoints" => Some(view.entrypoints()),
            "http/routers" => Some(filter.apply(view.routers())),
            "http/services" => Some(filter.apply(view.services())),
            "http/middlewares" => Some(filter.apply(view.middlewares())),
            "udp/routers" => Some(filter.apply(view.udp_routers())),
            "udp/services" => Some(filter.apply(view.udp_services())),
            "tcp/routers" => Some(filter.apply(tcp::routers(&cfg, &issues))),
            "tcp/services" => Some(filter.apply(tcp::services(&cfg, &issues))),
            "tcp/middlewares" => Some(filter.apply(tcp::middlewares(&cfg, &issues))),
            "traffic" => Some(
                self.traffic(&table)
                    .summaries(&traffic::Select::from_query(query)),
            ),
            other => match other.strip_prefix("traffic/") {
                Some(rest) => rest.split_once('/').and_then(|(kind, name)| {
                    self.traffic(&table).detail(kind, &percent_decode(name))
                }),
                None => one(&view, other),
            },
        };
        match body {
            Some(v) => text(StatusCode::OK, "application/json", v.to_string()),
            None => not_found(),
        }
    }
}

impl ApiState {
    /// The live traffic as of now (empty before the observer handed it over).
    fn traffic(&self, table: &RoutingTable) -> traffic::Traffic {
        self.live
            .get()
            .map(|live| traffic::Traffic::read(live, table))
            .unwrap_or_default()
    }
}

/// `/api/http/routers/{name}` and the like.
fn one(view: &views::View<'_>, rest: &str) -> Option<serde_json::Value> {
    let (kind, name) = rest.rsplit_once('/')?;
    let name = percent_decode(name);
    let list = match kind {
        "http/routers" => view.routers(),
        "http/services" => view.services(),
        "http/middlewares" => view.middlewares(),
        "udp/routers" => view.udp_routers(),
        "udp/services" => view.udp_services(),
        "tcp/routers" => tcp::routers(view.cfg, view.issues),
        "tcp/services" => tcp::services(view.cfg, view.issues),
        "tcp/middlewares" => tcp::middlewares(view.cfg, view.issues),
        "entrypoints" => view.entrypoints(),
        _ => return None,
    };
    list.as_array()?
        .iter()
        .find(|v| v["name"].as_str() == Some(name.as_str()))
        .cloned()
}

/// `%40` → `@` (names in URLs are path-escaped by the dashboard and by Traefik clients).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn not_found() -> Response<ProxyBody> {
    text(
        StatusCode::NOT_FOUND,
        "text/plain",
        "404 page not found".into(),
    )
}

/// Traefik's `dashboard_redirect@internal` (a permanent `redirectRegex`
/// `^(http:\/\/(\[[\w:.]+\]|[\w\._-]+)(:\d+)?)\/$` → `${1}/dashboard/`): only a plain-HTTP
/// request for exactly `/` (no query) with a simple host is sent to `http://host/dashboard/`.
pub(crate) fn dashboard_redirect(req: &http::request::Parts, tls: bool) -> Option<String> {
    if tls || req.uri.path() != "/" || req.uri.query().is_some() {
        return None;
    }
    let host = match req.uri.authority() {
        Some(a) => a.as_str(),
        None => req.headers.get(header::HOST)?.to_str().ok()?,
    };
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let port = match host.strip_prefix('[') {
        Some(rest) => {
            let (inner, after) = rest.split_once(']')?;
            let ok = !inner.is_empty() && inner.chars().all(|c| word(c) || c == ':' || c == '.');
            if !ok {
                return None;
            }
            after
        }
        None => {
            let end = host.find(':').unwrap_or(host.len());
            let name = &host[..end];
            let ok = !name.is_empty() && name.chars().all(|c| word(c) || c == '.' || c == '-');
            if !ok {
                return None;
            }
            &host[end..]
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !port_ok {
        return None;
    }
    Some(format!("http://{host}/dashboard/"))
}

/// A permanent redirect as Traefik's `redirectRegex` writes it (`Moved Permanently` body).
fn redirect(to: String) -> Response<ProxyBody> {
    let mut resp = text(
        StatusCode::MOVED_PERMANENTLY,
        "text/plain; charset=utf-8",
        "Moved Permanently".into(),
    );
    resp.headers_mut().remove(header::CACHE_CONTROL);
    if let Ok(v) = HeaderValue::from_str(&to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A complete response with a content type.
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
