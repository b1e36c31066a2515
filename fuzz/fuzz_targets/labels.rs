//! Label translation: any map of labels yields a config and issues, never a panic.
//! Input: one `key=value` label per line; the service has one running task and publishes port 80.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use swarmgate::provider::labels::{service_config, LabelOptions, SwarmService, TaskEndpoint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let labels: BTreeMap<String, String> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let svc = SwarmService {
        name: "stack_app".to_string(),
        labels,
        tasks: vec![TaskEndpoint {
            ip: std::net::IpAddr::from([10, 0, 1, 5]),
            draining: false,
            origin: None,
        }],
        ports: vec![80],
        vip: Some(std::net::IpAddr::from([10, 0, 1, 2])),
    };
    for exposed_by_default in [true, false] {
        let opts = LabelOptions {
            exposed_by_default,
            ..LabelOptions::default()
        };
        let _ = service_config(&svc, &opts);
    }
});
