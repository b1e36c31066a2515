//! `namecheap`: Namecheap's XML API. `NAMECHEAP_API_USER` + `NAMECHEAP_API_KEY` (required, as
//! lego), `NAMECHEAP_SANDBOX` (a boolean: `https://api.sandbox.namecheap.com`),
//! `NAMECHEAP_TTL` (120), `NAMECHEAP_PROPAGATION_TIMEOUT` (3600), `NAMECHEAP_POLLING_INTERVAL`
//! (15), `NAMECHEAP_HTTP_TIMEOUT` (60). `NAMECHEAP_CLIENT_IP` (swarmgate's, required): the
//! whitelisted address Namecheap wants in every call; lego asks a Namecheap web service for the
//! public address at startup, swarmgate never calls out for it (an edge may leave by another
//! address than the one whitelisted). `NAMECHEAP_API_URL` (swarmgate's, for tests) replaces
//! `https://api.namecheap.com/xml.response`.
//!
//! Namecheap has no call for one record: `namecheap.domains.dns.getHosts` (GET) reads the whole
//! host list of `SLD`.`TLD`, `namecheap.domains.dns.setHosts` (POST form) replaces it. A change
//! reads the list, adds or removes only our TXT value and writes every other record back with
//! its name, type, address, MX preference and TTL, and the zone's `EmailType` (without
//! `EmailType=MX` Namecheap drops the MX records of the list). lego's cleanup removes every TXT
//! record of the name; swarmgate removes only its value (a wildcard and its apex share the name).
//!
//! The registered domain: lego splits it with the public suffix list; swarmgate asks getHosts
//! for `zone_candidates` shortest first (`example.com` before `app.example.com`; `co.uk` before
//! `example.co.uk`) and takes the first the account holds; Namecheap's errors 2019166 (domain
//! not found) and 2016166 (not associated with your account) try the next one, any other error
//! ends the change with Namecheap's description.

use std::time::Duration;

use super::http;
use super::{
    relative_name, zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing,
    TxtRecord,
};

const NAME: &str = "namecheap";
const PRODUCTION: &str = "https://api.namecheap.com/xml.response";
const SANDBOX: &str = "https://api.sandbox.namecheap.com/xml.response";
/// getHosts errors meaning "not this domain": try the next candidate.
const NOT_THIS_DOMAIN: &[&str] = &["2019166", "2016166"];

pub struct Namecheap {
    url: String,
    user: String,
    key: String,
    client_ip: String,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// One change at a time: a change rewrites the whole host list.
    lock: tokio::sync::Mutex<()>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

/// One host of getHosts, as setHosts takes it back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Host {
    name: String,
    kind: String,
    address: String,
    mx_pref: String,
    ttl: String,
}

/// A parsed `ApiResponse`.
#[derive(Debug, Default)]
struct Response {
    /// (Number, description) of each `<Error>`.
    errors: Vec<(String, String)>,
    hosts: Vec<Host>,
    email_type: Option<String>,
    set_success: Option<String>,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The attributes of a start tag's text (`name a="1" b='2'`).
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string();
        let after = rest[eq + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(end) = after[1..].find(quote) else {
            break;
        };
        out.push((name, unescape(&after[1..1 + end])));
        rest = &after[end + 2..];
    }
    out
}

/// Each element `name`: its attributes and its text (up to `</name>`, empty when self-closed).
fn elements(xml: &str, name: &str) -> Vec<(Vec<(String, String)>, String)> {
    let mut out = Vec::new();
    let open = format!("<{name}");
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(end) = after.find('>') else { break };
        let boundary = after.chars().next().unwrap_or('>');
        if !(boundary.is_whitespace() || boundary == '/' || boundary == '>') {
            rest = after;
            continue;
        }
        let tag = &after[..end];
        let closed = tag.ends_with('/');
        let attrs = attributes(tag.trim_end_matches('/'));
        let body = &after[end + 1..];
        let text = if closed {
            String::new()
        } else {
            body.find(&format!("</{name}>"))
                .map(|e| unescape(body[..e].trim()))
                .unwrap_or_default()
        };
        out.push((attrs, text));
        rest = body;
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn parse(xml: &str) -> Response {
    let mut r = Response::default();
    for (attrs, text) in elements(xml, "Error") {
        r.errors
            .push((attr(&attrs, "Number").unwrap_or("").to_string(), text));
    }
    for (attrs, _) in elements(xml, "host") {
        let get = |n: &str| attr(&attrs, n).unwrap_or("").to_string();
        r.hosts.push(Host {
            name: get("Name"),
            kind: get("Type"),
            address: get("Address"),
            mx_pref: get("MXPref"),
            ttl: get("TTL"),
        });
    }
    if let Some((attrs, _)) = elements(xml, "DomainDNSGetHostsResult").first() {
        r.email_type = attr(attrs, "EmailType")
            .filter(|v| !v.is_empty())
            .map(str::to_string);
    }
    if let Some((attrs, _)) = elements(xml, "DomainDNSSetHostsResult").first() {
        r.set_success = attr(attrs, "IsSuccess").map(str::to_string);
    }
    r
}

/// lego's `env.GetOrDefaultBool` (Go's `strconv.ParseBool`; anything else is the default).
fn go_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Namecheap {
    pub fn from_env(env: &Env<'_>) -> Result<Namecheap, SetupError> {
        let [user, key, client_ip] = env.require(
            NAME,
            [
                "NAMECHEAP_API_USER",
                "NAMECHEAP_API_KEY",
                "NAMECHEAP_CLIENT_IP",
            ],
        )?;
        if client_ip.trim().parse::<std::net::IpAddr>().is_err() {
            return Err(SetupError::Invalid {
                provider: NAME,
                var: "NAMECHEAP_CLIENT_IP".into(),
                value: client_ip,
                reason: "expected the IP address whitelisted at Namecheap".into(),
            });
        }
        let sandbox = env
            .get(NAME, "NAMECHEAP_SANDBOX")?
            .and_then(|v| go_bool(&v))
            .unwrap_or(false);
        let url = match env.get(NAME, "NAMECHEAP_API_URL")? {
            Some(url) => url,
            None if sandbox => SANDBOX.into(),
            None => PRODUCTION.into(),
        };
        Ok(Namecheap {
            url,
            user,
            key,
            client_ip: client_ip.trim().to_string(),
            ttl: env
                .seconds(NAME, "NAMECHEAP_TTL", Duration::from_secs(120))?
                .as_secs(),
            timeout: env.seconds(NAME, "NAMECHEAP_HTTP_TIMEOUT", Duration::from_secs(60))?,
            timing: env.timing(
                NAME,
                "NAMECHEAP",
                Duration::from_secs(3600),
                Duration::from_secs(15),
            )?,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    fn params(&self, command: &str, sld: &str, tld: &str) -> Vec<(String, String)> {
        [
            ("ApiUser", self.user.as_str()),
            ("ApiKey", self.key.as_str()),
            ("UserName", self.user.as_str()),
            ("Command", command),
            ("ClientIp", self.client_ip.as_str()),
            ("SLD", sld),
            ("TLD", tld),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Sends a call; an HTTP status >= 400 is an error, else the parsed XML.
    async fn send(&self, method: ::http::Method, query: String) -> Result<Response, ProviderError> {
        let (url, body, headers) = if method == ::http::Method::GET {
            (format!("{}?{query}", self.url), Vec::new(), Vec::new())
        } else {
            (
                self.url.clone(),
                query.into_bytes(),
                vec![(
                    "content-type",
                    "application/x-www-form-urlencoded".to_string(),
                )],
            )
        };
        let answer = http::request(method, &url, &headers, body, self.timeout)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if answer.status.as_u16() >= 400 {
            return Err(failed(format!(
                "{} answered {}: {}",
                self.url,
                answer.status,
                answer.text()
            )));
        }
        Ok(parse(&answer.text()))
    }

    /// The registered domain holding `domain` (`(sld, tld, zone)`) and its hosts.
    async fn hosts(
        &self,
        domain: &str,
    ) -> Result<(String, String, String, Response), ProviderError> {
        let mut candidates = zone_candidates(domain);
        candidates.reverse();
        for zone in candidates {
            let Some((sld, tld)) = zone.split_once('.') else {
                continue;
            };
            let query = http::form(&self.params("namecheap.domains.dns.getHosts", sld, tld));
            let r = self.send(::http::Method::GET, query).await?;
            match r.errors.first() {
                None => return Ok((sld.to_string(), tld.to_string(), zone.clone(), r)),
                Some((n, _)) if NOT_THIS_DOMAIN.contains(&n.as_str()) => continue,
                Some((n, text)) => {
                    return Err(failed(format!("getHosts {zone}: {text} [{n}]")));
                }
            }
        }
        Err(failed(format!("no domain of this account holds {domain}")))
    }

    async fn change(&self, record: &TxtRecord, add: bool) -> Result<(), ProviderError> {
        let _one = self.lock.lock().await;
        let (sld, tld, zone, current) = self.hosts(&record.domain).await?;
        let name = relative_name(&record.fqdn, &zone);
        let ours = |h: &Host| {
            h.kind.eq_ignore_ascii_case("TXT")
                && h.name.eq_ignore_ascii_case(&name)
                && h.address == record.value
        };
        let mut hosts = current.hosts.clone();
        let before = hosts.len();
        hosts.retain(|h| !ours(h));
        if add {
            hosts.push(Host {
                name: name.clone(),
                kind: "TXT".into(),
                address: record.value.clone(),
                mx_pref: "10".into(),
                ttl: self.ttl.to_string(),
            });
        } else if hosts.len() == before {
            return Ok(()); // not there: nothing to write
        }
        let mut params = self.params("namecheap.domains.dns.setHosts", &sld, &tld);
        let has_mx = hosts.iter().any(|h| h.kind.eq_ignore_ascii_case("MX"));
        match (&current.email_type, has_mx) {
            (Some(t), _) => params.push(("EmailType".into(), t.clone())),
            (None, true) => params.push(("EmailType".into(), "MX".into())),
            (None, false) => {}
        }
        for (i, h) in hosts.iter().enumerate() {
            let n = i + 1;
            params.push((format!("HostName{n}"), h.name.clone()));
            params.push((format!("RecordType{n}"), h.kind.clone()));
            params.push((format!("Address{n}"), h.address.clone()));
            params.push((format!("MXPref{n}"), h.mx_pref.clone()));
            params.push((format!("TTL{n}"), h.ttl.clone()));
        }
        let r = self.send(::http::Method::POST, http::form(&params)).await?;
        if let Some((n, text)) = r.errors.first() {
            return Err(failed(format!("setHosts {zone}: {text} [{n}]")));
        }
        if r.set_success.as_deref() != Some("true") {
            return Err(failed(format!(
                "setHosts {zone} did not answer IsSuccess=\"true\""
            )));
        }
        Ok(())
    }
}

impl DnsProvider for Namecheap {
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
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_errors_and_attributes() {
        let xml = r#"<?xml version="1.0"?><ApiResponse Status="OK"><Errors />
<CommandResponse><DomainDNSGetHostsResult Domain="example.com" EmailType="MX" IsUsingOurDNS="true">
<host HostId="1" Name="@" Type="A" Address="1.2.3.4" MXPref="10" TTL="1800" />
<host HostId="2" Name="x" Type="TXT" Address="a &amp; &quot;b&quot;" MXPref="10" TTL="60"/>
<hostname>not a host</hostname></DomainDNSGetHostsResult></CommandResponse></ApiResponse>"#;
        let r = parse(xml);
        assert!(r.errors.is_empty());
        assert_eq!(r.email_type.as_deref(), Some("MX"));
        assert_eq!(r.hosts.len(), 2);
        assert_eq!(r.hosts[1].address, "a & \"b\"");
        assert_eq!(r.hosts[0].ttl, "1800");
        let e = parse(
            r#"<ApiResponse Status="ERROR"><Errors><Error Number="1011102">API Key is invalid</Error></Errors></ApiResponse>"#,
        );
        assert_eq!(
            e.errors,
            vec![("1011102".to_string(), "API Key is invalid".to_string())]
        );
    }
}
