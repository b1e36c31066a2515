//! Traefik's static configuration, read unchanged: command-line arguments (a stack's `command:`),
//! `TRAEFIK_*` environment variables, or a `traefik.yml`/`traefik.toml` file, mapped onto
//! [`StaticConfig`].
//!
//! The pipeline (one source; every step collects its problems as `ConfigIssue`s):
//!
//! ```text
//!  arguments (a stack's `command:`) ─┐ flat.rs: key paths → one serde_json::Value tree
//!  TRAEFIK_* environment (`_FILE`)  ─┘
//!  traefik.yml / traefik.toml ───────  file.rs (YAML through config::yaml)
//!          │
//!          ▼
//!  canon.rs: keys matched case-blind against schema.rs, values typed; a key catalogue.rs
//!            does not know is refused with the nearest option, an unimplemented one is
//!            unsupported (refused when it protects)
//!          │
//!          ▼
//!  effective.rs: v2 `providers.docker` + `swarmMode` folded into `providers.swarm`
//!          │ serde
//!          ▼
//!  StaticConfig ──► effective.rs: Traefik's effective defaults
//! ```
//!
//! `migrate.rs` writes the resulting `StaticConfig` as native TOML.
//! As in Traefik, ONE source is used: a file if one is found (`--configFile`, `TRAEFIK_CONFIGFILE`
//! or the default locations), else the arguments, else the environment.
//! Owns no runtime state; the only I/O is finding and reading the configuration file.

mod canon;
pub(crate) mod catalogue;
pub(crate) mod collect;
mod effective;
mod file;
mod flat;
mod migrate;
pub(crate) mod schema;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ConfigIssue, Element, StaticConfig};
use canon::Canon;

pub use effective::{apply_lego_ca_certificates, apply_traefik_defaults};
pub use file::{default_locations, find_default_file, parse_text, read_file};
pub use flat::looks_like_traefik_args;
pub use migrate::{to_native_toml, MigrateError};

/// Where a static configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A Traefik configuration file (`traefik.yml`, `traefik.toml`).
    File(PathBuf),
    /// Traefik command-line arguments.
    Args,
    /// `TRAEFIK_*` environment variables.
    Env,
    /// Nothing found: Traefik's defaults.
    Default,
    /// A swarmgate configuration file (`--config`), see `config::load`.
    Native(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) | Source::Native(p) => write!(f, "{}", p.display()),
            Source::Args => f.write_str("command-line arguments"),
            Source::Env => f.write_str("environment"),
            Source::Default => f.write_str("defaults"),
        }
    }
}

/// An option swarmgate does not support (or accepts and ignores), with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOption {
    /// Canonical dotted key as far as known (`entryPoints.web.http3`).
    pub key: String,
    /// As the user wrote it: `--entrypoints.web.http3`, `TRAEFIK_ENTRYPOINTS_WEB_HTTP3`, or the
    /// key path in a file.
    pub written: String,
    pub source: Source,
    /// The line of a configuration file it was written on, when known.
    pub line: Option<usize>,
    pub reason: String,
}

impl UnsupportedOption {
    /// As a [`ConfigIssue`] (element `static`, name = canonical key, key = as written,
    /// origin = source), for `swarmgate check` and the admin API.
    pub fn to_issue(&self) -> ConfigIssue {
        let origin = match self.line {
            Some(line) => format!("{}:{line}", self.source),
            None => self.source.to_string(),
        };
        ConfigIssue::new(Element::Static, &self.key, &self.reason)
            .with_key(&self.written)
            .with_origin(origin)
    }
}

impl fmt::Display for UnsupportedOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.source)?,
            None => write!(f, "{}: ", self.source)?,
        }
        write!(f, "{}: {}", self.written, self.reason)
    }
}

/// A static configuration and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: StaticConfig,
    pub source: Source,
    /// Options swarmgate does not know or does not support; not applied.
    pub unsupported: Vec<UnsupportedOption>,
    /// Options accepted without effect (`global.checkNewVersion`, `log.noColor`, arguments
    /// shadowed by a configuration file, …).
    pub ignored: Vec<UnsupportedOption>,
    /// Traefik v2 spellings applied under their v3 names (`providers.docker` with
    /// `swarmMode`): one deprecation notice each, naming the v3 spelling.
    pub deprecated: Vec<UnsupportedOption>,
}

/// How to load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Unsupported options are an error ([`StaticConfigError::Unsupported`]) instead of a list.
    pub strict: bool,
}

/// Why a static configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StaticConfigError {
    #[error(
        "{origin}{}: {}: invalid value {value:?}: expected {expected}",
        written_line(written),
        written_key(written, key)
    )]
    InvalidValue {
        key: String,
        value: String,
        expected: String,
        origin: Source,
        /// Where it was written, when known.
        written: Option<Box<Written>>,
    },
    #[error("{origin}: {key} is required")]
    Missing { key: String, origin: Source },
    #[error("argument {arg:?}: {message}")]
    BadArgument { arg: String, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), location(*line, *column))]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: Source, message: String },
    #[error("{var}: secret file {}: {message}", path.display())]
    Secret {
        var: String,
        path: PathBuf,
        message: String,
    },
    #[error("unsupported options (--strict): {}", list(.0))]
    Unsupported(Vec<UnsupportedOption>),
    /// Options that are no Traefik option at all (typos), and options swarmgate does not
    /// implement whose absence would weaken protection: swarmgate does not start.
    #[error("{}", lines(.0))]
    Refused(Vec<UnsupportedOption>),
    /// Several of the above, all reported at once.
    #[error("{}", several(.0))]
    Several(Vec<StaticConfigError>),
}

fn several(errors: &[StaticConfigError]) -> String {
    let mut items = Vec::new();
    for e in errors {
        match e {
            StaticConfigError::Refused(options) => {
                items.extend(options.iter().map(ToString::to_string));
            }
            other => items.push(other.to_string()),
        }
    }
    let mut out = format!("{} problems, swarmgate does not start:", items.len());
    for item in items {
        out.push_str("\n  ");
        out.push_str(&item);
    }
    out
}

/// Where an option was written: the line of a configuration file, the argument or variable as
/// typed (`--providers.swarm.exposedbydefault`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub line: Option<usize>,
    pub as_written: Option<String>,
}

fn written_line(written: &Option<Box<Written>>) -> String {
    location(written.as_ref().and_then(|w| w.line), None)
}

fn written_key<'a>(written: &'a Option<Box<Written>>, key: &'a str) -> &'a str {
    written
        .as_ref()
        .and_then(|w| w.as_written.as_deref())
        .unwrap_or(key)
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn lines(items: &[UnsupportedOption]) -> String {
    let n = items.len();
    let mut out = format!("{n} option(s) refused, swarmgate does not start:");
    for item in items {
        out.push_str("\n  ");
        out.push_str(&item.to_string());
    }
    out
}

fn list(items: &[UnsupportedOption]) -> String {
    items
        .iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Loads Traefik's static configuration from `args` (the Traefik arguments only, e.g. a stack's
/// `command:`; a leading `traefik` word is skipped), `env` (the process environment) and the
/// files around `cwd`, choosing one source as Traefik does. Also applies `LEGO_CA_CERTIFICATES`
/// and Traefik's effective defaults (`http` on `:80` when no entrypoint is defined, `traefik` on
/// `:8080` for `api.insecure`/ping/metrics). Nothing found gives `Source::Default`.
/// Unlike Traefik, a `--configFile` that does not exist is an error (Traefik silently falls
/// back to the default locations).
pub fn load_traefik(
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    options: LoadOptions,
) -> Result<Loaded, StaticConfigError> {
    let (loaded, mut problems) = load_traefik_collecting(args, env, cwd, options)?;
    if problems.len() > 1 {
        return Err(StaticConfigError::Several(problems));
    }
    if let Some(problem) = problems.pop() {
        return Err(problem);
    }
    Ok(loaded)
}

/// [`load_traefik`] that goes on past the problems of the options (typos, invalid values,
/// missing required options): returns them with the configuration read from everything else,
/// so that `check` can still check what depends on it (the dynamic configuration) in the same
/// pass. Only what stops reading altogether (an unreadable file, a syntax error, a malformed
/// argument) is an `Err`. The problems are in the order `load_traefik` reports them.
pub fn load_traefik_collecting(
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    options: LoadOptions,
) -> Result<(Loaded, Vec<StaticConfigError>), StaticConfigError> {
    let (arg_flat, arg_file) = flat::parse_args(args)?;
    let (env_flat, env_file) = flat::parse_env(env)?;
    let file = match arg_file.or(env_file) {
        Some(p) => {
            let path = cwd.join(p);
            if !path.is_file() {
                return Err(StaticConfigError::Read {
                    path,
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                });
            }
            Some(path)
        }
        None => find_default_file(env, cwd),
    };
    let has = |f: &flat::Flat| f.tree.as_object().is_some_and(|m| !m.is_empty());
    let mut shadowed = Vec::new();
    let shadow = |f: &flat::Flat, source: Source, by: &str, out: &mut Vec<UnsupportedOption>| {
        let mut written: Vec<&String> = f.written.values().collect();
        written.sort();
        out.extend(written.into_iter().map(|w| UnsupportedOption {
            key: w.clone(),
            written: w.clone(),
            source: source.clone(),
            line: None,
            reason: format!("not read: {by} takes precedence (Traefik reads one source)"),
        }));
    };
    let mut text = None;
    let (raw, source, used) = if let Some(path) = file {
        let raw: Value = read_file(&path)?;
        text = std::fs::read_to_string(&path).ok();
        shadow(
            &arg_flat,
            Source::Args,
            "the configuration file",
            &mut shadowed,
        );
        shadow(
            &env_flat,
            Source::Env,
            "the configuration file",
            &mut shadowed,
        );
        (raw, Source::File(path), None)
    } else if has(&arg_flat) {
        shadow(&env_flat, Source::Env, "the command line", &mut shadowed);
        (arg_flat.tree.clone(), Source::Args, Some(&arg_flat))
    } else if has(&env_flat) {
        (env_flat.tree.clone(), Source::Env, Some(&env_flat))
    } else {
        (Value::Object(Default::default()), Source::Default, None)
    };
    let written = |p: &[String]| used.and_then(|f| f.written_at(p)).map(str::to_string);
    let mut canon = Canon {
        source: &source,
        written: &written,
        unsupported: Vec::new(),
        ignored: Vec::new(),
        deprecated: Vec::new(),
        refused: Vec::new(),
        text: text.as_deref(),
        errors: Vec::new(),
    };
    let walked = canon.walk(&raw, schema::schema(), &mut Vec::new(), &mut Vec::new());
    // Every problem at once: typos first (a typo explains a missing required option better than
    // the missing option does), then each invalid value.
    let mut problems = std::mem::take(&mut canon.errors);
    let walked = match walked {
        Ok(tree) => tree,
        Err(e) => {
            problems.push(e);
            None
        }
    };
    if !canon.refused.is_empty() {
        // `--entrypoints.web.adress` explains the missing `address`: said once, as the typo.
        let refused = &canon.refused;
        problems.retain(|p| match p {
            StaticConfigError::Missing { key, .. } => {
                let parent = key.rsplit_once('.').map_or("", |(p, _)| p);
                !refused
                    .iter()
                    .any(|r| r.key.starts_with(&format!("{parent}.")))
            }
            _ => true,
        });
        problems.insert(
            0,
            StaticConfigError::Refused(std::mem::take(&mut canon.refused)),
        );
    }
    let mut tree = walked.unwrap_or_else(|| Value::Object(Default::default()));
    effective::fold_docker_into_swarm(&mut tree, &mut canon);
    let mut config: StaticConfig = if problems.is_empty() {
        serde_json::from_value(tree).map_err(|e| StaticConfigError::Invalid {
            origin: source.clone(),
            message: e.to_string(),
        })?
    } else {
        // Best effort past the problems already reported: what still does not read (a section
        // whose required option was missing) is left out without a second report.
        let origin = PathBuf::from(source.to_string());
        collect::deserialize_collecting(tree, &origin, None)
            .0
            .unwrap_or_default()
    };
    apply_traefik_defaults(&mut config);
    apply_lego_ca_certificates(&mut config, env);
    let Canon {
        unsupported,
        mut ignored,
        refused,
        deprecated,
        ..
    } = canon;
    if !refused.is_empty() {
        problems.push(StaticConfigError::Refused(refused));
    }
    ignored.extend(shadowed);
    if problems.is_empty() && options.strict && !unsupported.is_empty() {
        return Err(StaticConfigError::Unsupported(unsupported));
    }
    Ok((
        Loaded {
            config,
            source,
            unsupported,
            ignored,
            deprecated,
        },
        problems,
    ))
}

/// How swarmgate treats one of Traefik's static options, for `swarmgate check --unsupported`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Applied.
    Applied,
    /// Accepted without effect, with the reason (reported as ignored).
    Ignored(&'static str),
    /// Not implemented: reported as unsupported by `run` (a warning) and `check` (exit 1).
    Unsupported,
    /// Not implemented and protective: swarmgate refuses to start with it, with the reason.
    Refused(&'static str),
}

/// Every static option of Traefik 3.7 (`entryPoints.<name>.address`) with what swarmgate does
/// with it.
pub fn traefik_options() -> Vec<(String, Support)> {
    catalogue::all_options()
        .into_iter()
        .filter(|o| !o.eq_ignore_ascii_case("configFile"))
        .map(|option| {
            let path = option_path(&option);
            // Traefik 3's Docker provider (standalone Docker) is not served; its options are
            // read only as the v2 spelling of the Swarm provider (`swarmMode`).
            let docker = path.len() > 1 && path[..2].join(".") == "providers.docker";
            let status = if docker {
                None
            } else {
                schema::status_at(&path)
            };
            let support = match status {
                Some(schema::Status::Ignored(why) | schema::Status::Dropped(why)) => {
                    Support::Ignored(why)
                }
                Some(_) => Support::Applied,
                None => match catalogue::protective(&path, None) {
                    Some(why) => Support::Refused(why),
                    None => Support::Unsupported,
                },
            };
            (option, support)
        })
        .collect()
}

/// `a.b[n].c` → `a`, `b`, `[n]`, `c`.
fn option_path(option: &str) -> Vec<String> {
    option
        .split('.')
        .flat_map(|part| match part.find('[') {
            Some(i) if i > 0 => vec![part[..i].to_string(), part[i..].to_string()],
            _ => vec![part.to_string()],
        })
        .collect()
}

/// The edit distance of two words (for suggestions: the nearest command, option).
pub fn edit_distance(a: &str, b: &str) -> usize {
    catalogue::distance(a, b)
}
