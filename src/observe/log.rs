//! `tracing` subscriber setup from the static `log` section (Traefik levels and formats).
//! `RUST_LOG`, when set, overrides the level.
#![allow(clippy::disallowed_types)] // std Mutex: the log file writer tracing serialises writes through

use tracing_subscriber::EnvFilter;

use crate::config::static_config::{LogConfig, LogFormat};

/// Maps Traefik's level names (`DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`, `PANIC`) to a filter.
pub fn filter_for(level: Option<&str>) -> EnvFilter {
    if let Ok(env) = EnvFilter::try_from_default_env() {
        return env;
    }
    let directive = match level.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => "info".to_string(),
        Some("fatal") | Some("panic") => "error".to_string(),
        Some("warning") => "warn".to_string(),
        Some(other) => other.to_string(),
    };
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(cfg: &LogConfig) {
    let filter = filter_for(cfg.level.as_deref());
    let file = cfg.file_path.as_ref().and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match (cfg.format, file) {
        (LogFormat::Json, Some(f)) => builder
            .json()
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        (LogFormat::Json, None) => builder.json().try_init(),
        (LogFormat::Common, Some(f)) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        (LogFormat::Common, None) => {
            use std::io::IsTerminal as _;
            builder
                .with_ansi(std::io::stdout().is_terminal())
                .try_init()
        }
    };
    let _ = result;
}
