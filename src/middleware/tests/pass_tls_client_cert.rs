//! passTLSClientCert: Traefik's own test table (`pass_tls_client_cert_test.go`, its certificates
//! in `tests/fixtures/passtlsclientcert`) with the headers Traefik expects.

use rustls::pki_types::CertificateDer;
use serde_json::json;

use super::{compile, ctx, req};
use crate::middleware::pass_tls_client_cert::query_escape;
use crate::middleware::{Flow, RequestContext};

const MINIMAL: &str = include_str!("../../../tests/fixtures/passtlsclientcert/minimal.pem");
const MINIMAL_CHEESE: &str =
    include_str!("../../../tests/fixtures/passtlsclientcert/minimal_cheese.pem");
const COMPLETE_CHEESE: &str =
    include_str!("../../../tests/fixtures/passtlsclientcert/complete_cheese.pem");

fn der(pem: &str) -> CertificateDer<'static> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
}

/// The PEM without armour and line breaks (Traefik's `sanitize`).
fn clean(pem: &str) -> String {
    pem.replace("-----BEGIN CERTIFICATE-----", "")
        .replace("-----END CERTIFICATE-----", "")
        .replace('\n', "")
}

/// Runs the middleware from `cfg` on a request with `certs` (none: a connection without mTLS)
/// and returns (cert header, info header unescaped).
fn run(
    cfg: serde_json::Value,
    certs: Option<&[CertificateDer<'static>]>,
) -> (Option<String>, Option<String>) {
    let m = compile(json!({ "passTLSClientCert": cfg })).unwrap();
    let mut r = req("GET", "/", &[]);
    let c = RequestContext {
        client_certs: certs,
        ..ctx(true)
    };
    assert!(matches!(m.on_request(&mut r, &c), Flow::Continue));
    let get = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_string());
    let info = get("x-forwarded-tls-client-cert-info").map(|v| {
        // Go's url.QueryUnescape: `+` is a space.
        let spaced = v.replace('+', " ");
        percent_decode(&spaced)
    });
    (get("x-forwarded-tls-client-cert"), info)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn all_info() -> serde_json::Value {
    let dn = json!({"country": true, "province": true, "locality": true, "organization": true,
        "organizationalUnit": true, "commonName": true, "serialNumber": true,
        "domainComponent": true});
    let mut issuer = dn.clone();
    issuer.as_object_mut().unwrap().remove("organizationalUnit");
    json!({"notAfter": true, "notBefore": true, "sans": true, "serialNumber": true,
        "subject": dn, "issuer": issuer})
}

const MINIMAL_CHEESE_ALL_INFO: &str = concat!(
    r#"Subject="C=FR,ST=Some-State,O=Cheese";"#,
    r#"Issuer="DC=org,DC=cheese,C=FR,C=US,ST=Signing State,ST=Signing State 2,L=TOULOUSE,L=LYON,O=Cheese,O=Cheese 2,CN=Simple Signing CA 2";"#,
    r#"SerialNumber="481535886039632329873080491016862977516759989652";"#,
    r#"NB="1544094636";"#,
    r#"NA="1632568236""#
);

const COMPLETE_ALL_INFO: &str = concat!(
    r#"Subject="DC=org,DC=cheese,C=FR,C=US,ST=Cheese org state,ST=Cheese com state,L=TOULOUSE,L=LYON,O=Cheese,O=Cheese 2,OU=Simple Signing Section,OU=Simple Signing Section 2,CN=*.cheese.com";"#,
    r#"Issuer="DC=org,DC=cheese,C=FR,C=US,ST=Signing State,ST=Signing State 2,L=TOULOUSE,L=LYON,O=Cheese,O=Cheese 2,CN=Simple Signing CA 2";"#,
    r#"SerialNumber="1";"#,
    r#"NB="1544094616";"#,
    r#"NA="1607166616";"#,
    r#"SAN="*.cheese.org,*.cheese.net,*.cheese.com,test@cheese.org,test@cheese.net,10.0.1.0,10.0.1.2""#
);

#[test]
fn pem_as_traefik() {
    let minimal = [der(MINIMAL)];
    let cheese = [der(MINIMAL_CHEESE)];
    let two = [der(MINIMAL), der(MINIMAL_CHEESE)];
    // No TLS / no option: nothing.
    assert_eq!(run(json!({}), None), (None, None));
    assert_eq!(run(json!({}), Some(&minimal)), (None, None));
    assert_eq!(run(json!({"pem": true}), None), (None, None));
    assert_eq!(
        run(json!({"pem": true}), Some(&minimal)).0,
        Some(clean(MINIMAL))
    );
    assert_eq!(
        run(json!({"pem": true}), Some(&cheese)).0,
        Some(clean(MINIMAL_CHEESE))
    );
    assert_eq!(
        run(json!({"pem": true}), Some(&two)).0,
        Some(format!("{},{}", clean(MINIMAL), clean(MINIMAL_CHEESE)))
    );
}

#[test]
fn info_as_traefik() {
    let cheese = [der(MINIMAL_CHEESE)];
    let complete = [der(COMPLETE_CHEESE)];
    let two = [der(MINIMAL_CHEESE), der(COMPLETE_CHEESE)];
    assert_eq!(
        run(json!({"info": {"subject": {"organization": true}}}), None).1,
        None
    );
    // pem false with an empty subject: nothing without TLS.
    assert_eq!(
        run(json!({"pem": false, "info": {"subject": {}}}), None),
        (None, None)
    );
    assert_eq!(
        run(json!({"info": all_info()}), Some(&cheese)).1.as_deref(),
        Some(MINIMAL_CHEESE_ALL_INFO)
    );
    let some = json!({"info": {"notAfter": true, "notBefore": false,
        "subject": {"organization": true}, "issuer": {"country": true}}});
    assert_eq!(
        run(some, Some(&cheese)).1.as_deref(),
        Some(r#"Subject="O=Cheese";Issuer="C=FR,C=US";NA="1632568236""#)
    );
    // Fields the certificate has not got (OU, CN) are left out.
    let absent = json!({"info": {"notAfter": true, "subject": {"organization": true,
        "organizationalUnit": true, "commonName": true}, "issuer": {"country": true}}});
    assert_eq!(
        run(absent, Some(&cheese)).1.as_deref(),
        Some(r#"Subject="O=Cheese";Issuer="C=FR,C=US";NA="1632568236""#)
    );
    assert_eq!(
        run(json!({"info": all_info()}), Some(&complete))
            .1
            .as_deref(),
        Some(COMPLETE_ALL_INFO)
    );
    assert_eq!(
        run(json!({"info": all_info()}), Some(&two)).1,
        Some(format!("{MINIMAL_CHEESE_ALL_INFO},{COMPLETE_ALL_INFO}"))
    );
}

#[test]
fn info_escaped_as_go_query_escape() {
    assert_eq!(
        query_escape(r#"Subject="CN=a b,O=x/y";NA="1"~-_."#),
        "Subject%3D%22CN%3Da+b%2CO%3Dx%2Fy%22%3BNA%3D%221%22~-_."
    );
    assert_eq!(query_escape("é"), "%C3%A9");
}
