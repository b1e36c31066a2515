//! The `swarmgate` binary: `run`, `check`, `migrate`, `healthcheck`, `version`. Thin: parses the command line,
//! picks the configuration source, and hands over to `swarmgate::app`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use swarmgate::config::load::{load_static, load_static_collecting, split_config_flag};
use swarmgate::config::traefik::{
    to_native_toml, traefik_options, LoadOptions, Loaded, Source, StaticConfigError, Support,
};
use swarmgate::config::StaticConfig;
use swarmgate::stack::{http3_ports, parse_stack, stack_config, StackIssue, StackService};

const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

const HELP: &str = "\
swarmgate — edge reverse proxy and load balancer for Docker Swarm (a drop-in for Traefik v3)

USAGE:
    swarmgate [run] [--config FILE] [TRAEFIK ARGUMENTS...]
    swarmgate check [--unsupported] [--stack FILE|-]... [--config FILE] [TRAEFIK ARGUMENTS...]
    swarmgate migrate [TRAEFIK ARGUMENTS...]
    swarmgate healthcheck [TRAEFIK ARGUMENTS...]
    swarmgate version
    swarmgate <COMMAND> --help

The static configuration comes from ONE source, as with Traefik: `--config FILE` (swarmgate's
own TOML/YAML), else a Traefik file (`--configFile=…`, /etc/traefik/traefik.yml, ./traefik.yml),
else Traefik-style arguments (`--entrypoints.web.address=:80 --providers.swarm …`), else
TRAEFIK_* environment variables (`TRAEFIK_X_FILE=path` reads the value of X from a file).
With none of them, swarmgate runs its embedded demo on :8080. Installed as `traefik`, the binary
behaves the same.

COMMANDS:
    run          serve (the default command)
    check        validate the static and dynamic configuration, print every problem, exit 1 on any
    migrate      print the native swarmgate TOML equivalent of a Traefik configuration
    healthcheck  call the ping endpoint (as `traefik healthcheck --ping`); exit 0 on 200, else 1
    version      print the version

OPTIONS:
    --config FILE       swarmgate's own static configuration (TOML or YAML)
    --log-level LEVEL   override the log level (DEBUG, INFO, WARN, ERROR)
    --strict            refuse to start when an option is not supported
    -h, --help          print help (also after a command)
    -V, --version       print the version
";

const RUN_HELP: &str = "\
swarmgate run — serve (the default command)

USAGE:
    swarmgate [run] [--config FILE | TRAEFIK ARGUMENTS...] [--log-level LEVEL] [--strict]

A word that is not a Traefik option (a typo) stops it before it listens, naming where it was
written and the nearest option. A Traefik option swarmgate does not implement is logged as a
warning (one line per option), or stops it when leaving it out would weaken protection.
`swarmgate check --unsupported` lists them.
";

const CHECK_HELP: &str = "\
swarmgate check — validate the static and dynamic configuration without serving

USAGE:
    swarmgate check [--config FILE | TRAEFIK ARGUMENTS...]
    swarmgate check --stack docker-stack.yml [--stack other.yml | --stack -]... [STATIC CONFIG]
    swarmgate check --unsupported

Prints every problem and exits 1 on any, including Traefik options swarmgate does not
implement. `--unsupported` prints every Traefik static option swarmgate does not apply.

`--stack FILE` (several allowed; `-` reads stdin, e.g. `docker stack config -c a.yml -c b.yml |
swarmgate check --stack -`) also checks every service's `deploy.labels` offline, with the label
compiler of the Swarm provider, against the static configuration from the other arguments. With
no other static source, the `command:` of the stack's edge service (image `traefik` or
`swarmgate`) is used. Each problem names its service and label; warnings (what Traefik would
silently ignore) count as problems.
";

const MIGRATE_HELP: &str = "\
swarmgate migrate — print the native swarmgate TOML equivalent of a Traefik configuration

USAGE:
    swarmgate migrate [TRAEFIK ARGUMENTS...] [--stack FILE]...

Traefik v2 Swarm options (`--providers.docker.swarmMode` with `network`, `exposedByDefault`, …)
come out as `providers.swarm`. With `--stack`, the services' v2 labels (`traefik.docker.network`,
`traefik.docker.lbswarm`, `ipWhiteList` middlewares) follow in their v3 spelling, as comments.
";

const HEALTHCHECK_HELP: &str = "\
swarmgate healthcheck — call the ping endpoint, as `traefik healthcheck`

USAGE:
    swarmgate healthcheck [TRAEFIK ARGUMENTS...]        (e.g. `traefik healthcheck --ping`)

Reads the static configuration from the same sources as `run`, sends HEAD /ping to the
entrypoint of `ping` (`traefik`, :8080, by default) and exits 0 when it answers 200, 1 otherwise.
";

/// The commands, for the help and for suggestions.
const COMMANDS: &[&str] = &["run", "check", "migrate", "healthcheck", "version", "help"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Run,
    Check,
    Migrate,
    Healthcheck,
}

impl Command {
    fn parse(word: &str) -> Option<Command> {
        match word {
            "run" => Some(Command::Run),
            "check" => Some(Command::Check),
            "migrate" => Some(Command::Migrate),
            "healthcheck" => Some(Command::Healthcheck),
            _ => None,
        }
    }

    fn help(self) -> &'static str {
        match self {
            Command::Run => RUN_HELP,
            Command::Check => CHECK_HELP,
            Command::Migrate => MIGRATE_HELP,
            Command::Healthcheck => HEALTHCHECK_HELP,
        }
    }
}

struct Cli {
    command: Command,
    log_level: Option<String>,
    strict: bool,
    /// `check --unsupported`: list the Traefik options swarmgate does not apply.
    list_unsupported: bool,
    /// `check --stack FILE` (`-` is stdin), in order.
    stacks: Vec<String>,
    /// Everything else: `--config F` and Traefik-style static configuration arguments.
    rest: Vec<String>,
}

/// What the command line asks for.
enum Parsed {
    Cli(Cli),
    /// Print this (help, version) and exit 0; nothing listens.
    Print(String),
}

fn version() -> String {
    format!("swarmgate {}\n", env!("CARGO_PKG_VERSION"))
}

fn unknown_command(word: &str) -> String {
    let nearest = COMMANDS
        .iter()
        .map(|c| (swarmgate::config::traefik::edit_distance(word, c), c))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 2)
        .map(|(_, c)| format!(" Did you mean `{c}`?"))
        .unwrap_or_default();
    format!(
        "unknown command `{word}`.{nearest}\ncommands: {}\n(`swarmgate --help` for more)",
        COMMANDS.join(", ")
    )
}

fn parse_cli(args: &[String]) -> Result<Parsed, String> {
    // Traefik images are often started as `traefik --entrypoints…`.
    let args = match args.first() {
        Some(first) if first == "traefik" => &args[1..],
        _ => args,
    };
    let (command, args) = match args.first().map(String::as_str) {
        Some("version" | "--version" | "-V") => return Ok(Parsed::Print(version())),
        Some("help" | "--help" | "-h") => {
            let text = match args.get(1).and_then(|w| Command::parse(w)) {
                Some(c) => c.help(),
                None => HELP,
            };
            return Ok(Parsed::Print(text.to_string()));
        }
        Some(word) => match Command::parse(word) {
            Some(c) => (c, &args[1..]),
            None if word.starts_with('-') => (Command::Run, args),
            None => return Err(unknown_command(word)),
        },
        None => (Command::Run, args),
    };
    let mut cli = Cli {
        command,
        log_level: None,
        strict: false,
        list_unsupported: false,
        stacks: Vec::new(),
        rest: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Parsed::Print(command.help().to_string()));
        } else if arg == "--version" || arg == "-V" {
            return Ok(Parsed::Print(version()));
        } else if let Some(level) = arg.strip_prefix("--log-level=") {
            cli.log_level = Some(level.to_string());
        } else if arg == "--log-level" {
            cli.log_level = Some(it.next().cloned().ok_or("--log-level needs a value")?);
        } else if arg == "--strict" {
            cli.strict = true;
        } else if let (Some(file), Command::Check | Command::Migrate) =
            (arg.strip_prefix("--stack="), command)
        {
            cli.stacks.push(file.to_string());
        } else if arg == "--stack" && matches!(command, Command::Check | Command::Migrate) {
            cli.stacks.push(
                it.next()
                    .cloned()
                    .ok_or("--stack needs a file (or - for stdin)")?,
            );
        } else if arg == "--unsupported" && command == Command::Check {
            cli.list_unsupported = true;
        } else {
            cli.rest.push(arg.clone());
        }
    }
    Ok(Parsed::Cli(cli))
}

/// `--config FILE` and Traefik arguments together: refused, saying which source would be used.
fn one_source(native: &Path, traefik_args: &[String]) -> Result<(), String> {
    if traefik_args.is_empty() {
        return Ok(());
    }
    Err(format!(
        "`--config {}` and Traefik arguments ({}) were both given. swarmgate reads ONE static \
         configuration source: with `--config` it is {}, and the arguments would be ignored. \
         Remove the arguments, or `--config` to use them.",
        native.display(),
        traefik_args.join(" "),
        native.display()
    ))
}

/// Loads the static configuration from its one source, or the embedded default. For `check`
/// (`collect`), the problems of the options come back beside the configuration read from
/// everything else (so the dynamic configuration is still checked); otherwise they are the error.
fn load(cli: &Cli, collect: bool) -> anyhow::Result<(Loaded, Vec<StaticConfigError>)> {
    let cwd = std::env::current_dir().context("no current directory")?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let (native, traefik_args) = split_config_flag(&cli.rest)?;
    if let Some(native) = &native {
        one_source(native, &traefik_args).map_err(anyhow::Error::msg)?;
    }
    let options = LoadOptions { strict: cli.strict };
    let found = if collect {
        load_static_collecting(native.as_deref(), &traefik_args, &env, &cwd, options)?
    } else {
        load_static(native.as_deref(), &traefik_args, &env, &cwd, options)?
            .map(|loaded| (loaded, Vec::new()))
    };
    match found {
        Some(found) => Ok(found),
        None => {
            let config: StaticConfig =
                toml::from_str(DEFAULT_CONFIG).context("embedded default config")?;
            Ok((
                Loaded {
                    config,
                    source: Source::Default,
                    unsupported: Vec::new(),
                    ignored: Vec::new(),
                    deprecated: Vec::new(),
                },
                Vec::new(),
            ))
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
        Ok(Parsed::Cli(cli)) => cli,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("swarmgate: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.list_unsupported {
        return list_unsupported();
    }
    let (mut loaded, static_problems) = match load(&cli, cli.command == Command::Check) {
        Ok(found) => found,
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
        Command::Check if !cli.stacks.is_empty() => {
            check_stacks(&cli, loaded, static_problems, &base)
        }
        Command::Check => check(&loaded, &static_problems, &base),
        Command::Migrate => match to_native_toml(&loaded.config) {
            Ok(text) => {
                print!("{text}");
                migrate_labels(&cli.stacks)
            }
            Err(e) => {
                eprintln!("swarmgate: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Healthcheck => match swarmgate::healthcheck::healthcheck(&loaded.config) {
            Ok(url) => {
                println!("OK: {url}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Run => run(loaded, base),
    }
}

/// `check --unsupported`: every Traefik static option swarmgate does not apply.
fn list_unsupported() -> ExitCode {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let options = traefik_options();
    let mut out = String::from(
        "Traefik 3.7 static options swarmgate refuses to start with (leaving them out would weaken protection):\n",
    );
    for (option, support) in &options {
        if let Support::Refused(why) = support {
            let _ = writeln!(out, "  {option}  ({why})");
        }
    }
    out.push_str("\nTraefik 3.7 static options swarmgate does not implement (one warning each at start; `check` exits 1):\n");
    for (option, support) in &options {
        if *support == Support::Unsupported {
            let _ = writeln!(out, "  {option}");
        }
    }
    out.push_str("\nAccepted without effect:\n");
    for (option, support) in &options {
        if let Support::Ignored(why) = support {
            let _ = writeln!(out, "  {option}  ({why})");
        }
    }
    // Dynamic (HTTP) options: a service or middleware that uses one is refused, so the routers
    // using it are closed (503) and `check` reports it.
    out.push_str(
        "\nTraefik 3.7 HTTP middleware types swarmgate refuses (their routers answer 503):\n",
    );
    for kind in swarmgate::config::elements::TRAEFIK_ONLY_MIDDLEWARES {
        let _ = writeln!(out, "  http.middlewares.<name>.{kind}");
    }
    out.push_str("\nTraefik 3.7 HTTP service options swarmgate refuses (the service is refused, its routers answer 503):\n");
    for (key, why) in swarmgate::config::elements::unimplemented::REFUSED_SERVICE_OPTIONS {
        let _ = writeln!(out, "  http.services.<name>.{key}  ({why})");
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

/// The problems of the static options, one line each (`Several` and `Refused` unfolded); their
/// number.
fn print_static_problems(problems: &[StaticConfigError]) -> usize {
    let mut n = 0;
    for problem in problems {
        match problem {
            StaticConfigError::Several(inner) => n += print_static_problems(inner),
            StaticConfigError::Refused(options) => {
                for option in options {
                    println!("error: {option}");
                    n += 1;
                }
            }
            other => {
                println!("error: {other}");
                n += 1;
            }
        }
    }
    n
}

fn check(loaded: &Loaded, static_problems: &[StaticConfigError], base: &Path) -> ExitCode {
    let cfg = &loaded.config;
    println!("static configuration from {}", loaded.source);
    let static_count = print_static_problems(static_problems);
    for option in &loaded.ignored {
        println!("note: accepted and ignored: {option}");
    }
    for option in &loaded.deprecated {
        println!("warning: {option}");
    }
    for option in &loaded.unsupported {
        println!("error: unsupported option {option}");
    }
    // The dynamic configuration is checked even when the static one has problems: against what
    // of it could be read, so every problem shows in one pass.
    let issues = swarmgate::app::check(cfg, base);
    // Warnings (deprecated spellings still applied) are printed but are not problems: a v2 stack that
    // swarmgate serves as Traefik would passes `check`, as it does without `--stack`.
    let errors = issues.iter().filter(|i| !i.warning).count();
    let problems = errors + loaded.unsupported.len() + static_count;
    for issue in &issues {
        // A warning says so itself (`ConfigIssue`'s Display).
        if issue.warning {
            println!("{issue}");
        } else {
            println!("error: {issue}");
        }
    }
    if problems == 0 {
        println!("configuration OK: {} entrypoint(s)", cfg.entry_points.len());
        return ExitCode::SUCCESS;
    }
    println!("{problems} problem(s) found");
    ExitCode::FAILURE
}

/// `migrate --stack FILE`: the services' v2 labels in their v3 spelling, as TOML comments after
/// the static configuration (so the output still reads as TOML).
fn migrate_labels(stacks: &[String]) -> ExitCode {
    if stacks.is_empty() {
        return ExitCode::SUCCESS;
    }
    let stacks = match read_stacks(stacks) {
        Ok(stacks) => stacks,
        Err(e) => {
            eprintln!("swarmgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("\n# Labels written in Traefik v2 spellings, in their v3 form (deploy.labels):");
    let mut any = false;
    for (file, services) in stacks {
        for svc in services {
            let changed: Vec<(String, String, &String)> = svc
                .labels
                .iter()
                .filter_map(|(k, v)| {
                    swarmgate::config::deprecation::v3_label(k).map(|v3| (k.clone(), v3, v))
                })
                .collect();
            if changed.is_empty() {
                continue;
            }
            any = true;
            println!("# service {:?} ({file}):", svc.name);
            for (v2, v3, value) in changed {
                println!("#   - \"{v3}={value}\"    (was {v2})");
            }
        }
    }
    if !any {
        println!("# (none)");
    }
    ExitCode::SUCCESS
}

/// Reads the stack files of `check --stack` (`-` is stdin), in order.
fn read_stacks(files: &[String]) -> Result<Vec<(String, Vec<StackService>)>, String> {
    use std::io::Read as _;
    let mut out = Vec::new();
    for file in files {
        let (label, text) = if file == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("stdin: {e}"))?;
            ("<stdin>".to_string(), text)
        } else {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            (file.clone(), text)
        };
        let services = parse_stack(&text).map_err(|e| format!("{label}: {e}"))?;
        out.push((label, services));
    }
    Ok(out)
}

/// The file provider's paths of an edge's `command:` are paths inside its container: read them
/// where the edge's bind mounts take them from (`./dynamic:/dynamic` → `<stack dir>/dynamic`).
fn mount_file_provider(cfg: &mut StaticConfig, edge: &StackService, stack_dir: &Path) {
    let Some(file) = cfg.providers.file.as_mut() else {
        return;
    };
    for path in [&mut file.filename, &mut file.directory]
        .into_iter()
        .flatten()
    {
        if let Some(host) = edge.host_path(Path::new(path.as_str()), stack_dir) {
            println!(
                "note: providers.file {path} is read from {} (a volume of service {:?})",
                host.display(),
                edge.name
            );
            *path = host.display().to_string();
        }
    }
}

/// `check --stack`: the static configuration (from the other arguments or, with none, the stack's
/// edge service `command:`), then every service's labels, merged and compiled as `run` would.
fn check_stacks(
    cli: &Cli,
    mut loaded: Loaded,
    mut static_problems: Vec<StaticConfigError>,
    base: &Path,
) -> ExitCode {
    let stacks = match read_stacks(&cli.stacks) {
        Ok(stacks) => stacks,
        Err(e) => {
            eprintln!("swarmgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut services: Vec<StackService> = Vec::new();
    let mut file_of: Vec<String> = Vec::new();
    for (file, found) in stacks {
        for svc in found {
            file_of.push(file.clone());
            services.push(svc);
        }
    }
    if loaded.source == Source::Default {
        if let Some((i, edge)) = services
            .iter()
            .enumerate()
            .find(|(_, s)| s.is_edge() && s.command.is_some())
        {
            let args = edge.command.clone().unwrap_or_default();
            let cwd = base.to_path_buf();
            match swarmgate::config::traefik::load_traefik_collecting(
                &args,
                &[],
                &cwd,
                LoadOptions::default(),
            ) {
                Ok((from_stack, problems)) => {
                    println!(
                        "static configuration from the command: of service {:?} in {}",
                        edge.name, file_of[i]
                    );
                    loaded = from_stack;
                    loaded.source = Source::Args;
                    let stack_dir = Path::new(&file_of[i])
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    mount_file_provider(&mut loaded.config, edge, &stack_dir);
                    if !problems.is_empty() {
                        println!(
                            "service {:?} in {} (command:) has problems:",
                            edge.name, file_of[i]
                        );
                    }
                    static_problems = problems;
                }
                Err(e) => {
                    println!(
                        "error: service {:?} in {} (command:): {e}",
                        edge.name, file_of[i]
                    );
                    println!("1 problem(s) found");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            println!(
                "static configuration from defaults (no edge service with a command: in the stack)"
            );
        }
    } else {
        println!("static configuration from {}", loaded.source);
    }
    let static_count = print_static_problems(&static_problems);
    for option in &loaded.ignored {
        println!("note: accepted and ignored: {option}");
    }
    for option in &loaded.deprecated {
        println!("warning: {option}");
    }
    for option in &loaded.unsupported {
        println!("error: unsupported option {option}");
    }
    let (swarm, mut issues) = stack_config(&services, &loaded.config);
    issues.extend(http3_ports(&services, &loaded.config));
    let found = swarmgate::app::check_with(&loaded.config, base, Some(swarm));
    for issue in found {
        let said = |i: &StackIssue| {
            i.issue.name == issue.name
                && (i.issue.message == issue.message
                    || (issue.key.as_deref() == Some("middlewares") && i.issue.key == issue.key))
        };
        if issues.iter().any(said) {
            continue;
        }
        let issue = if issue.name.ends_with("@swarm") {
            StackIssue::from_issue(&services, issue)
        } else {
            StackIssue {
                service: None,
                label: None,
                issue,
            }
        };
        issues.push(issue);
    }
    // Warnings (deprecated spellings still applied) are printed but are not problems: a v2 stack that
    // swarmgate serves as Traefik would passes `check`, as it does without `--stack`.
    let errors = issues.iter().filter(|i| !i.issue.warning).count();
    let problems = errors + loaded.unsupported.len() + static_count;
    let index = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| services.iter().position(|s| &s.name == n))
    };
    for issue in &issues {
        let file = index(&issue.service)
            .map(|i| format!("{}: ", file_of[i]))
            .unwrap_or_default();
        if issue.issue.warning {
            println!("{file}{issue}");
        } else {
            println!("error: {file}{issue}");
        }
    }
    for (i, svc) in services.iter().enumerate() {
        for label in svc.labels.keys() {
            if let Some(v3) = swarmgate::config::deprecation::v3_label(label) {
                println!(
                    "warning: {}: service {:?}: label {label}: deprecated Traefik v2 spelling, still applied: write {v3} instead",
                    file_of[i], svc.name
                );
            }
        }
    }
    if problems == 0 {
        let labelled = services
            .iter()
            .filter(|s| s.labels.keys().any(|k| k.starts_with("traefik.")))
            .count();
        println!(
            "configuration OK: {} entrypoint(s), {} service(s), {labelled} with traefik labels",
            loaded.config.entry_points.len(),
            services.len()
        );
        return ExitCode::SUCCESS;
    }
    println!("{problems} problem(s) found");
    ExitCode::FAILURE
}

fn run(loaded: Loaded, base: PathBuf) -> ExitCode {
    let cfg = loaded.config;
    swarmgate::observe::log::init(&cfg.log);
    tracing::info!(source = %loaded.source, "static configuration loaded");
    for option in &loaded.unsupported {
        tracing::warn!(option = %option, "unsupported option, not applied");
    }
    // Read once at start: one notice per option.
    for option in &loaded.deprecated {
        tracing::warn!(option = %option, "deprecated option, applied under its v3 name");
    }
    let static_issues: Vec<_> = loaded
        .unsupported
        .iter()
        .map(|option| option.to_issue())
        .collect();
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
            static_issues,
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
