//! Configuration files: where Traefik looks for `traefik.yml|yaml|toml`, and reading YAML or
//! TOML (by extension) with errors that carry the file and the line/column the parser gives.
//!
//! The only I/O of `config::traefik`: `exists` checks and reading the one chosen file.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::StaticConfigError;

/// Traefik's search list: `traefik.toml`, `traefik.yaml` or `traefik.yml` (in that order, as
/// Traefik's finder tries them) in `/etc/traefik/`, `$XDG_CONFIG_HOME/`, `$HOME/.config/` and the
/// working directory, in that order.
pub fn default_locations(env: &[(String, String)], cwd: &Path) -> Vec<PathBuf> {
    let var = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut dirs = vec![PathBuf::from("/etc/traefik")];
    if let Some(xdg) = var("XDG_CONFIG_HOME") {
        dirs.push(PathBuf::from(xdg));
    }
    if let Some(home) = var("HOME") {
        dirs.push(Path::new(home).join(".config"));
    }
    dirs.push(cwd.to_path_buf());
    let mut out = Vec::new();
    for dir in dirs {
        for name in ["traefik.toml", "traefik.yaml", "traefik.yml"] {
            let p = dir.join(name);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The first existing file of [`default_locations`].
pub fn find_default_file(env: &[(String, String)], cwd: &Path) -> Option<PathBuf> {
    default_locations(env, cwd)
        .into_iter()
        .find(|p| p.is_file())
}

/// True for `.toml` files; everything else is read as YAML (a superset of JSON).
fn is_toml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Reads `path` and deserializes it as TOML or YAML (by extension).
pub fn read_file<T: DeserializeOwned>(path: &Path) -> Result<T, StaticConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| StaticConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_text(path, &text)
}

/// Deserializes `text` (the content of `path`) as TOML or YAML (by `path`'s extension). An empty
/// YAML document reads as an empty mapping.
pub fn parse_text<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, StaticConfigError> {
    let parse_err = |line, column, message: String| StaticConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    if is_toml(path) {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_col(text, s.start))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            parse_err(line, column, with_suggestion(e.message()))
        })
    } else {
        let text = if text.trim().is_empty() { "{}" } else { text };
        // Through a JSON value first: serde_yaml reads externally tagged enums (middleware types
        // in an inline `dynamic` section) only as YAML tags. On failure, parse directly for the
        // error's line and column.
        if let Ok(value) = crate::config::yaml::from_yaml::<T>(text) {
            return Ok(value);
        }
        serde_yaml::from_str(text).map_err(|e| {
            let loc = e.location();
            let message = e.to_string();
            // serde_yaml appends " at line L column C"; the location is reported separately.
            let message = match message.find(" at line ") {
                Some(i) if loc.is_some() => message[..i].to_string(),
                _ => message,
            };
            parse_err(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
                with_suggestion(&message),
            )
        })
    }
}

/// serde's "unknown field `exposedbydefualt`, expected one of `endpoint`, …" with the nearest
/// expected field added ("; did you mean `exposedByDefault`?") when it is near enough to be a typo.
pub(super) fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let lower = field.to_ascii_lowercase();
    let nearest = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|name| {
            (
                super::catalogue::distance(&lower, &name.to_ascii_lowercase()),
                name,
            )
        })
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= (lower.len() / 3).max(2));
    match nearest {
        Some((_, name)) => format!("{message}; did you mean `{name}`?"),
        None => message.to_string(),
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_get_the_nearest_expected_one() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        #[allow(dead_code)]
        struct Swarm {
            endpoint: Option<String>,
            exposed_by_default: Option<bool>,
        }
        for (name, text, line) in [
            ("sg.toml", "endpoint = \"x\"\nexposedbydefualt = false\n", 2),
            ("sg.yml", "endpoint: x\nexposedByDefualt: false\n", 2),
        ] {
            let err = parse_text::<Swarm>(Path::new(name), text).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("{name}:{line}:")), "{msg}");
            assert!(msg.ends_with("did you mean `exposedByDefault`?"), "{msg}");
        }
        let err = parse_text::<Swarm>(Path::new("a.toml"), "zzzzzzzzzz = 1\n").unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    #[test]
    fn line_col_is_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn default_locations_follow_traefik_order() {
        let env = vec![("HOME".to_string(), "/home/u".to_string())];
        let locs = default_locations(&env, Path::new("/srv"));
        let want: Vec<PathBuf> = [
            "/etc/traefik/traefik.toml",
            "/etc/traefik/traefik.yaml",
            "/etc/traefik/traefik.yml",
            "/home/u/.config/traefik.toml",
            "/home/u/.config/traefik.yaml",
            "/home/u/.config/traefik.yml",
            "/srv/traefik.toml",
            "/srv/traefik.yaml",
            "/srv/traefik.yml",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(locs, want);
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let err =
            parse_text::<serde_json::Value>(Path::new("a.toml"), "x = 1\ny = = 2\n").unwrap_err();
        match err {
            StaticConfigError::Parse { line, .. } => assert_eq!(line, Some(2)),
            other => panic!("unexpected {other}"),
        }
        let err = parse_text::<serde_json::Value>(Path::new("a.yml"), "a: 1\nb: [\n").unwrap_err();
        assert!(
            matches!(err, StaticConfigError::Parse { line: Some(_), .. }),
            "{err}"
        );
    }
}
