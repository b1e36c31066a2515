//! Traefik static configurations as Traefik's documentation writes them
//! (`config/examples/traefik/*`): the `traefik.yml`, the stack's `command:` arguments and the
//! same options as `TRAEFIK_*` variables must give the same `StaticConfig`, with no unsupported
//! option, and survive `migrate` to native TOML.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};

use swarmgate::config::load::{load_static, parse_native};
use swarmgate::config::static_config::AccessLogFormat;
use swarmgate::config::traefik::{
    load_traefik, looks_like_traefik_args, to_native_toml, LoadOptions, Loaded, Source,
};
use swarmgate::config::StaticConfig;

const EXAMPLES: &[&str] = &[
    "a-file-provider",
    "b-https-acme",
    "c-swarm",
    "c-swarm-v2",
    "d-observability",
];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/examples/traefik")
        .join(name)
}

/// The `command:` list of the `traefik` service of the example's stack file.
fn stack_command(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(example(name).join("docker-stack.yml")).unwrap();
    let stack: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let cmd = &stack["services"]["traefik"]["command"];
    serde_yaml::from_value(cmd.clone()).unwrap()
}

/// `--a.b.c=v` → `TRAEFIK_A_B_C=v`, as Traefik's environment reference writes them.
fn as_env(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .map(|a| {
            let (k, v) = a.trim_start_matches('-').split_once('=').unwrap();
            (
                format!("TRAEFIK_{}", k.replace('.', "_").to_uppercase()),
                v.to_string(),
            )
        })
        .collect()
}

fn load(args: &[String], env: &[(String, String)]) -> Loaded {
    let empty = tempfile::tempdir().unwrap();
    load_traefik(args, env, empty.path(), LoadOptions { strict: true }).unwrap()
}

fn load_file(name: &str, file: &str) -> Loaded {
    let arg = format!("--configFile={}", example(name).join(file).display());
    load(&[arg], &[])
}

#[test]
fn file_arguments_and_environment_agree_for_every_example() {
    for name in EXAMPLES {
        let args = stack_command(name);
        assert!(looks_like_traefik_args(&args), "{name}");
        let from_args = load(&args, &[]);
        let from_env = load(&[], &as_env(&args));
        let from_file = load_file(name, "traefik.yml");
        assert_eq!(from_args.source, Source::Args);
        assert_eq!(from_env.source, Source::Env);
        assert_eq!(
            from_file.source,
            Source::File(example(name).join("traefik.yml"))
        );
        for l in [&from_args, &from_env, &from_file] {
            assert!(l.unsupported.is_empty(), "{name}: {:?}", l.unsupported);
            assert!(l.ignored.is_empty(), "{name}: {:?}", l.ignored);
        }
        assert_eq!(from_args.config, from_file.config, "{name}: args vs file");
        assert_eq!(from_env.config, from_file.config, "{name}: env vs file");
    }
}

#[test]
fn toml_file_agrees_with_yaml() {
    let yml = load_file("b-https-acme", "traefik.yml");
    let toml = load_file("b-https-acme", "traefik.toml");
    assert_eq!(yml.config, toml.config);
}

#[test]
fn a_http_entrypoint_and_file_provider() {
    let c = load_file("a-file-provider", "traefik.yml").config;
    assert_eq!(c.entry_points.keys().collect::<Vec<_>>(), vec!["web"]);
    assert_eq!(c.entry_points["web"].address, ":80");
    let file = c.providers.file.unwrap();
    assert_eq!(file.directory.as_deref(), Some("/etc/traefik/dynamic"));
    assert!(file.watch);
    assert!(c.providers.swarm.is_none());
}

#[test]
fn b_redirect_to_https_and_acme_http_challenge() {
    let c = load_file("b-https-acme", "traefik.yml").config;
    let web = &c.entry_points["web"];
    let redirect = web
        .http
        .as_ref()
        .and_then(|h| h.redirections.as_ref())
        .and_then(|r| r.entry_point.as_ref())
        .unwrap();
    assert_eq!(redirect.to, "websecure");
    assert_eq!(redirect.scheme, "https");
    assert!(redirect.permanent);
    let websecure = c.entry_points["websecure"].http.as_ref().unwrap();
    let tls = websecure.tls.as_ref().unwrap();
    assert_eq!(tls.cert_resolver.as_deref(), Some("myresolver"));
    let acme = c.certificates_resolvers["myresolver"]
        .acme
        .as_ref()
        .unwrap();
    assert_eq!(acme.email.as_deref(), Some("your-email@example.com"));
    assert_eq!(acme.storage.as_deref(), Some("/letsencrypt/acme.json"));
    assert_eq!(acme.http_challenge.as_ref().unwrap().entry_point, "web");
}

#[test]
fn c_swarm_provider_v3_and_v2_are_the_same() {
    let v3 = load_file("c-swarm", "traefik.yml").config;
    let v2 = load_file("c-swarm-v2", "traefik.yml").config;
    assert_eq!(v3, v2);
    assert!(v2.providers.docker.is_none());
    let swarm = v3.providers.swarm.unwrap();
    assert!(!swarm.exposed_by_default);
    assert_eq!(swarm.network.as_deref(), Some("traefik-public"));
    assert_eq!(swarm.endpoint, "unix:///var/run/docker.sock");
    let v2_args = load(&stack_command("c-swarm-v2"), &[]).config;
    let v3_args = load(&stack_command("c-swarm"), &[]).config;
    assert_eq!(v2_args, v3_args);
}

#[test]
fn d_dashboard_metrics_and_access_log() {
    let c = load_file("d-observability", "traefik.yml").config;
    let api = c.api.as_ref().unwrap();
    assert!(api.dashboard && api.insecure);
    // Traefik creates the internal `traefik` entrypoint on :8080 for the insecure API.
    assert_eq!(c.entry_points["traefik"].address, ":8080");
    let prom = c.metrics.as_ref().unwrap().prometheus.as_ref().unwrap();
    assert_eq!(prom.add_entry_points_labels, Some(true));
    assert_eq!(prom.add_services_labels, Some(true));
    let access = c.access_log.as_ref().unwrap();
    assert_eq!(access.format, AccessLogFormat::Common);
    assert_eq!(
        access.file_path.as_deref(),
        Some("/var/log/traefik/access.log")
    );
    assert_eq!(c.log.level.as_deref(), Some("INFO"));
}

#[test]
fn every_example_round_trips_through_native_toml() {
    for name in EXAMPLES {
        let cfg = load(&stack_command(name), &[]).config;
        let text = to_native_toml(&cfg).unwrap();
        let back: StaticConfig = parse_native(Path::new("swarmgate.toml"), &text).unwrap();
        assert_eq!(back, cfg, "{name}:\n{text}");
    }
}

#[test]
fn migrated_file_loads_as_native_config() {
    let cfg = load_file("b-https-acme", "traefik.yml").config;
    let dir = tempfile::tempdir().unwrap();
    let text = to_native_toml(&cfg).unwrap();
    std::fs::write(dir.path().join("swarmgate.toml"), text).unwrap();
    let native = Path::new("swarmgate.toml");
    let loaded = load_static(Some(native), &[], &[], dir.path(), LoadOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(loaded.config, cfg);
    assert_eq!(
        loaded.source,
        Source::Native(dir.path().join("swarmgate.toml"))
    );
}

#[test]
fn default_file_location_in_working_directory_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let yml = std::fs::read_to_string(example("c-swarm").join("traefik.yml")).unwrap();
    std::fs::write(dir.path().join("traefik.yml"), yml).unwrap();
    let l = load_traefik(&[], &[], dir.path(), LoadOptions::default()).unwrap();
    assert_eq!(l.source, Source::File(dir.path().join("traefik.yml")));
    assert_eq!(l.config, load_file("c-swarm", "traefik.yml").config);
}
