//! `/api/udp/routers` and `/api/udp/services` in the shapes of Traefik's API. A UDP element with
//! an error (it could not be read, its service is missing, its entrypoint is taken) is
//! `disabled`, as Traefik marks a router it could not build.

use serde_json::{json, Value};

use super::views::{provider, View};
use crate::config::Element;

impl View<'_> {
    fn udp_status(&self, element: Element, name: &str) -> (&'static str, Vec<String>) {
        let errors: Vec<String> = self
            .issues
            .iter()
            .filter(|i| i.element == element && i.name == name)
            .map(|i| i.message.clone())
            .collect();
        let failed = self
            .issues
            .iter()
            .any(|i| i.element == element && i.name == name && !i.warning);
        (if failed { "disabled" } else { "enabled" }, errors)
    }

    pub fn udp_routers(&self) -> Value {
        let udp = &self.cfg.udp;
        let held = udp.invalid.routers.iter().map(|(n, (r, _))| (n, r));
        let mut out = Vec::new();
        for (name, r) in udp.routers.iter().chain(held) {
            let (status, errors) = self.udp_status(Element::UdpRouter, name);
            let mut v = json!({
                "name": name,
                "provider": provider(name),
                "entryPoints": r.entry_points,
                "service": r.service,
                "status": status,
            });
            if let Some(map) = v.as_object_mut() {
                map.insert("using".into(), json!(r.entry_points));
                if !errors.is_empty() {
                    map.insert("error".into(), json!(errors));
                }
            }
            out.push(v);
        }
        out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Value::Array(out)
    }

    pub fn udp_services(&self) -> Value {
        let udp = &self.cfg.udp;
        let mut out = Vec::new();
        for (name, s) in &udp.services {
            let (status, errors) = self.udp_status(Element::UdpService, name);
            let used_by: Vec<&str> = udp
                .routers
                .iter()
                .filter(|(_, r)| &r.service == name)
                .map(|(n, _)| n.as_str())
                .collect();
            let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
            if let Some(map) = v.as_object_mut() {
                map.insert("name".into(), json!(name));
                map.insert("provider".into(), json!(provider(name)));
                map.insert("status".into(), json!(status));
                map.insert("usedBy".into(), json!(used_by));
                let kind = if s.weighted.is_some() {
                    "weighted"
                } else {
                    "loadbalancer"
                };
                map.insert("type".into(), json!(kind));
                if !errors.is_empty() {
                    map.insert("error".into(), json!(errors));
                }
            }
            out.push(v);
        }
        for name in udp.invalid.services.keys() {
            let (_, errors) = self.udp_status(Element::UdpService, name);
            out.push(json!({
                "name": name,
                "provider": provider(name),
                "status": "disabled",
                "error": errors,
            }));
        }
        out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Value::Array(out)
    }
}
