//! `route53`: Amazon Route 53 (REST API 2013-04-01, Signature Version 4 with static keys).
//! `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (required; instance roles are not read),
//! `AWS_SESSION_TOKEN`, `AWS_REGION` (us-east-1), `AWS_HOSTED_ZONE_ID` (skips the zone lookup),
//! `AWS_TTL` (10), `AWS_PROPAGATION_TIMEOUT` (120), `AWS_POLLING_INTERVAL` (4),
//! `AWS_HTTP_TIMEOUT` (30); `AWS_ROUTE53_API_URL` (swarmgate's, for tests) replaces
//! `https://route53.amazonaws.com`.
//!
//! Calls: `GET /2013-04-01/hostedzonesbyname?dnsname=<zone>&maxitems=1`,
//! `GET /2013-04-01/hostedzone/<id>/rrset?name=<fqdn>&type=TXT&maxitems=1` (the values there),
//! `POST /2013-04-01/hostedzone/<id>/rrset` (UPSERT with the value added, or removed; DELETE of
//! the last one), then `GET /2013-04-01/change/<id>` until `INSYNC`.

use std::time::{Duration, SystemTime};

use ring::{digest, hmac};

use super::http;
use super::{
    zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord,
};

const NAME: &str = "route53";
const API: &str = "/2013-04-01";

pub struct Route53 {
    base: String,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    region: String,
    zone_id: Option<String>,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// One change at a time: a change rewrites the whole TXT set.
    lock: tokio::sync::Mutex<()>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sign(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

/// SigV4's signing key for `date` (`YYYYMMDD`), `region`, `service`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = sign(format!("AWS4{secret}").as_bytes(), date);
    let k_region = sign(&k_date, region);
    let k_service = sign(&k_region, service);
    sign(&k_service, "aws4_request")
}

/// (`YYYYMMDD'T'HHMMSS'Z'`, `YYYYMMDD`) of `t`, UTC.
pub fn amz_date(t: SystemTime) -> (String, String) {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let date = format!("{y:04}{m:02}{d:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    (stamp, date)
}

/// Values between `<tag>` and `</tag>`, in order.
fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Route53 {
    pub fn from_env(env: &Env<'_>) -> Result<Route53, SetupError> {
        let [access_key, secret_key] =
            env.require(NAME, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])?;
        Ok(Route53 {
            base: env
                .get(NAME, "AWS_ROUTE53_API_URL")?
                .unwrap_or_else(|| "https://route53.amazonaws.com".into())
                .trim_end_matches('/')
                .to_string(),
            access_key,
            secret_key,
            session_token: env.get(NAME, "AWS_SESSION_TOKEN")?,
            region: env
                .get(NAME, "AWS_REGION")?
                .unwrap_or_else(|| "us-east-1".into()),
            zone_id: env.get(NAME, "AWS_HOSTED_ZONE_ID")?,
            ttl: env
                .seconds(NAME, "AWS_TTL", Duration::from_secs(10))?
                .as_secs(),
            timeout: env.seconds(NAME, "AWS_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "AWS",
                Duration::from_secs(120),
                Duration::from_secs(4),
            )?,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// A signed request; `query` is already in canonical order and encoding.
    async fn send(
        &self,
        method: ::http::Method,
        path: &str,
        query: &str,
        body: &str,
    ) -> Result<String, ProviderError> {
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let host = url
            .parse::<::http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.as_str().to_string()))
            .ok_or_else(|| failed(format!("invalid URL {url}")))?;
        let (stamp, date) = amz_date(SystemTime::now());
        let payload = hex(digest::digest(&digest::SHA256, body.as_bytes()).as_ref());
        let mut canonical_headers = format!("host:{host}\nx-amz-date:{stamp}\n");
        let mut signed = "host;x-amz-date".to_string();
        if let Some(token) = &self.session_token {
            canonical_headers.push_str(&format!("x-amz-security-token:{token}\n"));
            signed.push_str(";x-amz-security-token");
        }
        let canonical =
            format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload}");
        let scope = format!("{date}/{}/route53/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let k_signing = signing_key(&self.secret_key, &date, &self.region, "route53");
        let signature = hex(&sign(&k_signing, &to_sign));
        let mut headers = vec![
            ("x-amz-date", stamp),
            (
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
                    self.access_key
                ),
            ),
        ];
        if let Some(token) = &self.session_token {
            headers.push(("x-amz-security-token", token.clone()));
        }
        if !body.is_empty() {
            headers.push(("content-type", "text/xml".into()));
        }
        let answer = http::request(
            method,
            &url,
            &headers,
            body.as_bytes().to_vec(),
            self.timeout,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
        let text = answer.text();
        if !answer.status.is_success() {
            let message = tags(&text, "Message")
                .first()
                .copied()
                .unwrap_or("")
                .to_string();
            return Err(failed(format!(
                "{url} answered {}: {message}",
                answer.status
            )));
        }
        Ok(text)
    }

    async fn zone_id(&self, domain: &str) -> Result<String, ProviderError> {
        if let Some(id) = &self.zone_id {
            return Ok(id.clone());
        }
        for zone in zone_candidates(domain) {
            let xml = self
                .send(
                    ::http::Method::GET,
                    &format!("{API}/hostedzonesbyname"),
                    &format!("dnsname={zone}&maxitems=1"),
                    "",
                )
                .await?;
            let names = tags(&xml, "Name");
            let ids = tags(&xml, "Id");
            if let (Some(name), Some(id)) = (names.first(), ids.first()) {
                if name.trim_end_matches('.') == zone {
                    return Ok(id.trim_start_matches("/hostedzone/").to_string());
                }
            }
        }
        Err(failed(format!("no hosted zone holds {domain}")))
    }

    async fn change(&self, record: &TxtRecord, add: bool) -> Result<(), ProviderError> {
        let _one = self.lock.lock().await;
        let zone = self.zone_id(&record.domain).await?;
        let rrset = format!("{API}/hostedzone/{zone}/rrset");
        let xml = self
            .send(
                ::http::Method::GET,
                &rrset,
                &format!("maxitems=1&name={}&type=TXT", record.fqdn),
                "",
            )
            .await?;
        let mut values: Vec<String> = Vec::new();
        let mut ttl = self.ttl;
        if let Some(set) = tags(&xml, "ResourceRecordSet").first() {
            let same_name = tags(set, "Name")
                .first()
                .is_some_and(|n| n.trim_end_matches('.') == record.fqdn.trim_end_matches('.'));
            if same_name && tags(set, "Type").first() == Some(&"TXT") {
                values = tags(set, "Value")
                    .iter()
                    .map(|v| v.trim_matches('"').to_string())
                    .collect();
                ttl = tags(set, "TTL")
                    .first()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(ttl);
            }
        }
        let existing = values.clone();
        values.retain(|v| *v != record.value);
        if add {
            values.push(record.value.clone());
        }
        let (action, set, ttl) = if values.is_empty() {
            if existing.is_empty() {
                return Ok(());
            }
            ("DELETE", existing, ttl)
        } else {
            ("UPSERT", values, if add { self.ttl } else { ttl })
        };
        let records: String = set
            .iter()
            .map(|v| {
                format!(
                    "<ResourceRecord><Value>\"{}\"</Value></ResourceRecord>",
                    xml_escape(v)
                )
            })
            .collect();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Comment>swarmgate ACME DNS-01</Comment><Changes><Change><Action>{action}</Action><ResourceRecordSet><Name>{}</Name><Type>TXT</Type><TTL>{ttl}</TTL><ResourceRecords>{records}</ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
            xml_escape(&record.fqdn)
        );
        let answer = self.send(::http::Method::POST, &rrset, "", &body).await?;
        let change = tags(&answer, "Id")
            .first()
            .map(|id| id.trim_start_matches("/change/").to_string())
            .ok_or_else(|| failed("the change has no id".into()))?;
        let deadline = tokio::time::Instant::now() + self.timing.propagation_timeout;
        loop {
            let xml = self
                .send(
                    ::http::Method::GET,
                    &format!("{API}/change/{change}"),
                    "",
                    "",
                )
                .await?;
            if tags(&xml, "Status").first() == Some(&"INSYNC") {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(failed(format!("change {change} not INSYNC in time")));
            }
            tokio::time::sleep(self.timing.polling_interval).await;
        }
    }
}

impl DnsProvider for Route53 {
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

#[cfg(test)]
mod tests;
