//! What a TLS handshake agreed on, named as Go names it (Traefik's `tls_version` and
//! `tls_cipher` metric labels): a small Copy value the connection info carries.

use rustls::{CipherSuite, ProtocolVersion, ServerConnection};

/// Go's `tls_version` names, by index.
pub const VERSIONS: [&str; 4] = ["1.0", "1.1", "1.2", "1.3"];

/// Go's cipher-suite names (`tls.CipherSuiteName`) of the suites rustls offers, by index; the
/// last slot is for any other suite.
pub const CIPHERS: [&str; 10] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "unknown",
];

/// The negotiated protocol version and cipher suite, as indices into `VERSIONS` and `CIPHERS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    version: u8,
    cipher: u8,
}

impl Negotiated {
    /// What `conn` agreed on; `None` before the handshake finished.
    pub fn of(conn: &ServerConnection) -> Option<Negotiated> {
        let version = version_index(conn.protocol_version()?)?;
        let cipher = cipher_index(conn.negotiated_cipher_suite()?.suite());
        Some(Negotiated { version, cipher })
    }

    /// A `version` and `suite` agreed elsewhere (a QUIC handshake); `None` for a version Go
    /// does not name.
    pub fn from_parts(version: ProtocolVersion, suite: CipherSuite) -> Option<Negotiated> {
        Some(Negotiated {
            version: version_index(version)?,
            cipher: cipher_index(suite),
        })
    }

    /// Whether TLS 1.3 was negotiated (what QUIC needs).
    pub fn is_tls13(self) -> bool {
        usize::from(self.version) == VERSIONS.len() - 1
    }

    pub fn version(self) -> &'static str {
        VERSIONS[usize::from(self.version) % VERSIONS.len()]
    }

    pub fn cipher(self) -> &'static str {
        CIPHERS[usize::from(self.cipher) % CIPHERS.len()]
    }

    /// A dense index below `VERSIONS.len() * CIPHERS.len()` (for counter arrays).
    pub fn index(self) -> usize {
        usize::from(self.version) * CIPHERS.len() + usize::from(self.cipher)
    }

    /// The inverse of `index`.
    pub fn from_index(index: usize) -> Option<Negotiated> {
        let (version, cipher) = (index / CIPHERS.len(), index % CIPHERS.len());
        (version < VERSIONS.len()).then(|| Negotiated {
            version: u8::try_from(version).unwrap_or(0),
            cipher: u8::try_from(cipher).unwrap_or(0),
        })
    }
}

fn version_index(v: ProtocolVersion) -> Option<u8> {
    Some(match v {
        ProtocolVersion::TLSv1_0 => 0,
        ProtocolVersion::TLSv1_1 => 1,
        ProtocolVersion::TLSv1_2 => 2,
        ProtocolVersion::TLSv1_3 => 3,
        _ => return None,
    })
}

fn cipher_index(suite: CipherSuite) -> u8 {
    match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        CipherSuite::TLS13_AES_256_GCM_SHA384 => 1,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => 2,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 3,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 4,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => 5,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 6,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 7,
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 8,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_gos_and_indices_round_trip() {
        let n = Negotiated {
            version: version_index(ProtocolVersion::TLSv1_3).unwrap(),
            cipher: cipher_index(CipherSuite::TLS13_AES_128_GCM_SHA256),
        };
        assert_eq!((n.version(), n.cipher()), ("1.3", "TLS_AES_128_GCM_SHA256"));
        let n12 = Negotiated {
            version: version_index(ProtocolVersion::TLSv1_2).unwrap(),
            cipher: cipher_index(CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        };
        assert_eq!(n12.version(), "1.2");
        assert_eq!(n12.cipher(), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        for i in 0..VERSIONS.len() * CIPHERS.len() {
            assert_eq!(Negotiated::from_index(i).map(Negotiated::index), Some(i));
        }
        assert_eq!(Negotiated::from_index(VERSIONS.len() * CIPHERS.len()), None);
    }
}
