//! `gcloud`: Google Cloud DNS with a service account key (lego's variables). The key file's JSON
//! in `GCE_SERVICE_ACCOUNT`, or its path in `GCE_SERVICE_ACCOUNT_FILE` (lego's `GetOrFile`), or
//! (Application Default Credentials from a file) the path in `GOOGLE_APPLICATION_CREDENTIALS`;
//! `GCE_PROJECT` (default: the key's `project_id`), `GCE_ZONE_ID` (skips the zone lookup),
//! `GCE_ALLOW_PRIVATE_ZONE` (false), `GCE_TTL` (120), `GCE_PROPAGATION_TIMEOUT` (180),
//! `GCE_POLLING_INTERVAL` (5); `GCE_HTTP_TIMEOUT` (30) and `GCE_API_URL` (for tests; default
//! `https://dns.googleapis.com/dns/v1`) are swarmgate's. The metadata server (credentials of the
//! VM) and `GCE_IMPERSONATE_SERVICE_ACCOUNT` are refused by name at startup.
//!
//! Token: OAuth 2.0 JWT bearer grant (RFC 7523) as Google's libraries do it: a JWT signed RS256
//! with the key's `private_key` (`iss` = `client_email`, `scope` = Cloud DNS read/write, `aud` =
//! the key's `token_uri`, one hour), posted to `token_uri`; the token is kept until a minute
//! before it expires.
//!
//! Calls (`Authorization: Bearer`): `GET …/projects/<p>/managedZones?dnsName=<zone>.` for each of
//! `zone_candidates`, longest first (lego asks DNS for the SOA, then lists by that name; the first
//! zone public, or private with `GCE_ALLOW_PRIVATE_ZONE`), or `GET …/managedZones/<GCE_ZONE_ID>`;
//! `GET …/rrsets?name=<fqdn>&type=TXT`; `POST …/changes` deleting the TXT rrset as it is and
//! adding it back with our value added (present) or removed (cleanup; lego deletes the whole
//! rrset, swarmgate keeps the other values), in one change; a change not `done` is polled every
//! 3 s for up to 30 s (lego's).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Value};

use super::http;
use super::{
    zone_candidates, BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord,
};

const NAME: &str = "gcloud";
const SCOPE: &str = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const CHANGE_POLL: Duration = Duration::from_secs(3);
const CHANGE_WAIT: Duration = Duration::from_secs(30);

pub struct GCloud {
    base: String,
    project: String,
    zone_id: Option<String>,
    allow_private: bool,
    client_email: String,
    key_id: Option<String>,
    key: ring::signature::RsaKeyPair,
    token_uri: String,
    ttl: u64,
    timeout: Duration,
    timing: Timing,
    /// (token, valid until).
    token: http::TokenCache,
    /// One change at a time: a change rewrites the whole TXT rrset.
    lock: tokio::sync::Mutex<()>,
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        provider: NAME,
        message,
    }
}

fn invalid(var: &str, value: &str, reason: impl Into<String>) -> SetupError {
    SetupError::Invalid {
        provider: NAME,
        var: var.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A TXT value as Cloud DNS keeps it in `rrdatas`: one quoted character-string.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

impl GCloud {
    pub fn from_env(env: &Env<'_>) -> Result<GCloud, SetupError> {
        if let Some(who) = env.get(NAME, "GCE_IMPERSONATE_SERVICE_ACCOUNT")? {
            return Err(invalid(
                "GCE_IMPERSONATE_SERVICE_ACCOUNT",
                &who,
                "impersonation is not implemented; give that account's key in GCE_SERVICE_ACCOUNT_FILE",
            ));
        }
        let (var, key_json) = match env.get(NAME, "GCE_SERVICE_ACCOUNT")? {
            Some(json) => ("GCE_SERVICE_ACCOUNT", json),
            None => match env.get(NAME, "GOOGLE_APPLICATION_CREDENTIALS")? {
                Some(path) => (
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    std::fs::read_to_string(&path).map_err(|e| {
                        invalid(
                            "GOOGLE_APPLICATION_CREDENTIALS",
                            &path,
                            format!("cannot read the file: {e}"),
                        )
                    })?,
                ),
                None => {
                    // lego would ask the metadata server of a Google VM: not implemented.
                    return Err(SetupError::Missing {
                        provider: NAME,
                        vars: vec!["GCE_SERVICE_ACCOUNT"],
                    });
                }
            },
        };
        let shown = "(the service account key)";
        let key: Value = serde_json::from_str(&key_json)
            .map_err(|e| invalid(var, shown, format!("not a JSON key file: {e}")))?;
        let field = |name: &str| key[name].as_str().filter(|s| !s.is_empty());
        if let Some(kind) = field("type") {
            if kind != "service_account" {
                return Err(invalid(
                    var,
                    shown,
                    format!(
                        "credentials of type {kind:?}: only a service_account key is implemented"
                    ),
                ));
            }
        }
        let client_email = field("client_email")
            .ok_or_else(|| invalid(var, shown, "no client_email"))?
            .to_string();
        let pem = field("private_key").ok_or_else(|| invalid(var, shown, "no private_key"))?;
        let der = match rustls_pemfile::private_key(&mut pem.as_bytes()) {
            Ok(Some(rustls::pki_types::PrivateKeyDer::Pkcs8(der))) => der,
            _ => return Err(invalid(var, shown, "private_key is not a PKCS#8 PEM key")),
        };
        let rsa = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| invalid(var, shown, format!("private_key is not an RSA key: {e}")))?;
        let project = match env.get(NAME, "GCE_PROJECT")? {
            Some(p) => p,
            None => field("project_id").map(str::to_string).ok_or_else(|| {
                invalid(
                    var,
                    shown,
                    "project ID not found in the key file (set GCE_PROJECT)",
                )
            })?,
        };
        // lego's `GetOrDefaultBool`: Go's `strconv.ParseBool`, anything else is false.
        let allow_private = env
            .get(NAME, "GCE_ALLOW_PRIVATE_ZONE")?
            .is_some_and(|v| matches!(v.trim(), "1" | "t" | "T" | "TRUE" | "true" | "True"));
        Ok(GCloud {
            base: env
                .get(NAME, "GCE_API_URL")?
                .unwrap_or_else(|| "https://dns.googleapis.com/dns/v1".into())
                .trim_end_matches('/')
                .to_string(),
            project,
            zone_id: env.get(NAME, "GCE_ZONE_ID")?,
            allow_private,
            client_email,
            key_id: field("private_key_id").map(str::to_string),
            key: rsa,
            token_uri: field("token_uri").unwrap_or(DEFAULT_TOKEN_URI).to_string(),
            ttl: env
                .seconds(NAME, "GCE_TTL", Duration::from_secs(120))?
                .as_secs(),
            timeout: env.seconds(NAME, "GCE_HTTP_TIMEOUT", Duration::from_secs(30))?,
            timing: env.timing(
                NAME,
                "GCE",
                Duration::from_secs(180),
                Duration::from_secs(5),
            )?,
            token: http::TokenCache::default(),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The signed JWT assertion for the token endpoint.
    fn assertion(&self) -> Result<String, ProviderError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| failed("cannot sign the token request".into()))?;
        Ok(format!("{input}.{}", b64(&signature)))
    }

    async fn token(&self) -> Result<String, ProviderError> {
        let body = || -> Result<String, ProviderError> {
            Ok(http::form(&[
                (
                    "grant_type".into(),
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ),
                ("assertion".into(), self.assertion()?),
            ]))
        };
        self.token
            .get(&self.token_uri, self.timeout, body, failed)
            .await
    }

    /// A Cloud DNS call under `/projects/<project>`; any answer but 2xx is an error with its body.
    async fn api(
        &self,
        method: ::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let auth = [("authorization", format!("Bearer {}", self.token().await?))];
        let url = format!("{}/projects/{}{path}", self.base, self.project);
        http::call(NAME, method, &url, &auth, body, self.timeout).await
    }

    fn usable(&self, zone: &Value) -> bool {
        match zone["visibility"].as_str().unwrap_or("") {
            "" | "public" => true,
            "private" => self.allow_private,
            _ => false,
        }
    }

    /// The managed zone's name (its id in the API) holding `domain`.
    async fn zone(&self, domain: &str) -> Result<String, ProviderError> {
        if let Some(id) = &self.zone_id {
            let zone = self
                .api(::http::Method::GET, &format!("/managedZones/{id}"), None)
                .await?;
            return zone["name"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| failed(format!("managed zone {id} has no name: {zone}")));
        }
        for candidate in zone_candidates(domain) {
            let list = self
                .api(
                    ::http::Method::GET,
                    &format!(
                        "/managedZones?dnsName={}",
                        http::form_value(&format!("{candidate}."))
                    ),
                    None,
                )
                .await?;
            let zones = list["managedZones"].as_array().cloned().unwrap_or_default();
            if zones.is_empty() {
                continue;
            }
            return zones
                .iter()
                .find(|z| self.usable(z))
                .and_then(|z| z["name"].as_str().map(str::to_string))
                .ok_or_else(|| {
                    failed(if self.allow_private {
                        format!("no public or private zone found for domain {candidate}")
                    } else {
                        format!("no public zone found for domain {candidate} (GCE_ALLOW_PRIVATE_ZONE allows private ones)")
                    })
                });
        }
        Err(failed(format!(
            "no managed zone of project {} holds {domain}",
            self.project
        )))
    }

    async fn change(&self, record: &TxtRecord, add: bool) -> Result<(), ProviderError> {
        let _one = self.lock.lock().await;
        let zone = self.zone(&record.domain).await?;
        let sets = self
            .api(
                ::http::Method::GET,
                &format!(
                    "/managedZones/{zone}/rrsets?name={}&type=TXT",
                    http::form_value(&record.fqdn)
                ),
                None,
            )
            .await?;
        let existing: Vec<Value> = sets["rrsets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["type"] == "TXT" && s["name"] == record.fqdn.as_str())
            .cloned()
            .collect();
        let ours = quoted(&record.value);
        let is_ours = |d: &Value| d.as_str().is_some_and(|d| d == ours || d == record.value);
        let mut datas: Vec<Value> = existing
            .iter()
            .flat_map(|s| s["rrdatas"].as_array().cloned().unwrap_or_default())
            .collect();
        let had = datas.iter().any(is_ours);
        if add == had {
            return Ok(()); // already there / already gone
        }
        datas.retain(|d| !is_ours(d));
        if add {
            datas.push(json!(ours));
        }
        let mut body = json!({"kind": "dns#change", "deletions": existing});
        if !datas.is_empty() {
            let ttl = existing
                .first()
                .and_then(|s| s["ttl"].as_u64())
                .filter(|_| !add)
                .unwrap_or(self.ttl);
            body["additions"] = json!([{
                "kind": "dns#resourceRecordSet",
                "name": record.fqdn,
                "type": "TXT",
                "ttl": ttl,
                "rrdatas": datas,
            }]);
        }
        let path = format!("/managedZones/{zone}/changes");
        let mut change = self.api(::http::Method::POST, &path, Some(&body)).await?;
        let started = Instant::now();
        while change["status"] != "done" {
            if started.elapsed() >= CHANGE_WAIT {
                return Err(failed(format!(
                    "change {} of zone {zone} not done after {CHANGE_WAIT:?}: {change}",
                    change["id"]
                )));
            }
            tokio::time::sleep(CHANGE_POLL).await;
            let id = change["id"].as_str().unwrap_or_default().to_string();
            change = self
                .api(::http::Method::GET, &format!("{path}/{id}"), None)
                .await?;
        }
        Ok(())
    }
}

impl DnsProvider for GCloud {
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
