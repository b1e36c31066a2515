use super::*;
use crate::provider::swarm::read::RawTaskStatus;

fn task(id: &str, slot: u64, node: &str, state: &str, desired: &str) -> RawTask {
    RawTask {
        id: id.into(),
        service_id: "s".into(),
        node_id: node.into(),
        slot,
        status: RawTaskStatus {
            state: state.into(),
            container_status: None,
        },
        desired_state: desired.into(),
        networks_attachments: Vec::new(),
    }
}

fn node(id: &str, state: &str, availability: &str) -> RawNode {
    RawNode {
        id: id.into(),
        spec: RawNodeSpec {
            availability: availability.into(),
        },
        status: RawNodeStatus {
            state: state.into(),
        },
        ..Default::default()
    }
}

fn draining(tasks: &[RawTask], bad: &HashSet<String>) -> Vec<(String, bool)> {
    let refs: Vec<&RawTask> = tasks.iter().collect();
    let map = draining_tasks(&refs, bad);
    let mut out: Vec<_> = map.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    out.sort();
    out
}

#[test]
fn nodes_down_disconnected_or_drained_are_unusable() {
    let nodes = [
        node("a", "ready", "active"),
        node("b", "down", "active"),
        node("c", "ready", "drain"),
        node("d", "disconnected", "active"),
        node("e", "ready", "pause"),
    ];
    let mut bad: Vec<_> = unusable_nodes(&nodes).into_iter().collect();
    bad.sort();
    assert_eq!(bad, ["b", "c", "d"]);
}

#[test]
fn a_task_replaced_under_start_first_drains_as_its_successor_starts() {
    for coming in [
        "new",
        "pending",
        "assigned",
        "accepted",
        "preparing",
        "ready",
        "starting",
    ] {
        let tasks = [
            task("old1", 1, "n2", "running", "running"),
            task("new1", 1, "n3", coming, "running"),
            task("t2", 2, "n2", "running", "running"),
        ];
        assert_eq!(
            draining(&tasks, &HashSet::new()),
            [
                ("new1".to_string(), false),
                ("old1".to_string(), true),
                ("t2".to_string(), false)
            ],
            "{coming}"
        );
    }
    // Once the successor runs, the old task's desired state turns `shutdown` (read::select_task).
    let settled = [
        task("old1", 1, "n2", "running", "shutdown"),
        task("new1", 1, "n3", "running", "running"),
    ];
    assert!(draining(&settled, &HashSet::new()).iter().all(|(_, d)| !d));
    // A failed successor does not drain the task that still serves.
    let failed = [
        task("old1", 1, "n2", "running", "running"),
        task("new1", 1, "n3", "failed", "shutdown"),
        task("t2", 2, "n2", "running", "running"),
    ];
    assert!(draining(&failed, &HashSet::new()).iter().all(|(_, d)| !d));
}

#[test]
fn global_services_pair_tasks_by_node() {
    let tasks = [
        task("a-old", 0, "n1", "running", "running"),
        task("a-new", 0, "n1", "starting", "running"),
        task("b", 0, "n2", "running", "running"),
    ];
    assert_eq!(
        draining(&tasks, &HashSet::new()),
        [
            ("a-new".to_string(), false),
            ("a-old".to_string(), true),
            ("b".to_string(), false)
        ]
    );
}

#[test]
fn the_last_serving_task_stays_while_its_successor_starts() {
    let tasks = [
        task("old1", 1, "n2", "running", "running"),
        task("new1", 1, "n3", "starting", "running"),
    ];
    assert!(draining(&tasks, &HashSet::new()).iter().all(|(_, d)| !d));
}

#[test]
fn tasks_on_an_unusable_node_drain() {
    let tasks = [
        task("t1", 1, "n2", "running", "running"),
        task("t2", 2, "n3", "running", "running"),
    ];
    let bad = HashSet::from(["n2".to_string()]);
    assert_eq!(
        draining(&tasks, &bad),
        [("t1".to_string(), true), ("t2".to_string(), false)]
    );
}
