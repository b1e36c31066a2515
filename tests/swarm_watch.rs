//! The Swarm provider on a multi-node swarm, against a fake Docker API on 127.0.0.1 (issue 27
//! points 1 and 2): the manager emits no container events for tasks on other nodes, so after a
//! service or node event the provider must poll the tasks of what is in flight, see each change
//! within a few hundred milliseconds, drain tasks before they go, and go quiet once the swarm is
//! idle. The fake counts the API requests (the numbers in docs/swarm-multinode.md).
#![allow(clippy::unwrap_used)]
#![allow(clippy::disallowed_types)] // std Mutex: the fake's state, test only

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use swarmgate::config::static_config::SwarmProviderConfig;
use swarmgate::provider::swarm::SwarmProvider;
use swarmgate::provider::{ProviderSnapshot, SnapshotRx};
use tokio::sync::mpsc;

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// The fake manager's state: what `/services`, `/tasks`, `/nodes` answer, and the requests seen.
#[derive(Default)]
struct Swarm {
    services: Vec<Value>,
    tasks: Vec<Value>,
    nodes: Vec<Value>,
    /// Requests per path (without the version prefix and query).
    calls: HashMap<String, usize>,
    events: Vec<mpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Swarm>>);

impl Fake {
    async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fake = fake.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let fake = fake.clone();
                        async move { Ok::<_, Infallible>(fake.answer(req)) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        addr
    }

    fn answer(&self, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path();
        // Strip `/v1.NN`.
        let path = match path.strip_prefix("/v1.") {
            Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => path,
        }
        .to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let mut swarm = self.0.lock().unwrap();
        *swarm.calls.entry(path.clone()).or_default() += 1;
        let json = |v: Value| {
            Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(v.to_string())).boxed())
                .unwrap()
        };
        match path.as_str() {
            "/version" => json(json!({"ApiVersion": "1.47", "Version": "27.0.0"})),
            "/_ping" => json(json!("OK")),
            "/services" => json(Value::Array(swarm.services.clone())),
            "/nodes" => json(Value::Array(swarm.nodes.clone())),
            "/containers/json" => json(json!([])),
            "/tasks" => {
                let wanted = service_filter(&query);
                let tasks = swarm
                    .tasks
                    .iter()
                    .filter(|t| {
                        wanted.as_ref().is_none_or(|w| {
                            w.iter()
                                .any(|s| t["ServiceID"].as_str() == Some(s.as_str()))
                        })
                    })
                    .cloned()
                    .collect();
                json(Value::Array(tasks))
            }
            "/events" => {
                let (tx, rx) = mpsc::unbounded_channel();
                swarm.events.push(tx);
                let stream = tokio_stream_from(rx);
                Response::builder()
                    .header("content-type", "application/json")
                    .body(StreamBody::new(stream).boxed())
                    .unwrap()
            }
            _ => Response::builder()
                .status(404)
                .body(Full::new(Bytes::from_static(b"{\"message\":\"no\"}")).boxed())
                .unwrap(),
        }
    }

    fn emit(&self, typ: &str, action: &str, id: &str) {
        let line = json!({"Type": typ, "Action": action, "Actor": {"ID": id, "Attributes": {}},
            "scope": "swarm", "time": 0, "timeNano": 0})
        .to_string()
            + "\n";
        let swarm = self.0.lock().unwrap();
        for tx in &swarm.events {
            let _ = tx.send(Ok(Frame::data(Bytes::from(line.clone()))));
        }
    }

    fn calls(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(p, _)| !matches!(p.as_str(), "/events" | "/version" | "/_ping"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Waits until the provider's event stream is open (the fake replays nothing, unlike Docker
    /// with `since`).
    async fn subscribed(&self) {
        for _ in 0..250 {
            if !self.0.lock().unwrap().events.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the provider never subscribed to events");
    }

    fn with(&self, f: impl FnOnce(&mut Swarm)) {
        f(&mut self.0.lock().unwrap());
    }
}

fn tokio_stream_from(
    mut rx: mpsc::UnboundedReceiver<Result<Frame<Bytes>, Infallible>>,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The service IDs of a `filters={"service":[…]}` query, if any.
fn service_filter(query: &str) -> Option<Vec<String>> {
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("filters="))?;
    let decoded = percent_decode(raw);
    let v: Value = serde_json::from_str(&decoded).ok()?;
    let ids = v.get("service")?;
    // Docker accepts both `["a"]` and `{"a":true}`.
    Some(match ids {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        Value::Object(o) => o.keys().cloned().collect(),
        _ => Vec::new(),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn service(id: &str, name: &str, updating: bool) -> Value {
    let mut s = json!({
        "ID": id,
        "Spec": {"Name": name, "Labels": {
            "traefik.enable": "true",
            format!("traefik.http.routers.{name}.rule"): format!("Host(`{name}`)"),
            format!("traefik.http.services.{name}.loadbalancer.server.port"): "80",
        }},
        "Endpoint": {}
    });
    if updating {
        s["UpdateStatus"] = json!({"State": "updating"});
    }
    s
}

fn task(
    id: &str,
    service: &str,
    slot: u64,
    node: &str,
    ip: &str,
    state: &str,
    desired: &str,
) -> Value {
    json!({
        "ID": id, "ServiceID": service, "NodeID": node, "Slot": slot,
        "DesiredState": desired, "Status": {"State": state},
        "NetworksAttachments": [{"Network": {"ID": "net1", "Spec": {"Name": "app"}},
            "Addresses": [format!("{ip}/24")]}]
    })
}

fn node(id: &str, state: &str, availability: &str) -> Value {
    json!({"ID": id, "Spec": {"Availability": availability, "Role": "worker"},
        "Status": {"State": state}})
}

/// `(ip, draining)` of service `name`'s servers in the snapshot.
fn servers(s: &ProviderSnapshot, name: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = s
        .config
        .http
        .services
        .get(name)
        .and_then(|svc| svc.load_balancer.as_ref())
        .map(|lb| {
            lb.servers
                .iter()
                .map(|x| {
                    let ip = x.url.trim_start_matches("http://").trim_end_matches(":80");
                    (ip.to_string(), x.draining)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn wait_for(
    rx: &mut SnapshotRx,
    what: &str,
    limit: Duration,
    pred: impl Fn(&ProviderSnapshot) -> bool,
) -> Duration {
    let start = Instant::now();
    if tokio::time::timeout(limit, rx.wait_for(|s| pred(s)))
        .await
        .is_err()
    {
        panic!(
            "no {what} within {limit:?}; last snapshot: {:#?}",
            rx.borrow().config.http.services
        );
    }
    start.elapsed()
}

fn s(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(ip, d)| (ip.to_string(), *d)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_other_nodes_are_seen_within_a_poll_and_an_idle_swarm_costs_nothing() {
    let fake = Fake::default();
    fake.with(|s| {
        s.services = vec![service("svc1", "web", false)];
        s.nodes = vec![node("n1", "ready", "active"), node("n2", "ready", "active")];
        s.tasks = vec![
            task("a1", "svc1", 1, "n2", "10.0.1.11", "running", "running"),
            task("a2", "svc1", 2, "n2", "10.0.1.12", "running", "running"),
        ];
    });
    let addr = fake.start().await;
    let cfg = SwarmProviderConfig {
        endpoint: format!("tcp://{addr}"),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    wait_for(&mut rx, "two tasks", Duration::from_secs(5), |snap| {
        servers(snap, "web") == s(&[("10.0.1.11", false), ("10.0.1.12", false)])
    })
    .await;
    fake.subscribed().await;

    // Idle: no call at all (the resync is 60 s away).
    let before = fake.calls();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = fake.calls() - before;
    assert_eq!(idle, 0, "API calls in 2 s of idle swarm");

    // A start-first update begins: a service event, then task changes on node n2 with no event.
    let update_started = Instant::now();
    let calls_before = fake.calls();
    fake.with(|s| s.services = vec![service("svc1", "web", true)]);
    fake.emit("service", "update", "svc1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.with(|s| {
        s.tasks.push(task(
            "b1",
            "svc1",
            1,
            "n2",
            "10.0.1.21",
            "starting",
            "running",
        ))
    });
    let mut seen = Vec::new();
    // The task being replaced leaves the rotation while its successor starts.
    seen.push(
        wait_for(
            &mut rx,
            "a1 draining as b1 starts",
            Duration::from_secs(3),
            |snap| servers(snap, "web") == s(&[("10.0.1.11", true), ("10.0.1.12", false)]),
        )
        .await,
    );
    // Between the follow-up reads a provider without a watch made (1 s, 3 s, 7 s after the event).
    tokio::time::sleep(Duration::from_millis(2800)).await;
    fake.with(|s| {
        for t in &mut s.tasks {
            match t["ID"].as_str() {
                Some("b1") => t["Status"]["State"] = json!("running"),
                Some("a1") => t["DesiredState"] = json!("shutdown"),
                _ => {}
            }
        }
    });
    seen.push(
        wait_for(&mut rx, "b1 running", Duration::from_secs(3), |snap| {
            servers(snap, "web")
                == s(&[
                    ("10.0.1.11", true),
                    ("10.0.1.12", false),
                    ("10.0.1.21", false),
                ])
        })
        .await,
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.with(|s| {
        for t in &mut s.tasks {
            if t["ID"].as_str() == Some("a1") {
                t["Status"]["State"] = json!("shutdown");
            }
        }
        s.services = vec![service("svc1", "web", false)];
    });
    fake.emit("service", "update", "svc1");
    seen.push(
        wait_for(&mut rx, "a1 gone", Duration::from_secs(3), |snap| {
            servers(snap, "web") == s(&[("10.0.1.12", false), ("10.0.1.21", false)])
        })
        .await,
    );
    println!("changes seen after {seen:?}");
    for took in &seen {
        assert!(*took < Duration::from_millis(700), "a change took {took:?}");
    }
    // The watch settles: the API goes quiet again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = fake.calls() - calls_before;
    let elapsed = update_started.elapsed();
    let before = fake.calls();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.calls() - before, 0, "API calls once settled");
    println!(
        "API calls: idle 0 per 2 s; during the update {during} in {elapsed:?} ({:.0}/min)",
        during as f64 * 60.0 / elapsed.as_secs_f64()
    );
    provider.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_on_a_drained_or_down_node_leave_at_the_node_event() {
    let fake = Fake::default();
    fake.with(|s| {
        s.services = vec![service("svc1", "web", false)];
        s.nodes = vec![
            node("n1", "ready", "active"),
            node("n2", "ready", "active"),
            node("n3", "ready", "active"),
        ];
        s.tasks = vec![
            task("a1", "svc1", 1, "n2", "10.0.1.11", "running", "running"),
            task("a2", "svc1", 2, "n3", "10.0.1.12", "running", "running"),
        ];
    });
    let addr = fake.start().await;
    let cfg = SwarmProviderConfig {
        endpoint: format!("tcp://{addr}"),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    wait_for(&mut rx, "two tasks", Duration::from_secs(5), |snap| {
        servers(snap, "web") == s(&[("10.0.1.11", false), ("10.0.1.12", false)])
    })
    .await;
    fake.subscribed().await;

    // `docker node update --availability drain n2`: the tasks still run for a while.
    fake.with(|s| s.nodes[1] = node("n2", "ready", "drain"));
    fake.emit("node", "update", "n2");
    let took = wait_for(&mut rx, "a1 draining", Duration::from_secs(2), |snap| {
        servers(snap, "web") == s(&[("10.0.1.11", true), ("10.0.1.12", false)])
    })
    .await;
    assert!(
        took < Duration::from_millis(500),
        "drain seen after {took:?}"
    );
    // Swarm then wants a1 stopped (it runs through its stop grace period) and starts its
    // replacement on another node, with no event here: found by the watch the node event started.
    fake.with(|s| s.tasks[0]["DesiredState"] = json!("shutdown"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    fake.with(|s| {
        s.tasks.push(task(
            "b1",
            "svc1",
            1,
            "n3",
            "10.0.1.21",
            "running",
            "running",
        ))
    });
    let took = wait_for(&mut rx, "b1", Duration::from_secs(3), |snap| {
        servers(snap, "web").contains(&("10.0.1.21".to_string(), false))
    })
    .await;
    assert!(
        took < Duration::from_millis(700),
        "replacement seen after {took:?}"
    );

    // n3 goes down (its dockerd killed): its task leaves at the node event.
    fake.with(|s| s.nodes[2] = node("n3", "down", "active"));
    fake.emit("node", "update", "n3");
    let took = wait_for(
        &mut rx,
        "n3's tasks draining",
        Duration::from_secs(2),
        |snap| {
            servers(snap, "web")
                .iter()
                .filter(|(ip, _)| ip == "10.0.1.12" || ip == "10.0.1.21")
                .all(|(_, d)| *d)
        },
    )
    .await;
    assert!(
        took < Duration::from_millis(500),
        "node down seen after {took:?}"
    );
    provider.abort();
}

/// Each server carries the task it is the address of, read from the same `/tasks` and `/nodes`
/// answers: task ID, Swarm service name, slot, node hostname (its ID when `/nodes` has none),
/// container ID (issue 23 §4: the dashboard's service page and the API's `serverOrigins`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_names_its_task_slot_node_and_container() {
    use swarmgate::config::server_origin::{ServerOrigin, TaskOrigin};
    let fake = Fake::default();
    fake.with(|s| {
        s.services = vec![service("svc1", "web", false)];
        let mut n1 = node("n1", "ready", "active");
        n1["Description"] = json!({"Hostname": "manager-1"});
        s.nodes = vec![n1, node("n2", "ready", "active")];
        let mut a1 = task("a1", "svc1", 1, "n1", "10.0.1.11", "running", "running");
        a1["Status"]["ContainerStatus"] = json!({"ContainerID": "c1".repeat(32), "PID": 10});
        s.tasks = vec![
            a1,
            task("a2", "svc1", 2, "n2", "10.0.1.12", "running", "running"),
        ];
    });
    let addr = fake.start().await;
    let cfg = SwarmProviderConfig {
        endpoint: format!("tcp://{addr}"),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::watch::channel(ProviderSnapshot::default());
    let provider = tokio::spawn(SwarmProvider::new(&cfg).run(tx));
    wait_for(&mut rx, "two tasks", Duration::from_secs(5), |snap| {
        servers(snap, "web").len() == 2
    })
    .await;
    let snap = rx.borrow().clone();
    let lb = snap.config.http.services["web"]
        .load_balancer
        .clone()
        .unwrap();
    let origins: HashMap<String, Option<ServerOrigin>> = lb
        .servers
        .iter()
        .map(|s| (s.url.clone(), s.origin.as_deref().cloned()))
        .collect();
    let task_origin = |task: &str, slot, node: &str, node_id: &str, container: Option<String>| {
        Some(ServerOrigin::Task(TaskOrigin {
            task: task.into(),
            service: "web".into(),
            slot: Some(slot),
            node: node.into(),
            node_id: node_id.into(),
            container,
        }))
    };
    assert_eq!(
        origins,
        HashMap::from([
            (
                "http://10.0.1.11:80".to_string(),
                task_origin("a1", 1, "manager-1", "n1", Some("c1".repeat(32)))
            ),
            (
                "http://10.0.1.12:80".to_string(),
                task_origin("a2", 2, "n2", "n2", None)
            ),
        ])
    );
    provider.abort();
}
