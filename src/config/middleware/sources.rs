//! Configuration of the middlewares that decide which sources pass and how often: `ipAllowList`,
//! `ipWhiteList`, `rateLimit` (with `redis`), `inFlightReq`, and the `ipStrategy` and
//! `sourceCriterion` they read the source by. Pure serde data.

use serde::{Deserialize, Serialize};

use super::ForwardAuthTlsConfig;
use crate::config::net::IpRange;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpStrategyConfig {
    #[serde(default)]
    pub depth: i64,
    #[serde(
        default,
        rename = "excludedIPs",
        alias = "excludedIps",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub excluded_ips: Vec<IpRange>,
    /// When the selected IP is IPv6, use the first address of its `/ipv6Subnet` network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_subnet: Option<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpAllowListConfig {
    #[serde(default)]
    pub source_range: Vec<IpRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategyConfig>,
    /// Status for rejected requests; default 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_status_code: Option<u16>,
}

/// `ipWhiteList` (deprecated in Traefik v3, still served): `ipAllowList` always answering 403.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpWhiteListConfig {
    #[serde(default)]
    pub source_range: Vec<IpRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategyConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceCriterionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategyConfig>,
    #[serde(default)]
    pub request_header_name: String,
    #[serde(default)]
    pub request_host: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per `period`; 0 = no limit (Traefik).
    #[serde(default)]
    pub average: i64,
    /// Default 1s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<crate::config::duration::Duration>,
    /// Bucket size; values below 1 mean 1 (Traefik).
    #[serde(default)]
    pub burst: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterionConfig>,
    /// Buckets kept in redis, shared by every proxy that uses the same redis (Traefik 3.4+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RateLimitRedisConfig>,
}

/// `rateLimit.redis`: Traefik's `dynamic.Redis` (durations as Traefik writes them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitRedisConfig {
    /// `host:port`; Traefik's default `localhost:6379`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ForwardAuthTlsConfig>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    #[serde(default)]
    pub db: i64,
    #[serde(default)]
    pub pool_size: i64,
    #[serde(default)]
    pub min_idle_conns: i64,
    #[serde(default)]
    pub max_active_conns: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<crate::config::duration::Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<crate::config::duration::Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_timeout: Option<crate::config::duration::Duration>,
}

/// `inFlightReq`: at most `amount` concurrent requests per source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InFlightReqConfig {
    /// Required, > 0.
    #[serde(default)]
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterionConfig>,
}
