//! Harness of the Swarm end-to-end suite: the `docker` CLI, a per-test stack (overlay network,
//! swarmgate as a Swarm service with a host-mode published port, testbackend services) removed by
//! `Drop` even when the test panics, and task facts (state, running timestamp, container).
//!
//! swarmgate runs inside the swarm because task IPs on an overlay network are not reachable from
//! the host when dockerd runs without iptables (as `.ci/docker-up.sh` starts it).
#![allow(clippy::disallowed_types)] // std Mutex: test harness

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::load::get;

pub const GATEWAY_IMAGE: &str = "swarmgate:dev";
pub const BACKEND_V1: &str = "swarmgate-testbackend:v1";
pub const BACKEND_V2: &str = "swarmgate-testbackend:v2";
pub const DOCKER_SOCK: &str = "/var/run/docker.sock";

/// Runs `docker args…`; `Err(stderr)` when it fails.
pub fn try_docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `docker args…` and panics when it fails.
pub fn docker(args: &[&str]) -> String {
    try_docker(args).unwrap_or_else(|e| panic!("{e}"))
}

/// One task of a service as `docker inspect` reports it.
#[derive(Debug, Clone)]
pub struct Task {
    pub state: String,
    pub desired: String,
    /// When the task entered its current state (for a running task: when it started running).
    pub since: SystemTime,
    /// The first 12 characters of the container ID: the container's hostname.
    pub host: String,
    pub container: String,
}

/// Every task of `service` (all states).
pub fn tasks(service: &str) -> Vec<Task> {
    let ids = docker(&["service", "ps", "-q", "--no-trunc", service]);
    let ids: Vec<&str> = ids.lines().filter(|l| !l.is_empty()).collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut args = vec![
        "inspect",
        "--format",
        "{{.Status.State}} {{.DesiredState}} {{.Status.Timestamp.Format \"2006-01-02T15:04:05.000000000Z07:00\"}} {{.Status.ContainerStatus.ContainerID}}",
    ];
    args.extend(ids);
    let Ok(out) = try_docker(&args) else {
        return Vec::new(); // a task vanished between the two calls; the caller polls again
    };
    out.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let state = f.next()?.to_string();
            let desired = f.next()?.to_string();
            let since = parse_rfc3339(f.next()?)?;
            let container = f.next().unwrap_or("").to_string();
            let host = container.chars().take(12).collect();
            Some(Task {
                state,
                desired,
                since,
                host,
                container,
            })
        })
        .collect()
}

/// Running tasks whose desired state is running.
pub fn running(service: &str) -> Vec<Task> {
    tasks(service)
        .into_iter()
        .filter(|t| t.state == "running" && t.desired == "running")
        .collect()
}

/// Polls until `service` has exactly `n` running tasks; returns them.
pub fn wait_running(service: &str, n: usize, limit: Duration) -> Vec<Task> {
    let start = Instant::now();
    loop {
        let t = running(service);
        if t.len() == n {
            return t;
        }
        assert!(
            start.elapsed() < limit,
            "{service}: {} running tasks after {limit:?}, want {n}: {:?}",
            t.len(),
            tasks(service)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `2026-11-24T23:40:01.123456789Z` (UTC, as formatted by `tasks`) → `SystemTime`.
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    let nanos: u32 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Seconds from `a` to `b` (negative when `b` is earlier).
pub fn secs_between(a: SystemTime, b: SystemTime) -> f64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// What one test deployed; `Drop` removes it all (services first, then the network and relay dir).
pub struct Stack {
    pub tag: String,
    pub net: String,
    pub gateway: String,
    pub port: u16,
    services: Mutex<Vec<String>>,
    relay_dir: Option<PathBuf>,
}

impl Stack {
    /// A fresh overlay network and swarmgate on it, published (host mode) on 127.0.0.1:`port`.
    /// With `relay_dir`, swarmgate reads Docker through `<relay_dir>/docker.sock` (see `Relay`).
    pub async fn new(name: &str, port: u16, relay_dir: Option<PathBuf>) -> Stack {
        Stack::with_entrypoints(name, port, relay_dir, &[]).await
    }

    /// `new` with more entrypoints: each (name, published port, target port, protocol `tcp` or
    /// `udp`) is published in host mode and given to swarmgate as `--entrypoints.<name>.address`.
    pub async fn with_entrypoints(
        name: &str,
        port: u16,
        relay_dir: Option<PathBuf>,
        extra: &[(&str, u16, u16, &str)],
    ) -> Stack {
        for image in [GATEWAY_IMAGE, BACKEND_V1, BACKEND_V2] {
            docker(&["image", "inspect", "--format", "{{.Id}}", image]);
        }
        let tag = format!("sge2e{}{}", name, std::process::id() % 100_000);
        let stack = Stack {
            net: format!("{tag}_net"),
            gateway: format!("{tag}_gw"),
            tag,
            port,
            services: Mutex::new(Vec::new()),
            relay_dir,
        };
        docker(&[
            "network",
            "create",
            "--driver",
            "overlay",
            "--attachable",
            &stack.net,
        ]);
        let (mount, endpoint) = match &stack.relay_dir {
            Some(dir) => (
                format!("type=bind,src={},dst=/relay", dir.display()),
                "unix:///relay/docker.sock".to_string(),
            ),
            None => (
                format!("type=bind,src={DOCKER_SOCK},dst={DOCKER_SOCK},readonly"),
                format!("unix://{DOCKER_SOCK}"),
            ),
        };
        let publish = format!("mode=host,published={port},target=80");
        let network_arg = format!("--providers.swarm.network={}", stack.net);
        let endpoint_arg = format!("--providers.swarm.endpoint={endpoint}");
        stack.track(&stack.gateway);
        let started = Instant::now();
        let mut publishes = vec![publish];
        let mut entrypoints = Vec::new();
        for (ep, published, target, proto) in extra {
            publishes.push(format!(
                "mode=host,published={published},target={target},protocol={proto}"
            ));
            let suffix = if *proto == "udp" { "/udp" } else { "" };
            entrypoints.push(format!("--entrypoints.{ep}.address=:{target}{suffix}"));
        }
        let mut args: Vec<&str> = vec![
            "service",
            "create",
            "--quiet",
            "--detach",
            "--name",
            &stack.gateway,
            "--network",
            &stack.net,
        ];
        for p in &publishes {
            args.extend(["--publish", p.as_str()]);
        }
        args.extend([
            "--mount",
            &mount,
            "--constraint",
            "node.role==manager",
            "--no-resolve-image",
            GATEWAY_IMAGE,
            "--providers.swarm.exposedByDefault=false",
            &network_arg,
            &endpoint_arg,
            "--entrypoints.web.address=:80",
            "--log.level=INFO",
        ]);
        args.extend(entrypoints.iter().map(String::as_str));
        docker(&args);
        wait_running(&stack.gateway, 1, Duration::from_secs(60));
        let client = super::load::client();
        let url = stack.url("/");
        let up = eventually(Duration::from_secs(30), || async {
            get(&client, &url).await.is_ok_and(|r| r.status == 404)
        })
        .await;
        assert!(
            up,
            "swarmgate did not answer on {url}; logs:\n{}",
            stack.gateway_logs()
        );
        println!(
            "[{}] swarmgate service up on 127.0.0.1:{port} in {:.1}s",
            stack.tag,
            started.elapsed().as_secs_f64()
        );
        stack
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn track(&self, service: &str) {
        if let Ok(mut s) = self.services.lock() {
            s.push(service.to_string());
        }
    }

    /// Creates (detached) a testbackend service `<tag>_<name>` routed by `PathPrefix(/<name>)`
    /// with `replicas` tasks, start-first updates and extra labels; returns its full name.
    pub fn backend(
        &self,
        name: &str,
        replicas: u32,
        image: &str,
        extra_labels: &[String],
    ) -> String {
        self.backend_with_env(name, replicas, image, extra_labels, &[])
    }

    /// `backend` with environment variables (`KEY=VALUE`) for its tasks.
    pub fn backend_with_env(
        &self,
        name: &str,
        replicas: u32,
        image: &str,
        extra_labels: &[String],
        env: &[&str],
    ) -> String {
        let full = format!("{}_{name}", self.tag);
        let router = format!("{}{name}", self.tag);
        let mut labels = vec![
            "traefik.enable=true".to_string(),
            format!("traefik.http.routers.{router}.rule=PathPrefix(`/{name}`)"),
            format!("traefik.http.routers.{router}.entrypoints=web"),
            format!("traefik.http.services.{router}.loadbalancer.server.port=8080"),
        ];
        // An extra label replaces a default one with the same key.
        let key = |l: &String| l.split_once('=').map(|(k, _)| k.to_string());
        labels.retain(|l| !extra_labels.iter().any(|e| key(e) == key(l)));
        labels.extend(extra_labels.iter().cloned());
        let replicas = replicas.to_string();
        let mut args: Vec<&str> = vec![
            "service",
            "create",
            "--quiet",
            "--detach",
            "--name",
            &full,
            "--network",
            &self.net,
            "--replicas",
            &replicas,
            "--update-order",
            "start-first",
            "--update-parallelism",
            "1",
            "--stop-grace-period",
            "10s",
            "--no-resolve-image",
        ];
        for l in &labels {
            args.push("--label");
            args.push(l);
        }
        // Experiments: how the suite fares when the backend stops at once on SIGTERM.
        for e in env {
            args.push("--env");
            args.push(e);
        }
        let grace = std::env::var("SGE2E_STOP_GRACE_MS")
            .ok()
            .map(|ms| format!("STOP_GRACE_MS={ms}"));
        if let Some(g) = &grace {
            args.push("--env");
            args.push(g);
        }
        args.push(image);
        self.track(&full);
        docker(&args);
        full
    }

    pub fn gateway_logs(&self) -> String {
        let out = Command::new("docker")
            .args(["service", "logs", "--raw", &self.gateway])
            .output();
        match out {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => format!("(no logs: {e})"),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let services = self.services.lock().map(|s| s.clone()).unwrap_or_default();
        for s in services.iter().rev() {
            let _ = Command::new("docker").args(["service", "rm", s]).output();
        }
        // The network goes once its tasks are gone.
        for _ in 0..240 {
            let ok = Command::new("docker")
                .args(["network", "rm", &self.net])
                .output();
            if ok.is_ok_and(|o| o.status.success()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        if let Some(dir) = &self.relay_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Waits until `check` holds, polling every 20 ms, up to `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
