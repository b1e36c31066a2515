//! `passTLSClientCert` through the real Traefik and swarmgate on the same file: a rustls client
//! presents a certificate chain (leaf with every subject and issuer attribute Traefik reads and
//! every SAN kind, then its CA) and the echo backend reports the `X-Forwarded-Tls-Client-Cert`
//! and `X-Forwarded-Tls-Client-Cert-Info` headers each proxy sent. They must be byte-identical;
//! without a client certificate both send neither, even when the client forged them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType,
    SerialNumber,
};

use super::echo::{Answer, Echo, Seen};
use super::harness::{free_ports, Binaries, Proc};
use super::tls_probe::{exchange, status, Client, ClientCert, DEFAULT};

/// (status, echo headers) of one request over a fresh TLS connection.
fn fetch(
    addr: SocketAddr,
    cert: Option<&ClientCert>,
    host: &str,
    extra: &str,
) -> (String, Option<Seen>) {
    let client = Client { cert, ..DEFAULT };
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    match exchange(addr, &client, host, &request) {
        Ok(text) => {
            let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
            // The echo answers without chunking (Content-Length), so the body is the JSON.
            (status(&text), Seen::parse(body.as_bytes()))
        }
        Err(instead) => (instead, None),
    }
}

struct Pki {
    server_cert: String,
    server_key: String,
    client: ClientCert,
}

fn pki(dir: &std::path::Path) -> Pki {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a PEM file");
        path.display().to_string()
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let dn = &mut ca_params.distinguished_name;
    dn.push(
        DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
        "org",
    );
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::StateOrProvinceName, "Signing State");
    dn.push(DnType::LocalityName, "TOULOUSE");
    dn.push(DnType::OrganizationName, "Cheese");
    dn.push(DnType::OrganizationalUnitName, "Signing Section");
    dn.push(DnType::CommonName, "Simple Signing CA");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "CA-42");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(vec!["client.test".to_string(), "*.cheese.org".to_string()])
            .expect("params");
    params.subject_alt_names.extend([
        SanType::Rfc822Name("test@cheese.org".try_into().expect("email")),
        SanType::IpAddress("10.0.1.2".parse().expect("ip")),
        SanType::IpAddress("2001:db8::1".parse().expect("ip6")),
        SanType::URI("spiffe://cheese.org/ns/app".try_into().expect("uri")),
    ]);
    params.serial_number = Some(SerialNumber::from(vec![0x54, 0x58, 0xd0, 0xe0, 0x64, 0xfc]));
    let dn = &mut params.distinguished_name;
    dn.push(
        DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
        "cheese",
    );
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::StateOrProvinceName, "Cheese org state");
    dn.push(DnType::LocalityName, "LYON");
    dn.push(DnType::OrganizationName, "Cheese 2");
    dn.push(DnType::OrganizationalUnitName, "Simple Signing Section 2");
    dn.push(DnType::CommonName, "*.cheese.com é+&=\"x\"");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "SN-7");
    let cert = params.signed_by(&key, &ca).expect("client certificate");
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec![
        "pem.test".into(),
        "info.test".into(),
        "none.test".into(),
    ])
    .expect("params")
    .self_signed(&server_key)
    .expect("server certificate");
    Pki {
        server_cert: write("server.crt", &server.pem()),
        server_key: write("server.key", &server_key.serialize_pem()),
        client: (
            vec![cert.der().clone(), ca.der().clone()],
            key.serialize_pem(),
        ),
    }
}

fn dynamic(app: &str, pki: &Pki) -> String {
    let all = "{ country: true, province: true, locality: true, organization: true, organizationalUnit: true, commonName: true, serialNumber: true, domainComponent: true }";
    let issuer = "{ country: true, province: true, locality: true, organization: true, commonName: true, serialNumber: true, domainComponent: true }";
    format!(
        r#"http:
  routers:
    pem: {{ rule: "Host(`pem.test`)", service: app, middlewares: [pem], tls: {{ options: any }} }}
    info: {{ rule: "Host(`info.test`)", service: app, middlewares: [info], tls: {{ options: any }} }}
    none: {{ rule: "Host(`none.test`)", service: app, middlewares: [both], tls: {{}} }}
  middlewares:
    pem: {{ passTLSClientCert: {{ pem: true }} }}
    info:
      passTLSClientCert:
        info: {{ notAfter: true, notBefore: true, sans: true, serialNumber: true, subject: {all}, issuer: {issuer} }}
    both:
      passTLSClientCert:
        pem: true
        info: {{ notAfter: true, subject: {{ commonName: true }} }}
  services:
    app:
      loadBalancer:
        servers:
          - url: "{app}"
tls:
  certificates:
    - certFile: "{cert}"
      keyFile: "{key}"
  options:
    any: {{ clientAuth: {{ clientAuthType: RequireAnyClientCert }} }}
"#,
        cert = pki.server_cert,
        key = pki.server_key,
    )
}

const CERT: &str = "X-Forwarded-Tls-Client-Cert";
const INFO: &str = "X-Forwarded-Tls-Client-Cert-Info";

pub fn pass_tls_client_cert_as_traefik(bins: &Binaries) {
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
        .any(|a| fetch(*a, None, "none.test", "").0 != "200")
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
    let forged = format!("{CERT}: forged\r\n{INFO}: forged\r\n");
    let cases: Vec<(&str, Option<&ClientCert>, &str, &str)> = vec![
        ("pem, chain of two", Some(&pki.client), "pem.test", ""),
        ("info, every field", Some(&pki.client), "info.test", ""),
        (
            "pem, forged headers replaced or dropped",
            Some(&pki.client),
            "pem.test",
            &forged,
        ),
        (
            "certificate not asked for (default options), forged headers",
            Some(&pki.client),
            "none.test",
            &forged,
        ),
        (
            "no client certificate, forged headers",
            None,
            "none.test",
            &forged,
        ),
    ];
    let mut failures = Vec::new();
    for (what, cert, host, extra) in cases {
        let (st, seen_t) = fetch(t, cert, host, extra);
        let (ss, seen_s) = fetch(s, cert, host, extra);
        let headers = |seen: &Option<Seen>| {
            seen.as_ref().map(|s| {
                (
                    s.values(CERT)
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>(),
                    s.values(INFO)
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>(),
                )
            })
        };
        let (ht, hs) = (headers(&seen_t), headers(&seen_s));
        let ok = st == "200" && st == ss && ht == hs;
        println!(
            "[passTLSClientCert] {what}: traefik {st} {ht:?}\n  swarmgate {ss} {hs:?}: {}",
            if ok { "same" } else { "DIFFERENT" }
        );
        if !ok {
            failures.push(format!(
                "{what}: traefik {st} {ht:?} / swarmgate {ss} {hs:?}"
            ));
        }
    }
    drop(swarmgate);
    drop(traefik);
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}
