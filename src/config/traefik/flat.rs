//! Flat Traefik sources — command-line arguments and `TRAEFIK_*` environment variables — turned
//! into a raw `serde_json::Value` tree of strings, ready for `canon`. As in Traefik (paerser),
//! argument names keep their first spelling and are merged case-insensitively; environment
//! names are lowercased.
//!
//! Pure: the caller passes the arguments and the environment. List indices (`trustedIPs[0]`,
//! `DOMAINS_0_MAIN`) become `[n]` keys that `canon` turns into arrays.

use std::collections::HashMap;

use serde_json::{Map, Value};

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::catalogue;
use super::schema::{schema, Kind, Node, TRAEFIK_ROOTS};
use super::StaticConfigError;

/// A raw tree plus, for each raw path, how the user wrote the option (for reports).
#[derive(Debug, Default)]
pub(crate) struct Flat {
    pub tree: Value,
    pub written: HashMap<Vec<String>, String>,
}

impl Flat {
    /// How the option at `path` (or the first one below it) was written.
    pub(crate) fn written_at(&self, path: &[String]) -> Option<&str> {
        if let Some(w) = self.written.get(path) {
            return Some(w);
        }
        let mut below: Vec<(&Vec<String>, &String)> = self
            .written
            .iter()
            .filter(|(k, _)| k.starts_with(path))
            .collect();
        below.sort();
        below.first().map(|(_, w)| w.as_str())
    }

    /// Inserts `value` at `path`. Names are merged case-insensitively, keeping the first
    /// spelling (as Traefik's parser does); a list option given twice collects both values.
    fn insert(&mut self, path: Vec<String>, value: String, written: String) {
        if path.is_empty() {
            return;
        }
        if !self.tree.is_object() {
            self.tree = Value::Object(Map::new());
        }
        let mut actual = Vec::with_capacity(path.len());
        let mut cur = &mut self.tree;
        for seg in &path {
            if !cur.is_object() {
                // A section written as `true` and then given options: the options win.
                *cur = Value::Object(Map::new());
            }
            let Value::Object(map) = cur else { return };
            let key = map
                .keys()
                .find(|k| k.eq_ignore_ascii_case(seg))
                .cloned()
                .unwrap_or_else(|| seg.clone());
            actual.push(key.clone());
            cur = map.entry(key).or_insert(Value::Null);
        }
        let is_list = matches!(
            kind_at(&actual),
            Some(Node::Leaf(Kind::StrList | Kind::FloatList))
        );
        match cur {
            Value::String(old) if is_list => *old = format!("{old},{value}"),
            Value::Object(_) => {}
            _ => *cur = Value::String(value),
        }
        self.written.entry(actual).or_insert(written);
    }
}

/// The Traefik option name of an argument (`--entryPoints.web.address=:80` → `entrypoints.web.address`),
/// or `None` if it is not an option (`-` alone, a positional word).
fn option_name(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    let name = name.split('=').next().unwrap_or(name);
    name.chars()
        .next()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|_| name)
}

/// True if `args` contain at least one Traefik static option (`--entrypoints.…`, `--providers.…`,
/// `--api.insecure`, `--configFile=…`, any case).
pub fn looks_like_traefik_args(args: &[String]) -> bool {
    args.iter().filter_map(|a| option_name(a)).any(|name| {
        let root = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
        TRAEFIK_ROOTS.contains(&root.as_str())
    })
}

/// Splits `a.b[0].c` into `["a", "b", "[0]", "c"]`, keeping the user's case (Traefik's flag
/// parser keeps it: `--entryPoints.webSecure.address` defines the entrypoint `webSecure`).
fn split_dotted(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split('.') {
        match part.find('[') {
            Some(i) if i > 0 && part.ends_with(']') => {
                out.push(part[..i].to_string());
                out.push(part[i..].to_string());
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

/// The kind of the option at a raw path, if the schema knows it (to decide whether a bare flag
/// takes the next argument as its value).
fn kind_at(path: &[String]) -> Option<&'static Node> {
    let mut node = schema();
    for seg in path {
        node = match node {
            Node::Struct(_) => &node.field(seg)?.node,
            Node::Map(child) | Node::List(child) => child,
            Node::Leaf(_) => return None,
        };
    }
    Some(node)
}

/// Parses Traefik command-line arguments. `traefik` as the first word (how Traefik images are
/// often invoked) is skipped. Returns the raw tree and the `--configFile` value, if any.
pub(crate) fn parse_args(args: &[String]) -> Result<(Flat, Option<String>), StaticConfigError> {
    let mut flat = Flat::default();
    let mut config_file = None;
    let mut i = 0;
    if args.first().is_some_and(|a| a == "traefik") {
        i = 1;
    }
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(name) = option_name(arg) else {
            return Err(StaticConfigError::BadArgument {
                arg: arg.clone(),
                message: "expected an option such as --entrypoints.web.address=:80".into(),
            });
        };
        let path = split_dotted(name);
        let inline = arg.split_once('=').map(|(_, v)| v.to_string());
        let value = match inline {
            Some(v) => v,
            None => {
                let kind = kind_at(&path);
                let known_value = matches!(kind, Some(Node::Leaf(k)) if *k != Kind::Bool);
                let takes_value = known_value || kind.is_none();
                match args.get(i) {
                    Some(next) if takes_value && (known_value || !next.starts_with('-')) => {
                        i += 1;
                        next.clone()
                    }
                    _ => "true".to_string(),
                }
            }
        };
        if path.len() == 1 && path[0].eq_ignore_ascii_case("configfile") {
            config_file = Some(value);
            continue;
        }
        let written = format!("--{name}");
        flat.insert(path, value, written);
    }
    Ok((flat, config_file))
}

/// Splits the name of a `TRAEFIK_` variable (prefix removed) into raw path segments, guided by
/// the schema. Traefik lowercases the name and reads every `_` as a separator, so user-chosen
/// names (entrypoints, resolvers) cannot contain `_`. swarmgate does the same, except where
/// that would not parse: `ENTRYPOINTS_MY_WEB_ADDRESS` is read as entrypoint `my_web` when `web`
/// is not an option of an entrypoint and `address` is.
fn split_env(name: &str) -> Vec<String> {
    let segs: Vec<String> = name.split('_').map(|s| s.to_ascii_lowercase()).collect();
    let mut out = Vec::new();
    let mut node = Some(schema());
    let mut i = 0;
    while i < segs.len() {
        match node {
            Some(Node::Struct(_)) => {
                let n = node.and_then(|n| n.field(&segs[i]));
                node = n.map(|f| &f.node);
                out.push(segs[i].clone());
                i += 1;
            }
            Some(Node::Map(child)) => {
                let is_field = |s: &String| child.field(s).is_some();
                let end = (i..segs.len() - 1)
                    .find(|&j| is_field(&segs[j + 1]))
                    .filter(|&j| j == i || !is_field(&segs[i + 1]))
                    .unwrap_or(i);
                out.push(segs[i..=end].join("_"));
                node = Some(child);
                i = end + 1;
            }
            Some(Node::List(child)) => {
                if segs[i].bytes().all(|b| b.is_ascii_digit()) {
                    out.push(format!("[{}]", segs[i]));
                } else {
                    out.push(segs[i].clone());
                }
                node = Some(child);
                i += 1;
            }
            Some(Node::Leaf(_)) | None => {
                if segs[i].bytes().all(|b| b.is_ascii_digit()) && node.is_some() {
                    out.push(format!("[{}]", segs[i]));
                } else {
                    out.push(segs[i].clone());
                }
                i += 1;
            }
        }
    }
    out
}

/// The `TRAEFIK_*` variables that belong to Traefik's static configuration (first segment a
/// Traefik root option, any case), as Traefik selects them.
pub(crate) fn traefik_env(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter()
        .filter_map(|(k, v)| {
            let rest = k.get(..8).filter(|p| p.eq_ignore_ascii_case("TRAEFIK_"))?;
            let rest = &k[rest.len()..];
            let root = rest.split('_').next().unwrap_or(rest).to_ascii_lowercase();
            TRAEFIK_ROOTS
                .contains(&root.as_str())
                .then_some((rest, v.as_str()))
        })
        .collect()
}

/// Parses `TRAEFIK_*` variables. Returns the raw tree and `TRAEFIK_CONFIGFILE`, if set.
/// `TRAEFIK_<OPTION>_FILE=path` (any option, as Docker secrets are used) sets `<OPTION>` to the
/// content of the file, its trailing newline removed; a variable whose whole name is a Traefik
/// option (`TRAEFIK_PROVIDERS_FILE`) keeps its meaning.
pub(crate) fn parse_env(
    env: &[(String, String)],
) -> Result<(Flat, Option<String>), StaticConfigError> {
    let mut flat = Flat::default();
    let mut config_file = None;
    for (name, value) in traefik_env(env) {
        let mut path = split_env(name);
        if path.len() == 1 && path[0] == "configfile" {
            config_file = Some(value.to_string());
            continue;
        }
        let secret = name.len() > 5
            && name[name.len() - 5..].eq_ignore_ascii_case("_FILE")
            && !catalogue::is_exact(&path);
        let value = if secret {
            path = split_env(&name[..name.len() - 5]);
            read_secret(&format!("TRAEFIK_{name}"), Path::new(value))?
        } else {
            value.to_string()
        };
        flat.insert(path, value, format!("TRAEFIK_{name}"));
    }
    Ok((flat, config_file))
}

/// The content of a secret file named by `var`, without its trailing newline. Refused when the
/// file is missing or readable by every user (a secret must not be: mount Docker secrets with
/// `mode: 0400`).
fn read_secret(var: &str, path: &Path) -> Result<String, StaticConfigError> {
    let err = |message: String| StaticConfigError::Secret {
        var: var.to_string(),
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    let mode = meta.permissions().mode();
    if mode & 0o004 != 0 {
        return Err(err(format!(
            "readable by every user (mode {:o}); a secret must not be: `chmod o-r`, or `mode: 0400` \
             for a Docker secret",
            mode & 0o777
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_dotted_names_with_indices() {
        assert_eq!(
            split_dotted("entryPoints.web.forwardedHeaders.trustedIPs[0]"),
            strings(&[
                "entryPoints",
                "web",
                "forwardedHeaders",
                "trustedIPs",
                "[0]"
            ])
        );
        assert_eq!(
            split_dotted("a.domains[1].main"),
            strings(&["a", "domains", "[1]", "main"])
        );
    }

    #[test]
    fn splits_env_names_guided_by_schema() {
        let cases: &[(&str, &[&str])] = &[
            (
                "ENTRYPOINTS_WEB_ADDRESS",
                &["entrypoints", "web", "address"],
            ),
            (
                "ENTRYPOINTS_MY_WEB_ADDRESS",
                &["entrypoints", "my_web", "address"],
            ),
            ("ENTRYPOINTS_WEB", &["entrypoints", "web"]),
            (
                "ENTRYPOINTS_WEBSECURE_HTTP_TLS_DOMAINS_0_MAIN",
                &[
                    "entrypoints",
                    "websecure",
                    "http",
                    "tls",
                    "domains",
                    "[0]",
                    "main",
                ],
            ),
            (
                "CERTIFICATESRESOLVERS_LE_ACME_HTTPCHALLENGE_ENTRYPOINT",
                &[
                    "certificatesresolvers",
                    "le",
                    "acme",
                    "httpchallenge",
                    "entrypoint",
                ],
            ),
            (
                "PROVIDERS_SWARM_FOO_BAR",
                &["providers", "swarm", "foo", "bar"],
            ),
        ];
        for (name, want) in cases {
            assert_eq!(split_env(name), strings(want), "{name}");
        }
    }

    #[test]
    fn args_take_values_inline_or_next_and_bare_flags_are_true() {
        let args = strings(&[
            "traefik",
            "--entryPoints.web.address",
            ":80",
            "--api.insecure",
            "--providers.docker",
            "--log.level=DEBUG",
            "--configFile",
            "/x.yml",
        ]);
        let (flat, file) = parse_args(&args).unwrap();
        assert_eq!(file.as_deref(), Some("/x.yml"));
        assert_eq!(
            flat.tree,
            serde_json::json!({
                "entryPoints": {"web": {"address": ":80"}},
                "api": {"insecure": "true"},
                "providers": {"docker": "true"},
                "log": {"level": "DEBUG"},
            })
        );
        assert_eq!(
            flat.written_at(&strings(&["api", "insecure"])),
            Some("--api.insecure")
        );
    }

    #[test]
    fn names_merge_case_insensitively_and_repeated_lists_collect() {
        let args = strings(&[
            "--entryPoints.webSecure.address=:443",
            "--entrypoints.websecure.forwardedheaders.trustedips=10.0.0.0/8",
            "--entrypoints.websecure.forwardedheaders.trustedips=192.168.0.0/16",
        ]);
        let (flat, _) = parse_args(&args).unwrap();
        assert_eq!(
            flat.tree,
            serde_json::json!({"entryPoints": {"webSecure": {
                "address": ":443",
                "forwardedheaders": {"trustedips": "10.0.0.0/8,192.168.0.0/16"},
            }}})
        );
    }

    #[test]
    fn positional_words_are_rejected() {
        let err = parse_args(&strings(&["--api.insecure", "nonsense", "words"])).unwrap_err();
        assert!(err.to_string().contains("words") || err.to_string().contains("nonsense"));
    }

    #[test]
    fn detects_traefik_arguments() {
        assert!(looks_like_traefik_args(&strings(&[
            "--entrypoints.web.address=:80"
        ])));
        assert!(looks_like_traefik_args(&strings(&["--configFile=/t.yml"])));
        assert!(looks_like_traefik_args(&strings(&["--API.insecure"])));
        assert!(!looks_like_traefik_args(&strings(&["--config", "x.toml"])));
        assert!(!looks_like_traefik_args(&strings(&["run", "--verbose"])));
    }

    #[test]
    fn selects_only_traefik_static_env() {
        let env = vec![
            ("TRAEFIK_API_INSECURE".to_string(), "true".to_string()),
            ("traefik_log_level".to_string(), "INFO".to_string()),
            ("TRAEFIK_VERSION".to_string(), "3".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        let got = traefik_env(&env);
        assert_eq!(got, vec![("API_INSECURE", "true"), ("log_level", "INFO")]);
    }
}
