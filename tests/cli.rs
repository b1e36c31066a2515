//! The `swarmgate` binary: `check`, `version`, `--help` of every command, `healthcheck`, typos and
//! unsupported options, `reusePort` across two processes.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn swarmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swarmgate"))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn version_prints_the_crate_version() {
    let out = swarmgate().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("swarmgate {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_rejects_a_bad_rule_with_its_column_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    broken:\n      rule: \"Host(`a.com`) && PathPrefix(`/x`\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers: [{url: \"http://127.0.0.1:1\"}]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("router \"broken@file\""), "{stdout}");
    assert!(stdout.contains("rule"), "{stdout}");
    assert!(
        stdout.contains("column"),
        "the error points at a column: {stdout}"
    );
}

#[test]
fn check_accepts_a_good_configuration() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.toml",
        "[http.routers.r]\nrule = \"Host(`a.com`)\"\nservice = \"s\"\n[http.services.s.loadBalancer]\nservers = [{url = \"http://127.0.0.1:1\"}]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.toml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn check_reports_references_to_missing_services_and_middlewares() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: nowhere\n    m:\n      rule: \"PathPrefix(`/m`)\"\n      service: demo@internal\n      middlewares: [missing]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("\"r@file\"") && stdout.contains("nowhere"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"m@file\"") && stdout.contains("missing"),
        "{stdout}"
    );
}

#[test]
fn the_shipped_example_configuration_checks_clean() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/swarmgate.example.toml");
    let out = swarmgate()
        .args(["check", "--config", cfg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_embedded_default_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = swarmgate()
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("static configuration from"), "{stdout}");
}

#[test]
fn migrate_prints_native_toml_for_traefik_arguments() {
    let out = swarmgate()
        .args([
            "migrate",
            "--entrypoints.web.address=:80",
            "--providers.swarm.exposedByDefault=false",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let parsed: swarmgate::config::StaticConfig = toml::from_str(&stdout).unwrap();
    assert_eq!(parsed.entry_points["web"].address, ":80");
    assert!(!parsed.providers.swarm.unwrap().exposed_by_default);
}

/// A Traefik v2 `{name:regexp}` group compiles (as in Traefik 3.7) and `check` says why it is
/// probably not what was meant, as a warning naming the column.
#[test]
fn check_warns_about_a_v2_regexp_group() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    css:\n      rule: \"PathRegexp(`^/{path:css}$`)\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers: [{url: \"http://127.0.0.1:1\"}]\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8080\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: router \"css@file\" (rule): column 12:"),
        "{stdout}"
    );
    assert!(stdout.contains("Traefik v2"), "{stdout}");
    assert!(!stdout.contains("error: warning"), "{stdout}");
}

/// Runs the binary with `args` in an empty directory; it must exit by itself within 10 s
/// (a command that started serving would not).
fn run_quick(args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = swarmgate()
        .args(args)
        .current_dir(dir.path())
        .env_remove("TRAEFIK_CONFIGFILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} did not exit: it serves");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_prints_its_help_and_never_serves() {
    let cases: &[(&[&str], &str)] = &[
        (&["--help"], "COMMANDS:"),
        (&["-h"], "COMMANDS:"),
        (&["run", "--help"], "swarmgate run"),
        (&["run", "-h"], "swarmgate run"),
        (
            &["--entrypoints.web.address=:80", "--help"],
            "swarmgate run",
        ),
        (&["check", "--help"], "swarmgate check"),
        (&["migrate", "--help"], "swarmgate migrate"),
        (&["healthcheck", "-h"], "swarmgate healthcheck"),
        (&["help", "check"], "swarmgate check"),
        (&["run", "--version"], "swarmgate "),
        (&["check", "-V"], "swarmgate "),
    ];
    for (args, want) in cases {
        let (code, stdout, _) = run_quick(args);
        assert_eq!(code, Some(0), "{args:?}: {stdout}");
        assert!(stdout.contains(want), "{args:?}: {stdout}");
    }
}

#[test]
fn an_unknown_command_lists_the_commands_and_suggests_the_nearest() {
    let (code, _, stderr) = run_quick(&["chek"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown command `chek`"), "{stderr}");
    assert!(stderr.contains("Did you mean `check`?"), "{stderr}");
    assert!(
        stderr.contains("run, check, migrate, healthcheck"),
        "{stderr}"
    );
}

#[test]
fn config_file_and_traefik_arguments_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "sg.toml",
        "[entryPoints.web]\naddress = \":1\"\n",
    );
    let cfg = cfg.to_str().unwrap();
    for command in ["run", "check"] {
        let (code, _, stderr) = run_quick(&[command, "--config", cfg, "--api.insecure"]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("ONE static configuration source"),
            "{stderr}"
        );
        assert!(stderr.contains("--api.insecure"), "{stderr}");
    }
}

#[test]
fn a_misspelled_option_stops_run_and_fails_check_with_a_suggestion() {
    let typo = "--providers.swarm.exposedbydefualt=false";
    let (code, _, stderr) = run_quick(&["--entrypoints.web.address=127.0.0.1:0", typo]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("did you mean `providers.swarm.exposedByDefault`?"),
        "{stderr}"
    );
    let (code, _, stderr) = run_quick(&["check", typo]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--providers.swarm.exposedbydefualt"),
        "{stderr}"
    );
}

#[test]
fn check_fails_on_unsupported_options_and_lists_them_on_request() {
    let (code, stdout, _) = run_quick(&[
        "check",
        "--entrypoints.web.address=127.0.0.1:0",
        "--accesslog.filters.statuscodes=500",
        "--metrics.otlp.http.endpoint=http://c:4318",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("--accesslog.filters.statuscodes"),
        "{stdout}"
    );
    assert!(stdout.contains("--metrics.otlp.http.endpoint"), "{stdout}");
    let (code, stdout, _) = run_quick(&["check", "--unsupported"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("  accessLog.filters.statusCodes\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("accessLog.fields.names.<name>  ("),
        "{stdout}"
    );
    assert!(
        !stdout.contains("  providers.swarm.exposedByDefault"),
        "{stdout}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn healthcheck_calls_ping_as_traefik_does_also_installed_as_traefik() {
    let port = free_port();
    let ep = format!("--entrypoints.traefik.address=127.0.0.1:{port}");
    let (code, stdout, _) = run_quick(&["healthcheck", "--ping", &ep]);
    assert_eq!(code, Some(1), "nothing listens yet: {stdout}");
    assert!(stdout.starts_with("Error calling healthcheck:"), "{stdout}");
    let (code, stdout, _) = run_quick(&["healthcheck", &ep]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("please enable `ping`"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let mut server = swarmgate()
        .args(["--ping", &ep])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The same binary under the name `traefik`, as the image ships it.
    let traefik = dir.path().join("traefik");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_swarmgate"), &traefik).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let out = loop {
        let out = Command::new(&traefik)
            .args(["healthcheck", "--ping", &ep])
            .current_dir(dir.path())
            .output()
            .unwrap();
        if out.status.success() || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.trim(), format!("OK: http://127.0.0.1:{port}/ping"));
}

/// `swarmgate run` on the host network as an edge task: ping on the `web` entrypoint.
fn edge(port: u16, reuse: bool, dir: &std::path::Path) -> std::process::Child {
    swarmgate()
        .args([
            format!("--entrypoints.web.address=127.0.0.1:{port}"),
            format!("--entrypoints.web.reusePort={reuse}"),
            "--ping.entrypoint=web".to_string(),
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn ping_ok(port: u16) -> bool {
    let ep = format!("--entrypoints.web.address=127.0.0.1:{port}");
    let out = swarmgate()
        .args(["healthcheck", "--ping.entrypoint=web", &ep])
        .output()
        .unwrap();
    out.status.success()
}

fn wait_for(secs: u64, what: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if what() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// The rolling update of the edge (docs/swarm.md): with `reusePort` a second process binds the
/// same port while the first still serves, and keeps serving once the first is gone.
#[test]
fn reuse_port_lets_a_second_process_take_over_the_port() {
    for reuse in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut old = edge(port, reuse, dir.path());
        assert!(wait_for(20, || ping_ok(port)), "the first edge serves");
        let mut new = edge(port, reuse, dir.path());
        // Let the second one bind (or fail to).
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let _ = old.kill();
        let _ = old.wait();
        let served = wait_for(if reuse { 20 } else { 3 }, || ping_ok(port));
        let _ = new.kill();
        let _ = new.wait();
        assert_eq!(
            served, reuse,
            "reusePort={reuse}: the second edge serves alone"
        );
    }
}

#[test]
fn check_reports_tls_options_that_cannot_be_applied() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dynamic.yml",
        "http:\n  routers:\n    old:\n      rule: \"Host(`old.test`)\"\n      service: demo@internal\n      tls: { options: legacy }\n    typo:\n      rule: \"Host(`typo.test`)\"\n      service: demo@internal\n      tls: { options: modren }\ntls:\n  options:\n    legacy:\n      cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n    modern:\n      minVersion: VersionTLS13\n",
    );
    let cfg = write(
        dir.path(),
        "swarmgate.toml",
        "[entryPoints.web]\naddress = \":8443\"\n[providers.file]\nfilename = \"dynamic.yml\"\n",
    );
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for needle in [
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not available",
        "\"old@file\"",
        "\"modren@file\" do not exist",
    ] {
        assert!(stdout.contains(needle), "{needle} not in {stdout}");
    }
}

/// `check --stack FILE [ARGS]`: stdout and exit code, from the repository root.
fn check_stack(stacks: &[&str], args: &[&str], stdin: Option<&str>) -> (Option<i32>, String) {
    use std::io::Write as _;
    let mut cmd = swarmgate();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).arg("check");
    for stack in stacks {
        cmd.args(["--stack", stack]);
    }
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn check_stack_passes_the_repository_stacks_and_a_published_quick_start() {
    for stack in [
        "docker-stack.yml",
        "docker-stack-ha.yml",
        "tests/stacks/whoami-dashboard.yml",
    ] {
        let (code, out) = check_stack(&[stack], &[], None);
        assert_eq!(code, Some(0), "{stack}: {out}");
        // The edge's own `command:` is the static configuration when no other is given.
        assert!(
            out.contains("static configuration from the command: of service"),
            "{stack}: {out}"
        );
        assert!(out.contains("configuration OK"), "{stack}: {out}");
    }
}

#[test]
fn check_stack_reads_the_static_configuration_from_the_other_arguments() {
    // Portainer's published stack has no edge: its routers need `websecure` and resolver `le`.
    let (code, out) = check_stack(&["tests/stacks/portainer.yml"], &[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("entrypoint \"websecure\" does not exist"),
        "{out}"
    );
    let (code, out) = check_stack(
        &["tests/stacks/portainer.yml"],
        &["--entrypoints.websecure.address=:443"],
        None,
    );
    assert_eq!(code, Some(1), "{out}");
    for router in ["portainer", "edge"] {
        let label = format!("label traefik.http.routers.{router}.tls.certresolver");
        assert!(
            out.contains(&label) && out.contains("certificate resolver \"le\" does not exist"),
            "{out}"
        );
    }
    let (code, out) = check_stack(
        &["tests/stacks/portainer.yml"],
        &[
            "--entrypoints.websecure.address=:443",
            "--certificatesresolvers.le.acme.tlschallenge=true",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn check_stack_names_service_label_and_column_of_every_problem_in_one_pass() {
    let (code, out) = check_stack(&["tests/stacks/typos.yml"], &[], None);
    assert_eq!(code, Some(1), "{out}");
    let expect = [
        // A misspelled matcher: its column.
        "service \"blog\", label traefik.http.routers.blog.rule: invalid rule",
        "column 29: unknown matcher `PathPrefx`",
        // A middleware no service defines, although the router's rule is broken too.
        "service \"blog\", label traefik.http.routers.blog.middlewares: middleware \"secure-headers\" is defined nowhere",
        // An unknown label key, with the nearest one.
        "service \"shop\", label traefik.http.routers.shop.rul: unknown label key `rul`; did you mean `rule`?",
        // One router name in two services with different rules: Traefik drops it.
        "router defined multiple times with different configurations in admin, shop",
        // traefik.enable as a container label, with exposedByDefault=false.
        "service \"api\", label traefik.enable: a container label",
        "service \"api\", label traefik.enable: has traefik labels but no `traefik.enable=true`",
        // No port label, no published port: no port detection in Swarm.
        "service \"worker\", label traefik.http.services.<name>.loadbalancer.server.port: no",
    ];
    for line in expect {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(out.contains("tests/stacks/typos.yml: "), "{out}");
}

#[test]
fn check_stack_reads_several_stacks_and_stdin() {
    // `docker stack config -c a.yml -c b.yml | swarmgate check --stack -`.
    let typos = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stacks/typos.yml"),
    )
    .unwrap();
    let (code, out) = check_stack(
        &["tests/stacks/whoami-dashboard.yml", "-"],
        &[],
        Some(&typos),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("<stdin>: service \"shop\", label traefik.http.routers.shop.rul"),
        "{out}"
    );
    // The edge of the first file gives the static configuration (exposedByDefault=false).
    assert!(
        out.contains("service \"traefik\" in tests/stacks/whoami-dashboard.yml"),
        "{out}"
    );
    let (code, out) = check_stack(&["tests/stacks/nosuch.yml"], &[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("nosuch.yml"), "{out}");
}

#[test]
fn check_reports_every_bad_value_at_once_with_where_it_was_written() {
    let (code, stdout, stderr) = run_quick(&[
        "check",
        "--entrypoints.web.address=:80",
        "--providers.swarm.exposedByDefault=maybe",
        "--entrypoints.web.transport.respondingTimeouts.readTimeout=xyz",
        "--providers.swarm.exposedbydefualt=false",
    ]);
    // A value that is not a boolean used to stop loading before the others were looked at.
    let out = format!("{stdout}{stderr}");
    assert_eq!(code, Some(1), "{out}");
    for want in [
        "3 problems",
        "--providers.swarm.exposedByDefault: invalid value \"maybe\": expected a boolean",
        "--entrypoints.web.transport.respondingTimeouts.readTimeout: invalid value \"xyz\"",
        "--providers.swarm.exposedbydefualt: not a Traefik option; did you mean",
    ] {
        assert!(out.contains(want), "missing {want:?} in {out}");
    }
}

/// A Traefik v2 Swarm stack as published (`providers.docker.swarmMode`, v2 rules in labels) passes
/// `check` with the one line Traefik 3 needs too, `--core.defaultRuleSyntax=v2`; without it, each
/// v2 rule is an error that names the way out.
#[test]
fn a_v2_stack_checks_clean_with_core_default_rule_syntax_v2() {
    let (code, out) = check_stack(&["tests/stacks/traefik-v2.yml"], &[], None);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("configuration OK"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let stack = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stacks/traefik-v2.yml"),
    )
    .unwrap()
    .replace("      - --core.defaultRuleSyntax=v2\n", "");
    let without = write(dir.path(), "v2-as-published.yml", &stack);
    let (code, out) = check_stack(&[without.to_str().unwrap()], &[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("routers.whoami.rule: invalid rule")
            && out.contains("core.defaultRuleSyntax v2"),
        "{out}"
    );
    assert!(out.contains("unknown matcher `Headers`"), "{out}");
    // A router with its own `ruleSyntax=v2` label needs no static option.
    assert!(!out.contains("whoami-legacy"), "{out}");
}
