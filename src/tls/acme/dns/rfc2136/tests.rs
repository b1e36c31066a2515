use super::*;

#[test]
fn bind_key_files_as_tsig_keygen_writes_them() {
    let text = "key \"acme-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n";
    assert_eq!(
        key_file(text),
        Some((
            "acme-key".to_string(),
            "hmac-sha256".to_string(),
            "c2VjcmV0".to_string()
        ))
    );
    assert_eq!(key_file("key \"k\" { algorithm hmac-sha1; };"), None);
    assert_eq!(key_file("garbage"), None);
    assert_eq!(key_file(""), None);
}

#[test]
fn the_key_file_gives_name_algorithm_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.key");
    let out = std::process::Command::new("tsig-keygen")
        .args(["-a", "hmac-sha512", "file-key"])
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap(),
        // Without bind9-utils: the same shape by hand.
        _ => "key \"file-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0\";\n};\n".into(),
    };
    std::fs::write(&path, text).unwrap();
    let vars = [
        ("RFC2136_NAMESERVER", "127.0.0.1:5353".to_string()),
        ("RFC2136_TSIG_FILE", path.display().to_string()),
    ];
    let lookup = move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let p = Rfc2136::from_env(&Env::new(&lookup)).unwrap();
    let key = p.key.unwrap();
    assert_eq!(key.name, "file-key");
    assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
    assert!(!key.secret.is_empty());
}

/// A fake primary on 127.0.0.1: SOA queries are answered with an SOA for the asked name; an
/// update is answered NOERROR, signed with the key over the update's MAC, the MAC's last byte
/// flipped when `forge`. Returns its address.
async fn fake_primary(key: TsigKey, forge: bool) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        // Bounded: the test sends a handful of messages.
        for _ in 0..32 {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let request = &buf[..n];
            let opcode = (request[2] >> 3) & 0x0f;
            let mut answer;
            if opcode == 5 {
                let mac = wire::parse(request).unwrap().tsig.unwrap().mac;
                answer = request[..2].to_vec();
                answer.extend([0xa8, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                wire::sign_answer(&mut answer, &key, now, &mac).unwrap();
                if forge {
                    let at = answer.len() - 7;
                    answer[at] ^= 1;
                }
            } else {
                answer = request.to_vec();
                answer[2] = 0x84;
                answer[3] = 0x00;
                answer[6..8].copy_from_slice(&[0, 1]);
                answer[10..12].copy_from_slice(&[0, 0]);
                // SOA owned by the question's name (pointer to offset 12), empty names, 5 numbers.
                answer.extend([0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 22, 0, 0]);
                answer.extend([0u8; 20]);
            }
            let _ = socket.send_to(&answer, from).await;
        }
    });
    addr
}

fn provider(server: SocketAddr) -> Rfc2136 {
    let vars = std::collections::HashMap::from([
        ("RFC2136_NAMESERVER".to_string(), server.to_string()),
        ("RFC2136_TSIG_KEY".to_string(), "acme-key.".to_string()),
        (
            "RFC2136_TSIG_ALGORITHM".to_string(),
            "hmac-sha256.".to_string(),
        ),
        (
            "RFC2136_TSIG_SECRET".to_string(),
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ),
        ("RFC2136_DNS_TIMEOUT".to_string(), "2".to_string()),
    ]);
    let lookup = move |k: &str| vars.get(k).cloned();
    Rfc2136::from_env(&Env::new(&lookup)).unwrap()
}

#[tokio::test]
async fn an_update_answer_whose_tsig_mac_does_not_verify_is_an_error() {
    let key = TsigKey {
        name: "acme-key".into(),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: vec![7; 32],
    };
    let record = TxtRecord::new("example.test", "t", "k", "value");

    let honest = provider(fake_primary(key.clone(), false).await);
    honest.change(&record, Change::Add(60)).await.unwrap();

    let forged = provider(fake_primary(key.clone(), true).await);
    let error = forged.change(&record, Change::Add(60)).await.unwrap_err();
    assert!(
        matches!(
            &error,
            ProviderError::Unverified {
                reason: wire::TsigCheck::BadMac,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("acme-key"), "{error}");

    // Signed with another secret: not trusted either.
    let other = TsigKey {
        secret: vec![9; 32],
        ..key
    };
    let wrong = provider(fake_primary(other, false).await);
    assert!(wrong.change(&record, Change::Add(60)).await.is_err());
}
