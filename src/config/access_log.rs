//! Traefik's `accessLog` filters and fields: which requests are written (`filters`, OR'd) and
//! which fields and headers each line holds (`fields`). Pure data; the checks a field name or a
//! status range must pass are done while reading (an unknown field name is an error naming the
//! nearest valid one).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::duration::Duration;

/// `accessLog.filters`: a request is written when any filter set keeps it (no filter set:
/// every request).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessLogFilters {
    /// `"200"`, `"400-499"`: the statuses kept.
    #[serde(default, skip_serializing_if = "StatusRanges::is_empty")]
    pub status_codes: StatusRanges,
    /// Keep requests the `retry` middleware sent again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry_attempts: bool,
    /// Keep requests that took longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration: Option<Duration>,
}

impl AccessLogFilters {
    /// Traefik's `keepAccessLog`: no filter set keeps all; otherwise any filter that holds.
    pub fn keeps(&self, status: u16, retries: u32, took: std::time::Duration) -> bool {
        let min = self.min_duration.map(Duration::get).unwrap_or_default();
        if self.status_codes.is_empty() && !self.retry_attempts && min.is_zero() {
            return true;
        }
        self.status_codes.contains(status)
            || (self.retry_attempts && retries > 0)
            || (!min.is_zero() && took > min)
    }
}

/// Inclusive status ranges, written as Traefik's `statusCodes` (`"404"`, `"500-599"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusRanges {
    written: Vec<String>,
    ranges: Vec<(u16, u16)>,
}

impl StatusRanges {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, status: u16) -> bool {
        self.ranges.iter().any(|(a, b)| (*a..=*b).contains(&status))
    }

    /// Reads `"200"`, `"200-299"` (each may hold several, comma-separated, as Traefik's flags).
    pub fn parse(items: &[String]) -> Result<StatusRanges, String> {
        let mut ranges = Vec::new();
        for item in items.iter().flat_map(|s| s.split(',')) {
            let item = item.trim();
            let bad = || format!("status code range {item:?}: expected 404 or 500-599");
            let (a, b) = match item.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (item, item),
            };
            let a: u16 = a.parse().map_err(|_| bad())?;
            let b: u16 = b.parse().map_err(|_| bad())?;
            if a > b || !(100..=999).contains(&a) || b > 999 {
                return Err(bad());
            }
            ranges.push((a, b));
        }
        Ok(StatusRanges {
            written: items.to_vec(),
            ranges,
        })
    }
}

impl Serialize for StatusRanges {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.written.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StatusRanges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let items = match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        StatusRanges::parse(&items).map_err(serde::de::Error::custom)
    }
}

/// `keep`, `drop` or `redact` (written `REDACTED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldMode {
    Keep,
    Drop,
    Redact,
}

/// `accessLog.fields`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessLogFields {
    /// Of the core fields (Traefik's default: keep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<FieldMode>,
    /// Per core field, by Traefik's name (`ClientUsername`); an unknown name is refused.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "field_names"
    )]
    pub names: BTreeMap<String, FieldMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<HeaderFields>,
}

/// `accessLog.fields.headers`: request (`request_<Header>`), origin (`origin_<Header>`) and
/// downstream (`downstream_<Header>`) headers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderFields {
    /// Traefik's default: drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<FieldMode>,
    /// Per header, any case (`User-Agent`, `authorization`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, FieldMode>,
}

/// Traefik's access-log core fields (`pkg/middlewares/accesslog/logdata.go`), and
/// swarmgate's `AuthDuration` and `SessionError` (TCP session lines).
pub const FIELD_NAMES: &[&str] = &[
    "StartUTC",
    "StartLocal",
    "Duration",
    "RouterName",
    "ServiceName",
    "ServiceURL",
    "ServiceAddr",
    "ClientAddr",
    "ClientHost",
    "ClientPort",
    "ClientUsername",
    "RequestAddr",
    "RequestHost",
    "RequestPort",
    "RequestMethod",
    "RequestPath",
    "RequestProtocol",
    "RequestScheme",
    "RequestContentSize",
    "OriginDuration",
    "OriginContentSize",
    "OriginStatus",
    "DownstreamStatus",
    "DownstreamContentSize",
    "RequestCount",
    "GzipRatio",
    "Overhead",
    "RetryAttempts",
    "TLSVersion",
    "TLSCipher",
    "TLSClientSubject",
    "TraceId",
    "SpanId",
    "entryPointName",
    "AuthDuration",
    "SessionError",
];

/// The canonical spelling of a core field name (any case), or an error naming the nearest.
pub fn field_name(name: &str) -> Result<&'static str, String> {
    if let Some(found) = FIELD_NAMES.iter().find(|f| f.eq_ignore_ascii_case(name)) {
        return Ok(found);
    }
    let lower = name.to_ascii_lowercase();
    let nearest = FIELD_NAMES
        .iter()
        .min_by_key(|f| strsim_distance(&f.to_ascii_lowercase(), &lower))
        .copied()
        .unwrap_or("ClientUsername");
    Err(format!(
        "accessLog.fields.names: unknown access-log field {name:?} (did you mean {nearest:?}?)"
    ))
}

fn field_names<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, FieldMode>, D::Error> {
    let raw = BTreeMap::<String, FieldMode>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            field_name(&k)
                .map(|k| (k.to_string(), v))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

/// Levenshtein distance (for the suggestion only).
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
