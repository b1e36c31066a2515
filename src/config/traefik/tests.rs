//! Unit tests of `config::traefik`: the three sources, case, types, reports, precedence.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::catalogue;
use super::schema::{schema, Kind, Node, Status};
use super::*;

mod reports;

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(super) fn env(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn empty_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub(super) fn args(a: &[&str]) -> Result<Loaded, StaticConfigError> {
    let dir = empty_dir();
    load_traefik(&strings(a), &[], dir.path(), LoadOptions::default())
}

pub(super) fn from_env(e: &[(&str, &str)]) -> Result<Loaded, StaticConfigError> {
    let dir = empty_dir();
    load_traefik(&[], &env(e), dir.path(), LoadOptions::default())
}

pub(super) fn from_file(name: &str, text: &str) -> Result<Loaded, StaticConfigError> {
    let dir = empty_dir();
    std::fs::write(dir.path().join(name), text).unwrap();
    load_traefik(&[], &[], dir.path(), LoadOptions::default())
}

/// A value of every kind for every option the schema keeps, shaped like a Traefik file.
fn sample(node: &Node) -> Value {
    match node {
        Node::Leaf(kind) => match kind {
            Kind::Bool => json!(true),
            Kind::Str => json!("x"),
            Kind::Int => json!(1),
            Kind::Float => json!(0.5),
            Kind::Duration => json!("1s"),
            Kind::StrList => json!(["a"]),
            Kind::FloatList => json!([0.5]),
            Kind::Enum(words) => json!(words[0]),
        },
        Node::Struct(fields) => {
            let mut m = Map::new();
            for f in fields {
                let name = match f.status {
                    Status::Dropped(_) => continue,
                    Status::MapsTo(target) => target,
                    _ => f.name,
                };
                let value = match (name, &f.node) {
                    // Values these options check: a status range, an access-log field name.
                    ("statusCodes", _) => json!(["200-299"]),
                    ("names", Node::Map(child)) => json!({ "ClientHost": sample(child) }),
                    _ => sample(&f.node),
                };
                m.insert(name.to_string(), value);
            }
            Value::Object(m)
        }
        Node::Map(child) => json!({ "n": sample(child) }),
        Node::List(child) => json!([sample(child)]),
    }
}

#[test]
fn every_kept_schema_option_exists_in_static_config() {
    let value = sample(schema());
    let cfg: Result<StaticConfig, _> = serde_json::from_value(value);
    assert!(cfg.is_ok(), "{:?}", cfg.err());
}

#[test]
fn args_env_and_file_give_the_same_config() {
    let a = args(&[
        "--entrypoints.web.address=:80",
        "--entryPoints.websecure.address",
        ":443",
        "--entrypoints.web.forwardedheaders.trustedips=10.0.0.0/8,192.168.0.0/16",
        "--providers.swarm.exposedByDefault=false",
        "--providers.swarm.network=proxy",
        "--api.insecure",
    ])
    .unwrap();
    let e = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":80"),
        ("TRAEFIK_ENTRYPOINTS_WEBSECURE_ADDRESS", ":443"),
        (
            "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS",
            "10.0.0.0/8,192.168.0.0/16",
        ),
        ("TRAEFIK_PROVIDERS_SWARM_EXPOSEDBYDEFAULT", "false"),
        ("TRAEFIK_PROVIDERS_SWARM_NETWORK", "proxy"),
        ("TRAEFIK_API_INSECURE", "true"),
    ])
    .unwrap();
    let f = from_file(
        "traefik.toml",
        r#"
[entryPoints.web]
address = ":80"
[entryPoints.web.forwardedHeaders]
trustedIPs = ["10.0.0.0/8", "192.168.0.0/16"]
[entryPoints.websecure]
address = ":443"
[providers.swarm]
exposedByDefault = false
network = "proxy"
[api]
insecure = true
"#,
    )
    .unwrap();
    assert_eq!(a.source, Source::Args);
    assert_eq!(e.source, Source::Env);
    assert!(matches!(f.source, Source::File(_)));
    assert_eq!(a.config, e.config);
    assert_eq!(a.config, f.config);
    let web = &a.config.entry_points["web"];
    let fh = web.forwarded_headers.as_ref().unwrap();
    assert_eq!(fh.trusted_ips, strings(&["10.0.0.0/8", "192.168.0.0/16"]));
    let swarm = a.config.providers.swarm.as_ref().unwrap();
    assert!(!swarm.exposed_by_default);
    assert_eq!(a.config.entry_points["traefik"].address, ":8080");
    for l in [&a, &e, &f] {
        assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    }
}

#[test]
fn keys_are_case_insensitive_and_names_keep_their_spelling() {
    // Traefik's flag parser keeps the first spelling of a name and merges the others with it;
    // the environment is lowercased.
    let l = args(&[
        "--ENTRYPOINTS.WebSecure.ADDRESS=:443",
        "--entrypoints.websecure.http.tls=true",
        "--PROVIDERS.SWARM.EXPOSEDBYDEFAULT=False",
    ])
    .unwrap();
    assert_eq!(
        l.config.entry_points.keys().collect::<Vec<_>>(),
        vec!["WebSecure"]
    );
    assert_eq!(l.config.entry_points["WebSecure"].address, ":443");
    assert!(l.config.entry_points["WebSecure"].http.is_some());
    assert!(!l.config.providers.swarm.unwrap().exposed_by_default);
    let e = from_env(&[("TRAEFIK_ENTRYPOINTS_WebSecure_ADDRESS", ":443")]).unwrap();
    assert_eq!(e.config.entry_points["websecure"].address, ":443");
    // A file keeps the user's spelling of names, and matches option names in any case.
    let f = from_file("traefik.yml", "ENTRYPOINTS:\n  Web:\n    ADDRESS: ':81'\n").unwrap();
    assert_eq!(f.config.entry_points["Web"].address, ":81");
}

#[test]
fn bare_flags_are_true_and_sections_enable_defaults() {
    let l = args(&["--providers.swarm", "--api.dashboard", "--ping"]).unwrap();
    assert_eq!(l.config.providers.swarm, Some(Default::default()));
    assert!(l.config.api.unwrap().dashboard);
    assert!(l.config.ping.is_some());
    let off = args(&["--providers.swarm=false"]).unwrap();
    assert_eq!(off.config.providers.swarm, None);
}

#[test]
fn indexed_lists_and_structured_lists() {
    let l = args(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.forwardedheaders.trustedips[1]=192.168.0.0/16",
        "--entrypoints.web.forwardedheaders.trustedips[0]=10.0.0.0/8",
        "--entrypoints.web.http.tls.domains[0].main=example.com",
        "--entrypoints.web.http.tls.domains[0].sans=a.example.com,b.example.com",
        "--metrics.prometheus.buckets=0.1,0.3,1.2",
    ])
    .unwrap();
    let web = &l.config.entry_points["web"];
    let ips = &web.forwarded_headers.as_ref().unwrap().trusted_ips;
    assert_eq!(ips, &strings(&["10.0.0.0/8", "192.168.0.0/16"]));
    let domains = &web.http.as_ref().unwrap().tls.as_ref().unwrap().domains;
    assert_eq!(domains[0].main, "example.com");
    assert_eq!(
        domains[0].sans,
        strings(&["a.example.com", "b.example.com"])
    );
    let buckets = &l.config.metrics.unwrap().prometheus.unwrap().buckets;
    assert_eq!(buckets, &vec![0.1, 0.3, 1.2]);
}

#[test]
fn docker_provider_in_swarm_mode_becomes_swarm() {
    let l = args(&[
        "--providers.docker.swarmMode=true",
        "--providers.docker.network=net",
    ])
    .unwrap();
    assert_eq!(l.config.providers.docker, None);
    let swarm = l.config.providers.swarm.unwrap();
    assert_eq!(swarm.network.as_deref(), Some("net"));
    assert_eq!(swarm.swarm_mode, None);
    let plain = args(&["--providers.docker"]).unwrap();
    assert_eq!(plain.config.providers.docker, None);
    assert_eq!(plain.config.providers.swarm, None);
    assert_eq!(plain.unsupported.len(), 1);
    assert_eq!(plain.unsupported[0].key, "providers.docker");
    assert_eq!(plain.unsupported[0].written, "--providers.docker");
    let v2 = args(&[
        "--providers.docker.swarmmode",
        "--providers.docker.swarmModeRefreshSeconds=5",
    ])
    .unwrap();
    let swarm = v2.config.providers.swarm.unwrap();
    assert_eq!(
        swarm.refresh_seconds,
        Some(crate::config::Duration::from_secs(5))
    );
}

#[test]
fn lego_ca_certificates_reach_every_acme_resolver() {
    let dir = empty_dir();
    let a = strings(&[
        "--certificatesresolvers.le.acme.tlschallenge",
        "--certificatesresolvers.other.acme.caserver=https://127.0.0.1:14000/dir",
    ]);
    let e = env(&[("LEGO_CA_CERTIFICATES", "/a.pem:/b.pem,/c.pem")]);
    let l = load_traefik(&a, &e, dir.path(), LoadOptions::default()).unwrap();
    for name in ["le", "other"] {
        let acme = l.config.certificates_resolvers[name].acme.as_ref().unwrap();
        assert_eq!(
            acme.ca_certificates,
            strings(&["/a.pem", "/b.pem", "/c.pem"])
        );
    }
    let le = l.config.certificates_resolvers["le"].acme.as_ref().unwrap();
    assert_eq!(le.tls_challenge, Some(json!({})));
}

#[test]
fn one_source_only_file_then_args_then_env() {
    let dir = empty_dir();
    std::fs::write(
        dir.path().join("traefik.yml"),
        "entryPoints:\n  f:\n    address: ':1'\n",
    )
    .unwrap();
    let a = strings(&["--entrypoints.a.address=:2"]);
    let e = env(&[("TRAEFIK_ENTRYPOINTS_E_ADDRESS", ":3")]);
    let l = load_traefik(&a, &e, dir.path(), LoadOptions::default()).unwrap();
    assert_eq!(l.source, Source::File(dir.path().join("traefik.yml")));
    assert_eq!(l.config.entry_points.keys().collect::<Vec<_>>(), vec!["f"]);
    assert_eq!(l.ignored.len(), 2, "{:?}", l.ignored);
    let other = empty_dir();
    let l = load_traefik(&a, &e, other.path(), LoadOptions::default()).unwrap();
    assert_eq!(l.source, Source::Args);
    assert_eq!(l.config.entry_points.keys().collect::<Vec<_>>(), vec!["a"]);
    let l = load_traefik(&[], &e, other.path(), LoadOptions::default()).unwrap();
    assert_eq!(l.source, Source::Env);
    let l = load_traefik(&[], &[], other.path(), LoadOptions::default()).unwrap();
    assert_eq!(l.source, Source::Default);
    assert_eq!(l.config.entry_points["http"].address, ":80");
}

#[test]
fn config_file_flag_is_read_and_must_exist() {
    let dir = empty_dir();
    std::fs::write(
        dir.path().join("x.toml"),
        "[entryPoints.t]\naddress = \":9\"\n",
    )
    .unwrap();
    for a in [
        &["--configFile=x.toml"][..],
        &["--configfile", "x.toml"][..],
    ] {
        let l = load_traefik(&strings(a), &[], dir.path(), LoadOptions::default()).unwrap();
        assert_eq!(l.source, Source::File(dir.path().join("x.toml")));
        assert_eq!(l.config.entry_points["t"].address, ":9");
    }
    let e = env(&[("TRAEFIK_CONFIGFILE", "x.toml")]);
    let l = load_traefik(&[], &e, dir.path(), LoadOptions::default()).unwrap();
    assert_eq!(l.config.entry_points["t"].address, ":9");
    let err = load_traefik(
        &strings(&["--configFile=nope.yml"]),
        &[],
        dir.path(),
        LoadOptions::default(),
    );
    assert!(matches!(err, Err(StaticConfigError::Read { .. })));
}

#[test]
fn env_names_with_underscores() {
    let l = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_MY_WEB_ADDRESS", ":80"),
        (
            "TRAEFIK_CERTIFICATESRESOLVERS_myResolver_ACME_EMAIL",
            "a@b.c",
        ),
    ])
    .unwrap();
    assert_eq!(l.config.entry_points["my_web"].address, ":80");
    let r = &l.config.certificates_resolvers["myresolver"];
    assert_eq!(r.acme.as_ref().unwrap().email.as_deref(), Some("a@b.c"));
}

#[test]
fn native_toml_round_trips() {
    let l = args(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--entrypoints.websecure.address=:443",
        "--entrypoints.websecure.transport.respondingTimeouts.readTimeout=30s",
        "--certificatesresolvers.le.acme.httpchallenge.entrypoint=web",
        "--certificatesresolvers.le.acme.tlschallenge",
        "--providers.swarm.network=proxy",
        "--metrics.prometheus.buckets=0.1,0.5",
        "--accesslog",
        "--global.checknewversion=false",
    ])
    .unwrap();
    let text = to_native_toml(&l.config).unwrap();
    let back: StaticConfig = parse_text(Path::new("swarmgate.toml"), &text).unwrap();
    assert_eq!(back, l.config, "{text}");
}

#[test]
fn indexed_env_lists() {
    let l = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":80"),
        (
            "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS_1",
            "10.0.0.0/8",
        ),
        (
            "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS_0",
            "127.0.0.1/32",
        ),
    ])
    .unwrap();
    let fh = l.config.entry_points["web"]
        .forwarded_headers
        .clone()
        .unwrap();
    assert_eq!(fh.trusted_ips, strings(&["127.0.0.1/32", "10.0.0.0/8"]));
}

/// Options of swarmgate's schema that Traefik 3.7 does not have: v2 spellings kept so that old
/// configurations migrate, and swarmgate extensions.
const EXTENSIONS: &[&str] = &[
    "providers.docker.swarmMode",
    "providers.docker.swarmModeRefreshSeconds",
    "providers.docker.refreshSeconds",
    "entryPoints.n.transport.maxConnections",
    "entryPoints.n.transport.maxHeaderBytes",
    "entryPoints.n.transport.headerReadTimeout",
    "entryPoints.n.transport.respondingTimeouts.tcpIdleTimeout",
    "accessLog.tcpSessions",
    "accessLog.udpSessions",
    "certificatesResolvers.n.acme.certDuration",
    "certificatesResolvers.n.acme.renewBefore",
    "serversTransport.serverName",
];

/// Every option path of the schema, with names as `n` and list indices as `[0]`.
fn schema_options(node: &Node, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Kind)>) {
    match node {
        Node::Leaf(kind) => out.push((prefix.clone(), *kind)),
        Node::Struct(fields) => {
            if fields.is_empty() {
                out.push((prefix.clone(), Kind::Bool));
            }
            for f in fields {
                prefix.push(f.name.to_string());
                schema_options(&f.node, prefix, out);
                prefix.pop();
            }
        }
        Node::Map(child) => {
            prefix.push("n".into());
            schema_options(child, prefix, out);
            prefix.pop();
        }
        Node::List(child) => {
            prefix.push("[0]".into());
            schema_options(child, prefix, out);
            prefix.pop();
        }
    }
}

#[test]
fn every_schema_option_is_a_traefik_option_or_a_listed_extension() {
    let mut all = Vec::new();
    schema_options(schema(), &mut Vec::new(), &mut all);
    let strays: Vec<String> = all
        .iter()
        .map(|(p, _)| p.join("."))
        .filter(|p| {
            let path: Vec<String> = p.split('.').map(str::to_string).collect();
            !catalogue::is_traefik_option(&path) && !EXTENSIONS.iter().any(|e| p.starts_with(e))
        })
        .collect();
    assert!(strays.is_empty(), "not Traefik options: {strays:?}");
}

/// A command line setting `option` (catalogue spelling) with what it needs to load.
fn arguments_for(option: &str, value: &str) -> Vec<String> {
    let mut concrete = option.replace("<name>", "n").replace("[n]", "[0]");
    let mut value = value;
    // Values these options check: an access-log field name, a status range.
    if option.eq_ignore_ascii_case("accessLog.fields.names.<name>") {
        concrete = "accessLog.fields.names.ClientHost".into();
    }
    if option.eq_ignore_ascii_case("accessLog.filters.statusCodes") {
        value = "200-299";
    }
    let lower = concrete.to_ascii_lowercase();
    let mut out = vec![format!("--{concrete}={value}")];
    if lower.starts_with("entrypoints.n.") && lower != "entrypoints.n.address" {
        out.push("--entryPoints.n.address=:1".into());
    }
    if lower.contains("redirections.entrypoint.") && !lower.ends_with(".to") {
        out.push("--entryPoints.n.http.redirections.entryPoint.to=n".into());
    }
    if lower.contains("domains[0].") && !lower.ends_with(".main") {
        out.push("--entryPoints.n.http.tls.domains[0].main=x".into());
    }
    if lower.contains("httpchallenge.") && !lower.ends_with(".entrypoint") {
        out.push("--certificatesResolvers.n.acme.httpChallenge.entryPoint=n".into());
    }
    out
}

fn sample_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "true",
        Kind::Str => "x",
        Kind::Int => "1",
        Kind::Float => "0.5",
        Kind::Duration => "1s",
        Kind::StrList => "a,b",
        Kind::FloatList => "0.5",
        Kind::Enum(words) => words[0],
    }
}

/// The audit: every static option of Traefik is either applied, reported as ignored, reported
/// as unsupported, or refused — none is accepted silently without effect.
#[test]
fn every_traefik_option_is_applied_or_flagged() {
    let mut kinds = Vec::new();
    schema_options(schema(), &mut Vec::new(), &mut kinds);
    let kind_of = |option: &str| {
        let concrete = option.replace("<name>", "n").replace("[n]", ".[0]");
        kinds
            .iter()
            .find(|(p, _)| p.join(".").eq_ignore_ascii_case(&concrete))
            .map(|(_, k)| *k)
            .unwrap_or(Kind::Str)
    };
    let mut failures = Vec::new();
    for (option, support) in traefik_options() {
        let value = sample_text(kind_of(&option));
        let got = args(
            &arguments_for(&option, value)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        let lower = option
            .replace("<name>", "n")
            .replace("[n]", ".[0]")
            .to_ascii_lowercase();
        let listed = |v: &[UnsupportedOption]| {
            v.iter().any(|u| {
                let k = u.key.to_ascii_lowercase();
                k == lower || lower.starts_with(&format!("{k}."))
            })
        };
        let ok = match (&support, &got) {
            (Support::Applied, Ok(l)) => !listed(&l.unsupported) && !listed(&l.ignored),
            (Support::Ignored(_), Ok(l)) => listed(&l.ignored),
            (Support::Unsupported, Ok(l)) => listed(&l.unsupported),
            (Support::Refused(_), Err(StaticConfigError::Refused(v))) => listed(v),
            _ => false,
        };
        if !ok {
            failures.push(format!("{option} ({support:?}): {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 16 point 3: Traefik 3.7's entrypoint path options are read (not reported unsupported).
#[test]
fn entrypoint_path_options_are_read() {
    let l = args(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http.encodedCharacters.allowEncodedSlash=false",
        "--entrypoints.web.http.encodedcharacters.allowencodedhash=true",
        "--entrypoints.web.http.sanitizePath=false",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    let http = l.config.entry_points["web"].http.as_ref().unwrap();
    assert_eq!(http.sanitize_path, Some(false));
    let enc = http.encoded_characters.as_ref().unwrap();
    assert_eq!(enc.allow_encoded_slash, Some(false));
    assert_eq!(enc.allow_encoded_hash, Some(true));
    assert_eq!(enc.allow_encoded_percent, None);
}

/// Issue 25: `http3` (a bare flag or `true`) and `http3.advertisedPort` are read from
/// arguments, the environment and files, none reported unsupported.
#[test]
fn http3_options_are_read() {
    use crate::config::static_config::EntryPointHttp3Config;
    let l = args(&[
        "--entrypoints.websecure.address=:443",
        "--entrypoints.websecure.http3",
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http3.advertisedport=8443",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    let on = |advertised_port| Some(EntryPointHttp3Config { advertised_port });
    assert_eq!(l.config.entry_points["websecure"].http3, on(None));
    assert_eq!(l.config.entry_points["web"].http3, on(Some(8443)));
    let e = from_env(&[
        ("TRAEFIK_ENTRYPOINTS_WEBSECURE_ADDRESS", ":443"),
        ("TRAEFIK_ENTRYPOINTS_WEBSECURE_HTTP3", "true"),
    ])
    .unwrap();
    assert!(e.unsupported.is_empty(), "{:?}", e.unsupported);
    assert_eq!(e.config.entry_points["websecure"].http3, on(None));
    let f = from_file(
        "traefik.yml",
        "entryPoints:\n  websecure:\n    address: ':443'\n    http3:\n      advertisedPort: 443\n",
    )
    .unwrap();
    assert!(f.unsupported.is_empty(), "{:?}", f.unsupported);
    assert_eq!(f.config.entry_points["websecure"].http3, on(Some(443)));
    let off = args(&["--entrypoints.web.address=:80"]).unwrap();
    assert_eq!(off.config.entry_points["web"].http3, None);
}

/// Issue 20 §3: the v3 static options published stacks use are accepted and applied, none of
/// them reported as unsupported or ignored.
#[test]
fn v3_options_of_published_stacks_are_applied() {
    let l = args(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.websecure.address=:443",
        "--entrypoints.websecure.asDefault=true",
        "--metrics.prometheus=true",
        "--metrics.prometheus.manualRouting=true",
        "--metrics.prometheus.addEntryPointsLabels=true",
        "--metrics.prometheus.addRoutersLabels=true",
        "--metrics.prometheus.addServicesLabels=true",
        "--metrics.prometheus.buckets=0.1,0.3,1.2,5",
        "--ping.manualRouting=true",
        "--providers.swarm.refreshSeconds=30",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    assert!(l.ignored.is_empty(), "{:?}", l.ignored);
    assert!(l.config.entry_points["websecure"].as_default);
    let prometheus = l.config.metrics.unwrap().prometheus.unwrap();
    assert!(prometheus.manual_routing);
    assert_eq!(prometheus.add_routers_labels, Some(true));
    assert!(l.config.ping.unwrap().manual_routing);
    // As Traefik: with manualRouting nothing uses the internal entrypoint, so it is not made.
    assert!(!l.config.entry_points.contains_key("traefik"));
    let resync = l.config.providers.swarm.unwrap().refresh_seconds.unwrap();
    assert_eq!(resync.get(), std::time::Duration::from_secs(30));
    // Without manualRouting, metrics make the `traefik` entrypoint on :8080 (Traefik's default).
    let l = args(&["--entrypoints.web.address=:80", "--metrics.prometheus=true"]).unwrap();
    assert_eq!(l.config.entry_points["traefik"].address, ":8080");
}

/// Traefik v2's Swarm options (`providers.docker` with `swarmMode`) as published stacks write them
/// all land on `providers.swarm`; and `core.defaultRuleSyntax` is read (only `v2`/`v3`).
#[test]
fn v2_swarm_options_and_default_rule_syntax() {
    let l = args(&[
        "--providers.docker=true",
        "--providers.docker.swarmMode=true",
        "--providers.docker.endpoint=tcp://127.0.0.1:2375",
        "--providers.docker.exposedByDefault=false",
        "--providers.docker.network=traefik-public",
        "--providers.docker.watch=false",
        "--providers.docker.constraints=Label(`traefik.constraint-label`, `traefik-public`)",
        "--core.defaultRuleSyntax=v2",
    ])
    .unwrap();
    assert!(l.unsupported.is_empty(), "{:?}", l.unsupported);
    let swarm = l.config.providers.swarm.clone().unwrap();
    assert_eq!(swarm.endpoint, "tcp://127.0.0.1:2375");
    assert!(!swarm.exposed_by_default);
    assert_eq!(swarm.network.as_deref(), Some("traefik-public"));
    assert!(!swarm.watch);
    assert_eq!(
        swarm.constraints.as_deref(),
        Some("Label(`traefik.constraint-label`, `traefik-public`)")
    );
    assert_eq!(
        l.config.default_rule_syntax(),
        Some(crate::rules::Syntax::V2)
    );
    assert!(args(&["--core.defaultRuleSyntax=v4"]).is_err());
    assert_eq!(args(&[]).unwrap().config.default_rule_syntax(), None);
}

#[test]
fn dns_challenge_options_from_arguments_and_environment() {
    let l = args(&[
        "--certificatesresolvers.le.acme.dnschallenge.provider=rfc2136",
        "--certificatesresolvers.le.acme.dnschallenge.resolvers=127.0.0.1:5353,10.0.0.1",
        "--certificatesresolvers.le.acme.dnschallenge.delaybeforecheck=5",
        "--certificatesresolvers.le.acme.dnschallenge.propagation.requireallrns=true",
        "--certificatesresolvers.le.acme.dnschallenge.propagation.disableanschecks=true",
        "--certificatesresolvers.le.acme.dnschallenge.propagation.delaybeforechecks=2s",
    ])
    .unwrap();
    let dns = l.config.certificates_resolvers["le"]
        .acme
        .as_ref()
        .unwrap()
        .dns_challenge
        .clone()
        .unwrap();
    assert_eq!(dns.provider, "rfc2136");
    assert_eq!(dns.resolvers, strings(&["127.0.0.1:5353", "10.0.0.1"]));
    assert_eq!(
        dns.delay_before_check,
        Some(crate::config::Duration::from_secs(5))
    );
    let p = dns.propagation.unwrap();
    assert!(p.require_all_rns && p.disable_ans_checks && !p.disable_checks);
    assert_eq!(
        p.delay_before_checks,
        Some(crate::config::Duration::from_secs(2))
    );
    let l = from_env(&[
        (
            "TRAEFIK_CERTIFICATESRESOLVERS_LE_ACME_DNSCHALLENGE_PROVIDER",
            "exec",
        ),
        (
            "TRAEFIK_CERTIFICATESRESOLVERS_LE_ACME_DNSCHALLENGE_DISABLEPROPAGATIONCHECK",
            "true",
        ),
    ])
    .unwrap();
    let dns = l.config.certificates_resolvers["le"]
        .acme
        .as_ref()
        .unwrap()
        .dns_challenge
        .clone()
        .unwrap();
    assert_eq!(dns.provider, "exec");
    assert!(dns.disable_propagation_check);
    // A typo inside dnsChallenge is refused with the nearest option.
    let err = args(&["--certificatesresolvers.le.acme.dnschallenge.propagation.requireallrn=true"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("requireAllRNS"), "{err}");
}
