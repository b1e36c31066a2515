//! Label keys as a tree: `traefik.http.routers.api.tls.domains[0].main=x` becomes nested nodes
//! `http → routers → api → tls → domains → [0] → main` holding `x`.
//!
//! Owns only the key syntax (dots, `[n]` indices, the `traefik.` / `swarmgate.` prefixes); what the
//! keys mean is decided by the callers. Pure.

use std::collections::BTreeMap;

/// Label prefixes swarmgate reads, in application order: a `swarmgate.` key overrides the same
/// `traefik.` key.
pub(crate) const PREFIXES: [&str; 2] = ["traefik.", "swarmgate."];

/// One node of the label tree. A node may hold both a value and children
/// (`tls=true` next to `tls.certresolver=le`); children win where both matter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub value: Option<String>,
    /// Keyed by the segment as written (names keep their case).
    pub children: BTreeMap<String, Node>,
}

impl Node {
    /// Builds the tree of every label under one of [`PREFIXES`] (prefix matched case-insensitively,
    /// stripped). The first two segments (`http`, `routers`, …) are lower-cased; names keep their case.
    pub(crate) fn from_labels(labels: &BTreeMap<String, String>) -> Node {
        let mut root = Node::default();
        for prefix in PREFIXES {
            for (key, value) in labels {
                let Some(rest) = strip_prefix_ci(key, prefix) else {
                    continue;
                };
                let mut path = split_key(rest);
                for seg in path.iter_mut().take(2) {
                    *seg = seg.to_ascii_lowercase();
                }
                root.insert_at(&path, value.clone());
            }
        }
        root
    }

    #[cfg(test)]
    pub(crate) fn insert(&mut self, path: &[String], value: String) {
        self.insert_at(path, value);
    }

    /// Inserts below this node. Keys match ignoring ASCII case, as in
    /// Traefik's label parser (paerser's `DecodeToNode`), element names (`http.routers.<name>`)
    /// included: `routers.Mixed.rule` and `routers.mixed.service` describe one router. The
    /// spelling that comes first in byte order of the whole label key names it (paerser sorts
    /// the keys and keeps the first node's name); for a leaf written twice, the last wins.
    fn insert_at(&mut self, path: &[String], value: String) {
        let Some((head, rest)) = path.split_first() else {
            self.value = Some(value);
            return;
        };
        let existing = self
            .children
            .keys()
            .find(|k| k.eq_ignore_ascii_case(head) && *k != head)
            .cloned();
        let key = existing.unwrap_or_else(|| head.clone());
        self.children.entry(key).or_default().insert_at(rest, value);
    }

    /// The child whose key equals `name` ignoring ASCII case.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Removes and returns the child whose key equals `name` ignoring ASCII case.
    pub(crate) fn take_child(&mut self, name: &str) -> Option<Node> {
        let key = self
            .children
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))?
            .clone();
        self.children.remove(&key)
    }

    /// Removes the node at dotted `path` (segments matched ignoring ASCII case) and prunes the
    /// parents it leaves empty; returns the removed node.
    pub(crate) fn remove_path(&mut self, path: &[&str]) -> Option<Node> {
        let (head, rest) = path.split_first()?;
        if rest.is_empty() {
            return self.take_child(head);
        }
        let key = self
            .children
            .keys()
            .find(|k| k.eq_ignore_ascii_case(head))?
            .clone();
        let child = self.children.get_mut(&key)?;
        let removed = child.remove_path(rest);
        if child.children.is_empty() && child.value.is_none() {
            self.children.remove(&key);
        }
        removed
    }

    pub(crate) fn has_child(&self, name: &str) -> bool {
        self.child(name).is_some()
    }

    /// A leaf value (`None` when the node only has children).
    pub(crate) fn leaf(&self) -> Option<&str> {
        if self.children.is_empty() {
            Some(self.value.as_deref().unwrap_or(""))
        } else {
            None
        }
    }
}

fn strip_prefix_ci<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let head = key.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &key[prefix.len()..])
}

/// Splits `a.b[0].c` into `a`, `b`, `[0]`, `c`.
pub(crate) fn split_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            let Some(close) = rest[open..].find(']').map(|c| open + c) else {
                break;
            };
            if open > 0 {
                out.push(rest[..open].to_string());
            }
            out.push(rest[open..=close].to_string());
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() || part.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// Joins a path back into label notation (`[n]` segments attach without a dot).
pub(crate) fn join_key(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path.iter().filter(|s| !s.is_empty()) {
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

/// Go's `strconv.ParseBool`, which Traefik uses for label booleans.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join() {
        let cases = [
            ("a.b.c", vec!["a", "b", "c"]),
            ("tls.domains[0].main", vec!["tls", "domains", "[0]", "main"]),
            ("x[1][2]", vec!["x", "[1]", "[2]"]),
            ("a.b.", vec!["a", "b", ""]),
        ];
        for (key, want) in cases {
            let got = split_key(key);
            assert_eq!(got, want, "{key}");
            assert_eq!(join_key(&got), key.trim_end_matches('.'));
        }
    }

    #[test]
    fn prefixes_and_override() {
        let labels: BTreeMap<String, String> = [
            ("Traefik.HTTP.Routers.Api.rule", "Host(`a`)"),
            ("swarmgate.http.routers.Api.rule", "Host(`b`)"),
            ("traefik.http.routers.Api.tls", "true"),
            ("traefik.http.routers.Api.tls.certresolver", "le"),
            ("com.docker.stack.namespace", "s"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let root = Node::from_labels(&labels);
        assert_eq!(root.children.len(), 1);
        let api = root
            .child("http")
            .and_then(|h| h.child("routers"))
            .and_then(|r| r.children.get("Api"))
            .unwrap();
        assert_eq!(
            api.child("rule").unwrap().value.as_deref(),
            Some("Host(`b`)")
        );
        let tls = api.child("tls").unwrap();
        assert_eq!(tls.value.as_deref(), Some("true"));
        assert_eq!(tls.leaf(), None);
        assert_eq!(tls.child("CERTRESOLVER").unwrap().leaf(), Some("le"));
    }

    #[test]
    fn remove_path_prunes_empty_parents() {
        let mut root = Node::default();
        root.insert(&split_key("lb.hc.mode"), "grpc".into());
        root.insert(&split_key("lb.port"), "80".into());
        assert!(root.remove_path(&["LB", "HC", "mode"]).is_some());
        let lb = root.child("lb").unwrap();
        assert!(!lb.has_child("hc"));
        assert!(lb.has_child("port"));
        assert!(root.remove_path(&["lb", "nope"]).is_none());
    }

    #[test]
    fn go_bools() {
        for (s, want) in [
            ("true", Some(true)),
            ("1", Some(true)),
            ("F", Some(false)),
            ("yes", None),
        ] {
            assert_eq!(parse_bool(s), want, "{s}");
        }
    }
}
