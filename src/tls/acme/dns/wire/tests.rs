use super::*;

#[test]
fn hmac_md5_matches_rfc_2202() {
    // RFC 2202 test case 2.
    let mac = hmac_md5(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "750c783e6ab0b503eaa86e310a5db738");
}

#[test]
fn algorithms_read_with_or_without_the_final_dot() {
    assert_eq!(
        TsigAlgorithm::parse("hmac-sha256."),
        Some(TsigAlgorithm::HmacSha256)
    );
    assert_eq!(
        TsigAlgorithm::parse("HMAC-SHA512"),
        Some(TsigAlgorithm::HmacSha512)
    );
    assert_eq!(
        TsigAlgorithm::parse("hmac-md5.sig-alg.reg.int."),
        Some(TsigAlgorithm::HmacMd5)
    );
    assert_eq!(TsigAlgorithm::parse("hmac-sha224"), None);
}

#[test]
fn query_is_encoded_with_lowercase_labels() {
    let q = query(0x1234, "Example.TEST.", TYPE_SOA, true).unwrap();
    assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
    assert_eq!(&q[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&q[12..], b"\x07example\x04test\x00\x00\x06\x00\x01");
    assert!(matches!(
        query(1, "a..b", TYPE_TXT, false),
        Err(WireError::Name(_))
    ));
}

#[test]
fn long_txt_values_are_split_in_255_byte_strings() {
    let value = "x".repeat(300);
    let rdata = txt_rdata(&value);
    assert_eq!(rdata[0], 255);
    assert_eq!(rdata[256], 45);
    assert_eq!(rdata.len(), 302);
}

#[test]
fn update_adds_and_deletes_one_txt_record_and_is_signed() {
    let key = TsigKey {
        name: "acme-key".into(),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: vec![7; 32],
    };
    let mut add = update(
        9,
        "example.test",
        "_acme-challenge.example.test",
        "v",
        Change::Add(120),
    )
    .unwrap();
    assert_eq!(&add[2..4], &[0x28, 0x00], "opcode UPDATE");
    let unsigned = add.clone();
    let mac = sign(&mut add, &key, 1_700_000_000).unwrap();
    assert_eq!(mac.len(), 32);
    assert_eq!(&add[..10], &unsigned[..10]);
    assert_eq!(&add[10..12], &[0, 1], "TSIG counted in ARCOUNT");
    assert!(add.len() > unsigned.len() + 32);
    // The same message signed one second later carries another MAC.
    let mut again = unsigned.clone();
    assert_ne!(sign(&mut again, &key, 1_700_000_001).unwrap(), mac);
    let del = update(
        9,
        "example.test",
        "_acme-challenge.example.test",
        "v",
        Change::Delete,
    )
    .unwrap();
    // class NONE, TTL 0 in the update section.
    let tail = &del[del.len() - 2 - 2 - 4 - 2..];
    assert_eq!(&tail[..2], &[0, 254]);
}

/// An answer with a compressed name, TXT, NS and A records.
fn sample_answer() -> Vec<u8> {
    let mut m = Vec::new();
    header(&mut m, 7, 0x8400, [1, 3, 1, 0]);
    put_name(&mut m, "_acme-challenge.example.test").unwrap(); // at offset 12
    m.extend(TYPE_TXT.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    // TXT, name = pointer to 12
    m.extend([0xc0, 12]);
    m.extend(TYPE_TXT.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    m.extend(60u32.to_be_bytes());
    m.extend(6u16.to_be_bytes());
    m.extend(b"\x02ab\x02cd");
    // NS example.test (pointer to the "example" label at 12 + 16) → ns.<ptr>
    m.extend([0xc0, 28]);
    m.extend(TYPE_NS.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    m.extend(60u32.to_be_bytes());
    m.extend(5u16.to_be_bytes());
    m.extend(b"\x02ns\xc0\x1c");
    // A
    m.extend([0xc0, 28]);
    m.extend(TYPE_A.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    m.extend(60u32.to_be_bytes());
    m.extend(4u16.to_be_bytes());
    m.extend([127, 0, 0, 1]);
    // authority SOA
    m.extend([0xc0, 28]);
    m.extend(TYPE_SOA.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    m.extend(60u32.to_be_bytes());
    m.extend(5u16.to_be_bytes());
    m.extend(b"\x02ns\xc0\x1c");
    m
}

#[test]
fn answers_are_parsed_with_compressed_names() {
    let msg = parse(&sample_answer()).unwrap();
    assert_eq!(msg.id, 7);
    assert_eq!(msg.rcode, 0);
    assert!(!msg.truncated);
    assert_eq!(
        msg.answers,
        vec![
            Record {
                name: "_acme-challenge.example.test".into(),
                rtype: TYPE_TXT,
                data: RData::Txt("abcd".into())
            },
            Record {
                name: "example.test".into(),
                rtype: TYPE_NS,
                data: RData::Name("ns.example.test".into())
            },
            Record {
                name: "example.test".into(),
                rtype: TYPE_A,
                data: RData::Addr("127.0.0.1".parse().unwrap())
            },
        ]
    );
    assert_eq!(msg.authority[0].rtype, TYPE_SOA);
}

#[test]
fn malformed_answers_are_errors_never_panics() {
    let full = sample_answer();
    for len in 0..full.len() {
        let _ = parse(&full[..len]);
    }
    assert!(parse(&full[..20]).is_err());
    // A pointer to itself.
    let mut looped = Vec::new();
    header(&mut looped, 1, 0x8000, [1, 0, 0, 0]);
    looped.extend([0xc0, 12, 0, 16, 0, 1]);
    assert_eq!(
        parse(&looped).unwrap_err(),
        WireError::Malformed("name compression loop")
    );
    // Every single-byte corruption of a valid answer.
    for i in 0..full.len() {
        for b in [0u8, 0x3f, 0xc0, 0xff] {
            let mut m = full.clone();
            m[i] = b;
            let _ = parse(&m);
        }
    }
}

/// A signed update and the server's NOERROR answer to it, signed with `server_key` at `at`.
fn signed_exchange(server_key: &TsigKey, at: u64) -> (TsigKey, Vec<u8>, Vec<u8>) {
    let key = TsigKey {
        name: "Acme-Key.".into(),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: vec![7; 32],
    };
    let mut request = update(
        0x1234,
        "example.test",
        "_acme-challenge.example.test",
        "v",
        Change::Add(120),
    )
    .unwrap();
    let request_mac = sign(&mut request, &key, 1_700_000_000).unwrap();
    let mut answer = Vec::new();
    header(&mut answer, 0x1234, 0xa800, [1, 0, 0, 0]);
    put_name(&mut answer, "example.test").unwrap();
    answer.extend([0, 6, 0, 1]);
    sign_answer(&mut answer, server_key, at, &request_mac).unwrap();
    (key, request_mac, answer)
}

#[test]
fn an_answer_signed_by_the_key_over_the_request_mac_verifies() {
    let server_key = TsigKey {
        name: "acme-key".into(),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: vec![7; 32],
    };
    let (key, mac, answer) = signed_exchange(&server_key, 1_700_000_010);
    let parsed = parse(&answer).unwrap();
    assert_eq!(parsed.tsig_error, Some(0));
    assert_eq!(verify(&parsed, &key, &mac, 1_700_000_020), Ok(()));
    // Outside the fudge (300 s) of our clock.
    assert!(matches!(
        verify(&parsed, &key, &mac, 1_700_000_400),
        Err(TsigCheck::BadTime { skew: 390, .. })
    ));
    // Not an answer to this request (another request MAC).
    assert_eq!(
        verify(&parsed, &key, &[0; 32], 1_700_000_020),
        Err(TsigCheck::BadMac)
    );
}

#[test]
fn an_answer_with_a_bad_mac_forged_body_other_key_or_none_is_refused() {
    let server_key = TsigKey {
        name: "acme-key".into(),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: vec![7; 32],
    };
    let (key, mac, answer) = signed_exchange(&server_key, 1_700_000_010);
    let now = 1_700_000_010;
    // One bit of the MAC flipped (the MAC is the 32 bytes before original id, error, other len).
    let mut bad_mac = answer.clone();
    let at = bad_mac.len() - 6 - 1;
    bad_mac[at] ^= 1;
    assert_eq!(
        verify(&parse(&bad_mac).unwrap(), &key, &mac, now),
        Err(TsigCheck::BadMac)
    );
    // The rcode changed from NOERROR to REFUSED by someone on the path.
    let mut forged = answer.clone();
    forged[3] |= 5;
    assert_eq!(
        verify(&parse(&forged).unwrap(), &key, &mac, now),
        Err(TsigCheck::BadMac)
    );
    // Signed with another secret under the same name.
    let wrong = TsigKey {
        secret: vec![8; 32],
        ..server_key.clone()
    };
    let (_, mac2, by_wrong) = signed_exchange(&wrong, now);
    assert_eq!(
        verify(&parse(&by_wrong).unwrap(), &key, &mac2, now),
        Err(TsigCheck::BadMac)
    );
    let other = TsigKey {
        name: "other".into(),
        ..server_key.clone()
    };
    let (_, mac3, by_other) = signed_exchange(&other, now);
    assert_eq!(
        verify(&parse(&by_other).unwrap(), &key, &mac3, now),
        Err(TsigCheck::OtherKey("other".into()))
    );
    let sha1 = TsigKey {
        algorithm: TsigAlgorithm::HmacSha1,
        ..server_key.clone()
    };
    let (_, mac4, by_sha1) = signed_exchange(&sha1, now);
    assert_eq!(
        verify(&parse(&by_sha1).unwrap(), &key, &mac4, now),
        Err(TsigCheck::OtherAlgorithm("hmac-sha1".into()))
    );
    // The TSIG record stripped: unsigned.
    let mut stripped = Vec::new();
    header(&mut stripped, 0x1234, 0xa800, [1, 0, 0, 0]);
    put_name(&mut stripped, "example.test").unwrap();
    stripped.extend([0, 6, 0, 1]);
    assert_eq!(
        verify(&parse(&stripped).unwrap(), &key, &mac, now),
        Err(TsigCheck::Unsigned)
    );
}
