//! Canonicalisation: a raw tree (from a file, or from arguments/environment via `flat`) is
//! walked against the schema; keys are matched case-insensitively and renamed to Traefik's
//! camelCase, strings are converted to the kinds the schema gives, unknown keys are collected
//! as unsupported and accepted-but-ignored options are reported.
//!
//! Pure. Wrong values are errors naming the key and the value. A key the schema does not know is
//! looked up in Traefik's catalogue (`catalogue`): a Traefik option swarmgate does not implement
//! is unsupported (refused when leaving it out would weaken protection), anything else is an
//! unknown option, reported with the nearest known one.

use serde_json::{Map, Number, Value};

use super::catalogue::{self, Known};
use super::schema::{Kind, Node, Status};
use super::{Source, StaticConfigError, UnsupportedOption};

/// Collects reports while walking one source.
pub(crate) struct Canon<'a> {
    pub source: &'a Source,
    /// How the option at a raw path was written (arguments/environment); `None` for files.
    pub written: &'a dyn Fn(&[String]) -> Option<String>,
    pub unsupported: Vec<UnsupportedOption>,
    pub ignored: Vec<UnsupportedOption>,
    /// Traefik v2 spellings applied under their v3 names (one notice each).
    pub deprecated: Vec<UnsupportedOption>,
    /// Not Traefik options (typos), and unsupported options that protect: both refused.
    pub refused: Vec<UnsupportedOption>,
    /// The text of the configuration file, to give the line of a report.
    pub text: Option<&'a str>,
    /// Invalid values and missing required options, all of them (the walk goes on past each).
    pub errors: Vec<StaticConfigError>,
}

impl Canon<'_> {
    pub(crate) fn report(&self, key: &[String], raw: &[String], reason: &str) -> UnsupportedOption {
        UnsupportedOption {
            key: key.join("."),
            written: (self.written)(raw).unwrap_or_else(|| key.join(".")),
            source: self.source.clone(),
            line: self.text.and_then(|t| line_of(t, raw)),
            reason: reason.to_string(),
        }
    }

    /// Sorts an option the schema does not know (and everything below it): not a Traefik option
    /// (refused, with a suggestion), or a Traefik option swarmgate does not implement
    /// (unsupported; refused when it protects). One report per option.
    fn classify(&mut self, raw: &Value, key: &mut Vec<String>, raw_path: &mut Vec<String>) {
        if let Some(reason) = plugin_reason(key, raw) {
            let report = self.report(key, raw_path, &reason);
            self.unsupported.push(report);
            return;
        }
        match catalogue::lookup(key) {
            Known::No => {
                let reason = match catalogue::suggest(key) {
                    Some(s) => format!("not a Traefik option; did you mean `{s}`?"),
                    None => "not a Traefik option".to_string(),
                };
                let report = self.report(key, raw_path, &reason);
                self.refused.push(report);
            }
            Known::Section if matches!(raw, Value::Object(m) if !m.is_empty()) => {
                if let Value::Object(map) = raw {
                    for (k, v) in map {
                        key.push(k.clone());
                        raw_path.push(k.clone());
                        self.classify(v, key, raw_path);
                        key.pop();
                        raw_path.pop();
                    }
                }
            }
            Known::Section if matches!(raw, Value::Array(_)) => {
                if let Value::Array(items) = raw {
                    for (i, v) in items.iter().enumerate() {
                        key.push(format!("[{i}]"));
                        raw_path.push(i.to_string());
                        self.classify(v, key, raw_path);
                        key.pop();
                        raw_path.pop();
                    }
                }
            }
            Known::Section | Known::Option => {
                let report = match catalogue::protective(key, raw.as_str()) {
                    Some(why) => {
                        let reason = format!(
                            "not supported by swarmgate, which refuses to start without it: {why}"
                        );
                        self.refused.push(self.report(key, raw_path, &reason));
                        return;
                    }
                    None => self.report(key, raw_path, "not supported by swarmgate"),
                };
                self.unsupported.push(report);
            }
        }
    }

    fn invalid(&self, key: &[String], value: &Value, expected: &str) -> StaticConfigError {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        StaticConfigError::InvalidValue {
            key: key.join("."),
            value,
            expected: expected.to_string(),
            origin: self.source.clone(),
            written: None,
        }
    }

    /// Adds where the option at `raw_path` was written (file line, argument as written).
    fn locate(&self, mut err: StaticConfigError, raw_path: &[String]) -> StaticConfigError {
        if let StaticConfigError::InvalidValue { written, .. } = &mut err {
            if written.is_none() {
                *written = Some(Box::new(super::Written {
                    line: self.text.and_then(|t| line_of(t, raw_path)),
                    as_written: (self.written)(raw_path),
                }));
            }
        }
        err
    }

    /// A child's problem is recorded and the walk goes on without the child.
    fn keep_going(
        &mut self,
        result: Result<Option<Value>, StaticConfigError>,
        raw_path: &[String],
    ) -> Option<Value> {
        match result {
            Ok(value) => value,
            Err(e) => {
                let e = self.locate(e, raw_path);
                self.errors.push(e);
                None
            }
        }
    }

    /// Canonicalises `raw` as `node`. `key` is the canonical path so far, `raw_path` the raw
    /// one. `Ok(None)` means "absent" (a section written `false`).
    pub(crate) fn walk(
        &mut self,
        raw: &Value,
        node: &Node,
        key: &mut Vec<String>,
        raw_path: &mut Vec<String>,
    ) -> Result<Option<Value>, StaticConfigError> {
        match node {
            Node::Leaf(kind) => self
                .leaf(raw, *kind, key)
                .map(Some)
                .map_err(|e| self.locate(e, raw_path)),
            Node::Struct(fields) => {
                let section = self
                    .section(raw, key)
                    .map_err(|e| self.locate(e, raw_path))?;
                let Some(obj) = section else {
                    return Ok(None);
                };
                let mut out = Map::new();
                for (k, v) in obj.iter() {
                    raw_path.push(k.clone());
                    let Some(field) = node.field(k) else {
                        key.push(k.clone());
                        self.classify(v, key, raw_path);
                        key.pop();
                        raw_path.pop();
                        continue;
                    };
                    key.push(field.name.to_string());
                    let walked = self.walk(v, &field.node, key, raw_path);
                    let value = self.keep_going(walked, raw_path);
                    match field.status {
                        Status::Used | Status::Required => {}
                        Status::Ignored(why) | Status::Dropped(why) => {
                            self.ignored.push(self.report(key, raw_path, why));
                        }
                        Status::MapsTo(_) => {}
                    }
                    key.pop();
                    raw_path.pop();
                    let name = match field.status {
                        Status::Dropped(_) => continue,
                        Status::MapsTo(target) => target,
                        _ => field.name,
                    };
                    if let Some(value) = value {
                        out.insert(name.to_string(), value);
                    }
                }
                for field in fields {
                    if field.status == Status::Required && !out.contains_key(field.name) {
                        key.push(field.name.to_string());
                        let err = StaticConfigError::Missing {
                            key: key.join("."),
                            origin: self.source.clone(),
                        };
                        key.pop();
                        self.errors.push(err);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Node::Map(child) => {
                let section = self
                    .section(raw, key)
                    .map_err(|e| self.locate(e, raw_path))?;
                let Some(obj) = section else {
                    return Ok(None);
                };
                let mut out = Map::new();
                for (name, v) in obj.iter() {
                    key.push(name.clone());
                    raw_path.push(name.clone());
                    let walked = self.walk(v, child, key, raw_path);
                    let value = self.keep_going(walked, raw_path);
                    key.pop();
                    raw_path.pop();
                    if let Some(value) = value {
                        out.insert(name.clone(), value);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Node::List(child) => {
                let items = self.items(raw, key).map_err(|e| self.locate(e, raw_path))?;
                let mut out = Vec::new();
                for (i, (raw_key, v)) in items.into_iter().enumerate() {
                    key.push(i.to_string());
                    raw_path.push(raw_key);
                    let walked = self.walk(&v, child, key, raw_path);
                    let value = self.keep_going(walked, raw_path);
                    key.pop();
                    raw_path.pop();
                    out.extend(value);
                }
                Ok(Some(Value::Array(out)))
            }
        }
    }

    /// A section: an object, or `true`/empty ("present with defaults"), or `false` (absent).
    fn section<'v>(
        &self,
        raw: &'v Value,
        key: &[String],
    ) -> Result<Option<std::borrow::Cow<'v, Map<String, Value>>>, StaticConfigError> {
        use std::borrow::Cow;
        match raw {
            Value::Object(map) => Ok(Some(Cow::Borrowed(map))),
            Value::Null => Ok(Some(Cow::Owned(Map::new()))),
            other => match as_bool(other) {
                Some(true) => Ok(Some(Cow::Owned(Map::new()))),
                Some(false) => Ok(None),
                None => Err(self.invalid(key, raw, "a section (options, or true)")),
            },
        }
    }

    /// The elements of a list written as an array, or as `[n]`-indexed keys.
    fn items(
        &self,
        raw: &Value,
        key: &[String],
    ) -> Result<Vec<(String, Value)>, StaticConfigError> {
        match raw {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect()),
            Value::Object(map) => {
                let mut indexed = Vec::new();
                for (k, v) in map {
                    let idx = k
                        .strip_prefix('[')
                        .and_then(|k| k.strip_suffix(']'))
                        .and_then(|k| k.parse::<usize>().ok())
                        .ok_or_else(|| self.invalid(key, raw, "a list (indexed as [0], [1], …)"))?;
                    indexed.push((idx, k.clone(), v.clone()));
                }
                indexed.sort_by_key(|(i, _, _)| *i);
                Ok(indexed.into_iter().map(|(_, k, v)| (k, v)).collect())
            }
            _ => Err(self.invalid(key, raw, "a list")),
        }
    }

    fn leaf(&self, raw: &Value, kind: Kind, key: &[String]) -> Result<Value, StaticConfigError> {
        let bad = |expected: &str| self.invalid(key, raw, expected);
        match kind {
            Kind::Bool => as_bool(raw)
                .map(Value::Bool)
                .ok_or_else(|| bad("a boolean")),
            Kind::Str => scalar_string(raw)
                .map(Value::String)
                .ok_or_else(|| bad("a string")),
            Kind::Int => match raw {
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(raw.clone()),
                Value::String(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(|i| Value::Number(i.into()))
                    .map_err(|_| bad("an integer")),
                _ => Err(bad("an integer")),
            },
            Kind::Float => as_float(raw).ok_or_else(|| bad("a number")),
            Kind::Duration => {
                let text = scalar_string(raw).ok_or_else(|| bad("a duration"))?;
                text.parse::<crate::config::Duration>()
                    .map_err(|_| bad("a duration such as 10s, 1m30s or a number of seconds"))?;
                Ok(match raw {
                    Value::Number(_) => raw.clone(),
                    _ => Value::String(text),
                })
            }
            Kind::StrList => self
                .list_items(raw, key)?
                .iter()
                .map(|v| {
                    scalar_string(v)
                        .map(Value::String)
                        .ok_or_else(|| bad("a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Kind::FloatList => self
                .list_items(raw, key)?
                .iter()
                .map(|v| as_float(v).ok_or_else(|| bad("a list of numbers")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Kind::Enum(words) => {
                let text = scalar_string(raw).map(|s| s.to_ascii_lowercase());
                match text {
                    Some(t) if words.contains(&t.as_str()) => Ok(Value::String(t)),
                    _ => Err(bad(&format!("one of {}", words.join(", ")))),
                }
            }
        }
    }

    /// List elements: an array, `[n]` keys, or one comma-separated string (Traefik's flag form).
    fn list_items(&self, raw: &Value, key: &[String]) -> Result<Vec<Value>, StaticConfigError> {
        match raw {
            Value::String(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect()),
            Value::Number(_) => Ok(vec![raw.clone()]),
            _ => {
                let mut out = Vec::new();
                for (_, v) in self.items(raw, key)? {
                    match v {
                        // `trustedIPs[0]=a,b` is two entries, as in Traefik.
                        Value::String(_) => out.extend(self.list_items(&v, key)?),
                        other => out.push(other),
                    }
                }
                Ok(out)
            }
        }
    }
}

/// The line (1-based) of `text` where the option at `raw` is written: each segment is looked for
/// as a key (`name:`, `name =`, `[a.name]`, `"name":`) after the line of the one before, so YAML
/// nesting and TOML tables both lead to it.
pub(super) fn line_of(text: &str, raw: &[String]) -> Option<usize> {
    let lines: Vec<String> = text.lines().map(str::to_ascii_lowercase).collect();
    let mut at = 0;
    let mut found = None;
    for seg in raw {
        if seg.bytes().all(|b| b.is_ascii_digit()) || seg.starts_with('[') {
            continue;
        }
        let seg = seg.to_ascii_lowercase();
        let hit = (at..lines.len()).find(|&i| is_key_on(&lines[i], &seg))?;
        at = hit;
        found = Some(hit + 1);
    }
    found
}

fn is_key_on(line: &str, seg: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find(seg) {
        let start = from + pos;
        let end = start + seg.len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let left = before.is_none_or(|b| b" \t.[\"'-".contains(&b));
        let right = after.is_none_or(|b| b" \t.]\"':=".contains(&b));
        if left && right {
            return true;
        }
        from = end;
    }
    false
}

/// One report per Traefik plugin (`experimental.plugins.<name>`, `experimental.localPlugins.<name>`)
/// rather than one per option of it, saying what it disables.
fn plugin_reason(key: &[String], raw: &Value) -> Option<String> {
    let [root, kind, name] = key else {
        return None;
    };
    let local = kind.eq_ignore_ascii_case("localPlugins");
    if !root.eq_ignore_ascii_case("experimental")
        || !(local || kind.eq_ignore_ascii_case("plugins"))
    {
        return None;
    }
    let field = |f: &str| {
        raw.as_object().and_then(|m| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(f))
                .and_then(|(_, v)| v.as_str())
        })
    };
    let module = match (field("moduleName"), field("version")) {
        (Some(m), Some(v)) => format!(" ({m} {v})"),
        (Some(m), None) => format!(" ({m})"),
        _ => String::new(),
    };
    Some(format!(
        "Traefik plugin `{name}`{module} is not supported by swarmgate (it runs no Go plugins); \
         routers using a `plugin` middleware are closed (answer 503), every other router is served"
    ))
}

/// Go's `strconv.ParseBool` spellings, plus JSON booleans.
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Strings as they are; numbers and booleans written unquoted in a file as their text.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_float(v: &Value) -> Option<Value> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    Number::from_f64(f).map(Value::Number)
}
