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
    #[error("challenge certificate: {0}")]
    ChallengeCert(#[from] certs::CertError),
    #[error("publishing the challenge answer: {0}")]
    Shared(#[from] SwarmStoreError),
    #[error("DNS-01 record: {0}")]
    Dns(#[from] ProviderError),
    #[error("DNS-01 propagation: {0}")]
    Propagation(#[from] PropagationError),
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

/// Orders a certificate for `names` (the first is the main domain); returns (chain PEM, key PEM).
pub async fn obtain(
    account: &Account,
    names: &[String],
    kind: ChallengeKind,
    responders: &Responders<'_>,
) -> Result<(String, String), OrderError> {
    let mut published = Published {
        responders,
        tokens: Vec::new(),
        names: Vec::new(),
        shared: Vec::new(),
        records: Vec::new(),
    };
    let result = run(account, names, kind, &mut published).await;
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
    published: &mut Published<'_, '_>,
) -> Result<(String, String), OrderError> {
    let identifiers: Vec<Identifier> = names.iter().map(|n| identifier(n)).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
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
    let key = rcgen::KeyPair::generate()?;
    let csr = rcgen::CertificateParams::new(names.to_vec())?.serialize_request(&key)?;
    order.finalize_csr(csr.der()).await?;
    let chain = order.poll_certificate(&retries).await?;
    Ok((chain, key.serialize_pem()))
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
