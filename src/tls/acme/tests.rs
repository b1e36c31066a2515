use super::*;
use crate::config::static_config::EabConfig;

#[test]
fn certificates_duration_sets_the_renewal_period_as_traefik() {
    let with = |hours: Option<u64>| {
        renew_before(&AcmeConfig {
            cert_duration: hours,
            ..Default::default()
        })
    };
    let h = |n: u64| Duration::from_secs(n * 3600);
    assert_eq!(with(None), h(30 * 24));
    assert_eq!(with(Some(2160)), h(30 * 24));
    assert_eq!(with(Some(365 * 24)), h(4 * 30 * 24));
    assert_eq!(with(Some(7 * 24)), h(24));
    assert_eq!(with(Some(24)), h(6));
    assert_eq!(with(Some(1)), Duration::from_secs(20 * 60));
    let explicit = AcmeConfig {
        cert_duration: Some(24),
        renew_before: Some(crate::config::Duration::from_secs(60)),
        ..Default::default()
    };
    assert_eq!(renew_before(&explicit), Duration::from_secs(60));
    let from_traefik: AcmeConfig =
        serde_json::from_str(r#"{"certificatesDuration": 168}"#).unwrap();
    assert_eq!(renew_before(&from_traefik), h(24));
}

#[test]
fn key_types_as_traefik_names_them() {
    use order::KeyKind;
    assert_eq!(KeyKind::parse(None).unwrap(), KeyKind::Ec256);
    assert_eq!(KeyKind::parse(Some("EC384")).unwrap(), KeyKind::Ec384);
    assert_eq!(KeyKind::parse(Some("ec256")).unwrap(), KeyKind::Ec256);
    assert_eq!(KeyKind::parse(Some("RSA2048")).unwrap(), KeyKind::Rsa(2048));
    assert_eq!(KeyKind::parse(Some("rsa4096")).unwrap(), KeyKind::Rsa(4096));
    assert_eq!(KeyKind::parse(Some("RSA8192")).unwrap(), KeyKind::Rsa(8192));
    for wrong in ["EC521", "RSA1024", "RSA"] {
        let error = KeyKind::parse(Some(wrong)).unwrap_err();
        assert!(error.contains(wrong), "{error}");
        assert!(
            error.contains("EC256, EC384, RSA2048, RSA4096, RSA8192"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn an_rsa_key_type_makes_an_rsa_key_that_signs_a_csr_and_serves_tls() {
    let key = order::KeyKind::Rsa(2048).generate().await.unwrap();
    assert!(key.is_compatible(&rcgen::PKCS_RSA_SHA256));
    let pem = key.serialize_pem();
    assert!(pem.contains("BEGIN PRIVATE KEY"), "{pem}");
    let params = rcgen::CertificateParams::new(vec!["rsa.example.test".to_string()]).unwrap();
    let csr = params.serialize_request(&key).unwrap();
    use x509_parser::prelude::FromDer;
    let parsed = x509_parser::certification_request::X509CertificationRequest::from_der(csr.der())
        .unwrap()
        .1;
    let spki = &parsed.certification_request_info.subject_pki;
    assert_eq!(
        spki.algorithm.algorithm,
        x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION
    );
    match spki.parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 2048),
        other => panic!("not an RSA key: {other:?}"),
    }
    // The PEM key loads as a TLS signing key, as the store loads an issued certificate.
    let cert = params.self_signed(&key).unwrap();
    crate::tls::certs::parse_pair(cert.pem().as_bytes(), pem.as_bytes(), "test").unwrap();
}

#[test]
fn eab_mac_key_is_base64url_padded_or_not() {
    let eab = |kid: &str, hmac: &str| {
        eab_key(&EabConfig {
            kid: kid.into(),
            hmac_encoded: hmac.into(),
        })
    };
    assert_eq!(
        eab("k", "_-8").unwrap(),
        ("k".to_string(), vec![0xff, 0xef])
    );
    assert_eq!(eab("k", "_-8=").unwrap().1, vec![0xff, 0xef]);
    assert!(eab("", "_-8").unwrap_err().contains("kid"));
    assert!(eab("k", "not base64!").unwrap_err().contains("base64url"));
}

#[test]
fn a_wildcard_is_never_ordered_from_a_resolver_without_dns_challenge() {
    let dir = tempfile::tempdir().unwrap();
    let cfg: StaticConfig = serde_yaml::from_str(
        "certificatesResolvers:\n  http: {acme: {storage: a.json, httpChallenge: {entryPoint: web}}}\n  dns: {acme: {storage: a.json, dnsChallenge: {provider: manual}}}\n",
    )
    .unwrap();
    let store = Arc::new(CertStore::new(
        certs::self_signed(&["default.invalid".to_string()], "test").unwrap(),
    ));
    let http = Arc::new(HttpChallenges::default());
    let manager = Manager::new(&cfg, dir.path(), &store, &http)
        .unwrap()
        .unwrap();
    let want = |resolver: &str, main: &str| Want {
        resolver: resolver.into(),
        main: main.into(),
        sans: vec!["example.com".into()],
    };
    manager.want(
        [
            want("http", "*.example.com"),
            want("dns", "*.example.com"),
            want("http", "www.example.com"),
        ]
        .into_iter()
        .collect(),
    );
    let kept: Vec<(String, String)> = manager
        .wanted
        .borrow()
        .iter()
        .map(|w| (w.resolver.clone(), w.main.clone()))
        .collect();
    assert_eq!(
        kept,
        [
            ("dns".to_string(), "*.example.com".to_string()),
            ("http".to_string(), "www.example.com".to_string())
        ]
    );
}

#[test]
fn a_profile_is_asked_for_only_when_the_ca_offers_it() {
    let offered = ["classic", "shortlived", "tlsserver"];
    assert!(order::offered_profile("shortlived", offered.into_iter()).is_ok());
    let error = order::offered_profile("tlsclient", ["tlsserver", "classic"].into_iter())
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"tlsclient\""), "{error}");
    assert!(error.contains("offers: classic, tlsserver"), "{error}");
    let none = order::offered_profile("shortlived", std::iter::empty())
        .unwrap_err()
        .to_string();
    assert!(none.contains("none"), "{none}");
}

#[test]
fn profile_is_read_from_traefik_configuration() {
    let acme: AcmeConfig = serde_json::from_str(r#"{"profile": "shortlived"}"#).unwrap();
    assert_eq!(acme.profile.as_deref(), Some("shortlived"));
}
