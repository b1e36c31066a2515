//! `gandiv5`: Gandi LiveDNS (API v5). `GANDIV5_PERSONAL_ACCESS_TOKEN` (Bearer) or the older
//! `GANDIV5_API_KEY` (`Apikey`); `GANDIV5_TTL` (300), `GANDIV5_PROPAGATION_TIMEOUT` (1200),
//! `GANDIV5_POLLING_INTERVAL` (20), `GANDIV5_HTTP_TIMEOUT` (10); `GANDIV5_API_URL` (swarmgate's,
//! for tests) replaces `https://api.gandi.net/v5/livedns`.
//!
//! Calls: `GET /domains/<zone>` (200 or 404), `GET /domains/<zone>/records/<name>/TXT` (the
//! values already there), `PUT` the same path with `{"rrset_ttl", "rrset_values"}` (value added
//! or removed), `DELETE` it when the last value goes.

use std::time::Duration;

use serde_json::{json, Value};

use super::http;
use super::{
    relative_name, zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "gandiv5";

pub struct GandiV5 {
    base: String,
    auth: Vec<(&'static str, String)>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// One change at a time: present/cleanup read, then rewrite the whole set.
    lock: tokio::sync::Mutex<()>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl GandiV5 {
    pub fn from_env(env: &Env<'_>) -> Result<GandiV5, SetupError> {
        let auth = match (
            env.get(NAME, "GANDIV5_PERSONAL_ACCESS_TOKEN")?,
            env.get(NAME, "GANDIV5_API_KEY")?,
        ) {
            (Some(token), _) => vec![("authorization", format!("Bearer {token}"))],
            (None, Some(key)) => vec![("authorization", format!("Apikey {key}"))],
            (None, None) => {
                return Err(SetupError::Missing {
                    provider: NAME,
                    vars: vec!["GANDIV5_PERSONAL_ACCESS_TOKEN (or GANDIV5_API_KEY)"],
                })
            }
        };
        Ok(GandiV5 {
            base: env
                .get(NAME, "GANDIV5_API_URL")?
                .unwrap_or_else(|| "https://api.gandi.net/v5/livedns".into())
                .trim_end_matches('/')
                .to_string(),
            auth,
            ttl: env
                .seconds(NAME, "GANDIV5_TTL", Duration::from_secs(300))?
                .as_secs(),
            timeout: env.seconds(NAME, "GANDIV5_HTTP_TIMEOUT", Duration::from_secs(10))?,
            timing: env.timing(
                NAME,
                "GANDIV5",
                Duration::from_secs(1200),
                Duration::from_secs(20),
            )?,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    async fn rrset_url(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        for zone in zone_candidates(&record.domain) {
            let url = format!("{}/domains/{zone}", self.base);
            let (status, _) = http::json(::http::Method::GET, &url, &self.auth, None, self.timeout)
                .await
                .map_err(|e| failed(e.to_string()))?;
            if status.is_success() {
                let name = relative_name(&record.fqdn, &zone);
                return Ok(format!("{}/domains/{zone}/records/{name}/TXT", self.base));
            }
            if status != ::http::StatusCode::NOT_FOUND {
                return Err(failed(format!("{url} answered {status}")));
            }
        }
        Err(failed(format!(
            "no domain of this account holds {}",
            record.domain
        )))
    }

    async fn values(&self, url: &str) -> Result<Vec<String>, ProviderError> {
        let (status, answer) = http::json(::http::Method::GET, url, &self.auth, None, self.timeout)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if status == ::http::StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !status.is_success() {
            return Err(failed(format!("{url} answered {status}: {answer}")));
        }
        Ok(answer["rrset_values"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim_matches('"').to_string())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn change(&self, record: &TxtRecord, add: bool) -> Result<(), ProviderError> {
        let _one = self.lock.lock().await;
        let url = self.rrset_url(record).await?;
        let mut values = self.values(&url).await?;
        values.retain(|v| *v != record.value);
        if add {
            values.push(record.value.clone());
        }
        if values.is_empty() {
            http::call(
                NAME,
                ::http::Method::DELETE,
                &url,
                &self.auth,
                None,
                self.timeout,
            )
            .await?;
        } else {
            let body = json!({"rrset_ttl": self.ttl, "rrset_values": values});
            http::call(
                NAME,
                ::http::Method::PUT,
                &url,
                &self.auth,
                Some(&body),
                self.timeout,
            )
            .await?;
        }
        Ok(())
    }
}

impl DnsProvider for GandiV5 {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.change(record, true))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.change(record, false))
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}
