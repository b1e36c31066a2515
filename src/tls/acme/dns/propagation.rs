//! Before the CA is told to validate: wait until the TXT record is visible, as lego's pre-check
//! does (Traefik 3.7 `dnsChallenge.propagation`): after `delayBeforeChecks`, poll every
//! provider polling interval, bounded by its propagation timeout, until
//! - with `requireAllRNS`, every recursive resolver (`resolvers`, else `/etc/resolv.conf`)
//!   answers the value, and
//! - unless `disableANSChecks`, every authoritative server of the zone (its NS records, port 53)
//!   answers it.
//!
//! `disableChecks` (or the older `disablePropagationCheck`) skips the polling, not the delay.

use std::net::SocketAddr;
use std::time::Duration;

use super::client::{self, DnsError};
use super::{Timing, TxtRecord};
use crate::config::static_config::DnsChallengeConfig;

const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub disabled: bool,
    pub delay: Duration,
    /// Configured recursive resolvers; empty: the system's.
    pub resolvers: Vec<SocketAddr>,
    pub require_all_rns: bool,
    pub disable_ans: bool,
    pub timing: Timing,
}

#[derive(Debug, thiserror::Error)]
pub enum PropagationError {
    #[error("TXT {fqdn} = {value:?} not visible within {timeout:?} ({last})")]
    NotVisible {
        fqdn: String,
        value: String,
        timeout: Duration,
        last: String,
    },
}

impl Check {
    pub fn new(cfg: &DnsChallengeConfig, resolvers: Vec<SocketAddr>, timing: Timing) -> Check {
        let p = cfg.propagation.clone().unwrap_or_default();
        Check {
            disabled: cfg.disable_propagation_check || p.disable_checks,
            delay: p
                .delay_before_checks
                .or(cfg.delay_before_check)
                .map_or(Duration::ZERO, |d| d.0),
            resolvers,
            require_all_rns: p.require_all_rns,
            disable_ans: p.disable_ans_checks,
            timing,
        }
    }

    /// The recursive resolvers used (configured, else the system's).
    pub fn recursive(&self) -> Vec<SocketAddr> {
        if self.resolvers.is_empty() {
            client::system_resolvers()
        } else {
            self.resolvers.clone()
        }
    }

    /// Waits until `record` is visible, or fails after the provider's propagation timeout.
    pub async fn wait(&self, record: &TxtRecord) -> Result<(), PropagationError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.disabled {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + self.timing.propagation_timeout;
        loop {
            let last = match self.once(record).await {
                Ok(None) => {
                    tracing::debug!(fqdn = %record.fqdn, "TXT record visible");
                    return Ok(());
                }
                Ok(Some(reason)) => reason,
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() + self.timing.polling_interval > deadline {
                return Err(PropagationError::NotVisible {
                    fqdn: record.fqdn.clone(),
                    value: record.value.clone(),
                    timeout: self.timing.propagation_timeout,
                    last,
                });
            }
            tracing::debug!(fqdn = %record.fqdn, reason = %last, "TXT record not yet visible");
            tokio::time::sleep(self.timing.polling_interval).await;
        }
    }

    /// One round: `None` when visible everywhere required, else why not.
    async fn once(&self, record: &TxtRecord) -> Result<Option<String>, DnsError> {
        let recursive = self.recursive();
        if self.require_all_rns {
            for server in &recursive {
                let values = client::txt_values(*server, &record.fqdn, true, QUERY_TIMEOUT).await?;
                if !values.contains(&record.value) {
                    return Ok(Some(format!("resolver {server} does not answer it yet")));
                }
            }
        }
        if self.disable_ans {
            return Ok(None);
        }
        let zone = client::find_zone(&recursive, &record.fqdn, QUERY_TIMEOUT).await?;
        let authoritative = client::nameservers(&recursive, &zone, QUERY_TIMEOUT).await?;
        for server in authoritative {
            let values = client::txt_values(server, &record.fqdn, false, QUERY_TIMEOUT).await?;
            if !values.contains(&record.value) {
                return Ok(Some(format!(
                    "authoritative server {server} of {zone} does not answer it yet"
                )));
            }
        }
        Ok(None)
    }
}
