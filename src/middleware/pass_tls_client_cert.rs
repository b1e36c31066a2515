//! `passTLSClientCert`: the client certificates of a mutual-TLS connection passed to the upstream
//! in Traefik's headers and encoding (Traefik's `pkg/middlewares/passtlsclientcert`).
//!
//! - `pem: true` sets `X-Forwarded-Tls-Client-Cert` to each certificate the client sent (leaf
//!   first) as base64 DER, i.e. the PEM without its armour and line breaks, joined by `,`.
//! - `info` sets `X-Forwarded-Tls-Client-Cert-Info` to, per certificate (joined by `,`), the
//!   fields asked for joined by `;`: `Subject="…"`, `Issuer="…"`, `SerialNumber="…"` (decimal),
//!   `NB="…"`, `NA="…"` (Unix seconds), `SAN="…"` (DNS names, e-mail addresses, IP addresses,
//!   URIs, in that order, joined by `,`); subject and issuer are `DC=`, `C=`, `ST=`, `L=`, `O=`,
//!   `OU=` (subject only), `SN=`, `CN=` parts joined by `,` (every value of the multi-valued
//!   attributes, the last one of `CN` and `SN`, as Go's `pkix.Name`). The whole value is
//!   query-escaped as Go's `url.QueryEscape` does.
//!
//! Without a client certificate the headers are not set (the entrypoint already removed any the
//! client sent, as Traefik's forwarded-headers handling does). Pure.

use std::fmt::Write as _;

use http::{HeaderName, HeaderValue};
use rustls::pki_types::CertificateDer;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

use super::config::{PassTlsClientCertConfig, TlsClientCertInfoConfig};
use super::{Flow, RequestContext};

pub static X_FORWARDED_TLS_CLIENT_CERT: HeaderName =
    HeaderName::from_static("x-forwarded-tls-client-cert");
pub static X_FORWARDED_TLS_CLIENT_CERT_INFO: HeaderName =
    HeaderName::from_static("x-forwarded-tls-client-cert-info");

/// Which parts of a distinguished name go into the info header.
#[derive(Debug, Clone, Copy, Default)]
struct DnParts {
    dc: bool,
    c: bool,
    st: bool,
    l: bool,
    o: bool,
    ou: bool,
    sn: bool,
    cn: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Info {
    subject: Option<DnParts>,
    issuer: Option<DnParts>,
    serial: bool,
    not_before: bool,
    not_after: bool,
    sans: bool,
}

impl Info {
    fn compile(cfg: &TlsClientCertInfoConfig) -> Self {
        Info {
            subject: cfg.subject.as_ref().map(|s| DnParts {
                dc: s.domain_component,
                c: s.country,
                st: s.province,
                l: s.locality,
                o: s.organization,
                ou: s.organizational_unit,
                sn: s.serial_number,
                cn: s.common_name,
            }),
            issuer: cfg.issuer.as_ref().map(|s| DnParts {
                dc: s.domain_component,
                c: s.country,
                st: s.province,
                l: s.locality,
                o: s.organization,
                ou: false,
                sn: s.serial_number,
                cn: s.common_name,
            }),
            serial: cfg.serial_number,
            not_before: cfg.not_before,
            not_after: cfg.not_after,
            sans: cfg.sans,
        }
    }
}

/// Compiled `passTLSClientCert`.
#[derive(Debug)]
pub struct PassTlsClientCert {
    pem: bool,
    info: Option<Info>,
}

impl PassTlsClientCert {
    pub fn compile(cfg: &PassTlsClientCertConfig) -> Self {
        PassTlsClientCert {
            pem: cfg.pem,
            info: cfg.info.as_ref().map(Info::compile),
        }
    }

    pub fn on_request(&self, req: &mut http::request::Parts, ctx: &RequestContext<'_>) -> Flow {
        let certs = match ctx.client_certs {
            Some(certs) if !certs.is_empty() => certs,
            _ => return Flow::Continue,
        };
        if self.pem {
            if let Ok(value) = HeaderValue::from_str(&pem_header(certs)) {
                req.headers
                    .insert(X_FORWARDED_TLS_CLIENT_CERT.clone(), value);
            }
        }
        if let Some(info) = &self.info {
            let escaped = query_escape(&info_header(info, certs));
            if let Ok(value) = HeaderValue::from_str(&escaped) {
                req.headers
                    .insert(X_FORWARDED_TLS_CLIENT_CERT_INFO.clone(), value);
            }
        }
        Flow::Continue
    }
}

/// `X-Forwarded-Tls-Client-Cert`: each certificate's DER in standard base64, joined by `,`.
fn pem_header(certs: &[CertificateDer<'static>]) -> String {
    use base64::Engine as _;
    let encoded: Vec<String> = certs
        .iter()
        .map(|c| base64::engine::general_purpose::STANDARD.encode(c.as_ref()))
        .collect();
    encoded.join(",")
}

/// `X-Forwarded-Tls-Client-Cert-Info` before escaping. A certificate that does not parse
/// contributes an empty entry (Go would not have accepted it in the handshake).
fn info_header(info: &Info, certs: &[CertificateDer<'static>]) -> String {
    let entries: Vec<String> = certs
        .iter()
        .map(
            |der| match x509_parser::parse_x509_certificate(der.as_ref()) {
                Ok((_, cert)) => cert_info(info, &cert),
                Err(_) => String::new(),
            },
        )
        .collect();
    entries.join(",")
}

fn cert_info(info: &Info, cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    let mut fields: Vec<String> = Vec::new();
    if let Some(parts) = &info.subject {
        let dn = dn_string(parts, cert.subject());
        if !dn.is_empty() {
            fields.push(format!("Subject=\"{dn}\""));
        }
    }
    if let Some(parts) = &info.issuer {
        let dn = dn_string(parts, cert.issuer());
        if !dn.is_empty() {
            fields.push(format!("Issuer=\"{dn}\""));
        }
    }
    if info.serial {
        fields.push(format!("SerialNumber=\"{}\"", cert.serial));
    }
    // Go: `uint64(t.Unix())`, so a date before 1970 wraps the same way.
    if info.not_before {
        let nb = cert.validity().not_before.timestamp() as u64;
        fields.push(format!("NB=\"{nb}\""));
    }
    if info.not_after {
        let na = cert.validity().not_after.timestamp() as u64;
        fields.push(format!("NA=\"{na}\""));
    }
    if info.sans {
        let sans = sans(cert);
        if !sans.is_empty() {
            fields.push(format!("SAN=\"{}\"", sans.join(",")));
        }
    }
    fields.join(";")
}

/// An attribute value as Go's `asn1` reads it into a string; `None` for non-string values
/// (Go's `pkix.Name` skips those).
fn attr_string(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::T61String => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

const OID_DC: &str = "0.9.2342.19200300.100.1.25";

/// The distinguished name parts in Traefik's order: DC (in certificate order), C, ST, L, O,
/// OU, SN, CN; every part followed by `,`, the last `,` trimmed.
fn dn_string(parts: &DnParts, name: &X509Name<'_>) -> String {
    let mut dc = Vec::new();
    let (mut c, mut st, mut l, mut o, mut ou) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut sn, mut cn) = (None, None);
    for atv in name.iter().flat_map(|rdn| rdn.iter()) {
        let value = atv.attr_value();
        let Some(text) = attr_string(value.header.tag(), value.data) else {
            continue;
        };
        match atv.attr_type().to_id_string().as_str() {
            OID_DC => dc.push(text),
            "2.5.4.6" => c.push(text),
            "2.5.4.8" => st.push(text),
            "2.5.4.7" => l.push(text),
            "2.5.4.10" => o.push(text),
            "2.5.4.11" => ou.push(text),
            "2.5.4.5" => sn = Some(text),
            "2.5.4.3" => cn = Some(text),
            _ => {}
        }
    }
    let mut out = String::new();
    // Go writes a domain component even when empty (`fmt.Fprintf`), the others only when not.
    if parts.dc {
        for v in &dc {
            let _ = write!(out, "DC={v},");
        }
    }
    let mut push = |prefix: &str, values: &[String], on: bool| {
        if on {
            for v in values.iter().filter(|v| !v.is_empty()) {
                let _ = write!(out, "{prefix}={v},");
            }
        }
    };
    push("C", &c, parts.c);
    push("ST", &st, parts.st);
    push("L", &l, parts.l);
    push("O", &o, parts.o);
    push("OU", &ou, parts.ou);
    push("SN", sn.as_slice(), parts.sn);
    push("CN", cn.as_slice(), parts.cn);
    out.strip_suffix(',').map(str::to_owned).unwrap_or(out)
}

/// The subject alternative names as Go lists them: DNS names, e-mail addresses, IP addresses
/// (an IPv4-mapped IPv6 address printed as IPv4, as Go's `net.IP`), URIs.
fn sans(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let names = &ext.value.general_names;
    let mut dns = Vec::new();
    let mut email = Vec::new();
    let mut ips = Vec::new();
    let mut uris = Vec::new();
    for name in names {
        match name {
            GeneralName::DNSName(d) => dns.push((*d).to_owned()),
            GeneralName::RFC822Name(e) => email.push((*e).to_owned()),
            GeneralName::IPAddress(bytes) => {
                if let Some(ip) = ip_string(bytes) {
                    ips.push(ip);
                }
            }
            GeneralName::URI(u) => uris.push((*u).to_owned()),
            _ => {}
        }
    }
    dns.into_iter()
        .chain(email)
        .chain(ips)
        .chain(uris)
        .collect()
}

fn ip_string(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(std::net::Ipv4Addr::from(v4).to_string());
    }
    let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    })
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` kept, space as `+`, every other byte
/// `%XX` (upper-case hex).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
