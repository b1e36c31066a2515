//! `digitalocean`: DigitalOcean API v2. `DO_AUTH_TOKEN` (required), `DO_TTL` (30),
//! `DO_PROPAGATION_TIMEOUT` (60), `DO_POLLING_INTERVAL` (5), `DO_HTTP_TIMEOUT` (30), `DO_API_URL`
//! (lego's; default `https://api.digitalocean.com`).
//!
//! Calls: `GET /v2/domains/<zone>` (200 or 404, to find the zone),
//! `POST /v2/domains/<zone>/records`, `DELETE /v2/domains/<zone>/records/<id>`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::http;
use super::{
    walk_zones, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord,
};

const NAME: &str = "digitalocean";

pub struct DigitalOcean {
    base: String,
    auth: Vec<(&'static str, String)>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// (fqdn, value) → (zone, record id).
    created: tokio::sync::Mutex<HashMap<(String, String), (String, u64)>>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl DigitalOcean {
    pub fn from_env(env: &Env<'_>) -> Result<DigitalOcean, SetupError> {
        let [token] = env.require(NAME, ["DO_AUTH_TOKEN"])?;
        Ok(DigitalOcean {
            base: env
                .get(NAME, "DO_API_URL")?
                .unwrap_or_else(|| "https://api.digitalocean.com".into())
                .trim_end_matches('/')
                .to_string(),
            auth: vec![("authorization", format!("Bearer {token}"))],
            ttl: env
                .seconds(NAME, "DO_TTL", Duration::from_secs(30))?
                .as_secs(),
            timeout: env.seconds(NAME, "DO_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(NAME, "DO", Duration::from_secs(60), Duration::from_secs(5))?,
            created: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn zone(&self, domain: &str) -> Result<String, ProviderError> {
        let get = |zone: String| async move {
            let url = format!("{}/v2/domains/{zone}", self.base);
            http::json(::http::Method::GET, &url, &self.auth, None, self.timeout)
                .await
                .map_err(|e| failed(e.to_string()))
        };
        walk_zones(NAME, domain, get, |zone, _| Some(zone.to_string())).await
    }

    async fn present(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let zone = self.zone(&record.domain).await?;
        let url = format!("{}/v2/domains/{zone}/records", self.base);
        let body =
            json!({"type": "TXT", "name": record.fqdn, "data": record.value, "ttl": self.ttl});
        let (status, answer) = http::json(
            ::http::Method::POST,
            &url,
            &self.auth,
            Some(&body),
            self.timeout,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
        let id = answer["domain_record"]["id"].as_u64();
        match (status.is_success(), id) {
            (true, Some(id)) => {
                self.created
                    .lock()
                    .await
                    .insert((record.fqdn.clone(), record.value.clone()), (zone, id));
                Ok(())
            }
            _ => Err(failed(format!(
                "{url} answered {status}: {}",
                answer["message"]
            ))),
        }
    }

    async fn cleanup(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let key = (record.fqdn.clone(), record.value.clone());
        let Some((zone, id)) = self.created.lock().await.remove(&key) else {
            return Err(failed(format!("no record of ours for {}", record.fqdn)));
        };
        let url = format!("{}/v2/domains/{zone}/records/{id}", self.base);
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

impl DnsProvider for DigitalOcean {
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
