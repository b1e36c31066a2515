use super::*;
use crate::config::dynamic::TlsDomain;

fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.len() <= MAX_NAME
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[test]
fn names_are_valid_docker_names_unique_per_resolver_and_domain() {
    let long = "a-very-long-resolver-name-with-UPPER_case and spaces";
    let naming = Naming::new("Swarm/Gate prefix that is far too long");
    let names = [
        naming.account("le"),
        naming.account(long),
        naming.lock("le", "a.test"),
        naming.lock("le", "b.test"),
        naming.lock("other", "a.test"),
        naming.lock(long, "a.test"),
        naming.cert(long, "very.long.domain.name.example.com", u64::MAX / 1000),
        naming.cert("le", "a.test", 1_700_000_000_000),
        naming.token("Xk_3-token"),
    ];
    for name in &names {
        assert!(
            valid_name(name),
            "{name:?} is not a valid Docker config name"
        );
        assert!(name.starts_with("swarm-gate-prefi-"), "{name}");
    }
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    // Deterministic: every replica derives the same lock name.
    assert_eq!(
        naming.lock("le", "a.test"),
        Naming::new("Swarm/Gate prefix that is far too long").lock("le", "a.test")
    );
    assert_eq!(
        Naming::new("swarmgate").lock("le", "a.test"),
        format!("swarmgate-lock-le-{}", short_hash(&["le", "a.test"]))
    );
    assert_eq!(sanitize("--", 10), "x");
    let labels = naming.labels(Kind::Cert, &[(LABEL_DOMAIN, "a.test")]);
    assert_eq!(labels[LABEL_STORE], "swarm-gate-prefi");
    assert_eq!(labels[LABEL_KIND], "cert");
    assert_eq!(labels[LABEL_DOMAIN], "a.test");
}

#[test]
fn lock_expires_after_its_ttl_and_unreadable_labels_count_as_expired() {
    let naming = Naming::new("sg");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let holder = Holder {
        owner: "node1/42",
        resolver: "le",
        domain: "a.test",
    };
    let labels = lock_labels(&naming, holder, t0, Duration::from_secs(30));
    assert_eq!(labels[LABEL_DOMAIN], "a.test");
    assert_eq!(
        lock_state(&labels, t0 + Duration::from_secs(29)),
        LockState::Held {
            owner: "node1/42".into(),
            expires: 1_000_030
        }
    );
    assert_eq!(
        lock_state(&labels, t0 + Duration::from_secs(30)),
        LockState::Expired {
            owner: "node1/42".into()
        }
    );
    let mut garbled = labels.clone();
    garbled.insert(LABEL_EXPIRES.into(), "soon".into());
    assert!(matches!(
        lock_state(&garbled, t0),
        LockState::Expired { .. }
    ));
    garbled.remove(LABEL_EXPIRES);
    assert!(matches!(
        lock_state(&garbled, t0),
        LockState::Expired { .. }
    ));
}

fn cert_object(
    naming: &Naming,
    id: &str,
    domain: &str,
    version: u64,
    data: Option<Vec<u8>>,
) -> Object {
    Object {
        id: id.to_string(),
        name: naming.cert("le", domain, version),
        labels: naming.labels(
            Kind::Cert,
            &[
                (LABEL_RESOLVER, "le"),
                (LABEL_DOMAIN, domain),
                (LABEL_ISSUED, "100"),
            ],
        ),
        data,
    }
}

fn stored_json(domain: &str, names: &[&str]) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let stored = StoredCert::new(
        TlsDomain {
            main: domain.to_string(),
            sans: Vec::new(),
        },
        &cert.pem(),
        &key.serialize_pem(),
    );
    serde_json::to_vec(&stored).unwrap()
}

#[test]
fn corrupt_objects_are_reported_and_skipped_keeping_the_newest_valid_version() {
    let naming = Naming::new("sg");
    let now = SystemTime::now();
    let good_old = stored_json("a.test", &["a.test"]);
    let good_new = stored_json("a.test", &["a.test"]);
    let mut truncated = stored_json("a.test", &["a.test"]);
    truncated.truncate(truncated.len() / 2);
    let mut bad_pem: serde_json::Value = serde_json::from_slice(&good_new).unwrap();
    bad_pem["certificate"] = serde_json::Value::String(
        base64::engine::general_purpose::STANDARD
            .encode("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"),
    );
    let objects = vec![
        cert_object(&naming, "old", "a.test", 1, Some(good_old)),
        cert_object(&naming, "new", "a.test", 2, Some(good_new)),
        cert_object(&naming, "trunc", "a.test", 3, Some(truncated)),
        cert_object(
            &naming,
            "pem",
            "a.test",
            4,
            Some(serde_json::to_vec(&bad_pem).unwrap()),
        ),
        cert_object(&naming, "nodata", "a.test", 5, None),
        cert_object(
            &naming,
            "other-name",
            "a.test",
            6,
            Some(stored_json("a.test", &["b.test"])),
        ),
        cert_object(
            &naming,
            "mislabelled",
            "a.test",
            7,
            Some(stored_json("c.test", &["c.test"])),
        ),
        cert_object(
            &naming,
            "b",
            "b.test",
            1,
            Some(stored_json("b.test", &["b.test"])),
        ),
    ];
    let (best, corrupt) = select_certs(&objects, now);
    let chosen: Vec<(&str, &str)> = best
        .iter()
        .map(|((_, domain), v)| (domain.as_str(), v.object_id.as_str()))
        .collect();
    assert_eq!(chosen, vec![("a.test", "new"), ("b.test", "b")]);
    let skipped: Vec<&str> = corrupt.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        skipped,
        vec!["trunc", "pem", "nodata", "other-name", "mislabelled"]
    );
    assert!(corrupt.iter().all(|c| !c.reason.is_empty()));
    assert_eq!(
        best[&("le".to_string(), "a.test".to_string())].issued,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100))
    );

    // An expired newest version does not replace a valid older one.
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(200 * 365 * 24 * 3600);
    let (best, corrupt) = select_certs(&objects[..2], later);
    assert!(best.is_empty());
    assert_eq!(corrupt.len(), 2);
}

#[test]
fn superseded_keeps_the_new_and_the_previous_version() {
    let naming = Naming::new("sg");
    let objects: Vec<Object> = [1, 2, 3, 4]
        .into_iter()
        .map(|v| cert_object(&naming, &format!("a{v}"), "a.test", v, None))
        .chain([cert_object(&naming, "b1", "b.test", 1, None)])
        .collect();
    assert_eq!(superseded(&objects, "le", "a.test", 4), vec!["a1", "a2"]);
    assert_eq!(
        superseded(&objects, "le", "a.test", 2),
        Vec::<String>::new()
    );
    assert_eq!(
        superseded(&objects, "le", "b.test", 9),
        Vec::<String>::new()
    );
}

#[test]
fn challenges_are_read_from_token_objects_only() {
    let naming = Naming::new("sg");
    let data = serde_json::to_vec(&TokenData {
        token: "tok".into(),
        key_authorization: "tok.thumb".into(),
        alpn_name: None,
    })
    .unwrap();
    let alpn = serde_json::to_vec(&TokenData {
        token: "tok2".into(),
        key_authorization: "tok2.thumb".into(),
        alpn_name: Some("A.test".into()),
    })
    .unwrap();
    let objects = vec![
        Object {
            id: "1".into(),
            name: naming.token("tok"),
            labels: naming.labels(Kind::Token, &[]),
            data: Some(data.clone()),
        },
        Object {
            id: "2".into(),
            name: naming.token("bad"),
            labels: naming.labels(Kind::Token, &[]),
            data: Some(b"{".to_vec()),
        },
        Object {
            id: "4".into(),
            name: naming.token("tls-alpn-01:a.test"),
            labels: naming.labels(Kind::Token, &[]),
            data: Some(alpn),
        },
        Object {
            id: "3".into(),
            name: "unrelated".into(),
            labels: naming.labels(Kind::Lock, &[]),
            data: Some(data),
        },
    ];
    let (http, alpn) = challenges(&objects);
    assert_eq!(http.len(), 1);
    assert_eq!(http["tok"], "tok.thumb");
    assert_eq!(alpn.len(), 1);
    assert_eq!(alpn["a.test"], "tok2.thumb");
}
