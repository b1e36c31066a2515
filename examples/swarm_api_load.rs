//! What the Swarm provider costs the Docker API on a large swarm, for `bench/swarm_api_load.sh`
//! (which creates the services, runs this, and removes them).
//!
//!   cargo run --example swarm_api_load -- PREFIX IDLE_SECONDS
//!
//! Runs the real provider against the local dockerd (`/var/run/docker.sock`) and counts its API
//! requests (`SwarmProvider::api_calls`). Prints, for the services whose names start with PREFIX:
//! the time to the first snapshot holding all of their routers and the calls it took; the calls
//! per minute of an idle swarm (over IDLE_SECONDS); and for one label change (`docker service
//! update --label-add`): the time until the snapshot shows it and the calls the watch made until
//! it went quiet again. One JSON object on stdout; progress on stderr.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use swarmgate::config::static_config::SwarmProviderConfig;
use swarmgate::provider::swarm::SwarmProvider;
use swarmgate::provider::ProviderSnapshot;

fn usage() -> ! {
    eprintln!("usage: swarm_api_load PREFIX IDLE_SECONDS");
    std::process::exit(2)
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("docker {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Routers of the snapshot whose names start with `prefix`.
fn routers(s: &ProviderSnapshot, prefix: &str) -> usize {
    s.config
        .http
        .routers
        .keys()
        .filter(|k| k.starts_with(prefix))
        .count()
}

fn priority(s: &ProviderSnapshot, router: &str) -> Option<i64> {
    s.config
        .http
        .routers
        .iter()
        .find(|(k, _)| k.starts_with(router))
        .map(|(_, r)| r.priority.unwrap_or(0))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [prefix, idle] = args.as_slice() else {
        usage()
    };
    let idle: u64 = idle.parse().unwrap_or_else(|_| usage());
    let services = docker(&["service", "ls", "--filter", &format!("name={prefix}"), "-q"])?
        .lines()
        .count();
    // The probe: the one service with a running task (a service without tasks has no router,
    // as in Traefik), whose labels the measurement changes.
    let target = format!("{prefix}0");
    if services == 0 {
        return Err(format!("no service named {prefix}*"));
    }
    let provider = SwarmProvider::new(&SwarmProviderConfig::default());
    let calls = provider.api_calls();
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let started = Instant::now();
    let task = tokio::spawn(provider.run(tx));

    let limit = Duration::from_secs(300);
    // The first snapshot comes from one full read: once it holds the probe, it holds everything.
    while priority(&rx.borrow(), &target).is_none() {
        if started.elapsed() > limit {
            return Err(format!("{target} not routed within {limit:?}"));
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
    }
    let first = started.elapsed();
    let first_calls = calls.load(Ordering::Relaxed);
    let routed = routers(&rx.borrow(), prefix);
    eprintln!(
        "first snapshot: {services} services ({routed} routed) in {first:?}, {first_calls} calls"
    );

    // Idle: nothing changes in the swarm. First let the watch of the probe's starting task end
    // (it polls until the task has been quiet for 2 s).
    tokio::time::sleep(Duration::from_secs(15)).await;
    let before = calls.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let idle_calls = calls.load(Ordering::Relaxed) - before;
    let per_minute = idle_calls as f64 * 60.0 / idle as f64;
    eprintln!("idle: {idle_calls} calls in {idle} s");

    // One label change on one service.
    let wanted = 7 + (started.elapsed().as_secs() % 1000) as i64;
    let before = calls.load(Ordering::Relaxed);
    let changed = Instant::now();
    docker(&[
        "service",
        "update",
        "--detach",
        "--label-add",
        &format!("traefik.http.routers.{target}.priority={wanted}"),
        &target,
    ])?;
    while priority(&rx.borrow(), &target) != Some(wanted) {
        if changed.elapsed() > Duration::from_secs(120) {
            return Err("the label change never showed".into());
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), rx.changed()).await;
    }
    let seen = changed.elapsed();
    // The watch polls the changed service until it has been quiet for 2 s: wait that out.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let update_calls = calls.load(Ordering::Relaxed) - before;
    eprintln!(
        "update: seen after {seen:?}, {update_calls} calls in {:?}",
        changed.elapsed()
    );
    task.abort();
    println!(
        "{{\"services\": {services}, \"routed\": {routed}, \"first_snapshot_s\": {:.3}, \"first_snapshot_calls\": {first_calls}, \"idle_calls_per_min\": {per_minute:.1}, \"update_seen_s\": {:.3}, \"update_calls\": {update_calls}, \"update_window_s\": {:.1}}}",
        first.as_secs_f64(),
        seen.as_secs_f64(),
        changed.elapsed().as_secs_f64()
    );
    Ok(())
}
