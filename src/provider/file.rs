//! The file provider: dynamic configuration from a TOML or YAML file (or every such file of a
//! directory and its subdirectories, as Traefik reads them), re-read when it changes.
//!
//! Each file is parsed on its own and each element read and validated on its own
//! (`config::elements`): a bad element is reported with its file and line and disabled (its users
//! fail closed), everything else is served, on the first load and on every reload alike. A file
//! that is not a dynamic configuration at all (a compose file left beside the rules) is skipped
//! with a warning. A file that cannot be read or parsed at all (a YAML syntax error) is reported
//! and keeps its last good version, if it had one; the directory's other files are unaffected.
//! Change detection compares file contents on a short poll, which also catches editors that
//! replace the file and mounted configs that swap a symlink.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::dynamic::DynamicConfig;
use crate::config::elements::{self, Check, Reading};
use crate::config::server_origin::ServerOrigin;
use crate::config::static_config::FileProviderConfig;
use crate::config::{ConfigIssue, Element};
use crate::provider::{ProviderSnapshot, SnapshotTx};

mod locate;

/// How often the watched files are compared with what was last loaded.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Subdirectories deeper than this are not read (a bound against symlink loops).
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone)]
pub struct FileProvider {
    filename: Option<PathBuf>,
    directory: Option<PathBuf>,
    watch: bool,
    /// Validates each middleware as its file is read (`Middleware::validate`, passed in by the
    /// wiring: `middleware/` is a floor up), so a bad one is reported with its file and line.
    check: Check,
}

/// What was read of each file (or why it could not be), to tell whether anything changed.
type Contents = BTreeMap<PathBuf, Result<Vec<u8>, String>>;

/// The last version of each file that parsed, kept while a later version does not.
type LastGood = BTreeMap<PathBuf, DynamicConfig>;

impl FileProvider {
    /// Relative paths are resolved against `base` (the static config file's folder or the cwd);
    /// `check` validates each middleware that deserialized (see [`elements::Check`]).
    pub fn new(cfg: &FileProviderConfig, base: &Path, check: Check) -> FileProvider {
        let resolve = |p: &String| {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                base.join(p)
            }
        };
        FileProvider {
            filename: cfg.filename.as_ref().map(resolve),
            directory: cfg.directory.as_ref().map(resolve),
            watch: cfg.watch,
            check,
        }
    }

    fn read_all(&self) -> Contents {
        let mut files = Contents::new();
        if let Some(path) = &self.filename {
            files.insert(path.clone(), read(path));
        }
        if let Some(dir) = &self.directory {
            read_dir(dir, 0, &mut files);
        }
        files
    }

    /// Reads, parses and validates everything this provider points at, once: the good elements
    /// and every issue found.
    pub fn load(&self) -> (DynamicConfig, Vec<ConfigIssue>) {
        build(&self.read_all(), &mut LastGood::new(), self.check)
    }

    /// Publishes the configuration, then (when `watch` is on) every change.
    pub async fn run(self, tx: SnapshotTx) {
        let mut last_good = LastGood::new();
        let mut seen: Option<Contents> = None;
        loop {
            let current = self.read_all();
            if seen.as_ref() != Some(&current) {
                let (config, issues) = build(&current, &mut last_good, self.check);
                seen = Some(current);
                tracing::info!(
                    provider = "file",
                    routers = config.http.routers.len(),
                    issues = issues.len(),
                    "configuration loaded"
                );
                tx.send_replace(ProviderSnapshot { config, issues });
            }
            if !self.watch {
                return;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

/// Every `.toml`/`.yml`/`.yaml` file of `dir` and its subdirectories; an unreadable directory is
/// recorded under its own path.
fn read_dir(dir: &Path, depth: usize, files: &mut Contents) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            files.insert(
                dir.to_path_buf(),
                Err(format!("cannot read directory: {e}")),
            );
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                read_dir(&path, depth + 1, files);
            }
        } else if format_of(&path).is_some() && path.is_file() {
            let data = read(&path);
            files.insert(path, data);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

pub fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "toml" => Some(Format::Toml),
        "yml" | "yaml" => Some(Format::Yaml),
        _ => None,
    }
}

/// Parses one dynamic-config document element by element, every middleware that deserializes
/// accepted (the table's compile still closes the routers of one that does not compile; see
/// [`parse_checked`]).
pub fn parse(text: &str, format: Format, origin: &str) -> Result<Reading, ConfigIssue> {
    parse_checked(text, format, origin, elements::accept)
}

/// Parses one dynamic-config document element by element, each middleware validated by `check`.
/// `Err` only when the document cannot be parsed at all (a syntax error), with the origin and,
/// where the parser knows it, the line.
pub fn parse_checked(
    text: &str,
    format: Format,
    origin: &str,
    check: Check,
) -> Result<Reading, ConfigIssue> {
    let whole = |message: String| {
        ConfigIssue::new(Element::Source, origin, message.trim().to_string()).with_origin(origin)
    };
    let value = match format {
        Format::Toml => toml::from_str::<toml::Value>(text)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())),
        Format::Yaml if text.trim().is_empty() => Ok(serde_json::Value::Null),
        Format::Yaml => serde_yaml::from_str::<serde_yaml::Value>(text)
            .and_then(|mut v| v.apply_merge().map(|()| v))
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())),
    }
    .map_err(whole)?;
    let locate = |path: &[&str]| match format {
        Format::Toml => locate::toml_line(text, path),
        Format::Yaml => locate::yaml_line(text, path),
    };
    Ok(elements::read(value, origin, &locate, check))
}

/// Moved to `crate::config::yaml::from_yaml`; this path is kept for one release.
#[doc(hidden)]
pub use crate::config::yaml::from_yaml;

/// Parses every file and merges their good elements. A file that cannot be read or parsed uses
/// its entry in `last_good` (updated here) when it has one.
fn build(
    files: &Contents,
    last_good: &mut LastGood,
    check: Check,
) -> (DynamicConfig, Vec<ConfigIssue>) {
    let mut merged = DynamicConfig::default();
    let mut issues = Vec::new();
    last_good.retain(|path, _| files.contains_key(path));
    for (path, data) in files {
        let origin = path.display().to_string();
        let parsed = match (data, format_of(path)) {
            (Err(message), _) => {
                Err(ConfigIssue::new(Element::Source, &origin, message.clone())
                    .with_origin(&origin))
            }
            (Ok(_), None) => Err(ConfigIssue::new(
                Element::Source,
                &origin,
                "unknown format: use .toml, .yml or .yaml",
            )
            .with_origin(&origin)),
            (Ok(data), Some(format)) => {
                parse_checked(&String::from_utf8_lossy(data), format, &origin, check)
            }
        };
        match parsed {
            Ok(reading) => {
                issues.extend(reading.issues);
                if reading.not_dynamic {
                    last_good.remove(path);
                    continue;
                }
                last_good.insert(path.clone(), reading.config.clone());
                absorb(&mut merged, reading.config, &origin, &mut issues);
            }
            Err(mut issue) => match last_good.get(path) {
                Some(kept) => {
                    issue
                        .message
                        .push_str("; keeping the last version of this file that parsed");
                    issues.push(issue);
                    absorb(&mut merged, kept.clone(), &origin, &mut issues);
                }
                None => {
                    issue.message.push_str("; nothing of this file is served");
                    issues.push(issue);
                }
            },
        }
    }
    (merged, issues)
}

/// Adds one file's elements to the directory's merged configuration; a name defined twice is an
/// issue (the first file, in path order, keeps it).
fn absorb(
    into: &mut DynamicConfig,
    mut from: DynamicConfig,
    origin: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    // Each HTTP server says which file listed it (the API's `serverOrigins`).
    let file = std::sync::Arc::new(ServerOrigin::File {
        file: origin.to_string(),
    });
    let balancers = from.http.services.values_mut();
    for lb in balancers.filter_map(|s| s.load_balancer.as_mut()) {
        for server in &mut lb.servers {
            server.origin = Some(std::sync::Arc::clone(&file));
        }
    }
    fn add<T>(
        map: &mut BTreeMap<String, T>,
        items: BTreeMap<String, T>,
        element: Element,
        origin: &str,
        issues: &mut Vec<ConfigIssue>,
    ) {
        for (name, item) in items {
            match map.entry(name) {
                std::collections::btree_map::Entry::Occupied(e) => {
                    issues.push(
                        ConfigIssue::new(element, e.key(), "defined in more than one file")
                            .with_origin(origin),
                    );
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(item);
                }
            }
        }
    }
    add(
        &mut into.http.routers,
        from.http.routers,
        Element::Router,
        origin,
        issues,
    );
    add(
        &mut into.http.services,
        from.http.services,
        Element::Service,
        origin,
        issues,
    );
    add(
        &mut into.http.middlewares,
        from.http.middlewares,
        Element::Middleware,
        origin,
        issues,
    );
    add(
        &mut into.http.servers_transports,
        from.http.servers_transports,
        Element::ServersTransport,
        origin,
        issues,
    );
    add(
        &mut into.udp.routers,
        from.udp.routers,
        Element::UdpRouter,
        origin,
        issues,
    );
    add(
        &mut into.udp.services,
        from.udp.services,
        Element::UdpService,
        origin,
        issues,
    );
    into.udp.invalid.routers.extend(from.udp.invalid.routers);
    into.udp.invalid.services.extend(from.udp.invalid.services);
    let (tcp, from_tcp) = (&mut into.tcp, from.tcp);
    add(
        &mut tcp.routers,
        from_tcp.routers,
        Element::Router,
        origin,
        issues,
    );
    add(
        &mut tcp.services,
        from_tcp.services,
        Element::Service,
        origin,
        issues,
    );
    add(
        &mut tcp.middlewares,
        from_tcp.middlewares,
        Element::Middleware,
        origin,
        issues,
    );
    let transports = from_tcp.servers_transports;
    add(
        &mut tcp.servers_transports,
        transports,
        Element::ServersTransport,
        origin,
        issues,
    );
    tcp.invalid.extend(from_tcp.invalid);
    into.tls.certificates.extend(from.tls.certificates);
    into.tls.stores.extend(from.tls.stores);
    into.tls.options.extend(from.tls.options);
    let (to, from) = (&mut into.invalid, from.invalid);
    to.routers.extend(from.routers);
    to.middlewares.extend(from.middlewares);
    to.services.extend(from.services);
    to.servers_transports.extend(from.servers_transports);
    to.tls_options.extend(from.tls_options);
}

#[cfg(test)]
mod tests;
