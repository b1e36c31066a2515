//! `preferredChain` (lego's, which Traefik passes on): of the chain the CA returned and the
//! alternates it links to (`Link: <url>;rel="alternate"`, RFC 8555 §7.4.2), the first whose
//! topmost certificate's issuer CN equals the name; none matching keeps the default chain (a
//! warning, as lego). instant-acme 0.8 returns only the default chain's body, so the certificate
//! URL is fetched again here with POST-as-GET requests signed by the account's key (ES256 JWS,
//! `kid` = the account URL, nonces from the CA's `newNonce`).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::dns::http;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("account credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    Http(#[from] http::HttpError),
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: ::http::StatusCode,
        body: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The issuer CN of the last certificate of `chain` (PEM), lego's `hasPreferredChain`.
pub fn top_issuer_cn(chain: &str) -> Option<String> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut chain.as_bytes())
        .filter_map(Result::ok)
        .collect();
    let top = certs.last()?;
    let (_, cert) = x509_parser::parse_x509_certificate(top).ok()?;
    let cn = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    cn
}

/// The `rel="alternate"` targets of `Link` headers.
pub fn alternates(headers: &::http::HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for value in headers.get_all(::http::header::LINK) {
        let Ok(value) = value.to_str() else { continue };
        for link in value.split(',') {
            let Some((target, params)) = link.trim().split_once('>') else {
                continue;
            };
            let alternate = params.split(';').any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "rel=\"alternate\"" || p == "rel=alternate"
            });
            if alternate {
                out.push(target.trim_start_matches('<').trim().to_string());
            }
        }
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An ACME client of its own for POST-as-GET, from instant-acme's stored credentials.
struct Signer {
    tls: Arc<rustls::ClientConfig>,
    kid: String,
    key: ring::signature::EcdsaKeyPair,
    new_nonce: String,
    nonce: Option<String>,
}

impl Signer {
    async fn new(
        credentials: &Value,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Signer, ChainError> {
        let bad = |what: &str| ChainError::Credentials(what.to_string());
        let kid = credentials["id"].as_str().ok_or_else(|| bad("no id"))?;
        let der = credentials["key_pkcs8"]
            .as_str()
            .and_then(|k| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(k)
                    .ok()
            })
            .ok_or_else(|| bad("no key_pkcs8"))?;
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|e| bad(&format!("the account key is not a P-256 key: {e}")))?;
        let new_nonce = match credentials["urls"]["newNonce"].as_str() {
            Some(url) => url.to_string(),
            None => {
                let dir = credentials["directory"]
                    .as_str()
                    .ok_or_else(|| bad("no directory URL"))?;
                let answer = http::request_with(
                    tls.clone(),
                    ::http::Method::GET,
                    dir,
                    &[],
                    Vec::new(),
                    TIMEOUT,
                )
                .await?;
                let directory: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                directory["newNonce"]
                    .as_str()
                    .ok_or_else(|| ChainError::Other(format!("{dir}: no newNonce")))?
                    .to_string()
            }
        };
        Ok(Signer {
            tls,
            kid: kid.to_string(),
            key,
            new_nonce,
            nonce: None,
        })
    }

    async fn nonce(&mut self) -> Result<String, ChainError> {
        if let Some(n) = self.nonce.take() {
            return Ok(n);
        }
        let answer = http::request_with(
            self.tls.clone(),
            ::http::Method::HEAD,
            &self.new_nonce,
            &[],
            Vec::new(),
            TIMEOUT,
        )
        .await?;
        replay_nonce(&answer.headers)
            .ok_or_else(|| ChainError::Other(format!("{}: no Replay-Nonce", self.new_nonce)))
    }

    /// POST-as-GET `url` (a few tries on `badNonce`); the answer (2xx only).
    async fn get(&mut self, url: &str) -> Result<http::Answer, ChainError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let nonce = self.nonce().await?;
            let protected = json!({"alg": "ES256", "kid": self.kid, "nonce": nonce, "url": url});
            let input = format!("{}.", b64(protected.to_string().as_bytes()));
            let signature = self
                .key
                .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
                .map_err(|_| ChainError::Other("cannot sign".into()))?;
            let body = json!({
                "protected": b64(protected.to_string().as_bytes()),
                "payload": "",
                "signature": b64(signature.as_ref()),
            });
            let headers = [
                ("content-type", "application/jose+json".to_string()),
                ("accept", "application/pem-certificate-chain".to_string()),
            ];
            let answer = http::request_with(
                self.tls.clone(),
                ::http::Method::POST,
                url,
                &headers,
                body.to_string().into_bytes(),
                TIMEOUT,
            )
            .await?;
            self.nonce = replay_nonce(&answer.headers);
            if answer.status.is_success() {
                return Ok(answer);
            }
            if tries < 3
                && answer
                    .text()
                    .contains("urn:ietf:params:acme:error:badNonce")
            {
                continue;
            }
            return Err(ChainError::Status {
                url: url.to_string(),
                status: answer.status,
                body: answer.text(),
            });
        }
    }
}

fn replay_nonce(headers: &::http::HeaderMap) -> Option<String> {
    headers
        .get("replay-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The chain to serve: `default` when its top issuer CN is `preferred`, else the first
/// alternate of `cert_url` that matches, else `default` (with a warning).
pub async fn choose(
    preferred: &str,
    default: String,
    cert_url: &str,
    credentials: &Value,
    tls: Arc<rustls::ClientConfig>,
) -> Result<String, ChainError> {
    if top_issuer_cn(&default).as_deref() == Some(preferred) {
        return Ok(default);
    }
    let mut signer = Signer::new(credentials, tls).await?;
    let answer = signer.get(cert_url).await?;
    for url in alternates(&answer.headers) {
        let chain = signer.get(&url).await?.text();
        if top_issuer_cn(&chain).as_deref() == Some(preferred) {
            tracing::info!(%preferred, %url, "using the CA's alternate chain for preferredChain");
            return Ok(chain);
        }
    }
    tracing::warn!(%preferred, "preferredChain: no chain from the CA has this issuer at its top; using the default chain");
    Ok(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_alternate_links() {
        let mut h = ::http::HeaderMap::new();
        h.append(
            ::http::header::LINK,
            "<https://ca/dir>;rel=\"index\"".parse().unwrap(),
        );
        h.append(
            ::http::header::LINK,
            "<https://ca/cert/1/1>;rel=\"alternate\", <https://ca/cert/1/2>; rel=alternate"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            alternates(&h),
            vec![
                "https://ca/cert/1/1".to_string(),
                "https://ca/cert/1/2".to_string()
            ]
        );
    }

    #[test]
    fn top_issuer_is_the_last_certificates_issuer() {
        let root_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Root B");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let root = params.self_signed(&root_key).unwrap();
        let issuer = rcgen::Issuer::new(params, root_key);
        let int_key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, "Int");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let int = p.signed_by(&int_key, &issuer).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let int_issuer = rcgen::Issuer::new(p, int_key);
        let leaf = rcgen::CertificateParams::new(vec!["a.test".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &int_issuer)
            .unwrap();
        let chain = format!("{}{}", leaf.pem(), int.pem());
        assert_eq!(top_issuer_cn(&chain).as_deref(), Some("Root B"));
        assert_eq!(top_issuer_cn(&leaf.pem()).as_deref(), Some("Int"));
        let _ = root;
    }
}
