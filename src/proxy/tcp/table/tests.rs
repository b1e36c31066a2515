use std::sync::atomic::Ordering;

use super::*;

fn table(health_check: bool) -> TcpTable {
    let check = if health_check {
        "        healthCheck:\n          interval: 1h\n"
    } else {
        ""
    };
    let yaml = format!(
        "tcp:\n  services:\n    s:\n      loadBalancer:\n{check}        servers:\n          - address: \"127.0.0.1:1\"\n          - address: \"127.0.0.1:2\"\n"
    );
    let cfg: DynamicConfig = serde_yaml::from_str(&yaml).unwrap();
    let (table, issues) = compile(&cfg, &[]);
    assert!(issues.is_empty(), "{issues:?}");
    table
}

fn healthy(table: &TcpTable) -> Vec<bool> {
    let TcpService::Servers(b) = &*table.services[0] else {
        panic!("a load balancer");
    };
    b.servers
        .iter()
        .map(|s| s.healthy.load(Ordering::Relaxed))
        .collect()
}

#[test]
fn a_reload_keeps_what_the_health_check_found() {
    let before = table(true);
    let TcpService::Servers(b) = &*before.services[0] else {
        panic!("a load balancer");
    };
    b.servers[1].healthy.store(false, Ordering::Relaxed);
    let after = table(true);
    assert_eq!(healthy(&after), [true, true]);
    after.carry_health_from(&before);
    assert_eq!(healthy(&after), [true, false]);
    // Without a check any more, the verdict of the old one does not keep the server out.
    let unchecked = table(false);
    unchecked.carry_health_from(&before);
    assert_eq!(healthy(&unchecked), [true, true]);
}
