//! The top-level `docker-stack.yml`: its swarmgate `command:` loads as a Traefik static
//! configuration, its `api` deploy labels translate into the expected router, middleware and
//! service, and — against dockerd — a trimmed copy (no Postgres: its image cannot be pulled
//! offline) deploys with `docker stack deploy` and routes `/api/*` with the prefix stripped.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_yaml::Value;
use swarmgate::config::traefik::{load_traefik, LoadOptions};
use swarmgate::provider::labels::{build_config, LabelOptions, SwarmService, TaskEndpoint};

use super::harness::{docker, eventually, wait_running};
use super::load::{client, get};

fn stack_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docker-stack.yml")
}

fn read_stack() -> Value {
    let text = std::fs::read_to_string(stack_path()).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The pure checks: arguments and labels mean what a Traefik user expects.
pub fn check_static() {
    let stack = read_stack();
    let services = &stack["services"];
    let args = strings(&services["swarmgate"]["command"]);
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_traefik(&args, &[], dir.path(), LoadOptions { strict: true }).unwrap();
    assert!(loaded.unsupported.is_empty(), "{:?}", loaded.unsupported);
    let swarm = loaded.config.providers.swarm.clone().unwrap();
    assert!(!swarm.exposed_by_default);
    assert_eq!(swarm.network.as_deref(), Some("seed_edge"));
    let addresses: BTreeMap<&str, &str> = loaded
        .config
        .entry_points
        .iter()
        .map(|(k, v)| (k.as_str(), v.address.as_str()))
        .collect();
    assert_eq!(
        addresses,
        BTreeMap::from([("web", ":80"), ("websecure", ":443")])
    );

    let labels: BTreeMap<String, String> = strings(&services["api"]["deploy"]["labels"])
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let api = SwarmService {
        name: "seed_api".into(),
        labels,
        tasks: vec![TaskEndpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 5)),
            draining: false,
            origin: None,
        }],
        ports: Vec::new(),
        vip: None,
    };
    let (config, issues) = build_config(&[api], &LabelOptions::from_config(&swarm));
    assert!(issues.is_empty(), "{issues:?}");
    let router = &config.http.routers["api"];
    assert_eq!(router.rule, "PathPrefix(`/api`)");
    assert_eq!(router.middlewares, vec!["api-strip".to_string()]);
    assert!(config.http.middlewares.contains_key("api-strip"));
    let lb = config.http.services["api"].load_balancer.as_ref().unwrap();
    assert_eq!(lb.servers[0].url, "http://10.0.1.5:8080");
    assert_eq!(
        services["api"]["deploy"]["update_config"]["order"].as_str(),
        Some("start-first")
    );
    assert!(services["postgres"]["secrets"].as_sequence().is_some());
    assert!(stack["volumes"]["pgdata"].is_null() || stack["volumes"]["pgdata"].is_mapping());
}

/// Removes the deployed stack and waits for its networks to go.
struct StackGuard(String);

impl Drop for StackGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["stack", "rm", &self.0])
            .output();
        let filter = format!("label=com.docker.stack.namespace={}", self.0);
        for _ in 0..240 {
            let left = Command::new("docker")
                .args(["network", "ls", "-q", "--filter", &filter])
                .output();
            if left.is_ok_and(|o| o.stdout.iter().all(u8::is_ascii_whitespace)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Deploys the trimmed seed stack on 127.0.0.1:18089 and checks `/api/*` routing.
pub async fn deploy_and_check() {
    docker(&["stack", "config", "-c", stack_path().to_str().unwrap()]);
    let name = format!("sge2eseed{}", std::process::id() % 100_000);
    let mut stack = read_stack();
    let services = stack["services"].as_mapping_mut().unwrap();
    services.remove("postgres");
    let gw = &mut services["swarmgate"];
    gw["ports"][0]["published"] = Value::from(18089);
    gw["ports"][1]["published"] = Value::from(18443);
    let args: Vec<Value> = strings(&gw["command"])
        .into_iter()
        .map(|a| Value::from(a.replace("seed_edge", &format!("{name}_edge"))))
        .collect();
    gw["command"] = Value::Sequence(args);
    let top = stack.as_mapping_mut().unwrap();
    top.remove("volumes");
    top.remove("secrets");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yml");
    std::fs::write(&file, serde_yaml::to_string(&stack).unwrap()).unwrap();

    let _guard = StackGuard(name.clone());
    let started = Instant::now();
    docker(&[
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        file.to_str().unwrap(),
        &name,
    ]);
    wait_running(&format!("{name}_swarmgate"), 1, Duration::from_secs(90));
    let hosts: HashSet<String> = wait_running(&format!("{name}_api"), 2, Duration::from_secs(90))
        .into_iter()
        .map(|t| t.host)
        .collect();
    let c = client();
    let seen = RefCell::new(HashSet::new());
    let last = RefCell::new(String::new());
    let ok = eventually(Duration::from_secs(30), || async {
        if let Ok(a) = get(&c, "http://127.0.0.1:18089/api/hello").await {
            *last.borrow_mut() = format!("{} {}", a.status, a.body.trim());
            if a.status == 200 && a.body.contains("path=/hello") {
                seen.borrow_mut().insert(a.host);
            }
        }
        seen.borrow().len() == 2
    })
    .await;
    let (seen, last) = (seen.into_inner(), last.into_inner());
    println!(
        "seed stack: deployed and routing /api → both api tasks (prefix stripped) after {:.1}s; last answer {last:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(ok, "seed stack does not route /api: last answer {last:?}");
    assert_eq!(seen, hosts);
    let other = get(&c, "http://127.0.0.1:18089/other").await.unwrap();
    assert_eq!(other.status, 404);
}
