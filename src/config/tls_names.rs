//! Go's (and so Traefik's) TLS names — `minVersion`/`maxVersion`, `cipherSuites` — mapped to
//! rustls' protocol versions and suites. Shared by `tls.options` (the server side, `tls::options`)
//! and `serversTransports` (the client side, `upstream::transport`); pure, on the configuration
//! floor so neither side imports the other. A name rustls has not got is an error naming it.

use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

fn version(value: &str, key: &str) -> Result<Option<u16>, String> {
    match value {
        "" => Ok(None),
        "VersionTLS12" => Ok(Some(12)),
        "VersionTLS13" => Ok(Some(13)),
        "VersionTLS10" | "VersionTLS11" => Err(format!(
            "{key} {value}: TLS 1.0 and 1.1 are not available (swarmgate serves TLS 1.2 and 1.3 only); use VersionTLS12"
        )),
        other => Err(format!(
            "unknown {key} {other:?} (VersionTLS12 or VersionTLS13)"
        )),
    }
}

pub fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let min = version(min.unwrap_or(""), "minVersion")?.unwrap_or(12);
    let max = version(max.unwrap_or(""), "maxVersion")?.unwrap_or(13);
    if min > max {
        return Err(format!(
            "minVersion (TLS 1.{}) is above maxVersion (TLS 1.{})",
            min - 10,
            max - 10
        ));
    }
    let mut out = Vec::new();
    if min <= 13 && max >= 13 {
        out.push(&rustls::version::TLS13);
    }
    if min <= 12 && max >= 12 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

/// Go's cipher suite names that rustls has (both spellings of the CHACHA20 suites).
fn suite(name: &str) -> Option<SupportedCipherSuite> {
    use rustls::crypto::ring::cipher_suite as cs;
    Some(match name {
        "TLS_AES_128_GCM_SHA256" => cs::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_256_GCM_SHA384" => cs::TLS13_AES_256_GCM_SHA384,
        "TLS_CHACHA20_POLY1305_SHA256" => cs::TLS13_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

/// Names Go (and so Traefik) accepts that rustls has not got: CBC, RC4, 3DES, RSA key exchange.
const GO_ONLY_SUITES: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// (TLS 1.2 suites, TLS 1.3 suites). Without a list: all of them. With one: the TLS 1.2 suites
/// listed, and the TLS 1.3 suites listed or, when none is (Go ignores the list for TLS 1.3),
/// all three. `TLS_FALLBACK_SCSV` is a signal, not a suite: accepted and ignored.
pub type Suites = (Vec<SupportedCipherSuite>, Vec<SupportedCipherSuite>);

pub fn cipher_suites(list: Option<&[String]>) -> Result<Suites, String> {
    let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
    let is13 = |s: &SupportedCipherSuite| matches!(s, SupportedCipherSuite::Tls13(_));
    let Some(list) = list else {
        return Ok((
            all.iter().filter(|s| !is13(s)).copied().collect(),
            all.iter().filter(|s| is13(s)).copied().collect(),
        ));
    };
    let (mut tls12, mut tls13) = (Vec::new(), Vec::new());
    for name in list {
        if name == "TLS_FALLBACK_SCSV" {
            continue;
        }
        let Some(found) = suite(name) else {
            return Err(if GO_ONLY_SUITES.contains(&name.as_str()) {
                format!("cipherSuites: {name} is not available (rustls has no CBC, RC4, 3DES or RSA key-exchange suites)")
            } else {
                format!("cipherSuites: unknown cipher suite {name:?}")
            });
        };
        let target = if is13(&found) { &mut tls13 } else { &mut tls12 };
        if !target
            .iter()
            .any(|s: &SupportedCipherSuite| s.suite() == found.suite())
        {
            target.push(found);
        }
    }
    if tls13.is_empty() {
        tls13 = all.iter().filter(|s| is13(s)).copied().collect();
    }
    Ok((tls12, tls13))
}
