//! `/api/tcp/routers`, `/api/tcp/services`, `/api/tcp/middlewares`: the TCP elements of the merged
//! configuration with their status and errors, in the shape of Traefik's API (`name`, `provider`,
//! `status`: enabled / warning / disabled, `error`).

use serde_json::{json, Map, Value};

use crate::config::tcp::TcpElement;
use crate::config::{ConfigIssue, DynamicConfig, Element};

fn provider(name: &str) -> &str {
    name.rsplit_once('@').map(|(_, p)| p).unwrap_or("")
}

/// The issues about TCP element `name` (their key names a `tcp.` path or `traefik.tcp.` label).
fn errors(issues: &[ConfigIssue], element: Element, name: &str) -> (Vec<String>, bool) {
    let base = name.rsplit_once('@').map_or(name, |(b, _)| b);
    let mine: Vec<&ConfigIssue> = issues
        .iter()
        .filter(|i| i.element == element && (i.name == name || i.name == base))
        .filter(|i| i.is_tcp())
        .collect();
    let fatal = mine.iter().any(|i| !i.warning);
    (mine.iter().map(|i| i.message.clone()).collect(), fatal)
}

fn status(disabled: bool, errors: &[String]) -> &'static str {
    match (disabled, errors.is_empty()) {
        (true, _) => "disabled",
        (false, true) => "enabled",
        (false, false) => "warning",
    }
}

fn entry(name: &str, body: Value, errs: Vec<String>, disabled: bool) -> Value {
    let mut map = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.insert("name".into(), json!(name));
    map.insert("provider".into(), json!(provider(name)));
    map.insert("status".into(), json!(status(disabled, &errs)));
    if !errs.is_empty() {
        map.insert("error".into(), json!(errs));
    }
    Value::Object(map)
}

pub fn routers(cfg: &DynamicConfig, issues: &[ConfigIssue]) -> Value {
    let mut out = Vec::new();
    for (name, r) in &cfg.tcp.routers {
        let (errs, fatal) = errors(issues, Element::Router, name);
        let mut body = serde_json::to_value(r).unwrap_or_default();
        if let Some(map) = body.as_object_mut() {
            map.insert("using".into(), json!(r.entry_points));
        }
        out.push(entry(name, body, errs, fatal));
    }
    for ((kind, name), _) in cfg.tcp.invalid.iter() {
        if *kind == TcpElement::Router && !cfg.tcp.routers.contains_key(name) {
            let (errs, _) = errors(issues, Element::Router, name);
            out.push(entry(name, json!({}), errs, true));
        }
    }
    Value::Array(out)
}

pub fn services(cfg: &DynamicConfig, issues: &[ConfigIssue]) -> Value {
    let mut out = Vec::new();
    for (name, s) in &cfg.tcp.services {
        let (errs, fatal) = errors(issues, Element::Service, name);
        let mut body = serde_json::to_value(s).unwrap_or_default();
        let used_by: Vec<&String> = cfg
            .tcp
            .routers
            .iter()
            .filter(|(_, r)| &r.service == name)
            .map(|(n, _)| n)
            .collect();
        if let Some(map) = body.as_object_mut() {
            map.insert("usedBy".into(), json!(used_by));
        }
        out.push(entry(name, body, errs, fatal));
    }
    for ((kind, name), _) in cfg.tcp.invalid.iter() {
        if *kind == TcpElement::Service && !cfg.tcp.services.contains_key(name) {
            let (errs, _) = errors(issues, Element::Service, name);
            out.push(entry(name, json!({}), errs, true));
        }
    }
    Value::Array(out)
}

pub fn middlewares(cfg: &DynamicConfig, issues: &[ConfigIssue]) -> Value {
    let mut out = Vec::new();
    for (name, m) in &cfg.tcp.middlewares {
        let (errs, fatal) = errors(issues, Element::Middleware, name);
        let body = serde_json::to_value(m).unwrap_or_default();
        out.push(entry(name, body, errs, fatal));
    }
    for ((kind, name), _) in cfg.tcp.invalid.iter() {
        if *kind == TcpElement::Middleware && !cfg.tcp.middlewares.contains_key(name) {
            let (errs, _) = errors(issues, Element::Middleware, name);
            out.push(entry(name, json!({}), errs, true));
        }
    }
    Value::Array(out)
}
