//! Middleware configuration in Traefik v3's shape: `middlewares.<name>.<type>.<option>`.
//!
//! `MiddlewareConfig` is externally tagged, so `{ stripPrefix: { prefixes: [...] } }` reads as
//! `MiddlewareConfig::StripPrefix(..)`. Pure serde data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::net::IpRange;

// Config-plane data, built once per reload: boxing the big `headers` variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MiddlewareConfig {
    StripPrefix(StripPrefixConfig),
    StripPrefixRegex(StripPrefixRegexConfig),
    AddPrefix(AddPrefixConfig),
    ReplacePath(ReplacePathConfig),
    ReplacePathRegex(ReplacePathRegexConfig),
    RedirectScheme(RedirectSchemeConfig),
    RedirectRegex(RedirectRegexConfig),
    Headers(HeadersConfig),
    BasicAuth(BasicAuthConfig),
    DigestAuth(DigestAuthConfig),
    IpAllowList(IpAllowListConfig),
    /// Traefik's deprecated name: `ipAllowList` without `rejectStatusCode`.
    IpWhiteList(IpWhiteListConfig),
    RateLimit(RateLimitConfig),
    InFlightReq(InFlightReqConfig),
    Buffering(BufferingConfig),
    Retry(RetryConfig),
    Compress(CompressConfig),
    CircuitBreaker(CircuitBreakerConfig),
    Errors(ErrorsConfig),
    ForwardAuth(ForwardAuthConfig),
    ContentType(ContentTypeConfig),
    GrpcWeb(GrpcWebConfig),
    Chain(ChainConfig),
    EncodedCharacters(EncodedCharactersConfig),
    #[serde(rename = "passTLSClientCert")]
    PassTlsClientCert(PassTlsClientCertConfig),
}

impl MiddlewareConfig {
    /// Traefik's name for the middleware type (`stripPrefix`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            MiddlewareConfig::StripPrefix(_) => "stripPrefix",
            MiddlewareConfig::StripPrefixRegex(_) => "stripPrefixRegex",
            MiddlewareConfig::AddPrefix(_) => "addPrefix",
            MiddlewareConfig::ReplacePath(_) => "replacePath",
            MiddlewareConfig::ReplacePathRegex(_) => "replacePathRegex",
            MiddlewareConfig::RedirectScheme(_) => "redirectScheme",
            MiddlewareConfig::RedirectRegex(_) => "redirectRegex",
            MiddlewareConfig::Headers(_) => "headers",
            MiddlewareConfig::BasicAuth(_) => "basicAuth",
            MiddlewareConfig::DigestAuth(_) => "digestAuth",
            MiddlewareConfig::IpAllowList(_) => "ipAllowList",
            MiddlewareConfig::IpWhiteList(_) => "ipWhiteList",
            MiddlewareConfig::RateLimit(_) => "rateLimit",
            MiddlewareConfig::InFlightReq(_) => "inFlightReq",
            MiddlewareConfig::Buffering(_) => "buffering",
            MiddlewareConfig::Retry(_) => "retry",
            MiddlewareConfig::Compress(_) => "compress",
            MiddlewareConfig::CircuitBreaker(_) => "circuitBreaker",
            MiddlewareConfig::Errors(_) => "errors",
            MiddlewareConfig::ForwardAuth(_) => "forwardAuth",
            MiddlewareConfig::ContentType(_) => "contentType",
            MiddlewareConfig::GrpcWeb(_) => "grpcWeb",
            MiddlewareConfig::Chain(_) => "chain",
            MiddlewareConfig::EncodedCharacters(_) => "encodedCharacters",
            MiddlewareConfig::PassTlsClientCert(_) => "passTLSClientCert",
        }
    }
}

/// `encodedCharacters` options, for the middleware and for `entryPoints.<e>.http` (defaults
/// differ: see `middleware::encoded_characters`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncodedCharactersConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_slash: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_back_slash: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_null_character: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_semicolon: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_percent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_question_mark: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_encoded_hash: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefixConfig {
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Deprecated in Traefik v3 but still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_slash: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefixRegexConfig {
    #[serde(default)]
    pub regex: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPrefixConfig {
    pub prefix: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePathConfig {
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePathRegexConfig {
    pub regex: String,
    pub replacement: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectSchemeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default)]
    pub permanent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectRegexConfig {
    pub regex: String,
    pub replacement: String,
    #[serde(default)]
    pub permanent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeadersConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_response_headers: BTreeMap<String, String>,
    // === security headers (Traefik's `secure` part) ===
    #[serde(default)]
    pub sts_seconds: i64,
    #[serde(default)]
    pub sts_include_subdomains: bool,
    #[serde(default)]
    pub sts_preload: bool,
    #[serde(default, rename = "forceSTSHeader", alias = "forceStsHeader")]
    pub force_sts_header: bool,
    #[serde(default)]
    pub frame_deny: bool,
    #[serde(default)]
    pub custom_frame_options_value: String,
    #[serde(default)]
    pub content_type_nosniff: bool,
    #[serde(default)]
    pub browser_xss_filter: bool,
    #[serde(
        default,
        rename = "customBrowserXSSValue",
        alias = "customBrowserXssValue"
    )]
    pub custom_browser_xss_value: String,
    #[serde(default)]
    pub content_security_policy: String,
    #[serde(default)]
    pub content_security_policy_report_only: String,
    #[serde(default)]
    pub referrer_policy: String,
    #[serde(default)]
    pub permissions_policy: String,
    #[serde(default)]
    pub public_key: String,
    /// Hosts allowed in `Host` (or in the first non-empty `hostsProxyHeaders` header); empty = any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts_proxy_headers: Vec<String>,
    /// Disables `allowedHosts`, STS and `publicKey`, as in Traefik.
    #[serde(default)]
    pub is_development: bool,
    // === CORS ===
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list_regex: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_expose_headers: Vec<String>,
    #[serde(default)]
    pub access_control_allow_credentials: bool,
    /// `None` (not configured): no `Access-Control-Max-Age` in preflight answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control_max_age: Option<i64>,
    #[serde(default)]
    pub add_vary_header: bool,
}

/// `basicAuth`: HTTP Basic authentication against htpasswd users.
pub type BasicAuthConfig = UsersAuthConfig;

/// `digestAuth`: HTTP Digest authentication against htdigest users.
pub type DigestAuthConfig = UsersAuthConfig;

/// The options `basicAuth` and `digestAuth` share (the same five in Traefik). One type, so the
/// unknown-option errors list the same names for both; serde `flatten` would have lost them
/// (it does not combine with `deny_unknown_fields`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsersAuthConfig {
    /// `basicAuth`: htpasswd lines `user:hash`. `digestAuth`: htdigest lines
    /// `user:realm:md5(user:realm:password)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Path of an htpasswd (`basicAuth`) or htdigest (`digestAuth`) file. `basicAuth`: its users
    /// take precedence over `users`; `digestAuth`: `users` lines override its lines.
    #[serde(default)]
    pub users_file: String,
    /// Default `traefik`.
    #[serde(default)]
    pub realm: String,
    #[serde(default)]
    pub remove_header: bool,
    /// Request header that receives the authenticated user name.
    #[serde(default)]
    pub header_field: String,
}

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

/// `buffering`: byte limits, 0 = none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BufferingConfig {
    #[serde(default)]
    pub max_request_body_bytes: i64,
    #[serde(default)]
    pub mem_request_body_bytes: i64,
    #[serde(default)]
    pub max_response_body_bytes: i64,
    #[serde(default)]
    pub mem_response_body_bytes: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub retry_expression: String,
}

/// `retry`: tries in all, and the first backoff interval (default 100ms).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryConfig {
    #[serde(default)]
    pub attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_interval: Option<crate::config::duration::Duration>,
}

/// `contentType`: Content-Type detection for responses without one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentTypeConfig {
    /// Deprecated; `false` makes the middleware do nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_detect: Option<bool>,
}

/// `grpcWeb`: gRPC-Web requests translated to gRPC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrpcWebConfig {
    /// CORS origins allowed (`*` for any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_origins: Vec<String>,
}

/// `compress`: response compression (gzip, br, zstd) negotiated by `Accept-Encoding`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompressConfig {
    /// Media types never compressed (`application/grpc` always is excluded). Exclusive with
    /// `includedContentTypes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_content_types: Vec<String>,
    /// When set, only these media types are compressed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_content_types: Vec<String>,
    /// Smaller bodies are sent as they are; 0 (or less) means the default, 1024.
    #[serde(default)]
    pub min_response_body_bytes: i64,
    /// Supported encodings in priority order; default `gzip, br, zstd` (Traefik v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encodings: Option<Vec<String>>,
    /// Encoding used when the request has no `Accept-Encoding` (or for `*`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_encoding: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainConfig {
    #[serde(default)]
    pub middlewares: Vec<String>,
}

/// `circuitBreaker` (Traefik v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    #[serde(default)]
    pub expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_period: Option<crate::config::duration::Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_duration: Option<crate::config::duration::Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_duration: Option<crate::config::duration::Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
}

/// `errors` (Traefik v3): error pages from another service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorsConfig {
    /// Codes and ranges: `"500-599"`, `"404"`.
    #[serde(default)]
    pub status: Vec<String>,
    /// The service answering the error pages (qualified by the merge).
    #[serde(default)]
    pub service: String,
    /// Path of the error page; `{status}` and `{url}` are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Status code rewrites: `"500-503": 500`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_rewrites: BTreeMap<String, i64>,
}

/// `forwardAuth` (Traefik v3): asks an authentication server about each request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardAuthConfig {
    /// URL of the authentication server (`http://` or `https://`), path and query included.
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ForwardAuthTlsConfig>,
    /// Unset, `true` and `false` are three behaviours in Traefik (see `middleware::forward_auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_forward_header: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_response_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_response_headers_regex: String,
    /// Request headers sent to the authentication server; empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_request_headers: Vec<String>,
    /// Cookie names copied from the authentication server's answer to the response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_auth_cookies_to_response: Vec<String>,
    /// The authentication server's response header naming the user (access log `ClientUsername`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub header_field: String,
    #[serde(default)]
    pub forward_body: bool,
    /// Bytes of request body sent with `forwardBody`; unset or -1 = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<i64>,
    /// Bytes of the authentication server's answer read; unset or -1 = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_body_size: Option<i64>,
    #[serde(default)]
    pub preserve_location_header: bool,
    #[serde(default)]
    pub preserve_request_method: bool,
    /// Where a 401 from the authentication server redirects (302).
    #[serde(default, rename = "authSigninURL", alias = "authSigninUrl")]
    pub auth_signin_url: String,
    /// swarmgate extension: cache of the authentication server's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_response_cache: Option<AuthResponseCacheConfig>,
}

/// `forwardAuth.tls`: how swarmgate connects to an `https` authentication server. Each of `ca`,
/// `cert` and `key` is a file path or the PEM text itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardAuthTlsConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Deprecated in Traefik and without effect on a client; accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_optional: Option<bool>,
}

/// `forwardAuth.authResponseCache` (swarmgate extension, not in Traefik): keeps the
/// authentication server's answers for `ttl`, keyed by the values of `keyHeaders` (and, unless
/// `keyIncludesPath: false`, the method, host, path and query), so a busy route does not ask the
/// server about every request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthResponseCacheConfig {
    /// Request headers whose values make the key (`Cookie`, `Authorization`); required. A request
    /// that has none of them is never answered from the cache.
    #[serde(default)]
    pub key_headers: Vec<String>,
    /// How long an answer is kept; required, > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<crate::config::duration::Duration>,
    /// Answers kept at most; default 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_entries: Option<i64>,
    /// Also keep non-2xx answers (denials, login redirects); default false.
    #[serde(default)]
    pub cache_denials: bool,
    /// Method, host, path and query are part of the key; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_includes_path: Option<bool>,
}

/// `passTLSClientCert`: the client certificate of a mutual-TLS connection passed to the
/// upstream (`X-Forwarded-Tls-Client-Cert`, `X-Forwarded-Tls-Client-Cert-Info`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassTlsClientCertConfig {
    /// The certificates, base64 DER (PEM without armour and line breaks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pem: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<TlsClientCertInfoConfig>,
}

/// `passTLSClientCert.info`: which certificate fields go into the info header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertInfoConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_after: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_before: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sans: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<TlsClientCertSubjectConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<TlsClientCertIssuerConfig>,
}

/// `passTLSClientCert.info.subject`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertSubjectConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub country: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub province: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locality: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organization: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organizational_unit: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common_name: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub domain_component: bool,
}

/// `passTLSClientCert.info.issuer` (Traefik has no `organizationalUnit` here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertIssuerConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub country: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub province: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locality: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organization: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common_name: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub domain_component: bool,
}
