//! Traefik 3.7 dynamic (HTTP) options swarmgate does not implement. Each is refused with a message
//! that says so (rather than serde's "unknown field"): the service or middleware is not read, so
//! the routers that use it are closed (answer 503), never served without the option. Listed by
//! `swarmgate check --unsupported`.

use serde_json::Value;

/// `(key below http.services.<name>, what it is)`, as `check --unsupported` lists them.
pub const REFUSED_SERVICE_OPTIONS: &[(&str, &str)] = &[
    (
        "middlewares",
        "service-level middlewares on a service used inside a weighted, mirroring or failover \
         service (on a router's own service they are applied)",
    ),
    (
        "loadBalancer.strategy",
        "strategy leasttime (wrr, the default, p2c and hrw are supported)",
    ),
];

/// Traefik 3.7's strategies (`dynamic.BalancerStrategy*`); only `wrr` is implemented.
const STRATEGIES: &[&str] = &["wrr", "p2c", "hrw", "leasttime"];
/// The ones swarmgate implements (`balance::strategy`).
const IMPLEMENTED: &[&str] = &["", "wrr", "p2c", "hrw"];

/// Checks one `http.services.<name>` value before it is read. Returns the key path and message
/// of the first refused option.
pub fn check_service(value: &mut Value) -> Option<(Vec<String>, String)> {
    let Value::Object(service) = value else {
        return None;
    };
    let path = |keys: &[&str]| keys.iter().map(|k| (*k).to_string()).collect::<Vec<_>>();
    let refuse = |key: &str, what: &str| {
        format!(
            "{key}: Traefik 3.7 option not implemented by swarmgate ({what}); the service is \
             refused and its routers answer 503"
        )
    };
    let Some(Value::Object(lb)) = service.get_mut("loadBalancer") else {
        return None;
    };
    let at = path(&["loadBalancer", "strategy"]);
    match lb.get("strategy") {
        None => None,
        Some(Value::String(s)) if IMPLEMENTED.contains(&s.as_str()) => None,
        Some(Value::String(s)) if STRATEGIES.contains(&s.as_str()) => Some((
            at,
            refuse(
                &format!("loadBalancer.strategy `{s}`"),
                REFUSED_SERVICE_OPTIONS[1].1,
            ),
        )),
        Some(other) => Some((
            at,
            format!(
                "loadBalancer.strategy: unsupported load-balancer strategy {other} (Traefik's \
                 are {}; swarmgate implements wrr, p2c and hrw)",
                STRATEGIES.join(", ")
            ),
        )),
    }
}
