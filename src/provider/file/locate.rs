//! Finding the line of a key path in a dynamic-config file, for error messages.
//!
//! The parsers' values carry no positions, so the line is found again in the text: block-style
//! YAML by indentation, TOML by table headers and (dotted) keys. Best effort: `None` when the
//! key is written in a form these scanners do not follow (YAML flow maps, TOML inline tables
//! deeper than their first line).

/// The 1-based line where the YAML key path `path` is defined.
pub fn yaml_line(text: &str, path: &[&str]) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        let mut rest = trimmed;
        while let Some(item) = rest.strip_prefix("- ") {
            let item_trimmed = item.trim_start();
            indent += rest.len() - item_trimmed.len();
            rest = item_trimmed;
        }
        let Some(key) = yaml_key(rest) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        if stack.len() == path.len() && stack.iter().zip(path).all(|((_, k), p)| k == p) {
            return Some(n + 1);
        }
    }
    None
}

/// The key of a `key: value` (or `key:`) line, quotes removed.
fn yaml_key(s: &str) -> Option<String> {
    if let Some(quote @ ('"' | '\'')) = s.chars().next() {
        let end = s[1..].find(quote)? + 1;
        let after = s[end + 1..].trim_start();
        return after.starts_with(':').then(|| s[1..end].to_string());
    }
    let colon = s.find(": ").or_else(|| s.strip_suffix(':').map(str::len))?;
    let key = s[..colon].trim_end();
    (!key.is_empty() && !key.contains(' ')).then(|| key.to_string())
}

/// The 1-based line where the TOML key path `path` is defined (a table header or a key).
pub fn toml_line(text: &str, path: &[&str]) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    let mut table: Vec<String> = Vec::new();
    let starts =
        |full: &[String]| full.len() >= path.len() && full.iter().zip(path).all(|(a, b)| a == b);
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') {
            let inner = t.trim_start_matches('[');
            let inner = inner.split(']').next().unwrap_or("");
            table = dotted(inner);
            if starts(&table) {
                return Some(n + 1);
            }
            continue;
        }
        if let Some((key, _)) = t.split_once('=') {
            let mut full = table.clone();
            full.extend(dotted(key));
            if starts(&full) {
                return Some(n + 1);
            }
        }
    }
    None
}

fn dotted(key: &str) -> Vec<String> {
    key.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_yaml_keys_by_indentation() {
        let text = "http:\n  routers:\n    a:\n      rule: x\n    b:\n      service: s\n  services:\n    b:\n      loadBalancer: {}\n";
        assert_eq!(yaml_line(text, &["http", "routers", "b"]), Some(5));
        assert_eq!(
            yaml_line(text, &["http", "routers", "b", "service"]),
            Some(6)
        );
        assert_eq!(yaml_line(text, &["http", "services", "b"]), Some(8));
        assert_eq!(yaml_line(text, &["http", "middlewares"]), None);
        let quoted = "http:\n  routers:\n    \"my.router\":\n      rule: x\n";
        assert_eq!(
            yaml_line(quoted, &["http", "routers", "my.router"]),
            Some(3)
        );
    }

    #[test]
    fn finds_toml_tables_and_keys() {
        let text = "[http.routers.a]\nrule = \"x\"\n\n[http.routers.b]\nservice = \"s\"\n\n[http.middlewares]\nm.stripPrefix.prefixes = [\"/a\"]\n";
        assert_eq!(toml_line(text, &["http", "routers", "b"]), Some(4));
        assert_eq!(
            toml_line(text, &["http", "routers", "b", "service"]),
            Some(5)
        );
        assert_eq!(toml_line(text, &["http", "middlewares", "m"]), Some(8));
        assert_eq!(
            toml_line(text, &["http", "middlewares", "m", "stripPrefix"]),
            Some(8)
        );
    }
}
