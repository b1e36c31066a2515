//! `cloudflare`: Cloudflare API v4. `CF_DNS_API_TOKEN` (or `CLOUDFLARE_DNS_API_TOKEN`; with
//! `CF_ZONE_API_TOKEN` for the zone lookup when given), else `CF_API_EMAIL` + `CF_API_KEY`
//! (`CLOUDFLARE_EMAIL` + `CLOUDFLARE_API_KEY`). `CLOUDFLARE_TTL` (120),
//! `CLOUDFLARE_PROPAGATION_TIMEOUT` (120), `CLOUDFLARE_POLLING_INTERVAL` (2),
//! `CLOUDFLARE_HTTP_TIMEOUT` (30). `CLOUDFLARE_BASE_URL` (swarmgate's, for tests) replaces
//! `https://api.cloudflare.com/client/v4`.
//!
//! Calls: `GET /zones?name=<zone>`, `POST /zones/<id>/dns_records`,
//! `DELETE /zones/<id>/dns_records/<record id>`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::http;
use super::{
    zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord,
};

const NAME: &str = "cloudflare";

pub struct Cloudflare {
    base: String,
    auth: Vec<(&'static str, String)>,
    zone_auth: Vec<(&'static str, String)>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// (fqdn, value) → (zone id, record id), for cleanup.
    created: tokio::sync::Mutex<HashMap<(String, String), (String, String)>>,
}

fn either(env: &Env<'_>, a: &str, b: &str) -> Result<Option<String>, SetupError> {
    Ok(match env.get(NAME, a)? {
        Some(v) => Some(v),
        None => env.get(NAME, b)?,
    })
}

impl Cloudflare {
    pub fn from_env(env: &Env<'_>) -> Result<Cloudflare, SetupError> {
        let bearer = |t: String| vec![("authorization", format!("Bearer {t}"))];
        let auth = match either(env, "CF_DNS_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN")? {
            Some(token) => bearer(token),
            None => match (
                either(env, "CF_API_EMAIL", "CLOUDFLARE_EMAIL")?,
                either(env, "CF_API_KEY", "CLOUDFLARE_API_KEY")?,
            ) {
                (Some(email), Some(key)) => vec![("x-auth-email", email), ("x-auth-key", key)],
                (email, _) => {
                    return Err(SetupError::Missing {
                        provider: NAME,
                        vars: if email.is_some() {
                            vec!["CF_API_KEY"]
                        } else {
                            vec!["CF_DNS_API_TOKEN (or CF_API_EMAIL + CF_API_KEY)"]
                        },
                    })
                }
            },
        };
        let zone_auth = match either(env, "CF_ZONE_API_TOKEN", "CLOUDFLARE_ZONE_API_TOKEN")? {
            Some(token) => bearer(token),
            None => auth.clone(),
        };
        Ok(Cloudflare {
            base: env
                .get(NAME, "CLOUDFLARE_BASE_URL")?
                .unwrap_or_else(|| "https://api.cloudflare.com/client/v4".into())
                .trim_end_matches('/')
                .to_string(),
            auth,
            zone_auth,
            ttl: env
                .seconds(NAME, "CLOUDFLARE_TTL", Duration::from_secs(120))?
                .as_secs(),
            timeout: env.seconds(NAME, "CLOUDFLARE_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "CLOUDFLARE",
                Duration::from_secs(120),
                Duration::from_secs(2),
            )?,
            created: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn call(
        &self,
        method: ::http::Method,
        path: &str,
        auth: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}{path}", self.base);
        let (status, answer) = http::json(method, &url, auth, body, self.timeout)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !status.is_success() || answer["success"] != json!(true) {
            return Err(failed(format!(
                "{url} answered {status}: {}",
                answer["errors"]
            )));
        }
        Ok(answer)
    }

    async fn zone_id(&self, domain: &str) -> Result<String, ProviderError> {
        for zone in zone_candidates(domain) {
            let answer = self
                .call(
                    ::http::Method::GET,
                    &format!("/zones?name={zone}"),
                    &self.zone_auth,
                    None,
                )
                .await?;
            if let Some(id) = answer["result"][0]["id"].as_str() {
                return Ok(id.to_string());
            }
        }
        Err(failed(format!("no zone of this account holds {domain}")))
    }

    async fn present(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let zone = self.zone_id(&record.domain).await?;
        let body = json!({
            "type": "TXT",
            "name": record.fqdn.trim_end_matches('.'),
            "content": record.value,
            "ttl": self.ttl,
        });
        let answer = self
            .call(
                ::http::Method::POST,
                &format!("/zones/{zone}/dns_records"),
                &self.auth,
                Some(&body),
            )
            .await?;
        let id = answer["result"]["id"]
            .as_str()
            .ok_or_else(|| failed("the created record has no id".into()))?;
        self.created.lock().await.insert(
            (record.fqdn.clone(), record.value.clone()),
            (zone, id.to_string()),
        );
        Ok(())
    }

    async fn cleanup(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let key = (record.fqdn.clone(), record.value.clone());
        let Some((zone, id)) = self.created.lock().await.remove(&key) else {
            return Err(failed(format!("no record of ours for {}", record.fqdn)));
        };
        self.call(
            ::http::Method::DELETE,
            &format!("/zones/{zone}/dns_records/{id}"),
            &self.auth,
            None,
        )
        .await?;
        Ok(())
    }
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl DnsProvider for Cloudflare {
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
