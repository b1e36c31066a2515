//! `hetzner`: Hetzner DNS Console API. `HETZNER_API_KEY` (required, sent as `Auth-API-Token`),
//! `HETZNER_TTL` (120), `HETZNER_PROPAGATION_TIMEOUT` (120), `HETZNER_POLLING_INTERVAL` (2),
//! `HETZNER_HTTP_TIMEOUT` (30). `HETZNER_API_URL` (swarmgate's, for tests) replaces
//! `https://dns.hetzner.com`.
//!
//! Calls: `GET /api/v1/zones?name=<zone>`, `POST /api/v1/records` (name relative to the zone),
//! `DELETE /api/v1/records/<id>`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::http;
use super::{
    relative_name, walk_zones, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "hetzner";

pub struct Hetzner {
    base: String,
    auth: Vec<(&'static str, String)>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// (fqdn, value) → record id.
    created: tokio::sync::Mutex<HashMap<(String, String), String>>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl Hetzner {
    pub fn from_env(env: &Env<'_>) -> Result<Hetzner, SetupError> {
        let [key] = env.require(NAME, ["HETZNER_API_KEY"])?;
        Ok(Hetzner {
            base: env
                .get(NAME, "HETZNER_API_URL")?
                .unwrap_or_else(|| "https://dns.hetzner.com".into())
                .trim_end_matches('/')
                .to_string(),
            auth: vec![("auth-api-token", key)],
            ttl: env
                .seconds(NAME, "HETZNER_TTL", Duration::from_secs(120))?
                .as_secs(),
            timeout: env.seconds(NAME, "HETZNER_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "HETZNER",
                Duration::from_secs(120),
                Duration::from_secs(2),
            )?,
            created: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn zone(&self, domain: &str) -> Result<(String, String), ProviderError> {
        let get = |zone: String| async move {
            let url = format!("{}/api/v1/zones?name={zone}", self.base);
            http::json(::http::Method::GET, &url, &self.auth, None, self.timeout)
                .await
                .map_err(|e| failed(e.to_string()))
        };
        walk_zones(NAME, domain, get, |zone, answer| {
            let id = answer["zones"][0]["id"].as_str()?;
            Some((zone.to_string(), id.to_string()))
        })
        .await
    }

    async fn present(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let (zone, zone_id) = self.zone(&record.domain).await?;
        let url = format!("{}/api/v1/records", self.base);
        let body = json!({
            "name": relative_name(&record.fqdn, &zone),
            "ttl": self.ttl,
            "type": "TXT",
            "value": record.value,
            "zone_id": zone_id,
        });
        let (status, answer) = http::json(
            ::http::Method::POST,
            &url,
            &self.auth,
            Some(&body),
            self.timeout,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
        match (status.is_success(), answer["record"]["id"].as_str()) {
            (true, Some(id)) => {
                self.created
                    .lock()
                    .await
                    .insert((record.fqdn.clone(), record.value.clone()), id.to_string());
                Ok(())
            }
            _ => Err(failed(format!(
                "{url} answered {status}: {}",
                answer["error"]
            ))),
        }
    }

    async fn cleanup(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let key = (record.fqdn.clone(), record.value.clone());
        let Some(id) = self.created.lock().await.remove(&key) else {
            return Err(failed(format!("no record of ours for {}", record.fqdn)));
        };
        let url = format!("{}/api/v1/records/{id}", self.base);
        http::call(
            NAME,
            ::http::Method::DELETE,
            &url,
            &self.auth,
            None,
            self.timeout,
        )
        .await?;
        Ok(())
    }
}

impl DnsProvider for Hetzner {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.present(record))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.cleanup(record))
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}
