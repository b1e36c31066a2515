//! `azuredns`: Azure DNS through Azure Resource Manager, with a service principal's client
//! secret (lego's default `AZURE_AUTH_METHOD` reading the environment). `AZURE_CLIENT_ID`,
//! `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`, `AZURE_SUBSCRIPTION_ID`, `AZURE_RESOURCE_GROUP`
//! (required), `AZURE_ZONE_NAME` (skips the zone lookup), `AZURE_TTL` (60),
//! `AZURE_PROPAGATION_TIMEOUT` (120), `AZURE_POLLING_INTERVAL` (2), `AZURE_HTTP_TIMEOUT` (30);
//! `AZURE_AUTHORITY_HOST` (azidentity's, default `https://login.microsoftonline.com`) and
//! `AZURE_API_URL` (swarmgate's, for tests; default `https://management.azure.com`). Managed
//! identities and other `AZURE_AUTH_METHOD`s are refused by name.
//!
//! Calls: `POST <authority>/<tenant>/oauth2/v2.0/token` (client credentials, scope
//! `https://management.azure.com/.default`; the token kept until a minute before it expires),
//! then with `Authorization: Bearer`: `GET …/dnsZones/<zone>` (zone lookup), `GET` and `PUT`
//! `…/dnsZones/<zone>/TXT/<name>` (the set with our value added or removed), `DELETE` of a set
//! left empty; `api-version=2018-05-01`.

use std::time::Duration;

use serde_json::json;

use super::http;
use super::{
    relative_name, walk_zones, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "azuredns";
const API_VERSION: &str = "api-version=2018-05-01";
const SCOPE: &str = "https://management.azure.com/.default";

pub struct AzureDns {
    authority: String,
    base: String,
    tenant: String,
    client_id: String,
    client_secret: String,
    /// `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/dnsZones`
    zones: String,
    zone: Option<String>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// (token, valid until).
    token: http::TokenCache,
    /// One change at a time: a change rewrites the whole TXT set.
    lock: tokio::sync::Mutex<()>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

impl AzureDns {
    pub fn from_env(env: &Env<'_>) -> Result<AzureDns, SetupError> {
        if let Some(method) = env.get(NAME, "AZURE_AUTH_METHOD")? {
            if !method.is_empty() && method != "env" {
                return Err(SetupError::Invalid {
                    provider: NAME,
                    var: "AZURE_AUTH_METHOD".into(),
                    value: method,
                    reason: "only `env` (a client secret) is implemented".into(),
                });
            }
        }
        let [client_id, client_secret, tenant, subscription, group] = env.require(
            NAME,
            [
                "AZURE_CLIENT_ID",
                "AZURE_CLIENT_SECRET",
                "AZURE_TENANT_ID",
                "AZURE_SUBSCRIPTION_ID",
                "AZURE_RESOURCE_GROUP",
            ],
        )?;
        let url = |var: &str, default: &str| -> Result<String, SetupError> {
            Ok(env
                .get(NAME, var)?
                .unwrap_or_else(|| default.to_string())
                .trim_end_matches('/')
                .to_string())
        };
        Ok(AzureDns {
            authority: url("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com")?,
            base: url("AZURE_API_URL", "https://management.azure.com")?,
            tenant,
            client_id,
            client_secret,
            zones: format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/dnsZones"),
            zone: env.get(NAME, "AZURE_ZONE_NAME")?.map(|z| z.trim_end_matches('.').to_string()),
            ttl: env.seconds(NAME, "AZURE_TTL", Duration::from_secs(60))?.as_secs(),
            timeout: env.seconds(NAME, "AZURE_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(NAME, "AZURE", Duration::from_secs(120), Duration::from_secs(2))?,
            token: http::TokenCache::default(),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// A bearer token for Resource Manager (client credentials), reused until near its expiry.
    async fn token(&self) -> Result<String, ProviderError> {
        let url = format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant);
        let body = || -> Result<String, ProviderError> {
            Ok(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
                http::form_value(&self.client_id),
                http::form_value(&self.client_secret),
                http::form_value(SCOPE)
            ))
        };
        self.token.get(&url, self.timeout, body, failed).await
    }

    async fn arm(
        &self,
        method: ::http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(::http::StatusCode, serde_json::Value), ProviderError> {
        let auth = [("authorization", format!("Bearer {}", self.token().await?))];
        let url = format!("{}{}{path}?{API_VERSION}", self.base, self.zones);
        http::json(method, &url, &auth, body, self.timeout)
            .await
            .map_err(|e| failed(e.to_string()))
    }

    async fn zone(&self, domain: &str) -> Result<String, ProviderError> {
        if let Some(zone) = &self.zone {
            return Ok(zone.clone());
        }
        let get = |zone: String| async move {
            self.arm(::http::Method::GET, &format!("/{zone}"), None)
                .await
        };
        walk_zones(NAME, domain, get, |zone, _| Some(zone.to_string())).await
    }

    /// Adds (`add`) or removes the record's value from its TXT set.
    async fn change(&self, record: &TxtRecord, add: bool) -> Result<(), ProviderError> {
        let _one = self.lock.lock().await;
        let zone = self.zone(&record.domain).await?;
        let path = format!("/{zone}/TXT/{}", relative_name(&record.fqdn, &zone));
        let (status, current) = self.arm(::http::Method::GET, &path, None).await?;
        let mut values: Vec<String> = match status {
            s if s.is_success() => current["properties"]["TXTRecords"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["value"][0].as_str().map(str::to_string))
                .collect(),
            ::http::StatusCode::NOT_FOUND => Vec::new(),
            s => return Err(failed(format!("{path} answered {s}: {current}"))),
        };
        values.retain(|v| *v != record.value);
        if add {
            values.push(record.value.clone());
        }
        let (method, body) = if values.is_empty() {
            (::http::Method::DELETE, None)
        } else {
            let records: Vec<serde_json::Value> =
                values.iter().map(|v| json!({"value": [v]})).collect();
            (
                ::http::Method::PUT,
                Some(json!({"properties": {"TTL": self.ttl, "TXTRecords": records}})),
            )
        };
        let (status, answer) = self.arm(method, &path, body.as_ref()).await?;
        if !status.is_success() {
            return Err(failed(format!("{path} answered {status}: {answer}")));
        }
        Ok(())
    }
}

impl DnsProvider for AzureDns {
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
