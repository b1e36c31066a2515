//! The Swarm store's objects, pure: their names and labels, the lock's expiry rule, and reading
//! certificates back (validated; a corrupt object is reported and skipped, an older valid version
//! of the same domain serves instead). No I/O, no clock: `now` is passed in.
//!
//! Docker config names must match `[a-zA-Z0-9]([a-zA-Z0-9-_.]*[a-zA-Z0-9])?` and hold at most 64
//! characters, so names carry sanitised, shortened parts for people (`prefix`, resolver) and a hash
//! of the real key (resolver + domain) for uniqueness; the real values are in the labels.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use base64::Engine as _;

use crate::tls::acme::storage::StoredCert;
use crate::tls::certs::{self, Loaded};

pub const LABEL_STORE: &str = "swarmgate.acme.store";
pub const LABEL_KIND: &str = "swarmgate.acme.kind";
pub const LABEL_RESOLVER: &str = "swarmgate.acme.resolver";
pub const LABEL_DOMAIN: &str = "swarmgate.acme.domain";
/// Certificates: issue time (Unix seconds), for "renewed by another replica moments ago".
pub const LABEL_ISSUED: &str = "swarmgate.acme.issued";
/// Locks: who holds it and until when (Unix seconds).
pub const LABEL_OWNER: &str = "swarmgate.acme.owner";
pub const LABEL_EXPIRES: &str = "swarmgate.acme.expires";
/// Tokens: when the token was published (Unix seconds), so stale ones can be removed.
pub const LABEL_CREATED: &str = "swarmgate.acme.created";

const MAX_NAME: usize = 64;

/// What an object of the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Account,
    Cert,
    Lock,
    Token,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Account => "account",
            Kind::Cert => "cert",
            Kind::Lock => "lock",
            Kind::Token => "token",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        [Kind::Account, Kind::Cert, Kind::Lock, Kind::Token]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Lowercase `[a-z0-9-_.]`, other characters as `-`, at most `max`, trimmed to start and end
/// alphanumeric; `x` when nothing is left.
pub fn sanitize(part: &str, max: usize) -> String {
    let mapped: String = part
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The first 12 hex digits of SHA-256 over the parts (NUL-separated).
pub fn short_hash(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            ctx.update(&[0]);
        }
        ctx.update(part.as_bytes());
    }
    ctx.finish().as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Names of one store's objects (`prefix` as given by `swarm://<prefix>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    pub prefix: String,
}

impl Naming {
    pub fn new(prefix: &str) -> Naming {
        Naming {
            prefix: sanitize(prefix, 16),
        }
    }

    /// `<prefix>-account-<resolver>-<hash>`.
    pub fn account(&self, resolver: &str) -> String {
        self.join(Kind::Account, Some(resolver), &[resolver], None)
    }

    /// `<prefix>-lock-<resolver>-<hash(resolver, domain)>`.
    pub fn lock(&self, resolver: &str, domain: &str) -> String {
        self.join(Kind::Lock, Some(resolver), &[resolver, domain], None)
    }

    /// `<prefix>-cert-<resolver>-<hash(resolver, domain)>-<version>`: objects are immutable,
    /// so each certificate is a new object; `version` (milliseconds) orders them.
    pub fn cert(&self, resolver: &str, domain: &str, version: u64) -> String {
        self.join(
            Kind::Cert,
            Some(resolver),
            &[resolver, domain],
            Some(version),
        )
    }

    /// `<prefix>-token-<hash(token)>`.
    pub fn token(&self, token: &str) -> String {
        self.join(Kind::Token, None, &[token], None)
    }

    fn join(
        &self,
        kind: Kind,
        resolver: Option<&str>,
        key: &[&str],
        version: Option<u64>,
    ) -> String {
        let mut name = format!("{}-{}", self.prefix, kind.as_str());
        if let Some(resolver) = resolver {
            name.push('-');
            name.push_str(&sanitize(resolver, 12));
        }
        name.push('-');
        name.push_str(&short_hash(key));
        if let Some(version) = version {
            name.push('-');
            name.push_str(&version.to_string());
        }
        debug_assert!(
            name.len() <= MAX_NAME,
            "{name} is longer than Docker allows"
        );
        name
    }

    /// The labels every object of this store carries, plus `extra`.
    pub fn labels(&self, kind: Kind, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut labels: HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.insert(LABEL_STORE.to_string(), self.prefix.clone());
        labels.insert(LABEL_KIND.to_string(), kind.as_str().to_string());
        labels
    }
}

/// Unix seconds.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a lock object's labels say at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Held by `owner` until `expires` (Unix seconds).
    Held { owner: String, expires: u64 },
    /// Its holder stopped renewing it (or its labels are unreadable): it may be taken over.
    Expired { owner: String },
}

pub fn lock_state(labels: &HashMap<String, String>, now: SystemTime) -> LockState {
    let owner = labels.get(LABEL_OWNER).cloned().unwrap_or_default();
    match labels
        .get(LABEL_EXPIRES)
        .and_then(|e| e.parse::<u64>().ok())
    {
        Some(expires) if expires > unix(now) => LockState::Held { owner, expires },
        _ => LockState::Expired { owner },
    }
}

/// Who holds a lock: owner, and what for.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub owner: &'a str,
    pub resolver: &'a str,
    pub domain: &'a str,
}

/// The labels of a lock held by `holder` for `ttl` from `now`.
pub fn lock_labels(
    naming: &Naming,
    holder: Holder<'_>,
    now: SystemTime,
    ttl: Duration,
) -> HashMap<String, String> {
    let expires = unix(now + ttl).to_string();
    naming.labels(
        Kind::Lock,
        &[
            (LABEL_OWNER, holder.owner),
            (LABEL_EXPIRES, &expires),
            (LABEL_RESOLVER, holder.resolver),
            (LABEL_DOMAIN, holder.domain),
        ],
    )
}

/// One object of the store as Docker lists it: id, name, labels, decoded data.
#[derive(Debug, Clone)]
pub struct Object {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    /// `None` when `Spec.Data` is missing or not base64.
    pub data: Option<Vec<u8>>,
}

impl Object {
    pub fn kind(&self) -> Option<Kind> {
        self.labels.get(LABEL_KIND).and_then(|k| Kind::parse(k))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// The version in a certificate's name (its last `-` part).
    pub fn version(&self) -> Option<u64> {
        self.name.rsplit_once('-')?.1.parse().ok()
    }

    pub fn from_config(config: &bollard::models::Config) -> Option<Object> {
        let spec = config.spec.as_ref()?;
        Some(Object {
            id: config.id.clone()?,
            name: spec.name.clone()?,
            labels: spec.labels.clone().unwrap_or_default(),
            data: spec
                .data
                .as_deref()
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok()),
        })
    }
}

/// A certificate read back from the store and validated.
#[derive(Debug, Clone)]
pub struct ValidCert {
    pub object_id: String,
    pub version: u64,
    pub resolver: String,
    pub domain: String,
    pub issued: Option<SystemTime>,
    pub stored: StoredCert,
    pub loaded: Loaded,
}

/// Why an object was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    pub id: String,
    pub name: String,
    pub reason: String,
}

/// Reads every certificate object, validating it (labels, JSON, base64, PEM chain and key that
/// match, the labelled domain among the certificate's names, not expired at `now`); keeps the
/// newest valid version per (resolver, domain). A corrupt or expired newest version leaves the
/// previous valid one in place.
pub fn select_certs(
    objects: &[Object],
    now: SystemTime,
) -> (BTreeMap<(String, String), ValidCert>, Vec<Corrupt>) {
    let mut best: BTreeMap<(String, String), ValidCert> = BTreeMap::new();
    let mut corrupt = Vec::new();
    for object in objects.iter().filter(|o| o.kind() == Some(Kind::Cert)) {
        match validate(object, now) {
            Ok(valid) => {
                let key = (valid.resolver.clone(), valid.domain.clone());
                if best.get(&key).is_none_or(|b| b.version < valid.version) {
                    best.insert(key, valid);
                }
            }
            Err(reason) => corrupt.push(Corrupt {
                id: object.id.clone(),
                name: object.name.clone(),
                reason,
            }),
        }
    }
    (best, corrupt)
}

fn validate(object: &Object, now: SystemTime) -> Result<ValidCert, String> {
    let resolver = object.label(LABEL_RESOLVER).ok_or("no resolver label")?;
    let domain = object.label(LABEL_DOMAIN).ok_or("no domain label")?;
    let version = object.version().ok_or("no version in the name")?;
    let data = object.data.as_ref().ok_or("data is not base64")?;
    let stored: StoredCert = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    if !stored.domain.main.eq_ignore_ascii_case(domain) {
        return Err(format!(
            "labelled {domain} but holds {}",
            stored.domain.main
        ));
    }
    let (cert, key) = stored.pem().ok_or("certificate or key is not base64")?;
    let loaded = certs::parse_pair(&cert, &key, &object.name).map_err(|e| e.to_string())?;
    if !loaded.names.iter().any(|n| n.eq_ignore_ascii_case(domain)) {
        return Err(format!("certificate does not name {domain}"));
    }
    if loaded.remaining(now) == Duration::ZERO {
        return Err("certificate has expired".to_string());
    }
    let issued = object
        .label(LABEL_ISSUED)
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    Ok(ValidCert {
        object_id: object.id.clone(),
        version,
        resolver: resolver.to_string(),
        domain: domain.to_ascii_lowercase(),
        issued,
        stored,
        loaded,
    })
}

/// Pending challenge answers in the store: (HTTP-01 token → key authorization,
/// TLS-ALPN-01 name → key authorization).
pub fn challenges(objects: &[Object]) -> (HashMap<String, String>, HashMap<String, String>) {
    let mut http = HashMap::new();
    let mut alpn = HashMap::new();
    let data = objects
        .iter()
        .filter(|o| o.kind() == Some(Kind::Token))
        .filter_map(|o| serde_json::from_slice::<TokenData>(o.data.as_ref()?).ok());
    for t in data {
        match t.alpn_name {
            Some(name) => alpn.insert(name.to_ascii_lowercase(), t.key_authorization),
            None => http.insert(t.token, t.key_authorization),
        };
    }
    (http, alpn)
}

/// The data of a token object: an HTTP-01 token, or (with `alpnName`) the TLS-ALPN-01 answer for
/// a name, from which every replica builds the challenge certificate.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub token: String,
    pub key_authorization: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn_name: Option<String>,
}

/// Certificate objects to remove after `keep` was written: every version of the same
/// (resolver, domain) older than the newest version before `keep`. One previous version stays,
/// for a replica that reads the store while `keep` is being written.
pub fn superseded(objects: &[Object], resolver: &str, domain: &str, keep: u64) -> Vec<String> {
    let mut versions: Vec<(u64, &str)> = objects
        .iter()
        .filter(|o| o.kind() == Some(Kind::Cert))
        .filter(|o| o.label(LABEL_RESOLVER) == Some(resolver))
        .filter(|o| {
            o.label(LABEL_DOMAIN)
                .is_some_and(|d| d.eq_ignore_ascii_case(domain))
        })
        .filter_map(|o| Some((o.version()?, o.id.as_str())))
        .filter(|(v, _)| *v < keep)
        .collect();
    versions.sort_unstable();
    versions.pop();
    versions.into_iter().map(|(_, id)| id.to_string()).collect()
}

#[cfg(test)]
mod tests;
