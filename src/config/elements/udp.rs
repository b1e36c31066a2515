//! The `udp:` section, element by element: a router or service that does not read (an unknown
//! key, with the nearest valid one named; a server address that is not `host:port`; two kinds)
//! is reported and kept by name in `udp.invalid`, so the routers using it are closed; every other
//! element is kept. Pure.

use serde_json::Value;

use super::{de, did_you_mean, nearest, Reader};
use crate::config::udp::{self, UdpRouterConfig, UdpServiceConfig};
use crate::config::Element;

impl Reader<'_> {
    pub(super) fn udp(&mut self, value: Value) {
        for (key, value) in self.named(&["udp"], value) {
            let path = ["udp", key.as_str()];
            match key.as_str() {
                "routers" => {
                    for (name, v) in self.named(&path, value) {
                        self.udp_router(&name, v);
                    }
                }
                "services" => {
                    for (name, v) in self.named(&path, value) {
                        self.udp_service(&name, v);
                    }
                }
                other => {
                    let hint = did_you_mean(other, udp::SECTIONS);
                    self.issue(
                        Element::Source,
                        self.origin,
                        &path,
                        format!(
                            "unknown section `udp.{other}`{hint}: not read (UDP has routers and \
                             services)"
                        ),
                    );
                }
            }
        }
    }

    fn udp_router(&mut self, name: &str, value: Value) {
        let key = ["udp", "routers", name];
        match de::<UdpRouterConfig>(value.clone()) {
            Ok(router) => {
                self.out.config.udp.routers.insert(name.to_string(), router);
            }
            Err((path, message)) => {
                let at: Vec<&str> = key
                    .iter()
                    .copied()
                    .chain(path.iter().map(String::as_str))
                    .collect();
                let message = format!(
                    "{}; router closed (its datagrams are dropped)",
                    hint(&message)
                );
                self.issue(Element::UdpRouter, name, &at, message);
                let held = udp::lenient_router(&value);
                self.out
                    .config
                    .udp
                    .invalid
                    .routers
                    .insert(name.to_string(), (held, "cannot be read".to_string()));
            }
        }
    }

    fn udp_service(&mut self, name: &str, value: Value) {
        let key = ["udp", "services", name];
        let read = de::<UdpServiceConfig>(value).map_err(|(path, m)| (path, hint(&m)));
        let read = read.and_then(|s| match s.validate() {
            Ok(()) => Ok(s),
            Err(m) => Err((Vec::new(), m)),
        });
        match read {
            Ok(service) => {
                self.out
                    .config
                    .udp
                    .services
                    .insert(name.to_string(), service);
            }
            Err((path, message)) => {
                let at: Vec<&str> = key
                    .iter()
                    .copied()
                    .chain(path.iter().map(String::as_str))
                    .collect();
                self.issue(Element::UdpService, name, &at, message);
                self.out
                    .config
                    .udp
                    .invalid
                    .services
                    .insert(name.to_string(), "cannot be read".to_string());
            }
        }
    }
}

/// serde's "unknown field `adress`, expected `address`" with the nearest name said plainly
/// (`did you mean`), as for every other misspelt key.
fn hint(message: &str) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message.to_string();
    };
    let Some((word, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match nearest(word, &candidates) {
        Some(n) => format!("{message} (did you mean `{n}`?)"),
        None => message.to_string(),
    }
}
