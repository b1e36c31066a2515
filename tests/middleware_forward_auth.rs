//! forwardAuth through a running swarmgate, against an authentication server of our own that
//! implements the contract oauth2-proxy / Authelia follow: 2xx with identity headers lets the
//! request through, 401 with `WWW-Authenticate` or a 302 to a login page goes back to the
//! client as it is; an unreachable server is a 500 and the app is never called.
#![allow(clippy::disallowed_types)] // std Mutex: test
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use support::{backend, client, gateway, gateway_with, send, Backend, Reply};
use tokio::net::TcpListener;

/// What the authentication server saw of one call.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

/// The authentication server: answers by the request's credentials.
/// - `Authorization: Bearer good` or cookie `sess=ok` → 200, `X-Auth-User: alice`,
///   `X-Auth-Group: admins`, `Set-Cookie: sess=fresh`;
/// - `Authorization: Basic …` → 401 with `WWW-Authenticate`;
/// - body `let me in` → 200; another non-empty body → 403;
/// - anything else → 302 to the login page with the original URL, `Set-Cookie: csrf=1`.
struct AuthServer {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    connections: Arc<AtomicUsize>,
}

impl AuthServer {
    async fn start() -> AuthServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (c, n) = (calls.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                n.fetch_add(1, Ordering::SeqCst);
                let c = c.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let c = c.clone();
                        async move { Ok::<_, Infallible>(answer(req, &c).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        AuthServer {
            addr,
            calls,
            connections,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn last(&self) -> Call {
        self.calls().last().cloned().expect("no auth call")
    }
}

async fn answer(req: Request<Incoming>, calls: &Mutex<Vec<Call>>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    calls.lock().unwrap().push(Call {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let ok = || {
        Response::builder()
            .status(200)
            .header("x-auth-user", "alice")
            .header("x-auth-group", "admins")
            .header("set-cookie", "sess=fresh; Path=/")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    if parts.uri.path() == "/gzip" && h("accept-encoding") == "gzip" {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"denied, unpacked").unwrap();
        let packed = gz.finish().unwrap();
        return Response::builder()
            .status(401)
            .header("content-encoding", "gzip")
            .header("content-length", packed.len())
            .body(Full::new(Bytes::from(packed)))
            .unwrap();
    }
    if h("authorization") == "Bearer good" || h("cookie").contains("sess=ok") {
        return ok();
    }
    if h("authorization").starts_with("Basic") {
        return Response::builder()
            .status(401)
            .header("www-authenticate", "Basic realm=\"app\"")
            .body(Full::new(Bytes::from("denied")))
            .unwrap();
    }
    if !body.is_empty() {
        if body == "let me in" {
            return ok();
        }
        return Response::builder()
            .status(403)
            .body(Full::new(Bytes::from("bad body")))
            .unwrap();
    }
    let rd = format!("{}{}", h("x-forwarded-host"), h("x-forwarded-uri"));
    Response::builder()
        .status(302)
        .header("location", format!("https://login.example/?rd={rd}"))
        .header("set-cookie", "csrf=1; Path=/")
        .body(Full::new(Bytes::from("login")))
        .unwrap()
}

fn stack(app: &Backend, forward_auth: &str) -> String {
    format!(
        r#"http:
  routers:
    app:
      rule: "Host(`app.example`)"
      service: app
      middlewares: [auth]
  middlewares:
    auth:
      forwardAuth:
{forward_auth}
  services:
    app:
      loadBalancer:
        servers: [{{url: "{}"}}]
"#,
        app.url()
    )
}

async fn request(
    gw: &support::Gateway,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(gw.url(path))
        .header("host", "app.example");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(
        &client(),
        req.body(Full::new(Bytes::from(body.to_string()))).unwrap(),
    )
    .await
}

fn value<'a>(h: &'a HeaderMap, n: &str) -> &'a str {
    h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn a_2xx_lets_the_request_through_with_the_listed_headers() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!(
        "        address: \"{}\"\n        authResponseHeaders: [X-Auth-User]\n        authResponseHeadersRegex: \"^X-Auth-G\"",
        auth.url("/verify?app=1")
    );
    let gw = gateway(&stack(&app, &options)).await;
    let r = request(
        &gw,
        "POST",
        "/admin/x?y=1",
        &[("authorization", "Bearer good"), ("x-auth-user", "mallory")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = app.last_seen();
    assert_eq!(
        value(&seen.headers, "x-auth-user"),
        "alice",
        "forged value replaced"
    );
    assert_eq!(value(&seen.headers, "x-auth-group"), "admins");
    assert_eq!(seen.method, "POST");
    // The auth call: GET to the address, X-Forwarded-* describing the original request.
    let call = auth.last();
    assert_eq!(
        (call.method.as_str(), call.uri.as_str()),
        ("GET", "/verify?app=1")
    );
    assert_eq!(value(&call.headers, "x-forwarded-method"), "POST");
    assert_eq!(value(&call.headers, "x-forwarded-proto"), "http");
    assert_eq!(value(&call.headers, "x-forwarded-host"), "app.example");
    assert_eq!(value(&call.headers, "x-forwarded-uri"), "/admin/x?y=1");
    assert_eq!(value(&call.headers, "x-forwarded-for"), "127.0.0.1");
    assert_eq!(value(&call.headers, "authorization"), "Bearer good");
    assert_eq!(value(&call.headers, "host"), auth.addr.to_string());
    // The auth cookie is not added unless asked.
    assert_eq!(value(&r.headers, "set-cookie"), "");

    // Keep-alive: more requests reuse the pooled connection.
    for _ in 0..5 {
        let r = request(&gw, "GET", "/", &[("authorization", "Bearer good")], "").await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(auth.calls().len(), 6);
    assert_eq!(
        auth.connections.load(Ordering::SeqCst),
        1,
        "one pooled connection"
    );
}

#[tokio::test]
async fn a_401_goes_back_as_it_is_and_the_app_is_never_called() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!("        address: \"{}\"", auth.url("/verify"));
    let gw = gateway(&stack(&app, &options)).await;
    let r = request(&gw, "GET", "/", &[("authorization", "Basic eDp5")], "").await;
    assert_eq!(r.status, 401);
    assert_eq!(value(&r.headers, "www-authenticate"), "Basic realm=\"app\"");
    assert_eq!(r.body, "denied");
    assert_eq!(app.hits(), 0);
}

#[tokio::test]
async fn a_302_to_the_login_page_keeps_location_and_cookies() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!(
        "        address: \"{}\"\n        addAuthCookiesToResponse: [sess]",
        auth.url("/verify")
    );
    let gw = gateway(&stack(&app, &options)).await;
    let r = request(&gw, "GET", "/private?a=b", &[], "").await;
    assert_eq!(r.status, 302);
    assert_eq!(
        value(&r.headers, "location"),
        "https://login.example/?rd=app.example/private?a=b"
    );
    assert_eq!(value(&r.headers, "set-cookie"), "csrf=1; Path=/");
    assert_eq!(r.body, "login");
    assert_eq!(app.hits(), 0);
    // Once logged in, the session cookie the auth server renews reaches the client.
    let r = request(&gw, "GET", "/", &[("cookie", "sess=ok")], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(value(&r.headers, "set-cookie"), "sess=fresh; Path=/");
}

#[tokio::test]
async fn an_unreachable_auth_server_is_a_500_and_the_app_is_never_called() {
    let app = backend("app").await;
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let options = format!("        address: \"http://{addr}/verify\"");
    let gw = gateway(&stack(&app, &options)).await;
    let r = request(&gw, "GET", "/", &[("authorization", "Bearer good")], "").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, "");
    assert_eq!(app.hits(), 0);
}

#[tokio::test]
async fn forward_body_sends_the_body_and_the_app_still_gets_it() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!(
        "        address: \"{}\"\n        forwardBody: true\n        maxBodySize: 20\n        preserveRequestMethod: true",
        auth.url("/verify")
    );
    let gw = gateway(&stack(&app, &options)).await;
    let r = request(&gw, "POST", "/", &[], "let me in").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let call = auth.last();
    assert_eq!(call.method, "POST");
    assert_eq!(call.body, "let me in");
    assert_eq!(app.hits(), 1);
    assert_eq!(value(&app.last_seen().headers, "content-length"), "9");

    let r = request(&gw, "POST", "/", &[], "wrong").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (403, "bad body"));
    // Over maxBodySize: 401 without asking.
    let calls = auth.calls().len();
    let r = request(&gw, "POST", "/", &[], "let me in, I have a long body").await;
    assert_eq!(r.status, 401);
    assert_eq!(auth.calls().len(), calls);
    assert_eq!(app.hits(), 1);
}

const SPOOFED: &[(&str, &str)] = &[
    ("authorization", "Bearer good"),
    ("x-forwarded-uri", "/public"),
    ("x-forwarded-host", "other.example"),
    ("x-forwarded-for", "6.6.6.6"),
];

#[tokio::test]
async fn trust_forward_header_passes_client_values_only_from_trusted_peers() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let trusting = format!(
        "        address: \"{}\"\n        trustForwardHeader: true",
        auth.url("/verify")
    );
    // The entrypoint trusts 127.0.0.1: the values the (proxy) client sent reach the auth server.
    let trusted_ep = "[entryPoints.web.forwardedHeaders]\ntrustedIPs = [\"127.0.0.1\"]\n";
    let gw = gateway_with(&stack(&app, &trusting), trusted_ep).await;
    let r = request(&gw, "GET", "/admin", SPOOFED, "").await;
    assert_eq!(r.status, 200);
    let call = auth.last();
    assert_eq!(value(&call.headers, "x-forwarded-uri"), "/public");
    assert_eq!(value(&call.headers, "x-forwarded-host"), "other.example");
    assert_eq!(
        value(&call.headers, "x-forwarded-for"),
        "6.6.6.6, 127.0.0.1"
    );
    gw.stop().await;

    // Same middleware, entrypoint trusting nobody: the client's values never reach it.
    let gw = gateway(&stack(&app, &trusting)).await;
    request(&gw, "GET", "/admin", SPOOFED, "").await;
    let call = auth.last();
    assert_eq!(value(&call.headers, "x-forwarded-uri"), "/admin");
    assert_eq!(value(&call.headers, "x-forwarded-host"), "app.example");
    assert_eq!(value(&call.headers, "x-forwarded-for"), "127.0.0.1");
    gw.stop().await;

    // trustForwardHeader: false drops them even from a trusted peer.
    let distrusting = format!(
        "        address: \"{}\"\n        trustForwardHeader: false",
        auth.url("/verify")
    );
    let gw = gateway_with(&stack(&app, &distrusting), trusted_ep).await;
    request(&gw, "GET", "/admin", SPOOFED, "").await;
    let call = auth.last();
    assert_eq!(value(&call.headers, "x-forwarded-uri"), "/admin");
    assert_eq!(value(&call.headers, "x-forwarded-for"), "127.0.0.1");
    gw.stop().await;

    // Unset (Traefik's legacy mode): X-Forwarded-Proto describes the connection itself, even
    // when a trusted hop said https.
    let legacy = format!("        address: \"{}\"", auth.url("/verify"));
    let gw = gateway_with(&stack(&app, &legacy), trusted_ep).await;
    let https = [
        ("authorization", "Bearer good"),
        ("x-forwarded-proto", "https"),
    ];
    request(&gw, "GET", "/admin", &https, "").await;
    assert_eq!(value(&auth.last().headers, "x-forwarded-proto"), "http");
}

#[tokio::test]
async fn the_response_cache_answers_repeated_requests_until_its_ttl() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!(
        "        address: \"{}\"\n        authResponseHeaders: [X-Auth-User]\n        authResponseCache:\n          keyHeaders: [Authorization, Cookie]\n          ttl: 1s",
        auth.url("/verify")
    );
    let gw = gateway(&stack(&app, &options)).await;
    let good = [("authorization", "Bearer good")];
    for _ in 0..3 {
        let r = request(&gw, "GET", "/a", &good, "").await;
        assert_eq!(r.status, 200);
        assert_eq!(value(&app.last_seen().headers, "x-auth-user"), "alice");
    }
    assert_eq!(auth.calls().len(), 1, "hits after the first miss");
    // Another path or another credential is another key.
    request(&gw, "GET", "/b", &good, "").await;
    request(&gw, "GET", "/a", &[("cookie", "sess=ok")], "").await;
    assert_eq!(auth.calls().len(), 3);
    // Denials are not cached: each asks.
    for _ in 0..2 {
        let r = request(&gw, "GET", "/a", &[("authorization", "Basic eDp5")], "").await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(auth.calls().len(), 5);
    // After the TTL the server is asked again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    request(&gw, "GET", "/a", &good, "").await;
    assert_eq!(auth.calls().len(), 6);
}

#[tokio::test]
async fn auth_calls_show_in_metrics_and_the_access_log() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let options = format!(
        "        address: \"{}\"\n        headerField: X-Auth-User",
        auth.url("/verify")
    );
    let dynamic = stack(&app, &options);
    let extra = format!(
        "[metrics.prometheus]\nentryPoint = \"web\"\n[accessLog]\nformat = \"json\"\nfilePath = {:?}\n",
        log.display().to_string()
    );
    let gw = gateway_with(&dynamic, &extra).await;
    assert_eq!(
        request(&gw, "GET", "/", &[("authorization", "Bearer good")], "")
            .await
            .status,
        200
    );
    assert_eq!(request(&gw, "GET", "/", &[], "").await.status, 302);
    let m = support::get(&client(), &gw.url("/metrics"), None).await;
    for line in [
        r#"swarmgate_forwardauth_requests_total{middleware="auth@file",code="200"} 1"#,
        r#"swarmgate_forwardauth_requests_total{middleware="auth@file",code="302"} 1"#,
        r#"swarmgate_forwardauth_request_duration_seconds_count{middleware="auth@file"} 2"#,
    ] {
        assert!(m.body.contains(line), "missing {line:?} in\n{}", m.body);
    }
    assert!(
        support::eventually(Duration::from_secs(5), || {
            let log = log.clone();
            async move {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<serde_json::Value> = text
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .filter(|v: &serde_json::Value| v["RouterName"] == "app@file")
                    .collect();
                lines.len() == 2
                    && lines[0]["ClientUsername"] == "alice"
                    && lines[1]["ClientUsername"] == "-"
                    && lines
                        .iter()
                        .all(|v| v["AuthDuration"].as_u64().is_some_and(|d| d > 0))
            }
        })
        .await,
        "access log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// An `https` authentication server for `localhost` that requires a client certificate issued
/// by its own client CA; answers 200 with `X-Auth-User: mtls`. Returns its address, its
/// certificate (PEM) and a client certificate + key (PEM) it accepts.
async fn mtls_auth_server() -> (SocketAddr, String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let provider = || Arc::new(rustls::crypto::ring::default_provider());
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&server_key)
        .unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["client".to_string()])
        .unwrap()
        .signed_by(&client_key, &Issuer::new(ca_params, &ca_key))
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            ca_cert.der().to_vec(),
        ))
        .unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(
                server_cert.der().to_vec(),
            )],
            rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("x-auth-user", "mtls")
                            .body(Full::new(Bytes::new()))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (
        addr,
        server_cert.pem(),
        client_cert.pem(),
        client_key.serialize_pem(),
    )
}

#[tokio::test]
async fn tls_to_the_auth_server_with_ca_and_client_certificate() {
    let app = backend("app").await;
    let (addr, server_pem, client_pem, client_key) = mtls_auth_server().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (ca, cert, key) = (
        write("ca.pem", &server_pem),
        write("client.pem", &client_pem),
        write("client.key", &client_key),
    );
    let address = format!("https://localhost:{}/verify", addr.port());
    let cases = [
        // CA and client certificate from files: accepted, the identity header reaches the app.
        (
            format!("tls: {{ca: \"{ca}\", cert: \"{cert}\", key: \"{key}\"}}"),
            200,
        ),
        // The server wants a client certificate: without one the handshake fails.
        (format!("tls: {{ca: \"{ca}\"}}"), 500),
        // The server's certificate is not from a public CA.
        (format!("tls: {{cert: \"{cert}\", key: \"{key}\"}}"), 500),
        (
            format!("tls: {{insecureSkipVerify: true, cert: \"{cert}\", key: \"{key}\"}}"),
            200,
        ),
    ];
    for (tls, want) in cases {
        let options = format!(
            "        address: \"{address}\"\n        authResponseHeaders: [X-Auth-User]\n        {tls}"
        );
        let gw = gateway(&stack(&app, &options)).await;
        let r = request(&gw, "GET", "/", &[], "").await;
        assert_eq!(r.status.as_u16(), want, "{tls}: {}", r.body);
        if want == 200 {
            assert_eq!(value(&app.last_seen().headers, "x-auth-user"), "mtls");
        }
        gw.stop().await;
    }
    // Inline PEM works as a file does (Traefik's FileOrContent).
    let inline = serde_json::json!({"ca": server_pem, "cert": client_pem, "key": client_key});
    let options = format!("        address: \"{address}\"\n        tls: {inline}");
    let gw = gateway(&stack(&app, &options)).await;
    assert_eq!(request(&gw, "GET", "/", &[], "").await.status, 200);
}

#[tokio::test]
async fn the_auth_call_asks_for_gzip_as_gos_client_and_unpacks_the_answer() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!("        address: \"{}\"", auth.url("/gzip"));
    let gw = gateway(&stack(&app, &options)).await;
    let r = request(&gw, "GET", "/", &[], "").await;
    assert_eq!(value(&auth.last().headers, "accept-encoding"), "gzip");
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (401, "denied, unpacked")
    );
    assert_eq!(value(&r.headers, "content-encoding"), "");
    // A client's own Accept-Encoding goes as it is, and the answer is passed untouched.
    let r = request(&gw, "GET", "/", &[("accept-encoding", "br")], "").await;
    assert_eq!(value(&auth.last().headers, "accept-encoding"), "br");
    assert_eq!(r.status, 302);
}

#[tokio::test]
async fn the_auth_connection_pool_survives_a_reload() {
    let (auth, app) = (AuthServer::start().await, backend("app").await);
    let options = format!("        address: \"{}\"", auth.url("/verify"));
    let gw = gateway(&stack(&app, &options)).await;
    let good = [("authorization", "Bearer good")];
    assert_eq!(request(&gw, "GET", "/", &good, "").await.status, 200);
    // Another router appears: the table is compiled again, the middleware with it.
    let reloaded = stack(&app, &options).replace(
        "  middlewares:\n",
        "    other:\n      rule: \"Host(`other.example`)\"\n      service: app\n  middlewares:\n",
    );
    gw.write_dynamic(&reloaded);
    assert!(
        support::eventually(Duration::from_secs(5), || {
            let url = gw.url("/");
            async move {
                support::get(&client(), &url, Some("other.example"))
                    .await
                    .status
                    == 200
            }
        })
        .await
    );
    assert_eq!(request(&gw, "GET", "/", &good, "").await.status, 200);
    assert_eq!(auth.calls().len(), 2);
    assert_eq!(
        auth.connections.load(Ordering::SeqCst),
        1,
        "kept across the reload"
    );
}
