//! The `swarmgate` binary: `run`, `check`, `migrate`, `version`. Thin: parses the command line,
//! picks the configuration source, and hands over to `swarmgate::app`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use swarmgate::config::load::{load_static, split_config_flag};
use swarmgate::config::traefik::{to_native_toml, LoadOptions, Loaded, Source};
use swarmgate::config::StaticConfig;

const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

const HELP: &str = "\
swarmgate — edge reverse proxy and load balancer for Docker Swarm (a drop-in for Traefik v3)

USAGE:
    swarmgate [run] [--config FILE] [TRAEFIK ARGUMENTS...]
    swarmgate check [--config FILE] [TRAEFIK ARGUMENTS...]
    swarmgate migrate [TRAEFIK ARGUMENTS...]
    swarmgate version

The static configuration comes from ONE source, as with Traefik: `--config FILE` (swarmgate's
own TOML/YAML), else a Traefik file (`--configFile=…`, /etc/traefik/traefik.yml, ./traefik.yml),
else Traefik-style arguments (`--entrypoints.web.address=:80 --providers.swarm …`), else
TRAEFIK_* environment variables. With none of them, swarmgate runs its embedded demo on :8080.

COMMANDS:
    run       serve (the default command)
    check     validate the static and dynamic configuration, print every problem, exit 1 on any
    migrate   print the native swarmgate TOML equivalent of a Traefik configuration
    version   print the version

OPTIONS:
    --config FILE       swarmgate's own static configuration (TOML or YAML)
    --log-level LEVEL   override the log level (DEBUG, INFO, WARN, ERROR)
    --strict            refuse to start when an option is not supported
";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run,
    Check,
    Migrate,
}

struct Cli {
    command: Command,
    log_level: Option<String>,
    strict: bool,
    /// Everything else: `--config F` and Traefik-style static configuration arguments.
    rest: Vec<String>,
}

fn parse_cli(args: &[String]) -> Result<Option<Cli>, String> {
    let (command, args) = match args.first().map(String::as_str) {
        Some("run") => (Command::Run, &args[1..]),
        Some("check") => (Command::Check, &args[1..]),
        Some("migrate") => (Command::Migrate, &args[1..]),
        Some("version" | "--version" | "-V") => {
            println!("swarmgate {}", env!("CARGO_PKG_VERSION"));
            return Ok(None);
        }
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            return Ok(None);
        }
        // Traefik images are often started as `traefik --entrypoints…`.
        Some("traefik") => (Command::Run, &args[1..]),
        _ => (Command::Run, args),
    };
    let mut cli = Cli {
        command,
        log_level: None,
        strict: false,
        rest: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if let Some(level) = arg.strip_prefix("--log-level=") {
            cli.log_level = Some(level.to_string());
        } else if arg == "--log-level" {
            cli.log_level = Some(it.next().cloned().ok_or("--log-level needs a value")?);
        } else if arg == "--strict" {
            cli.strict = true;
        } else {
            cli.rest.push(arg.clone());
        }
    }
    Ok(Some(cli))
}

/// Loads the static configuration from its one source, or the embedded default.
fn load(cli: &Cli) -> anyhow::Result<Loaded> {
    let cwd = std::env::current_dir().context("no current directory")?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let (native, traefik_args) = split_config_flag(&cli.rest)?;
    let options = LoadOptions { strict: cli.strict };
    match load_static(native.as_deref(), &traefik_args, &env, &cwd, options)? {
        Some(loaded) => Ok(loaded),
        None => {
            let config: StaticConfig =
                toml::from_str(DEFAULT_CONFIG).context("embedded default config")?;
            Ok(Loaded {
                config,
                source: Source::Default,
                unsupported: Vec::new(),
                ignored: Vec::new(),
            })
        }
    }
}

/// Where relative paths of the configuration are resolved from.
fn base_dir(source: &Source) -> PathBuf {
    match source {
        Source::File(path) | Source::Native(path) => {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        }
        Source::Args | Source::Env | Source::Default => PathBuf::from("."),
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
    let mut loaded = match load(&cli) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("swarmgate: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(level) = &cli.log_level {
        loaded.config.log.level = Some(level.clone());
    }
    let base = base_dir(&loaded.source);
    match cli.command {
        Command::Check => check(&loaded, &base),
        Command::Migrate => match to_native_toml(&loaded.config) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("swarmgate: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Run => run(loaded, base),
    }
}

fn check(loaded: &Loaded, base: &Path) -> ExitCode {
    let cfg = &loaded.config;
    println!("static configuration from {}", loaded.source);
    for option in &loaded.unsupported {
        println!("warning: unsupported option {option}");
    }
    for option in &loaded.ignored {
        println!("note: accepted and ignored: {option}");
    }
    let issues = swarmgate::app::check(cfg, base);
    if issues.is_empty() {
        println!("configuration OK: {} entrypoint(s)", cfg.entry_points.len());
        return ExitCode::SUCCESS;
    }
    for issue in &issues {
        // A warning says so itself (`ConfigIssue`'s Display).
        if issue.warning {
            println!("{issue}");
        } else {
            println!("error: {issue}");
        }
    }
    println!("{} problem(s) found", issues.len());
    ExitCode::FAILURE
}

fn run(loaded: Loaded, base: PathBuf) -> ExitCode {
    let cfg = loaded.config;
    swarmgate::observe::log::init(&cfg.log);
    tracing::info!(source = %loaded.source, "static configuration loaded");
    if !loaded.unsupported.is_empty() {
        let list: Vec<String> = loaded.unsupported.iter().map(ToString::to_string).collect();
        tracing::warn!(options = %list.join("; "), "unsupported options are not applied");
    }
    if !loaded.ignored.is_empty() {
        let list: Vec<String> = loaded.ignored.iter().map(ToString::to_string).collect();
        tracing::info!(options = %list.join("; "), "options accepted and ignored");
    }
    // On one CPU (also a cgroup quota of one CPU) a current-thread runtime does the same work with
    // less scheduling overhead: +20 % requests/s in bench/compare.sh's one-core setup (BENCHMARKS.md).
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_core {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
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
