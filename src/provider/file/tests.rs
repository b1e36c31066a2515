//! The file provider: per-file, per-element reading of files and directories.

use super::*;
use crate::config::elements::accept;

const YAML: &str = r#"
http:
  routers:
    api:
      rule: "PathPrefix(`/api`)"
      service: api
      middlewares: [strip]
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/api"]
  services:
    api:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:9000"
"#;

fn provider_for(dir: &Path, filename: Option<&Path>) -> FileProvider {
    FileProvider::new(
        &FileProviderConfig {
            filename: filename.map(|p| p.display().to_string()),
            directory: filename.is_none().then(|| dir.display().to_string()),
            watch: false,
        },
        dir,
        accept,
    )
}

#[test]
fn parses_traefik_yaml() {
    let reading = parse(YAML, Format::Yaml, "t.yml").unwrap();
    assert!(reading.issues.is_empty(), "{:?}", reading.issues);
    let cfg = reading.config;
    assert_eq!(cfg.http.routers["api"].service, "api");
    let lb = cfg.http.services["api"].load_balancer.as_ref().unwrap();
    assert_eq!(lb.servers[0].url, "http://127.0.0.1:9000");
    assert!(lb.pass_host_header);
}

#[test]
fn syntax_errors_carry_location() {
    let err = parse("[http.routers.a]\nrule = 5 5\n", Format::Toml, "d.toml").unwrap_err();
    assert!(err.message.contains("line 2"), "{}", err.message);
    let err = parse("http:\n  routers:\n    a: [1\n", Format::Yaml, "d.yml").unwrap_err();
    assert!(err.message.contains("line"), "{}", err.message);
}

#[test]
fn element_errors_name_the_element_its_key_and_line() {
    let reading = parse(
        "[http.routers.a]\nrule = 5\nservice = \"s\"\n",
        Format::Toml,
        "d.toml",
    )
    .unwrap();
    let issue = &reading.issues[0];
    assert_eq!((issue.element, issue.name.as_str()), (Element::Router, "a"));
    assert!(issue.message.contains("line 2"), "{}", issue.message);
    assert_eq!(issue.key.as_deref(), Some("http.routers.a.rule"));
    let yaml = YAML.replace("      middlewares: [strip]", "      middelwares: [strip]");
    let reading = parse(&yaml, Format::Yaml, "d.yml").unwrap();
    let issue = &reading.issues[0];
    assert_eq!(
        (issue.element, issue.name.as_str()),
        (Element::Router, "api")
    );
    assert!(issue.message.contains("line 7"), "{}", issue.message);
    assert!(issue.message.contains("middelwares"), "{}", issue.message);
    assert_eq!(issue.origin.as_deref(), Some("d.yml"));
    // The router is held closed; its service and middleware are still served.
    assert!(reading.config.invalid.routers.contains_key("api"));
    assert!(reading.config.http.services.contains_key("api"));
    assert!(reading.config.http.middlewares.contains_key("strip"));
}

#[test]
fn an_unknown_section_is_reported_with_the_nearest_name() {
    let reading = parse(
        &format!("{YAML}htp:\n  routers: {{}}\n"),
        Format::Yaml,
        "d.yml",
    )
    .unwrap();
    assert!(!reading.not_dynamic);
    assert_eq!(reading.config.http.routers.len(), 1);
    let issue = &reading.issues[0];
    assert!(
        issue.message.contains("did you mean `http`"),
        "{}",
        issue.message
    );
    assert!(issue.message.contains("line 17"), "{}", issue.message);
}

#[test]
fn one_bad_rule_leaves_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.yml");
    let yaml = format!(
        "{YAML}    other:\n      loadBalancer:\n        servers: [{{url: \"http://127.0.0.1:9001\"}}]\n"
    )
    .replace("PathPrefix(`/api`)", "PathPrefix(`/api`");
    std::fs::write(&path, yaml).unwrap();
    let (cfg, issues) = provider_for(dir.path(), Some(&path)).load();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].element, Element::Router);
    assert_eq!(issues[0].key.as_deref(), Some("http.routers.api.rule"));
    // A rule that does not parse has nothing to hold: not even a closed route.
    assert!(cfg.http.routers.is_empty());
    assert!(cfg.invalid.routers.is_empty());
    assert_eq!(cfg.http.services.len(), 2);
    assert!(cfg.http.middlewares.contains_key("strip"));
}

#[test]
fn a_directory_serves_its_good_files_and_skips_a_compose_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), YAML).unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "version: \"3.8\"\nservices:\n  traefik:\n    image: traefik:v3.7\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.yml"),
        "http:\n  routers:\n    [broken\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/auth.toml"),
        "[http.middlewares.auth.basicAuth]\nusers = [\"test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"]\n",
    )
    .unwrap();
    let (cfg, issues) = provider_for(dir.path(), None).load();
    assert_eq!(cfg.http.routers.len(), 1);
    assert!(
        cfg.http.middlewares.contains_key("auth"),
        "subdirectories are read"
    );
    let compose = issues
        .iter()
        .find(|i| i.name.ends_with("docker-compose.yml"))
        .expect("compose file reported");
    assert!(compose.warning, "{compose}");
    assert!(compose.message.contains("file skipped"), "{compose}");
    let broken = issues
        .iter()
        .find(|i| i.name.ends_with("broken.yml"))
        .expect("broken file reported");
    assert!(!broken.warning);
    assert!(broken.message.contains("line"), "{broken}");
    assert_eq!(issues.len(), 2, "{issues:?}");
}

#[test]
fn a_broken_file_keeps_its_last_good_version_and_a_fix_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yml");
    let b = dir.path().join("b.yml");
    std::fs::write(&a, YAML).unwrap();
    std::fs::write(
        &b,
        "http:\n  middlewares:\n    m:\n      addPrefix:\n        prefix: /x\n",
    )
    .unwrap();
    let provider = provider_for(dir.path(), None);
    let mut kept = LastGood::new();
    let (cfg, issues) = build(&provider.read_all(), &mut kept, accept);
    assert!(issues.is_empty(), "{issues:?}");
    assert!(cfg.http.middlewares.contains_key("m"));

    // b.yml breaks, a.yml changes: a's change applies, b keeps its last good version.
    std::fs::write(&b, "http:\n  middlewares:\n    [oops\n").unwrap();
    std::fs::write(&a, YAML.replace("/api", "/v2")).unwrap();
    let (cfg, issues) = build(&provider.read_all(), &mut kept, accept);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].message.contains("keeping the last version"),
        "{}",
        issues[0]
    );
    assert!(cfg.http.middlewares.contains_key("m"));
    assert_eq!(cfg.http.routers["api"].rule, "PathPrefix(`/v2`)");

    // A bad element in a file that parses is disabled (not kept stale) beside the good changes.
    std::fs::write(
        &b,
        "http:\n  middlewares:\n    m:\n      addPrefix:\n        prefix: 5\n        extra: 1\n    n:\n      addPrefix:\n        prefix: /n\n",
    )
    .unwrap();
    let (cfg, issues) = build(&provider.read_all(), &mut kept, accept);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].name, "m");
    assert!(!cfg.http.middlewares.contains_key("m"));
    assert!(cfg.invalid.middlewares.contains_key("m"));
    assert!(cfg.http.middlewares.contains_key("n"));
}

#[test]
fn a_folded_block_header_value_is_read() {
    let yaml = "http:\n  middlewares:\n    secure:\n      headers:\n        contentSecurityPolicy: >\n          default-src 'self';\n          img-src 'self' data:\n";
    let reading = parse(yaml, Format::Yaml, "h.yml").unwrap();
    assert!(reading.issues.is_empty(), "{:?}", reading.issues);
    assert!(reading.config.http.middlewares.contains_key("secure"));
}

#[test]
fn yaml_anchors_and_merge_keys_are_applied() {
    let yaml = "x-defaults: &lb\n  loadBalancer:\n    servers: [{url: \"http://127.0.0.1:1\"}]\nhttp:\n  services:\n    a:\n      <<: *lb\n";
    let reading = parse(yaml, Format::Yaml, "m.yml").unwrap();
    let unknown: Vec<_> = reading
        .issues
        .iter()
        .filter(|i| i.key.as_deref() != Some("x-defaults"))
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(reading.config.http.services.contains_key("a"));
}

#[test]
fn each_server_names_the_file_that_listed_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yml");
    std::fs::write(&a, YAML).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let b = sub.join("b.toml");
    std::fs::write(
        &b,
        "[[http.services.other.loadBalancer.servers]]\nurl = \"http://127.0.0.1:9001\"\n",
    )
    .unwrap();
    let (cfg, issues) = provider_for(dir.path(), None).load();
    assert!(issues.is_empty(), "{issues:?}");
    let origin = |service: &str| {
        let lb = cfg.http.services[service].load_balancer.as_ref().unwrap();
        lb.servers[0].origin.as_deref().cloned()
    };
    let file = |p: &Path| {
        Some(ServerOrigin::File {
            file: p.display().to_string(),
        })
    };
    assert_eq!(origin("api"), file(&a));
    assert_eq!(origin("other"), file(&b));
}
