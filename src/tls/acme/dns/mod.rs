//! ACME DNS-01 (`certificatesResolvers.<r>.acme.dnsChallenge`): the providers that publish the
//! `_acme-challenge` TXT record, all behind `DnsProvider` and read from lego's environment
//! variables (each also as `<NAME>_FILE`, a file holding the value, for Docker secrets); and the
//! propagation check (`propagation.rs`) run before the CA is told to validate.
//!
//! A provider is built at startup: an unknown name, a missing or malformed variable is a startup
//! error naming it (never a fallback to another challenge). One file per provider:
//! `rfc2136.rs` (DNS UPDATE + TSIG, `wire.rs`/`client.rs`), `exec.rs`, `httpreq.rs`, `manual.rs`,
//! and hosted APIs over `http.rs`: `cloudflare.rs`, `digitalocean.rs`, `duckdns.rs`,
//! `gandiv5.rs`, `gcloud.rs`, `godaddy.rs`, `hetzner.rs`, `namecheap.rs`, `porkbun.rs`, `route53.rs`, `azuredns.rs`,
//! `ovh.rs`. A hosted
//! provider finds the zone through its own API (the longest of `zone_candidates` it knows) and
//! remembers the id of each record it created, to delete exactly that one.

mod azuredns;
pub mod client;
mod cloudflare;
mod digitalocean;
mod duckdns;
mod exec;
mod gandiv5;
mod gcloud;
mod godaddy;
mod hetzner;
pub mod http;
mod httpreq;
mod manual;
mod namecheap;
mod ovh;
mod porkbun;
pub mod propagation;
mod rfc2136;
mod route53;
pub mod wire;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::config::static_config::DnsChallengeConfig;

/// Providers swarmgate implements, by lego name.
pub const PROVIDERS: &[&str] = &[
    "azuredns",
    "cloudflare",
    "digitalocean",
    "duckdns",
    "exec",
    "gandiv5",
    "gcloud",
    "godaddy",
    "hetzner",
    "httpreq",
    "manual",
    "namecheap",
    "ovh",
    "porkbun",
    "rfc2136",
    "route53",
];

/// A boxed future, so `DnsProvider` stays object safe (config plane: one allocation per call).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One challenge record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    /// The name validated (a wildcard's base name, without `*.`).
    pub domain: String,
    /// `_acme-challenge.<domain>.`
    pub fqdn: String,
    /// The record's value: base64url(SHA-256(key authorization)).
    pub value: String,
    pub token: String,
    pub key_auth: String,
}

impl TxtRecord {
    pub fn new(domain: &str, token: &str, key_auth: &str, value: &str) -> TxtRecord {
        let domain = domain
            .trim_start_matches("*.")
            .trim_end_matches('.')
            .to_ascii_lowercase();
        TxtRecord {
            fqdn: format!("_acme-challenge.{domain}."),
            domain,
            value: value.to_string(),
            token: token.to_string(),
            key_auth: key_auth.to_string(),
        }
    }
}

/// The zones that may hold `domain`, longest first: `a.b.example.com`, `b.example.com`,
/// `example.com` (never a bare top-level label). Hosted providers ask their API for each.
pub fn zone_candidates(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .collect();
    (0..labels.len().saturating_sub(1))
        .map(|i| labels[i..].join("."))
        .collect()
}

/// Finds the zone holding `domain` by asking the API about each of `zone_candidates`, longest
/// first: `get(zone)` gives the answer's status and body; a 2xx that `pick` accepts ends the
/// walk, a 404 (or a 2xx `pick` refuses) tries the parent, any other status is an error with
/// the body.
pub async fn walk_zones<T, Fut>(
    provider: &'static str,
    domain: &str,
    mut get: impl FnMut(String) -> Fut,
    pick: impl Fn(&str, &serde_json::Value) -> Option<T>,
) -> Result<T, ProviderError>
where
    Fut: Future<Output = Result<(::http::StatusCode, serde_json::Value), ProviderError>>,
{
    let failed = |message| ProviderError::Failed { provider, message };
    for zone in zone_candidates(domain) {
        let (status, answer) = get(zone.clone()).await?;
        if status.is_success() {
            if let Some(found) = pick(&zone, &answer) {
                return Ok(found);
            }
        } else if status != ::http::StatusCode::NOT_FOUND {
            return Err(failed(format!(
                "asking for zone {zone} answered {status}: {answer}"
            )));
        }
    }
    Err(failed(format!("no zone of this account holds {domain}")))
}

/// The part of `fqdn` (`_acme-challenge.a.example.com.`) left of `zone` (`_acme-challenge.a`).
pub fn relative_name(fqdn: &str, zone: &str) -> String {
    let fqdn = fqdn.trim_end_matches('.');
    fqdn.strip_suffix(zone.trim_end_matches('.'))
        .map(|s| s.trim_end_matches('.'))
        .filter(|s| !s.is_empty())
        .unwrap_or("@")
        .to_string()
}

/// How long a provider's records may take to be visible, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub propagation_timeout: Duration,
    pub polling_interval: Duration,
}

/// Publishes and removes TXT records in some DNS.
pub trait DnsProvider: Send + Sync {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>>;
    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>>;
    fn timing(&self) -> Timing;
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider}: {source}")]
    Dns {
        provider: &'static str,
        #[source]
        source: client::DnsError,
    },
    #[error("{provider}: server {server} refused the update of {fqdn}: {rcode}{detail}")]
    Refused {
        provider: &'static str,
        server: String,
        fqdn: String,
        rcode: &'static str,
        detail: String,
    },
    #[error("{provider}: {message}")]
    Failed {
        provider: &'static str,
        message: String,
    },
    #[error("{provider}: the answer of {server} is not trusted (TSIG key {key}): {reason}; the update's outcome is unknown")]
    Unverified {
        provider: &'static str,
        server: String,
        key: String,
        reason: wire::TsigCheck,
    },
}

/// A startup error of `dnsChallenge`: what is missing or wrong, by name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("dnsChallenge.provider is empty (implemented: {})", PROVIDERS.join(", "))]
    NoProvider,
    #[error("dnsChallenge.provider {name:?} is not a DNS provider swarmgate implements{} (implemented: {})", .nearest.map(|n| format!("; did you mean {n:?}?")).unwrap_or_default(), PROVIDERS.join(", "))]
    UnknownProvider {
        name: String,
        nearest: Option<&'static str>,
    },
    #[error("DNS provider {provider}: missing environment variable(s) {} (or the same names with _FILE)", .vars.join(", "))]
    Missing {
        provider: &'static str,
        vars: Vec<&'static str>,
    },
    #[error("DNS provider {provider}: {var}={value:?}: {reason}")]
    Invalid {
        provider: &'static str,
        var: String,
        value: String,
        reason: String,
    },
    #[error("dnsChallenge.resolvers: {0:?} is not a DNS server address")]
    Resolver(String),
}

/// The process environment as lego reads it: `NAME`, else the content of the file `NAME_FILE`.
pub struct Env<'a> {
    lookup: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a (dyn Fn(&str) -> Option<String> + Sync)) -> Env<'a> {
        Env { lookup }
    }

    /// The value of `name` (non-empty), or of the file named by `name_FILE`.
    pub fn get(&self, provider: &'static str, name: &str) -> Result<Option<String>, SetupError> {
        if let Some(v) = (self.lookup)(name).filter(|v| !v.is_empty()) {
            return Ok(Some(v));
        }
        let file_var = format!("{name}_FILE");
        let Some(path) = (self.lookup)(&file_var).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match std::fs::read_to_string(&path) {
            Ok(content) => Ok(Some(content.trim().to_string())),
            Err(e) => Err(SetupError::Invalid {
                provider,
                var: file_var,
                value: path,
                reason: format!("cannot read the file: {e}"),
            }),
        }
    }

    /// The values of `names`, all required: the error lists every one missing.
    pub fn require<const N: usize>(
        &self,
        provider: &'static str,
        names: [&'static str; N],
    ) -> Result<[String; N], SetupError> {
        let mut missing = Vec::new();
        let mut out: [String; N] = std::array::from_fn(|_| String::new());
        for (slot, name) in out.iter_mut().zip(names) {
            match self.get(provider, name)? {
                Some(v) => *slot = v,
                None => missing.push(name),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(SetupError::Missing {
                provider,
                vars: missing,
            })
        }
    }

    /// A whole number of seconds (lego's `GetOrDefaultSecond`), `default` when unset.
    pub fn seconds(
        &self,
        provider: &'static str,
        name: &str,
        default: Duration,
    ) -> Result<Duration, SetupError> {
        match self.get(provider, name)? {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| SetupError::Invalid {
                    provider,
                    var: name.to_string(),
                    value: v,
                    reason: "expected a whole number of seconds".into(),
                }),
        }
    }

    /// lego's `<PREFIX>_PROPAGATION_TIMEOUT` / `<PREFIX>_POLLING_INTERVAL` (seconds).
    pub fn timing(
        &self,
        provider: &'static str,
        prefix: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<Timing, SetupError> {
        Ok(Timing {
            propagation_timeout: self.seconds(
                provider,
                &format!("{prefix}_PROPAGATION_TIMEOUT"),
                timeout,
            )?,
            polling_interval: self.seconds(
                provider,
                &format!("{prefix}_POLLING_INTERVAL"),
                interval,
            )?,
        })
    }
}

/// A resolver's DNS-01 setup: its provider and how propagation is checked.
pub struct Dns01 {
    pub provider: Box<dyn DnsProvider>,
    pub check: propagation::Check,
}

impl std::fmt::Debug for Dns01 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns01")
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl Dns01 {
    /// Builds the provider named by `cfg.provider` from `env`.
    pub fn new(cfg: &DnsChallengeConfig, env: &Env<'_>) -> Result<Dns01, SetupError> {
        let mut resolvers = Vec::new();
        for r in &cfg.resolvers {
            resolvers.push(client::server_addr(r).map_err(|_| SetupError::Resolver(r.clone()))?);
        }
        let name = cfg.provider.trim().to_ascii_lowercase();
        let provider: Box<dyn DnsProvider> = match name.as_str() {
            "" => return Err(SetupError::NoProvider),
            "rfc2136" => Box::new(rfc2136::Rfc2136::from_env(env)?),
            "exec" => Box::new(exec::Exec::from_env(env)?),
            "httpreq" => Box::new(httpreq::HttpReq::from_env(env)?),
            "manual" => Box::new(manual::Manual::from_env(env)?),
            "cloudflare" => Box::new(cloudflare::Cloudflare::from_env(env)?),
            "digitalocean" => Box::new(digitalocean::DigitalOcean::from_env(env)?),
            "hetzner" => Box::new(hetzner::Hetzner::from_env(env)?),
            "duckdns" => Box::new(duckdns::DuckDns::from_env(env)?),
            "gandiv5" => Box::new(gandiv5::GandiV5::from_env(env)?),
            "godaddy" => Box::new(godaddy::GoDaddy::from_env(env)?),
            "porkbun" => Box::new(porkbun::Porkbun::from_env(env)?),
            "ovh" => Box::new(ovh::Ovh::from_env(env)?),
            "azuredns" => Box::new(azuredns::AzureDns::from_env(env)?),
            "route53" => Box::new(route53::Route53::from_env(env)?),
            "namecheap" => Box::new(namecheap::Namecheap::from_env(env)?),
            "gcloud" => Box::new(gcloud::GCloud::from_env(env)?),
            _ => {
                return Err(SetupError::UnknownProvider {
                    nearest: crate::config::elements::nearest(&name, PROVIDERS),
                    name: cfg.provider.clone(),
                })
            }
        };
        let check = propagation::Check::new(cfg, resolvers, provider.timing());
        Ok(Dns01 { provider, check })
    }
}

#[cfg(test)]
mod tests;
