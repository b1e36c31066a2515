//! `duckdns`: DuckDNS. `DUCKDNS_TOKEN` (required), `DUCKDNS_PROPAGATION_TIMEOUT` (60),
//! `DUCKDNS_POLLING_INTERVAL` (2), `DUCKDNS_HTTP_TIMEOUT` (30); `DUCKDNS_API_URL` (swarmgate's, for
//! tests) replaces `https://www.duckdns.org`. Calls `GET /update?domains=<sub>&token=…&txt=<value>`
//! (cleanup: `txt=&clear=true`); the answer is `OK` or `KO`. DuckDNS holds one TXT value per
//! subdomain, so a wildcard and its apex are validated one after the other (as the order does).

use std::time::Duration;

use super::http;
use super::{BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord};

const NAME: &str = "duckdns";

pub struct DuckDns {
    base: String,
    token: String,
    timeout: Duration,
    timing: Timing,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

/// The DuckDNS subdomain of `domain`: `foo` for `x.foo.duckdns.org`.
fn subdomain(domain: &str) -> Option<&str> {
    let rest = domain.trim_end_matches('.').strip_suffix(".duckdns.org")?;
    rest.rsplit('.').next().filter(|s| !s.is_empty())
}

impl DuckDns {
    pub fn from_env(env: &Env<'_>) -> Result<DuckDns, SetupError> {
        let [token] = env.require(NAME, ["DUCKDNS_TOKEN"])?;
        Ok(DuckDns {
            base: env
                .get(NAME, "DUCKDNS_API_URL")?
                .unwrap_or_else(|| "https://www.duckdns.org".into())
                .trim_end_matches('/')
                .to_string(),
            token,
            timeout: env.seconds(NAME, "DUCKDNS_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "DUCKDNS",
                Duration::from_secs(60),
                Duration::from_secs(2),
            )?,
        })
    }

    async fn update(
        &self,
        record: &TxtRecord,
        txt: &str,
        clear: bool,
    ) -> Result<(), ProviderError> {
        let sub = subdomain(&record.domain)
            .ok_or_else(|| failed(format!("{} is not under duckdns.org", record.domain)))?;
        let mut url = format!(
            "{}/update?domains={sub}&token={}&txt={txt}",
            self.base, self.token
        );
        if clear {
            url.push_str("&clear=true");
        }
        let answer = http::request(::http::Method::GET, &url, &[], Vec::new(), self.timeout)
            .await
            .map_err(|e| failed(e.to_string().replace(&self.token, "<token>")))?;
        let text = answer.text();
        if !answer.status.is_success() || text.trim() != "OK" {
            return Err(failed(format!(
                "update of {sub} answered {}: {}",
                answer.status,
                text.trim()
            )));
        }
        Ok(())
    }
}

impl DnsProvider for DuckDns {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.update(record, &record.value, false))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.update(record, "", true))
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}
