use super::*;
use crate::provider::swarm::read::RawTaskStatus;

fn task(id: &str, service: &str, state: &str, desired: &str) -> RawTask {
    RawTask {
        id: id.into(),
        service_id: service.into(),
        node_id: "n2".into(),
        slot: 1,
        status: RawTaskStatus {
            state: state.into(),
            container_status: None,
        },
        desired_state: desired.into(),
        networks_attachments: Vec::new(),
    }
}

#[test]
fn fingerprint_sees_what_routing_depends_on_in_any_order() {
    let a = [
        task("t1", "s", "running", "running"),
        task("t2", "s", "starting", "running"),
    ];
    let b = [
        task("t2", "s", "starting", "running"),
        task("t1", "s", "running", "running"),
    ];
    let print = |ts: &[RawTask]| fingerprint(&ts.iter().collect::<Vec<_>>());
    assert_eq!(print(&a), print(&b));
    let c = [
        task("t1", "s", "running", "shutdown"),
        task("t2", "s", "starting", "running"),
    ];
    assert_ne!(print(&a), print(&c));
    let d = [
        task("t1", "s", "running", "running"),
        task("t2", "s", "running", "running"),
    ];
    assert_ne!(print(&a), print(&d));
}

#[test]
fn convergence() {
    assert!(converged(&task("t", "s", "running", "running")));
    assert!(converged(&task("t", "s", "shutdown", "shutdown")));
    assert!(converged(&task("t", "s", "failed", "shutdown")));
    assert!(!converged(&task("t", "s", "running", "shutdown")));
    assert!(!converged(&task("t", "s", "starting", "running")));
    assert!(!converged(&task("t", "s", "pending", "running")));
}

#[test]
fn a_service_is_watched_until_it_settles() {
    let t0 = Instant::now();
    let mut w = Watch::default();
    assert!(w.is_empty());
    w.add("s", t0);
    w.add("", t0);
    assert_eq!(w.services(), ["s"]);
    let moving = [
        task("t1", "s", "running", "running"),
        task("t2", "s", "starting", "running"),
    ];
    assert!(
        w.observe(&moving, t0),
        "the first poll of a service asks for a full read"
    );
    assert!(!w.observe(&moving, t0 + POLL));
    // Another service's tasks do not count.
    let mut other = moving.to_vec();
    other.push(task("x1", "other", "starting", "running"));
    assert!(!w.observe(&other, t0 + POLL));
    let ran = [
        task("t1", "s", "running", "shutdown"),
        task("t2", "s", "running", "running"),
    ];
    assert!(w.observe(&ran, t0 + POLL * 2));
    let none = HashSet::new();
    // Not converged: stays.
    w.settle(&ran, &none, t0 + SETTLE * 3);
    assert_eq!(w.services(), ["s"]);
    let done = [
        task("t1", "s", "shutdown", "shutdown"),
        task("t2", "s", "running", "running"),
    ];
    let at = t0 + SETTLE * 4;
    assert!(w.observe(&done, at));
    // Converged but changed just now: stays for SETTLE.
    w.settle(&done, &none, at + POLL);
    assert_eq!(w.services(), ["s"]);
    // An update in progress keeps it however quiet.
    let updating = HashSet::from(["s".to_string()]);
    w.settle(&done, &updating, at + SETTLE * 2);
    assert_eq!(w.services(), ["s"]);
    w.settle(&done, &none, at + SETTLE);
    assert!(w.is_empty());
}

#[test]
fn a_crash_loop_is_not_watched_forever() {
    let t0 = Instant::now();
    let mut w = Watch::default();
    w.add("s", t0);
    let looping = [task("t1", "s", "starting", "running")];
    w.settle(&looping, &HashSet::new(), t0 + WATCH_MAX - POLL);
    assert!(!w.is_empty());
    w.settle(&looping, &HashSet::new(), t0 + WATCH_MAX);
    assert!(w.is_empty());
}

#[test]
fn tasks_path_filters_by_service() {
    assert_eq!(
        tasks_path("/v1.47", &["abc", "d-1"]),
        "/v1.47/tasks?filters=%7B%22service%22%3A%5B%22abc%22%2C%22d-1%22%5D%7D"
    );
}
