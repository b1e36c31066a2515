//! The file provider: dynamic configuration from a TOML or YAML file (or every such file of a
//! directory), re-read when it changes.
//!
//! A file that fails to parse or validate is reported and the last good configuration stays in
//! force. Change detection compares file contents on a short poll, which also catches editors that
//! replace the file and mounted configs that swap a symlink.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::dynamic::DynamicConfig;
use crate::config::static_config::FileProviderConfig;
use crate::config::{ConfigIssue, Element};
use crate::middleware::Middleware;
use crate::provider::{ProviderSnapshot, SnapshotTx};
use crate::rules::Rule;

/// How often the watched files are compared with what was last loaded.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct FileProvider {
    filename: Option<PathBuf>,
    directory: Option<PathBuf>,
    watch: bool,
}

/// The raw contents last read, to tell whether anything changed.
type Contents = BTreeMap<PathBuf, Vec<u8>>;

impl FileProvider {
    /// Relative paths are resolved against `base` (the static config file's folder or the cwd).
    pub fn new(cfg: &FileProviderConfig, base: &Path) -> FileProvider {
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
        }
    }

    fn read_all(&self) -> Result<Contents, ConfigIssue> {
        let mut files = Contents::new();
        let unreadable = |path: &Path, e: std::io::Error| {
            ConfigIssue::new(
                Element::Source,
                path.display().to_string(),
                format!("cannot read: {e}"),
            )
            .with_origin("file")
        };
        if let Some(path) = &self.filename {
            let data = std::fs::read(path).map_err(|e| unreadable(path, e))?;
            files.insert(path.clone(), data);
        }
        if let Some(dir) = &self.directory {
            let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
            for entry in entries.flatten() {
                let path = entry.path();
                if format_of(&path).is_some() && path.is_file() {
                    let data = std::fs::read(&path).map_err(|e| unreadable(&path, e))?;
                    files.insert(path, data);
                }
            }
        }
        Ok(files)
    }

    /// Reads, parses and validates everything this provider points at.
    pub fn load(&self) -> Result<DynamicConfig, Vec<ConfigIssue>> {
        let files = self.read_all().map_err(|i| vec![i])?;
        build(&files)
    }

    /// Publishes the configuration, then (when `watch` is on) every valid change. Invalid changes
    /// publish the last good configuration with the new issues.
    pub async fn run(self, tx: SnapshotTx) {
        let mut last_good = DynamicConfig::default();
        let mut seen: Option<Result<Contents, String>> = None;
        loop {
            let current = self.read_all();
            let fingerprint = current.clone().map_err(|i| i.message);
            if seen.as_ref() != Some(&fingerprint) {
                seen = Some(fingerprint);
                let outcome = current.map_err(|i| vec![i]).and_then(|files| build(&files));
                match outcome {
                    Ok(config) => {
                        tracing::info!(
                            provider = "file",
                            routers = config.http.routers.len(),
                            "configuration loaded"
                        );
                        last_good = config.clone();
                        tx.send_replace(ProviderSnapshot {
                            config,
                            issues: Vec::new(),
                        });
                    }
                    Err(issues) => {
                        for issue in &issues {
                            tracing::error!(provider = "file", error = %issue, "configuration rejected; keeping the last good one");
                        }
                        tx.send_replace(ProviderSnapshot {
                            config: last_good.clone(),
                            issues,
                        });
                    }
                }
            }
            if !self.watch {
                return;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
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

/// Parses one dynamic-config document. The error names the origin and, where the parser knows
/// it, the line and column.
pub fn parse(text: &str, format: Format, origin: &str) -> Result<DynamicConfig, ConfigIssue> {
    let parsed = match format {
        Format::Toml => toml::from_str::<DynamicConfig>(text).map_err(|e| e.to_string()),
        Format::Yaml if text.trim().is_empty() => Ok(DynamicConfig::default()),
        Format::Yaml => from_yaml(text),
    };
    parsed.map_err(|message| {
        ConfigIssue::new(Element::Source, origin, message.trim().to_string()).with_origin(origin)
    })
}

/// YAML goes through a JSON value: serde_yaml reads externally tagged enums (middleware types)
/// only as YAML tags, while Traefik files write them as maps. Errors name the path.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let json = serde_json::to_value(yaml).map_err(|e| e.to_string())?;
    serde_path_to_error::deserialize(json).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

/// Checks what can be checked inside one provider's configuration: every rule parses and every
/// middleware compiles. References across providers are checked when the table compiles.
pub fn validate(cfg: &DynamicConfig, origin: &str) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for (name, router) in &cfg.http.routers {
        if let Err(e) = Rule::parse(&router.rule) {
            issues.push(
                ConfigIssue::new(
                    Element::Router,
                    name,
                    format!("invalid rule {:?}: {e}", router.rule),
                )
                .with_key("rule")
                .with_origin(origin),
            );
        }
    }
    for (name, middleware) in &cfg.http.middlewares {
        if let Err(e) = Middleware::validate(middleware) {
            issues.push(
                ConfigIssue::new(Element::Middleware, name, e.to_string())
                    .with_key(middleware.kind())
                    .with_origin(origin),
            );
        }
    }
    issues
}

fn build(files: &Contents) -> Result<DynamicConfig, Vec<ConfigIssue>> {
    let mut merged = DynamicConfig::default();
    let mut issues = Vec::new();
    for (path, data) in files {
        let origin = path.display().to_string();
        let Some(format) = format_of(path) else {
            issues.push(ConfigIssue::new(
                Element::Source,
                &origin,
                "unknown format: use .toml, .yml or .yaml",
            ));
            continue;
        };
        let text = String::from_utf8_lossy(data);
        match parse(&text, format, &origin) {
            Ok(cfg) => {
                issues.extend(validate(&cfg, &origin));
                absorb(&mut merged, cfg, &origin, &mut issues);
            }
            Err(issue) => issues.push(issue),
        }
    }
    if issues.is_empty() {
        Ok(merged)
    } else {
        Err(issues)
    }
}

/// Adds one file's elements to the directory's merged configuration; a name defined twice is an issue.
fn absorb(
    into: &mut DynamicConfig,
    from: DynamicConfig,
    origin: &str,
    issues: &mut Vec<ConfigIssue>,
) {
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
    into.tls.certificates.extend(from.tls.certificates);
    into.tls.stores.extend(from.tls.stores);
    into.tls.options.extend(from.tls.options);
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
http:
  routers:
    api:
      rule: "PathPrefix(`/api`)"
      service: api
      middlewares: [strip]
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/api"]
  services:
    api:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:9000"
"#;

    #[test]
    fn parses_traefik_yaml() {
        let cfg = parse(YAML, Format::Yaml, "t.yml").unwrap();
        assert_eq!(cfg.http.routers["api"].service, "api");
        let lb = cfg.http.services["api"].load_balancer.as_ref().unwrap();
        assert_eq!(lb.servers[0].url, "http://127.0.0.1:9000");
        assert!(lb.pass_host_header);
        assert!(validate(&cfg, "t.yml").is_empty());
    }

    #[test]
    fn parse_errors_carry_location() {
        let err = parse("[http.routers.a]\nrule = 5\n", Format::Toml, "d.toml").unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        let err = parse("http:\n  routers:\n    a: [1\n", Format::Yaml, "d.yml").unwrap_err();
        assert!(err.message.contains("line"), "{}", err.message);
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = parse("http:\n  routerz: {}\n", Format::Yaml, "d.yml").unwrap_err();
        assert!(err.message.contains("routerz"), "{}", err.message);
    }

    #[test]
    fn invalid_rule_rejects_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yml");
        std::fs::write(
            &path,
            YAML.replace("PathPrefix(`/api`)", "PathPrefix(`/api`"),
        )
        .unwrap();
        let provider = FileProvider::new(
            &FileProviderConfig {
                filename: Some(path.display().to_string()),
                directory: None,
                watch: false,
            },
            dir.path(),
        );
        let issues = provider.load().unwrap_err();
        assert_eq!(issues[0].element, Element::Router);
        assert_eq!(issues[0].key.as_deref(), Some("rule"));
    }
}
