//! Routers, read one by one: a router that does not deserialize but whose rule parses is kept
//! as a closed route (`Invalid::routers`); one whose rule does not parse is only reported.

use serde_json::Value;

use super::{de, Element, Reader};
use crate::config::dynamic::{RouterConfig, RouterTlsConfig};
use crate::rules::Rule;

/// What can be read of a router that does not deserialize: its rule (required), priority,
/// entrypoints and TLS mode, to hold its place as a closed route. Missing or malformed
/// entrypoints mean every entrypoint (the widest closing).
pub(super) fn lenient_router(value: &Value) -> Option<RouterConfig> {
    let map = value.as_object()?;
    let rule = map.get("rule")?.as_str()?.to_string();
    let entry_points = map
        .get("entryPoints")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let tls = match map.get("tls") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(_) => Some(RouterTlsConfig::default()),
    };
    Some(RouterConfig {
        entry_points,
        rule,
        priority: map.get("priority").and_then(Value::as_i64),
        service: map
            .get("service")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        middlewares: Vec::new(),
        tls,
        rule_syntax: map
            .get("ruleSyntax")
            .and_then(Value::as_str)
            .map(str::to_string),
        default_rule: false,
        // The closed route still reports as its router asked, when that part reads.
        observability: map
            .get("observability")
            .and_then(|o| serde_json::from_value(o.clone()).ok()),
    })
}

/// Whether the router's rule reads: under its `ruleSyntax`, or, with none, under v3 or v2 (the
/// static `core.defaultRuleSyntax` is not known here; `table::compile` decides with it).
pub(super) fn rule_reads(router: &RouterConfig) -> Result<(), String> {
    match router.parse_rule() {
        Ok(_) => Ok(()),
        Err(_)
            if router.rule_syntax.is_none()
                && Rule::parse_with(&router.rule, crate::rules::Syntax::V2).is_ok() =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

impl Reader<'_> {
    pub(super) fn router(&mut self, name: &str, value: Value) {
        let key = ["http", "routers", name];
        match de::<RouterConfig>(value.clone()) {
            Ok(router) => match rule_reads(&router) {
                Ok(()) => {
                    self.out
                        .config
                        .http
                        .routers
                        .insert(name.to_string(), router);
                }
                Err(message) => {
                    self.issue(
                        Element::Router,
                        name,
                        &[&key[..], &["rule"]].concat(),
                        message,
                    );
                }
            },
            Err((path, message)) => {
                let at: Vec<&str> = key
                    .iter()
                    .copied()
                    .chain(path.iter().map(String::as_str))
                    .collect();
                match lenient_router(&value) {
                    Some(router) if rule_reads(&router).is_ok() => {
                        self.issue(
                            Element::Router,
                            name,
                            &at,
                            format!("{message}; router closed (answers 503)"),
                        );
                        self.out
                            .config
                            .invalid
                            .routers
                            .insert(name.to_string(), (router, "cannot be read".to_string()));
                    }
                    _ => self.issue(Element::Router, name, &at, message),
                }
            }
        }
    }
}
