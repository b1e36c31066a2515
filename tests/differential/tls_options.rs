//! `tls.options` through the real Traefik and swarmgate on the same file (issue 18 section 1):
//! the same rustls client handshakes with each (versions, suites, curves, ALPN, sniStrict,
//! client certificates), then sends one request; the outcome is the status, or `refused` when
//! the handshake (or, for a client certificate refused after a TLS 1.3 handshake, the first
//! read) fails. Where the two agree the test asserts Traefik's outcome; where swarmgate refuses
//! what Traefik serves with less protection, the test asserts both and says why.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use super::echo::{Answer, Echo};
use super::harness::{free_ports, Binaries, Proc};
use super::tls_probe::{exchange, status, Client, ClientCert, DEFAULT};
/// `refused`, `alpn <proto>` (for an h2 probe) or the HTTP status.
fn probe(addr: SocketAddr, c: &Client<'_>, sni: &str, host: &str, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    match exchange(addr, c, sni, &request) {
        Ok(answer) => status(&answer),
        Err(instead) => instead,
    }
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
    "cbc.test",
    "tls10.test",
    "missing.test",
    "both.test",
    "default.test",
];

struct Pki {
    ca_file: String,
    client: ClientCert,
    stranger: ClientCert,
    cert_file: String,
    key_file: String,
}

fn pki(dir: &std::path::Path) -> Pki {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a PEM file");
        path.display().to_string()
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf = |names: Vec<String>, signed: bool| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(names).expect("params");
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = if signed {
            params.signed_by(&key, &ca)
        } else {
            params.self_signed(&key)
        }
        .expect("certificate");
        (cert, key)
    };
    let (server, server_key) = leaf(HOSTS.iter().map(|h| h.to_string()).collect(), false);
    let (client, client_key) = leaf(vec!["client.test".into()], true);
    let (stranger, stranger_key) = leaf(vec!["stranger.test".into()], false);
    Pki {
        ca_file: write("ca.pem", &ca.pem()),
        client: (vec![client.der().clone()], client_key.serialize_pem()),
        stranger: (vec![stranger.der().clone()], stranger_key.serialize_pem()),
        cert_file: write("server.crt", &server.pem()),
        key_file: write("server.key", &server_key.serialize_pem()),
    }
}

fn dynamic(app: &str, pki: &Pki) -> String {
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
        ("cbc", "cbc"),
        ("tls10", "tls10"),
        ("missing", "nosuch"),
    ] {
        routers.push_str(&format!(
            "    {name}: {{ rule: \"Host(`{name}.test`)\", service: app, tls: {{ options: {options} }} }}\n"
        ));
    }
    routers.push_str("    strictother: { rule: \"Host(`nocert.test`)\", service: app, tls: { options: strict } }\n");
    routers.push_str("    both1: { rule: \"Host(`both.test`) && Path(`/a`)\", service: app, tls: { options: mtls } }\n");
    routers.push_str("    both2: { rule: \"Host(`both.test`)\", service: app, tls: {} }\n");
    routers.push_str("    default: { rule: \"Host(`default.test`)\", service: app, tls: {} }\n");
    routers.push_str(
        "    nohost: { rule: \"PathPrefix(`/nohost`)\", service: app, tls: { options: mtls } }\n",
    );
    format!(
        r#"http:
  routers:
{routers}  services:
    app:
      loadBalancer:
        servers:
          - url: "{app}"
tls:
  certificates:
    - certFile: "{cert}"
      keyFile: "{key}"
  options:
    tls13: {{ minVersion: VersionTLS13 }}
    tls12:
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
    curves: {{ curvePreferences: [CurveP384] }}
    h1: {{ alpnProtocols: [http/1.1] }}
    strict: {{ sniStrict: true }}
    mtls: {{ clientAuth: {{ caFiles: ["{ca}"], clientAuthType: RequireAndVerifyClientCert }} }}
    ifgiven: {{ clientAuth: {{ caFiles: ["{ca}"], clientAuthType: VerifyClientCertIfGiven }} }}
    request: {{ clientAuth: {{ clientAuthType: RequestClientCert }} }}
    requireany: {{ clientAuth: {{ clientAuthType: RequireAnyClientCert }} }}
    cbc: {{ cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA] }}
    tls10: {{ minVersion: VersionTLS10 }}
"#,
        cert = pki.cert_file,
        key = pki.key_file,
        ca = pki.ca_file,
    )
}

enum Expect {
    Same(&'static str),
    Deliberate {
        traefik: &'static str,
        swarmgate: &'static str,
        why: &'static str,
    },
}

pub fn tls_options_as_traefik(bins: &Binaries) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let echo = Echo::start("app", Answer::default());
    let pki = pki(dir.path());
    let file = dir.path().join("dynamic.yml");
    std::fs::write(&file, dynamic(&echo.url(), &pki)).expect("write the dynamic file");
    let ports = free_ports(2);
    let args = |port: u16| {
        vec![
            format!("--entrypoints.websecure.address=127.0.0.1:{port}"),
            format!("--providers.file.filename={}", file.display()),
            "--log.level=ERROR".to_string(),
            "--global.checkNewVersion=false".to_string(),
            "--global.sendAnonymousUsage=false".to_string(),
        ]
    };
    let mut traefik = Proc::spawn(&bins.traefik, None, &args(ports[0]), dir.path(), "traefik");
    let mut swarmgate = Proc::spawn(
        &bins.swarmgate,
        Some("run"),
        &args(ports[1]),
        dir.path(),
        "swarmgate",
    );
    let (t, s) = (
        SocketAddr::from(([127, 0, 0, 1], ports[0])),
        SocketAddr::from(([127, 0, 0, 1], ports[1])),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while [t, s]
        .iter()
        .any(|a| probe(*a, &DEFAULT, "default.test", "default.test", "/") != "200")
    {
        assert!(
            Instant::now() < deadline,
            "not both serving: {:?} {:?}\n{}\n{}",
            traefik.exited(),
            swarmgate.exited(),
            traefik.log_text(),
            swarmgate.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    use rustls::crypto::ring::cipher_suite as cs;
    let c = DEFAULT;
    let tls12 = Client {
        tls12_only: true,
        ..c
    };
    let tls13 = Client {
        tls13_only: true,
        ..c
    };
    let good = Client {
        cert: Some(&pki.client),
        ..c
    };
    let stranger = Client {
        cert: Some(&pki.stranger),
        ..c
    };
    let weaker = "Traefik serves it with the default options, without the protection its options ask for; swarmgate refuses the handshake";
    let probes: Vec<(&str, Client<'_>, &str, &str, &str, Expect)> = vec![
        ("minVersion TLS1.3, TLS 1.2 client", tls12, "tls13.test", "tls13.test", "/", Expect::Same("refused")),
        ("minVersion TLS1.3, TLS 1.3 client", tls13, "tls13.test", "tls13.test", "/", Expect::Same("200")),
        ("maxVersion TLS1.2, TLS 1.3 client", tls13, "tls12.test", "tls12.test", "/", Expect::Same("refused")),
        ("suite not listed", Client { suite: Some(cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), ..tls12 }, "tls12.test", "tls12.test", "/", Expect::Same("refused")),
        ("suite listed", Client { suite: Some(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384), ..tls12 }, "tls12.test", "tls12.test", "/", Expect::Same("200")),
        ("curve not preferred", Client { x25519_only: true, ..c }, "curves.test", "curves.test", "/", Expect::Same("refused")),
        ("alpn http/1.1 only", Client { h2: true, ..c }, "h1.test", "h1.test", "/", Expect::Same("alpn http/1.1")),
        ("alpn default", Client { h2: true, ..c }, "default.test", "default.test", "/", Expect::Same("alpn h2")),
        ("sniStrict, certificate", c, "strict.test", "strict.test", "/", Expect::Same("200")),
        ("sniStrict, no certificate", c, "nocert.test", "nocert.test", "/", Expect::Same("refused")),
        ("RequireAndVerify, none", c, "mtls.test", "mtls.test", "/", Expect::Same("refused")),
        ("RequireAndVerify, none, TLS 1.2", tls12, "mtls.test", "mtls.test", "/", Expect::Same("refused")),
        ("RequireAndVerify, stranger", stranger, "mtls.test", "mtls.test", "/", Expect::Same("refused")),
        ("RequireAndVerify, CA-signed", good, "mtls.test", "mtls.test", "/", Expect::Same("200")),
        ("VerifyIfGiven, none", c, "ifgiven.test", "ifgiven.test", "/", Expect::Same("200")),
        ("VerifyIfGiven, stranger", stranger, "ifgiven.test", "ifgiven.test", "/", Expect::Same("refused")),
        ("VerifyIfGiven, CA-signed", good, "ifgiven.test", "ifgiven.test", "/", Expect::Same("200")),
        ("Request, stranger", stranger, "request.test", "request.test", "/", Expect::Same("200")),
        ("RequireAny, none", c, "requireany.test", "requireany.test", "/", Expect::Same("refused")),
        ("RequireAny, stranger", stranger, "requireany.test", "requireany.test", "/", Expect::Same("200")),
        ("options that do not exist", c, "missing.test", "missing.test", "/", Expect::Same("refused")),
        ("domain fronting to an mTLS host", c, "default.test", "mtls.test", "/", Expect::Same("421")),
        ("a CBC suite", tls13, "cbc.test", "cbc.test", "/", Expect::Deliberate {
            traefik: "200",
            swarmgate: "refused",
            why: "rustls has no CBC suites: the options are an error naming the suite (their routers closed, handshakes refused) instead of being served otherwise",
        }),
        ("minVersion TLS1.0", c, "tls10.test", "tls10.test", "/", Expect::Deliberate {
            traefik: "200",
            swarmgate: "refused",
            why: "rustls has no TLS 1.0/1.1: minVersion VersionTLS10 is an error naming it",
        }),
        ("two routers, one host, different options", c, "both.test", "both.test", "/", Expect::Deliberate {
            traefik: "200",
            swarmgate: "refused",
            why: weaker,
        }),
        ("host-less router with mTLS options", c, "default.test", "x.test", "/nohost", Expect::Deliberate {
            traefik: "200",
            swarmgate: "421",
            why: "a TLS router without Host keeps its own options: Traefik serves it with the default options; swarmgate serves it only on a connection whose SNI selected its options (421 otherwise, as Traefik's snicheck)",
        }),
    ];
    let mut failures = Vec::new();
    for (what, client, sni, host, path, expect) in &probes {
        let (got_t, got_s) = (
            probe(t, client, sni, host, path),
            probe(s, client, sni, host, path),
        );
        let (ok, verdict) = match expect {
            Expect::Same(want) => (got_t == *want && got_s == *want, "same".to_string()),
            Expect::Deliberate {
                traefik,
                swarmgate,
                why,
            } => (
                got_t == *traefik && got_s == *swarmgate,
                format!("deliberate: {why}"),
            ),
        };
        println!(
            "[tls-options] {what}: traefik {got_t}, swarmgate {got_s}: {verdict}: {}",
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            failures.push(format!("{what}: traefik {got_t}, swarmgate {got_s}"));
        }
    }
    drop(swarmgate);
    drop(traefik);
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}
