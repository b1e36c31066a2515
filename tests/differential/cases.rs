//! The case-file format (`tests/differential/cases/*.yaml`, described in docs/differential.md):
//! one file is one group, served by one Traefik and one swarmgate process; each case in it gets
//! an entrypoint of its own, so cases never see each other's routers.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Where the cases come from (Traefik test file and function, or "own scenario").
    #[serde(default)]
    pub source: String,
    /// Echo backends by id; each becomes a service of the same name. Default: one `app`.
    #[serde(default)]
    pub backends: BTreeMap<String, BackendSpec>,
    /// Request headers (as the backend saw them) compared besides the defaults.
    #[serde(default)]
    pub seen_headers: Vec<String>,
    /// Response headers compared besides `Location`.
    #[serde(default)]
    pub response_headers: Vec<String>,
    /// Set when the real Traefik rejects this group's whole file (it does so for an empty or
    /// unknown middleware element): the harness then waits for Traefik's "Error while building
    /// configuration" log line instead of its sentinel router, and checks that Traefik serves
    /// no router at all, so the group records what each proxy serves beside the bad element.
    #[serde(default)]
    pub traefik_rejects_file: bool,
    /// Extra top-level dynamic configuration merged into the file as is (e.g. a `tcp:` section).
    #[serde(default)]
    pub dynamic: Option<Mapping>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// Status the backend answers (default 200).
    #[serde(default)]
    pub status: u16,
    /// Response headers the backend adds, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// A fixed response body instead of the echo JSON (what the backend saw is then unknown).
    #[serde(default)]
    pub body: Option<String>,
    /// Send no `Content-Type` (the echo JSON or `body` goes without one).
    #[serde(default)]
    pub no_content_type: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique within the group; the difference ids are `<group>/<case>/<request>`.
    pub id: String,
    /// The Traefik test (function and description) the case is taken from.
    #[serde(default)]
    pub from: String,
    /// Routers, middlewares, services of this case (Traefik's dynamic shape). A router without
    /// `entryPoints` is put on the case's own entrypoint.
    #[serde(default)]
    pub routers: Mapping,
    #[serde(default)]
    pub middlewares: Mapping,
    #[serde(default)]
    pub services: Mapping,
    /// Static options of the case's entrypoint, as `--entrypoints.<case>.<key>=<value>`.
    #[serde(default)]
    pub entrypoint: BTreeMap<String, String>,
    pub requests: Vec<Req>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Req {
    /// Label in the difference id; default `METHOD host target`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    /// `Host` header (default `localhost`); `null` sends none.
    #[serde(default = "default_host")]
    pub host: Option<String>,
    /// Request target written verbatim on the request line.
    #[serde(default = "default_path")]
    pub path: String,
    /// Extra headers: a name maps to one value or a list (sent as repeated lines), in order.
    #[serde(default)]
    pub headers: Mapping,
    #[serde(default)]
    pub body: Option<String>,
    /// A whole request written as is instead (`\r\n` line ends are added for bare `\n`).
    #[serde(default)]
    pub raw: Option<String>,
    /// The status Traefik's own unit test expects (informational: printed when the real binary
    /// answers otherwise).
    #[serde(default)]
    pub expect: Option<u16>,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_host() -> Option<String> {
    Some("localhost".to_string())
}

fn default_path() -> String {
    "/".to_string()
}

impl Req {
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        if self.raw.is_some() {
            return "raw".to_string();
        }
        format!(
            "{} {}{}",
            self.method,
            self.host.as_deref().unwrap_or("(no host)"),
            self.path
        )
    }

    /// The bytes sent to both proxies.
    pub fn bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes();
        }
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if let Some(host) = &self.host {
            head.push_str(&format!("Host: {host}\r\n"));
        }
        for (name, value) in &self.headers {
            let name = scalar(name);
            match value {
                Value::Sequence(values) => {
                    for v in values {
                        head.push_str(&format!("{name}: {}\r\n", scalar(v)));
                    }
                }
                v => head.push_str(&format!("{name}: {}\r\n", scalar(v))),
            }
        }
        if let Some(body) = &self.body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        if let Some(body) = &self.body {
            bytes.extend_from_slice(body.as_bytes());
        }
        bytes
    }
}

/// A YAML scalar as the text it stands for (`true` → "true", `8443` → "8443").
pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => serde_yaml::to_string(other).unwrap_or_default(),
    }
}

/// Known, deliberate or being-fixed differences sharing one reason (`expected_differences.yaml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub reason: String,
    /// Request ids (`group/case/request`) or case ids (`group/case`, covering its requests); a
    /// part that is exactly `*` stands for any group, case or request.
    pub ids: Vec<Listed>,
}

/// One id of an [`Expected`] entry.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Listed {
    pub id: String,
}

impl Listed {
    pub fn covers(&self, request_id: &str) -> bool {
        // Group names and case ids hold no `/`; request labels may, so at most three parts.
        let want: Vec<&str> = self.id.splitn(3, '/').collect();
        let got: Vec<&str> = request_id.splitn(3, '/').collect();
        want.len() >= 2
            && want.len() <= got.len()
            && want.iter().zip(&got).all(|(w, g)| *w == "*" || w == g)
    }
}

#[cfg(test)]
mod tests {
    use super::Listed;

    fn e(id: &str) -> Listed {
        Listed { id: id.to_string() }
    }

    #[test]
    fn ids_cover_a_request_a_case_or_a_pattern() {
        let id = "g/c/GET localhost/a/b";
        assert!(e("g/c/GET localhost/a/b").covers(id));
        assert!(e("g/c").covers(id));
        assert!(e("g/*/GET localhost/a/b").covers(id));
        assert!(e("g/*").covers(id));
        assert!(!e("g/c/GET localhost/a").covers(id));
        assert!(!e("g/cc").covers(id));
        assert!(!e("g").covers(id));
        assert!(!e("g/*/GET localhost/x").covers(id));
        assert!(e("g/startup").covers("g/startup"));
    }
}
