//! Every problem of a configuration tree in one pass: the tree is deserialized, and on each
//! error the offending key is reported and taken out, then deserialized again, until it reads.
//! Used for swarmgate's own `--config` file (whose shape is `StaticConfig` itself, with
//! swarmgate's extensions) and for the best-effort configuration `check` goes on with after a
//! static error.
//!
//! Pure: works on a `serde_json::Value` and the file's text (for lines only).

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Source, StaticConfigError};

/// At most this many problems are collected (each one costs a deserialization of the tree).
const MAX_PROBLEMS: usize = 100;

/// Deserializes `tree`, collecting each problem (`file:line: key: message; did you mean …`) and
/// leaving its key out, until what remains reads. `None` only when even that fails (a problem
/// at the root). `text` is the file's text, for the lines.
pub(crate) fn deserialize_collecting<T: DeserializeOwned>(
    mut tree: Value,
    path: &Path,
    text: Option<&str>,
) -> (Option<T>, Vec<StaticConfigError>) {
    let mut problems = Vec::new();
    // Keys left out so far: a "missing field" below one of them is its consequence, not news.
    let mut removed: Vec<Vec<String>> = Vec::new();
    loop {
        let err = match serde_path_to_error::deserialize::<_, T>(&tree) {
            Ok(value) => return (Some(value), problems),
            Err(e) => e,
        };
        let mut at = Vec::new();
        let mut known = true;
        for segment in err.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => at.push(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => at.push(variant.clone()),
                serde_path_to_error::Segment::Seq { index } => at.push(index.to_string()),
                serde_path_to_error::Segment::Unknown => {
                    known = false;
                    break;
                }
            }
        }
        let message = err.inner().to_string();
        // serde names an unknown field in the message, its path is the enclosing section.
        let field = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_string());
        let missing = message.starts_with("missing field `");
        let key = match &field {
            Some(f) if at.last().is_none_or(|last| last != f) => {
                let mut k = at.clone();
                k.push(f.clone());
                k
            }
            _ => at.clone(),
        };
        let consequence = missing && removed.iter().any(|r| r.starts_with(&at));
        if !consequence {
            let line = text.and_then(|t| super::canon::line_of(t, &key));
            let shown = if key.is_empty() {
                super::file::with_suggestion(&message)
            } else {
                format!(
                    "{}: {}",
                    key.join("."),
                    super::file::with_suggestion(&message)
                )
            };
            problems.push(StaticConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column: None,
                message: shown,
            });
        }
        // What is left out: the unknown or bad key; for a missing field, its section.
        let target = if missing { at } else { key };
        if !known
            || target.is_empty()
            || problems.len() >= MAX_PROBLEMS
            || !remove(&mut tree, &target)
        {
            return (None, problems);
        }
        removed.push(target);
    }
}

/// Removes the value at `key` from `tree`; false when there is none.
fn remove(tree: &mut Value, key: &[String]) -> bool {
    let Some((last, parents)) = key.split_last() else {
        return false;
    };
    let mut node = tree;
    for seg in parents {
        node = match node {
            Value::Object(map) => match map.get_mut(seg) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(items) => match seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match node {
        Value::Object(map) => map.remove(last).is_some(),
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Reads a native configuration text (TOML or YAML by `path`'s extension) with every problem
/// at once: a syntax error is one error (nothing after it can be read); otherwise each bad key
/// is one item of [`StaticConfigError::Several`] (or the error itself when there is one).
pub(crate) fn parse_native<T: DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<(T, Vec<StaticConfigError>), StaticConfigError> {
    // Syntax first: the tree as a plain value.
    let tree: Value = super::file::parse_text(path, text)?;
    match deserialize_collecting::<T>(tree, path, Some(text)) {
        (Some(value), problems) => Ok((value, problems)),
        (None, mut problems) => {
            if problems.is_empty() {
                problems.push(StaticConfigError::Invalid {
                    origin: Source::Native(path.to_path_buf()),
                    message: "cannot be read as swarmgate's configuration".into(),
                });
            }
            Err(several(problems))
        }
    }
}

/// One error for a list of them.
pub(crate) fn several(mut problems: Vec<StaticConfigError>) -> StaticConfigError {
    if problems.len() == 1 {
        if let Some(one) = problems.pop() {
            return one;
        }
    }
    StaticConfigError::Several(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StaticConfig;

    #[test]
    fn native_reports_every_problem_with_key_line_and_suggestion() {
        let text = "\
[entryPoints.web]
adress = \":80\"

[entryPoints.websecure]
address = \":443\"
asDefualt = true

[providers.swarm]
exposedbydefualt = false
network = \"proxy\"

[api]
dashboard = \"maybe\"
";
        let (cfg, problems) = parse_native::<StaticConfig>(Path::new("sg.toml"), text).unwrap();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        let has = |prefix: &str, rest: &str| {
            assert!(
                shown
                    .iter()
                    .any(|s| s.starts_with(prefix) && s.contains(rest)),
                "{prefix} … {rest} not in {shown:#?}"
            )
        };
        has(
            "sg.toml:2: entryPoints.web.adress:",
            "did you mean `address`?",
        );
        has(
            "sg.toml:6: entryPoints.websecure.asDefualt:",
            "did you mean `asDefault`?",
        );
        has(
            "sg.toml:9: providers.swarm.exposedbydefualt:",
            "did you mean `exposedByDefault`?",
        );
        has("sg.toml:13: api.dashboard:", "invalid type");
        // The rest is read: what `check` goes on with.
        assert!(cfg.entry_points.contains_key("websecure"));
        assert!(!cfg.entry_points.contains_key("web"));
        let swarm = cfg.providers.swarm.unwrap();
        assert_eq!(swarm.network.as_deref(), Some("proxy"));
    }

    #[test]
    fn native_yaml_every_problem() {
        let text = "entryPoints:\n  web:\n    address: ':80'\n    bogus: 1\nlog:\n  levle: DEBUG\n";
        let (_, problems) = parse_native::<StaticConfig>(Path::new("sg.yml"), text).unwrap();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:#?}");
        assert!(
            shown[0].starts_with("sg.yml:4: entryPoints.web.bogus:"),
            "{shown:#?}"
        );
        assert!(shown[1].starts_with("sg.yml:6: log.levle:"), "{shown:#?}");
        assert!(shown[1].contains("did you mean `level`?"), "{shown:#?}");
    }

    #[test]
    fn a_clean_file_has_no_problem_and_syntax_errors_stop() {
        let (cfg, problems) =
            parse_native::<StaticConfig>(Path::new("a.toml"), "[entryPoints.a]\naddress=':1'\n")
                .unwrap();
        assert!(problems.is_empty());
        assert_eq!(cfg.entry_points["a"].address, ":1");
        assert!(parse_native::<StaticConfig>(Path::new("a.toml"), "x = = 1\n").is_err());
    }
}
