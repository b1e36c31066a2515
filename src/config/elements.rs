//! Reading a dynamic configuration element by element, so one bad element never empties its file.
//!
//! A document (a file of the file provider, the inline `dynamic` section of the static
//! configuration) is first read as a plain JSON value, then each router, service, middleware,
//! serversTransport and TLS entry is deserialized and validated on its own. A bad element becomes
//! a [`ConfigIssue`] naming it, its key and (when the caller can locate it) its line, and is
//! recorded in [`DynamicConfig::invalid`] so that whatever uses it fails closed when the table
//! compiles; every other element is kept. Elements swarmgate does not implement (a `plugin`
//! middleware) are such bad elements; `tcp:` and `udp:` are read by `elements/tcp.rs` and
//! `elements/udp.rs`. A router that cannot be read
//! but whose rule can is kept as a closed route (`Invalid::routers`); a router whose rule does not
//! parse has nothing to hold and is only reported.
//!
//! Pure: no I/O. Traefik ignores unknown top-level keys and rejects a whole directory for one
//! unknown field; swarmgate reports both per element (see README, "bad input").
//!
//! This file reads the document's sections, services, middlewares and serversTransports;
//! `routers.rs`, `tls.rs` and `unimplemented.rs` read theirs, `inline.rs` is the static
//! configuration's `dynamic` section, `suggest.rs` the nearest name for a misspelt one.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::dynamic::{DynamicConfig, ServersTransportConfig, ServiceConfig};
use super::{ConfigIssue, Element};
use crate::config::middleware::MiddlewareConfig;

mod inline;
mod routers;
mod suggest;
mod tcp;
mod tls;
mod udp;
pub mod unimplemented;

pub use inline::{check_middlewares, deserialize_inline, INLINE_ORIGIN};
use suggest::did_you_mean;
pub use suggest::nearest;

/// Finds the line (1-based) of a key path (`["http", "routers", "api"]`) in the source text.
pub type Locate<'a> = &'a dyn Fn(&[&str]) -> Option<usize>;

/// Checks a middleware that deserialized (its regexes compile, its status codes are valid, …):
/// the message of `Err` becomes the element's issue. `config/` cannot compile a middleware (that
/// is `middleware/`, a floor up), so the wiring passes `Middleware::validate` in (`app.rs`); see
/// [`accept`] for readers that have none.
pub type Check = fn(&MiddlewareConfig) -> Result<(), String>;

/// The check of a reader that has no compiler at hand (tests of the floors below `middleware/`,
/// the inline section serde reads): every middleware that deserializes passes. Nothing is lost
/// by it: the table compiles every middleware and closes the routers of one that fails; the
/// wiring runs the real check over the inline section with [`check_middlewares`].
pub fn accept(_: &MiddlewareConfig) -> Result<(), String> {
    Ok(())
}

/// What [`read`] made of one document.
#[derive(Debug, Default)]
pub struct Reading {
    /// The good elements, and the names of the bad ones in `config.invalid`.
    pub config: DynamicConfig,
    pub issues: Vec<ConfigIssue>,
    /// The document is not a dynamic configuration at all (no `http`, `tcp`, `udp` or `tls`
    /// section, nor a misspelling of one): a compose file left beside the rules. Nothing was read.
    pub not_dynamic: bool,
}

const TOP: &[&str] = &["http", "tcp", "udp", "tls"];
const HTTP: &[&str] = &["routers", "services", "middlewares", "serversTransports"];
const TLS: &[&str] = &["certificates", "options", "stores"];
/// Middleware types swarmgate implements (Traefik's names).
pub const MIDDLEWARE_TYPES: &[&str] = &[
    "addPrefix",
    "basicAuth",
    "buffering",
    "chain",
    "circuitBreaker",
    "compress",
    "contentType",
    "digestAuth",
    "encodedCharacters",
    "errors",
    "forwardAuth",
    "grpcWeb",
    "headers",
    "inFlightReq",
    "ipAllowList",
    "ipWhiteList",
    "passTLSClientCert",
    "rateLimit",
    "redirectRegex",
    "redirectScheme",
    "replacePath",
    "replacePathRegex",
    "retry",
    "stripPrefix",
    "stripPrefixRegex",
];
/// Traefik v3 middleware types swarmgate does not implement: their users are closed.
pub const TRAEFIK_ONLY_MIDDLEWARES: &[&str] = &["plugin"];

/// Reads one document; `origin` names it in the issues (a file path, `static config`), `check`
/// validates each middleware that deserialized.
pub fn read(doc: Value, origin: &str, locate: Locate<'_>, check: Check) -> Reading {
    let mut r = Reader {
        origin,
        locate,
        check,
        out: Reading::default(),
    };
    match doc {
        Value::Null => {}
        Value::Object(top) => r.top(top),
        other => r.issue(
            Element::Source,
            origin,
            &[],
            format!(
                "a dynamic configuration is a map of sections, found {}",
                kind(&other)
            ),
        ),
    }
    r.out
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Deserializes one element; the error carries the key path inside the element.
fn de<T: DeserializeOwned>(v: Value) -> Result<T, (Vec<String>, String)> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let mut path = Vec::new();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => path.push(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => path.push(variant.clone()),
                serde_path_to_error::Segment::Seq { index } => path.push(index.to_string()),
                serde_path_to_error::Segment::Unknown => break,
            }
        }
        let at = e.path().to_string();
        let message = if at == "." {
            e.inner().to_string()
        } else {
            format!("{at}: {}", e.inner())
        };
        (path, message)
    })
}

struct Reader<'a> {
    origin: &'a str,
    locate: Locate<'a>,
    check: Check,
    out: Reading,
}

impl Reader<'_> {
    /// Records an issue at `key` (a path of the document), with its line when it can be found.
    fn issue(&mut self, element: Element, name: &str, key: &[&str], message: String) {
        let line = (1..=key.len()).rev().find_map(|n| (self.locate)(&key[..n]));
        let message = match line {
            Some(line) => format!("line {line}: {message}"),
            None => message,
        };
        let mut issue = ConfigIssue::new(element, name, message).with_origin(self.origin);
        if !key.is_empty() {
            issue = issue.with_key(key.join("."));
        }
        self.out.issues.push(issue);
    }

    fn top(&mut self, top: Map<String, Value>) {
        let known = top.keys().any(|k| TOP.contains(&k.as_str()));
        let misspelt = top.keys().any(|k| nearest(k, TOP).is_some());
        if !top.is_empty() && !known && !misspelt {
            let keys: Vec<&str> = top.keys().map(String::as_str).collect();
            self.out.not_dynamic = true;
            self.out.issues.push(
                ConfigIssue::new(
                    Element::Source,
                    self.origin,
                    format!(
                        "not a dynamic configuration (top-level keys {}; expected http, tcp, udp \
                         or tls): file skipped",
                        keys.join(", ")
                    ),
                )
                .with_origin(self.origin)
                .as_warning(),
            );
            return;
        }
        for (key, value) in top {
            match key.as_str() {
                "http" => self.http(value),
                "tls" => self.tls(value),
                "tcp" => self.tcp(value),
                "udp" => self.udp(value),
                other => {
                    let hint = did_you_mean(other, TOP);
                    let before = self.out.issues.len();
                    self.issue(
                        Element::Source,
                        self.origin,
                        &[other],
                        format!("unknown section `{other}`{hint}: not read"),
                    );
                    // A misspelt section is an error; any other key (a YAML anchor holder such
                    // as `x-defaults`) is ignored as Traefik ignores it, with a warning.
                    if nearest(other, TOP).is_none() {
                        for issue in &mut self.out.issues[before..] {
                            issue.warning = true;
                        }
                    }
                }
            }
        }
    }

    /// A section's map of named elements; anything else is reported.
    fn named(&mut self, key: &[&str], value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                let message = format!("expected a map of named elements, found {}", kind(&other));
                self.issue(Element::Source, self.origin, key, message);
                Map::new()
            }
        }
    }

    fn http(&mut self, value: Value) {
        for (key, value) in self.named(&["http"], value) {
            let path = ["http", key.as_str()];
            match key.as_str() {
                "routers" => {
                    for (name, v) in self.named(&path, value) {
                        self.router(&name, v);
                    }
                }
                "services" => {
                    for (name, v) in self.named(&path, value) {
                        self.service(&name, v);
                    }
                }
                "middlewares" => {
                    for (name, v) in self.named(&path, value) {
                        self.middleware(&name, v);
                    }
                }
                "serversTransports" => {
                    for (name, v) in self.named(&path, value) {
                        self.servers_transport(&name, v);
                    }
                }
                other => {
                    let hint = did_you_mean(other, HTTP);
                    self.issue(
                        Element::Source,
                        self.origin,
                        &path,
                        format!("unknown section `http.{other}`{hint}: not read"),
                    );
                }
            }
        }
    }

    fn service(&mut self, name: &str, mut value: Value) {
        let read = match unimplemented::check_service(&mut value) {
            Some(refused) => Err(refused),
            None => de::<ServiceConfig>(value),
        };
        match read {
            Ok(service) => {
                self.out
                    .config
                    .http
                    .services
                    .insert(name.to_string(), service);
            }
            Err((path, message)) => {
                let at: Vec<&str> = ["http", "services", name]
                    .into_iter()
                    .chain(path.iter().map(String::as_str))
                    .collect();
                self.issue(Element::Service, name, &at, message);
                self.out
                    .config
                    .invalid
                    .services
                    .insert(name.to_string(), "cannot be read".to_string());
            }
        }
    }

    fn middleware(&mut self, name: &str, value: Value) {
        let key = ["http", "middlewares", name];
        let reject = |r: &mut Self, at: &[&str], message: String, reason: &str| {
            r.issue(Element::Middleware, name, at, message);
            r.out
                .config
                .invalid
                .middlewares
                .insert(name.to_string(), reason.to_string());
        };
        let kinds: Vec<String> = match &value {
            Value::Object(map) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let [kind] = kinds.as_slice() else {
            let message = if kinds.is_empty() {
                format!(
                    "expected a map with one middleware type, found {}",
                    kind(&value)
                )
            } else {
                format!("more than one middleware type: {}", kinds.join(", "))
            };
            return reject(self, &key, message, "cannot be read");
        };
        let at: Vec<&str> = key.iter().copied().chain([kind.as_str()]).collect();
        if !MIDDLEWARE_TYPES.contains(&kind.as_str()) {
            if TRAEFIK_ONLY_MIDDLEWARES.contains(&kind.as_str()) {
                // A plugin is named: `plugin: {sablier: {...}}`.
                let plugins: Vec<String> = value
                    .get(kind.as_str())
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(|k| format!("`{k}`")).collect())
                    .unwrap_or_default();
                let what = match plugins.is_empty() {
                    true => format!("middleware type `{kind}`"),
                    false => format!(
                        "middleware type `{kind}` (Traefik plugin {})",
                        plugins.join(", ")
                    ),
                };
                let message = format!(
                    "{what} is not supported by swarmgate; the routers using it are closed \
                     (answer 503), every other router is served"
                );
                return reject(self, &at, message, "is of an unsupported type");
            }
            // A type added to `MiddlewareConfig` after this list was written still reads.
            if de::<MiddlewareConfig>(value.clone()).is_err() {
                let mut known: Vec<&str> = MIDDLEWARE_TYPES.to_vec();
                known.extend(TRAEFIK_ONLY_MIDDLEWARES);
                let hint = did_you_mean(kind, &known);
                let message = format!("unknown middleware type `{kind}`{hint}");
                return reject(self, &at, message, "is of an unknown type");
            }
        }
        let cfg = match de::<MiddlewareConfig>(value) {
            Ok(cfg) => cfg,
            Err((path, message)) => {
                let at: Vec<&str> = key
                    .iter()
                    .copied()
                    .chain(path.iter().map(String::as_str))
                    .collect();
                return reject(self, &at, message, "cannot be read");
            }
        };
        if let Err(message) = (self.check)(&cfg) {
            return reject(self, &at, message, "is invalid");
        }
        self.out
            .config
            .http
            .middlewares
            .insert(name.to_string(), cfg);
    }

    fn servers_transport(&mut self, name: &str, value: Value) {
        match de::<ServersTransportConfig>(value) {
            Ok(t) => {
                self.out
                    .config
                    .http
                    .servers_transports
                    .insert(name.to_string(), t);
            }
            Err((path, message)) => {
                let at: Vec<&str> = ["http", "serversTransports", name]
                    .into_iter()
                    .chain(path.iter().map(String::as_str))
                    .collect();
                self.issue(Element::ServersTransport, name, &at, message);
                self.out
                    .config
                    .invalid
                    .servers_transports
                    .insert(name.to_string(), "cannot be read".to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests;
