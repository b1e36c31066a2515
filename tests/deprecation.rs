//! Issue 20 §1: Traefik v2 spellings are applied, each with one deprecation notice naming the
//! v3 spelling (v2 Swarm static options, `traefik.docker.*` labels, `ipWhiteList`), and
//! `swarmgate migrate` prints their v3 form (static options as TOML, labels with `--stack`).
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

fn swarmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swarmgate"))
}

const V2: &[&str] = &[
    "--entrypoints.web.address=127.0.0.1:0",
    "--providers.docker.swarmMode=true",
    "--providers.docker.network=proxy",
    "--providers.docker.exposedByDefault=false",
    "--providers.docker.watch=true",
    "--providers.docker.endpoint=unix:///var/run/docker.sock",
    "--providers.docker.constraints=Label(`a`,`b`)",
    "--providers.docker.swarmModeRefreshSeconds=5",
];

#[test]
fn check_gives_one_notice_per_v2_swarm_option() {
    let out = swarmgate().arg("check").args(V2).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for (v2, v3) in [
        ("--providers.docker.swarmMode", "providers.swarm`"),
        ("--providers.docker.network", "providers.swarm.network"),
        (
            "--providers.docker.exposedByDefault",
            "providers.swarm.exposedByDefault",
        ),
        ("--providers.docker.watch", "providers.swarm.watch"),
        ("--providers.docker.endpoint", "providers.swarm.endpoint"),
        (
            "--providers.docker.constraints",
            "providers.swarm.constraints",
        ),
        ("swarmModeRefreshSeconds", "providers.swarm.refreshSeconds"),
    ] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("warning:")
                    && l.contains(&format!("{v2}:"))
                    && l.contains("deprecated")
            })
            .collect();
        assert_eq!(lines.len(), 1, "{v2}:\n{text}");
        assert!(lines[0].contains(v3), "{v2} → {v3}:\n{text}");
    }
    // The v3 spelling gives none.
    let out = swarmgate()
        .args([
            "check",
            "--entrypoints.web.address=127.0.0.1:0",
            "--providers.swarm.network=proxy",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("deprecated"), "{text}");
}

/// `swarmgate <command> <V2 options> --stack <a stack.yml holding labels>`: (success, stdout).
fn with_stack(command: &str, labels: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.yml");
    let mut yaml = "services:\n  web:\n    image: nginx\n    deploy:\n      labels:\n".to_string();
    for label in labels {
        yaml.push_str(&format!("        - {label}\n"));
    }
    std::fs::write(&stack, yaml).unwrap();
    let out = swarmgate()
        .arg(command)
        .args(V2)
        .arg("--stack")
        .arg(&stack)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn migrate_prints_the_v3_form_of_options_and_labels() {
    let (ok, text) = with_stack(
        "migrate",
        &[
            "traefik.docker.network=proxy",
            "traefik.docker.lbswarm=true",
            "traefik.http.middlewares.office.ipwhitelist.sourcerange=10.0.0.0/8",
            "traefik.http.routers.web.rule=Host(`a.example`)",
        ],
    );
    assert!(ok, "{text}");
    let cfg: swarmgate::config::StaticConfig = toml::from_str(&text).unwrap();
    assert!(cfg.providers.docker.is_none(), "{text}");
    let swarm = cfg.providers.swarm.unwrap();
    assert_eq!(swarm.network.as_deref(), Some("proxy"));
    assert!(!swarm.exposed_by_default);
    for line in [
        "\"traefik.swarm.network=proxy\"",
        "\"traefik.swarm.lbswarm=true\"",
        "\"traefik.http.middlewares.office.ipallowlist.sourcerange=10.0.0.0/8\"",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(!text.contains("routers.web.rule"), "{text}");
}

/// `check --stack` on a Traefik v2 stack: each v2 label gets a `warning:` naming its service, file
/// and v3 spelling, and warnings are not problems (the stack is served as Traefik serves it).
#[test]
fn check_stack_notices_v2_labels_and_passes() {
    let (ok, text) = with_stack(
        "check",
        &[
            "traefik.enable=true",
            "traefik.docker.network=proxy",
            "traefik.http.middlewares.office.ipwhitelist.sourcerange=10.0.0.0/8",
            "traefik.http.routers.web.rule=Host(`a.example`)",
            "traefik.http.routers.web.middlewares=office",
            "traefik.http.services.web.loadbalancer.server.port=80",
        ],
    );
    assert!(ok, "{text}");
    for (v2, v3) in [
        ("traefik.docker.network", "traefik.swarm.network"),
        (
            "traefik.http.middlewares.office.ipwhitelist.sourcerange",
            "traefik.http.middlewares.office.ipallowlist.sourcerange",
        ),
    ] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("warning:") && l.contains(&format!("label {v2}:")))
            .collect();
        assert_eq!(lines.len(), 1, "{v2}:\n{text}");
        assert!(
            lines[0].contains("\"web\"") && lines[0].contains("stack.yml") && lines[0].contains(v3),
            "{v2} → {v3}:\n{text}"
        );
    }
    assert!(text.contains("configuration OK"), "{text}");
}

/// `ipWhiteList` is served as `ipAllowList` and noticed once per middleware, not per reload.
#[tokio::test]
async fn ip_white_list_is_noticed_once_per_middleware() {
    use swarmgate::config::deprecation::first_time;
    let b = support::backend("one").await;
    let yaml = |n: usize| {
        format!(
            "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: app\n      middlewares: [office]\n  middlewares:\n    office:\n      ipWhiteList:\n        sourceRange: [\"127.0.0.1/32\"]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n# generation {n}\n",
            b.url()
        )
    };
    let gw = support::gateway(&yaml(0)).await;
    let c = support::client();
    assert_eq!(support::get(&c, &gw.url("/"), None).await.status, 200);
    // The notice was given (its key is taken) at the first compile ...
    assert!(!first_time("middleware|office@file|ipWhiteList"));
    gw.write_dynamic(&yaml(1));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(support::get(&c, &gw.url("/"), None).await.status, 200);
    // ... and not for another middleware name until one uses it.
    assert!(first_time("middleware|other@file|ipWhiteList"));
    gw.stop().await;
}
