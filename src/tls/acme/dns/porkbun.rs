//! `porkbun`: Porkbun API v3. `PORKBUN_API_KEY` + `PORKBUN_SECRET_API_KEY` (required, sent in
//! each JSON body), `PORKBUN_TTL` (300), `PORKBUN_PROPAGATION_TIMEOUT` (600),
//! `PORKBUN_POLLING_INTERVAL` (10), `PORKBUN_HTTP_TIMEOUT` (10); `PORKBUN_API_URL` (swarmgate's,
//! for tests) replaces `https://api.porkbun.com/api/json/v3`.
//!
//! Calls (all `POST`, `{"status": "SUCCESS"}` or `{"status": "ERROR", "message"}`):
//! `/dns/retrieve/<zone>` (to find the zone), `/dns/create/<zone>`, `/dns/delete/<zone>/<id>`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::http;
use super::{
    relative_name, zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "porkbun";

pub struct Porkbun {
    base: String,
    key: String,
    secret: String,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// (fqdn, value) → (zone, record id).
    created: tokio::sync::Mutex<HashMap<(String, String), (String, String)>>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl Porkbun {
    pub fn from_env(env: &Env<'_>) -> Result<Porkbun, SetupError> {
        let [key, secret] = env.require(NAME, ["PORKBUN_API_KEY", "PORKBUN_SECRET_API_KEY"])?;
        Ok(Porkbun {
            base: env
                .get(NAME, "PORKBUN_API_URL")?
                .unwrap_or_else(|| "https://api.porkbun.com/api/json/v3".into())
                .trim_end_matches('/')
                .to_string(),
            key,
            secret,
            ttl: env
                .seconds(NAME, "PORKBUN_TTL", Duration::from_secs(300))?
                .as_secs(),
            timeout: env.seconds(NAME, "PORKBUN_HTTP_TIMEOUT", Duration::from_secs(10))?,
            timing: env.timing(
                NAME,
                "PORKBUN",
                Duration::from_secs(600),
                Duration::from_secs(10),
            )?,
            created: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A call; `Ok(None)` when Porkbun answered `ERROR` (its message in the `Err` otherwise).
    async fn post(
        &self,
        path: &str,
        mut body: Value,
    ) -> Result<Result<Value, String>, ProviderError> {
        body["apikey"] = json!(self.key);
        body["secretapikey"] = json!(self.secret);
        let url = format!("{}{path}", self.base);
        let (status, answer) =
            http::json(::http::Method::POST, &url, &[], Some(&body), self.timeout)
                .await
                .map_err(|e| failed(e.to_string()))?;
        if status.is_success() && answer["status"] == "SUCCESS" {
            Ok(Ok(answer))
        } else {
            Ok(Err(format!(
                "{url} answered {status}: {}",
                answer["message"]
            )))
        }
    }

    async fn zone(&self, domain: &str) -> Result<String, ProviderError> {
        let mut last = String::new();
        for zone in zone_candidates(domain) {
            match self
                .post(&format!("/dns/retrieve/{zone}"), json!({}))
                .await?
            {
                Ok(_) => return Ok(zone),
                Err(message) => last = message,
            }
        }
        Err(failed(format!(
            "no domain of this account holds {domain} ({last})"
        )))
    }

    async fn present(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let zone = self.zone(&record.domain).await?;
        let name = relative_name(&record.fqdn, &zone);
        let body = json!({
            "name": if name == "@" { String::new() } else { name },
            "type": "TXT",
            "content": record.value,
            "ttl": self.ttl.to_string(),
        });
        let answer = self
            .post(&format!("/dns/create/{zone}"), body)
            .await?
            .map_err(failed)?;
        let id = match &answer["id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(failed("the created record has no id".into())),
        };
        self.created
            .lock()
            .await
            .insert((record.fqdn.clone(), record.value.clone()), (zone, id));
        Ok(())
    }

    async fn cleanup(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let key = (record.fqdn.clone(), record.value.clone());
        let Some((zone, id)) = self.created.lock().await.remove(&key) else {
            return Err(failed(format!("no record of ours for {}", record.fqdn)));
        };
        self.post(&format!("/dns/delete/{zone}/{id}"), json!({}))
            .await?
            .map_err(failed)?;
        Ok(())
    }
}

impl DnsProvider for Porkbun {
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
