//! The `swarmgate` binary: `run`, `check`, `migrate`, `version`. Thin: parses the command line,
//! picks the configuration source, and hands over to `swarmgate::app`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use swarmgate::config::StaticConfig;

const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

const HELP: &str = "\
swarmgate — edge reverse proxy and load balancer for Docker Swarm (a drop-in for Traefik v3)

USAGE:
    swarmgate [run] [--config FILE] [TRAEFIK ARGUMENTS...]
    swarmgate check [--config FILE] [TRAEFIK ARGUMENTS...]
    swarmgate version

With no configuration at all, swarmgate runs its embedded demo configuration on :8080.

COMMANDS:
    run       serve (the default command)
    check     validate the static and dynamic configuration, print every problem, exit 1 on any
    version   print the version

OPTIONS:
    --config FILE       swarmgate's own static configuration (TOML or YAML)
    --log-level LEVEL   override the log level (DEBUG, INFO, WARN, ERROR)
";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run,
    Check,
}

struct Cli {
    command: Command,
    config: Option<PathBuf>,
    log_level: Option<String>,
    /// Everything else: Traefik-style static configuration arguments.
    rest: Vec<String>,
}

fn parse_cli(args: &[String]) -> Result<Option<Cli>, String> {
    let (command, args) = match args.first().map(String::as_str) {
        Some("run") => (Command::Run, &args[1..]),
        Some("check") => (Command::Check, &args[1..]),
        Some("version" | "--version" | "-V") => {
            println!("swarmgate {}", env!("CARGO_PKG_VERSION"));
            return Ok(None);
        }
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            return Ok(None);
        }
        _ => (Command::Run, args),
    };
    let mut cli = Cli {
        command,
        config: None,
        log_level: None,
        rest: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(format!("{name} needs a value"))
        };
        match key {
            "--config" | "-c" => cli.config = Some(PathBuf::from(value("--config")?)),
            "--log-level" => cli.log_level = Some(value("--log-level")?),
            _ => cli.rest.push(arg.clone()),
        }
    }
    Ok(Some(cli))
}

/// Loads the static configuration and the folder its relative paths are resolved from.
fn load_static(cli: &Cli) -> anyhow::Result<(StaticConfig, PathBuf)> {
    if let Some(path) = &cli.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let cfg = parse_native(&text, path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((cfg, base));
    }
    if !cli.rest.is_empty() {
        anyhow::bail!("unknown arguments: {}", cli.rest.join(" "));
    }
    let cfg: StaticConfig = toml::from_str(DEFAULT_CONFIG).context("embedded default config")?;
    Ok((cfg, PathBuf::from(".")))
}

fn parse_native(text: &str, path: &Path) -> anyhow::Result<StaticConfig> {
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    );
    if yaml {
        swarmgate::provider::file::from_yaml(text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    } else {
        toml::from_str(text).with_context(|| format!("{}", path.display()))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse_cli(&args) {
        Ok(Some(cli)) => cli,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarmgate: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let (mut cfg, base) = match load_static(&cli) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("swarmgate: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(level) = &cli.log_level {
        cfg.log.level = Some(level.clone());
    }
    match cli.command {
        Command::Check => check(&cfg, &base),
        Command::Run => run(cfg, base),
    }
}

fn check(cfg: &StaticConfig, base: &Path) -> ExitCode {
    let issues = swarmgate::app::check(cfg, base);
    if issues.is_empty() {
        println!("configuration OK: {} entrypoint(s)", cfg.entry_points.len());
        return ExitCode::SUCCESS;
    }
    for issue in &issues {
        println!("error: {issue}");
    }
    println!("{} problem(s) found", issues.len());
    ExitCode::FAILURE
}

fn run(cfg: StaticConfig, base: PathBuf) -> ExitCode {
    swarmgate::observe::log::init(&cfg.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("swarmgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let options = swarmgate::app::StartOptions {
            base_dir: Some(base),
        };
        let running = swarmgate::app::start(cfg, options).await?;
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "swarmgate started");
        wait_for_signal().await;
        tracing::info!("shutting down");
        running.shutdown().await;
        tracing::info!("stopped");
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "swarmgate failed");
            eprintln!("swarmgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
