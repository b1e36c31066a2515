//! `rfc2136`: DNS UPDATE (RFC 2136) of the zone's primary, signed with TSIG when a key is set
//! (BIND, Knot, PowerDNS). lego's variables: `RFC2136_NAMESERVER` (required, `host[:port]`),
//! `RFC2136_TSIG_KEY` + `RFC2136_TSIG_SECRET` (base64), `RFC2136_TSIG_ALGORITHM` (default
//! `hmac-sha1.`), or `RFC2136_TSIG_FILE` (a BIND key file, as `tsig-keygen` writes), `RFC2136_TTL` (120), `RFC2136_PROPAGATION_TIMEOUT` (60),
//! `RFC2136_POLLING_INTERVAL` (2), `RFC2136_DNS_TIMEOUT` (10), all seconds.
//!
//! The zone to update is found by SOA queries to the nameserver itself (lego asks the recursive
//! resolvers; asking the server that takes the update also works where no resolver knows it).
//! With a key, the answer must be signed by it (RFC 8945 §5.3: MAC over our request's MAC and
//! the answer, time within the fudge); an answer that is not is an error, whatever it says.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;

use super::client::{self, DnsError};
use super::wire::{self, Change, TsigAlgorithm, TsigKey};
use super::{BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord};

const NAME: &str = "rfc2136";

pub struct Rfc2136 {
    server: SocketAddr,
    key: Option<TsigKey>,
    ttl: u32,
    timeout: Duration,
    timing: Timing,
}

impl Rfc2136 {
    pub fn from_env(env: &Env<'_>) -> Result<Rfc2136, SetupError> {
        let [nameserver] = env.require(NAME, ["RFC2136_NAMESERVER"])?;
        let invalid = |var: &str, value: &str, reason: String| SetupError::Invalid {
            provider: NAME,
            var: var.to_string(),
            value: value.to_string(),
            reason,
        };
        let server = client::server_addr(&nameserver)
            .map_err(|e| invalid("RFC2136_NAMESERVER", &nameserver, e.to_string()))?;
        let from_file = match env.get(NAME, "RFC2136_TSIG_FILE")? {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid("RFC2136_TSIG_FILE", &path, format!("cannot read: {e}"))
                })?;
                Some(key_file(&text).ok_or_else(|| {
                    invalid(
                        "RFC2136_TSIG_FILE",
                        &path,
                        "no `key \"name\" { algorithm …; secret \"…\"; };` in it".into(),
                    )
                })?)
            }
        };
        let (file_key, file_secret, file_algorithm) = match from_file {
            Some((k, a, s)) => (Some(k), Some(s), Some(a)),
            None => (None, None, None),
        };
        let key = match (
            file_key.or(env.get(NAME, "RFC2136_TSIG_KEY")?),
            file_secret.or(env.get(NAME, "RFC2136_TSIG_SECRET")?),
        ) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(SetupError::Missing {
                    provider: NAME,
                    vars: vec!["RFC2136_TSIG_SECRET"],
                })
            }
            (None, Some(_)) => {
                return Err(SetupError::Missing {
                    provider: NAME,
                    vars: vec!["RFC2136_TSIG_KEY"],
                })
            }
            (Some(name), Some(secret)) => {
                let alg_name = match file_algorithm {
                    Some(a) => a,
                    None => env
                        .get(NAME, "RFC2136_TSIG_ALGORITHM")?
                        .unwrap_or_else(|| "hmac-sha1.".to_string()),
                };
                let algorithm = TsigAlgorithm::parse(&alg_name).ok_or_else(|| {
                    invalid(
                        "RFC2136_TSIG_ALGORITHM",
                        &alg_name,
                        format!("unsupported (supported: {})", TsigAlgorithm::NAMES),
                    )
                })?;
                let secret = base64::engine::general_purpose::STANDARD
                    .decode(secret.trim())
                    .map_err(|e| {
                        invalid(
                            "RFC2136_TSIG_SECRET",
                            "<secret>",
                            format!("not base64: {e}"),
                        )
                    })?;
                Some(TsigKey {
                    name,
                    algorithm,
                    secret,
                })
            }
        };
        let ttl = env.seconds(NAME, "RFC2136_TTL", Duration::from_secs(120))?;
        Ok(Rfc2136 {
            server,
            key,
            ttl: u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX),
            timeout: env.seconds(NAME, "RFC2136_DNS_TIMEOUT", Duration::from_secs(10))?,
            timing: env.timing(
                NAME,
                "RFC2136",
                Duration::from_secs(60),
                Duration::from_secs(2),
            )?,
        })
    }

    async fn change(&self, record: &TxtRecord, change: Change) -> Result<(), ProviderError> {
        let dns = |source: DnsError| ProviderError::Dns {
            provider: NAME,
            source,
        };
        let zone = client::find_zone(&[self.server], &record.fqdn, self.timeout)
            .await
            .map_err(dns)?;
        let mut id = [0u8; 2];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id);
        let mut message = wire::update(
            u16::from_be_bytes(id),
            &zone,
            &record.fqdn,
            &record.value,
            change,
        )
        .map_err(|e| dns(e.into()))?;
        let now = || {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let request_mac = match &self.key {
            Some(key) => Some(wire::sign(&mut message, key, now()).map_err(|e| dns(e.into()))?),
            None => None,
        };
        let answer = client::exchange(self.server, &message, self.timeout)
            .await
            .map_err(dns)?;
        // A TSIG error (BADKEY, BADSIG, BADTIME) comes back unsigned: reported as refused below.
        if let (Some(key), Some(mac), None | Some(0)) = (&self.key, &request_mac, answer.tsig_error)
        {
            wire::verify(&answer, key, mac, now()).map_err(|reason| ProviderError::Unverified {
                provider: NAME,
                server: self.server.to_string(),
                key: key.name.clone(),
                reason,
            })?;
        }
        if answer.rcode != 0 || answer.tsig_error.is_some_and(|e| e != 0) {
            let detail = match answer.tsig_error.filter(|e| *e != 0) {
                Some(e) => format!(" (TSIG {})", wire::rcode_name(e)),
                None => String::new(),
            };
            return Err(ProviderError::Refused {
                provider: NAME,
                server: self.server.to_string(),
                fqdn: record.fqdn.clone(),
                rcode: wire::rcode_name(answer.rcode),
                detail,
            });
        }
        Ok(())
    }
}

/// (key name, algorithm, secret) of a BIND key file (`tsig-keygen`'s output):
/// `key "name" { algorithm hmac-sha256; secret "…"; };`
pub fn key_file(text: &str) -> Option<(String, String, String)> {
    let after = |s: &str, word: &str| -> Option<String> {
        let start = s.find(word)? + word.len();
        let rest = s[start..].trim_start();
        let end = rest.find(';')?;
        Some(rest[..end].trim().trim_matches('"').to_string())
    };
    let start = text.find("key")? + 3;
    let rest = text[start..].trim_start();
    let name = rest.strip_prefix('"')?.split('"').next()?.to_string();
    let body = &rest[rest.find('{')?..];
    let algorithm = after(body, "algorithm")?;
    let secret = after(body, "secret")?;
    (!name.is_empty() && !secret.is_empty()).then_some((name, algorithm, secret))
}

impl DnsProvider for Rfc2136 {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.change(record, Change::Add(self.ttl)))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.change(record, Change::Delete))
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}

#[cfg(test)]
mod tests;
