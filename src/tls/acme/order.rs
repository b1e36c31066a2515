//! One ACME order with instant-acme: answer each authorization's challenge (HTTP-01 through
//! `HttpChallenges`, TLS-ALPN-01 through the store's challenge certificates), finalize with a
//! fresh key, and return the PEM chain and key. Challenge answers are removed whatever happens.
//! With a shared (Swarm) store, each answer (HTTP-01 token, or TLS-ALPN-01 key authorization) is
//! also written there, and the CA is told to validate only `challengeDelay` later, so whichever
//! replica the CA reaches answers. DNS-01: each TXT record is presented through the resolver's
//! provider and checked for propagation before its challenge is set ready; every presented
//! record is cleaned up afterwards, whether the order succeeded or not.

use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy,
};

use super::dns::propagation::PropagationError;
use super::dns::{Dns01, ProviderError, TxtRecord};
use super::swarm::{SwarmStore, SwarmStoreError};
use crate::tls::certs;
use crate::tls::challenges::HttpChallenges;
use crate::tls::store::CertStore;

/// How a resolver proves control of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    Http01,
    TlsAlpn01,
    /// DNS-01 through the resolver's `dns::Dns01` (`Responders::dns`).
    Dns01,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("{0}")]
    Acme(#[from] instant_acme::Error),
    #[error("the CA offers no {kind:?} challenge for {name}")]
    NoChallenge { name: String, kind: ChallengeKind },
    #[error("order for {names:?} ended {status:?}: {detail}")]
    Failed {
        names: Vec<String>,
        status: OrderStatus,
        detail: String,
    },
    #[error("key or CSR generation failed: {0}")]
    Key(#[from] rcgen::Error),
    #[error("RSA key generation failed: {0}")]
    RsaKey(String),
    #[error("challenge certificate: {0}")]
    ChallengeCert(#[from] certs::CertError),
    #[error("publishing the challenge answer: {0}")]
    Shared(#[from] SwarmStoreError),
    #[error("DNS-01 record: {0}")]
    Dns(#[from] ProviderError),
    #[error("DNS-01 propagation: {0}")]
    Propagation(#[from] PropagationError),
    #[error("the CA offers no ACME profile {wanted:?} (profile); it offers: {offered}")]
    Profile { wanted: String, offered: String },
}

/// The certificate key (`keyType`). EC keys come from ring through rcgen; RSA keys, which ring
/// cannot generate (only sign with), from the `rsa` crate, handed to rcgen as PKCS#8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    #[default]
    Ec256,
    Ec384,
    /// An RSA key of this many bits: 2048, 4096 or 8192.
    Rsa(usize),
}

/// Traefik's `keyType` values, as it spells them.
const KEY_TYPES: &str = "EC256, EC384, RSA2048, RSA4096, RSA8192";

impl KeyKind {
    /// Traefik's `keyType` values (any case); `Err` names the value and the valid ones.
    pub fn parse(value: Option<&str>) -> Result<KeyKind, String> {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(KeyKind::Ec256);
        };
        match v.to_ascii_uppercase().as_str() {
            "EC256" => Ok(KeyKind::Ec256),
            "EC384" => Ok(KeyKind::Ec384),
            "RSA2048" => Ok(KeyKind::Rsa(2048)),
            "RSA4096" => Ok(KeyKind::Rsa(4096)),
            "RSA8192" => Ok(KeyKind::Rsa(8192)),
            _ => Err(format!("keyType {v:?} is not one of {KEY_TYPES}")),
        }
    }

    /// A fresh key. RSA prime search is CPU work of seconds (8192 bits: up to minutes), so it
    /// runs on the blocking pool, off the proxy's worker threads.
    pub async fn generate(self) -> Result<rcgen::KeyPair, OrderError> {
        match self {
            KeyKind::Ec256 => Ok(rcgen::KeyPair::generate_for(
                &rcgen::PKCS_ECDSA_P256_SHA256,
            )?),
            KeyKind::Ec384 => Ok(rcgen::KeyPair::generate_for(
                &rcgen::PKCS_ECDSA_P384_SHA384,
            )?),
            KeyKind::Rsa(bits) => tokio::task::spawn_blocking(move || rsa_key(bits))
                .await
                .map_err(|e| OrderError::RsaKey(e.to_string()))?,
        }
    }
}

fn rsa_key(bits: usize) -> Result<rcgen::KeyPair, OrderError> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|e| OrderError::RsaKey(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| OrderError::RsaKey(e.to_string()))?;
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    Ok(rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &der,
        &rcgen::PKCS_RSA_SHA256,
    )?)
}

/// `Ok` when the CA's directory (`meta.profiles`) offers `wanted`; a CA without profiles offers
/// none, and the order is not sent rather than issued under the CA's default profile.
pub fn offered_profile<'a>(
    wanted: &str,
    offered: impl Iterator<Item = &'a str>,
) -> Result<(), OrderError> {
    let mut names: Vec<&str> = offered.collect();
    if names.contains(&wanted) {
        return Ok(());
    }
    names.sort_unstable();
    Err(OrderError::Profile {
        wanted: wanted.to_string(),
        offered: if names.is_empty() {
            "none (its directory lists no profiles)".to_string()
        } else {
            names.join(", ")
        },
    })
}

/// Where challenge answers are published.
pub struct Responders<'a> {
    pub http: &'a HttpChallenges,
    pub store: &'a CertStore,
    /// The Swarm store, where HTTP-01 answers go for the other replicas.
    pub shared: Option<&'a SwarmStore>,
    /// The DNS provider of a DNS-01 resolver.
    pub dns: Option<&'a Dns01>,
}

/// Orders a certificate for `names` (the first is the main domain); returns (chain PEM, key PEM,
/// the certificate's URL at the CA).
pub async fn obtain(
    account: &Account,
    names: &[String],
    kind: ChallengeKind,
    key: KeyKind,
    profile: Option<&str>,
    responders: &Responders<'_>,
) -> Result<(String, String, Option<String>), OrderError> {
    if let Some(wanted) = profile {
        offered_profile(wanted, account.profiles().map(|p| p.name))?;
    }
    let mut published = Published {
        responders,
        tokens: Vec::new(),
        names: Vec::new(),
        shared: Vec::new(),
        records: Vec::new(),
    };
    let result = run(account, names, kind, key, profile, &mut published).await;
    published.clear().await;
    result
}

struct Published<'a, 'b> {
    responders: &'a Responders<'b>,
    tokens: Vec<String>,
    names: Vec<String>,
    /// Object ids of the answers written to the shared store.
    shared: Vec<String>,
    /// DNS-01 TXT records presented.
    records: Vec<TxtRecord>,
}

impl Published<'_, '_> {
    async fn clear(&mut self) {
        for token in self.tokens.drain(..) {
            self.responders.http.remove(&token);
        }
        for name in self.names.drain(..) {
            self.responders.store.clear_challenge(&name);
        }
        if let Some(dns) = self.responders.dns {
            for record in self.records.drain(..) {
                match dns.provider.cleanup(&record).await {
                    Ok(()) => tracing::debug!(fqdn = %record.fqdn, "DNS-01 record removed"),
                    Err(error) => {
                        tracing::warn!(fqdn = %record.fqdn, %error, "cannot remove the DNS-01 TXT record")
                    }
                }
            }
        }
        if let Some(shared) = self.responders.shared {
            for id in self.shared.drain(..) {
                if let Err(error) = shared.remove(&id).await {
                    tracing::warn!(%error, "cannot remove a challenge answer from the Swarm store; removed when stale");
                }
            }
        }
    }
}

fn identifier(name: &str) -> Identifier {
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => Identifier::Ip(ip),
        Err(_) => Identifier::Dns(name.to_string()),
    }
}

async fn run(
    account: &Account,
    names: &[String],
    kind: ChallengeKind,
    key_kind: KeyKind,
    profile: Option<&str>,
    published: &mut Published<'_, '_>,
) -> Result<(String, String, Option<String>), OrderError> {
    let identifiers: Vec<Identifier> = names.iter().map(|n| identifier(n)).collect();
    let mut new_order = NewOrder::new(&identifiers);
    if let Some(profile) = profile {
        new_order = new_order.profile(profile);
    }
    let mut order = account.new_order(&new_order).await?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let name = match authz.identifier().identifier {
            Identifier::Dns(name) => name.clone(),
            Identifier::Ip(ip) => ip.to_string(),
            other => format!("{other:?}"),
        };
        let challenge_type = match kind {
            ChallengeKind::Http01 => ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
            ChallengeKind::Dns01 => ChallengeType::Dns01,
        };
        let mut challenge =
            authz
                .challenge(challenge_type)
                .ok_or_else(|| OrderError::NoChallenge {
                    name: name.clone(),
                    kind,
                })?;
        let key_auth = challenge.key_authorization();
        match kind {
            ChallengeKind::Http01 => {
                published
                    .responders
                    .http
                    .insert(&challenge.token, key_auth.as_str());
                published.tokens.push(challenge.token.clone());
            }
            ChallengeKind::TlsAlpn01 => {
                let cert = alpn_certificate(&name, key_auth.digest().as_ref())?;
                published.responders.store.set_challenge(&name, cert);
                published.names.push(name.clone());
            }
            ChallengeKind::Dns01 => {
                let Some(dns) = published.responders.dns else {
                    return Err(OrderError::NoChallenge { name, kind });
                };
                let record = TxtRecord::new(
                    &name,
                    &challenge.token,
                    key_auth.as_str(),
                    &key_auth.dns_value(),
                );
                tracing::info!(fqdn = %record.fqdn, "presenting DNS-01 TXT record");
                // Kept for cleanup before it is presented: a half-done present is undone too.
                published.records.push(record.clone());
                dns.provider.present(&record).await?;
                dns.check.wait(&record).await?;
            }
        }
        // DNS-01 answers live in the DNS, where every replica's CA query finds them.
        let shared = published
            .responders
            .shared
            .filter(|_| kind != ChallengeKind::Dns01);
        if let Some(shared) = shared {
            let alpn_name = (kind == ChallengeKind::TlsAlpn01).then_some(name.as_str());
            let id = shared
                .publish_token(&challenge.token, key_auth.as_str(), alpn_name)
                .await?;
            published.shared.push(id);
            tokio::time::sleep(shared.challenge_delay).await;
        }
        challenge.set_ready().await?;
    }
    let retries = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(Duration::from_secs(90));
    let status = order.poll_ready(&retries).await?;
    if status != OrderStatus::Ready {
        let state = order.refresh().await?;
        let detail = state
            .error
            .as_ref()
            .map_or_else(|| "no detail from the CA".to_string(), |p| p.to_string());
        return Err(OrderError::Failed {
            names: names.to_vec(),
            status,
            detail,
        });
    }
    let key = key_kind.generate().await?;
    let csr = rcgen::CertificateParams::new(names.to_vec())?.serialize_request(&key)?;
    order.finalize_csr(csr.der()).await?;
    let chain = order.poll_certificate(&retries).await?;
    let url = order.state().certificate.clone();
    Ok((chain, key.serialize_pem(), url))
}

/// The self-signed certificate carrying the `acmeIdentifier` extension (RFC 8737); `digest` is
/// SHA-256 of the key authorization.
pub fn alpn_certificate(
    name: &str,
    digest: &[u8],
) -> Result<Arc<rustls::sign::CertifiedKey>, OrderError> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()])?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key)?;
    let loaded = certs::parse_pair(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        "TLS-ALPN-01 certificate",
    )?;
    Ok(loaded.key)
}
