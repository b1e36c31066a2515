//! `tls.options` end to end, with real handshakes from an in-process rustls client and from
//! `openssl s_client`: versions, cipher suites, curves, ALPN, sniStrict, every client-auth type,
//! and each fail-closed case (missing, invalid and conflicting options, domain fronting).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::ClientConfig;
use support::tls::*;
use support::{backend, gateway};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A client certificate chain and its PEM key.
type ClientCert = (Vec<CertificateDer<'static>>, String);

/// A CA, a client certificate it signed, a self-signed client certificate, and a server
/// certificate for every test host, written to `dir`.
struct Pki {
    ca_pem: String,
    ca_file: String,
    client: ClientCert,
    stranger: ClientCert,
    cert_file: String,
    key_file: String,
    client_files: (String, String),
}

const HOSTS: &[&str] = &[
    "tls13.test",
    "tls12.test",
    "curves.test",
    "h1.test",
    "strict.test",
    "mtls.test",
    "ifgiven.test",
    "request.test",
    "requireany.test",
    "none.test",
    "cbc.test",
    "tls10.test",
    "badca.test",
    "missing.test",
    "both.test",
    "default.test",
];

fn pki(dir: &std::path::Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test client CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["client.test".to_string()]).unwrap();
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &ca).unwrap();
    let stranger_key = KeyPair::generate().unwrap();
    let stranger_cert = CertificateParams::new(vec!["stranger.test".to_string()])
        .unwrap()
        .self_signed(&stranger_key)
        .unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (cert_file, key_file) = write_cert(dir, "server", HOSTS);
    Pki {
        ca_pem: ca.pem(),
        ca_file: write("ca.pem", &ca.pem()),
        client: (vec![client_cert.der().clone()], client_key.serialize_pem()),
        stranger: (
            vec![stranger_cert.der().clone()],
            stranger_key.serialize_pem(),
        ),
        cert_file,
        key_file,
        client_files: (
            write("client.crt", &client_cert.pem()),
            write("client.key", &client_key.serialize_pem()),
        ),
    }
}

fn dynamic(backend: &str, pki: &Pki) -> String {
    let router = |name: &str, rule: &str, options: Option<&str>| {
        let tls = match options {
            Some(o) => format!("{{ options: {o} }}"),
            None => "{}".to_string(),
        };
        format!("    {name}: {{ rule: \"{rule}\", service: app, tls: {tls} }}\n")
    };
    let mut routers = String::new();
    for (name, options) in [
        ("tls13", "tls13"),
        ("tls12", "tls12"),
        ("curves", "curves"),
        ("h1", "h1"),
        ("strict", "strict"),
        ("mtls", "mtls"),
        ("ifgiven", "ifgiven"),
        ("request", "request"),
        ("requireany", "requireany"),
        ("none", "none"),
        ("cbc", "cbc"),
        ("tls10", "tls10"),
        ("badca", "badca"),
        ("missing", "nosuch"),
    ] {
        routers.push_str(&router(
            name,
            &format!("Host(`{name}.test`)"),
            Some(options),
        ));
    }
    routers.push_str(&router(
        "strictother",
        "Host(`nocert.test`)",
        Some("strict"),
    ));
    routers.push_str(&router(
        "both1",
        "Host(`both.test`) && Path(`/a`)",
        Some("mtls"),
    ));
    routers.push_str(&router("both2", "Host(`both.test`)", None));
    routers.push_str(&router("default", "Host(`default.test`)", None));
    routers.push_str(&router("nohost", "PathPrefix(`/nohost`)", Some("mtls")));
    let ca_inline = pki.ca_pem.replace('\n', "\\n");
    format!(
        r#"http:
  routers:
{routers}  services:
    app:
      loadBalancer:
        servers:
          - url: "{backend}"
tls:
  certificates:
    - certFile: "{cert}"
      keyFile: "{key}"
  options:
    tls13: {{ minVersion: VersionTLS13 }}
    tls12:
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
    curves: {{ curvePreferences: [CurveP384] }}
    h1: {{ alpnProtocols: [http/1.1] }}
    strict: {{ sniStrict: true }}
    mtls: {{ clientAuth: {{ caFiles: ["{ca}"], clientAuthType: RequireAndVerifyClientCert }} }}
    ifgiven: {{ clientAuth: {{ caFiles: ["{ca_inline}"], clientAuthType: VerifyClientCertIfGiven }} }}
    request: {{ clientAuth: {{ clientAuthType: RequestClientCert }} }}
    requireany: {{ clientAuth: {{ clientAuthType: RequireAnyClientCert }} }}
    none: {{ clientAuth: {{ caFiles: ["{ca}"], clientAuthType: NoClientCert }} }}
    cbc: {{ cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA] }}
    tls10: {{ minVersion: VersionTLS10 }}
    badca: {{ clientAuth: {{ caFiles: ["/nonexistent/ca.pem"], clientAuthType: RequireAndVerifyClientCert }} }}
"#,
        cert = pki.cert_file,
        key = pki.key_file,
        ca = pki.ca_file,
    )
}

struct Setup {
    gw: support::Gateway,
    pki: Pki,
    _dir: tempfile::TempDir,
    _backend: support::Backend,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let app = backend("app").await;
    let gw = gateway(&dynamic(&app.url(), &pki)).await;
    Setup {
        gw,
        pki,
        _dir: dir,
        _backend: app,
    }
}

/// A client: TLS `versions`, `suites` and `groups` (empty: rustls' defaults), a client
/// certificate when given.
fn client(
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: &[rustls::SupportedCipherSuite],
    groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
    cert: Option<&ClientCert>,
) -> ClientConfig {
    let mut provider = rustls::crypto::ring::default_provider();
    if !suites.is_empty() {
        provider.cipher_suites = suites.to_vec();
    }
    if !groups.is_empty() {
        provider.kx_groups = groups.to_vec();
    }
    let versions = if versions.is_empty() {
        rustls::DEFAULT_VERSIONS
    } else {
        versions
    };
    let builder = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(accept_all());
    let mut config = match cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain.clone(), key).unwrap()
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

fn plain_client() -> ClientConfig {
    client(&[], &[], &[], None)
}

/// What a client got: the status of a GET `host``path` with SNI `sni`, or why it failed
/// (handshake refused, or the server ended the connection: a client certificate refused
/// after a TLS 1.3 handshake shows here).
async fn fetch(
    config: ClientConfig,
    addr: SocketAddr,
    sni: &str,
    host: &str,
    path: &str,
) -> Result<(u16, Option<Vec<u8>>), String> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .map_err(|_| "handshake timed out".to_string())?
    .map_err(|e| format!("handshake: {e}"))?;
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let (host, path) = (host.to_string(), path.to_string());
    // `request` panics when the server ends the connection: the task catches it.
    let reply = tokio::time::timeout(Duration::from_secs(10), async move {
        tokio::task::spawn(async move { request(stream, &host, &path).await })
            .await
            .map_err(|e| format!("request: {e}"))
    })
    .await
    .map_err(|_| "request timed out".to_string())??;
    Ok((reply.status.as_u16(), alpn))
}

async fn status(config: ClientConfig, addr: SocketAddr, host: &str) -> Result<u16, String> {
    fetch(config, addr, host, host, "/").await.map(|r| r.0)
}

#[tokio::test]
async fn versions_suites_curves_and_alpn_are_applied_per_sni() {
    let s = setup().await;
    let addr = s.gw.addr;
    use rustls::crypto::ring::{cipher_suite as cs, kx_group};
    use rustls::version::{TLS12, TLS13};
    // minVersion VersionTLS13: a TLS 1.2-only client is refused, TLS 1.3 served.
    assert!(
        status(client(&[&TLS12], &[], &[], None), addr, "tls13.test")
            .await
            .is_err()
    );
    assert_eq!(
        status(client(&[&TLS13], &[], &[], None), addr, "tls13.test").await,
        Ok(200)
    );
    // The default options on another host still take TLS 1.2.
    assert_eq!(
        status(client(&[&TLS12], &[], &[], None), addr, "default.test").await,
        Ok(200)
    );
    // maxVersion VersionTLS12 with AES-256 suites only.
    assert!(
        status(client(&[&TLS13], &[], &[], None), addr, "tls12.test")
            .await
            .is_err()
    );
    let aes128 = [cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    assert!(
        status(client(&[&TLS12], &aes128, &[], None), addr, "tls12.test")
            .await
            .is_err()
    );
    let aes256 = [cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384];
    assert_eq!(
        status(client(&[&TLS12], &aes256, &[], None), addr, "tls12.test").await,
        Ok(200)
    );
    // curvePreferences [CurveP384]: an X25519-only client finds no common group.
    assert!(status(
        client(&[], &[], &[kx_group::X25519], None),
        addr,
        "curves.test"
    )
    .await
    .is_err());
    assert_eq!(
        status(
            client(&[], &[], &[kx_group::SECP384R1], None),
            addr,
            "curves.test"
        )
        .await,
        Ok(200)
    );
    // alpnProtocols [http/1.1]: no h2 even when offered first; default hosts negotiate h2.
    let (_, alpn) = fetch(plain_client(), addr, "h1.test", "h1.test", "/")
        .await
        .unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (_, alpn) = fetch(plain_client(), addr, "default.test", "default.test", "/")
        .await
        .unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    s.gw.stop().await;
}

#[tokio::test]
async fn sni_strict_refuses_names_without_a_certificate() {
    let s = setup().await;
    let addr = s.gw.addr;
    assert_eq!(status(plain_client(), addr, "strict.test").await, Ok(200));
    // nocert.test selects the strict options and has no certificate: refused, where the
    // default options would have served the default certificate.
    let refused = status(plain_client(), addr, "nocert.test")
        .await
        .unwrap_err();
    assert!(refused.starts_with("handshake"), "{refused}");
    assert_eq!(status(plain_client(), addr, "unknown.test").await, Ok(404));
    s.gw.stop().await;
}

#[tokio::test]
async fn client_auth_types_have_go_meanings() {
    let s = setup().await;
    let addr = s.gw.addr;
    let (good, stranger) = (Some(&s.pki.client), Some(&s.pki.stranger));
    let cases: [(&str, Option<&ClientCert>, bool); 15] = [
        ("mtls.test", None, false),
        ("mtls.test", stranger, false),
        ("mtls.test", good, true),
        ("ifgiven.test", None, true),
        ("ifgiven.test", stranger, false),
        ("ifgiven.test", good, true),
        ("request.test", None, true),
        ("request.test", stranger, true),
        ("request.test", good, true),
        ("requireany.test", None, false),
        ("requireany.test", stranger, true),
        ("requireany.test", good, true),
        ("none.test", None, true),
        ("none.test", stranger, true),
        ("none.test", good, true),
    ];
    for (host, cert, served) in cases {
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let got = status(client(&[version], &[], &[], cert), addr, host).await;
            let who = if cert.is_none() {
                "no certificate"
            } else if cert == good {
                "CA-signed"
            } else {
                "self-signed"
            };
            assert_eq!(
                got.is_ok(),
                served,
                "{host} with {who} over {version:?}: {got:?}"
            );
            if served {
                assert_eq!(got, Ok(200), "{host} with {who}");
            }
        }
    }
    s.gw.stop().await;
}

#[tokio::test]
async fn broken_missing_and_conflicting_options_fail_closed() {
    let s = setup().await;
    let addr = s.gw.addr;
    // Invalid options (a CBC suite, TLS 1.0, an unreadable CA) and options that do not exist:
    // the hosts' handshakes are refused.
    for host in [
        "cbc.test",
        "tls10.test",
        "badca.test",
        "missing.test",
        "both.test",
    ] {
        let got = status(plain_client(), addr, host).await;
        assert!(
            matches!(&got, Err(e) if e.starts_with("handshake")),
            "{host}: {got:?}"
        );
    }
    // Reached through another SNI (domain fronting), the routers of broken options are closed
    // routes (503); a protected router answers 421: its options were not negotiated.
    for (host, expected) in [
        ("cbc.test", 503),
        ("missing.test", 503),
        ("mtls.test", 421),
        ("both.test", 200),
    ] {
        let got = fetch(plain_client(), addr, "default.test", host, "/").await;
        assert_eq!(
            got.map(|r| r.0),
            Ok(expected),
            "Host: {host} via SNI default.test"
        );
    }
    let fronted = fetch(plain_client(), addr, "default.test", "both.test", "/a").await;
    assert_eq!(fronted.map(|r| r.0), Ok(421), "both1 needs mtls");
    // A router without Host keeps its options: only a connection that negotiated them reaches it.
    let via_default = fetch(plain_client(), addr, "default.test", "x", "/nohost").await;
    assert_eq!(via_default.map(|r| r.0), Ok(421));
    let with_cert = client(&[], &[], &[], Some(&s.pki.client));
    let via_mtls = fetch(with_cert, addr, "mtls.test", "x", "/nohost").await;
    assert_eq!(via_mtls.map(|r| r.0), Ok(200));
    // The API and the log name each problem.
    let issues = s.gw.running.as_ref().unwrap().issues.load();
    for (name, needle) in [
        (
            "cbc@file",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not available",
        ),
        ("tls10@file", "minVersion VersionTLS10"),
        ("badca@file", "neither a readable file nor PEM content"),
        ("missing@file", "\"nosuch@file\" do not exist"),
        ("both1@file", "different TLS options"),
    ] {
        assert!(
            issues
                .iter()
                .any(|i| i.name == name && i.message.contains(needle)),
            "{name}: {needle} not in {issues:#?}"
        );
    }
    s.gw.stop().await;
}

/// Runs `openssl s_client` against the gateway with `args`, sending one request for `host`;
/// returns (exit success, output).
async fn s_client(addr: SocketAddr, sni: &str, host: &str, args: &[&str]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new("openssl");
    cmd.arg("s_client")
        .args([
            "-connect",
            &addr.to_string(),
            "-servername",
            sni,
            "-quiet",
            "-no_ign_eof",
        ])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, request.as_bytes())
        .await
        .ok();
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    drop(stdin);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn served(output: &str) -> bool {
    output.contains("HTTP/1.1 200")
}

#[tokio::test]
async fn openssl_clients_see_the_same_options() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("openssl not installed; skipped");
        return;
    }
    let s = setup().await;
    let addr = s.gw.addr;
    let (cert, key) = (&s.pki.client_files.0, &s.pki.client_files.1);
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        ("tls13.test", vec!["-tls1_2"], false),
        ("tls13.test", vec!["-tls1_3"], true),
        ("tls12.test", vec!["-tls1_3"], false),
        (
            "tls12.test",
            vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
            false,
        ),
        (
            "tls12.test",
            vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"],
            true,
        ),
        ("curves.test", vec!["-groups", "X25519"], false),
        ("curves.test", vec!["-groups", "P-384"], true),
        ("mtls.test", vec![], false),
        ("mtls.test", vec!["-cert", cert, "-key", key], true),
        ("mtls.test", vec!["-tls1_2"], false),
        (
            "mtls.test",
            vec!["-tls1_2", "-cert", cert, "-key", key],
            true,
        ),
        ("requireany.test", vec!["-tls1_2"], false),
        ("ifgiven.test", vec![], true),
        ("cbc.test", vec![], false),
        ("missing.test", vec![], false),
        ("default.test", vec!["-tls1_2"], true),
    ];
    for (host, args, expected) in cases {
        let (_, output) = s_client(addr, host, host, &args).await;
        assert_eq!(served(&output), expected, "{host} {args:?}:\n{output}");
    }
    s.gw.stop().await;
}

#[tokio::test]
async fn changed_options_apply_to_new_handshakes_and_to_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let app = backend("app").await;
    let yaml = |options: &str| {
        format!(
            "http:\n  routers:\n    guarded:\n      rule: \"Host(`mtls.test`)\"\n      service: app\n      tls: {{ options: guard }}\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\ntls:\n  certificates:\n    - certFile: \"{}\"\n      keyFile: \"{}\"\n  options:\n    guard: {options}\n",
            app.url(),
            pki.cert_file,
            pki.key_file
        )
    };
    let gw = gateway(&yaml("{ minVersion: VersionTLS12 }")).await;
    let addr = gw.addr;
    // A keep-alive connection handshaken under the first options.
    let mut config = plain_client();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await.unwrap();
    let stream = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("mtls.test").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let get = || {
        http::Request::get("/")
            .header("host", "mtls.test")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    assert_eq!(sender.send_request(get()).await.unwrap().status(), 200);
    // The options now require a client certificate.
    gw.write_dynamic(&yaml(&format!(
        "{{ clientAuth: {{ caFiles: [\"{}\"], clientAuthType: RequireAndVerifyClientCert }} }}",
        pki.ca_file
    )));
    let applied = support::eventually(Duration::from_secs(10), || async {
        status(plain_client(), addr, "mtls.test").await.is_err()
    })
    .await;
    assert!(
        applied,
        "new handshakes without a certificate are still served"
    );
    let with_cert = client(&[], &[], &[], Some(&pki.client));
    assert_eq!(status(with_cert, addr, "mtls.test").await, Ok(200));
    // The connection negotiated without a certificate no longer reaches the router.
    assert_eq!(sender.send_request(get()).await.unwrap().status(), 421);
    gw.stop().await;
}

#[tokio::test]
async fn default_options_replace_traefiks_for_every_other_host() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let app = backend("app").await;
    let yaml = format!(
        "http:\n  routers:\n    known:\n      rule: \"Host(`default.test`)\"\n      service: app\n      tls: {{}}\n    pinned:\n      rule: \"Host(`tls12.test`)\"\n      service: app\n      tls: {{ options: old }}\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\ntls:\n  certificates:\n    - certFile: \"{}\"\n      keyFile: \"{}\"\n  options:\n    default: {{ sniStrict: true, minVersion: VersionTLS13 }}\n    old: {{ maxVersion: VersionTLS12 }}\n",
        app.url(),
        pki.cert_file,
        pki.key_file
    );
    let gw = gateway(&yaml).await;
    let addr = gw.addr;
    use rustls::version::{TLS12, TLS13};
    // A host with a certificate: TLS 1.3 only, from the replaced defaults.
    assert_eq!(
        status(client(&[&TLS13], &[], &[], None), addr, "default.test").await,
        Ok(200)
    );
    assert!(
        status(client(&[&TLS12], &[], &[], None), addr, "default.test")
            .await
            .is_err()
    );
    // sniStrict from the defaults: a name without certificate, or no SNI at all, is refused.
    assert!(status(plain_client(), addr, "nocert.test").await.is_err());
    let mut no_sni = plain_client();
    no_sni.enable_sni = false;
    let got = fetch(no_sni, addr, "default.test", "default.test", "/").await;
    assert!(
        matches!(&got, Err(e) if e.starts_with("handshake")),
        "{got:?}"
    );
    // A host bound to other options keeps them.
    assert_eq!(
        status(client(&[&TLS12], &[], &[], None), addr, "tls12.test").await,
        Ok(200)
    );
    gw.stop().await;
}

#[tokio::test]
async fn the_server_chooses_the_cipher_suite_as_go_does() {
    // Go (Traefik) picks the suite by its own order (AES-128-GCM first) whatever the client
    // lists first; testssl flags a server that follows the client ("NOT a cipher order
    // configured", HIGH). The access log's `TLSCipher` then matches Traefik's
    // (tests/differential_access_log.rs).
    let s = setup().await;
    use rustls::crypto::ring::cipher_suite as cs;
    use rustls::version::TLS12;
    for (host, first, second) in [
        // TLS 1.2 with a client that lists AES-256 first.
        (
            "default.test",
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        // TLS 1.3 likewise (rustls' own client order).
        (
            "tls13.test",
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS13_AES_128_GCM_SHA256,
        ),
    ] {
        let versions: &[&'static rustls::SupportedProtocolVersion] = if host == "tls13.test" {
            &[&rustls::version::TLS13]
        } else {
            &[&TLS12]
        };
        let config = client(versions, &[first, second], &[], None);
        let tcp = TcpStream::connect(s.gw.addr).await.unwrap();
        let name = ServerName::try_from(host.to_string()).unwrap();
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let chosen = tls.get_ref().1.negotiated_cipher_suite().unwrap().suite();
        assert_eq!(
            chosen,
            second.suite(),
            "{host}: the client's first choice won"
        );
    }
}
