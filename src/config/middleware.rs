//! Middleware configuration in Traefik v3's shape: `middlewares.<name>.<type>.<option>`.
//!
//! `MiddlewareConfig` is externally tagged, so `{ stripPrefix: { prefixes: [...] } }` reads as
//! `MiddlewareConfig::StripPrefix(..)`. Pure serde data.
//!
//! The options of the authentication middlewares are in `middleware/auth.rs`, those of the
//! middlewares that pick sources (IP lists, rate and in-flight limits) in `middleware/sources.rs`;
//! the rest are here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod auth;
mod sources;

pub use auth::{
    AuthResponseCacheConfig, BasicAuthConfig, DigestAuthConfig, ForwardAuthConfig,
    ForwardAuthTlsConfig, PassTlsClientCertConfig, TlsClientCertInfoConfig,
    TlsClientCertIssuerConfig, TlsClientCertSubjectConfig, UsersAuthConfig,
};
pub use sources::{
    InFlightReqConfig, IpAllowListConfig, IpStrategyConfig, IpWhiteListConfig, RateLimitConfig,
    RateLimitRedisConfig, SourceCriterionConfig,
};

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
    /// The name of this middleware's span in detailed traces: Traefik 3.7's `typeName` of the
    /// handler (`GetTracingInformation` in `pkg/middlewares/*`), `None` for the handlers Traefik
    /// does not trace (`chain`, `retry`, `contentType`, `grpcWeb`, and `redirectScheme`, whose
    /// wrapper hides the redirect's tracing information).
    pub fn span_name(&self) -> Option<&'static str> {
        Some(match self {
            MiddlewareConfig::StripPrefix(_) => "StripPrefix",
            MiddlewareConfig::StripPrefixRegex(_) => "StripPrefixRegex",
            MiddlewareConfig::AddPrefix(_) => "AddPrefix",
            MiddlewareConfig::ReplacePath(_) => "ReplacePath",
            MiddlewareConfig::ReplacePathRegex(_) => "ReplacePathRegex",
            MiddlewareConfig::RedirectRegex(_) => "Redirect",
            MiddlewareConfig::Headers(_) => "Headers",
            MiddlewareConfig::BasicAuth(_) => "BasicAuth",
            MiddlewareConfig::DigestAuth(_) => "digestAuth",
            MiddlewareConfig::IpAllowList(_) => "IPAllowLister",
            MiddlewareConfig::IpWhiteList(_) => "IPWhiteLister",
            MiddlewareConfig::RateLimit(_) => "RateLimiter",
            MiddlewareConfig::InFlightReq(_) => "InFlightReq",
            MiddlewareConfig::Buffering(_) => "Buffer",
            MiddlewareConfig::Compress(_) => "Compress",
            MiddlewareConfig::CircuitBreaker(_) => "CircuitBreaker",
            MiddlewareConfig::Errors(_) => "CustomError",
            MiddlewareConfig::ForwardAuth(_) => "ForwardAuth",
            MiddlewareConfig::EncodedCharacters(_) => "EncodedCharacters",
            MiddlewareConfig::PassTlsClientCert(_) => "PassClientTLSCert",
            MiddlewareConfig::RedirectScheme(_)
            | MiddlewareConfig::Retry(_)
            | MiddlewareConfig::ContentType(_)
            | MiddlewareConfig::GrpcWeb(_)
            | MiddlewareConfig::Chain(_) => return None,
        })
    }

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
