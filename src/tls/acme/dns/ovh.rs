//! `ovh`: the OVHcloud API with an application key (lego's and go-ovh's protocol).
//! `OVH_ENDPOINT` (required: `ovh-eu`, `ovh-ca`, `ovh-us`, `kimsufi-eu`, `kimsufi-ca`,
//! `soyoustart-eu`, `soyoustart-ca`, or an API URL), `OVH_APPLICATION_KEY`,
//! `OVH_APPLICATION_SECRET`, `OVH_CONSUMER_KEY` (required), `OVH_TTL` (120),
//! `OVH_PROPAGATION_TIMEOUT` (60), `OVH_POLLING_INTERVAL` (2), `OVH_HTTP_TIMEOUT` (180), seconds.
//! OVH's OAuth2 credentials (`OVH_CLIENT_ID`) are not implemented: a startup error says so.
//!
//! Every call is signed as go-ovh signs it: `X-Ovh-Signature: $1$` + hex SHA-1 of
//! `secret+consumer+METHOD+URL+body+timestamp`, the timestamp corrected by the server's clock
//! (`GET /auth/time`, once). Calls: `GET /domain/zone/<zone>` (to find the zone),
//! `POST /domain/zone/<zone>/record`, `DELETE /domain/zone/<zone>/record/<id>`, each change
//! followed by `POST /domain/zone/<zone>/refresh`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sha1::{Digest as _, Sha1};

use super::http;
use super::{
    relative_name, walk_zones, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "ovh";

/// go-ovh's endpoint names.
const ENDPOINTS: &[(&str, &str)] = &[
    ("ovh-eu", "https://eu.api.ovh.com/1.0"),
    ("ovh-ca", "https://ca.api.ovh.com/1.0"),
    ("ovh-us", "https://api.us.ovhcloud.com/1.0"),
    ("kimsufi-eu", "https://eu.api.kimsufi.com/1.0"),
    ("kimsufi-ca", "https://ca.api.kimsufi.com/1.0"),
    ("soyoustart-eu", "https://eu.api.soyoustart.com/1.0"),
    ("soyoustart-ca", "https://ca.api.soyoustart.com/1.0"),
];

pub struct Ovh {
    base: String,
    application_key: String,
    application_secret: String,
    consumer_key: String,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// The server's clock minus ours, seconds, once asked.
    delta: tokio::sync::OnceCell<i64>,
    /// (fqdn, value) → (zone, record id).
    created: tokio::sync::Mutex<HashMap<(String, String), (String, u64)>>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

/// go-ovh's signature of one call.
pub fn signature(
    secret: &str,
    consumer: &str,
    method: &str,
    url: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let digest = Sha1::digest(format!(
        "{secret}+{consumer}+{method}+{url}+{body}+{timestamp}"
    ));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("$1${hex}")
}

impl Ovh {
    pub fn from_env(env: &Env<'_>) -> Result<Ovh, SetupError> {
        if env.get(NAME, "OVH_CLIENT_ID")?.is_some()
            && env.get(NAME, "OVH_APPLICATION_KEY")?.is_none()
        {
            return Err(SetupError::Invalid {
                provider: NAME,
                var: "OVH_CLIENT_ID".into(),
                value: "<set>".into(),
                reason: "OVH OAuth2 credentials are not implemented; use OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY".into(),
            });
        }
        let [endpoint, application_key, application_secret, consumer_key] = env.require(
            NAME,
            [
                "OVH_ENDPOINT",
                "OVH_APPLICATION_KEY",
                "OVH_APPLICATION_SECRET",
                "OVH_CONSUMER_KEY",
            ],
        )?;
        let base = match ENDPOINTS.iter().find(|(n, _)| *n == endpoint.trim()) {
            Some((_, url)) => (*url).to_string(),
            None if endpoint.starts_with("https://") || endpoint.starts_with("http://") => {
                endpoint.trim_end_matches('/').to_string()
            }
            None => {
                let names: Vec<&str> = ENDPOINTS.iter().map(|(n, _)| *n).collect();
                return Err(SetupError::Invalid {
                    provider: NAME,
                    var: "OVH_ENDPOINT".into(),
                    value: endpoint,
                    reason: format!("not one of {} nor an API URL", names.join(", ")),
                });
            }
        };
        Ok(Ovh {
            base,
            application_key,
            application_secret,
            consumer_key,
            ttl: env
                .seconds(NAME, "OVH_TTL", Duration::from_secs(120))?
                .as_secs(),
            timeout: env.seconds(NAME, "OVH_HTTP_TIMEOUT", Duration::from_secs(180))?,
            timing: env.timing(NAME, "OVH", Duration::from_secs(60), Duration::from_secs(2))?,
            delta: tokio::sync::OnceCell::new(),
            created: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The server's clock minus ours (`GET /auth/time`, unsigned, as go-ovh asks once).
    async fn delta(&self) -> Result<i64, ProviderError> {
        let ours = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let url = format!("{}/auth/time", self.base);
        let delta = self
            .delta
            .get_or_try_init(|| async {
                let (status, answer) =
                    http::json(::http::Method::GET, &url, &[], None, self.timeout)
                        .await
                        .map_err(|e| failed(e.to_string()))?;
                match (status.is_success(), answer.as_i64()) {
                    (true, Some(server)) => Ok(server - ours()),
                    _ => Err(failed(format!("{url} answered {status}: {answer}"))),
                }
            })
            .await?;
        Ok(*delta + ours())
    }

    /// One signed call; any answer but 2xx is an error with its body.
    async fn call(
        &self,
        method: ::http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(::http::StatusCode, serde_json::Value), ProviderError> {
        let url = format!("{}{path}", self.base);
        let timestamp = self.delta().await?;
        let text = body.map(ToString::to_string).unwrap_or_default();
        let headers = [
            ("x-ovh-application", self.application_key.clone()),
            ("x-ovh-consumer", self.consumer_key.clone()),
            ("x-ovh-timestamp", timestamp.to_string()),
            (
                "x-ovh-signature",
                signature(
                    &self.application_secret,
                    &self.consumer_key,
                    method.as_str(),
                    &url,
                    &text,
                    timestamp,
                ),
            ),
        ];
        http::json(method, &url, &headers, body, self.timeout)
            .await
            .map_err(|e| failed(e.to_string()))
    }

    async fn checked(
        &self,
        method: ::http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ProviderError> {
        let (status, answer) = self.call(method, path, body).await?;
        if !status.is_success() {
            return Err(failed(format!("{path} answered {status}: {answer}")));
        }
        Ok(answer)
    }

    async fn zone(&self, domain: &str) -> Result<String, ProviderError> {
        let get = |zone: String| async move {
            self.call(::http::Method::GET, &format!("/domain/zone/{zone}"), None)
                .await
        };
        walk_zones(NAME, domain, get, |zone, _| Some(zone.to_string())).await
    }

    async fn present(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let zone = self.zone(&record.domain).await?;
        let body = json!({
            "fieldType": "TXT",
            "subDomain": relative_name(&record.fqdn, &zone),
            "target": record.value,
            "ttl": self.ttl,
        });
        let path = format!("/domain/zone/{zone}/record");
        let answer = self
            .checked(::http::Method::POST, &path, Some(&body))
            .await?;
        let Some(id) = answer["id"].as_u64() else {
            return Err(failed(format!("{path} answered no record id: {answer}")));
        };
        self.created.lock().await.insert(
            (record.fqdn.clone(), record.value.clone()),
            (zone.clone(), id),
        );
        self.checked(
            ::http::Method::POST,
            &format!("/domain/zone/{zone}/refresh"),
            None,
        )
        .await?;
        Ok(())
    }

    async fn cleanup(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let key = (record.fqdn.clone(), record.value.clone());
        let Some((zone, id)) = self.created.lock().await.remove(&key) else {
            return Err(failed(format!("no record of ours for {}", record.fqdn)));
        };
        self.checked(
            ::http::Method::DELETE,
            &format!("/domain/zone/{zone}/record/{id}"),
            None,
        )
        .await?;
        self.checked(
            ::http::Method::POST,
            &format!("/domain/zone/{zone}/refresh"),
            None,
        )
        .await?;
        Ok(())
    }
}

impl DnsProvider for Ovh {
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
