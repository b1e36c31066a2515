//! `godaddy`: GoDaddy Domains API. `GODADDY_API_KEY` + `GODADDY_API_SECRET` (required, sent as
//! `Authorization: sso-key KEY:SECRET`), `GODADDY_TTL` (600), `GODADDY_PROPAGATION_TIMEOUT`
//! (120), `GODADDY_POLLING_INTERVAL` (2), `GODADDY_HTTP_TIMEOUT` (30); `GODADDY_API_URL`
//! (swarmgate's, for tests) replaces `https://api.godaddy.com`.
//!
//! Calls: `GET /v1/domains/<zone>` (200 or 404), `GET /v1/domains/<zone>/records/TXT/<name>`
//! (the records there), `PUT` the same path with the whole list (value added or removed),
//! `DELETE` it when the last record goes.

use std::time::Duration;

use serde_json::{json, Value};

use super::http;
use super::{
    relative_name, zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "godaddy";

pub struct GoDaddy {
    base: String,
    auth: Vec<(&'static str, String)>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// One change at a time: present/cleanup read, then rewrite the whole list.
    lock: tokio::sync::Mutex<()>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl GoDaddy {
    pub fn from_env(env: &Env<'_>) -> Result<GoDaddy, SetupError> {
        let [key, secret] = env.require(NAME, ["GODADDY_API_KEY", "GODADDY_API_SECRET"])?;
        Ok(GoDaddy {
            base: env
                .get(NAME, "GODADDY_API_URL")?
                .unwrap_or_else(|| "https://api.godaddy.com".into())
                .trim_end_matches('/')
                .to_string(),
            auth: vec![("authorization", format!("sso-key {key}:{secret}"))],
            ttl: env
                .seconds(NAME, "GODADDY_TTL", Duration::from_secs(600))?
                .as_secs(),
            timeout: env.seconds(NAME, "GODADDY_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "GODADDY",
                Duration::from_secs(120),
                Duration::from_secs(2),
            )?,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    async fn records_url(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        for zone in zone_candidates(&record.domain) {
            let url = format!("{}/v1/domains/{zone}", self.base);
            let (status, _) = http::json(::http::Method::GET, &url, &self.auth, None, self.timeout)
                .await
                .map_err(|e| failed(e.to_string()))?;
            if status.is_success() {
                let name = relative_name(&record.fqdn, &zone);
                return Ok(format!(
                    "{}/v1/domains/{zone}/records/TXT/{name}",
                    self.base
                ));
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

    async fn change(&self, record: &TxtRecord, add: bool) -> Result<(), ProviderError> {
        let _one = self.lock.lock().await;
        let url = self.records_url(record).await?;
        let existing = http::call(
            NAME,
            ::http::Method::GET,
            &url,
            &self.auth,
            None,
            self.timeout,
        )
        .await?;
        let mut values: Vec<String> = existing
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["data"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
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
            let body = Value::Array(
                values
                    .iter()
                    .map(|v| json!({"data": v, "ttl": self.ttl}))
                    .collect(),
            );
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

impl DnsProvider for GoDaddy {
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
