//! Runs one case group: starts its echo backends, writes one dynamic file, starts the real
//! Traefik and swarmgate on it (same arguments, one entrypoint per case, ports from binding
//! 127.0.0.1:0), waits until both serve a sentinel router on every entrypoint, sends every
//! request to both and renders what each answered.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_yaml::{Mapping, Value};

use super::cases::{Group, Req};
use super::echo::{Answer, Echo, Seen};
use super::wire;

/// Path of the sentinel router put on every entrypoint.
pub const SENTINEL: &str = "/__differential_sentinel";
/// How long Traefik may take to serve the sentinel (it starts in about a second; the bound is
/// generous because CI runs the suite niced beside other stages).
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How much longer swarmgate (started at the same time) may take once Traefik serves.
const READY_AFTER_TRAEFIK: Duration = Duration::from_secs(10);
/// How long one request may take.
const REQUEST_WITHIN: Duration = Duration::from_secs(10);

/// Request headers, as the backend saw them, compared for every request.
const SEEN_HEADERS: &[&str] = &[
    "host",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-replaced-path",
];

/// The two binaries under comparison.
pub struct Binaries {
    pub traefik: PathBuf,
    pub swarmgate: PathBuf,
}

/// One request's outcome.
pub struct Outcome {
    pub id: String,
    /// The Traefik test the case comes from.
    pub from: String,
    pub request: String,
    pub traefik: String,
    pub swarmgate: String,
    /// Set when the real Traefik answered otherwise than its own unit test expects.
    pub note: Option<String>,
}

impl Outcome {
    pub fn agrees(&self) -> bool {
        self.traefik == self.swarmgate
    }
}

/// A child process killed (and reaped) on drop.
pub struct Proc {
    child: Child,
    pub log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `program` (`first` before `args`) in `dir`, output to `dir/<name>.log`.
    pub fn spawn(
        program: &Path,
        first: Option<&str>,
        args: &[String],
        dir: &Path,
        name: &str,
    ) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("create a process log");
        let err = out.try_clone().expect("clone the process log");
        let mut cmd = Command::new(program);
        if let Some(first) = first {
            cmd.arg(first);
        }
        cmd.args(args)
            .current_dir(dir)
            // Neither process may find a static configuration file or variable of the machine.
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TRAEFIK_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Proc { child, log }
    }

    /// `Some(why)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "exited with {status}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            )),
            _ => None,
        }
    }

    /// What the process has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `n` distinct free ports on 127.0.0.1 (all bound at once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

fn key(s: &str) -> Value {
    Value::String(s.to_string())
}

/// `value` with every `{url:<backend>}` in its strings replaced by that echo backend's URL, so a
/// middleware can call a backend directly (a forwardAuth `address`).
fn with_backend_urls(value: &Value, backends: &[(String, Echo)]) -> Value {
    match value {
        Value::String(s) if s.contains("{url:") => {
            let mut out = s.clone();
            for (id, echo) in backends {
                out = out.replace(&format!("{{url:{id}}}"), &echo.url());
            }
            Value::String(out)
        }
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), with_backend_urls(v, backends)))
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|v| with_backend_urls(v, backends))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Builds the dynamic configuration of a group: the cases' elements, one service per backend,
/// the sentinel router, then the group's extra top-level sections.
fn dynamic_config(group: &Group, backends: &[(String, Echo)], group_name: &str) -> Value {
    let (mut routers, mut middlewares, mut services) =
        (Mapping::new(), Mapping::new(), Mapping::new());
    for (id, echo) in backends {
        let mut server = Mapping::new();
        server.insert(key("url"), Value::String(echo.url()));
        let mut lb = Mapping::new();
        lb.insert(
            key("servers"),
            Value::Sequence(vec![Value::Mapping(server)]),
        );
        let mut svc = Mapping::new();
        svc.insert(key("loadBalancer"), Value::Mapping(lb));
        services.insert(key(id), Value::Mapping(svc));
    }
    let mut sentinel = Mapping::new();
    sentinel.insert(key("rule"), Value::String(format!("Path(`{SENTINEL}`)")));
    sentinel.insert(key("priority"), Value::Number(1_000_000.into()));
    sentinel.insert(key("service"), Value::String(backends[0].0.clone()));
    sentinel.insert(
        key("entryPoints"),
        Value::Sequence(
            (0..group.cases.len())
                .map(|i| Value::String(entrypoint(i)))
                .collect(),
        ),
    );
    routers.insert(key("differential-sentinel"), Value::Mapping(sentinel));
    for (i, case) in group.cases.iter().enumerate() {
        for (name, router) in &case.routers {
            let mut router = router.clone();
            if let Value::Mapping(m) = &mut router {
                if !m.contains_key(key("entryPoints")) {
                    m.insert(
                        key("entryPoints"),
                        Value::Sequence(vec![Value::String(entrypoint(i))]),
                    );
                }
            }
            let clash = routers.insert(name.clone(), router).is_some();
            assert!(!clash, "{group_name}: router {name:?} defined twice");
        }
        for (name, m) in &case.middlewares {
            let m = with_backend_urls(m, backends);
            let clash = middlewares.insert(name.clone(), m).is_some();
            assert!(!clash, "{group_name}: middleware {name:?} defined twice");
        }
        for (name, s) in &case.services {
            let s = with_backend_urls(s, backends);
            let clash = services.insert(name.clone(), s).is_some();
            assert!(!clash, "{group_name}: service {name:?} defined twice");
        }
    }
    let mut http = Mapping::new();
    http.insert(key("routers"), Value::Mapping(routers));
    if !middlewares.is_empty() {
        http.insert(key("middlewares"), Value::Mapping(middlewares));
    }
    http.insert(key("services"), Value::Mapping(services));
    let mut top = Mapping::new();
    top.insert(key("http"), Value::Mapping(http));
    if let Some(extra) = &group.dynamic {
        for (k, v) in extra {
            match (top.get_mut(k), v) {
                (Some(Value::Mapping(existing)), Value::Mapping(add)) => {
                    for (k2, v2) in add {
                        existing.insert(k2.clone(), v2.clone());
                    }
                }
                _ => {
                    top.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Mapping(top)
}

fn entrypoint(case: usize) -> String {
    format!("c{case}")
}

fn static_args(group: &Group, ports: &[u16], dynamic_file: &Path) -> Vec<String> {
    let mut args = Vec::new();
    for (i, case) in group.cases.iter().enumerate() {
        let ep = entrypoint(i);
        args.push(format!("--entrypoints.{ep}.address=127.0.0.1:{}", ports[i]));
        for (k, v) in &case.entrypoint {
            args.push(format!("--entrypoints.{ep}.{k}={v}"));
        }
    }
    args.push(format!(
        "--providers.file.filename={}",
        dynamic_file.display()
    ));
    args.push("--log.level=ERROR".to_string());
    args.push("--global.checkNewVersion=false".to_string());
    args.push("--global.sendAnonymousUsage=false".to_string());
    args
}

fn sentinel_request() -> Vec<u8> {
    format!("GET {SENTINEL} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Waits until `proc` serves the sentinel on every address; `Err` says why not.
fn wait_ready(proc: &mut Proc, addrs: &[SocketAddr], within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let mut pending: Vec<SocketAddr> = addrs.to_vec();
    while !pending.is_empty() {
        if let Some(exit) = proc.exited() {
            return Err(exit);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "sentinel router not served within {within:?} on {} of {} entrypoints",
                pending.len(),
                addrs.len()
            ));
        }
        pending.retain(|addr| {
            !matches!(
                wire::exchange(*addr, &sentinel_request(), Duration::from_secs(1)),
                Ok(r) if r.status == 200
            )
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// Traefik's log line when it rejects a whole dynamic file.
const REJECTED_FILE: &str = "Error while building configuration";

/// Waits until Traefik has logged that it rejected the dynamic file and answers on every
/// address, then checks that it does not serve the sentinel; `Err` says what happened instead.
fn wait_rejected(proc: &mut Proc, addrs: &[SocketAddr], within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(exit) = proc.exited() {
            return Err(exit);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no {REJECTED_FILE:?} in Traefik's log within {within:?}"
            ));
        }
        let log = std::fs::read_to_string(&proc.log).unwrap_or_default();
        if log.contains(REJECTED_FILE) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for addr in addrs {
        loop {
            match wire::exchange(*addr, &sentinel_request(), Duration::from_secs(1)) {
                Ok(r) if r.status == 200 => {
                    return Err(format!(
                        "the case file says Traefik rejects the file, but it serves the sentinel on {addr}"
                    ))
                }
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(format!("entrypoint {addr} does not answer: {e}")),
            }
        }
    }
    Ok(())
}

/// Renders one answer as the lines compared: status, backend, what the backend saw, and the
/// selected response headers.
pub fn render(
    answer: &Result<wire::Response, String>,
    seen_names: &[String],
    resp_names: &[String],
) -> String {
    let resp = match answer {
        Ok(resp) => resp,
        Err(e) => return format!("no answer: {e}"),
    };
    let mut out = format!("status {}", resp.status);
    match Seen::parse(&resp.body) {
        Some(seen) => {
            out.push_str(&format!(
                "\nbackend {} saw {} {} (body {} bytes)",
                seen.backend, seen.method, seen.target, seen.body_len
            ));
            for name in seen_names {
                let values = seen.values(name);
                if !values.is_empty() {
                    out.push_str(&format!("\n  seen {name}: {}", values.join(" | ")));
                }
            }
        }
        None => out.push_str("\nno backend"),
    }
    for name in resp_names {
        let values = resp.values(name);
        if !values.is_empty() {
            out.push_str(&format!("\n  response {name}: {}", values.join(" | ")));
        }
    }
    out
}

fn describe(req: &Req) -> String {
    let bytes = req.bytes();
    let text = String::from_utf8_lossy(&bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .filter(|l| !l.eq_ignore_ascii_case("connection: close"))
        .collect::<Vec<_>>()
        .join(" \\r\\n ")
}

/// Runs every case of `group` (named `name`) through both binaries. The free ports are released
/// before the proxies bind them, so another process may take one meanwhile: a group whose proxy
/// could not bind is run once more on fresh ports.
pub fn run_group(name: &str, group: &Group, bins: &Binaries) -> Vec<Outcome> {
    match run_group_once(name, group, bins) {
        Ok(outcomes) => outcomes,
        Err(clash) => {
            println!("[{name}] {clash}; running the group again on fresh ports");
            run_group_once(name, group, bins).unwrap_or_else(|clash| panic!("[{name}] {clash}"))
        }
    }
}

/// Whether a proxy's log says it could not bind an entrypoint's address.
fn port_taken(log: &Path) -> bool {
    let log = std::fs::read_to_string(log).unwrap_or_default();
    log.contains("address already in use") || log.contains("Address already in use")
}

fn run_group_once(name: &str, group: &Group, bins: &Binaries) -> Result<Vec<Outcome>, String> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let specs: Vec<(String, Answer)> = if group.backends.is_empty() {
        vec![("app".to_string(), Answer::default())]
    } else {
        group
            .backends
            .iter()
            .map(|(id, spec)| {
                (
                    id.clone(),
                    Answer {
                        status: spec.status,
                        headers: spec.headers.clone(),
                        body: spec.body.clone(),
                        no_content_type: spec.no_content_type,
                    },
                )
            })
            .collect()
    };
    let backends: Vec<(String, Echo)> = specs
        .into_iter()
        .map(|(id, answer)| {
            let echo = Echo::start(&id, answer);
            (id, echo)
        })
        .collect();
    let dynamic_file = dir.path().join("dynamic.yml");
    let yaml = serde_yaml::to_string(&dynamic_config(group, &backends, name))
        .expect("serialise the dynamic configuration");
    std::fs::write(&dynamic_file, &yaml).expect("write the dynamic configuration");

    let n = group.cases.len();
    let ports = free_ports(2 * n);
    let (traefik_ports, swarmgate_ports) = ports.split_at(n);
    let addrs = |ports: &[u16]| -> Vec<SocketAddr> {
        ports
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect()
    };
    let (traefik_addrs, swarmgate_addrs) = (addrs(traefik_ports), addrs(swarmgate_ports));
    let mut traefik = Proc::spawn(
        &bins.traefik,
        None,
        &static_args(group, traefik_ports, &dynamic_file),
        dir.path(),
        "traefik",
    );
    let mut swarmgate = Proc::spawn(
        &bins.swarmgate,
        Some("run"),
        &static_args(group, swarmgate_ports, &dynamic_file),
        dir.path(),
        "swarmgate",
    );
    let traefik_ready = if group.traefik_rejects_file {
        wait_rejected(&mut traefik, &traefik_addrs, READY_WITHIN)
    } else {
        wait_ready(&mut traefik, &traefik_addrs, READY_WITHIN)
    };
    let swarmgate_within = if traefik_ready.is_ok() {
        READY_AFTER_TRAEFIK
    } else {
        READY_WITHIN
    };
    let swarmgate_ready = wait_ready(&mut swarmgate, &swarmgate_addrs, swarmgate_within);
    for (ready, proc, who) in [
        (&traefik_ready, &traefik, "Traefik"),
        (&swarmgate_ready, &swarmgate, "swarmgate"),
    ] {
        if ready.is_err() && port_taken(&proc.log) {
            return Err(format!("{who} found an entrypoint port taken"));
        }
    }
    if !group.source.is_empty() {
        println!("[{name}] cases from {}", group.source);
    }
    if let Err(e) = &traefik_ready {
        println!(
            "[{name}] Traefik did not {} the configuration: {e}\n--- dynamic.yml\n{yaml}",
            if group.traefik_rejects_file {
                "reject"
            } else {
                "load"
            }
        );
    }
    if let Err(e) = &swarmgate_ready {
        println!(
            "[{name}] swarmgate did not load the configuration: {e}\n--- log (first lines)\n{}",
            std::fs::read_to_string(&swarmgate.log)
                .unwrap_or_default()
                .lines()
                .take(12)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    let seen_names: Vec<String> = SEEN_HEADERS
        .iter()
        .map(|s| s.to_string())
        .chain(group.seen_headers.iter().map(|s| s.to_ascii_lowercase()))
        .collect();
    let resp_names: Vec<String> = std::iter::once("location".to_string())
        .chain(
            group
                .response_headers
                .iter()
                .map(|s| s.to_ascii_lowercase()),
        )
        .collect();

    // Loading is compared too: a proxy that did not load the file as the case file says is a
    // difference of its own, beside whatever its requests then answer.
    let state = |ready: &Result<(), String>| match ready {
        Ok(()) => "loaded the file as the case file says".to_string(),
        Err(e) => format!("did not: {}", e.lines().next().unwrap_or("")),
    };
    let mut outcomes = vec![Outcome {
        id: format!("{name}/startup"),
        from: String::new(),
        request: "(start and load the dynamic file)".to_string(),
        traefik: state(&traefik_ready),
        swarmgate: state(&swarmgate_ready),
        note: None,
    }];
    for (i, case) in group.cases.iter().enumerate() {
        for req in &case.requests {
            let bytes = req.bytes();
            let t = wire::exchange(traefik_addrs[i], &bytes, REQUEST_WITHIN);
            let s = wire::exchange(swarmgate_addrs[i], &bytes, REQUEST_WITHIN);
            let note = match (&req.expect, &t) {
                (Some(want), Ok(got)) if *want != got.status => Some(format!(
                    "Traefik's unit test expects {want}, the binary answers {}",
                    got.status
                )),
                _ => None,
            };
            outcomes.push(Outcome {
                id: format!("{name}/{}/{}", case.id, req.label()),
                from: case.from.clone(),
                request: describe(req),
                traefik: render(&t, &seen_names, &resp_names),
                swarmgate: render(&s, &seen_names, &resp_names),
                note,
            });
        }
    }
    drop(swarmgate);
    drop(traefik);
    Ok(outcomes)
}
