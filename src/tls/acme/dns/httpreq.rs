//! `httpreq`: lego's HTTP protocol for any DNS behind a small web service. `POST
//! <HTTPREQ_ENDPOINT>/present` and `/cleanup` with `{"fqdn": "_acme-challenge.x.", "value": "…"}`,
//! or with `HTTPREQ_MODE=RAW` `{"domain": "x", "token": "…", "keyAuth": "…"}`; basic auth with
//! `HTTPREQ_USERNAME` + `HTTPREQ_PASSWORD`; any 2xx is success. `HTTPREQ_PROPAGATION_TIMEOUT`
//! (60), `HTTPREQ_POLLING_INTERVAL` (2), `HTTPREQ_HTTP_TIMEOUT` (30), seconds.

use std::time::Duration;

use base64::Engine as _;

use super::http;
use super::{BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord};

const NAME: &str = "httpreq";

pub struct HttpReq {
    endpoint: String,
    raw: bool,
    auth: Option<String>,
    timeout: Duration,
    timing: Timing,
}

impl HttpReq {
    pub fn from_env(env: &Env<'_>) -> Result<HttpReq, SetupError> {
        let [endpoint] = env.require(NAME, ["HTTPREQ_ENDPOINT"])?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || endpoint.parse::<::http::Uri>().is_err()
        {
            return Err(SetupError::Invalid {
                provider: NAME,
                var: "HTTPREQ_ENDPOINT".into(),
                value: endpoint,
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        let raw = match env.get(NAME, "HTTPREQ_MODE")? {
            None => false,
            Some(m) if m.eq_ignore_ascii_case("RAW") => true,
            Some(m) => {
                return Err(SetupError::Invalid {
                    provider: NAME,
                    var: "HTTPREQ_MODE".into(),
                    value: m,
                    reason: "the only mode is RAW".into(),
                })
            }
        };
        let auth = match (
            env.get(NAME, "HTTPREQ_USERNAME")?,
            env.get(NAME, "HTTPREQ_PASSWORD")?,
        ) {
            (Some(u), Some(p)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            _ => None,
        };
        Ok(HttpReq {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            raw,
            auth,
            timeout: env.seconds(NAME, "HTTPREQ_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "HTTPREQ",
                Duration::from_secs(60),
                Duration::from_secs(2),
            )?,
        })
    }

    async fn call(&self, action: &str, record: &TxtRecord) -> Result<(), ProviderError> {
        let failed = |message: String| ProviderError::Failed {
            provider: NAME,
            message,
        };
        let body = if self.raw {
            serde_json::json!({"domain": record.domain, "token": record.token, "keyAuth": record.key_auth})
        } else {
            serde_json::json!({"fqdn": record.fqdn, "value": record.value})
        };
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(auth) = &self.auth {
            headers.push(("authorization", auth.clone()));
        }
        let url = format!("{}/{action}", self.endpoint);
        let answer = http::request(
            ::http::Method::POST,
            &url,
            &headers,
            body.to_string().into_bytes(),
            self.timeout,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
        if !answer.status.is_success() {
            return Err(failed(format!(
                "{url} answered {}: {}",
                answer.status,
                answer.text().trim()
            )));
        }
        Ok(())
    }
}

impl DnsProvider for HttpReq {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.call("present", record))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.call("cleanup", record))
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}
