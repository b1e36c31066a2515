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

/// `swarmgate check --config <config>` in a fresh directory holding `config` (its name and
/// text) and `files` (e.g. the file provider's `dynamic.yml`): exit code and stdout.
fn check_config(config: (&str, &str), files: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    let cfg = write(dir.path(), config.0, config.1);
    let out = swarmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The native file of most `check` tests: `web` on `address`, the file provider on `dynamic`.
fn native_with_file(address: &str, dynamic: &str) -> String {
    format!(
        "[entryPoints.web]\naddress = \"{address}\"\n[providers.file]\nfilename = \"{dynamic}\"\n"
    )
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
    let (code, stdout) = check_config(
        ("swarmgate.toml", &native_with_file(":8080", "dynamic.yml")),
        &[("dynamic.yml", "http:\n  routers:\n    broken:\n      rule: \"Host(`a.com`) && PathPrefix(`/x`\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers: [{url: \"http://127.0.0.1:1\"}]\n")],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("router \"broken@file\""), "{stdout}");
    assert!(stdout.contains("rule"), "{stdout}");
    assert!(
        stdout.contains("column"),
        "the error points at a column: {stdout}"
    );
}

#[test]
fn check_validates_tcp_routers_and_keeps_the_http_ones() {
    let dynamic = r#"http:
  routers:
    web:
      rule: "Host(`a.com`)"
      service: s
  services:
    s:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:1"}]
tcp:
  routers:
    pg:
      rule: "HostSNI(`db.test`)"
      service: pg
      tls: {passthrough: true}
    typo:
      rule: "HostSNI(`*`)"
      service: pg
      middlewares: [lan]
  middlewares:
    lan:
      ipAlowList: {sourceRange: ["10.0.0.0/8"]}
  services:
    pg:
      loadBalancer:
        servers: [{address: "127.0.0.1:5432"}]
"#;
    let (code, stdout) = check_config(
        ("swarmgate.toml", &native_with_file(":8080", "dynamic.yml")),
        &[("dynamic.yml", dynamic)],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("did you mean `ipAllowList`"), "{stdout}");
    assert!(
        stdout.contains("\"typo@file\"") && stdout.contains("closed"),
        "the router using it is closed: {stdout}"
    );
    assert!(!stdout.contains("\"pg@file\""), "{stdout}");
    assert!(!stdout.contains("\"web@file\""), "{stdout}");
}

#[test]
fn check_accepts_a_good_configuration() {
    let (code, stdout) = check_config(
        ("swarmgate.toml", &native_with_file(":8080", "dynamic.toml")),
        &[("dynamic.toml", "[http.routers.r]\nrule = \"Host(`a.com`)\"\nservice = \"s\"\n[http.services.s.loadBalancer]\nservers = [{url = \"http://127.0.0.1:1\"}]\n")],
    );
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn check_reports_references_to_missing_services_and_middlewares() {
    let (code, stdout) = check_config(
        ("swarmgate.toml", &native_with_file(":8080", "dynamic.yml")),
        &[("dynamic.yml", "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: nowhere\n    m:\n      rule: \"PathPrefix(`/m`)\"\n      service: demo@internal\n      middlewares: [missing]\n")],
    );
    assert_eq!(code, Some(1), "{stdout}");
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
    let (_, stdout) = check_config(
        ("swarmgate.toml", &native_with_file(":8080", "dynamic.yml")),
        &[("dynamic.yml", "http:\n  routers:\n    css:\n      rule: \"PathRegexp(`^/{path:css}$`)\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers: [{url: \"http://127.0.0.1:1\"}]\n")],
    );
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
    // `check` lists it with the other problems (stdout) and exits 1.
    let (code, stdout, _) = run_quick(&["check", typo]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("error: command-line arguments: --providers.swarm.exposedbydefualt"),
        "{stdout}"
    );
}

#[test]
fn check_fails_on_unsupported_options_and_lists_them_on_request() {
    let (code, stdout, _) = run_quick(&[
        "check",
        "--entrypoints.web.address=127.0.0.1:0",
        "--accesslog.dualoutput=true",
        "--metrics.prometheus.headerlabels.tenant=X-Tenant",
        "--metrics.otlp.http.endpoint=http://c:4318",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("--accesslog.dualoutput"), "{stdout}");
    assert!(
        stdout.contains("--metrics.prometheus.headerlabels.tenant"),
        "{stdout}"
    );
    // Implemented now (issue 23 §2): not listed.
    assert!(!stdout.contains("--metrics.otlp.http.endpoint"), "{stdout}");
    let (code, stdout, _) = run_quick(&["check", "--unsupported"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("  accessLog.dualoutput\n"), "{stdout}");
    assert!(
        stdout.contains("accessLog.fields.queryparameters.defaultmode  ("),
        "{stdout}"
    );
    // Implemented now (issue 23 §3, §2): not listed.
    assert!(
        !stdout.contains("accessLog.filters.statusCodes"),
        "{stdout}"
    );
    assert!(!stdout.contains("  metrics.otlp.http.endpoint"), "{stdout}");
    assert!(!stdout.contains("  metrics.datadog.address"), "{stdout}");
    assert!(!stdout.contains("  metrics.influxDB2.token"), "{stdout}");
    assert!(!stdout.contains("  metrics.statsD.address"), "{stdout}");
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
    let (code, stdout) = check_config(
        ("swarmgate.toml", &native_with_file(":8443", "dynamic.yml")),
        &[("dynamic.yml", "http:\n  routers:\n    old:\n      rule: \"Host(`old.test`)\"\n      service: demo@internal\n      tls: { options: legacy }\n    typo:\n      rule: \"Host(`typo.test`)\"\n      service: demo@internal\n      tls: { options: modren }\ntls:\n  options:\n    legacy:\n      cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n    modern:\n      minVersion: VersionTLS13\n")],
    );
    assert_eq!(code, Some(1), "{stdout}");
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
        "tests/stacks/traefik-docs-swarm-setup.yml",
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
        "3 problem(s) found",
        "--providers.swarm.exposedByDefault: invalid value \"maybe\": expected a boolean",
        "--entrypoints.web.transport.respondingTimeouts.readTimeout: invalid value \"xyz\"",
        "--providers.swarm.exposedbydefualt: not a Traefik option; did you mean",
    ] {
        assert!(out.contains(want), "missing {want:?} in {out}");
    }
}

/// A dynamic file whose router names a service that exists nowhere (a dynamic problem).
const DYNAMIC_WITH_A_MISSING_SERVICE: &str =
    "http:\n  routers:\n    r:\n      rule: \"Host(`a.test`)\"\n      service: nowhere\n";

/// swarmgate's own file (`--config`) with several bad keys: every one is reported in one pass,
/// each with file, line, key and nearest valid name; and the dynamic configuration is still
/// checked (it used to stop at the first bad key, and a static error skipped the dynamic checks).
#[test]
fn check_reports_every_problem_of_the_native_file_and_still_checks_the_dynamic_one() {
    let native = "\
[entryPoints.web]
address = \":8080\"
asDefualt = true

[entryPoints.websecure]
adress = \":8443\"

[providers.swarm]
exposedbydefualt = false

[providers.file]
filename = \"dynamic.yml\"
";
    let (code, stdout) = check_config(
        ("swarmgate.toml", native),
        &[("dynamic.yml", DYNAMIC_WITH_A_MISSING_SERVICE)],
    );
    assert_eq!(code, Some(1), "{stdout}");
    for want in [
        "swarmgate.toml:3: entryPoints.web.asDefualt: unknown field `asDefualt`",
        "did you mean `asDefault`?",
        "swarmgate.toml:6: entryPoints.websecure.adress: unknown field `adress`",
        "did you mean `address`?",
        "swarmgate.toml:9: providers.swarm.exposedbydefualt: unknown field",
        "did you mean `exposedByDefault`?",
        "router \"r@file\"",
        "nowhere",
        "4 problem(s) found",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in {stdout}");
    }
}

/// The same with Traefik's arguments: a typo in the static options does not hide the dynamic
/// file's problems.
#[test]
fn check_with_a_static_typo_still_checks_the_file_provider() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "dynamic.yml", DYNAMIC_WITH_A_MISSING_SERVICE);
    let out = swarmgate()
        .args([
            "check",
            "--entrypoints.web.address=:8080",
            "--providers.file.filename=dynamic.yml",
            "--api.insecur=true",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for want in [
        "--api.insecur: not a Traefik option; did you mean `api.insecure`?",
        "router \"r@file\"",
        "2 problem(s) found",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in {stdout}");
    }
}

/// `check --stack`: a typo in the edge service's `command:` and a label problem, both reported.
#[test]
fn check_stack_with_a_typo_in_the_edge_command_still_checks_the_labels() {
    let stack = "\
services:
  traefik:
    image: traefik:v3.7
    command:
      - --entrypoints.web.address=:80
      - --providers.swarm.exposedbydefualt=false
  app:
    image: traefik/whoami
    deploy:
      labels:
        - traefik.enable=true
        - traefik.http.routers.app.rule=Host(`app.test`
        - traefik.http.services.app.loadbalancer.server.port=80
";
    let (code, out) = check_stack(&["-"], &[], Some(stack));
    assert_eq!(code, Some(1), "{out}");
    for want in [
        "--providers.swarm.exposedbydefualt: not a Traefik option",
        "traefik.http.routers.app.rule",
        "2 problem(s) found",
    ] {
        assert!(out.contains(want), "missing {want:?} in {out}");
    }
}

/// `GET path` with `Host: host` on 127.0.0.1:`port`: status and body (`(0, "")` on no answer).
fn http_get(port: u16, host: &str, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// Issue 20 §3: `experimental.plugins.*` is named as unsupported (one warning, the API's error
/// list, `check`), and only the routers that use a `plugin` middleware are closed.
#[test]
fn a_traefik_plugin_closes_only_the_routers_that_use_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dyn.yml",
        "http:\n  routers:\n    a:\n      rule: Host(`a.test`)\n      service: ping@internal\n      middlewares: [block]\n    b:\n      rule: Host(`b.test`)\n      service: ping@internal\n  middlewares:\n    block:\n      plugin:\n        sablier:\n          group: x\n",
    );
    let web = free_port();
    let api = free_port();
    let args = [
        format!("--entrypoints.web.address=127.0.0.1:{web}"),
        format!("--entrypoints.traefik.address=127.0.0.1:{api}"),
        "--api.insecure=true".to_string(),
        "--ping=true".to_string(),
        "--ping.entryPoint=traefik".to_string(),
        "--experimental.plugins.sablier.moduleName=github.com/acouvreur/sablier".to_string(),
        "--experimental.plugins.sablier.version=v1.4.0".to_string(),
        "--providers.file.filename=dyn.yml".to_string(),
    ];
    // `check`: named, with what it disables, exit 1.
    let out = swarmgate()
        .arg("check")
        .args(&args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for want in [
        "Traefik plugin `sablier` (github.com/acouvreur/sablier v1.4.0) is not supported",
        "middleware type `plugin` (Traefik plugin `sablier`) is not supported",
        "router \"a@file\"",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in {stdout}");
    }
    assert!(!stdout.contains("\"b@file\""), "{stdout}");
    // `run`: starts, serves b, closes a, lists both in /api/errors.
    let child = swarmgate()
        .args(&args)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(child);
    assert!(
        wait_for(20, || http_get(web, "b.test", "/").0 == 200),
        "router b serves"
    );
    assert_eq!(http_get(web, "a.test", "/").0, 503);
    let (code, errors) = http_get(api, "localhost", "/api/errors");
    assert_eq!(code, 200, "{errors}");
    assert!(errors.contains("experimental.plugins.sablier"), "{errors}");
    assert!(errors.contains("block@file"), "{errors}");
}

/// Traefik's own Swarm setup page: the file provider's `/dynamic/tls.yaml` is a path in the
/// edge's container, read from the bind mount `./dynamic:/dynamic` beside the stack file.
#[test]
fn check_stack_reads_the_file_provider_through_the_edge_volumes() {
    let (code, out) = check_stack(&["tests/stacks/traefik-docs-swarm-setup.yml"], &[], None);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "note: providers.file /dynamic/tls.yaml is read from tests/stacks/dynamic/tls.yaml"
        ),
        "{out}"
    );
    assert!(
        out.contains("3 entrypoint(s), 2 service(s), 2 with traefik labels"),
        "{out}"
    );
}

/// dockerswarm.rocks' traefik.yml, the most copied Swarm stack (Traefik v2 options, a custom
/// constraint label). As published it holds `${VAR?Variable not set}`, which only
/// `docker stack deploy`/`docker stack config` fill: offline the admin user's hash is
/// `${HASHED_PASSWORD…}` and `check` warns that user can never log in (a warning, as the v2
/// spellings: served as Traefik serves it, so `check` passes). Filled as `docker stack config -c
/// traefik.yml | swarmgate check --stack -` gives it, the stack checks clean of that warning.
#[test]
fn check_stack_passes_dockerswarm_rocks_traefik_yml() {
    let stack = "tests/stacks/dockerswarm-rocks-traefik.yml";
    let (code, out) = check_stack(&[stack], &[], None);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.lines().any(|l| l.contains("warning:")
            && l.contains("user \"${USERNAME?Variable not set}\" has a hash of an unknown")),
        "{out}"
    );
    // The custom label the constraints select on is not reported as unknown.
    assert!(!out.contains("traefik.constraint-label"), "{out}");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/stacks/dockerswarm-rocks-traefik.yml"
    ))
    .unwrap()
    .replace("${USERNAME?Variable not set}", "admin")
    .replace(
        "${HASHED_PASSWORD?Variable not set}",
        "$$apr1$$abcdefgh$$h9FWgUz3n9YxylKLlR5SQ/",
    )
    .replace("${DOMAIN?Variable not set}", "traefik.sys.example.com")
    .replace("${EMAIL?Variable not set}", "admin@example.com");
    let (code, out) = check_stack(&["-"], &[], Some(&text));
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("can never authenticate"), "{out}");
    assert!(
        out.contains("configuration OK: 2 entrypoint(s), 1 service(s), 1 with traefik labels"),
        "{out}"
    );
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

#[test]
fn check_stack_names_the_tcp_labels_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let stack = r#"services:
  edge:
    image: swarmgate
    command: ["--entryPoints.postgres.address=:5432", "--providers.swarm=true"]
  db:
    image: postgres:16
    deploy:
      labels:
        traefik.enable: "true"
        traefik.tcp.routers.db.rule: HostSNI(`db.example.com`)
        traefik.tcp.routers.db.tls: "true"
        traefik.tcp.routers.db.middlewares: office
        traefik.tcp.services.db.loadbalancer.server.port: "5432"
        traefik.tcp.middlewares.office.ipalowlist.sourcerange: 203.0.113.0/24
"#;
    let file = write(dir.path(), "stack.yml", stack);
    let out = swarmgate()
        .args(["check", "--stack"])
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("label traefik.tcp.middlewares.office.ipalowlist")
            && stdout.contains("did you mean `ipAllowList`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("label traefik.tcp.routers.db: closed"),
        "{stdout}"
    );
}

#[test]
fn check_stack_warns_when_the_http3_port_is_published_as_tcp_only() {
    let dir = tempfile::tempdir().unwrap();
    let stack = |ports: &str| {
        format!(
            r#"services:
  edge:
    image: swarmgate
    command: ["--entrypoints.web.address=:80", "--entrypoints.websecure.address=:443", "--entrypoints.websecure.http3=true", "--providers.swarm=true"]
    ports:
{ports}
"#
        )
    };
    let run = |name: &str, ports: &str| {
        let file = write(dir.path(), name, &stack(ports));
        let out = swarmgate()
            .args(["check", "--stack"])
            .arg(&file)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // TCP only, long and short syntax: a warning naming the port and the line to add; not a
    // problem (Traefik serves the stack the same way).
    for (name, ports) in [
        (
            "long.yml",
            "      - {target: 80, published: 80, mode: host}\n      - {target: 443, published: 8443, protocol: tcp, mode: host}",
        ),
        ("short.yml", "      - \"80:80\"\n      - \"8443:443\""),
    ] {
        let (code, out) = run(name, ports);
        assert_eq!(code, Some(0), "{out}");
        let warning = out
            .lines()
            .find(|l| l.contains("http3"))
            .unwrap_or_else(|| panic!("no http3 warning:\n{out}"));
        assert!(warning.contains(": warning: service \"edge\""), "{warning}");
        assert!(warning.contains("service \"edge\""), "{warning}");
        assert!(warning.contains("websecure"), "{warning}");
        assert!(
            warning.contains("port 443 is published as TCP only"),
            "{warning}"
        );
        assert!(warning.contains("\"8443:443/udp\""), "{warning}");
        assert!(!out.contains("port 80 "), "web has no http3:\n{out}");
    }
    // The README's form (TCP and UDP, host mode) and the short `/udp` form: no warning.
    for (name, ports) in [
        (
            "readme.yml",
            "      - {target: 443, published: 443, protocol: tcp, mode: host}\n      - {target: 443, published: 443, protocol: udp, mode: host}",
        ),
        ("both.yml", "      - \"443:443\"\n      - \"443:443/udp\""),
    ] {
        let (code, out) = run(name, ports);
        assert_eq!(code, Some(0), "{out}");
        assert!(!out.contains("http3"), "{name}:\n{out}");
    }
}
