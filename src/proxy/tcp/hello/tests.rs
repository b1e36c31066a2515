use std::sync::Arc;

use super::*;

/// The bytes a real rustls client opens with.
fn client_hello(sni: &str, alpn: &[&str]) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

#[test]
fn reads_server_name_and_alpn_from_a_real_client_hello() {
    let hello = client_hello("DB.Example.Test", &["postgresql", "h2"]);
    assert_eq!(
        parse(&hello, true),
        Parsed::Done(Opening::Tls {
            server_name: "db.example.test".into(),
            alpn: vec!["postgresql".into(), "h2".into()],
        })
    );
    // Every prefix is incomplete, never a wrong answer.
    for cut in 1..hello.len() {
        assert_eq!(
            parse(&hello[..cut], true),
            Parsed::Incomplete,
            "cut at {cut}"
        );
    }
}

#[test]
fn a_hello_split_over_two_records_is_joined() {
    let hello = client_hello("a.test", &[]);
    let body = &hello[5..];
    let (one, two) = body.split_at(40);
    let mut split = Vec::new();
    for part in [one, two] {
        split.extend_from_slice(&[0x16, 3, 1]);
        split.extend_from_slice(&(part.len() as u16).to_be_bytes());
        split.extend_from_slice(part);
    }
    assert!(matches!(
        parse(&split, false),
        Parsed::Done(Opening::Tls { server_name, .. }) if server_name == "a.test"
    ));
}

#[test]
fn postgres_plain_and_garbage() {
    assert_eq!(
        parse(&POSTGRES_SSL_REQUEST, true),
        Parsed::Done(Opening::Postgres)
    );
    assert_eq!(parse(&POSTGRES_SSL_REQUEST[..5], true), Parsed::Incomplete);
    assert_eq!(
        parse(&POSTGRES_SSL_REQUEST, false),
        Parsed::Done(Opening::Plain)
    );
    assert_eq!(parse(b"PING\r\n", true), Parsed::Done(Opening::Plain));
    assert_eq!(parse(&[0, 0, 0, 9], true), Parsed::Done(Opening::Plain));
    assert_eq!(
        parse(&[0x16, 3, 1, 0, 4, 2, 0, 0, 0], true),
        Parsed::Malformed
    );
    assert_eq!(
        parse(&[0x16, 3, 1, 0, 4, 1, 0, 0, 0], true),
        Parsed::Malformed
    );
}
