//! Certificate material: PEM parsing into rustls `CertifiedKey`s, the names and expiry a
//! certificate covers (read from its X.509 data), and the generated self-signed default.
//! Pure apart from `load_pair`, which reads two files.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Why certificate material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("no certificate found in {what}")]
    NoCertificate { what: String },
    #[error("no usable private key found in {what}")]
    NoKey { what: String },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

/// A certificate chain with its key, plus the facts the store and the renewal loop need.
#[derive(Clone)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// Lowercase DNS names (SANs, else the CN), wildcards as `*.example.com`, and IP addresses.
    pub names: Vec<String>,
    pub not_after: SystemTime,
    /// The leaf's subject CN, serial number (decimal) and DNS SANs (comma-separated), as
    /// Traefik labels `traefik_tls_certs_not_after`.
    pub labels: CertLabels,
}

/// The labels of a certificate in `traefik_tls_certs_not_after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertLabels {
    pub cn: String,
    pub serial: String,
    pub sans: String,
    /// The issuer's CN (its whole name when it has none), for the dashboard.
    pub issuer: String,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("names", &self.names)
            .field("not_after", &self.not_after)
            .finish()
    }
}

impl Loaded {
    /// Time left before expiry (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.not_after.duration_since(now).unwrap_or_default()
    }
}

/// Parses a PEM chain and a PEM private key; `what` names the source in errors.
pub fn parse_pair(cert_pem: &[u8], key_pem: &[u8], what: &str) -> Result<Loaded, CertError> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|e| CertError::Invalid {
            what: what.to_string(),
            message: e.to_string(),
        })?;
    let Some(leaf) = chain.first() else {
        return Err(CertError::NoCertificate {
            what: what.to_string(),
        });
    };
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| CertError::Invalid {
            what: what.to_string(),
            message: e.to_string(),
        })?
        .ok_or_else(|| CertError::NoKey {
            what: what.to_string(),
        })?;
    let (names, not_after, labels) = leaf_facts(leaf, what)?;
    let signing = any_supported_type(&key).map_err(|e| CertError::Invalid {
        what: what.to_string(),
        message: e.to_string(),
    })?;
    Ok(Loaded {
        key: Arc::new(CertifiedKey::new(chain, signing)),
        names,
        not_after,
        labels,
    })
}

/// Reads and parses a certificate file and its key file.
pub fn load_pair(cert_file: &str, key_file: &str) -> Result<Loaded, CertError> {
    let read = |path: &str| {
        std::fs::read(path).map_err(|source| CertError::Read {
            path: path.to_string(),
            source,
        })
    };
    parse_pair(&read(cert_file)?, &read(key_file)?, cert_file)
}

fn leaf_facts(
    leaf: &CertificateDer<'_>,
    what: &str,
) -> Result<(Vec<String>, SystemTime, CertLabels), CertError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| CertError::Invalid {
            what: what.to_string(),
            message: e.to_string(),
        })?;
    let mut names = Vec::new();
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    dns_names.push(dns.to_string());
                    names.push(dns.to_ascii_lowercase())
                }
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(cn) = cn.as_str() {
                names.push(cn.to_ascii_lowercase());
            }
        }
    }
    let labels = CertLabels {
        cn: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or("")
            .to_string(),
        serial: cert.serial.to_string(),
        sans: dns_names.join(","),
        issuer: cert
            .issuer()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map_or_else(|| cert.issuer().to_string(), str::to_string),
    };
    let secs = cert.validity().not_after.timestamp();
    let not_after = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    Ok((names, not_after, labels))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// A fresh self-signed certificate, as Traefik's `TRAEFIK DEFAULT CERT`.
pub fn self_signed(names: &[String], common_name: &str) -> Result<Loaded, CertError> {
    let invalid = |e: rcgen::Error| CertError::Invalid {
        what: "generated certificate".to_string(),
        message: e.to_string(),
    };
    let key = rcgen::KeyPair::generate().map_err(invalid)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(invalid)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let cert = params.self_signed(&key).map_err(invalid)?;
    parse_pair(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        "generated certificate",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_reports_its_names_and_a_future_expiry() {
        let loaded = self_signed(&["a.example.com".into(), "*.b.example.com".into()], "x").unwrap();
        assert_eq!(loaded.names, vec!["a.example.com", "*.b.example.com"]);
        assert!(loaded.remaining(SystemTime::now()) > Duration::from_secs(86_400));
    }

    #[test]
    fn broken_material_is_rejected_with_the_reason() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (b"", b"", "no certificate"),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                b"",
                "x.pem",
            ),
            (b"junk", b"junk", "no certificate"),
        ];
        for (cert, key, expected) in cases {
            let err = parse_pair(cert, key, "x.pem").unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
