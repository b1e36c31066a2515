use super::*;

fn v2(cmd: u8, family: u8, body: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.push(0x20 | cmd);
    out.push(family);
    out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn parses_v1() {
    let cases: &[(&[u8], Result<Parsed, ProxyProtocolError>)] = &[
        (
            b"PROXY TCP4 203.0.113.7 10.0.0.1 51000 80\r\nGET /",
            Ok(Parsed::Header {
                len: 42,
                source: Some("203.0.113.7:51000".parse().unwrap()),
            }),
        ),
        (
            b"PROXY TCP6 2001:db8::1 2001:db8::2 443 8443\r\n",
            Ok(Parsed::Header {
                len: 45,
                source: Some("[2001:db8::1]:443".parse().unwrap()),
            }),
        ),
        (
            b"PROXY UNKNOWN\r\n",
            Ok(Parsed::Header {
                len: 15,
                source: None,
            }),
        ),
        (b"PROXY TCP4 1.2.3.4", Ok(Parsed::Incomplete)),
        (b"PRO", Ok(Parsed::Incomplete)),
        (b"GET / HTTP/1.1\r\n", Ok(Parsed::Absent)),
        (b"\x16\x03\x01\x02\x00", Ok(Parsed::Absent)),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n",
            Err(ProxyProtocolError::MalformedV1),
        ),
        (
            b"PROXY TCP4 2001:db8::1 5.6.7.8 1 80\r\n",
            Err(ProxyProtocolError::MalformedV1),
        ),
        (
            b"PROXY TCP4 1.2.3.4\r\n",
            Err(ProxyProtocolError::MalformedV1),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(&parse(input), want, "{:?}", String::from_utf8_lossy(input));
    }
    let long = [b"PROXY ".as_slice(), &[b'x'; 120]].concat();
    assert_eq!(
        parse(&long),
        Err(ProxyProtocolError::TooLong { max: V1_MAX })
    );
}

#[test]
fn parses_v2() {
    let mut tcp4 = vec![203, 0, 113, 7, 10, 0, 0, 1];
    tcp4.extend_from_slice(&51000u16.to_be_bytes());
    tcp4.extend_from_slice(&80u16.to_be_bytes());
    let header = v2(1, 0x11, &tcp4);
    assert_eq!(
        parse(&header).unwrap(),
        Parsed::Header {
            len: 28,
            source: Some("203.0.113.7:51000".parse().unwrap())
        }
    );
    assert_eq!(parse(&header[..20]).unwrap(), Parsed::Incomplete);
    assert_eq!(parse(&header[..8]).unwrap(), Parsed::Incomplete);

    let mut tcp6 = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets().to_vec();
    tcp6.extend_from_slice(&[0; 16]);
    tcp6.extend_from_slice(&443u16.to_be_bytes());
    tcp6.extend_from_slice(&8443u16.to_be_bytes());
    assert_eq!(
        parse(&v2(1, 0x21, &tcp6)).unwrap(),
        Parsed::Header {
            len: 52,
            source: Some("[2001:db8::1]:443".parse().unwrap())
        }
    );
    // LOCAL (the balancer's own health check) and unknown families keep the TCP peer.
    assert_eq!(
        parse(&v2(0, 0x00, &[])).unwrap(),
        Parsed::Header {
            len: 16,
            source: None
        }
    );
    assert_eq!(
        parse(&v2(1, 0x31, &[0; 216])).unwrap(),
        Parsed::Header {
            len: 232,
            source: None
        }
    );
    assert_eq!(
        parse(&v2(1, 0x11, &[1, 2, 3])),
        Err(ProxyProtocolError::MalformedV2)
    );
    assert_eq!(
        parse(&v2(7, 0x11, &tcp4)),
        Err(ProxyProtocolError::MalformedV2)
    );
    assert_eq!(
        parse(&v2(1, 0x11, &[0; 2000])),
        Err(ProxyProtocolError::TooLong { max: V2_MAX })
    );
}

#[test]
fn trust() {
    let policy = ProxyProtocolPolicy {
        insecure: false,
        trusted: vec!["10.0.0.0/8".parse().unwrap()],
    };
    assert!(policy.trusts("10.1.2.3".parse().unwrap()));
    assert!(!policy.trusts("192.168.1.1".parse().unwrap()));
    let insecure = ProxyProtocolPolicy {
        insecure: true,
        trusted: vec![],
    };
    assert!(insecure.trusts("192.168.1.1".parse().unwrap()));
}
