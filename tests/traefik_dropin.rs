//! The binary started exactly as a Traefik stack starts Traefik — `command:` arguments, then a
//! `traefik.yml` — serves a route from the file provider end to end.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dynamic_dir(backend: &Backend) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.yml"),
        format!(
            "http:\n  routers:\n    api:\n      rule: \"PathPrefix(`/api`)\"\n      service: api\n      middlewares: [strip]\n  middlewares:\n    strip:\n      stripPrefix:\n        prefixes: [/api]\n  services:\n    api:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
            backend.url()
        ),
    )
    .unwrap();
    dir
}

async fn served(port: u16) -> Reply {
    let c = client();
    let url = format!("http://127.0.0.1:{port}/api/tasks");
    let up = eventually(Duration::from_secs(10), || async {
        let req = http::Request::get(&url).body(Default::default()).unwrap();
        matches!(c.request(req).await, Ok(r) if r.status() == 200)
    })
    .await;
    assert!(up, "swarmgate never served the route");
    get(&c, &url, None).await
}

#[tokio::test]
async fn traefik_command_arguments_serve_a_file_route() {
    let api = backend("api").await;
    let dir = dynamic_dir(&api);
    let port = free_port();
    let _proc = Proc(
        Command::new(env!("CARGO_BIN_EXE_swarmgate"))
            .arg(format!("--entrypoints.web.address=127.0.0.1:{port}"))
            .arg(format!(
                "--providers.file.directory={}",
                dir.path().display()
            ))
            .arg("--providers.file.watch=true")
            .arg("--global.checkNewVersion=false")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let reply = served(port).await;
    assert!(reply.body.starts_with("api\n"), "{}", reply.body);
    assert_eq!(api.last_seen().uri, "/tasks");
}

#[tokio::test]
async fn traefik_yml_in_the_working_directory_serves_a_file_route() {
    let api = backend("api").await;
    let dir = dynamic_dir(&api);
    let port = free_port();
    std::fs::write(
        dir.path().join("traefik.yml"),
        format!(
            "entryPoints:\n  web:\n    address: \"127.0.0.1:{port}\"\nproviders:\n  file:\n    filename: routes.yml\n    watch: true\nlog:\n  level: WARN\n"
        ),
    )
    .unwrap();
    let _proc = Proc(
        Command::new(env!("CARGO_BIN_EXE_swarmgate"))
            .current_dir(dir.path())
            .env_remove("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let reply = served(port).await;
    assert!(reply.body.starts_with("api\n"), "{}", reply.body);
}

#[tokio::test]
async fn traefik_environment_variables_serve_a_file_route() {
    let api = backend("api").await;
    let dir = dynamic_dir(&api);
    let port = free_port();
    let _proc = Proc(
        Command::new(env!("CARGO_BIN_EXE_swarmgate"))
            .current_dir(dir.path())
            .env(
                "TRAEFIK_ENTRYPOINTS_WEB_ADDRESS",
                format!("127.0.0.1:{port}"),
            )
            .env(
                "TRAEFIK_PROVIDERS_FILE_FILENAME",
                dir.path().join("routes.yml"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let reply = served(port).await;
    assert!(reply.body.starts_with("api\n"), "{}", reply.body);
}
