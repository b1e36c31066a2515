//! `TLSClientSubject`: a client certificate's subject as Go prints it (`pkix.Name.String()`,
//! what Traefik writes): the attributes Go names (`C`, `ST`, `L`, `STREET`, `POSTALCODE`, `O`,
//! `OU`, `CN`, `SERIALNUMBER`) regrouped as `Name.ToRDNSequence` does (every value of a
//! multi-valued attribute in one RDN joined by `+`, the last `CN` and `SERIALNUMBER` only),
//! after the others (`OID=#<DER hex>`, the value re-encoded as Go's `asn1.Marshal` does), the
//! whole sequence printed last RDN first, joined by `,`, values escaped as RFC 2253 asks.
//! Values are decoded as Go's x509 parser does (T61String as Latin-1, BMPString as UTF-16);
//! an attribute whose value is no string type (Go refuses such a certificate) is left out.
//! Run by the writer thread, never on the request path.

use std::fmt::Write as _;

use x509_parser::der_parser::asn1_rs::Tag;

/// The attributes Go parses into `pkix.Name` fields, in `ToRDNSequence`'s order, with the
/// name `RDNSequence.String` prints. The last of `OID_ARC` (2.5.4.x).
const NAMED: [(u64, &str); 9] = [
    (6, "C"),
    (8, "ST"),
    (7, "L"),
    (9, "STREET"),
    (17, "POSTALCODE"),
    (10, "O"),
    (11, "OU"),
    (3, "CN"),
    (5, "SERIALNUMBER"),
];

/// The leaf certificate's subject as Go's `pkix.Name.String()`; `None` when it does not parse.
pub(super) fn go_subject(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(name_string(cert.subject()))
}

/// One attribute: its Go name when Go names it (else its dotted OID) and its decoded value.
struct Attr {
    arc: Option<u64>,
    oid: String,
    value: String,
}

fn name_string(name: &x509_parser::x509::X509Name<'_>) -> String {
    let attrs: Vec<Attr> = name
        .iter_attributes()
        .filter_map(|atv| {
            let value = decode(atv.attr_value().tag(), atv.attr_value().as_bytes())?;
            let oid = atv.attr_type();
            let arcs: Option<Vec<u64>> = oid.iter().map(Iterator::collect);
            let arc = match arcs.as_deref() {
                Some([2, 5, 4, last]) if NAMED.iter().any(|(a, _)| a == last) => Some(*last),
                _ => None,
            };
            Some(Attr {
                arc,
                oid: oid.to_id_string(),
                value,
            })
        })
        .collect();
    // The sequence Go prints from its end: the other attributes first (one RDN each), then
    // the named ones in `ToRDNSequence`'s order.
    let mut rdns: Vec<Vec<String>> = attrs
        .iter()
        .filter(|a| a.arc.is_none())
        .map(|a| vec![format!("{}=#{}", a.oid, hex(&go_marshal_string(&a.value)))])
        .collect();
    for (arc, label) in NAMED {
        let values: Vec<&str> = attrs
            .iter()
            .filter(|a| a.arc == Some(arc))
            .map(|a| a.value.as_str())
            .collect();
        let values = match arc {
            // A single string in `pkix.Name`: the last one, and only when not empty.
            3 | 5 => match values.last() {
                Some(last) if !last.is_empty() => vec![*last],
                _ => continue,
            },
            _ if values.is_empty() => continue,
            _ => values,
        };
        rdns.push(
            values
                .into_iter()
                .map(|v| format!("{label}={}", escape(v)))
                .collect(),
        );
    }
    rdns.iter()
        .rev()
        .map(|rdn| rdn.join("+"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A value as Go's x509 parser decodes it (`parseASN1String`); `None` for what it refuses.
fn decode(tag: Tag, bytes: &[u8]) -> Option<String> {
    match tag {
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::NumericString => {
            std::str::from_utf8(bytes).ok().map(str::to_string)
        }
        // Go reads T.61 as Latin-1.
        Tag::T61String => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let bytes = bytes.strip_suffix(&[0, 0]).unwrap_or(bytes);
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// `RDNSequence.String`'s escaping: `,+"\<>;` always, a space first or last, a `#` first.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.len().saturating_sub(1);
    for (i, c) in value.char_indices() {
        let escaped = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => i == 0 || i == last,
            '#' => i == 0,
            _ => false,
        };
        if escaped {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's `asn1.Marshal` of a string: a PrintableString when every byte is printable (`*` and
/// `&` are not), else a UTF8String.
fn go_marshal_string(value: &str) -> Vec<u8> {
    let printable = value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || (b'\''..=b')').contains(&b)
            || (b'+'..=b'/').contains(&b)
            || matches!(b, b' ' | b':' | b'=' | b'?')
    });
    let mut out = vec![if printable { 0x13 } else { 0x0c }];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value.as_bytes());
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    /// DER of a `Name`: RDNs of (OID arcs, string tag, value).
    fn name_der(rdns: &[&[(&[u64], u8, &str)]]) -> Vec<u8> {
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            assert!(body.len() < 0x100);
            let mut out = match body.len() {
                n if n < 0x80 => vec![tag, n as u8],
                n => vec![tag, 0x81, n as u8],
            };
            out.extend_from_slice(body);
            out
        }
        fn oid(arcs: &[u64]) -> Vec<u8> {
            let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
            for &arc in &arcs[2..] {
                let mut groups = vec![(arc & 0x7f) as u8];
                let mut rest = arc >> 7;
                while rest > 0 {
                    groups.push(0x80 | (rest & 0x7f) as u8);
                    rest >>= 7;
                }
                body.extend(groups.iter().rev());
            }
            tlv(0x06, &body)
        }
        let mut seq = Vec::new();
        for rdn in rdns {
            let mut set = Vec::new();
            for (arcs, tag, value) in *rdn {
                let mut atv = oid(arcs);
                atv.extend(tlv(*tag, value.as_bytes()));
                set.extend(tlv(0x30, &atv));
            }
            seq.extend(tlv(0x31, &set));
        }
        tlv(0x30, &seq)
    }

    #[test]
    fn names_are_regrouped_and_ordered_as_go() {
        const C: &[u64] = &[2, 5, 4, 6];
        const O: &[u64] = &[2, 5, 4, 10];
        const OU: &[u64] = &[2, 5, 4, 11];
        const CN: &[u64] = &[2, 5, 4, 3];
        const EMAIL: &[u64] = &[1, 2, 840, 113549, 1, 9, 1];
        const DC: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 25];
        let der = name_der(&[
            &[(DC, 0x16, "example")],
            &[(C, 0x13, "FR")],
            &[(O, 0x0c, "Acme, Inc.")],
            &[(OU, 0x0c, "ops")],
            &[(OU, 0x0c, "edge")],
            &[(CN, 0x0c, "first")],
            // A multi-valued RDN: flattened, as Go's `FillFromRDNSequence`.
            &[(CN, 0x0c, " client one "), (EMAIL, 0x16, "a@b.c")],
        ]);
        let (_, name) = x509_parser::x509::X509Name::from_der(&der).unwrap();
        assert_eq!(
            name_string(&name),
            "CN=\\ client one\\ ,OU=ops+OU=edge,O=Acme\\, Inc.,C=FR,\
             1.2.840.113549.1.9.1=#0c056140622e63,0.9.2342.19200300.100.1.25=#13076578616d706c65"
        );
    }

    #[test]
    fn values_are_escaped_and_strings_marshalled_as_go() {
        assert_eq!(escape(r#"a,b+c"d\e<f>g;h"#), r#"a\,b\+c\"d\\e\<f\>g\;h"#);
        assert_eq!(escape(" x y "), r"\ x y\ ");
        assert_eq!(escape("#a#"), r"\#a#");
        assert_eq!(escape(""), "");
        assert_eq!(hex(&go_marshal_string("ab")), "13026162");
        // `@`, `*`, `&` and non-ASCII are not printable: UTF8String.
        assert_eq!(hex(&go_marshal_string("a@b")), "0c03614062");
        assert_eq!(hex(&go_marshal_string("*")), "0c012a");
        assert_eq!(hex(&go_marshal_string("é")), "0c02c3a9");
        let long = go_marshal_string(&"a".repeat(200));
        assert_eq!(&long[..3], &[0x13, 0x81, 200]);
        assert_eq!(
            decode(Tag::BmpString, &[0, b'h', 0, b'i', 0, 0]),
            Some("hi".into())
        );
        assert_eq!(decode(Tag::T61String, &[0xe9]), Some("é".into()));
        assert_eq!(decode(Tag::OctetString, b"x"), None);
    }
}
