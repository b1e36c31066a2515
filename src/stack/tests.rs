use super::*;

#[test]
fn reads_labels_as_list_or_mapping_ports_in_every_form_and_the_command() {
    let text = r#"
services:
  edge:
    image: traefik:v3.1
    command: ["--providers.swarm.exposedByDefault=false", "--entrypoints.web.address=:80"]
  a:
    image: ghcr.io/acme/a:1
    ports: ["8080:80", "127.0.0.1:9000:9001/tcp", {target: 7000, published: 7001}]
    labels: [traefik.enable=true]
    deploy:
      labels:
        - traefik.enable=true
        - traefik.http.routers.a.rule=Host(`a.test`)
        - "traefik.http.middlewares.auth.basicauth.users=u:$$apr1$$x$$y"
  b:
    image: registry:5000/swarmgate@sha256:abc
    deploy:
      labels:
        traefik.enable: true
        traefik.http.services.b.loadbalancer.server.port: 80
"#;
    let services = parse_stack(text).unwrap();
    assert_eq!(services.len(), 3);
    let edge = &services[0];
    assert!(edge.is_edge());
    assert_eq!(edge.command.as_ref().map(Vec::len), Some(2));
    let a = &services[1];
    assert!(!a.is_edge());
    assert_eq!(a.ports, vec![80, 9001, 7000]);
    assert_eq!(a.container_labels, vec!["traefik.enable".to_string()]);
    assert_eq!(a.labels["traefik.http.routers.a.rule"], "Host(`a.test`)");
    assert_eq!(
        a.labels["traefik.http.middlewares.auth.basicauth.users"],
        "u:$apr1$x$y"
    );
    let b = &services[2];
    assert!(b.is_edge());
    assert_eq!(b.labels["traefik.enable"], "true");
    assert_eq!(
        b.labels["traefik.http.services.b.loadbalancer.server.port"],
        "80"
    );
}

#[test]
fn a_stack_without_services_is_an_error() {
    assert!(parse_stack("version: '3.8'\n").is_err());
    assert!(parse_stack("services: [").is_err());
}

fn issues_of(text: &str, static_yaml: &str) -> Vec<String> {
    let cfg: StaticConfig = serde_yaml::from_str(static_yaml).unwrap();
    let services = parse_stack(text).unwrap();
    let (_, issues) = stack_config(&services, &cfg);
    issues.iter().map(ToString::to_string).collect()
}

#[test]
fn flags_what_traefik_silently_drops() {
    let text = r#"
services:
  noport:
    image: app
    deploy:
      labels: [traefik.enable=true, "traefik.http.routers.np.rule=Host(`np.test`)"]
  forgotten:
    image: app
    deploy:
      labels: ["traefik.http.routers.f.rule=Host(`f.test`)", traefik.http.services.f.loadbalancer.server.port=80]
  container:
    image: app
    labels: [traefik.enable=true]
"#;
    let found = issues_of(
        text,
        "providers: {swarm: {exposedByDefault: false}}\nentryPoints: {web: {address: ':80'}}",
    );
    let has = |service: &str, words: &str| {
        found
            .iter()
            .any(|i| i.contains(&format!("service {service:?}")) && i.contains(words))
    };
    assert!(has("noport", "no port detection"), "{found:#?}");
    assert!(has("forgotten", "traefik.enable=true"), "{found:#?}");
    assert!(has("container", "deploy.labels"), "{found:#?}");
}

#[test]
fn published_ports_keep_their_protocol() {
    let stack = parse_stack(
        r#"services:
  edge:
    image: swarmgate
    ports: ["443:443", "8443:443/udp", "53/UDP", {target: 80, published: 8080, protocol: udp}, "[::1]:9000:9001", {target: 7000}]
"#,
    )
    .unwrap();
    let p = |target, published, udp| PublishedPort {
        target,
        published,
        udp,
    };
    assert_eq!(
        stack[0].published,
        [
            p(443, Some(443), false),
            p(443, Some(8443), true),
            p(53, None, true),
            p(80, Some(8080), true),
            p(9001, Some(9000), false),
            p(7000, None, false),
        ]
    );
    assert_eq!(stack[0].ports, [443, 443, 53, 80, 9001, 7000]);
}
