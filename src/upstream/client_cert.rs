//! Client certificates for servers (`serversTransports.<t>.certificates`), chosen per handshake
//! as Go's `crypto/tls` (so Traefik) chooses: the first certificate whose chain was issued by
//! one of the CAs the server's CertificateRequest names (any CA when it names none) and whose
//! key can sign with one of the server's signature schemes; none matching: no certificate sent.

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

/// One configured certificate and the issuer names (DER `Name`s) of every certificate in its
/// chain, read once.
#[derive(Debug)]
struct Candidate {
    key: Arc<CertifiedKey>,
    issuers: Vec<Vec<u8>>,
}

#[derive(Debug)]
pub(crate) struct ByAcceptableCa {
    candidates: Vec<Candidate>,
}

impl ByAcceptableCa {
    pub(crate) fn new(keys: Vec<Arc<CertifiedKey>>) -> ByAcceptableCa {
        let candidates = keys
            .into_iter()
            .map(|key| Candidate {
                issuers: key.cert.iter().filter_map(issuer).collect(),
                key,
            })
            .collect();
        ByAcceptableCa { candidates }
    }
}

/// The raw DER issuer `Name` of a certificate (None when it does not parse).
fn issuer(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    x509_parser::parse_x509_certificate(cert.as_ref())
        .ok()
        .map(|(_, x)| x.issuer().as_raw().to_vec())
}

impl ResolvesClientCert for ByAcceptableCa {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.candidates
            .iter()
            .find(|c| {
                c.key.key.choose_scheme(sigschemes).is_some()
                    && (root_hint_subjects.is_empty()
                        || c.issuers
                            .iter()
                            .any(|i| root_hint_subjects.contains(&i.as_slice())))
            })
            .map(|c| Arc::clone(&c.key))
    }

    fn has_certs(&self) -> bool {
        !self.candidates.is_empty()
    }
}
