//! The whole product in Docker Swarm: swarmgate (image `swarmgate:dev`) runs as a Swarm service with
//! a host-mode published port and the Docker socket mounted, in front of testbackend services
//! (`swarmgate-testbackend:v1`/`:v2`) configured by Traefik labels. Each scenario prints its numbers.
//!
//! Needs root, `bash .ci/docker-up.sh` and `bash .ci/build-images.sh`; then
//! `cargo test --release --test e2e_swarm -- --ignored --nocapture --test-threads=1`.
//! Every test uses its own names and published port and removes what it deployed, even on failure.
#![allow(clippy::unwrap_used)]

#[path = "e2e_swarm/harness.rs"]
mod harness;
#[path = "e2e_swarm/load.rs"]
mod load;
#[path = "e2e_swarm/relay.rs"]
mod relay;
#[path = "e2e_swarm/stack_file.rs"]
mod stack_file;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use harness::{
    docker, eventually, running, secs_between, wait_running, Stack, BACKEND_V1, BACKEND_V2,
};
use load::{client, get, Load};
use relay::Relay;

/// How long a test waits for every running task to have answered once before it starts measuring. Setup, not
/// the thing measured: generous, since CI runs other suites beside this one on two cores.
const SETTLE: Duration = Duration::from_secs(60);

/// The last `n` lines of `text` (a gateway's log in a failure message).
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Sends GETs until every host in `hosts` has answered (or `limit` passes).
async fn wait_all_hosts(url: &str, hosts: &HashSet<String>, limit: Duration) -> bool {
    let c = client();
    let seen = RefCell::new(HashSet::new());
    let all = eventually(limit, || async {
        for _ in 0..10 {
            if let Ok(a) = get(&c, url).await {
                if a.status == 200 {
                    seen.borrow_mut().insert(a.host);
                }
            }
        }
        hosts.iter().all(|h| seen.borrow().contains(h))
    })
    .await;
    if !all {
        // Say which task never answered: a task Docker calls running but that refused its first connections is
        // ejected with a doubling back-off (1, 2, 4, 8 s), so a slow start on a loaded machine shows up here.
        println!(
            "wait_all_hosts: after {limit:?} saw {:?} of {:?}",
            seen.borrow(),
            hosts
        );
    }
    all
}

fn host_set(tasks: &[harness::Task]) -> HashSet<String> {
    tasks.iter().map(|t| t.host.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn discovery_routes_a_new_service_within_2s_of_its_task_running() {
    let stack = Stack::new("disc", 18081, None).await;
    let url = stack.url("/disc/hello");
    let poll = tokio::spawn(async move {
        let c = client();
        loop {
            if get(&c, &url).await.is_ok_and(|a| a.status == 200) {
                return SystemTime::now();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let svc = stack.backend("disc", 1, BACKEND_V1, &[]);
    let first_ok = tokio::time::timeout(Duration::from_secs(90), poll)
        .await
        .expect("the new service never answered 200 through swarmgate")
        .unwrap();
    let task = wait_running(&svc, 1, Duration::from_secs(10)).remove(0);
    let d = secs_between(task.since, first_ok);
    println!("discovery: task running → first 200 through swarmgate: {d:.3}s");
    assert!(d < 2.0, "discovery took {d:.3}s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn load_balancing_spreads_300_requests_evenly_over_3_tasks() {
    let stack = Stack::new("lb", 18082, None).await;
    let svc = stack.backend("lb", 3, BACKEND_V1, &[]);
    let hosts = host_set(&wait_running(&svc, 3, Duration::from_secs(90)));
    let url = stack.url("/lb/x");
    assert!(
        wait_all_hosts(&url, &hosts, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );
    let c = client();
    let mut by_host: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let a = get(&c, &url).await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        *by_host.entry(a.host).or_default() += 1;
    }
    println!("load balancing over 3 tasks, 300 requests: {by_host:?}");
    assert_eq!(by_host.keys().cloned().collect::<HashSet<_>>(), hosts);
    for (host, n) in &by_host {
        assert!((90..=110).contains(n), "{host} got {n} of 300");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn scale_2_to_5_every_task_gets_traffic_within_5s() {
    let stack = Stack::new("scale", 18083, None).await;
    let svc = stack.backend("scale", 2, BACKEND_V1, &[]);
    let before = host_set(&wait_running(&svc, 2, Duration::from_secs(90)));
    let url = stack.url("/scale/x");
    assert!(
        wait_all_hosts(&url, &before, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );
    let load = Load::start(&url, 4, 30);
    docker(&["service", "scale", "--detach", &format!("{svc}=5")]);
    let tasks = wait_running(&svc, 5, Duration::from_secs(120));
    let last_running = tasks.iter().map(|t| t.since).max().unwrap();
    // Give every task its 5 s window (plus a margin to observe a miss), then judge.
    let until = last_running + Duration::from_secs(6);
    while SystemTime::now() < until {
        let seen = load.snapshot().first_seen;
        if tasks.iter().all(|t| seen.contains_key(&t.host)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = load.finish().await;
    println!(
        "scale 2→5 under {:.0} req/s: {} ok, {} non-2xx, {} errors; per host {:?}",
        stats.rate(),
        stats.ok,
        stats.non_2xx,
        stats.errors,
        stats.by_host
    );
    for t in tasks.iter().filter(|t| !before.contains(&t.host)) {
        let seen = stats.first_seen.get(&t.host);
        let d = seen.map(|s| secs_between(t.since, *s));
        println!("  new task {}: running → first request {d:?}s", t.host);
        assert!(
            d.is_some_and(|d| d < 5.0),
            "task {} got no traffic in 5 s",
            t.host
        );
    }
    assert_eq!(stats.non_2xx + stats.errors, 0, "{:?}", stats.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn rolling_update_v1_to_v2_under_load_loses_nothing() {
    let stack = Stack::new("roll", 18084, None).await;
    let svc = stack.backend("roll", 2, BACKEND_V1, &[]);
    let hosts = host_set(&wait_running(&svc, 2, Duration::from_secs(90)));
    let url = stack.url("/roll/x");
    assert!(
        wait_all_hosts(&url, &hosts, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );
    let load = Load::start(&url, 4, 30);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    docker(&[
        "service",
        "update",
        "--quiet",
        "--detach=false",
        "--image",
        BACKEND_V2,
        "--no-resolve-image",
        "--update-order",
        "start-first",
        "--update-monitor",
        "2s",
        &svc,
    ]);
    let took = started.elapsed();
    // The old tasks serve their grace period after SIGTERM; keep the load on until they are gone.
    let old_gone = eventually(Duration::from_secs(30), || async {
        let r = running(&svc);
        r.len() == 2 && r.iter().all(|t| !hosts.contains(&t.host))
    })
    .await;
    assert!(
        old_gone,
        "old tasks still running: {:?}",
        harness::tasks(&svc)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = load.finish().await;
    println!(
        "rolling update v1→v2 ({:.1}s) under {:.0} req/s: {} requests, {} ok, {} non-2xx, {} errors; versions {:?}",
        took.as_secs_f64(),
        stats.rate(),
        stats.total(),
        stats.ok,
        stats.non_2xx,
        stats.errors,
        stats.by_version
    );
    assert!(
        stats.rate() >= 100.0,
        "load too low: {:.0} req/s",
        stats.rate()
    );
    assert_eq!(stats.non_2xx + stats.errors, 0, "{:?}", stats.failures);
    let c = client();
    let mut after: HashMap<String, usize> = HashMap::new();
    for _ in 0..100 {
        let a = get(&c, &url).await.unwrap();
        *after
            .entry(format!("{} {}", a.status, a.version))
            .or_default() += 1;
    }
    println!("after the update, 100 requests: {after:?}");
    assert_eq!(after.get("200 OK v2"), Some(&100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn self_healing_a_killed_task_costs_at_most_its_requests_in_flight() {
    const WORKERS: usize = 4;
    let stack = Stack::new("heal", 18085, None).await;
    let svc = stack.backend("heal", 3, BACKEND_V1, &[]);
    let tasks = wait_running(&svc, 3, Duration::from_secs(90));
    let hosts = host_set(&tasks);
    let url = stack.url("/heal/x");
    assert!(
        wait_all_hosts(&url, &hosts, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );
    let load = Load::start(&url, WORKERS, 30);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = &tasks[0];
    let killed_at = SystemTime::now();
    docker(&["kill", &victim.container]);
    let replaced = eventually(Duration::from_secs(60), || async {
        let r = running(&svc);
        r.len() == 3 && r.iter().any(|t| !hosts.contains(&t.host))
    })
    .await;
    assert!(replaced, "no replacement task: {:?}", harness::tasks(&svc));
    let new = running(&svc)
        .into_iter()
        .find(|t| !hosts.contains(&t.host))
        .unwrap();
    let joined = eventually(Duration::from_secs(10), || async {
        load.snapshot().first_seen.contains_key(&new.host)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = load.finish().await;
    let failed = stats.non_2xx + stats.errors;
    let last_failure = stats
        .failures
        .iter()
        .map(|(t, _)| secs_between(killed_at, *t))
        .fold(0.0_f64, f64::max);
    println!(
        "self-healing under {:.0} req/s: {} requests, {failed} failed (last {last_failure:.3}s after the kill), replacement {} running {:.2}s after the kill, first request {:?}s after running",
        stats.rate(),
        stats.total(),
        new.host,
        secs_between(killed_at, new.since),
        stats.first_seen.get(&new.host).map(|s| secs_between(new.since, *s)),
    );
    for (_, f) in &stats.failures {
        println!("  failure: {f}");
    }
    assert!(
        failed <= WORKERS,
        "{failed} failures, more than the {WORKERS} requests that can be in flight"
    );
    assert!(
        last_failure < 1.0,
        "failures went on for {last_failure:.3}s"
    );
    assert!(joined, "the replacement task {} got no traffic", new.host);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn removal_routes_answer_404_within_2s() {
    let stack = Stack::new("gone", 18086, None).await;
    let svc = stack.backend("gone", 1, BACKEND_V1, &[]);
    let hosts = host_set(&wait_running(&svc, 1, Duration::from_secs(90)));
    let url = stack.url("/gone/x");
    assert!(
        wait_all_hosts(&url, &hosts, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );
    let removed = Instant::now();
    docker(&["service", "rm", &svc]);
    let c = client();
    let gone = eventually(Duration::from_secs(10), || async {
        get(&c, &url).await.is_ok_and(|a| a.status == 404)
    })
    .await;
    let d = removed.elapsed().as_secs_f64();
    println!("removal: docker service rm → 404: {d:.3}s");
    assert!(gone && d < 2.0, "still routed {d:.3}s after removal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn docker_outage_keeps_the_last_table_and_resyncs_after() {
    let dir = std::env::temp_dir().join(format!("sge2e-relay-{}", std::process::id()));
    let relay = Relay::start(&dir);
    let stack = Stack::new("out", 18087, Some(dir)).await;
    let svc = stack.backend("out", 2, BACKEND_V1, &[]);
    let hosts = host_set(&wait_running(&svc, 2, Duration::from_secs(90)));
    let url = stack.url("/out/x");
    assert!(
        wait_all_hosts(&url, &hosts, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );

    relay.set_cut(true);
    let load = Load::start(&url, 4, 25);
    // A change swarmgate cannot see while Docker is away.
    docker(&["service", "scale", "--detach", &format!("{svc}=3")]);
    let tasks = wait_running(&svc, 3, Duration::from_secs(90));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = load.snapshot();
    let new = tasks
        .iter()
        .find(|t| !hosts.contains(&t.host))
        .unwrap()
        .clone();
    assert!(
        !during.first_seen.contains_key(&new.host),
        "swarmgate saw the new task although Docker was cut off"
    );
    let restored = Instant::now();
    relay.set_cut(false);
    let joined = eventually(Duration::from_secs(15), || async {
        load.snapshot().first_seen.contains_key(&new.host)
    })
    .await;
    let resync = restored.elapsed().as_secs_f64();
    let stats = load.finish().await;
    println!(
        "docker outage: {:.1}s without the API, {} requests during it all answered by the last table ({} ok, {} failed); resynced {resync:.2}s after the API returned",
        during.elapsed.as_secs_f64(),
        during.total(),
        during.ok,
        during.non_2xx + during.errors,
    );
    assert_eq!(during.non_2xx + during.errors, 0, "{:?}", during.failures);
    assert_eq!(stats.non_2xx + stats.errors, 0, "{:?}", stats.failures);
    assert!(joined, "no resync within 15 s of the API returning");
    let logs = stack.gateway_logs();
    assert!(
        logs.contains("Docker unreachable"),
        "no outage in the logs:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn bad_labels_are_reported_and_skipped_others_keep_routing() {
    let stack = Stack::new("bad", 18088, None).await;
    let good = stack.backend("good", 1, BACKEND_V1, &[]);
    let bad_router = format!("{}bad", stack.tag);
    let bad = stack.backend(
        "bad",
        1,
        BACKEND_V1,
        &[format!(
            "traefik.http.routers.{bad_router}.rule=PathPrefix(`/bad`"
        )],
    );
    let good_hosts = host_set(&wait_running(&good, 1, Duration::from_secs(90)));
    wait_running(&bad, 1, Duration::from_secs(90));
    assert!(
        wait_all_hosts(&stack.url("/good/x"), &good_hosts, SETTLE).await,
        "gateway log, last lines:\n{}",
        last_lines(&stack.gateway_logs(), 60)
    );
    let logs = stack.gateway_logs();
    let reported = eventually(Duration::from_secs(10), || async {
        stack
            .gateway_logs()
            .lines()
            // A rule that does not parse is an error, logged at ERROR as Traefik logs it.
            .any(|l| l.contains(&bad_router) && l.contains("ERROR"))
    })
    .await;
    let c = client();
    let bad_answer = get(&c, &stack.url("/bad/x")).await.unwrap();
    let good_answer = get(&c, &stack.url("/good/x")).await.unwrap();
    let line = stack
        .gateway_logs()
        .lines()
        .find(|l| l.contains(&bad_router))
        .map(str::to_string);
    println!(
        "bad labels: /bad → {}, /good → {}; reported: {line:?}",
        bad_answer.status, good_answer.status
    );
    assert!(reported, "the bad rule was not reported; logs:\n{logs}");
    assert_eq!(bad_answer.status, 404);
    assert_eq!(good_answer.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn seed_stack_file_deploys_and_routes_api_with_strip_prefix() {
    stack_file::deploy_and_check().await;
}

/// Runs in the plain `cargo test` too: the documented stack file stays valid.
#[test]
fn seed_stack_file_means_what_a_traefik_user_expects() {
    stack_file::check_static();
}

/// One HTTP/1.0 request over a fresh connection to 127.0.0.1:`port` (a TCP router passes the bytes
/// through): the answering task's host, or what went wrong.
async fn tcp_exchange(port: u16) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        s.write_all(b"GET /l4 HTTP/1.0\r\nHost: l4\r\n\r\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        if !text.starts_with("HTTP/1.0 200") && !text.starts_with("HTTP/1.1 200") {
            return Err(format!("answer: {text:?}"));
        }
        host_of(&text).ok_or_else(|| format!("no host in {text:?}"))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// One datagram from a fresh socket (a new UDP session) to 127.0.0.1:`port`: the answering task's
/// host, or what went wrong (no answer within 2 s).
async fn udp_exchange(port: u16, n: u64) -> Result<String, String> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let payload = format!("ping-{n}");
    socket
        .send_to(payload.as_bytes(), ("127.0.0.1", port))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 2048];
    let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| format!("recv: {e}"))?;
    let text = String::from_utf8_lossy(&buf[..got]).into_owned();
    if !text.ends_with(&payload) {
        return Err(format!("answer {text:?} to {payload:?}"));
    }
    host_of(&text).ok_or_else(|| format!("no host in {text:?}"))
}

fn host_of(text: &str) -> Option<String> {
    let at = text.find("host=")? + 5;
    Some(text[at..].split_whitespace().next()?.to_string())
}

/// Issue 22: `traefik.tcp.*` and `traefik.udp.*` labels on a Swarm service are routed to its task
/// addresses (a `HostSNI(*)` TCP router on a plain entrypoint, a UDP router on a `/udp` one), and a
/// start-first rolling update loses no TCP connection and no datagram: each connection and each
/// datagram (from a new source port, so a new UDP session) reaches a task that is running.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs dockerd in swarm mode and the images: .ci/docker-up.sh, .ci/build-images.sh"]
async fn tcp_and_udp_labels_route_to_tasks_and_a_rolling_update_loses_nothing() {
    const TCP: u16 = 18091;
    const UDP: u16 = 18092;
    let stack = Stack::with_entrypoints(
        "l4",
        18090,
        None,
        &[("tcp", TCP, 9000, "tcp"), ("dns", UDP, 9053, "udp")],
    )
    .await;
    let r = format!("{}l4", stack.tag);
    let labels = [
        format!("traefik.tcp.routers.{r}.rule=HostSNI(`*`)"),
        format!("traefik.tcp.routers.{r}.entrypoints=tcp"),
        format!("traefik.tcp.routers.{r}.service={r}"),
        format!("traefik.tcp.services.{r}.loadbalancer.server.port=8080"),
        format!("traefik.udp.routers.{r}.entrypoints=dns"),
        format!("traefik.udp.routers.{r}.service={r}u"),
        format!("traefik.udp.services.{r}u.loadbalancer.server.port=9999"),
    ];
    let svc = stack.backend_with_env("l4", 2, BACKEND_V1, &labels, &["UDP_PORT=9999"]);
    let hosts = host_set(&wait_running(&svc, 2, Duration::from_secs(90)));

    // Both tasks answer over TCP and over UDP.
    let seen_tcp = RefCell::new(HashSet::new());
    let seen_udp = RefCell::new(HashSet::new());
    let settled = eventually(SETTLE, || async {
        for n in 0..10 {
            if let Ok(h) = tcp_exchange(TCP).await {
                seen_tcp.borrow_mut().insert(h);
            }
            if let Ok(h) = udp_exchange(UDP, n).await {
                seen_udp.borrow_mut().insert(h);
            }
        }
        hosts
            .iter()
            .all(|h| seen_tcp.borrow().contains(h) && seen_udp.borrow().contains(h))
    })
    .await;
    assert!(
        settled,
        "tasks {hosts:?}: TCP reached {:?}, UDP reached {:?}; logs:\n{}",
        seen_tcp.borrow(),
        seen_udp.borrow(),
        stack.gateway_logs()
    );

    // Load: two TCP and two UDP clients, a new connection / source port per exchange.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for udp in [false, false, true, true] {
        let stop = std::sync::Arc::clone(&stop);
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failures) = (0u64, Vec::new());
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let r = if udp {
                    udp_exchange(UDP, n).await
                } else {
                    tcp_exchange(TCP).await
                };
                match r {
                    Ok(_) => ok += 1,
                    Err(e) => failures.push(e),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (udp, ok, failures)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    docker(&[
        "service",
        "update",
        "--quiet",
        "--detach=false",
        "--image",
        BACKEND_V2,
        "--no-resolve-image",
        "--update-order",
        "start-first",
        "--update-monitor",
        "2s",
        &svc,
    ]);
    let old_gone = eventually(Duration::from_secs(30), || async {
        let r = running(&svc);
        r.len() == 2 && r.iter().all(|t| !hosts.contains(&t.host))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut tcp_ok, mut udp_ok, mut failures) = (0, 0, Vec::new());
    for c in clients {
        let (udp, ok, f) = c.await.unwrap();
        if udp {
            udp_ok += ok;
        } else {
            tcp_ok += ok;
        }
        failures.extend(
            f.into_iter()
                .map(|e| format!("{} {e}", if udp { "udp" } else { "tcp" })),
        );
    }
    println!(
        "TCP/UDP rolling update: {tcp_ok} TCP connections and {udp_ok} datagrams answered, {} failed {failures:?}",
        failures.len()
    );
    assert!(
        old_gone,
        "old tasks still running: {:?}",
        harness::tasks(&svc)
    );
    assert!(tcp_ok > 100 && udp_ok > 100, "too little load to judge");
    assert!(failures.is_empty(), "{failures:?}");
}
