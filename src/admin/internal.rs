//! The `internal` provider: the routers Traefik creates itself for `api.insecure`, `ping` and
//! `metrics.prometheus` (on the `traefik` entrypoint unless told otherwise). Pure.

use crate::config::dynamic::RouterConfig;
use crate::config::static_config::StaticConfig;
use crate::config::DynamicConfig;

/// The entrypoint Traefik puts its internal routers on by default.
pub const DEFAULT_ENTRYPOINT: &str = "traefik";

/// Internal routers win over user routers on the same entrypoint (Traefik: `MaxInt - n`).
const TOP: i64 = i64::MAX / 2;

/// The routers the static configuration asks for; routers on an entrypoint that does not exist
/// are left out (nothing could serve them).
pub fn internal_config(cfg: &StaticConfig) -> DynamicConfig {
    let mut out = DynamicConfig::default();
    let mut add = |name: &str, rule: &str, entrypoint: &str, service: &str, priority: i64| {
        if !cfg.entry_points.contains_key(entrypoint) {
            return;
        }
        out.http.routers.insert(
            name.to_string(),
            RouterConfig {
                entry_points: vec![entrypoint.to_string()],
                rule: rule.to_string(),
                priority: Some(priority),
                service: service.to_string(),
                middlewares: Vec::new(),
                tls: None,
                rule_syntax: None,
                // Traefik's internal routers keep the v3 syntax ("default").
                default_rule: true,
                observability: None,
            },
        );
    };
    // `manualRouting`: the service stays (`ping@internal`, `prometheus@internal`), the router is
    // the user's to write.
    if let Some(ping) = cfg.ping.as_ref().filter(|p| !p.manual_routing) {
        let ep = ping.entry_point.as_deref().unwrap_or(DEFAULT_ENTRYPOINT);
        add("ping", "PathPrefix(`/ping`)", ep, "ping@internal", TOP);
    }
    if let Some(prometheus) = cfg
        .metrics
        .as_ref()
        .and_then(|m| m.prometheus.as_ref())
        .filter(|p| !p.manual_routing)
    {
        let ep = prometheus
            .entry_point
            .as_deref()
            .unwrap_or(DEFAULT_ENTRYPOINT);
        add(
            "prometheus",
            "PathPrefix(`/metrics`)",
            ep,
            "prometheus@internal",
            TOP,
        );
    }
    if cfg.api.as_ref().is_some_and(|a| a.insecure) {
        add(
            "api",
            "PathPrefix(`/api`)",
            DEFAULT_ENTRYPOINT,
            "api@internal",
            TOP - 1,
        );
    }
    if cfg.api.as_ref().is_some_and(|a| a.insecure && a.dashboard) {
        add(
            "dashboard",
            "PathPrefix(`/`)",
            DEFAULT_ENTRYPOINT,
            "dashboard@internal",
            TOP - 2,
        );
    }
    // Services that do not exist because their feature is off: a router naming one is disabled
    // with Traefik's error, so its requests get 404 (Traefik's `internalhandler.go`).
    let api = cfg.api.as_ref();
    for (name, enabled) in [
        ("api", api.is_some()),
        ("dashboard", api.is_some_and(|a| a.dashboard)),
        ("ping", cfg.ping.is_some()),
        (
            "prometheus",
            cfg.metrics.as_ref().is_some_and(|m| m.prometheus.is_some()),
        ),
    ] {
        if !enabled {
            out.invalid
                .services
                .insert(name.to_string(), format!("{name} is not enabled"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml_text: &str) -> StaticConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn routers_follow_the_static_config() {
        let table = [
            ("[entryPoints.web]\naddress=':80'\n", vec![]),
            (
                "[entryPoints.traefik]\naddress=':8080'\n[api]\ninsecure=true\n[ping]\n",
                vec!["api", "dashboard", "ping"],
            ),
            // `dashboard=false`: the API without the dashboard, as Traefik.
            (
                "[entryPoints.traefik]\naddress=':8080'\n[api]\ninsecure=true\ndashboard=false\n",
                vec!["api"],
            ),
            // api without insecure: routers must be written by the user.
            (
                "[entryPoints.traefik]\naddress=':8080'\n[api]\ndashboard=true\n",
                vec![],
            ),
            (
                "[entryPoints.web]\naddress=':80'\n[metrics.prometheus]\nentryPoint='web'\n",
                vec!["prometheus"],
            ),
            // `manualRouting`: the user writes the router (`service: prometheus@internal`).
            (
                "[entryPoints.web]\naddress=':80'\n[metrics.prometheus]\nentryPoint='web'\nmanualRouting=true\n[ping]\nentryPoint='web'\nmanualRouting=true\n",
                vec![],
            ),
            (
                "[entryPoints.web]\naddress=':80'\n[metrics.prometheus]\nentryPoint='web'\nmanualRouting=true\n[ping]\nentryPoint='web'\n",
                vec!["ping"],
            ),
            // Default entrypoint missing: nothing to attach to.
            (
                "[entryPoints.web]\naddress=':80'\n[metrics.prometheus]\n[ping]\n",
                vec![],
            ),
        ];
        for (text, want) in table {
            let got = internal_config(&cfg(text));
            let names: Vec<&str> = got.http.routers.keys().map(String::as_str).collect();
            assert_eq!(names, want, "{text}");
        }
        let got = internal_config(&cfg(
            "[entryPoints.web]\naddress=':80'\n[metrics.prometheus]\nentryPoint='web'\n",
        ));
        let off: Vec<&str> = got.invalid.services.keys().map(String::as_str).collect();
        assert_eq!(off, ["api", "dashboard", "ping"]);
        assert_eq!(got.invalid.services["ping"], "ping is not enabled");
        let r = &got.http.routers["prometheus"];
        assert_eq!(r.entry_points, ["web"]);
        assert_eq!(r.service, "prometheus@internal");
        assert_eq!(r.rule, "PathPrefix(`/metrics`)");
    }
}
