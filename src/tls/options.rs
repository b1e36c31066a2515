//! `tls.options` → one rustls `ServerConfig` per options set, as Traefik's `buildTLSConfig`
//! (pkg/tls/tlsmanager.go) turns them into a Go `tls.Config`.
//!
//! Fail closed: a value swarmgate cannot honour (TLS 1.0/1.1, a CBC suite, an unknown curve or
//! client-auth type, a CA that does not parse) makes the whole set an error naming it, so the
//! routers that use it are closed and their hosts' handshakes refused, never served with less
//! protection. Where Traefik silently ignores an unknown `minVersion`/`maxVersion`, this is an
//! error too. Building reads the CA files (config plane only); the handshake path only picks a
//! finished `Arc<ServerConfig>`.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{
    ClientHello, NoServerSessionStorage, ResolvesServerCert, WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

use super::store::{CertStore, ACME_TLS_ALPN};
use crate::config::dynamic::{ClientAuthConfig, TlsOptionsConfig};
use crate::config::tls_names::{cipher_suites, versions};

/// Traefik's default ALPN list: HTTP/2, HTTP/1.1 and TLS-ALPN-01.
const DEFAULT_ALPN: [&[u8]; 3] = [b"h2", b"http/1.1", ACME_TLS_ALPN];

/// The CA material an options set names (`clientAuth.caFiles`), read: each entry is a file
/// when one exists at that path, else the PEM itself (Traefik's `FileOrContent`).
pub fn read_cas(cfg: &TlsOptionsConfig) -> Result<Vec<Vec<u8>>, String> {
    let Some(auth) = &cfg.client_auth else {
        return Ok(Vec::new());
    };
    auth.ca_files
        .iter()
        .map(|entry| {
            let path = std::path::Path::new(entry);
            if path.is_file() {
                std::fs::read(path)
                    .map_err(|e| format!("clientAuth.caFiles: cannot read {entry}: {e}"))
            } else if entry.contains("-----BEGIN") {
                Ok(entry.as_bytes().to_vec())
            } else {
                Err(format!(
                    "clientAuth.caFiles: {entry:?} is neither a readable file nor PEM content"
                ))
            }
        })
        .collect()
}

/// A built options set and what it noticed (deprecated keys).
pub struct Built {
    pub config: Arc<ServerConfig>,
    pub warnings: Vec<String>,
}

/// Builds the rustls configuration of one options set; `cas` is what `read_cas` returned.
pub fn build(
    cfg: &TlsOptionsConfig,
    cas: &[Vec<u8>],
    store: &Arc<CertStore>,
) -> Result<Built, String> {
    let mut warnings = Vec::new();
    if cfg.prefer_server_cipher_suites.is_some() {
        warnings.push(
            "preferServerCipherSuites is deprecated and ineffective (as in Traefik): remove it"
                .to_string(),
        );
    }
    let (mut tls12, mut tls13) = cipher_suites(cfg.cipher_suites.as_deref())?;
    // Go's own preference order, whatever the order listed (Go ≥ 1.17).
    tls12.sort_by_key(|s| go_preference(s.suite()));
    tls13.sort_by_key(|s| go_preference(s.suite()));
    let mut versions = versions(cfg.min_version.as_deref(), cfg.max_version.as_deref())?;
    // Go ignores cipherSuites for TLS 1.3; a list without TLS 1.2 suites leaves TLS 1.2 unusable.
    if tls12.is_empty() {
        versions.retain(|v| v.version != rustls::ProtocolVersion::TLSv1_2);
        if versions.is_empty() {
            return Err("cipherSuites: no TLS 1.2 cipher suite listed, and TLS 1.3 is not allowed by maxVersion".to_string());
        }
    }
    let base = rustls::crypto::ring::default_provider();
    let provider = Arc::new(CryptoProvider {
        cipher_suites: tls13.into_iter().chain(tls12).collect(),
        kx_groups: kx_groups(cfg.curve_preferences.as_deref())?,
        ..base
    });
    let verifier = client_verifier(cfg.client_auth.as_ref(), cas, &provider)?;
    let resolver: Arc<dyn ResolvesServerCert> = if cfg.sni_strict {
        Arc::new(StrictSni(Arc::clone(store)))
    } else {
        Arc::clone(store) as Arc<dyn ResolvesServerCert>
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.alpn_protocols = match &cfg.alpn_protocols {
        None => DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect(),
        Some(list) => list.iter().map(|p| p.as_bytes().to_vec()).collect(),
    };
    // Go (since 1.17, so Traefik 3) picks the cipher suite by its own order whatever the
    // client lists first; rustls follows the client unless told. testssl calls client order
    // on the server "NOT a cipher order configured" (HIGH).
    config.ignore_client_order = true;
    if cfg.disable_session_tickets {
        config.send_tls13_tickets = 0;
        config.session_storage = Arc::new(NoServerSessionStorage {});
    }
    Ok(Built {
        config: Arc::new(config),
        warnings,
    })
}

/// Where Go's server puts a suite (`cipherSuitesPreferenceOrder`, `defaultCipherSuitesTLS13`
/// on a host with AES hardware): AES-128-GCM before AES-256-GCM before ChaCha20, ECDSA before
/// RSA. Go switches to ChaCha20 first when the client lists it first (a client without AES
/// hardware); a rustls server keeps one order, so such a client gets AES-GCM here.
fn go_preference(suite: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256 => 0,
        S::TLS13_AES_256_GCM_SHA384 => 1,
        S::TLS13_CHACHA20_POLY1305_SHA256 => 2,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 0,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 1,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 2,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 3,
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => 4,
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 5,
        _ => 6,
    }
}

/// Traefik's built-in default options (no `tls.options.default`): TLS 1.2+, every suite.
pub fn builtin_default(store: &Arc<CertStore>) -> Result<Arc<ServerConfig>, String> {
    build(&TlsOptionsConfig::default(), &[], store).map(|b| b.config)
}

/// `curvePreferences` in order; Go's names and the RFC ones, as Traefik's `CurveIDs`.
fn kx_groups(list: Option<&[String]>) -> Result<Vec<&'static dyn SupportedKxGroup>, String> {
    use rustls::crypto::ring::kx_group;
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(rustls::crypto::ring::ALL_KX_GROUPS.to_vec());
    };
    let mut out: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for name in list {
        let group: &'static dyn SupportedKxGroup = match name.as_str() {
            "X25519" | "x25519" => kx_group::X25519,
            "CurveP256" | "secp256r1" => kx_group::SECP256R1,
            "CurveP384" | "secp384r1" => kx_group::SECP384R1,
            "CurveP521" | "secp521r1" | "X25519MLKEM768" | "x25519mlkem768"
            | "SecP256r1MLKEM768" | "secp256r1mlkem768" | "SecP384r1MLKEM1024"
            | "secp384r1mlkem1024" => {
                return Err(format!(
                    "curvePreferences: {name} is not available with this build's crypto provider (ring: X25519, CurveP256, CurveP384)"
                ))
            }
            other => return Err(format!("curvePreferences: unknown curve {other:?}")),
        };
        if !out.iter().any(|g| g.name() == group.name()) {
            out.push(group);
        }
    }
    Ok(out)
}

/// Go's `ClientAuthType`, as Traefik reads `clientAuth`: CAs without a type mean
/// RequireAndVerifyClientCert; the verifying types need CAs.
fn client_verifier(
    auth: Option<&ClientAuthConfig>,
    cas: &[Vec<u8>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let Some(auth) = auth else {
        return Ok(WebPkiClientVerifier::no_client_auth());
    };
    let mut roots = RootCertStore::empty();
    for (entry, pem) in auth.ca_files.iter().zip(cas) {
        let what = if std::path::Path::new(entry).is_file() {
            format!("in {entry}")
        } else {
            "content".to_string()
        };
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("clientAuth.caFiles: invalid certificate(s) {what}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("clientAuth.caFiles: invalid certificate(s) {what}"));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("clientAuth.caFiles: invalid certificate(s) {what}: {e}"))?;
        }
    }
    let kind = match auth.client_auth_type.as_deref() {
        None | Some("") if roots.is_empty() => "NoClientCert",
        None | Some("") => "RequireAndVerifyClientCert",
        Some(kind) => kind,
    };
    let hints: Vec<DistinguishedName> = roots.subjects();
    let roots = Arc::new(roots);
    let verifying = |optional: bool| {
        if roots.is_empty() {
            return Err(format!(
                "invalid clientAuthType: {kind}, CAFiles is required"
            ));
        }
        let builder =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(provider));
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder.build().map_err(|e| format!("clientAuth: {e}"))
    };
    match kind {
        "NoClientCert" => Ok(WebPkiClientVerifier::no_client_auth()),
        "RequestClientCert" | "RequireAnyClientCert" => Ok(Arc::new(AnyClientCert {
            mandatory: kind == "RequireAnyClientCert",
            hints,
            schemes: provider.signature_verification_algorithms,
        })),
        "VerifyClientCertIfGiven" => verifying(true),
        "RequireAndVerifyClientCert" => verifying(false),
        other => Err(format!("clientAuth: unknown client auth type {other:?}")),
    }
}

/// Go's RequestClientCert / RequireAnyClientCert: a certificate is asked for (and required by
/// the second) but not checked against any CA. What still holds: every certificate sent must be
/// X.509 that parses (as Go parses them), and the client must prove it holds the certificate's
/// private key (the CertificateVerify signature is checked with rustls' own functions), so a
/// backend reading the certificate knows the client owns it, not that anyone vouches for it.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    hints: Vec<DistinguishedName>,
    schemes: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        for cert in std::iter::once(end_entity).chain(intermediates) {
            x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| {
                rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
            })?;
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.schemes)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.schemes)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.supported_schemes()
    }
}

/// `sniStrict`: only a certificate that names the SNI (exactly or by wildcard); no SNI, or no
/// such certificate, fails the handshake instead of serving the default certificate.
#[derive(Debug)]
struct StrictSni(Arc<CertStore>);

impl ResolvesServerCert for StrictSni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            return self.0.resolve(hello);
        }
        self.0.select_named(hello.server_name()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::certs::self_signed;
    use rustls::SupportedCipherSuite;

    fn store() -> Arc<CertStore> {
        Arc::new(CertStore::new(
            self_signed(&["default.invalid".to_string()], "test").unwrap(),
        ))
    }

    fn options(yaml: &str) -> TlsOptionsConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn error(yaml: &str) -> String {
        let cfg = options(yaml);
        match read_cas(&cfg).and_then(|cas| build(&cfg, &cas, &store())) {
            Ok(_) => panic!("{yaml} should be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn suites_are_offered_in_gos_order_whatever_the_list_says() {
        let suites = |yaml: &str| {
            let cfg = options(yaml);
            let built = build(&cfg, &[], &store()).unwrap();
            built
                .config
                .crypto_provider()
                .cipher_suites
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            suites("{}"),
            [
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
        let listed = suites(
            "cipherSuites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]",
        );
        assert_eq!(
            &listed[3..],
            [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
    }

    #[test]
    fn versions_map_to_rustls_and_refuse_what_it_lacks() {
        let v = |min: &str, max: &str| {
            versions(Some(min), Some(max)).map(|v| {
                v.iter()
                    .map(|v| format!("{:?}", v.version))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(v("", "").unwrap(), ["TLSv1_3", "TLSv1_2"]);
        assert_eq!(v("VersionTLS13", "").unwrap(), ["TLSv1_3"]);
        assert_eq!(v("", "VersionTLS12").unwrap(), ["TLSv1_2"]);
        assert!(v("VersionTLS10", "")
            .unwrap_err()
            .contains("minVersion VersionTLS10"));
        assert!(v("", "VersionTLS11")
            .unwrap_err()
            .contains("maxVersion VersionTLS11"));
        assert!(v("VersionTLS14", "")
            .unwrap_err()
            .contains("unknown minVersion"));
        assert!(v("VersionTLS13", "VersionTLS12")
            .unwrap_err()
            .contains("above maxVersion"));
    }

    #[test]
    fn cipher_suites_map_go_names_and_name_what_rustls_lacks() {
        let names = |list: &[&str]| {
            let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            cipher_suites(Some(&list)).map(|(t12, t13)| {
                let n = |v: Vec<SupportedCipherSuite>| {
                    v.iter()
                        .map(|s| format!("{:?}", s.suite()))
                        .collect::<Vec<_>>()
                };
                (n(t12), n(t13))
            })
        };
        // Only TLS 1.2 suites listed: TLS 1.3 keeps all its suites (Go ignores the list there).
        let (t12, t13) = names(&[
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_FALLBACK_SCSV",
        ])
        .unwrap();
        assert_eq!(t12, ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]);
        assert_eq!(t13.len(), 3);
        let (t12, t13) = names(&["TLS_AES_256_GCM_SHA384"]).unwrap();
        assert!(t12.is_empty());
        assert_eq!(t13, ["TLS13_AES_256_GCM_SHA384"]);
        let cbc = names(&["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]).unwrap_err();
        assert!(
            cbc.contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not available"),
            "{cbc}"
        );
        assert!(names(&["TLS_NOPE"])
            .unwrap_err()
            .contains("unknown cipher suite"));
    }

    #[test]
    fn curves_map_go_and_rfc_names_in_order() {
        let list = |l: &[&str]| {
            let l: Vec<String> = l.iter().map(|s| s.to_string()).collect();
            kx_groups(Some(&l)).map(|g| {
                g.iter()
                    .map(|g| format!("{:?}", g.name()))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            list(&["CurveP384", "x25519", "secp256r1"]).unwrap(),
            ["secp384r1", "X25519", "secp256r1"]
        );
        for name in ["CurveP521", "X25519MLKEM768"] {
            assert!(list(&[name])
                .unwrap_err()
                .contains(&format!("{name} is not available")));
        }
        assert!(list(&["P-999"]).unwrap_err().contains("unknown curve"));
        assert_eq!(kx_groups(None).unwrap().len(), 3);
    }

    #[test]
    fn client_auth_follows_traefik_rules() {
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem();
        // Verifying types need CAs; unknown types and unreadable CAs are errors.
        for kind in ["VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] {
            let e = error(&format!("clientAuth: {{ clientAuthType: {kind} }}"));
            assert!(
                e.contains(&format!(
                    "invalid clientAuthType: {kind}, CAFiles is required"
                )),
                "{e}"
            );
        }
        assert!(
            error("clientAuth: { clientAuthType: Sometimes }").contains("unknown client auth type")
        );
        assert!(error("clientAuth: { caFiles: [/nonexistent/ca.pem] }")
            .contains("\"/nonexistent/ca.pem\" is neither a readable file nor PEM content"));
        let garbled = "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n";
        let e = error(&format!("clientAuth: {{ caFiles: [\"{garbled}\"] }}"));
        assert!(e.contains("invalid certificate(s) content"), "{e}");
        // Inline PEM and a file both read; every type builds with a CA.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, &ca).unwrap();
        for entry in [ca.clone(), file.display().to_string()] {
            for kind in [
                "",
                "NoClientCert",
                "RequestClientCert",
                "RequireAnyClientCert",
                "VerifyClientCertIfGiven",
                "RequireAndVerifyClientCert",
            ] {
                let cfg = TlsOptionsConfig {
                    client_auth: Some(ClientAuthConfig {
                        ca_files: vec![entry.clone()],
                        client_auth_type: Some(kind.to_string()),
                    }),
                    ..Default::default()
                };
                let cas = read_cas(&cfg).unwrap();
                assert!(build(&cfg, &cas, &store()).is_ok(), "{kind}");
            }
        }
    }

    #[test]
    fn alpn_tickets_and_deprecated_keys() {
        let built = build(&TlsOptionsConfig::default(), &[], &store()).unwrap();
        assert_eq!(
            built.config.alpn_protocols,
            [&b"h2"[..], b"http/1.1", b"acme-tls/1"]
        );
        assert!(built.warnings.is_empty());
        let cfg = options("alpnProtocols: [http/1.1]\ndisableSessionTickets: true\npreferServerCipherSuites: true");
        let built = build(&cfg, &[], &store()).unwrap();
        assert_eq!(built.config.alpn_protocols, [&b"http/1.1"[..]]);
        assert_eq!(built.config.send_tls13_tickets, 0);
        assert!(built.warnings[0].contains("preferServerCipherSuites"));
        let e = error("cipherSuites: [TLS_AES_128_GCM_SHA256]\nmaxVersion: VersionTLS12");
        assert!(e.contains("no TLS 1.2 cipher suite"), "{e}");
    }
}
