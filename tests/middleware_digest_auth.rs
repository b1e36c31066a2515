//! digestAuth through a running swarmgate, with curl's own Digest client (`curl --digest`):
//! the right password reaches the backend with the user in `headerField`, a wrong one gets the
//! 401 challenge, and a `usersFile` that appears later lets its users in after the reload.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{backend, client, eventually, gateway, get};

/// `test:traefik:test` and `test2:traefik:test2` (Traefik's test users).
const TEST: &str = "test:traefik:a2688e031edb4be6a3797f3882655c05";
const TEST2: &str = "test2:traefik:518845800f9e2bfb1f1f740ec24f074e";

fn stack(app: &str, users_file: &str) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      service: app
      middlewares: [auth]
  middlewares:
    auth:
      digestAuth:
        users: ["{TEST}"]
        usersFile: "{users_file}"
        headerField: X-WebAuth-User
        removeHeader: true
  services:
    app:
      loadBalancer:
        servers:
          - url: "{app}"
"#
    )
}

/// Runs `curl --digest -u <userpass> <url>`: (status, body).
async fn curl_digest(url: &str, userpass: &str) -> (u16, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "--max-time", "10", "--digest", "-u", userpass])
        .args(["-w", "\n%{http_code}", url])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_logs_in_with_digest_and_the_backend_sees_the_user() {
    let b = backend("app").await;
    let dir = tempfile::tempdir().unwrap();
    let users_file = dir.path().join("htdigest");
    let gw = gateway(&stack(&b.url(), users_file.to_str().unwrap())).await;

    // No credentials: the challenge.
    let r = get(&client(), &gw.url("/"), None).await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Digest realm=\"traefik\", nonce=\"")
            && challenge.ends_with("algorithm=\"MD5\", qop=\"auth\""),
        "{challenge}"
    );
    assert_eq!(r.body, "401 Unauthorized\n");

    // The usersFile is missing: everyone gets 401, even inline users.
    assert_eq!(curl_digest(&gw.url("/a?b=c"), "test:test").await.0, 401);
    assert_eq!(b.hits(), 0);

    // It appears: after the reload both the file's and the inline users get in.
    std::fs::write(&users_file, format!("{TEST2}\n")).unwrap();
    let url = gw.url("/a?b=c");
    assert!(
        eventually(Duration::from_secs(10), || async {
            curl_digest(&url, "test2:test2").await.0 == 200
        })
        .await
    );
    let seen = b.last_seen();
    assert_eq!(seen.uri, "/a?b=c");
    assert_eq!(seen.headers["x-webauth-user"], "test2");
    assert!(!seen.headers.contains_key("authorization"));
    assert_eq!(curl_digest(&url, "test:test").await.0, 200);
    assert_eq!(b.last_seen().headers["x-webauth-user"], "test");

    // A wrong password or an unknown user: 401, the backend is not reached.
    let hits = b.hits();
    assert_eq!(curl_digest(&url, "test:wrong").await.0, 401);
    assert_eq!(curl_digest(&url, "nobody:test").await.0, 401);
    assert_eq!(b.hits(), hits);
    gw.stop().await;
}
