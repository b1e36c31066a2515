//! Traefik 3.7 dynamic (HTTP) options swarmgate does not implement. Each is refused with a message
//! that says so (rather than serde's "unknown field"): the service or middleware is not read, so
//! the routers that use it are closed (answer 503), never served without the option. Listed by
//! `swarmgate check --unsupported`.

use serde_json::Value;

/// `(key below http.services.<name>, what it is)`, as `check --unsupported` lists them.
pub const REFUSED_SERVICE_OPTIONS: &[(&str, &str)] = &[(
    "middlewares",
    "service-level middlewares on a service used inside a weighted, mirroring or failover \
         service (on a router's own service they are applied)",
)];

/// Traefik 3.7's strategies (`dynamic.BalancerStrategy*`), all implemented (`balance::strategy`);
/// an empty one is the default (`wrr`).
const STRATEGIES: &[&str] = &["wrr", "p2c", "hrw", "leasttime"];

/// Checks one `http.services.<name>` value before it is read. Returns the key path and message
/// of the first refused option (today: a strategy Traefik does not know, named with the list).
pub fn check_service(value: &mut Value) -> Option<(Vec<String>, String)> {
    let Value::Object(service) = value else {
        return None;
    };
    let Some(Value::Object(lb)) = service.get_mut("loadBalancer") else {
        return None;
    };
    let at = vec!["loadBalancer".to_string(), "strategy".to_string()];
    match lb.get("strategy") {
        None => None,
        Some(Value::String(s)) if s.is_empty() || STRATEGIES.contains(&s.as_str()) => None,
        Some(other) => Some((
            at,
            format!(
                "loadBalancer.strategy: unsupported load-balancer strategy {other} (Traefik's \
                 are {})",
                STRATEGIES.join(", ")
            ),
        )),
    }
}
