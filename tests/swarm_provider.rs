//! The Swarm provider against a real dockerd in swarm mode (`bash .ci/docker-up.sh` first, as root):
//! a labelled service is discovered with its task IPs, scaling shows every task, removal clears it.
//! `#[ignore]`d in a plain `cargo test`; run with `cargo test --test swarm_provider -- --ignored --nocapture`.
//! When dockerd or the image is missing these tests fail loudly rather than skip.

#![allow(clippy::unwrap_used, clippy::disallowed_types)] // test: a std Mutex holds captured log lines

use std::process::Command;
use std::time::{Duration, Instant};

use swarmgate::config::server_origin::ServerOrigin;
use swarmgate::config::static_config::SwarmProviderConfig;
use swarmgate::provider::swarm::SwarmProvider;
use swarmgate::provider::{ProviderSnapshot, SnapshotRx};

const IMAGE: &str = "swarmgate-busybox:latest";

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Creates the test's networks and services and removes them when the test ends, even when it
/// panics.
#[derive(Default)]
struct Cleanup {
    services: Vec<String>,
    networks: Vec<String>,
}

impl Cleanup {
    /// An attachable overlay network.
    fn network(&mut self, name: &str) {
        docker(&[
            "network",
            "create",
            "--driver",
            "overlay",
            "--attachable",
            name,
        ]);
        self.networks.push(name.to_string());
    }

    /// A service on `network` running busybox httpd on port 80 (`--detach`, stopped within
    /// `grace`); `options` go before the image (labels, health checks).
    fn httpd(&mut self, name: &str, network: &str, grace: &str, options: &[&str]) {
        let mut args = vec![
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--stop-grace-period",
            grace,
            "--name",
            name,
            "--network",
            network,
        ];
        args.extend_from_slice(options);
        args.extend_from_slice(&[IMAGE, "httpd", "-f", "-p", "80", "-h", "/www"]);
        docker(&args);
        self.services.push(name.to_string());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for s in &self.services {
            let _ = Command::new("docker").args(["service", "rm", s]).output();
        }
        // The network can only go once its tasks are gone.
        for n in &self.networks {
            for _ in 0..120 {
                let ok = Command::new("docker").args(["network", "rm", n]).output();
                if ok.is_ok_and(|o| o.status.success()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
}

/// Waits until `pred` holds for the published snapshot; returns the elapsed time.
async fn wait_for(
    rx: &mut SnapshotRx,
    what: &str,
    limit: Duration,
    pred: impl Fn(&ProviderSnapshot) -> bool,
) -> Duration {
    let start = Instant::now();
    let ok = matches!(
        tokio::time::timeout(limit, rx.wait_for(|s| pred(s))).await,
        Ok(Ok(_))
    );
    match ok {
        true => start.elapsed(),
        false => panic!(
            "timed out after {limit:?} waiting for {what}; last snapshot: {:#?}",
            *rx.borrow()
        ),
    }
}

fn servers(s: &ProviderSnapshot, service: &str) -> Vec<(String, bool)> {
    s.config
        .http
        .services
        .get(service)
        .and_then(|svc| svc.load_balancer.as_ref())
        .map(|lb| {
            lb.servers
                .iter()
                .map(|x| (x.url.clone(), x.draining))
                .collect()
        })
        .unwrap_or_default()
}

fn live(s: &ProviderSnapshot, service: &str) -> usize {
    servers(s, service)
        .iter()
        .filter(|(_, draining)| !draining)
        .count()
}

#[tokio::test]
#[ignore = "needs a dockerd in swarm mode: bash .ci/docker-up.sh"]
async fn discovers_scales_and_removes_a_service() {
    let tag = std::process::id();
    let net = format!("sgtest_net_{tag}");
    let name = format!("sgtest_web_{tag}");
    let router = format!("sgweb{tag}");
    let mut cleanup = Cleanup::default();
    docker(&["image", "inspect", IMAGE]);
    cleanup.network(&net);

    let cfg = SwarmProviderConfig {
        exposed_by_default: false,
        network: Some(net.clone()),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    // Let the provider connect and read the initial state.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let rule = format!("traefik.http.routers.{router}.rule=Host(`web.test`)");
    let port = format!("traefik.http.services.{router}.loadbalancer.server.port=80");
    let created = Instant::now();
    cleanup.httpd(
        &name,
        &net,
        "4s",
        &[
            "--label",
            "traefik.enable=true",
            "--label",
            &rule,
            "--label",
            &port,
        ],
    );

    let svc = router.clone();
    wait_for(
        &mut rx,
        "the router and one running task",
        Duration::from_secs(90),
        |s| s.config.http.routers.contains_key(&router) && live(s, &svc) == 1,
    )
    .await;
    println!(
        "discovery: service visible {:?} after `docker service create`",
        created.elapsed()
    );
    {
        let snap = rx.borrow().clone();
        let r = &snap.config.http.routers[&router];
        assert_eq!(r.rule, "Host(`web.test`)");
        assert_eq!(r.service, router);
        let (url, _) = &servers(&snap, &router)[0];
        assert!(url.starts_with("http://") && url.ends_with(":80"), "{url}");
        assert!(snap.issues.is_empty(), "{:?}", snap.issues);
        // The server names its task (as `docker service ps` shows it), slot, node, container.
        let lb = snap.config.http.services[&router].load_balancer.as_ref();
        let origin = lb.and_then(|lb| lb.servers[0].origin.as_deref()).cloned();
        let Some(ServerOrigin::Task(task)) = origin else {
            panic!("the server has no task origin: {origin:?}");
        };
        let ps = docker(&["service", "ps", "--no-trunc", "-q", &name]);
        assert!(ps.lines().any(|id| id == task.task), "{task:?} not in {ps}");
        assert_eq!((task.service.as_str(), task.slot), (name.as_str(), Some(1)));
        let hostname = docker(&[
            "node",
            "inspect",
            "self",
            "--format",
            "{{.Description.Hostname}}",
        ]);
        assert_eq!(task.node, hostname, "{task:?}");
        assert!(
            task.container.as_ref().is_some_and(|c| c.len() == 64),
            "{task:?}"
        );
    }

    let scaled = Instant::now();
    docker(&["service", "scale", "--detach", &format!("{name}=3")]);
    wait_for(
        &mut rx,
        "three running tasks",
        Duration::from_secs(90),
        |s| live(s, &svc) == 3,
    )
    .await;
    println!(
        "discovery: 3 tasks visible {:?} after `docker service scale`",
        scaled.elapsed()
    );
    let mut urls: Vec<String> = servers(&rx.borrow(), &router)
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    urls.sort();
    urls.dedup();
    assert!(urls.len() >= 3, "{urls:?}");

    // Scale down: the leaving tasks (desired state `remove`, still running through their stop
    // grace period — busybox httpd as PID 1 ignores SIGTERM) stay as draining servers first.
    let down = Instant::now();
    docker(&["service", "scale", "--detach", &format!("{name}=1")]);
    wait_for(
        &mut rx,
        "two draining tasks",
        Duration::from_secs(30),
        |s| {
            let all = servers(s, &svc);
            live(s, &svc) == 1 && all.iter().filter(|(_, d)| *d).count() == 2
        },
    )
    .await;
    println!(
        "discovery: 2 tasks draining {:?} after `docker service scale =1`",
        down.elapsed()
    );
    wait_for(
        &mut rx,
        "the drained tasks to leave",
        Duration::from_secs(60),
        |s| servers(s, &svc).len() == 1 && live(s, &svc) == 1,
    )
    .await;
    println!(
        "discovery: drained tasks gone {:?} after the scale-down",
        down.elapsed()
    );

    let removed = Instant::now();
    docker(&["service", "rm", &name]);
    wait_for(
        &mut rx,
        "the service to disappear",
        Duration::from_secs(60),
        |s| {
            !s.config.http.routers.contains_key(&router)
                && !s.config.http.services.contains_key(&svc)
        },
    )
    .await;
    println!(
        "discovery: removal visible {:?} after `docker service rm`",
        removed.elapsed()
    );
    provider.abort();
    drop(cleanup);
}

#[tokio::test]
#[ignore = "needs a dockerd in swarm mode: bash .ci/docker-up.sh"]
async fn tasks_become_servers_only_once_healthy() {
    let tag = std::process::id();
    let net = format!("sgtest_hnet_{tag}");
    let sick = format!("sgtest_sick_{tag}");
    let well = format!("sgtest_well_{tag}");
    let mut cleanup = Cleanup::default();
    cleanup.network(&net);

    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let cfg = SwarmProviderConfig {
        network: Some(net.clone()),
        ..Default::default()
    };
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    // Health check never passes: the task stays `starting`, then fails; never a server.
    // Health check passes after ~1 s: the task becomes `running`, then a server.
    for (name, check) in [(&sick, "false"), (&well, "test -f /www/index.html")] {
        let router = format!(
            "traefik.http.services.{}.loadbalancer.server.port=80",
            name.replace('_', "")
        );
        let health = [
            "--health-cmd",
            check,
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ];
        let options = [&health[..], &["--label", &router]].concat();
        cleanup.httpd(name, &net, "1s", &options);
    }
    let (sick_svc, well_svc) = (sick.replace('_', ""), well.replace('_', ""));
    let became = wait_for(
        &mut rx,
        "the healthy service",
        Duration::from_secs(90),
        |s| live(s, &well_svc) == 1,
    )
    .await;
    println!("health: healthy task became a server after {became:?}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let snap = rx.borrow().clone();
    assert!(
        servers(&snap, &sick_svc).is_empty(),
        "a never-healthy task is never a server: {snap:#?}"
    );
    provider.abort();
    drop(cleanup);
}

/// A TCP → docker.sock relay the test can cut and restore, to play "Docker unreachable".
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(([127, 0, 0, 1], port).into())
            .expect("bind relay");
        let listener = socket.listen(64).expect("listen");
        let port = listener.local_addr().expect("local addr").port();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                conns.spawn(async move {
                    if let Ok(mut unix) =
                        tokio::net::UnixStream::connect("/var/run/docker.sock").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
                    }
                });
            }
        });
        Relay {
            port,
            task: Some(task),
        }
    }

    /// Closes the listener and every relayed connection (the event stream included).
    fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

#[tokio::test]
#[ignore = "needs a dockerd in swarm mode: bash .ci/docker-up.sh"]
async fn keeps_the_last_snapshot_while_docker_is_unreachable_then_catches_up() {
    let tag = std::process::id();
    let net = format!("sgtest_rnet_{tag}");
    let name = format!("sgtest_relay_{tag}");
    let router = format!("sgrelay{tag}");
    let mut cleanup = Cleanup::default();
    cleanup.network(&net);
    let port_label = format!("traefik.http.services.{router}.loadbalancer.server.port=80");
    cleanup.httpd(&name, &net, "1s", &["--label", &port_label]);

    let mut relay = Relay::start(0).await;
    let cfg = SwarmProviderConfig {
        endpoint: format!("tcp://127.0.0.1:{}", relay.port),
        network: Some(net.clone()),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    let svc = router.clone();
    wait_for(
        &mut rx,
        "one task via tcp://",
        Duration::from_secs(90),
        |s| live(s, &svc) == 1,
    )
    .await;

    relay.cut();
    docker(&["service", "scale", "--detach", &format!("{name}=2")]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    rx.mark_unchanged();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !rx.has_changed().unwrap(),
        "nothing is published while Docker is unreachable"
    );
    assert_eq!(
        live(&rx.borrow(), &svc),
        1,
        "the last snapshot stays in force"
    );

    let back = Instant::now();
    let _relay = Relay::start(relay.port).await;
    wait_for(
        &mut rx,
        "the scaled service after reconnect",
        Duration::from_secs(60),
        |s| live(s, &svc) == 2,
    )
    .await;
    println!(
        "reconnect: caught up {:?} after Docker came back",
        back.elapsed()
    );
    provider.abort();
    drop(cleanup);
}

#[tokio::test]
async fn unreachable_docker_publishes_nothing() {
    let cfg = SwarmProviderConfig {
        endpoint: "unix:///nonexistent/docker.sock".into(),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    let changed = tokio::time::timeout(Duration::from_millis(800), rx.changed()).await;
    assert!(
        changed.is_err(),
        "nothing may be published while Docker is unreachable"
    );
    assert!(!provider.is_finished(), "the provider keeps retrying");
    provider.abort();
}

/// Network selection as Traefik: a service whose tasks are not on the provider's `network` is
/// still routed, through the task's own network, with a warning naming the missing network
/// (Traefik: "Could not find network named ... Defaulting to first available network"); and label
/// names that differ only in case describe one router, as in Traefik's label parser.
///
/// Compared by hand with Traefik 3.7.15 on the same swarm (provider network absent from the
/// task; labels `routers.Mixed.rule`, `routers.mixed.service=App`, `routers.MIXED.entrypoints`,
/// `routers.r.rule`, `routers.R.Rule`, `services.App...port`, `services.app...passhostheader=false`):
/// Traefik's API showed routers `MIXED@swarm` and `R@swarm` (rule `Host(`first.test`)`), one
/// service `App@swarm` (passHostHeader false) with the task's address on the other network, and
/// logged "Could not find network named ... Defaulting to first available network"; swarmgate's
/// API showed the same routers, rules, service and URL, with the warning naming both networks.
#[tokio::test]
#[ignore = "needs a dockerd in swarm mode: bash .ci/docker-up.sh"]
async fn a_missing_network_falls_back_to_the_task_s_network_with_a_warning() {
    let tag = std::process::id();
    let public = format!("sgtest_pub_{tag}");
    let back = format!("sgtest_back_{tag}");
    let name = format!("sgtest_nw_{tag}");
    let router = format!("SgNet{tag}");
    let mut cleanup = Cleanup::default();
    docker(&["image", "inspect", IMAGE]);
    cleanup.network(&public);
    cleanup.network(&back);
    let subnet = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        &back,
    ]);
    let prefix: String = {
        // "10.0.3.0/24" -> "10.0.3."
        let addr = subnet.split('/').next().unwrap_or_default();
        let mut parts: Vec<&str> = addr.split('.').collect();
        parts.pop();
        format!("{}.", parts.join("."))
    };

    let cfg = SwarmProviderConfig {
        exposed_by_default: false,
        network: Some(public.clone()),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let rule = format!("traefik.http.routers.{router}.rule=Host(`nw.test`)");
    let service = format!(
        "traefik.http.routers.{}.service={router}",
        router.to_lowercase()
    );
    let port = format!("traefik.http.services.{router}.loadbalancer.server.port=80");
    let labels = [
        "--label",
        "traefik.enable=true",
        "--label",
        &rule,
        "--label",
        &service,
        "--label",
        &port,
    ];
    cleanup.httpd(&name, &back, "1s", &labels);

    let svc = router.clone();
    wait_for(
        &mut rx,
        "the router and its task, through the fallback network",
        Duration::from_secs(90),
        |s| live(s, &svc) == 1,
    )
    .await;
    let snap = rx.borrow().clone();
    // One router, named by the first spelling in key order, with the rule and the service.
    let routers: Vec<&String> = snap.config.http.routers.keys().collect();
    assert_eq!(routers, vec![&router], "{routers:?}");
    assert_eq!(snap.config.http.routers[&router].service, router);
    let (url, _) = &servers(&snap, &router)[0];
    assert!(
        url.starts_with(&format!("http://{prefix}")),
        "{url} is not on {back} ({subnet})"
    );
    let warning = snap
        .issues
        .iter()
        .map(|i| i.to_string())
        .find(|i| i.contains(&public))
        .unwrap_or_else(|| panic!("no warning naming {public}: {:?}", snap.issues));
    assert!(warning.contains(&back), "{warning}");
    provider.abort();
    drop(cleanup);
}

/// A `tracing` writer into a shared buffer (the provider's log lines, for counting).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The running task of `service` (its ID), once there is one with a container; then its
/// container ID.
async fn running_task(service: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let tasks = docker(&[
            "service",
            "ps",
            "--no-trunc",
            "-q",
            "--filter",
            "desired-state=running",
            service,
        ]);
        if let Some(task) = tasks.lines().next() {
            // Fails until the task has a container.
            let out = Command::new("docker")
                .args([
                    "inspect",
                    "-f",
                    "{{.Status.ContainerStatus.ContainerID}}",
                    task,
                ])
                .output()
                .unwrap();
            let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if id.len() == 64 {
                return (task.to_string(), id);
            }
        }
        assert!(Instant::now() < deadline, "{service}: no task ever ran");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Issue 20 §2 on a real swarm: with no network named, a service on two overlay networks is
/// reached on the one the edge's own task is attached to, not on its first non-ingress one
/// (the edge is put on the other); the choice is logged once for the service, not at every
/// resync.
#[tokio::test]
#[ignore = "needs a dockerd in swarm mode: bash .ci/docker-up.sh"]
async fn prefers_the_network_the_edge_task_is_on_and_logs_it_once() {
    let tag = std::process::id();
    let nets = [format!("i20-one-{tag}"), format!("i20-two-{tag}")];
    let (app, edge) = (format!("i20-app-{tag}"), format!("i20-edge-{tag}"));
    let router = format!("i20app{tag}");
    let mut cleanup = Cleanup {
        services: Vec::new(),
        networks: Vec::new(),
    };
    docker(&["image", "inspect", IMAGE]);
    for net in &nets {
        docker(&[
            "network",
            "create",
            "--driver",
            "overlay",
            "--attachable",
            net,
        ]);
        cleanup.networks.push(net.clone());
    }
    let rule = format!("traefik.http.routers.{router}.rule=Host(`i20.test`)");
    let port = format!("traefik.http.services.{router}.loadbalancer.server.port=80");
    docker(&[
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--stop-grace-period",
        "1s",
        "--name",
        &app,
        "--network",
        &nets[0],
        "--network",
        &nets[1],
        "--label",
        "traefik.enable=true",
        "--label",
        &rule,
        "--label",
        &port,
        IMAGE,
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    cleanup.services.push(app.clone());
    // The app task's first attachment is what swarmgate would pick without the edge's networks:
    // the edge goes on the other one.
    let (task, _) = running_task(&app).await;
    let first_id = docker(&[
        "inspect",
        "-f",
        "{{(index .NetworksAttachments 0).Network.ID}}",
        &task,
    ]);
    let first_name = docker(&["network", "inspect", "-f", "{{.Name}}", &first_id]);
    let other = nets.iter().find(|n| **n != first_name).unwrap().clone();
    docker(&[
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--stop-grace-period",
        "1s",
        "--name",
        &edge,
        "--network",
        &other,
        IMAGE,
        "sleep",
        "600",
    ]);
    cleanup.services.push(edge.clone());
    let (_, container) = running_task(&edge).await;
    let subnet = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        &other,
    ]);
    let prefix = {
        let addr = subnet.split('/').next().unwrap_or_default().to_string();
        let mut parts: Vec<&str> = addr.split('.').collect();
        parts.pop();
        format!("http://{}.", parts.join("."))
    };

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let cfg = SwarmProviderConfig {
        exposed_by_default: false,
        refresh_seconds: Some(swarmgate::config::Duration::from_secs(1)),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = SwarmProvider::new(&cfg).with_own_container(Some(container[..12].to_string()));
    let running = tokio::spawn(provider.run(tx));
    let svc = router.clone();
    wait_for(
        &mut rx,
        "the app's task on the edge's network",
        Duration::from_secs(90),
        |s| live(s, &svc) == 1,
    )
    .await;
    let (url, _) = servers(&rx.borrow(), &router)[0].clone();
    assert!(
        url.starts_with(&prefix),
        "{url} is not on {other} ({subnet}); the task's first network is {first_name}"
    );
    // Several resyncs later, still one line for the service.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    running.abort();
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("routing through network") && l.contains(&app))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains(&other) && lines[0].contains("swarmgate is attached to"),
        "{}",
        lines[0]
    );
    drop(cleanup);
}
